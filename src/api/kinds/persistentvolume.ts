// core/v1 PersistentVolume: a piece of storage with exactly one volume source, bound to at
// most one claim by the volume controller.
import { deepEqual, timestamp, type KubeObject } from '../object.js';
import { formatQuantity, tryParseQuantity } from '../quantity.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Subdomain, type FieldError } from '../validation.js';
import {
  ACCESS_MODES,
  VOLUME_MODES,
  accessModesString,
  age,
  ageColumn,
  column,
  fieldDiff,
  immutable,
  isSet,
  list,
  nameColumn,
  record,
  storageClassOf,
  validateNodeSelector,
  validatePositiveQuantity,
  type Obj,
} from './support.js';

/** Added at create so a bound volume cannot vanish under its claim (StorageObjectInUseProtection). */
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

const RECLAIM_POLICIES = ['Delete', 'Recycle', 'Retain'];
const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

/** Every volume source a PV may name, in the order upstream checks them. */
export const PV_SOURCES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'glusterfs',
  'flocker',
  'nfs',
  'rbd',
  'quobyte',
  'cephfs',
  'iscsi',
  'cinder',
  'fc',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'photonPersistentDisk',
  'portworxVolume',
  'azureDisk',
  'scaleIO',
  'local',
  'storageos',
  'csi',
];

