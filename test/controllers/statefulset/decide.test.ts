// Single-pass decisions: which actions, in which order, with which events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone } from '../../../src/api/object.js';
import type { Action } from '../../../src/controllers/statefulset/actions.js';
import { decide } from '../../../src/controllers/statefulset/decide.js';
import { ordinalOf, podRevision } from '../../../src/controllers/statefulset/identity.js';
import { actionsOf, FakeCluster, newSet, seeded, type SetOptions } from './fake-cluster.js';

function summary(actions: Action[]): string[] {
  return actions.map((a) => `${a.purpose}${'name' in a ? ` ${a.name}` : ''}`);
}

async function ready(o: SetOptions = {}): Promise<FakeCluster> {
  const c = new FakeCluster(newSet('web', o));
  await c.progress(seeded(1), () => {});
  return c;
}

describe('decide: creating pods', () => {
  it('creates claims, then the pod, then records the pod event; one pod per pass in OrderedReady', async () => {
    const c = new FakeCluster(newSet('web', { policy: 'SetDeleteOnly' }));
    const plan = c.plan();
    assert.deepEqual(summary(actionsOf(plan)), ['createRevision web-' + plan.status!.updateRevision!.slice(4), 'createClaim datadir-web-0', 'createPod web-0', 'podCreated', 'writeStatus web']);
    const [claim, pod, created] = actionsOf(plan, 'pods') as any[];
    assert.deepEqual(claim.onSuccess, [{ type: 'Normal', reason: 'SuccessfulCreate', message: 'create Claim datadir-web-0 Pod web-0 in StatefulSet web success' }]);
    assert.deepEqual(
      claim.onFailure.map((e: any) => e.message),
      ['create Claim datadir-web-0 for Pod web-0 in StatefulSet web failed error: ', 'create Pod web-0 in StatefulSet web failed error: failed to create PVC datadir-web-0: '],
    );
    assert.deepEqual(claim.onFailure[0].unlessReason, ['AlreadyExists']);
    assert.equal(pod.body.metadata.labels['controller-revision-hash'], plan.status!.updateRevision);
    assert.deepEqual(pod.onFailure[0].unlessReason, ['AlreadyExists']);
    assert.deepEqual(created.onSuccess, [{ type: 'Normal', reason: 'SuccessfulCreate', message: 'create Pod web-0 in StatefulSet web successful' }]);
  });

  it('announces a failed claim creation on the claim and the pod, not a duplicate one', async () => {
    const c = new FakeCluster(newSet('web'));
    c.failNext({ purpose: 'createClaim' }, 'Invalid');
    await c.sync();
    assert.deepEqual(c.events.map((e) => `${e.reason}: ${e.message}`), [
      'FailedCreate: create Claim datadir-web-0 for Pod web-0 in StatefulSet web failed error: injected Invalid',
      'FailedCreate: create Pod web-0 in StatefulSet web failed error: failed to create PVC datadir-web-0: injected Invalid',
    ]);
    assert.equal(c.pods.size, 0);
    c.failNext({ purpose: 'createPod' }, 'AlreadyExists');
    await c.sync();
    assert.equal(c.events.length, 3, 'only the claim success; AlreadyExists on the pod is silent');
  });

  it('burst mode creates every missing pod in slow-start batches of 1, 2, 4 …', async () => {
    const c = new FakeCluster(newSet('web', { replicas: 10, parallel: true }));
    const pods = c.plan().steps.find((s) => s.name === 'pods')!;
    assert.deepEqual(pods.batches.map((b) => b.length), [1, 2, 4, 3]);
    assert.deepEqual(pods.batches[1].map((u) => u.find((a) => a.purpose === 'createPod')!.purpose), ['createPod', 'createPod']);
  });

  it('refuses to create a pod whose claim is being deleted', async () => {
    const c = new FakeCluster(newSet('web'));
    c.claims.set('datadir-web-0', { metadata: { name: 'datadir-web-0', namespace: 'default', deletionTimestamp: '2026-01-01T00:00:00Z' } });
    const { errors } = await c.sync();
    assert.deepEqual(errors, ['pvc datadir-web-0 is being deleted']);
    assert.equal(c.pods.size, 0);
    assert.deepEqual(c.events.map((e) => e.message), ['create Pod web-0 in StatefulSet web failed error: pvc datadir-web-0 is being deleted']);
  });

  it('waits for the garbage collector when a claim still belongs to an earlier pod (whenScaled: Delete)', async () => {
    const c = new FakeCluster(newSet('web', { policy: 'ScaleDownOnly' }));
    c.claims.set('datadir-web-0', {
      metadata: { name: 'datadir-web-0', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'old', controller: true }] },
    });
    assert.deepEqual(actionsOf(c.plan(), 'pods'), []);
    c.claims.delete('datadir-web-0');
    assert.ok(actionsOf(c.plan(), 'pods').some((a) => a.purpose === 'createPod'));
  });

  it('uses the current revision for recreated pods below currentReplicas when there is no rollingUpdate block', async () => {
    const c = await ready({ updateStrategy: { type: 'RollingUpdate' } });
    const original = c.set.status.currentRevision;
    c.setImage('nginx:2');
    await c.sync(); // deletes web-2
    await c.sync(); // recreates it at the update revision
    assert.equal(c.set.status.currentReplicas, 2);
    c.removePod(0);
    await c.sync();
    assert.equal(podRevision(c.pod(0)), original);
    assert.equal(c.pod(0).spec.containers[0].image, 'nginx:1');
  });
});

