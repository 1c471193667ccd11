import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { persistentVolumeKind } from '../../../src/api/kinds/persistentvolume.js';
import { persistentVolumeClaimKind } from '../../../src/api/kinds/persistentvolumeclaim.js';
import { storageClassKind } from '../../../src/api/kinds/storageclass.js';
import type { KubeObject } from '../../../src/api/object.js';
import { create, created, row, update } from './pipeline.js';

function pv(spec: Record<string, unknown>, name = 'pv-1'): KubeObject {
  return { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name }, spec };
}
const hostPathPV = (extra: Record<string, unknown> = {}) =>
  pv({ capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data/pv-1' }, ...extra });

function pvc(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-web-0', namespace: 'default' }, spec };
}
const claim = (extra: Record<string, unknown> = {}) =>
  pvc({ accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '1Gi' } }, ...extra });

/** A claim as the volume controller leaves it once bound. */
function bound(c: KubeObject, capacity = '1Gi'): KubeObject {
  c.spec.volumeName = 'pvc-123';
  c.status = { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: capacity } };
  return c;
}

describe('PersistentVolume', () => {
  it('defaults reclaim policy, volume mode and hostPath type; starts Pending with protection', () => {
    const obj = created(persistentVolumeKind, hostPathPV());
    assert.equal(obj.spec.persistentVolumeReclaimPolicy, 'Retain');
    assert.equal(obj.spec.volumeMode, 'Filesystem');
    assert.equal(obj.spec.hostPath.type, '');
    assert.equal(obj.status.phase, 'Pending');
    assert.ok(obj.status.lastPhaseTransitionTime);
    assert.deepEqual(obj.metadata.finalizers, ['kubernetes.io/pv-protection']);
  });

  it('needs capacity, access modes and exactly one source', () => {
    assert.deepEqual(create(persistentVolumeKind, pv({})).errors, [
      'spec.accessModes: Required value',
      'spec.capacity: Required value',
      'spec.capacity: Unsupported value: {}: supported values: "storage"',
      'spec: Required value: must specify a volume type',
    ]);
    const two = create(persistentVolumeKind, hostPathPV({ nfs: { server: 'nfs', path: '/x' } }));
    assert.deepEqual(two.errors, ['spec.nfs: Forbidden: may not specify more than 1 volume type']);
  });

  it('checks reclaim policy, access modes, quantities and local volumes', () => {
    const { errors } = create(
      persistentVolumeKind,
      pv({ capacity: { storage: '0' }, accessModes: ['ReadWriteOncePod', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Keep', local: { path: '/mnt/disks/a' } }),
    );
    assert.deepEqual(errors, [
      'spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes',
      'spec.capacity[storage]: Invalid value: "0": must be greater than zero',
      'spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"',
      'spec.nodeAffinity: Required value: Local volume requires node affinity',
    ]);
    const badQuantity = create(persistentVolumeKind, hostPathPV({ capacity: { storage: '1GB' } }));
    assert.deepEqual(badQuantity.errors, [
      "spec.capacity[storage]: Invalid value: \"1GB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ]);
  });

  it('validates node affinity terms', () => {
    const { errors } = create(
      persistentVolumeKind,
      pv({
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        local: { path: '/mnt/a' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In' }] }] } },
      }),
    );
    assert.deepEqual(errors, [
      "spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ]);
  });

  it('the volume source is fixed once created', () => {
    const current = created(persistentVolumeKind, hostPathPV());
    const { errors } = update(persistentVolumeKind, hostPathPV({ hostPath: { path: '/elsewhere' } }), current);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^spec\.persistentvolumesource: Forbidden: spec\.persistentvolumesource is immutable after creation\n/);
    const claimed = update(persistentVolumeKind, hostPathPV({ claimRef: { namespace: 'default', name: 'data-web-0' } }), current);
    assert.deepEqual(claimed.errors, []);
  });

  it('prints upstream PV columns', () => {
    const obj = created(persistentVolumeKind, hostPathPV({ capacity: { storage: '1024Mi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], storageClassName: 'manual' }));
    obj.spec.claimRef = { namespace: 'default', name: 'data-web-0' };
    obj.status.phase = 'Bound';
    assert.deepEqual(row(persistentVolumeKind, obj), {
      Name: 'pv-1',
      Capacity: '1Gi',
      'Access Modes': 'RWO,RWX',
      'Reclaim Policy': 'Retain',
      Status: 'Bound',
      Claim: 'default/data-web-0',
      StorageClass: 'manual',
      VolumeAttributesClass: '<unset>',
      Reason: '',
      Age: '5m',
      VolumeMode: 'Filesystem',
    });
    obj.metadata.deletionTimestamp = '2025-01-01T00:04:00Z';
    assert.equal(row(persistentVolumeKind, obj).Status, 'Terminating');
  });
});

describe('PersistentVolumeClaim', () => {
  it('starts Pending, Filesystem, protected', () => {
    const obj = created(persistentVolumeClaimKind, claim({ status: { phase: 'Bound' } }));
    assert.deepEqual(obj.status, { phase: 'Pending' });
    assert.equal(obj.spec.volumeMode, 'Filesystem');
    assert.deepEqual(obj.metadata.finalizers, ['kubernetes.io/pvc-protection']);
  });

  it('needs access modes and a storage request', () => {
    assert.deepEqual(create(persistentVolumeClaimKind, pvc({})).errors, [
      'spec.accessModes: Required value: at least 1 access mode is required',
      'spec.resources[storage]: Required value',
    ]);
    assert.deepEqual(create(persistentVolumeClaimKind, claim({ accessModes: ['ReadWriteSometimes'] })).errors, [
      'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
    ]);
  });

  it('mirrors dataSource into dataSourceRef', () => {
    const obj = created(persistentVolumeClaimKind, claim({ dataSource: { kind: 'PersistentVolumeClaim', name: 'src' } }));
    assert.deepEqual(obj.spec.dataSourceRef, { kind: 'PersistentVolumeClaim', name: 'src' });
    const bad = create(persistentVolumeClaimKind, claim({ dataSource: { kind: 'Pod', name: 'x' } }));
    assert.ok(bad.errors.includes('spec.dataSource: Invalid value: "Pod": must be \'PersistentVolumeClaim\' when referencing the default apiGroup'));
  });

  it('the spec is fixed except a growing request on a bound claim', () => {
    const pending = created(persistentVolumeClaimKind, claim());
    const grown = update(persistentVolumeClaimKind, claim({ resources: { requests: { storage: '2Gi' } } }), pending);
    assert.equal(grown.errors.length, 1);
    assert.match(grown.errors[0], /^spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n/);

    const current = bound(created(persistentVolumeClaimKind, claim()));
    const ok = update(persistentVolumeClaimKind, bound(claim({ resources: { requests: { storage: '2Gi' } } })), current);
    assert.deepEqual(ok.errors, []);
    const shrunk = update(persistentVolumeClaimKind, bound(claim({ resources: { requests: { storage: '500Mi' } } })), current);
    assert.deepEqual(shrunk.errors, ['spec.resources.requests.storage: Forbidden: field can not be less than status.capacity']);
    const other = update(persistentVolumeClaimKind, bound(claim({ accessModes: ['ReadWriteMany'] })), current);
    assert.match(other.errors[0], /^spec: Forbidden: spec is immutable/);
  });

  it('volumeName may be set once, and a missing class may be filled in', () => {
    const current = created(persistentVolumeClaimKind, claim({ storageClassName: undefined }));
    const next = claim({ storageClassName: 'standard', volumeName: 'pvc-1' });
    assert.deepEqual(update(persistentVolumeClaimKind, next, current).errors, []);
    const named = created(persistentVolumeClaimKind, claim({ volumeName: 'pv-a' }));
    assert.match(update(persistentVolumeClaimKind, claim({ volumeName: 'pv-b' }), named).errors[0], /^spec: Forbidden/);
  });

  it('prints upstream PVC columns', () => {
    const pending = created(persistentVolumeClaimKind, claim());
    assert.deepEqual(row(persistentVolumeClaimKind, pending), {
      Name: 'data-web-0',
      Status: 'Pending',
      Volume: '',
      Capacity: '',
      'Access Modes': '',
      StorageClass: 'standard',
      VolumeAttributesClass: '<unset>',
      Age: '5m',
      VolumeMode: 'Filesystem',
    });
    const b = bound(created(persistentVolumeClaimKind, claim()), '1.5Gi');
    const r = row(persistentVolumeClaimKind, b);
    assert.deepEqual([r.Status, r.Volume, r.Capacity, r['Access Modes']], ['Bound', 'pvc-123', '1536Mi', 'RWO']);
  });
});

describe('StorageClass', () => {
  const sc = (extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'standard' },
    provisioner: 'petset.io/local-path',
    ...extra,
  });

  it('defaults reclaim policy and binding mode', () => {
    const obj = created(storageClassKind, sc());
    assert.equal(obj.reclaimPolicy, 'Delete');
    assert.equal(obj.volumeBindingMode, 'Immediate');
  });

  it('validates provisioner and enums', () => {
    assert.deepEqual(create(storageClassKind, sc({ provisioner: '' })).errors, ['provisioner: Required value']);
    assert.deepEqual(create(storageClassKind, sc({ reclaimPolicy: 'Recycle', volumeBindingMode: 'Later' })).errors, [
      'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
      'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"',
    ]);
  });

  it('only allowVolumeExpansion and metadata may change', () => {
    const current = created(storageClassKind, sc({ parameters: { type: 'fast' } }));
    assert.deepEqual(update(storageClassKind, sc({ parameters: { type: 'fast' }, allowVolumeExpansion: true }), current).errors, []);
    assert.deepEqual(
      update(storageClassKind, sc({ provisioner: 'other.io/x', parameters: {}, reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer' }), current)
        .errors,
      [
        'parameters: Forbidden: updates to parameters are forbidden.',
        'provisioner: Forbidden: updates to provisioner are forbidden.',
        'reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.',
        'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
      ],
    );
  });

  it('marks the default class in the Name column', () => {
    const obj = created(storageClassKind, sc({ metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } }));
    assert.deepEqual(row(storageClassKind, obj), {
      Name: 'standard (default)',
      Provisioner: 'petset.io/local-path',
      ReclaimPolicy: 'Delete',
      VolumeBindingMode: 'Immediate',
      AllowVolumeExpansion: false,
      Age: '5m',
    });
  });
});
