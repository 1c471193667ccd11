// Upstream's stateful_set_control_test.go scenarios (spec section 8), driven through decide()
// and an in-memory cluster that performs its plans.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone, type KubeObject } from '../../../src/api/object.js';
import {
  identityMatches,
  isRunningAndReady,
  ordinalOf,
  podRevision,
  startOrdinal,
  storageMatches,
} from '../../../src/controllers/statefulset/identity.js';
import { templateOf } from '../../../src/controllers/statefulset/revision.js';
import { actionsOf, FakeCluster, newSet, POLICIES, seeded, type Policy, type SetOptions } from './fake-cluster.js';

type Mode = 'monotonic' | 'burst';
const MODES: Mode[] = ['monotonic', 'burst'];

function cluster(mode: Mode, policy: Policy, o: SetOptions = {}, gates = {}): FakeCluster {
  return new FakeCluster(newSet('web', { parallel: mode === 'burst', policy, ...o }), gates);
}

/* ---------- invariants checked after every sync ---------- */

function claimInvariants(c: FakeCluster, pod: KubeObject): void {
  const set = c.set;
  const policy = set.spec.persistentVolumeClaimRetentionPolicy ?? { whenScaled: 'Retain', whenDeleted: 'Retain' };
  for (const t of set.spec.volumeClaimTemplates) {
    const name = `${t.metadata.name}-web-${ordinalOf(pod)}`;
    const claim = c.claims.get(name);
    if (!claim) {
      assert.notEqual(policy.whenScaled, 'Retain', `claim ${name} of ${pod.metadata.name} was not created`);
      continue;
    }
    if (!isRunningAndReady(pod)) continue;
    const refs = claim.metadata.ownerReferences ?? [];
    const hasSet = refs.some((r) => r.uid === set.metadata.uid);
    const hasPod = refs.some((r) => r.uid === pod.metadata.uid);
    const scaledDown = ordinalOf(pod) >= startOrdinal(set) + set.spec.replicas;
    const wantSet = policy.whenDeleted === 'Delete' && !(policy.whenScaled === 'Delete' && scaledDown);
    const wantPod = policy.whenScaled === 'Delete' && scaledDown;
    assert.equal(hasSet, wantSet, `${name}: set ref ${hasSet} under ${JSON.stringify(policy)}`);
    assert.equal(hasPod, wantPod, `${name}: pod ref ${hasPod} under ${JSON.stringify(policy)}`);
  }
}

function burstInvariants(c: FakeCluster): void {
  for (const pod of c.sortedPods()) {
    assert.ok(storageMatches(c.set, pod), `storage of ${pod.metadata.name}`);
    assert.ok(identityMatches(c.set, pod), `identity of ${pod.metadata.name}`);
    claimInvariants(c, pod);
  }
}

function monotonicInvariants(c: FakeCluster): void {
  const pods = c.sortedPods();
  pods.forEach((pod, idx) => {
    if (idx > 0) {
      assert.ok(!isRunningAndReady(pod) || isRunningAndReady(pods[idx - 1]), `${pod.metadata.name} ready before its predecessor`);
    }
    assert.equal(ordinalOf(pod) - startOrdinal(c.set), idx, `${pod.metadata.name} created out of order`);
  });
  burstInvariants(c);
}

function invariantsFor(mode: Mode, c: FakeCluster): () => void {
  return () => (mode === 'monotonic' ? monotonicInvariants(c) : burstInvariants(c));
}

/** The first currentReplicas pods are on currentRevision, the last updatedReplicas on updateRevision. */
function updateInvariants(c: FakeCluster): void {
  const pods = c.sortedPods();
  const s = c.set.status;
  if (c.set.spec.updateStrategy.type !== 'RollingUpdate') return;
  for (let i = 0; i < (s.currentReplicas ?? 0) && i < pods.length; i++) {
    assert.equal(podRevision(pods[i]), s.currentRevision, `${pods[i].metadata.name} should be current`);
  }
  for (let i = pods.length - 1, j = 0; j < (s.updatedReplicas ?? 0) && i >= 0; i--, j++) {
    assert.equal(podRevision(pods[i]), s.updateRevision, `${pods[i].metadata.name} should be updated`);
  }
}

function assertCounts(c: FakeCluster, n: number): void {
  const s = c.set.status;
  assert.equal(s.replicas, n, 'status.replicas');
  assert.equal(s.readyReplicas ?? 0, n, 'status.readyReplicas');
  assert.equal(s.updatedReplicas ?? 0, n, 'status.updatedReplicas');
}

function scaleTo(c: FakeCluster, n: number): void {
  c.editSpec((spec) => (spec.replicas = n));
}

