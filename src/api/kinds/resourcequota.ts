// core/v1 ResourceQuota: caps on what a namespace holds. The ResourceQuota admission refuses
// writes that would exceed a cap; the resource quota controller keeps status.used.
import type { KubeObject } from '../object.js';
import { tryParseQuantity } from '../quantity.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { age, ageColumn, checkQuantity, column, nameColumn, record } from './support.js';

const SCOPES = ['BestEffort', 'CrossNamespacePodAffinity', 'NotBestEffort', 'NotTerminating', 'PriorityClass', 'Terminating', 'VolumeAttributesClass'];

/** The REQUEST and LIMIT columns: "pods: 1/10, requests.cpu: 500m/2", as upstream's printer writes them. */
function quotaColumns(rq: KubeObject): [string, string] {
  const hard: Record<string, string> = record(rq.status?.hard);
  const used: Record<string, string> = record(rq.status?.used);
  const requests: string[] = [];
  const limits: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const text = `${name}: ${used[name] ?? '0'}/${hard[name]}`;
    (name.startsWith('limits.') ? limits : requests).push(text);
  }
  return [requests.join(', '), limits.join(', ')];
}

export const resourceQuotaKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'ResourceQuota',
  plural: 'resourcequotas',
  singular: 'resourcequota',
  namespaced: true,
  shortNames: ['quota'],
  definition: 'io.k8s.api.core.v1.ResourceQuota',
  subresources: { status: true },

  prepareForCreate(rq) {
    rq.status = {};
  },

  prepareForUpdate(rq, old) {
    rq.status = old.status;
  },

  validate(rq: KubeObject) {
    const errs: FieldError[] = [];
    for (const [name, v] of Object.entries(record(rq.spec?.hard))) {
      const q = checkQuantity(v, `spec.hard[${name}]`, errs);
      if (q && q.nanos < 0n) errs.push(field.invalid(`spec.hard[${name}]`, v, 'must be greater than or equal to 0'));
    }
    (rq.spec?.scopes ?? []).forEach((s: string, i: number) => {
      if (!SCOPES.includes(s)) errs.push(field.notSupported(`spec.scopes[${i}]`, s, SCOPES));
    });
    return errs;
  },

  validateStatusUpdate(rq) {
    const errs: FieldError[] = [];
    for (const k of ['hard', 'used']) {
      for (const [name, v] of Object.entries(record(rq.status?.[k]))) {
        const q = tryParseQuantity(v);
        if (!q) checkQuantity(v, `status.${k}[${name}]`, errs);
        else if (q.nanos < 0n) errs.push(field.invalid(`status.${k}[${name}]`, v, 'must be greater than or equal to 0'));
      }
    }
    return errs;
  },

  table: {
    columns: [
      nameColumn,
      ageColumn,
      column('Request', 'Used and hard of each capped resource that is not a limit.'),
      column('Limit', 'Used and hard of each capped limit.'),
    ],
    cells: (rq, now) => [rq.metadata.name, age(rq, now), ...quotaColumns(rq)],
  },
};
