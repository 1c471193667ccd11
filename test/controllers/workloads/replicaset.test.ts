// The ReplicaSet decisions: how many pods to create, which to delete first, the status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/object.js';
import { calculateStatus, manageReplicas, requeueAfterSeconds } from '../../../src/controllers/replicaset/decide.js';
import { claimObjects } from '../../../src/api/podcontrol/claim.js';
import { Expectations } from '../../../src/api/podcontrol/expectations.js';
import { controllerRefTo, podFromTemplate, podsToDelete, slowStartBatches } from '../../../src/api/podcontrol/pods.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');

function rs(replicas: number, extra: Record<string, any> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'rs-uid', generation: 2 },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: {} }, ...extra },
  };
}

function pod(name: string, opts: { phase?: string; ready?: boolean; readySince?: string; node?: string; created?: string; labels?: Record<string, string>; deleting?: boolean; owner?: string } = {}): KubeObject {
  const p: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      labels: opts.labels ?? { app: 'web' },
      creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z',
      ownerReferences: opts.owner === undefined ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-uid', controller: true }] : [],
    },
    spec: { nodeName: opts.node },
    status: { phase: opts.phase ?? 'Running', conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: opts.readySince ?? '2026-01-01T00:00:00Z' }] },
  };
  if (opts.deleting) p.metadata.deletionTimestamp = '2026-01-01T00:09:00Z';
  return p;
}

describe('manageReplicas', () => {
  it('creates the missing pods, ignoring finished and terminating ones', () => {
    const pods = [pod('a'), pod('b', { phase: 'Succeeded' }), pod('c', { deleting: true })];
    assert.deepEqual(manageReplicas({ owner: rs(3), pods, expectationsSatisfied: true }), { create: 2, delete: [] });
  });

  it('does nothing until the cache has seen the last pass (expectations) or while the set is being deleted', () => {
    assert.equal(manageReplicas({ owner: rs(3), pods: [], expectationsSatisfied: false }).create, 0);
    const deleting = rs(3);
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    assert.equal(manageReplicas({ owner: deleting, pods: [], expectationsSatisfied: true }).create, 0);
  });

  it('deletes unscheduled, then pending, then not-ready, then the newest pods first', () => {
    const pods = [
      pod('running-old', { node: 'n2', created: '2026-01-01T00:00:00Z' }),
      pod('running-new', { node: 'n2', created: '2026-01-01T00:05:00Z' }),
      pod('not-ready', { node: 'n1', ready: false }),
      pod('pending', { node: 'n1', phase: 'Pending', ready: false }),
      pod('unscheduled', { phase: 'Pending', ready: false }),
    ];
    const plan = manageReplicas({ owner: rs(1), pods, expectationsSatisfied: true });
    assert.deepEqual(plan.delete.map((p) => p.metadata.name), ['unscheduled', 'pending', 'not-ready', 'running-new']);
  });

  it('prefers pods on crowded nodes among equals', () => {
    const pods = [pod('alone', { node: 'n1' }), pod('crowded-1', { node: 'n2' }), pod('crowded-2', { node: 'n2' })];
    const [first] = podsToDelete(pods, pods, 1);
    assert.match(first.metadata.name!, /^crowded-/);
  });
});

describe('calculateStatus', () => {
  it('counts active, fully labelled, ready and available pods (minReadySeconds) and the generation', () => {
    const owner = rs(4, { minReadySeconds: 60 });
    owner.spec.template.metadata.labels = { app: 'web', tier: 'x' };
    const pods = [
      pod('a', { labels: { app: 'web', tier: 'x' }, readySince: '2026-01-01T00:00:00Z' }),
      pod('b', { readySince: '2026-01-01T00:09:30Z' }),
      pod('c', { ready: false }),
      pod('d', { phase: 'Failed' }),
    ];
    const status = calculateStatus({ owner, pods, now: NOW, expectationsSatisfied: true }, owner.spec.template.metadata.labels);
    assert.deepEqual(status, { replicas: 3, fullyLabeledReplicas: 1, readyReplicas: 2, availableReplicas: 1, observedGeneration: 2 });
    assert.equal(requeueAfterSeconds(owner, pods, NOW), 31, 'b becomes available 30s from now');
  });

  it('reports failed creations in the ReplicaFailure condition and clears it after', () => {
    const owner = rs(1);
    const failed = calculateStatus({ owner, pods: [], now: NOW, expectationsSatisfied: true, createError: 'pods "web-x" is forbidden: exceeded quota' }, {});
    assert.deepEqual(
      failed.conditions.map((c: any) => [c.type, c.status, c.reason, c.message]),
      [['ReplicaFailure', 'True', 'FailedCreate', 'pods "web-x" is forbidden: exceeded quota']],
    );
    owner.status = failed;
    assert.equal(calculateStatus({ owner, pods: [pod('a')], now: NOW, expectationsSatisfied: true }, {}).conditions, undefined);
  });
});

describe('pod control helpers', () => {
  it('creates pods in slow-start batches 1, 2, 4, ...', () => {
    assert.deepEqual(slowStartBatches(10), [1, 2, 4, 3]);
    assert.deepEqual(slowStartBatches(1), [1]);
    assert.deepEqual(slowStartBatches(0), []);
  });

  it('builds pods from the template, owned by the controller', () => {
    const owner = rs(1);
    owner.spec.template.metadata.annotations = { a: 'b' };
    const p = podFromTemplate(owner.spec.template, 'ns', controllerRefTo(owner, 'apps/v1', 'ReplicaSet'), 'web-');
    assert.equal(p.metadata.generateName, 'web-');
    assert.deepEqual(p.metadata.labels, { app: 'web' });
    assert.deepEqual(p.metadata.annotations, { a: 'b' });
    assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-uid', controller: true, blockOwnerDeletion: true }]);
  });

  it('adopts matching orphans and releases owned objects that stopped matching', () => {
    const owner = rs(2);
    const ref = controllerRefTo(owner, 'apps/v1', 'ReplicaSet');
    const orphan = pod('orphan', { owner: '' });
    const strayed = pod('strayed', { labels: { app: 'other' } });
    const others = pod('others', { owner: '' });
    others.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'x', uid: 'x', controller: true }];
    const claim = claimObjects(owner, [pod('mine'), orphan, strayed, others], (p) => p.metadata.labels?.app === 'web', ref);
    assert.deepEqual(claim.claimed.map((p) => p.metadata.name), ['mine', 'orphan']);
    assert.deepEqual(claim.adopt, [{ name: 'orphan', patch: { metadata: { ownerReferences: [ref], uid: 'uid-orphan' } } }]);
    assert.deepEqual(claim.release, [{ name: 'strayed', patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'rs-uid' }], uid: 'uid-strayed' } } }]);
  });

  it('expectations hold until every expected pod was observed', () => {
    let now = 0;
    const e = new Expectations(() => now);
    e.expectCreations('ns/web', 2);
    e.expectDeletions('ns/web', ['ns/a']);
    e.creationObserved('ns/web');
    e.creationObserved('ns/web');
    assert.equal(e.satisfied('ns/web'), false);
    e.deletionObserved('ns/web', 'ns/a');
    assert.equal(e.satisfied('ns/web'), true);
    e.expectCreations('ns/web', 1);
    now = 6 * 60 * 1000;
    assert.equal(e.satisfied('ns/web'), true, 'expectations lapse after five minutes');
  });
});
