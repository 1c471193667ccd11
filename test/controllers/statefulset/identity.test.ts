import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  claimsFor,
  identityMatches,
  isRunningAndAvailable,
  isUnavailable,
  newStatefulSetPod,
  parentAndOrdinal,
  storageMatches,
  updateIdentity,
  updateStorage,
} from '../../../src/controllers/statefulset/identity.js';
import { newSet, START } from './fake-cluster.js';

describe('statefulset identity', () => {
  it('parses parent and ordinal from pod names', () => {
    assert.deepEqual(parentAndOrdinal('web-0'), { parent: 'web', ordinal: 0 });
    assert.deepEqual(parentAndOrdinal('my-db-12'), { parent: 'my-db', ordinal: 12 });
    assert.deepEqual(parentAndOrdinal('web-01'), { parent: 'web', ordinal: 1 });
    assert.deepEqual(parentAndOrdinal('web'), { parent: '', ordinal: -1 });
    assert.deepEqual(parentAndOrdinal('web-2147483647'), { parent: 'web', ordinal: 2147483647 });
    assert.deepEqual(parentAndOrdinal('web-2147483648'), { parent: 'web', ordinal: -1 });
  });

  it('builds a new pod with identity, storage, revision label and controller ref', () => {
    const set = newSet('web', { replicas: 3 });
    const pod = newStatefulSetPod(set, set.spec.template, 'web-abc', 2);
    assert.equal(pod.metadata.name, 'web-2');
    assert.equal(pod.metadata.generateName, 'web-');
    assert.equal(pod.metadata.namespace, 'default');
    assert.deepEqual(pod.metadata.labels, {
      app: 'web',
      'statefulset.kubernetes.io/pod-name': 'web-2',
      'apps.kubernetes.io/pod-index': '2',
      'controller-revision-hash': 'web-abc',
    });
    assert.deepEqual(pod.metadata.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-set-web', controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(pod.spec.hostname, 'web-2');
    assert.equal(pod.spec.subdomain, 'svc');
    assert.deepEqual(pod.spec.volumes, [
      { name: 'datadir', persistentVolumeClaim: { claimName: 'datadir-web-2' } },
      set.spec.template.spec.volumes[0],
    ]);
    assert.equal(pod.status, undefined);
    assert.ok(identityMatches(set, pod));
    assert.ok(storageMatches(set, pod));
  });

  it('lets claim templates replace template volumes of the same name and omits an empty subdomain', () => {
    const set = newSet('web');
    set.spec.serviceName = '';
    set.spec.template.spec.volumes.push({ name: 'datadir', emptyDir: {} });
    set.spec.template.spec.subdomain = 'stale';
    const pod = newStatefulSetPod(set, set.spec.template, 'r', 0);
    assert.deepEqual(pod.spec.volumes.map((v: any) => v.name), ['datadir', 'home']);
    assert.equal(pod.spec.volumes[0].persistentVolumeClaim.claimName, 'datadir-web-0');
    assert.equal(pod.spec.subdomain, undefined);
  });

  it('detects and repairs broken identity and storage', () => {
    const set = newSet('web');
    const pod = newStatefulSetPod(set, set.spec.template, 'r', 1);
    pod.metadata.labels!['statefulset.kubernetes.io/pod-name'] = 'other';
    assert.equal(identityMatches(set, pod), false);
    updateIdentity(set, pod);
    assert.ok(identityMatches(set, pod));

    const renamed = newStatefulSetPod(set, set.spec.template, 'r', 1);
    renamed.metadata.name = 'web-01';
    assert.equal(identityMatches(set, renamed), false, 'web-01 is not the canonical name of ordinal 1');

    pod.spec.volumes = [{ name: 'home', hostPath: { path: '/tmp/home' } }];
    assert.equal(storageMatches(set, pod), false);
    updateStorage(set, pod);
    assert.ok(storageMatches(set, pod));
  });

  it('builds claims from templates with the selector labels merged on top', () => {
    const set = newSet('web');
    set.spec.volumeClaimTemplates[0].metadata.labels = { tier: 'db', app: 'template' };
    set.spec.volumeClaimTemplates[0].status = { phase: 'Pending' };
    const [claim] = claimsFor(set, 4);
    assert.equal(claim.metadata.name, 'datadir-web-4');
    assert.equal(claim.metadata.namespace, 'default');
    assert.deepEqual(claim.metadata.labels, { tier: 'db', app: 'web' });
    assert.equal(claim.metadata.ownerReferences, undefined);
    assert.equal(claim.status, undefined);
    assert.deepEqual(claim.spec, set.spec.volumeClaimTemplates[0].spec);
  });

  it('measures availability strictly after minReadySeconds', () => {
    const pod = (since: number) => ({
      metadata: { name: 'web-0' },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(since).toISOString() }] },
    });
    assert.ok(isRunningAndAvailable(pod(START), 0, START));
    assert.equal(isRunningAndAvailable(pod(START - 10_000), 10, START), false);
    assert.ok(isRunningAndAvailable(pod(START - 11_000), 10, START));
    const noTime = { metadata: { name: 'web-0' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
    assert.equal(isRunningAndAvailable(noTime, 10, START), false);
    const terminating = { ...pod(START - 60_000), metadata: { name: 'web-0', deletionTimestamp: '2026-01-01T00:00:00Z' } };
    assert.ok(isUnavailable(terminating, 0, START));
  });
});