/** Access modes: at least one unless the caller says otherwise, known values, RWOP alone. */
export function validateAccessModes(modes: unknown, path: string, requiredDetail?: string): FieldError[] {
  const errs: FieldError[] = [];
  const given = list<string>(modes);
  if (!given.length) errs.push(field.required(path, requiredDetail));
  for (const m of given) if (!ACCESS_MODES.includes(m)) errs.push(field.notSupported(path, m, ACCESS_MODES));
  if (given.includes('ReadWriteOncePod') && given.some((m) => m !== 'ReadWriteOncePod' && ACCESS_MODES.includes(m))) {
    errs.push(field.forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
  }
  return errs;
}

function noBacksteps(path: string, p: string): FieldError[] {
  return p.split(/[\\/]/).includes('..') ? [field.invalid(path, p, "must not contain '..'")] : [];
}

function validateSource(name: string, src: Obj, path: string): FieldError[] {
  const required = (key: string) => (src[key] ? [] : [field.required(`${path}.${key}`)]);
  switch (name) {
    case 'hostPath': {
      if (!src.path) return required('path');
      const errs = noBacksteps(`${path}.path`, src.path);
      if (isSet(src.type) && !HOST_PATH_TYPES.includes(src.type)) errs.push(field.notSupported(`${path}.type`, src.type, HOST_PATH_TYPES));
      return errs;
    }
    case 'local':
      return src.path ? noBacksteps(`${path}.path`, src.path) : required('path');
    case 'nfs': {
      const errs = [...required('server'), ...required('path')];
      if (src.path && !String(src.path).startsWith('/')) errs.push(field.invalid(`${path}.path`, src.path, 'must be an absolute path'));
      return errs;
    }
    case 'csi':
      return [...required('driver'), ...required('volumeHandle')];
    case 'gcePersistentDisk':
      return required('pdName');
    case 'awsElasticBlockStore':
      return required('volumeID');
    default:
      return [];
  }
}

function validatePersistentVolume(pv: KubeObject): FieldError[] {
  const spec: Obj = record(pv.spec);
  const errs = validateAccessModes(spec.accessModes, 'spec.accessModes');

  const capacity = record(spec.capacity);
  if (!Object.keys(capacity).length) errs.push(field.required('spec.capacity'));
  if (!('storage' in capacity) || Object.keys(capacity).length > 1) errs.push(field.notSupported('spec.capacity', capacity, ['storage']));
  for (const [name, q] of Object.entries(capacity)) errs.push(...validatePositiveQuantity(q, `spec.capacity[${name}]`));

  if (spec.storageClassName) {
    errs.push(...isDNS1123Subdomain(spec.storageClassName).map((m) => field.invalid('spec.storageClassName', spec.storageClassName, m)));
  }
  if (isSet(spec.volumeMode) && !VOLUME_MODES.includes(spec.volumeMode)) errs.push(field.notSupported('spec.volumeMode', spec.volumeMode, VOLUME_MODES));
  if (spec.persistentVolumeReclaimPolicy && !RECLAIM_POLICIES.includes(spec.persistentVolumeReclaimPolicy)) {
    errs.push(field.notSupported('spec.persistentVolumeReclaimPolicy', spec.persistentVolumeReclaimPolicy, RECLAIM_POLICIES));
  }
  if (isSet(spec.volumeAttributesClassName)) {
    if (!spec.volumeAttributesClassName) errs.push(field.required('spec.volumeAttributesClassName', 'an empty string is disallowed'));
    else {
      const name = spec.volumeAttributesClassName;
      errs.push(...isDNS1123Subdomain(name).map((m) => field.invalid('spec.volumeAttributesClassName', name, m)));
    }
    if (!spec.csi) errs.push(field.required('spec.csi', 'has to be specified when using volumeAttributesClassName'));
  }

  let hasNodeAffinity = false;
  if (isSet(spec.nodeAffinity)) {
    hasNodeAffinity = true;
    const required = spec.nodeAffinity.required;
    if (isSet(required)) errs.push(...validateNodeSelector(record(required), 'spec.nodeAffinity.required'));
    else errs.push(field.required('spec.nodeAffinity.required', 'must specify required node constraints'));
  }

  let sources = 0;
  for (const name of PV_SOURCES) {
    if (!isSet(spec[name])) continue;
    if (sources++ > 0) {
      errs.push(field.forbidden(`spec.${name}`, 'may not specify more than 1 volume type'));
      continue;
    }
    errs.push(...validateSource(name, record(spec[name]), `spec.${name}`));
    if (name === 'local' && !hasNodeAffinity) errs.push(field.required('spec.nodeAffinity', 'Local volume requires node affinity'));
  }
  if (!sources) errs.push(field.required('spec', 'must specify a volume type'));

  if (spec.hostPath?.path && spec.persistentVolumeReclaimPolicy === 'Recycle' && normalizePath(spec.hostPath.path) === '/') {
    errs.push(field.forbidden('spec.persistentVolumeClaimPolicy', "may not be 'recycle' for a hostPath mount of '/'"));
  }
  return errs;
}

function normalizePath(p: string): string {
  const parts = p.split('/').filter((x) => x && x !== '.');
  return '/' + parts.join('/');
}

function sourcesOf(spec: Obj): Obj {
  return Object.fromEntries(PV_SOURCES.filter((k) => isSet(spec[k])).map((k) => [k, spec[k]]));
}

export const persistentVolumeKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  definition: 'io.k8s.api.core.v1.PersistentVolume',
  subresources: { status: true },
  returnDeletedObject: true,

  defaults(pv) {
    const spec = (pv.spec ??= {});
    spec.persistentVolumeReclaimPolicy ||= 'Retain';
    spec.volumeMode ??= 'Filesystem';
    if (spec.hostPath && typeof spec.hostPath === 'object') spec.hostPath.type ??= '';
    pv.status ??= {};
    pv.status.phase ||= 'Pending';
  },

  prepareForCreate(pv) {
    pv.status = { phase: 'Pending', lastPhaseTransitionTime: timestamp() };
    const finalizers = pv.metadata.finalizers ?? [];
    if (!finalizers.includes(PV_PROTECTION_FINALIZER)) pv.metadata.finalizers = [...finalizers, PV_PROTECTION_FINALIZER];
  },

  validate: validatePersistentVolume,

  validateUpdate(pv, old) {
    const spec = record(pv.spec);
    const oldSpec = record(old.spec);
    const errs: FieldError[] = [];
    const before = sourcesOf(oldSpec);
    const after = sourcesOf(spec);
    if (!deepEqual(before, after)) {
      errs.push(field.forbidden('spec.persistentvolumesource', `spec.persistentvolumesource is immutable after creation\n${fieldDiff(before, after)}`));
    }
    errs.push(...immutable('volumeMode', spec.volumeMode, oldSpec.volumeMode));
    if (isSet(oldSpec.nodeAffinity)) errs.push(...immutable('nodeAffinity', spec.nodeAffinity, oldSpec.nodeAffinity));
    return errs;
  },

  table: {
    columns: [
      nameColumn,
      column('Capacity', 'Size of the volume.'),
      column('Access Modes', 'How the volume may be mounted: RWO, ROX, RWX, RWOP.'),
      column('Reclaim Policy', 'What happens to the volume when its claim is deleted.'),
      column('Status', 'Phase of the volume, or Terminating.'),
      column('Claim', 'The claim bound to the volume, as namespace/name.'),
      column('StorageClass', 'Storage class of the volume.'),
      column('VolumeAttributesClass', 'Volume attributes class of the volume.'),
      column('Reason', 'Why the volume is in its phase.'),
      ageColumn,
      column('VolumeMode', 'Filesystem or Block.', { priority: 1 }),
    ],
    cells(pv, now) {
      const spec: Obj = record(pv.spec);
      const storage = tryParseQuantity(spec.capacity?.storage);
      const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
      return [
        pv.metadata.name,
        storage ? formatQuantity(storage) : '0',
        accessModesString(spec.accessModes),
        spec.persistentVolumeReclaimPolicy ?? '',
        pv.metadata.deletionTimestamp ? 'Terminating' : (pv.status?.phase ?? ''),
        claim,
        storageClassOf(pv),
        spec.volumeAttributesClassName ?? '<unset>',
        pv.status?.reason ?? '',
        age(pv, now),
        spec.volumeMode ?? '<unset>',
      ];
    },
  },
};