function images(c: FakeCluster): string[] {
  return c.sortedPods().map((p) => p.spec.containers[0].image);
}

/* ---------- TestStatefulSetControl: every scenario × mode × retention policy ---------- */

describe('TestStatefulSetControl', () => {
  for (const mode of MODES) {
    for (const policy of POLICIES) {
      describe(`${mode}/${policy}`, () => {
        const rand = seeded(mode.length * 31 + policy.length);

        it('CreatePods', async () => {
          const c = cluster(mode, policy);
          await c.progress(rand, invariantsFor(mode, c));
          assertCounts(c, 3);
          for (const pod of c.sortedPods()) {
            assert.equal(pod.metadata.labels?.['apps.kubernetes.io/pod-index'], String(ordinalOf(pod)));
          }
        });

        it('ScalesUp', async () => {
          const c = cluster(mode, policy);
          await c.progress(rand, invariantsFor(mode, c));
          scaleTo(c, 4);
          await c.progress(rand, invariantsFor(mode, c));
          assertCounts(c, 4);
        });

        it('ScalesDown', async () => {
          const c = cluster(mode, policy);
          await c.progress(rand, invariantsFor(mode, c));
          scaleTo(c, 0);
          c.gracefulDeletes = true;
          await c.progress(rand, invariantsFor(mode, c), () => c.pods.size === 0 && c.set.status.replicas === 0);
          assertCounts(c, 0);
          const kept = policy === 'Retain' || policy === 'SetDeleteOnly' || policy === 'nullPolicy';
          assert.equal(c.claims.size, kept ? 3 : 0, 'claims left after scale-down');
        });

        it('ReplacesPods', async () => {
          const c = cluster(mode, policy, { replicas: 5 });
          await c.progress(rand, invariantsFor(mode, c));
          for (const claim of c.claims.values()) {
            assert.ok(!claim.metadata.ownerReferences?.some((r) => r.kind === 'Pod'), `${claim.metadata.name} has a pod ref`);
          }
          for (const i of [0, 2, 4]) c.removePod(i);
          for (const i of [0, 2, 4]) {
            await c.sync();
            c.setPhase(i, 'Running');
            await c.sync();
            c.setReady(i);
          }
          await c.sync();
          invariantsFor(mode, c)();
          assert.equal(c.set.status.replicas, 5);
        });

        for (const phase of ['Failed', 'Succeeded']) {
          for (const deleteFails of [false, true]) {
            it(`Recreates${phase}Pod${deleteFails ? 'WithDeleteFailure' : ''}`, async () => {
              const c = cluster(mode, policy);
              await c.sync();
              invariantsFor(mode, c)();
              const firstUid = c.pod(0).metadata.uid;
              c.setPhase(0, phase);
              const deletes = () => c.performed.filter((p) => p.verb === 'delete').length;
              let expected = 0;
              if (deleteFails) {
                c.failNext({ purpose: 'deleteFailedPod' });
                const { errors } = await c.sync();
                assert.equal(errors.length, 1);
                assert.equal(deletes(), ++expected);
                assert.ok(c.events.some((e) => e.reason === 'FailedDelete' && e.message.startsWith('delete Pod web-0 in StatefulSet web failed error: ')));
              }
              assert.deepEqual((await c.sync()).errors, []);
              assert.equal(deletes(), ++expected, 'the terminal pod is deleted');
              assert.equal(c.pods.has('web-0'), false);
              await c.sync();
              assert.equal(deletes(), expected, 'no further deletes');
              assert.notEqual(c.pod(0).metadata.uid, firstUid, 'recreated');
              const creates = c.performed.filter((p) => p.purpose === 'createPod').length;
              assert.equal(creates, mode === 'monotonic' ? 2 : 4);
              assert.ok(!c.events.some((e) => e.reason === 'RecreatingFailedPod'));
            });
          }
        }

        it('CreatePodFailure', async () => {
          const c = cluster(mode, policy);
          c.failNext({ purpose: 'createPod', name: 'web-2' });
          let failed: string[] = [];
          await c.progress(rand, invariantsFor(mode, c), () => {
            failed = failed.length ? failed : c.events.filter((e) => e.reason === 'FailedCreate').map((e) => e.message);
            return c.allReady();
          });
          assert.deepEqual(failed, ['create Pod web-2 in StatefulSet web failed error: injected InternalError']);
          assertCounts(c, 3);
        });

        it('UpdatePodFailure', async () => {
          const c = cluster(mode, policy);
          await c.progress(rand, invariantsFor(mode, c));
          assertCounts(c, 3);
          c.pod(0).metadata.labels!['statefulset.kubernetes.io/pod-name'] = 'goo-0';
          c.failNext({ purpose: 'updatePod' });
          assert.deepEqual((await c.sync()).errors, ['injected InternalError']);
          assert.ok(c.events.some((e) => e.message === 'update Pod web-0 in StatefulSet web failed error: injected InternalError'));
          await c.sync();
          assert.ok(identityMatches(c.set, c.pod(0)));
          assert.ok(c.events.some((e) => e.reason === 'SuccessfulUpdate' && e.message === 'update Pod web-0 in StatefulSet web successful'));
        });

        it('UpdateSetStatusFailure', async () => {
          const c = cluster(mode, policy);
          c.failNext({ purpose: 'writeStatus' });
          assert.deepEqual((await c.sync()).errors, ['injected InternalError']);
          await c.progress(rand, invariantsFor(mode, c));
          assertCounts(c, 3);
        });

        it('NewRevisionDeletePodFailure', async () => {
          const c = cluster(mode, policy);
          await c.progress(rand, invariantsFor(mode, c));
          c.setImage('nginx:new');
          c.failNext({ purpose: 'deleteOutdatedPod' });
          assert.equal((await c.sync()).errors.length, 1);
          assert.equal(c.set.status.currentReplicas, 3);
          assert.notEqual(c.set.status.updateRevision, c.set.status.currentRevision);
          const { plan } = await c.sync();
          assert.equal(plan.status?.currentReplicas, 2);
        });

        it('RecreatesPVCForPendingPod', async () => {
          const c = cluster(mode, policy);
          await c.sync();
          invariantsFor(mode, c)();
          c.claims.delete('datadir-web-0');
          c.setPhase(0, 'Pending');
          await c.sync();
          invariantsFor(mode, c)();
          assert.ok(c.claims.has('datadir-web-0'), 'claim recreated');
        });
      });
    }
  }
});

