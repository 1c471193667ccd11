// Choosing a volume for a claim, and the access-mode check, on plain objects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/object.js';
import { volumeAccessConflict, READ_WRITE_ONCE_CONFLICT, READ_WRITE_ONCE_POD_CONFLICT } from '../../../src/controllers/volume/access.js';
import { hostnameAffinity, nodeAffinityFits, nodeView } from '../../../src/controllers/volume/helpers.js';
import { findBestMatch, volumeMismatch } from '../../../src/controllers/volume/match.js';

function claim(spec: Record<string, unknown> = {}, name = 'data'): KubeObject {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', ...spec },
  };
}

function volume(name: string, size: string, extra: { spec?: Record<string, unknown>; labels?: Record<string, string>; phase?: string } = {}): KubeObject {
  return {
    metadata: { name, labels: extra.labels },
    spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], storageClassName: '', volumeMode: 'Filesystem', hostPath: { path: `/data/${name}` }, ...extra.spec },
    status: { phase: extra.phase ?? 'Available' },
  };
}

const pick = (c: KubeObject, vs: KubeObject[], delayBinding = false, node?: string) =>
  findBestMatch(c, vs, { delayBinding, node: node ? nodeView(node, undefined) : undefined })?.metadata.name;

describe('findBestMatch', () => {
  it('takes the smallest volume that is big enough', () => {
    assert.equal(pick(claim(), [volume('big', '5Gi'), volume('small', '500Mi'), volume('fit', '2Gi')]), 'fit');
    assert.equal(pick(claim(), [volume('small', '500Mi')]), undefined);
  });

  it('requires the same class, volumeMode, access modes and selector', () => {
    assert.equal(pick(claim({ storageClassName: 'fast' }), [volume('v', '1Gi')]), undefined);
    assert.equal(pick(claim({ storageClassName: 'fast' }), [volume('v', '1Gi', { spec: { storageClassName: 'fast' } })]), 'v');
    assert.equal(pick(claim({ volumeMode: 'Block' }), [volume('v', '1Gi')]), undefined);
    assert.equal(pick(claim({ accessModes: ['ReadWriteMany'] }), [volume('v', '1Gi')]), undefined);
    const sel = claim({ selector: { matchLabels: { tier: 'gold' } } });
    assert.equal(pick(sel, [volume('plain', '1Gi'), volume('gold', '2Gi', { labels: { tier: 'gold' } })]), 'gold');
  });

  it('prefers fewer extra access modes over a smaller size', () => {
    const many = volume('many', '1Gi', { spec: { accessModes: ['ReadWriteOnce', 'ReadWriteMany'] } });
    assert.equal(pick(claim(), [many, volume('once', '3Gi')]), 'once');
  });

  it('skips volumes that are not Available, claimed by others, or being deleted', () => {
    const other = volume('other', '1Gi', { spec: { claimRef: { namespace: 'ns', name: 'someone', uid: 'x' } } });
    const deleting = { ...volume('gone', '1Gi'), metadata: { name: 'gone', deletionTimestamp: '2024-01-01T00:00:00Z' } };
    assert.equal(pick(claim(), [volume('released', '1Gi', { phase: 'Released' }), other, deleting]), undefined);
  });

  it('accepts a volume pre-bound to the claim in any phase, even with delayed binding', () => {
    const pre = volume('pre', '1Gi', { phase: 'Pending', spec: { claimRef: { namespace: 'ns', name: 'data' } } });
    assert.equal(pick(claim(), [volume('v', '1Gi'), pre]), 'pre');
    assert.equal(pick(claim(), [volume('v', '1Gi'), pre], true), 'pre');
    assert.equal(pick(claim(), [volume('v', '1Gi')], true), undefined);
  });

  it('with a selected node, only volumes whose node affinity admits it', () => {
    const onA = volume('on-a', '1Gi', { spec: { nodeAffinity: hostnameAffinity('node-a') } });
    assert.equal(pick(claim(), [onA], true, 'node-b'), undefined);
    assert.equal(pick(claim(), [onA], true, 'node-a'), 'on-a');
  });
});

describe('volumeMismatch', () => {
  it("names the first reason with upstream's text", () => {
    assert.equal(volumeMismatch(volume('v', '500Mi'), claim()), 'requested PV is too small');
    assert.equal(volumeMismatch(volume('v', '1Gi'), claim({ storageClassName: 'x' })), 'storageClassName does not match');
    assert.equal(volumeMismatch(volume('v', '1Gi'), claim({ accessModes: ['ReadOnlyMany'] })), 'incompatible accessMode');
    assert.equal(volumeMismatch(volume('v', '1Gi'), claim()), undefined);
  });
});

describe('nodeAffinityFits', () => {
  it('matches expressions on labels and metadata.name fields', () => {
    const pv = volume('v', '1Gi', {
      spec: { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n9'] }] }] } } },
    });
    assert.equal(nodeAffinityFits(pv, { name: 'n1', labels: { zone: 'a' } }), true);
    assert.equal(nodeAffinityFits(pv, { name: 'n1', labels: { zone: 'b' } }), false);
    assert.equal(nodeAffinityFits(pv, { name: 'n9', labels: {} }), true);
  });
});

describe('volumeAccessConflict', () => {
  const pod = (name: string, node: string | undefined, claimName = 'data', phase = 'Running'): KubeObject => ({
    metadata: { name, namespace: 'ns', uid: name },
    spec: { nodeName: node, volumes: [{ name: 'v', persistentVolumeClaim: { claimName } }] },
    status: { phase },
  });
  const withModes = (modes: string[]) => (name: string) => (name === 'data' ? claim({ accessModes: modes }) : undefined);

  it('ReadWriteOncePod admits one pod in the cluster', () => {
    const rwop = withModes(['ReadWriteOncePod']);
    assert.equal(volumeAccessConflict(pod('b', undefined), 'n1', rwop, [pod('a', 'n1')]), READ_WRITE_ONCE_POD_CONFLICT);
    assert.equal(volumeAccessConflict(pod('b', undefined), 'n1', rwop, [pod('a', 'n1', 'data', 'Succeeded')]), undefined);
    assert.equal(volumeAccessConflict(pod('b', undefined), 'n1', rwop, [pod('a', undefined)]), undefined);
  });

  it('ReadWriteOnce admits pods on one node only', () => {
    const rwo = withModes(['ReadWriteOnce']);
    assert.equal(volumeAccessConflict(pod('b', undefined), 'n1', rwo, [pod('a', 'n1')]), undefined);
    assert.equal(volumeAccessConflict(pod('b', undefined), 'n2', rwo, [pod('a', 'n1')]), READ_WRITE_ONCE_CONFLICT);
    assert.equal(volumeAccessConflict(pod('b', undefined), 'n2', withModes(['ReadWriteMany']), [pod('a', 'n1')]), undefined);
    assert.equal(volumeAccessConflict(pod('b', undefined), 'n2', rwo, [pod('a', 'n1', 'other')]), undefined);
  });
});
