// core/v1 PersistentVolumeClaim: a request for storage. After creation only the requested
// size (growing, for bound claims), an unset volumeName and a few class fields may change.
import { GoValue } from '../errors.js';
import { deepEqual, type KubeObject } from '../object.js';
import { compareQuantities, formatQuantity, tryParseQuantity } from '../quantity.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { validateAccessModes } from './persistentvolume.js';
import {
  BETA_STORAGE_CLASS_ANNOTATION,
  VOLUME_MODES,
  accessModesString,
  age,
  ageColumn,
  checkQuantity,
  column,
  fieldDiff,
  immutable,
  isSet,
  nameColumn,
  record,
  storageClassOf,
  validateLabelSelector,
  validatePositiveQuantity,
  type Obj,
} from './support.js';

/** Added at create so a claim in use by a pod is not removed under it (StorageObjectInUseProtection). */
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';

/** NormalizeDataSources: dataSource and dataSourceRef mirror each other when one is left out. */
function normalizeDataSources(spec: Obj): void {
  const ds = spec.dataSource;
  const ref = spec.dataSourceRef;
  if (isSet(ds) && !isSet(ref)) {
    spec.dataSourceRef = { kind: ds.kind, name: ds.name, ...(isSet(ds.apiGroup) ? { apiGroup: ds.apiGroup } : {}) };
  } else if (isSet(ref) && !isSet(ds) && !ref.namespace) {
    spec.dataSource = { kind: ref.kind, name: ref.name, ...(isSet(ref.apiGroup) ? { apiGroup: ref.apiGroup } : {}) };
  }
}