describe('TestStatefulSetControlWithStartOrdinal', () => {
  for (const mode of MODES) {
    it(`${mode}: CreatesPodsWithStartOrdinal`, async () => {
      const c = cluster(mode, 'Retain', { start: 2 });
      await c.progress(seeded(7), invariantsFor(mode, c));
      assert.deepEqual(c.sortedPods().map(ordinalOf), [2, 3, 4]);
      assertCounts(c, 3);
    });
  }

  it('moves the set when ordinals.start changes: new ordinals first, then the old ones go', async () => {
    const c = cluster('monotonic', 'Retain', { replicas: 2 });
    await c.progress(seeded(3), () => {});
    c.editSpec((spec) => {
      spec.replicas = 3;
      spec.ordinals = { start: 2 };
    });
    await c.progress(seeded(3), () => {}, () => c.allReady() && c.sortedPods().every((p) => ordinalOf(p) >= 2));
    assert.deepEqual(c.sortedPods().map((p) => p.metadata.name), ['web-2', 'web-3', 'web-4']);
  });
});

describe('TestStatefulSetControlScaleDownDeleteError', () => {
  for (const mode of MODES) {
    it(mode, async () => {
      const c = cluster(mode, 'Retain');
      await c.progress(seeded(11), invariantsFor(mode, c));
      scaleTo(c, 0);
      c.failNext({ purpose: 'deleteCondemnedPod' });
      assert.equal((await c.sync()).errors.length, 1);
      await c.progress(seeded(11), invariantsFor(mode, c), () => c.pods.size === 0 && c.set.status.replicas === 0);
      assertCounts(c, 0);
    });
  }
});

/* ---------- rolling updates ---------- */

interface UpdateCase {
  name: string;
  replicas: number;
  after?: number;
}

const UPDATE_CASES: UpdateCase[] = [
  { name: 'image update', replicas: 3 },
  { name: 'image update and scale up', replicas: 3, after: 5 },
  { name: 'image update and scale down', replicas: 5, after: 3 },
];

function modeName(mode: Mode): string {
  return mode === 'monotonic' ? 'monotonic' : 'burst';
}