describe('decide: ordering and halting (OrderedReady)', () => {
  it('halts behind a pod that is not Running and Ready', async () => {
    const c = new FakeCluster(newSet('web'));
    await c.sync();
    c.setPhase(0, 'Running');
    assert.deepEqual(actionsOf(c.plan(), 'pods'), []);
    c.setReady(0);
    assert.deepEqual(summary(actionsOf(c.plan(), 'pods')).filter((s) => s.startsWith('createPod')), ['createPod web-1']);
  });

  it('does not wait on an unhealthy successor to recreate a missing predecessor', async () => {
    const c = new FakeCluster(newSet('web', { replicas: 2 }));
    await c.sync();
    c.setReady(0);
    await c.sync();
    c.setPhase(1, 'Running');
    c.removePod(0);
    assert.deepEqual(summary(actionsOf(c.plan(), 'pods')).filter((s) => s.startsWith('createPod')), ['createPod web-0']);
  });

  it('blocks everything behind a terminating pod', async () => {
    const c = await ready();
    c.pod(1).metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    c.editSpec((spec) => (spec.replicas = 2));
    assert.deepEqual(actionsOf(c.plan(), 'pods'), []);
  });

  it('scales down from the highest ordinal, one pod per pass, only when all are healthy', async () => {
    const c = await ready({ replicas: 4 });
    c.editSpec((spec) => (spec.replicas = 1));
    c.gracefulDeletes = true;
    const deleted: string[] = [];
    for (let i = 0; i < 8; i++) {
      deleted.push(...summary(actionsOf((await c.sync()).plan, 'pods')).filter((s) => s.startsWith('deleteCondemnedPod')));
      if (i % 2) c.finishDeletions();
    }
    assert.deepEqual(deleted, ['deleteCondemnedPod web-3', 'deleteCondemnedPod web-2', 'deleteCondemnedPod web-1']);
  });

  it('removes a broken top pod only if it is the first unhealthy one', async () => {
    const c = await ready({ replicas: 3 });
    c.editSpec((spec) => (spec.replicas = 1));
    c.setNotReady(2);
    assert.deepEqual(summary(actionsOf(c.plan(), 'pods')), ['deleteCondemnedPod web-2']);
    const d = await ready({ replicas: 3 });
    d.editSpec((spec) => (spec.replicas = 2));
    d.setNotReady(1);
    assert.deepEqual(actionsOf(d.plan(), 'pods'), [], 'a healthy top pod above a broken remaining one stays');
    const e = await ready({ replicas: 3 });
    e.editSpec((spec) => (spec.replicas = 1));
    e.setNotReady(1);
    assert.deepEqual(summary(actionsOf(e.plan(), 'pods')), ['deleteCondemnedPod web-2'], 'healthy condemned pods go first, top down');
  });

  it('Parallel deletes all condemned pods at once regardless of health', async () => {
    const c = await ready({ replicas: 4, parallel: true });
    c.editSpec((spec) => (spec.replicas = 0));
    c.setNotReady(1);
    const deletes = summary(actionsOf(c.plan(), 'pods')).filter((s) => s.startsWith('deleteCondemned'));
    assert.deepEqual(deletes, ['deleteCondemnedPod web-3', 'deleteCondemnedPod web-2', 'deleteCondemnedPod web-1', 'deleteCondemnedPod web-0']);
  });

  it('gives scaled-down pods the scale-down claim refs before deleting them', async () => {
    const c = await ready({ replicas: 2, policy: 'Delete' });
    c.editSpec((spec) => (spec.replicas = 1));
    const plan = c.plan();
    assert.deepEqual(summary(actionsOf(plan, 'pods')), ['updateClaimOwnerRefs datadir-web-1', 'deleteCondemnedPod web-1']);
    const update = actionsOf(plan, 'pods')[0] as any;
    assert.deepEqual(update.body.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: c.pod(1).metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
  });
});

describe('decide: stuck roll-outs (forced rollback, issue #67250)', () => {
  for (const parallel of [false, true]) {
    it(`${parallel ? 'Parallel replaces' : 'OrderedReady keeps waiting on'} a broken pod after the template is reverted`, async () => {
      const c = await ready({ parallel });
      c.setImage('does-not-exist:1');
      await c.sync();
      await c.sync();
      c.setPhase(2, 'Running'); // never becomes Ready
      c.setImage('nginx:1');
      const deletes = actionsOf((await c.sync()).plan, 'pods').filter((a) => a.purpose === 'deleteOutdatedPod');
      assert.equal(deletes.length, parallel ? 1 : 0);
    });
  }
});

describe('decide: repairs', () => {
  it('recreates missing claims of a pending pod and repairs identity', async () => {
    const c = await ready();
    c.claims.delete('datadir-web-1');
    c.setPhase(1, 'Pending');
    assert.deepEqual(summary(actionsOf(c.plan(), 'pods')), ['createClaim datadir-web-1']);
    await c.sync();
    c.setReady(1);
    delete c.pod(2).metadata.labels!['statefulset.kubernetes.io/pod-name'];
    const update = actionsOf(c.plan(), 'pods').find((a) => a.purpose === 'updatePod') as any;
    assert.equal(update.body.metadata.labels['statefulset.kubernetes.io/pod-name'], 'web-2');
    assert.equal(update.body.metadata.labels['apps.kubernetes.io/pod-index'], '2');
  });

  it('applies a retention-policy change to existing claims, warning about foreign controllers', async () => {
    const c = await ready();
    c.claims.get('datadir-web-1')!.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'cm-uid', controller: true },
    ];
    c.editSpec((spec) => (spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete', whenScaled: 'Retain' }));
    const plan = c.plan();
    assert.deepEqual(summary(actionsOf(plan, 'pods')), [
      'updateClaimOwnerRefs datadir-web-0',
      'updatePod web-0',
      'updateClaimOwnerRefs datadir-web-2',
      'updatePod web-2',
    ]);
    await c.sync();
    for (const i of [0, 2]) assert.equal(c.claims.get(`datadir-web-${i}`)!.metadata.ownerReferences![0].uid, 'uid-set-web');
    assert.equal(c.claims.get('datadir-web-1')!.metadata.ownerReferences!.length, 1);
    c.setPhase(1, 'Pending');
    await c.sync();
    assert.ok(c.events.some((e) => e.reason === 'ConflictingController' && e.message.startsWith('PersistentVolumeClaim datadir-web-1 has a conflicting OwnerReference that acts as a manging controller')));
  });
});

describe('decide: set lifecycle, adoption and status', () => {
  it('only writes status while the set is being deleted', async () => {
    const c = await ready();
    c.set.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    c.editSpec((spec) => (spec.replicas = 5));
    const plan = c.plan();
    assert.deepEqual(actionsOf(plan, 'pods'), []);
    assert.deepEqual(summary(actionsOf(plan, 'status')), ['writeStatus web']);
  });

  it('re-adopts an orphaned pod instead of recreating it, and releases a pod whose labels changed', async () => {
    const c = await ready();
    c.pod(2).metadata.ownerReferences = [];
    let plan = c.plan();
    assert.deepEqual(summary(actionsOf(plan, 'claim')), ['verifyOwner web', 'adoptPod web-2']);
    assert.deepEqual(actionsOf(plan, 'pods'), []);
    await c.sync();
    assert.equal(c.pod(2).metadata.ownerReferences?.[0].uid, 'uid-set-web');
    c.pod(2).metadata.labels = {};
    plan = c.plan();
    assert.deepEqual(summary(actionsOf(plan, 'claim')), ['releasePod web-2']);
  });

  it('aborts the pass when adoption cannot be verified', async () => {
    const c = await ready();
    c.pod(2).metadata.ownerReferences = [];
    c.failNext({ purpose: 'verifyOwner' }, 'NotFound');
    const { errors } = await c.sync();
    assert.equal(errors.length, 1);
    assert.equal(c.performed.at(-1)?.purpose, 'verifyOwner');
  });

  it('reports an unusable selector and plans nothing', async () => {
    const set = newSet('web');
    set.spec.selector = { matchExpressions: [{ key: 'app', operator: 'Sometimes', values: ['x'] }] };
    const plan = decide({ set, pods: [], revisions: [], claims: [], now: 0 });
    assert.deepEqual(plan.steps, []);
    assert.equal(plan.error?.retry, false);
  });

  it('keeps the failed rolling-update deletion out of currentReplicas', async () => {
    const c = await ready();
    c.setImage('nginx:2');
    const plan = c.plan();
    assert.equal(plan.status?.currentReplicas, 2);
    const fallback = plan.statusIfPodsFail!.batches.flat(2)[0] as any;
    assert.equal(fallback.body.status.currentReplicas, 3);
  });

  it('promotes the update revision under OnDelete once every pod is updated and ready', async () => {
    const c = await ready({ updateStrategy: { type: 'OnDelete' } });
    const old = c.set.status.currentRevision;
    c.setImage('nginx:2');
    await c.sync();
    assert.equal(c.set.status.currentRevision, old);
    for (const i of [0, 1, 2]) c.removePod(i);
    await c.progress(seeded(3), () => {});
    assert.equal(c.set.status.currentRevision, c.set.status.updateRevision);
    assert.notEqual(c.set.status.currentRevision, old);
  });

  it('asks to be requeued while pods wait out minReadySeconds', async () => {
    const c = await ready({ replicas: 1 });
    c.editSpec((spec) => (spec.minReadySeconds = 20));
    c.setReady(0, 5_000);
    assert.equal(c.plan().requeueAfterSeconds, 20);
    c.setReady(0, 25_000);
    assert.equal(c.plan().requeueAfterSeconds, undefined);
  });

  it('is idempotent: the same observed state gives the same plan', async () => {
    const c = await ready();
    c.setImage('nginx:2');
    const a = c.plan();
    const b = decide({
      set: clone(c.set),
      pods: clone([...c.pods.values()]),
      revisions: clone([...c.revisions.values()]),
      claims: clone([...c.claims.values()]),
      now: c.now,
    });
    assert.deepEqual(a, b);
  });

  it('truncates history beyond revisionHistoryLimit, oldest first, keeping live ones', async () => {
    const c = await ready({ revisionHistoryLimit: 1 });
    const first = c.set.status.currentRevision;
    for (const image of ['nginx:2', 'nginx:3']) {
      c.setImage(image);
      await c.progress(seeded(5), () => {}, () => c.rolledOut());
    }
    await c.sync();
    assert.equal(c.revisions.size, 2);
    assert.ok(!c.revisions.has(first!));
    assert.ok(c.sortedPods().every((p) => ordinalOf(p) >= 0 && c.revisions.has(podRevision(p))));
  });
});