function validateDataSource(src: Obj, path: string, allowNamespace: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!src.name) errs.push(field.required(`${path}.name`));
  if (!src.kind) errs.push(field.required(`${path}.kind`));
  const group = src.apiGroup ?? '';
  if (!group && src.kind !== 'PersistentVolumeClaim') {
    errs.push(field.invalid(path, src.kind ?? '', "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
  }
  if (group) errs.push(...isDNS1123Subdomain(group).map((m) => field.invalid(`${path}.apiGroup`, group, m)));
  if (allowNamespace && src.namespace) errs.push(...isDNS1123Subdomain(src.namespace).map((m) => field.invalid(`${path}.namespace`, src.namespace, m)));
  return errs;
}

/** ValidatePersistentVolumeClaimSpec, also used for StatefulSet claim templates. */
export function validateClaimSpec(spec: Obj, path: string): FieldError[] {
  const errs = validateAccessModes(spec.accessModes, `${path}.accessModes`, 'at least 1 access mode is required');
  if (isSet(spec.selector)) errs.push(...validateLabelSelector(spec.selector, `${path}.selector`));

  const requests = record(spec.resources?.requests);
  if (!('storage' in requests)) errs.push(field.required(`${path}.resources[storage]`));
  else errs.push(...validatePositiveQuantity(requests.storage, `${path}.resources[storage]`));

  if (spec.storageClassName) {
    errs.push(...isDNS1123Subdomain(spec.storageClassName).map((m) => field.invalid(`${path}.storageClassName`, spec.storageClassName, m)));
  }
  if (isSet(spec.volumeMode) && !VOLUME_MODES.includes(spec.volumeMode)) {
    errs.push(field.notSupported(`${path}.volumeMode`, spec.volumeMode, VOLUME_MODES));
  }
  if (isSet(spec.dataSource)) errs.push(...validateDataSource(record(spec.dataSource), `${path}.dataSource`, false));
  if (isSet(spec.dataSourceRef)) errs.push(...validateDataSource(record(spec.dataSourceRef), `${path}.dataSourceRef`, true));
  if (spec.dataSourceRef?.namespace) {
    if (isSet(spec.dataSource)) {
      errs.push(field.invalid(path, new GoValue(`${path}.dataSource`), 'may not be specified when dataSourceRef.namespace is specified'));
    }
  } else if (isSet(spec.dataSource) && isSet(spec.dataSourceRef)) {
    const a = spec.dataSource;
    const b = spec.dataSourceRef;
    if ((a.apiGroup ?? '') !== (b.apiGroup ?? '') || a.kind !== b.kind || a.name !== b.name) {
      errs.push(field.invalid(path, new GoValue(`${path}.dataSource`), 'must match dataSourceRef'));
    }
  }
  if (spec.volumeAttributesClassName) {
    const name = spec.volumeAttributesClassName;
    errs.push(...isDNS1123Subdomain(name).map((m) => field.invalid(`${path}.volumeAttributesClassName`, name, m)));
  }
  return errs;
}

function validateClaimUpdate(pvc: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec: Obj = record(pvc.spec);
  const oldSpec: Obj = record(old.spec);
  const next: Obj = structuredClone(spec);
  const prev: Obj = structuredClone(oldSpec);

  // the volume controller may set volumeName once
  if (!oldSpec.volumeName) prev.volumeName = next.volumeName;

  const oldAnnotations = old.metadata.annotations ?? {};
  const newAnnotations = pvc.metadata.annotations ?? {};
  const oldAnnotated = BETA_STORAGE_CLASS_ANNOTATION in oldAnnotations;
  const fromAnnotation =
    oldAnnotated &&
    !isSet(oldSpec.storageClassName) &&
    isSet(spec.storageClassName) &&
    spec.storageClassName === oldAnnotations[BETA_STORAGE_CLASS_ANNOTATION] &&
    (!(BETA_STORAGE_CLASS_ANNOTATION in newAnnotations) || newAnnotations[BETA_STORAGE_CLASS_ANNOTATION] === oldAnnotations[BETA_STORAGE_CLASS_ANNOTATION]);
  if (fromAnnotation) {
    delete next.storageClassName;
  } else {
    const before = oldAnnotations[BETA_STORAGE_CLASS_ANNOTATION] ?? '';
    const after = newAnnotations[BETA_STORAGE_CLASS_ANNOTATION] ?? '';
    if (before !== after) errs.push(field.invalid(`metadata.annotations.${BETA_STORAGE_CLASS_ANNOTATION}`, after, 'field is immutable'));
    // a claim created without a class may get the default class later
    if (!oldAnnotated && !isSet(oldSpec.storageClassName) && isSet(spec.storageClassName)) delete next.storageClassName;
  }

  const bound = pvc.status?.phase === 'Bound';
  if (bound && isSet(next.resources?.requests)) {
    if (isSet(oldSpec.resources?.requests?.storage)) next.resources.requests.storage = oldSpec.resources.requests.storage;
    else delete next.resources.requests.storage;
  }
  if (bound && isSet(next.volumeAttributesClassName)) {
    if (isSet(prev.volumeAttributesClassName)) next.volumeAttributesClassName = prev.volumeAttributesClassName;
    else delete next.volumeAttributesClassName;
  }

  if (!deepEqual(next, prev)) {
    errs.push(
      field.forbidden(
        'spec',
        `spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n${fieldDiff(prev, next)}`,
      ),
    );
  }

  const newSize = tryParseQuantity(spec.resources?.requests?.storage);
  const oldSize = tryParseQuantity(oldSpec.resources?.requests?.storage);
  if (newSize && oldSize && compareQuantities(newSize, oldSize) < 0) {
    const statusSize = tryParseQuantity(old.status?.capacity?.storage) ?? 0;
    if (compareQuantities(newSize, statusSize) <= 0) {
      errs.push(field.forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
    }
  }

  errs.push(...immutable('volumeMode', spec.volumeMode, oldSpec.volumeMode));
  if (oldSpec.volumeAttributesClassName && !spec.volumeAttributesClassName) {
    errs.push(field.forbidden('spec.volumeAttributesClassName', 'update from non-nil value to nil is forbidden'));
  }
  return errs;
}

export const persistentVolumeClaimKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  definition: 'io.k8s.api.core.v1.PersistentVolumeClaim',
  subresources: { status: true },
  returnDeletedObject: true,

  defaults(pvc) {
    const spec = (pvc.spec ??= {});
    spec.volumeMode ??= 'Filesystem';
    pvc.status ??= {};
    pvc.status.phase ||= 'Pending';
  },

  prepareForCreate(pvc) {
    pvc.status = { phase: 'Pending' };
    normalizeDataSources((pvc.spec ??= {}));
    const finalizers = pvc.metadata.finalizers ?? [];
    if (!finalizers.includes(PVC_PROTECTION_FINALIZER)) pvc.metadata.finalizers = [...finalizers, PVC_PROTECTION_FINALIZER];
  },

  prepareForUpdate(pvc) {
    normalizeDataSources((pvc.spec ??= {}));
  },

  validate(pvc) {
    return validateClaimSpec(record(pvc.spec), 'spec');
  },

  validateUpdate: validateClaimUpdate,

  validateStatusUpdate(pvc) {
    const errs: FieldError[] = [];
    if (!(pvc.spec?.accessModes ?? []).length) errs.push(field.required('Spec.accessModes'));
    for (const [name, q] of Object.entries(record(pvc.status?.capacity))) {
      const parsed = checkQuantity(q, `status.capacity[${name}]`, errs);
      if (parsed && parsed.nanos < 0n) errs.push(field.invalid(`status.capacity[${name}]`, q, 'must be a valid resource quantity'));
    }
    return errs;
  },

  table: {
    columns: [
      nameColumn,
      column('Status', 'Phase of the claim, or Terminating.'),
      column('Volume', 'The volume bound to the claim.'),
      column('Capacity', 'Size of the bound volume.'),
      column('Access Modes', 'Access modes of the bound volume: RWO, ROX, RWX, RWOP.'),
      column('StorageClass', 'Storage class of the claim.'),
      column('VolumeAttributesClass', 'Volume attributes class the volume currently has.'),
      ageColumn,
      column('VolumeMode', 'Filesystem or Block.', { priority: 1 }),
    ],
    cells(pvc, now) {
      const spec: Obj = record(pvc.spec);
      const bound = !!spec.volumeName;
      const capacity = tryParseQuantity(pvc.status?.capacity?.storage);
      return [
        pvc.metadata.name,
        pvc.metadata.deletionTimestamp ? 'Terminating' : (pvc.status?.phase ?? ''),
        spec.volumeName ?? '',
        bound ? (capacity ? formatQuantity(capacity) : '0') : '',
        bound ? accessModesString(pvc.status?.accessModes) : '',
        storageClassOf(pvc),
        pvc.status?.currentVolumeAttributesClassName ?? '<unset>',
        age(pvc, now),
        spec.volumeMode ?? '<unset>',
      ];
    },
  },
};