describe('TestStatefulSetControlRollingUpdate', () => {
  for (const mode of MODES) {
    for (const tc of UPDATE_CASES) {
      it(`${modeName(mode)} ${tc.name}`, async () => {
        const c = cluster(mode, 'Retain', { replicas: tc.replicas });
        const rand = seeded(5);
        await c.progress(rand, invariantsFor(mode, c));
        c.editSpec((spec) => {
          spec.template.spec.containers[0].image = 'nginx:2';
          if (tc.after !== undefined) spec.replicas = tc.after;
        });
        await c.progress(rand, () => updateInvariants(c), () => c.rolledOut());
        assert.deepEqual(images(c), new Array(tc.after ?? tc.replicas).fill('nginx:2'));
        assert.equal(c.set.status.currentRevision, c.set.status.updateRevision);
      });
    }
  }

  it('replaces one pod per pass, highest ordinal first, waiting for each replacement', async () => {
    const c = cluster('monotonic', 'Retain');
    await c.progress(seeded(1), () => {});
    c.setImage('nginx:2');
    const deleted: string[] = [];
    for (let i = 0; i < 30 && images(c).some((image) => image !== 'nginx:2'); i++) {
      const { plan } = await c.sync();
      const deletes = actionsOf(plan, 'pods').filter((a) => a.purpose === 'deleteOutdatedPod');
      assert.ok(deletes.length <= 1);
      deleted.push(...deletes.map((a) => ('name' in a ? a.name : '')));
      for (const pod of c.sortedPods()) if (!isRunningAndReady(pod)) c.setReady(ordinalOf(pod));
    }
    assert.deepEqual(deleted, ['web-2', 'web-1', 'web-0']);
  });
});

describe('TestStatefulSetControlOnDeleteUpdate', () => {
  for (const mode of MODES) {
    for (const tc of UPDATE_CASES) {
      it(`${modeName(mode)} ${tc.name}`, async () => {
        const c = cluster(mode, 'ScaleDownOnly', { replicas: tc.replicas, updateStrategy: { type: 'OnDelete' } });
        const rand = seeded(9);
        await c.progress(rand, invariantsFor(mode, c));
        c.editSpec((spec) => {
          spec.template.spec.containers[0].image = 'nginx:2';
          if (tc.after !== undefined) spec.replicas = tc.after;
        });
        await c.progress(rand, invariantsFor(mode, c));
        const expected = c.sortedPods().map((p) => (ordinalOf(p) < tc.replicas ? 'nginx:1' : 'nginx:2'));
        assert.deepEqual(images(c), expected, 'existing pods keep their template until deleted');
        scaleTo(c, 0);
        await c.progress(rand, invariantsFor(mode, c), () => c.pods.size === 0);
        for (const claim of c.claims.values()) {
          assert.ok(!claim.metadata.ownerReferences?.some((r) => r.kind === 'Pod'), 'no claim keeps a ref to a deleted pod');
        }
        scaleTo(c, tc.after ?? tc.replicas);
        await c.progress(rand, invariantsFor(mode, c));
        assert.ok(images(c).every((i) => i === 'nginx:2'));
        assert.equal(c.set.status.currentRevision, c.set.status.updateRevision, 'OnDelete promotes the revision once all pods are updated');
      });
    }
  }
});

