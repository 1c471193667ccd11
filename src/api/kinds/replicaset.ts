// apps/v1 ReplicaSet: defaults, validation, the scale subresource and kubectl's columns.
import { isPlainObject, type KubeObject } from '../object.js';
import { defaultPodTemplate } from '../pod-defaults.js';
import type { KindDef } from '../registry.js';
import { labelSelectorToString } from '../selectors.js';
import { isDNS1123Subdomain, type FieldError } from '../validation.js';
import { age, ageColumn, immutable, nameColumn, validateNonnegative, type Obj } from './support.js';
import { counter, selectorCell, selectorOf, validateRequiredSelector, validateTemplate, wideCells, wideColumns } from './workload-common.js';

export function defaultReplicaSet(rs: KubeObject): void {
  if (!isPlainObject(rs.spec)) rs.spec = {};
  rs.spec.replicas ??= 1;
  if (isPlainObject(rs.spec.template)) defaultPodTemplate(rs.spec.template);
}

/** ValidateReplicaSetSpec. */
function validateReplicaSetSpec(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateRequiredSelector(spec.selector, 'spec.selector', 'deployment'));
  errs.push(...validateTemplate(spec.template, selectorOf(spec.selector), 'spec.template'));
  return errs;
}

/** ValidateReplicaSetStatus: counters are non-negative and nested as replicas ≥ fully labeled ≥ ready ≥ available. */
export function validateReplicaStatus(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const status: Obj = isPlainObject(obj.status) ? obj.status : {};
  for (const key of ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']) {
    errs.push(...validateNonnegative(status[key], `status.${key}`));
  }
  return errs;
}

export const replicaSetKind: KindDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  definition: 'io.k8s.api.apps.v1.ReplicaSet',
  subresources: {
    status: true,
    scale: {
      specReplicasPath: 'spec.replicas',
      statusReplicasPath: 'status.replicas',
      selector: (obj) => labelSelectorToString(obj.spec?.selector),
    },
  },
  tracksGeneration: true,
  nameValidator: isDNS1123Subdomain,
  defaults: defaultReplicaSet,
  prepareForCreate(rs) {
    rs.status = { replicas: 0 };
  },
  validate: (rs) => validateReplicaSetSpec(isPlainObject(rs.spec) ? rs.spec : {}),
  validateUpdate: (rs, old) => immutable('spec.selector', rs.spec?.selector, old.spec?.selector),
  validateStatusUpdate: validateReplicaStatus,
  table: replicaTable((rs) => selectorCell(rs.spec?.selector)),
};

/** The columns kubectl prints for replica sets and replication controllers alike; only the selector is written differently. */
export function replicaTable(selectorText: (obj: KubeObject) => string): NonNullable<KindDef['table']> {
  return {
    columns: [
      nameColumn,
      { name: 'Desired', type: 'integer', description: 'Number of desired pods.' },
      { name: 'Current', type: 'integer', description: 'Number of actual pods.' },
      { name: 'Ready', type: 'integer', description: 'Number of pods ready.' },
      ageColumn,
      ...wideColumns,
    ],
    cells: (obj, now) => [obj.metadata.name, obj.spec?.replicas ?? 0, counter(obj, 'replicas'), counter(obj, 'readyReplicas'), age(obj, now), ...wideCells(obj.spec?.template, selectorText(obj))],
  };
}
