// The "why" texts: the StatefulSet decision's stop put into words, on plain objects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/object.js';
import { whyStatefulSet } from '../../../src/controllers/statefulset/decide.js';
import type { Why } from '../../../src/controllers/statefulset/why.js';
import { FakeCluster, newSet, type SetOptions } from './fake-cluster.js';

const readyNode = (name: string): KubeObject => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
const lostNode = (name: string): KubeObject => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } });

function why(c: FakeCluster, nodes: KubeObject[] = [readyNode('node-1')], events: KubeObject[] = []): Why {
  return whyStatefulSet({ set: c.set, pods: [...c.pods.values()], revisions: [...c.revisions.values()], claims: [...c.claims.values()], now: c.now, nodes, events });
}

/** A set whose first `ready` pods were created and made Ready, one pass at a time. */
async function cluster(ready: number, o: SetOptions = {}): Promise<FakeCluster> {
  const c = new FakeCluster(newSet('web', o));
  for (let i = 0; i < ready; i++) {
    await c.sync();
    c.setReady(i);
    c.pod(i).spec.nodeName = 'node-1';
  }
  await c.sync();
  return c;
}

describe('why: OrderedReady creation', () => {
  it('names the pod it waits for and the probe failure from its Unhealthy event', async () => {
    const c = await cluster(1);
    c.pod(1).spec.nodeName = 'node-1';
    c.setNotReady(1);
    const events = [
      { metadata: { name: 'e1', creationTimestamp: '2026-01-01T00:00:01Z' }, involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default' }, reason: 'Unhealthy', message: 'Readiness probe failed: HTTP probe failed with statuscode: 503', lastTimestamp: '2026-01-01T00:00:01Z' },
    ];
    const w = why(c, [readyNode('node-1')], events);
    assert.deepEqual(w, { blocked: true, ordinal: 1, reason: 'OrderedReadyWaiting', text: 'web-2 is not created: OrderedReady waits for web-1, which is not Ready (readiness probe failed: HTTP probe failed with statuscode: 503)' });
  });

  it('names a waiting container reason such as ImagePullBackOff', async () => {
    const c = await cluster(1);
    const pod = c.pod(1);
    pod.spec.nodeName = 'node-1';
    pod.status = { phase: 'Pending', containerStatuses: [{ name: 'nginx', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nginx:nope"' } } }] };
    assert.equal(why(c).text, 'web-2 is not created: OrderedReady waits for web-1, which is Pending on node-1 (ImagePullBackOff: Back-off pulling image "nginx:nope")');
  });

  it('names an unschedulable pod with the scheduler\'s message', async () => {
    const c = await cluster(0, { replicas: 2 });
    c.pod(0).status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] };
    assert.equal(why(c).text, 'web-1 is not created: OrderedReady waits for web-0, which is Pending, unschedulable (0/1 nodes are available: 1 Insufficient cpu.)');
  });

  it('lists several missing pods', async () => {
    const c = await cluster(0, { replicas: 4 });
    assert.equal(why(c).text, 'web-1, web-2, web-3 are not created: OrderedReady waits for web-0, which is Pending, not yet scheduled');
  });

  it('a pod just being created is progress, not a block', async () => {
    const c = await cluster(1);
    c.removePod(1);
    const w = why(c);
    assert.equal(w.blocked, false);
    assert.equal(w.text, 'web-1 is being created; web-2 follows once it is Ready');
  });

  it('a Terminating pod on a NotReady node can only go when the node returns or it is force-deleted', async () => {
    const c = await cluster(3);
    c.pod(1).spec.nodeName = 'node-2';
    c.pod(1).metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    assert.deepEqual(why(c, [readyNode('node-1'), lostNode('node-2')]), {
      blocked: true,
      ordinal: 1,
      reason: 'PodTerminatingOnLostNode',
      text:
        'web-1 is Terminating on node-2, which is NotReady: the pod can only go when the node returns or it is force-deleted ' +
        '(kubectl delete pod web-1 -n default --grace-period=0 --force); OrderedReady waits for it before going on',
    });
  });

  it('says nothing blocks once every pod is Ready', async () => {
    const c = await cluster(3);
    const w = why(c);
    assert.equal(w.blocked, false);
    assert.match(w.text, /^nothing blocks web: 3\/3 Ready, 3\/3 at the update revision web-/);
  });
});

describe('why: rolling updates and scale-down', () => {
  it('an old-revision pod that is not Ready halts the rollout (upstream issue 67250)', async () => {
    const c = await cluster(3);
    const old = c.pod(2).metadata.labels!['controller-revision-hash'];
    c.setImage('nginx:2');
    c.setNotReady(2);
    c.pod(2).spec.nodeName = 'node-1';
    const w = why(c);
    assert.equal(w.blocked, true);
    assert.equal(w.ordinal, 2);
    assert.equal(w.reason, 'RolloutHalted');
    assert.equal(w.text, `rollout halted: web-2 runs revision ${old} and is not Ready; under OrderedReady the controller will not replace it until it is Ready or deleted (see upstream issue 67250)`);
  });

  it('in Parallel mode the rollout waits for an updated pod that is not Ready', async () => {
    const c = new FakeCluster(newSet('web', { parallel: true }));
    await c.sync();
    for (let i = 0; i < 3; i++) c.setReady(i);
    await c.sync();
    c.setImage('nginx:2');
    await c.sync(); // web-2 is replaced
    c.finishDeletions();
    await c.sync(); // and created at the new revision
    c.setNotReady(2);
    assert.equal(why(c).text, 'rollout waits for web-2, which is not Ready; the next pod is replaced once it is Ready');
  });

  it('scale-down waits for a Terminating pod', async () => {
    const c = await cluster(3);
    c.gracefulDeletes = true;
    c.editSpec((s) => (s.replicas = 1));
    await c.sync();
    const w = why(c);
    assert.equal(w.text, 'scale-down waits: web-2 is Terminating on node-1');
  });
});

describe('why: the Blocked condition on the StatefulSet', () => {
  const blockedOf = (c: FakeCluster) => c.set.status.conditions?.find((x: any) => x.type === 'Blocked');

  it('carries the why text of a failing probe, written once, its transition time kept while it stays blocked', async () => {
    const c = await cluster(1);
    c.nodes = [readyNode('node-1')];
    c.pod(1).spec.nodeName = 'node-1';
    c.setNotReady(1);
    c.unhealthyEvents = [
      { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default' }, reason: 'Unhealthy', message: 'Readiness probe failed: HTTP probe failed with statuscode: 503', lastTimestamp: '2026-01-01T00:00:01Z' },
    ];
    await c.sync();
    const cond = blockedOf(c);
    assert.deepEqual(
      { ...cond, lastTransitionTime: undefined },
      {
        type: 'Blocked',
        status: 'True',
        reason: 'OrderedReadyWaiting',
        message: 'web-2 is not created: OrderedReady waits for web-1, which is not Ready (readiness probe failed: HTTP probe failed with statuscode: 503)',
        lastTransitionTime: undefined,
      },
    );
    assert.equal(cond.message, why(c, c.nodes, c.unhealthyEvents).text, 'petset why and the condition say the same');
    // the same state again and again: no write, no event (no storm)
    const writes = c.statusWrites;
    const events = c.events.length;
    c.now += 60_000;
    for (let i = 0; i < 5; i++) await c.sync();
    assert.equal(c.statusWrites, writes);
    assert.equal(c.events.length, events);
    // a new probe message is a new text: one write, and the time of the transition to True stays
    c.unhealthyEvents = [{ ...c.unhealthyEvents[0], message: 'Readiness probe failed: HTTP probe failed with statuscode: 500', lastTimestamp: '2026-01-01T00:01:01Z' }];
    await c.sync();
    assert.equal(c.statusWrites, writes + 1);
    assert.match(blockedOf(c).message, /statuscode: 500\)$/);
    assert.equal(blockedOf(c).lastTransitionTime, cond.lastTransitionTime);
    // Ready again: the condition turns False with a new transition time
    c.setReady(1);
    await c.sync();
    assert.equal(blockedOf(c).status, 'False');
    assert.notEqual(blockedOf(c).lastTransitionTime, cond.lastTransitionTime);
  });

  it('a halted rollout (upstream issue 67250) is the condition and one Warning event, not one per pass', async () => {
    const c = await cluster(3);
    c.nodes = [readyNode('node-1')];
    const old = c.pod(2).metadata.labels!['controller-revision-hash'];
    c.setImage('nginx:2');
    c.setNotReady(2);
    for (let i = 0; i < 4; i++) await c.sync();
    const text = `rollout halted: web-2 runs revision ${old} and is not Ready; under OrderedReady the controller will not replace it until it is Ready or deleted (see upstream issue 67250)`;
    assert.deepEqual([blockedOf(c).status, blockedOf(c).reason, blockedOf(c).message], ['True', 'RolloutHalted', text]);
    assert.deepEqual(c.events.filter((e) => e.reason === 'RolloutHalted'), [{ type: 'Warning', reason: 'RolloutHalted', message: text }]);
  });

  it('a pod Terminating on a NotReady node is the condition and one Warning event with the force-delete command', async () => {
    const c = await cluster(3);
    c.nodes = [readyNode('node-1'), lostNode('node-2')];
    c.pod(1).spec.nodeName = 'node-2';
    c.pod(1).metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    for (let i = 0; i < 3; i++) await c.sync();
    const text =
      'web-1 is Terminating on node-2, which is NotReady: the pod can only go when the node returns or it is force-deleted ' +
      '(kubectl delete pod web-1 -n default --grace-period=0 --force); OrderedReady waits for it before going on';
    assert.deepEqual([blockedOf(c).status, blockedOf(c).reason, blockedOf(c).message], ['True', 'PodTerminatingOnLostNode', text]);
    assert.deepEqual(c.events.filter((e) => e.type === 'Warning'), [{ type: 'Warning', reason: 'PodTerminatingOnLostNode', message: text }]);
  });
});