describe('TestStatefulSetControlRollingUpdateWithPartition', () => {
  for (const mode of MODES) {
    for (const tc of UPDATE_CASES.slice(0, 2)) {
      it(`${modeName(mode)} ${tc.name}`, async () => {
        const c = cluster(mode, 'Retain', {
          replicas: tc.replicas,
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } },
        });
        const rand = seeded(13);
        await c.progress(rand, invariantsFor(mode, c));
        c.editSpec((spec) => {
          spec.template.spec.containers[0].image = 'nginx:2';
          if (tc.after !== undefined) spec.replicas = tc.after;
        });
        const want = (n: number) => Array.from({ length: n }, (_, i) => (i < 2 ? 'nginx:1' : 'nginx:2'));
        const n = tc.after ?? tc.replicas;
        await c.progress(rand, () => updateInvariants(c), () => c.allReady() && images(c).join() === want(n).join());
        for (let i = 0; i < 5; i++) await c.sync();
        assert.deepEqual(images(c), want(n));
      });
    }
  }

  it('counts the partition from ordinals.start (slot index, not ordinal)', async () => {
    const c = cluster('monotonic', 'Retain', { start: 5, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    await c.progress(seeded(2), () => {});
    c.setImage('nginx:2');
    await c.progress(seeded(2), () => {}, () => c.allReady() && images(c)[2] === 'nginx:2');
    for (let i = 0; i < 5; i++) await c.sync();
    assert.deepEqual(images(c), ['nginx:1', 'nginx:1', 'nginx:2']);
    assert.equal(c.pod(5).spec.containers[0].image, 'nginx:1');
  });

  it('recreates a deleted pod below the partition at the current revision', async () => {
    const c = cluster('monotonic', 'Retain', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    await c.progress(seeded(4), () => {});
    c.setImage('nginx:2');
    await c.progress(seeded(4), () => {}, () => c.allReady() && images(c)[2] === 'nginx:2');
    c.removePod(0);
    await c.progress(seeded(4), () => {});
    assert.deepEqual(images(c), ['nginx:1', 'nginx:1', 'nginx:2']);
    assert.equal(podRevision(c.pod(0)), c.set.status.currentRevision);
  });
});

describe('TestStatefulSetControlRollback', () => {
  for (const mode of MODES) {
    for (const tc of UPDATE_CASES) {
      it(`${modeName(mode)} ${tc.name}`, async () => {
        const c = cluster(mode, 'Retain', { replicas: tc.replicas });
        const rand = seeded(17);
        await c.progress(rand, invariantsFor(mode, c));
        c.editSpec((spec) => {
          spec.template.spec.containers[0].image = 'nginx:2';
          if (tc.after !== undefined) spec.replicas = tc.after;
        });
        await c.progress(rand, () => updateInvariants(c), () => c.rolledOut());
        const oldest = [...c.revisions.values()].sort((a, b) => a.revision - b.revision)[0];
        const before = c.revisions.size;
        c.editSpec((spec) => (spec.template = templateOf(oldest)));
        await c.progress(rand, () => updateInvariants(c), () => c.rolledOut());
        assert.ok(images(c).every((i) => i === 'nginx:1'));
        assert.equal(c.revisions.size, before, 'the old revision is reused');
        assert.equal(c.set.status.updateRevision, oldest.metadata.name);
        assert.equal(c.revisions.get(oldest.metadata.name!)?.revision, 3);
      });
    }
  }

  it('reverting the template is a rollback: update revision takes the old name, current stays until done', async () => {
    const c = cluster('monotonic', 'Retain');
    await c.progress(seeded(1), () => {});
    const original = c.set.status.updateRevision;
    c.setImage('nginx:2');
    await c.progress(seeded(1), () => {}, () => c.rolledOut());
    const second = c.set.status.updateRevision;
    c.setImage('nginx:1');
    await c.sync();
    assert.equal(c.set.status.updateRevision, original);
    assert.equal(c.set.status.currentRevision, second);
  });
});

/* ---------- maxUnavailable (gate on) ---------- */

const GATE_ON = { maxUnavailableStatefulSet: true };

async function deletedBy(c: FakeCluster, f: () => Promise<unknown>): Promise<string[]> {
  const before = c.performed.length;
  await f();
  return c.performed
    .slice(before)
    .filter((p) => p.purpose === 'deleteOutdatedPod')
    .map((p) => p.name ?? '');
}

describe('TestStatefulSetControlRollingUpdateWithMaxUnavailable', () => {
  for (const mode of MODES) {
    it(`${mode}: partition 3, maxUnavailable 2`, async () => {
      const c = cluster(mode, 'Retain', { replicas: 6, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 3, maxUnavailable: 2 } } }, GATE_ON);
      await c.progress(seeded(21), () => {});
      c.setImage('nginx:2');
      assert.deepEqual(await deletedBy(c, () => c.sync()), ['web-5', 'web-4']);
      const { plan } = await c.sync();
      const created = actionsOf(plan, 'pods').filter((a) => a.purpose === 'createPod').map((a) => ('name' in a ? a.name : ''));
      assert.deepEqual(created, mode === 'monotonic' ? ['web-4'] : ['web-4', 'web-5']);
      await c.progress(seeded(21), () => {}, () => c.allReady() && images(c)[3] === 'nginx:2');
      for (let i = 0; i < 5; i++) await c.sync();
      assert.deepEqual(images(c), ['nginx:1', 'nginx:1', 'nginx:1', 'nginx:2', 'nginx:2', 'nginx:2']);
    });
  }

  it('with the gate off, maxUnavailable is ignored and pods are replaced one at a time', async () => {
    const c = cluster('monotonic', 'Retain', { replicas: 6, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 3, maxUnavailable: 2 } } }, { maxUnavailableStatefulSet: false });
    await c.progress(seeded(21), () => {});
    c.setImage('nginx:2');
    assert.deepEqual(await deletedBy(c, () => c.sync()), ['web-5']);
  });
});

