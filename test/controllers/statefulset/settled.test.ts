// The controller's memo of settled replicas (SettledReplicas) must never change a decision:
// through creation, readiness, a lost claim, a retention-policy change, a rolling update and a
// scale-down, every pass planned with the memo over an informer-like view (objects replaced on
// change, never changed in place) equals the pass planned without it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/object.js';
import { clone } from '../../../src/api/object.js';
import { SettledReplicas } from '../../../src/controllers/statefulset/control.js';
import { decide } from '../../../src/controllers/statefulset/decide.js';
import { ordinalOf } from '../../../src/controllers/statefulset/identity.js';
import { FakeCluster, newSet, seeded } from './fake-cluster.js';

/** What an informer would hold: the same object while its content is unchanged, a new one after. */
class CacheView {
  private readonly seen = new Map<string, { json: string; obj: KubeObject }>();

  view(objects: Map<string, KubeObject>): Map<string, KubeObject> {
    const out = new Map<string, KubeObject>();
    for (const [name, obj] of objects) {
      const json = JSON.stringify(obj);
      let entry = this.seen.get(name);
      if (!entry || entry.json !== json) {
        entry = { json, obj: clone(obj) };
        this.seen.set(name, entry);
      }
      out.set(name, entry.obj);
    }
    for (const name of [...this.seen.keys()]) if (!objects.has(name)) this.seen.delete(name);
    return out;
  }
}

async function checkPasses(c: FakeCluster, passes: number, between: (i: number) => void): Promise<number> {
  const settled = new SettledReplicas();
  const pods = new CacheView();
  const claims = new CacheView();
  const rand = seeded(7);
  let compared = 0;
  for (let i = 0; i < passes; i++) {
    const podView = pods.view(c.pods);
    const claimView = claims.view(c.claims);
    // twice with the memo: the second pass answers settled replicas from it
    for (let k = 0; k < 2; k++) {
      const memo = decide({ set: c.set, pods: [...podView.values()], revisions: [...c.revisions.values()], claims: (n) => claimView.get(n), now: c.now, settled });
      assert.deepEqual(memo, c.plan(), `pass ${i}`);
      compared++;
    }
    await c.sync();
    c.finishDeletions();
    between(i);
    const all = c.sortedPods();
    if (!all.length) continue;
    const pod = all[Math.floor(rand() * all.length)]!;
    const phase = pod.status?.phase;
    if (phase === 'Pending') c.setPhase(ordinalOf(pod), 'Running');
    else if (phase === 'Running' && pod.status?.conditions?.[0]?.status !== 'True') c.setReady(ordinalOf(pod));
  }
  return compared;
}

describe('settled replicas memo', () => {
  for (const parallel of [false, true]) {
    it(`plans exactly as without it (${parallel ? 'Parallel' : 'OrderedReady'})`, async () => {
      const c = new FakeCluster(newSet('web', { replicas: 5, parallel, policy: 'Retain' }));
      const compared = await checkPasses(c, 120, (i) => {
        if (i === 30) c.claims.delete('datadir-web-1'); // a lost claim: a pending pod gets it back
        if (i === 40) c.setPhase(1, 'Pending');
        if (i === 50) c.editSpec((spec) => (spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Delete', whenScaled: 'Delete' }));
        if (i === 70) c.setImage('nginx:2');
        if (i === 95) c.editSpec((spec) => (spec.replicas = 3));
      });
      assert.equal(compared, 240);
      assert.equal(c.set.spec.replicas, 3);
    });
  }
});
