// storage.k8s.io/v1 StorageClass: which provisioner makes volumes for claims of a class.
// Everything but allowVolumeExpansion and metadata is fixed once created.
import { deepEqual, type KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { age, ageColumn, column, emptyToUndefined, immutable, list, nameColumn, record, validateQualifiedName } from './support.js';

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const BETA_DEFAULT_CLASS_ANNOTATION = 'storageclass.beta.kubernetes.io/is-default-class';

const RECLAIM_POLICIES = ['Delete', 'Retain'];
const BINDING_MODES = ['Immediate', 'WaitForFirstConsumer'];
const MAX_PARAMETERS = 512;
const MAX_PARAMETERS_SIZE = 256 * 1024;

/** Whether the class is marked as the cluster default (the claim defaulting picks it). */
export function isDefaultStorageClass(sc: KubeObject): boolean {
  const a = sc.metadata.annotations ?? {};
  return a[DEFAULT_CLASS_ANNOTATION] === 'true' || a[BETA_DEFAULT_CLASS_ANNOTATION] === 'true';
}

/** The class a claim without one gets: several marked default means the newest (then by name). */
export function newestDefaultClass(classes: readonly KubeObject[]): KubeObject | undefined {
  let best: KubeObject | undefined;
  let bestTime = -Infinity;
  for (const sc of classes) {
    if (!isDefaultStorageClass(sc)) continue;
    const t = Date.parse(sc.metadata.creationTimestamp ?? '') || 0;
    if (!best || t > bestTime || (t === bestTime && sc.metadata.name! < best.metadata.name!)) {
      best = sc;
      bestTime = t;
    }
  }
  return best;
}

function validateParameters(params: Record<string, unknown>): FieldError[] {
  const keys = Object.keys(params);
  if (keys.length > MAX_PARAMETERS) return [field.tooLong('parameters', MAX_PARAMETERS)];
  const errs: FieldError[] = [];
  let size = 0;
  for (const k of keys) {
    if (!k) errs.push(field.invalid('parameters', k, 'field can not be empty.'));
    size += k.length + String(params[k] ?? '').length;
  }
  if (size > MAX_PARAMETERS_SIZE) errs.push(field.tooLong('parameters', MAX_PARAMETERS_SIZE));
  return errs;
}

function validateAllowedTopologies(terms: Record<string, any>[]): FieldError[] {
  const errs: FieldError[] = [];
  const seenTerms = new Set<string>();
  terms.forEach((term, i) => {
    const p = `allowedTopologies[${i}].matchLabelExpressions`;
    const byKey = new Map<string, string[]>();
    list(term.matchLabelExpressions).forEach((req, j) => {
      const q = `${p}[${j}]`;
      const values = list<string>(req.values);
      if (!values.length) errs.push(field.required(`${q}.values`, 'must specify as least one value'));
      values.forEach((v, k) => {
        if (values.indexOf(v) !== k) errs.push(field.duplicate(`${q}.values[${k}]`, v));
      });
      errs.push(...validateQualifiedName(req.key ?? '', `${q}.key`));
      if (byKey.has(req.key)) errs.push(field.duplicate(`${q}.key`, req.key));
      byKey.set(req.key, [...new Set(values)].sort());
    });
    // terms are sets of key -> value-set requirements; the same set twice is a duplicate
    const canonical = JSON.stringify([...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (seenTerms.has(canonical)) errs.push(field.duplicate(p, ''));
    seenTerms.add(canonical);
  });
  return errs;
}

export const storageClassKind: KindDef = {
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  singular: 'storageclass',
  namespaced: false,
  shortNames: ['sc'],
  definition: 'io.k8s.api.storage.v1.StorageClass',

  defaults(sc) {
    sc.reclaimPolicy ||= 'Delete';
    sc.volumeBindingMode ||= 'Immediate';
  },

  validate(sc) {
    const errs: FieldError[] = [];
    if (!sc.provisioner) errs.push(field.required('provisioner'));
    else errs.push(...validateQualifiedName(String(sc.provisioner).toLowerCase(), 'provisioner'));
    errs.push(...validateParameters(record(sc.parameters)));
    if (sc.reclaimPolicy && !RECLAIM_POLICIES.includes(sc.reclaimPolicy)) errs.push(field.notSupported('reclaimPolicy', sc.reclaimPolicy, RECLAIM_POLICIES));
    if (!sc.volumeBindingMode) errs.push(field.required('volumeBindingMode'));
    else if (!BINDING_MODES.includes(sc.volumeBindingMode)) errs.push(field.notSupported('volumeBindingMode', sc.volumeBindingMode, BINDING_MODES));
    errs.push(...validateAllowedTopologies(list(sc.allowedTopologies)));
    return errs;
  },

  validateUpdate(sc, old) {
    const errs: FieldError[] = [];
    if (!deepEqual(emptyToUndefined(sc.parameters), emptyToUndefined(old.parameters))) {
      errs.push(field.forbidden('parameters', 'updates to parameters are forbidden.'));
    }
    if (sc.provisioner !== old.provisioner) errs.push(field.forbidden('provisioner', 'updates to provisioner are forbidden.'));
    if (sc.reclaimPolicy !== old.reclaimPolicy) errs.push(field.forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    errs.push(...immutable('volumeBindingMode', sc.volumeBindingMode, old.volumeBindingMode));
    return errs;
  },

  table: {
    columns: [
      nameColumn,
      column('Provisioner', 'Who creates volumes of this class.'),
      column('ReclaimPolicy', 'Reclaim policy of volumes created for this class.'),
      column('VolumeBindingMode', 'Whether claims bind at once or wait for a pod to be scheduled.'),
      column('AllowVolumeExpansion', 'Whether claims of this class may be grown.'),
      ageColumn,
    ],
    cells: (sc, now) => [
      isDefaultStorageClass(sc) ? `${sc.metadata.name} (default)` : sc.metadata.name,
      sc.provisioner ?? '',
      sc.reclaimPolicy || 'Delete',
      sc.volumeBindingMode || 'Immediate',
      sc.allowVolumeExpansion === true,
      age(sc, now),
    ],
  },
};