describe('TestStatefulSetControlRollingUpdateWithMaxUnavailableInOrderedModeVerifyInvariant', () => {
  for (const terminating of [[], [5], [4, 5], [0], [0, 1], [0, 5]]) {
    it(`with pods ${JSON.stringify(terminating)} terminating`, async () => {
      const c = cluster('monotonic', 'Retain', { replicas: 6, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 3, maxUnavailable: 2 } } }, GATE_ON);
      await c.progress(seeded(23), () => {});
      c.setImage('nginx:2');
      for (const i of terminating) c.pod(i).metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
      // Monotonic mode waits on a terminating replica before it gets to the update at all.
      const { plan } = await c.sync();
      const deletes = actionsOf(plan, 'pods').filter((a) => a.purpose === 'deleteOutdatedPod');
      const blocked = terminating.length > 0;
      assert.equal(deletes.length, blocked ? 0 : 2);
    });
  }

  for (const terminating of [[5], [4, 5], [0], [0, 1]]) {
    it(`burst: ${JSON.stringify(terminating)} terminating leave max(0, 2 − k) deletions`, async () => {
      const c = cluster('burst', 'Retain', { replicas: 6, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 3, maxUnavailable: 2 } } }, GATE_ON);
      await c.progress(seeded(23), () => {});
      c.setImage('nginx:2');
      for (const i of terminating) c.pod(i).metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
      const deletes = actionsOf(c.plan(), 'pods').filter((a) => a.purpose === 'deleteOutdatedPod');
      assert.equal(deletes.length, Math.max(0, 2 - terminating.length));
    });
  }
});

describe('TestStatefulSetControlRollingUpdateWithMaxUnavailableAndUnavailableStalePod', () => {
  interface Case {
    name: string;
    parallel: boolean;
    replicas: number;
    partition?: number;
    maxUnavailable?: number;
    prepare: (c: FakeCluster) => void;
    deleted: string[];
  }
  const cases: Case[] = [
    { name: 'Parallel/single replica: unavailable pod on old revision must be updated', parallel: true, replicas: 1, prepare: (c) => c.setNotReady(0), deleted: ['web-0'] },
    { name: 'OrderedReady/single replica: unavailable pod on old revision blocks update', parallel: false, replicas: 1, prepare: (c) => c.setNotReady(0), deleted: [] },
    {
      name: 'Parallel/3 replicas, highest-ordinal pod terminating on old revision: budget consumed, next pod must NOT be deleted',
      parallel: true,
      replicas: 3,
      prepare: (c) => (c.pod(2).metadata.deletionTimestamp = '2026-01-01T00:00:00Z'),
      deleted: [],
    },
    {
      name: 'Parallel/3 replicas, highest-ordinal pod ready but within minReadySeconds on old revision: pod gets deleted',
      parallel: true,
      replicas: 3,
      prepare: (c) => {
        c.editSpec((spec) => (spec.minReadySeconds = 30));
        for (const i of [0, 1]) c.setReady(i, 60_000);
        c.setReady(2, 10_000);
      },
      deleted: ['web-2'],
    },
    { name: 'Parallel/5 replicas partition=2: unavailable pod below partition (#1) consumes budget, no update', parallel: true, replicas: 5, partition: 2, prepare: (c) => c.setNotReady(1), deleted: [] },
    {
      name: 'Parallel/5 replicas partition=3 maxUnavailable=2: both update-range pods unavailable, both get deleted',
      parallel: true,
      replicas: 5,
      partition: 3,
      maxUnavailable: 2,
      prepare: (c) => {
        c.setNotReady(3);
        c.setNotReady(4);
      },
      deleted: ['web-4', 'web-3'],
    },
    {
      name: 'OrderedReady/5 replicas partition=3 maxUnavailable=2: unavailable update-range pods block',
      parallel: false,
      replicas: 5,
      partition: 3,
      maxUnavailable: 2,
      prepare: (c) => {
        c.setNotReady(3);
        c.setNotReady(4);
      },
      deleted: [],
    },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      const rollingUpdate: any = { partition: tc.partition ?? 0 };
      if (tc.maxUnavailable) rollingUpdate.maxUnavailable = tc.maxUnavailable;
      const c = cluster(tc.parallel ? 'burst' : 'monotonic', 'Retain', { replicas: tc.replicas, updateStrategy: { type: 'RollingUpdate', rollingUpdate } }, GATE_ON);
      await c.progress(seeded(29), () => {});
      c.setImage('nginx:2');
      tc.prepare(c);
      const deletes = actionsOf(c.plan(), 'pods')
        .filter((a) => a.purpose === 'deleteOutdatedPod')
        .map((a) => ('name' in a ? a.name : ''));
      assert.deepEqual(deletes, tc.deleted);
    });
  }
});

/* ---------- history ---------- */

describe('TestStatefulSetControlLimitsHistory', () => {
  const cases: Array<[string, Mode, number]> = [
    ['monotonic update', 'monotonic', 2],
    ['burst update', 'burst', 2],
    ['zero revisionHistoryLimit', 'monotonic', 0],
    ['positive revisionHistoryLimit', 'monotonic', 5],
    ['negative revisionHistoryLimit', 'monotonic', -1],
  ];
  for (const [name, mode, limit] of cases) {
    it(name, async () => {
      const c = cluster(mode, 'Retain', { revisionHistoryLimit: limit });
      const rand = seeded(31);
      await c.progress(rand, invariantsFor(mode, c));
      for (let i = 0; i < 10; i++) {
        c.setImage(`nginx:v${i}`);
        await c.progress(rand, () => {}, () => c.rolledOut());
        await c.sync();
        if (limit >= 0) assert.ok(c.revisions.size <= limit + 2, `${c.revisions.size} revisions with limit ${limit}`);
      }
      if (limit < 0) assert.equal(c.revisions.size, 11, 'negative limit keeps everything');
    });
  }
});

describe('TestStatefulSetHonorRevisionHistoryLimit', () => {
  for (const policy of POLICIES) {
    it(`${policy}: never more than limit + 2 revisions across 15 roll-outs with failing status writes`, async () => {
      const c = cluster('monotonic', policy);
      const rand = seeded(37);
      await c.progress(rand, () => monotonicInvariants(c));
      for (let i = 0; i < 15; i++) {
        c.setImage(`nginx:${i}`);
        c.failNext({ purpose: 'writeStatus' });
        await c.progress(rand, () => updateInvariants(c), () => c.rolledOut());
        assert.ok(c.revisions.size <= 12, `${c.revisions.size} revisions`);
      }
    });
  }
});

/* ---------- availability and minReadySeconds ---------- */

/** All pods Ready for 10 s under minReadySeconds 30: none of them is available yet. */
async function readyFor10s(o: SetOptions): Promise<FakeCluster> {
  const c = cluster('monotonic', 'Retain', o);
  await c.progress(seeded(41), () => {});
  c.editSpec((spec) => (spec.minReadySeconds = 30));
  for (const pod of c.sortedPods()) c.setReady(ordinalOf(pod), 10_000);
  return c;
}

describe('minReadySeconds', () => {
  it('TestStatefulSetAvailability: counts pods ready long enough as available', async () => {
    for (const [readyMinutes, available] of [
      [120, 1],
      [30, 0],
    ]) {
      const c = cluster('monotonic', 'Retain', { replicas: 1, minReadySeconds: 3600 });
      await c.sync();
      c.setReady(0, readyMinutes * 60_000);
      const { plan } = await c.sync();
      assert.equal(plan.status?.availableReplicas, available);
      assert.equal(plan.requeueAfterSeconds, available ? undefined : 3600);
    }
  });

  it('TestStatefulSetRollingUpdateRespectsMinReadySeconds', async () => {
    const c = await readyFor10s({ replicas: 2 });
    c.setImage('nginx:2');
    const { plan } = await c.sync();
    assert.equal(plan.status?.availableReplicas, 0);
    assert.deepEqual(actionsOf(plan, 'pods').filter((a) => a.verb === 'delete'), []);
    c.now += 60_000;
    const next = (await c.sync()).plan;
    assert.equal(next.status?.availableReplicas, 2);
    assert.equal(actionsOf(next, 'pods').filter((a) => a.purpose === 'deleteOutdatedPod').length, 1);
  });

  it('TestStatefulSetScaleDownRespectsMinReadySeconds', async () => {
    const c = await readyFor10s({ replicas: 3 });
    scaleTo(c, 1);
    for (let i = 0; i < 3; i++) await c.sync();
    assert.equal(c.pods.size, 3);
  });

  it('TestStatefulSetOnDeleteStrategyIgnoresMinReadySeconds', async () => {
    const c = await readyFor10s({ replicas: 2, updateStrategy: { type: 'OnDelete' } });
    c.setImage('nginx:2');
    const { plan } = await c.sync();
    assert.equal(plan.status?.availableReplicas, 0);
    assert.ok(plan.status?.updateRevision);
    assert.notEqual(plan.status?.updateRevision, plan.status?.currentRevision);
    assert.deepEqual(actionsOf(plan, 'pods').filter((a) => a.verb === 'delete'), []);
  });

  it('TestStatefulSetZeroMinReadySeconds', async () => {
    const c = cluster('monotonic', 'Retain', { replicas: 2 });
    await c.progress(seeded(53), () => {});
    assert.equal(c.set.status.availableReplicas, 2);
  });

  it('TestStatefulSetPartitionRollingUpdateWithMinReadySeconds', async () => {
    const c = await readyFor10s({ replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    c.setImage('nginx:2');
    assert.deepEqual(actionsOf((await c.sync()).plan, 'pods').filter((a) => a.verb === 'delete'), []);
  });
});

/* ---------- status writes ---------- */

describe('TestStatefulSetStatusUpdate', () => {
  const cases: Array<[string, boolean, boolean]> = [
    ['no error', false, false],
    ['sync error', true, false],
    ['status error', false, true],
    ['sync and status error', true, true],
  ];
  for (const [name, syncFails, statusFails] of cases) {
    it(name, async () => {
      const c = cluster('monotonic', 'Retain');
      if (syncFails) c.failNext({ purpose: 'createPod' });
      if (statusFails) c.failNext({ purpose: 'writeStatus' });
      const { errors } = await c.sync();
      assert.equal(c.performed.filter((p) => p.purpose === 'writeStatus').length, 1, 'status written exactly once');
      assert.equal(errors.length, Number(syncFails) + Number(statusFails));
    });
  }

  it('writes nothing when nothing changed, so conditions set by others survive', async () => {
    const c = cluster('monotonic', 'Retain');
    await c.progress(seeded(61), () => {});
    const blocked = c.set.status.conditions.find((x: any) => x.type === 'Blocked');
    c.set.status.conditions = [{ type: 'StatusUpdate', status: 'True' }, blocked];
    const writes = c.statusWrites;
    await c.sync();
    assert.equal(c.statusWrites, writes);
    assert.deepEqual(c.set.status.conditions, [{ type: 'StatusUpdate', status: 'True' }, blocked]);
  });

  it('writes the whole status with omitempty counters and collisionCount', async () => {
    const c = cluster('monotonic', 'Retain', { replicas: 1 });
    const { plan } = await c.sync();
    const write = actionsOf(plan, 'status')[0] as any;
    assert.deepEqual(Object.keys(write.body.status).sort(), ['availableReplicas', 'collisionCount', 'conditions', 'currentRevision', 'observedGeneration', 'replicas', 'updateRevision']);
    assert.equal(write.body.status.collisionCount, 0);
    // petset's Blocked condition: the pass creates web-0, which is progress, not a block
    assert.deepEqual(write.body.status.conditions.map((x: any) => [x.type, x.status, x.reason, x.message]), [['Blocked', 'False', 'CreatingPod', 'web-0 is being created']]);
  });
});

/* ---------- burst scaling ---------- */

describe('TestParallelScale', () => {
  const cases: Array<[string, number, number, number]> = [
    ['scale up from 3 to 30', 3, 30, 10],
    ['scale down from 10 to 1', 10, 1, 2],
    ['scale down to 0', 501, 0, 10],
    ['scale up from 0', 0, 1000, 20],
  ];
  for (const [name, from, to, concurrency] of cases) {
    it(name, async () => {
      const c = cluster('burst', 'Retain', { replicas: from });
      for (let i = 0; i < 3 && !c.allReady(); i++) {
        await c.sync();
        for (const pod of c.sortedPods()) c.setReady(ordinalOf(pod));
      }
      await c.sync();
      scaleTo(c, to);
      let widest = 0;
      for (let i = 0; i < 2; i++) {
        const { plan } = await c.sync();
        for (const batch of plan.steps.find((s) => s.name === 'pods')!.batches) widest = Math.max(widest, batch.length);
        assert.ok(plan.steps.find((s) => s.name === 'pods')!.batches.every((b) => b.length <= 500));
        for (const pod of c.sortedPods()) c.setReady(ordinalOf(pod));
      }
      assert.equal(c.pods.size, to, 'done within two passes');
      assert.ok(widest >= concurrency, `widest batch ${widest}`);
    });
  }
});

/* ---------- compatibility with objects written by upstream ---------- */

describe('TestStatefulSetCompatibility', () => {
  it('a set, its pod and revision test-c77f6d978 as v1.33 wrote them cause no writes', async () => {
    const template: any = {
      metadata: { labels: { app: 'foo' }, annotations: { test: 'value' } },
      spec: { containers: [{ name: 'test', image: 'test' }] },
    };
    const set = newSet('test');
    set.spec.replicas = 1;
    set.spec.selector = { matchLabels: { app: 'foo' } };
    set.spec.volumeClaimTemplates = [];
    set.spec.template = template;
    // The defaults the API server applied (what the revision was computed from).
    Object.assign(template.spec, {
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: {},
      terminationGracePeriodSeconds: 30,
    });
    Object.assign(template.spec.containers[0], {
      imagePullPolicy: 'Always',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      resources: {},
    });
    const c = new FakeCluster(set);
    await c.sync();
    assert.equal(c.set.status.updateRevision, 'test-c77f6d978');
    c.setReady(0, 60_000);
    await c.sync();
    const before = c.performed.length;
    const again = new FakeCluster(clone(c.set));
    for (const [k, v] of c.pods) again.pods.set(k, v);
    for (const [k, v] of c.revisions) again.revisions.set(k, v);
    await again.sync();
    assert.equal(c.performed.length, before);
    assert.deepEqual(again.performed, []);
  });
});
