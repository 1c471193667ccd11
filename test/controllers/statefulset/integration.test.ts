// StatefulSets end to end in one process: the real API server, the controller manager
// (namespace, garbage collector, StatefulSet, plus PVC protection so deleted claims can go).
// Nothing schedules or runs pods here, so the tests play the kubelet: they report pods
// Running and Ready through pods/status, bind pods where scheduling matters, and confirm
// graceful deletions of scheduled pods with a grace-0 DELETE.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isApiError } from '../../../src/api/errors.js';
import type { KubeObject } from '../../../src/api/object.js';
import { timestamp } from '../../../src/api/object.js';
import type { Client, Watch } from '../../../src/client/client.js';
import { defaultControllers, startControllers, type RunningControllers } from '../../../src/controllers/manager.js';
import { ProtectionController } from '../../../src/controllers/volume/index.js';
import { startTestServer, waitFor, type TestServer } from '../../support/server.js';

let server: TestServer;
let client: Client;
let controllers: RunningControllers;
const cleanups: (() => void)[] = [];

before(async () => {
  server = await startTestServer();
  client = server.client;
  controllers = await startControllers(client, [...defaultControllers(), new ProtectionController()]);
});

after(async () => {
  for (const c of cleanups.splice(0)) c();
  await controllers.stop();
  await server.stop();
});

/* ---------- fixtures ---------- */

const REVISION_NAME = /^web-[4-9bcdf]{1,10}$/;
const LABELS = { app: 'web' };
let namespaceCount = 0;

async function freshNamespace(): Promise<string> {
  const name = `sts-${++namespaceCount}`;
  await client.namespaces().create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

function webSet(ns: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas: 3,
      serviceName: 'web',
      selector: { matchLabels: LABELS },
      template: { metadata: { labels: LABELS }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } },
      ...spec,
    },
  };
}

const claimTemplate = {
  metadata: { name: 'data' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
};

/* ---------- playing the kubelet ---------- */

async function reportStatus(ns: string, name: string, status: Record<string, unknown>): Promise<void> {
  await client.pods(ns).patch(name, { status }, 'strategic', { subresource: 'status' });
}

async function setReady(ns: string, name: string, ready = true): Promise<void> {
  const condition = { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: timestamp() };
  await reportStatus(ns, name, { phase: 'Running', conditions: [condition] });
}

async function setImage(ns: string, image: string): Promise<void> {
  await client.statefulSets(ns).patch('web', { spec: { template: { spec: { containers: [{ name: 'nginx', image }] } } } }, 'strategic');
}

async function patchSet(ns: string, spec: Record<string, unknown>): Promise<void> {
  await client.statefulSets(ns).patch('web', { spec }, 'merge');
}

interface Seen {
  type: string;
  name: string;
  uid: string;
  pod: KubeObject;
}

/** Records every pod event in a namespace and lets callbacks react to each (as a kubelet would). */
class PodWatcher {
  readonly seen: Seen[] = [];
  private watch?: Watch;
  private readonly reactions: ((e: Seen) => Promise<void> | void)[] = [];

  static async start(ns: string): Promise<PodWatcher> {
    const w = new PodWatcher();
    w.watch = await client.pods(ns).watch({ resourceVersion: '0' });
    cleanups.push(() => w.stop());
    void w.loop();
    return w;
  }

  private async loop(): Promise<void> {
    for await (const ev of this.watch!) {
      if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') continue;
      const pod = ev.object as KubeObject;
      const seen = { type: ev.type, name: pod.metadata.name!, uid: pod.metadata.uid!, pod };
      this.seen.push(seen);
      for (const react of this.reactions) {
        try {
          await react(seen);
        } catch (e) {
          // the pod moved on (deleted, replaced) before the reaction landed
          if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
        }
      }
    }
  }

  /** Every new pod is reported Running and Ready (unless `when` says otherwise). */
  autoReady(ns: string, when: (pod: KubeObject) => boolean = () => true): this {
    this.reactions.push(async (e) => {
      if (e.type === 'ADDED' && !e.pod.metadata.deletionTimestamp && when(e.pod)) await setReady(ns, e.name);
    });
    return this;
  }

  /** A scheduled pod being deleted is confirmed gone, as its kubelet would once the containers stopped. */
  confirmDeletions(ns: string): this {
    this.reactions.push(async (e) => {
      if (e.type !== 'DELETED' && e.pod.metadata.deletionTimestamp && e.pod.spec?.nodeName) {
        await client.pods(ns).delete(e.name, { gracePeriodSeconds: 0, preconditions: { uid: e.uid } });
      }
    });
    return this;
  }

  names(type: string): string[] {
    const out: string[] = [];
    for (const e of this.seen) if (e.type === type && !out.includes(e.name)) out.push(e.name);
    return out;
  }

  stop(): void {
    this.watch?.stop();
  }
}

/* ---------- observations ---------- */

async function podNames(ns: string): Promise<string[]> {
  const items = (await client.pods(ns).list()).items;
  return items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name!).sort(byOrdinal);
}

function byOrdinal(a: string, b: string): number {
  return Number(a.split('-').pop()) - Number(b.split('-').pop());
}

async function waitForPods(ns: string, want: string[], what = `pods ${want.join(',')}`): Promise<void> {
  await waitFor(async () => (await podNames(ns)).join() === want.join(), 8000, what);
}

async function setStatus(ns: string): Promise<any> {
  return (await client.statefulSets(ns).get('web')).status ?? {};
}

/** Until the set's status satisfies `ok` for the generation it currently has. */
async function waitForStatus(ns: string, ok: (s: any) => boolean, what: string): Promise<any> {
  return waitFor(
    async () => {
      const set = await client.statefulSets(ns).get('web');
      const s = set.status ?? {};
      return s.observedGeneration >= set.metadata.generation! && ok(s) ? s : undefined;
    },
    8000,
    what,
  );
}

async function waitForRolledOut(ns: string, replicas: number): Promise<any> {
  return waitForStatus(
    ns,
    (s) => s.readyReplicas === replicas && s.updatedReplicas === replicas && s.currentRevision === s.updateRevision,
    'rollout to complete',
  );
}

async function podRevisions(ns: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of (await client.pods(ns).list()).items) out[p.metadata.name!] = p.metadata.labels?.['controller-revision-hash'] ?? '';
  return out;
}

async function podImages(ns: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of (await client.pods(ns).list()).items) out[p.metadata.name!] = p.spec.containers[0].image;
  return out;
}

async function claimNames(ns: string): Promise<string[]> {
  const items = (await client.persistentVolumeClaims(ns).list()).items;
  return items.map((c) => c.metadata.name!).sort(byOrdinal);
}

/** Holds for the whole period (the controller must not act), checked every 50 ms. */
async function holds(what: string, check: () => Promise<boolean>, ms = 400): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    assert.ok(await check(), what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/* ---------- scenarios ---------- */

describe('StatefulSet integration (API server + controller manager)', () => {
  it('creates pods in ordinal order and removes them in reverse order', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    await client.statefulSets(ns).create(webSet(ns));
    await waitForStatus(ns, (s) => s.readyReplicas === 3, '3 ready replicas');
    assert.deepEqual(watcher.names('ADDED'), ['web-0', 'web-1', 'web-2']);

    await patchSet(ns, { replicas: 0 });
    await waitFor(() => watcher.names('DELETED').length === 3, 8000, 'three deletions');
    assert.deepEqual(watcher.names('DELETED'), ['web-2', 'web-1', 'web-0']);
    const s = await waitForStatus(ns, (st) => st.replicas === 0, 'status.replicas 0');
    assert.equal(s.readyReplicas, undefined);
    watcher.stop();
  });

  it('halts scaling while a pod is unready and resumes when it is ready', async () => {
    const ns = await freshNamespace();
    const watcher = await PodWatcher.start(ns);
    await client.statefulSets(ns).create(webSet(ns, { replicas: 1 }));
    await waitForPods(ns, ['web-0']);
    await setReady(ns, 'web-0');
    await waitForStatus(ns, (s) => s.readyReplicas === 1, 'web-0 ready');

    await setReady(ns, 'web-0', false);
    await waitForStatus(ns, (s) => !s.readyReplicas, 'web-0 unready');
    await patchSet(ns, { replicas: 3 });
    await waitForStatus(ns, () => true, 'replicas 3 observed');
    await holds('scale-up halts at the unready web-0', async () => (await podNames(ns)).join() === 'web-0');

    await setReady(ns, 'web-0');
    await waitForPods(ns, ['web-0', 'web-1']);
    await holds('web-2 waits for web-1', async () => (await podNames(ns)).length === 2, 200);
    await setReady(ns, 'web-1');
    await waitForPods(ns, ['web-0', 'web-1', 'web-2']);
    await setReady(ns, 'web-2');
    await waitForStatus(ns, (s) => s.readyReplicas === 3, '3 ready');
    assert.deepEqual(watcher.names('ADDED'), ['web-0', 'web-1', 'web-2']);

    // Scale-down waits for every pod to be healthy, too.
    for (const name of ['web-0', 'web-1', 'web-2']) await setReady(ns, name, false);
    await waitForStatus(ns, (s) => !s.readyReplicas, 'all unready');
    await patchSet(ns, { replicas: 0 });
    await waitForStatus(ns, () => true, 'replicas 0 observed');
    await holds('scale-down halts while pods are unready', async () => (await podNames(ns)).length === 3);
    // Each pod that turns healthy may release the top one at once: it is gone before we get to it.
    for (const name of ['web-0', 'web-1', 'web-2']) await setReady(ns, name).catch((e) => assert.ok(isApiError(e, 'NotFound')));
    await waitFor(() => watcher.names('DELETED').length === 3, 8000, 'three deletions');
    assert.deepEqual(watcher.names('DELETED'), ['web-2', 'web-1', 'web-0']);
    watcher.stop();
  });

  it('creates and deletes every pod at once under Parallel, ready or not', async () => {
    const ns = await freshNamespace();
    await client.statefulSets(ns).create(webSet(ns, { replicas: 1, podManagementPolicy: 'Parallel' }));
    await waitForPods(ns, ['web-0']);
    await patchSet(ns, { replicas: 4 });
    await waitForPods(ns, ['web-0', 'web-1', 'web-2', 'web-3']);
    const s = await waitForStatus(ns, (st) => st.replicas === 4, 'status.replicas 4');
    assert.equal(s.readyReplicas, undefined, 'no pod is ready, yet all exist');
    await patchSet(ns, { replicas: 0 });
    await waitForPods(ns, []);
  });

  it('rolls a template change out from the highest ordinal and rolls back to the old revision name', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    await client.statefulSets(ns).create(webSet(ns));
    const first = await waitForRolledOut(ns, 3);
    const original = first.updateRevision as string;
    assert.match(original, REVISION_NAME);
    assert.deepEqual(Object.values(await podRevisions(ns)), [original, original, original]);

    // As upstream's e2e does: web-1 unready holds the roll-out, so the in-between state can be seen.
    const deletions = () => watcher.seen.filter((e) => e.type === 'DELETED').map((e) => e.name);
    await setReady(ns, 'web-1', false);
    await setImage(ns, 'nginx:1.28');
    const pending = await waitForStatus(ns, (s) => s.updateRevision !== original, 'new revision');
    const next = pending.updateRevision as string;
    assert.match(next, REVISION_NAME);
    assert.equal(pending.currentRevision, original);
    await holds('no pod is replaced while web-1 is unready', async () => deletions().length === 0, 200);
    await setReady(ns, 'web-1');
    await waitForRolledOut(ns, 3);
    await waitFor(() => deletions().length === 3, 8000, 'three replacements');
    assert.deepEqual(deletions(), ['web-2', 'web-1', 'web-0'], 'one at a time, highest ordinal first');
    assert.deepEqual(Object.values(await podImages(ns)), ['nginx:1.28', 'nginx:1.28', 'nginx:1.28']);
    assert.deepEqual(Object.values(await podRevisions(ns)), [next, next, next]);

    await setReady(ns, 'web-1', false);
    await setImage(ns, 'nginx:1.27');
    const rolling = await waitForStatus(ns, (s) => s.updateRevision === original, 'rollback observed');
    assert.equal(rolling.currentRevision, next, 'prior revision stays current while rolling back');
    await setReady(ns, 'web-1');
    const back = await waitForRolledOut(ns, 3);
    assert.equal(back.currentRevision, original);
    assert.deepEqual(Object.values(await podRevisions(ns)), [original, original, original]);
    assert.deepEqual(Object.values(await podImages(ns)), ['nginx:1.27', 'nginx:1.27', 'nginx:1.27']);

    const revisions = (await client.controllerRevisions(ns).list()).items;
    const numbers = Object.fromEntries(revisions.map((r) => [r.metadata.name, r.revision]));
    assert.deepEqual(numbers, { [original]: 3, [next]: 2 }, 'the rollback reused the first revision with a new number');
    watcher.stop();
  });

  it('updates a canary above the partition, keeps pods below it, then phases the roll-out', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    await client.statefulSets(ns).create(webSet(ns, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 3 } } }));
    const first = await waitForRolledOut(ns, 3);
    const old = first.currentRevision as string;

    await setImage(ns, 'nginx:1.28');
    const pending = await waitForStatus(ns, (s) => s.updateRevision !== old, 'new revision');
    const fresh = pending.updateRevision as string;
    await holds('partition 3 protects every pod', async () => Object.values(await podRevisions(ns)).every((r) => r === old), 300);

    const expect = async (partition: number) => {
      await patchSet(ns, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } } });
      const want: Record<string, string> = {};
      for (let i = 0; i < 3; i++) want[`web-${i}`] = i < partition ? old : fresh;
      await waitFor(async () => JSON.stringify(await podRevisions(ns)) === JSON.stringify(want), 8000, `partition ${partition}`);
      await waitForStatus(ns, (s) => s.readyReplicas === 3, '3 ready');
    };
    await expect(2);
    assert.equal((await podImages(ns))['web-2'], 'nginx:1.28');

    // A pod deleted below the partition comes back at the current revision, above it at the update revision.
    const uidOf = async (name: string) => (await client.pods(ns).get(name)).metadata.uid;
    const gone = [await uidOf('web-0'), await uidOf('web-2')];
    await client.pods(ns).delete('web-0', { gracePeriodSeconds: 0 });
    await client.pods(ns).delete('web-2', { gracePeriodSeconds: 0 });
    await waitFor(async () => {
      const uids = (await client.pods(ns).list()).items.map((p) => p.metadata.uid);
      return uids.length === 3 && !uids.some((u) => gone.includes(u));
    }, 8000, 'web-0 and web-2 recreated');
    await expect(2);
    assert.deepEqual(await podImages(ns), { 'web-0': 'nginx:1.27', 'web-1': 'nginx:1.27', 'web-2': 'nginx:1.28' });

    await expect(1);
    await expect(0);
    const done = await waitForRolledOut(ns, 3);
    assert.equal(done.currentRevision, fresh);
    watcher.stop();
  });

  it('replaces pods only when they are deleted under OnDelete', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    await client.statefulSets(ns).create(webSet(ns, { updateStrategy: { type: 'OnDelete' } }));
    const first = await waitForRolledOut(ns, 3);
    await setImage(ns, 'nginx:1.28');
    const s = await waitForStatus(ns, (st) => st.updateRevision !== first.currentRevision, 'new revision');
    assert.equal(s.currentRevision, first.currentRevision);
    await holds('no pod is replaced', async () => Object.values(await podImages(ns)).every((i) => i === 'nginx:1.27'), 300);

    for (const name of ['web-0', 'web-1', 'web-2']) await client.pods(ns).delete(name, { gracePeriodSeconds: 0 });
    const done = await waitForRolledOut(ns, 3);
    assert.equal(done.currentRevision, s.updateRevision);
    assert.deepEqual(Object.values(await podImages(ns)), ['nginx:1.28', 'nginx:1.28', 'nginx:1.28']);
    watcher.stop();
  });

  it('deletes the claims of scaled-down pods under whenScaled: Delete', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    const policy = { whenScaled: 'Delete', whenDeleted: 'Retain' };
    await client.statefulSets(ns).create(webSet(ns, { volumeClaimTemplates: [claimTemplate], persistentVolumeClaimRetentionPolicy: policy }));
    await waitForStatus(ns, (s) => s.readyReplicas === 3, '3 ready');
    assert.deepEqual(await claimNames(ns), ['data-web-0', 'data-web-1', 'data-web-2']);
    for (const c of (await client.persistentVolumeClaims(ns).list()).items) assert.equal(c.metadata.ownerReferences, undefined);

    await patchSet(ns, { replicas: 1 });
    await waitForPods(ns, ['web-0']);
    await waitFor(async () => (await claimNames(ns)).join() === 'data-web-0', 8000, 'claims of web-1 and web-2 collected');

    // Scaling back up gets fresh claims.
    await patchSet(ns, { replicas: 2 });
    await waitForStatus(ns, (s) => s.readyReplicas === 2, '2 ready');
    assert.deepEqual(await claimNames(ns), ['data-web-0', 'data-web-1']);
    watcher.stop();
  });

  it('deletes claims with the set under whenDeleted: Delete', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    const policy = { whenScaled: 'Retain', whenDeleted: 'Delete' };
    const created = await client.statefulSets(ns).create(
      webSet(ns, { replicas: 2, volumeClaimTemplates: [claimTemplate], persistentVolumeClaimRetentionPolicy: policy }),
    );
    await waitForStatus(ns, (s) => s.readyReplicas === 2, '2 ready');
    await waitFor(
      async () => (await client.persistentVolumeClaims(ns).list()).items.every((c) => c.metadata.ownerReferences?.[0]?.uid === created.metadata.uid),
      8000,
      'claims owned by the set',
    );
    await client.statefulSets(ns).delete('web');
    await waitFor(async () => (await claimNames(ns)).length === 0, 8000, 'claims collected with the set');
    await waitForPods(ns, []);
    watcher.stop();
  });

  it('keeps claims on scale-down and set deletion under Retain', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    await client.statefulSets(ns).create(webSet(ns, { replicas: 2, volumeClaimTemplates: [claimTemplate] }));
    await waitForStatus(ns, (s) => s.readyReplicas === 2, '2 ready');
    await patchSet(ns, { replicas: 1 });
    await waitForPods(ns, ['web-0']);
    await client.statefulSets(ns).delete('web');
    await waitForPods(ns, []);
    await sleep(200);
    const claims = (await client.persistentVolumeClaims(ns).list()).items;
    assert.deepEqual(claims.map((c) => c.metadata.name).sort(), ['data-web-0', 'data-web-1']);
    assert.ok(claims.every((c) => !c.metadata.deletionTimestamp && !c.metadata.ownerReferences));
    watcher.stop();
  });

  it('numbers pods from ordinals.start and moves them when it changes', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    await client.statefulSets(ns).create(webSet(ns, { replicas: 2, ordinals: { start: 2 } }));
    await waitForPods(ns, ['web-2', 'web-3']);
    await waitForStatus(ns, (s) => s.readyReplicas === 2, '2 ready');
    await patchSet(ns, { ordinals: { start: 4 } });
    await waitForPods(ns, ['web-4', 'web-5']);
    await patchSet(ns, { ordinals: null });
    await waitForPods(ns, ['web-0', 'web-1']);
    const s = await waitForStatus(ns, (st) => st.readyReplicas === 2 && st.replicas === 2, '2 ready');
    assert.equal(s.replicas, 2);
    watcher.stop();
  });

  it('adopts a matching orphan and releases a pod whose labels stop matching', async () => {
    const ns = await freshNamespace();
    const set = await client.statefulSets(ns).create(webSet(ns, { replicas: 1 }));
    await waitForPods(ns, ['web-0']);
    await setReady(ns, 'web-0');
    const ready = await waitForStatus(ns, (s) => s.readyReplicas === 1, 'web-0 ready');
    const ownerOf = async (name: string) => (await client.pods(ns).get(name)).metadata.ownerReferences?.find((r) => r.controller);

    // With web-0 unready the set does not create web-1 itself, so the orphan fills that slot.
    await setReady(ns, 'web-0', false);
    await waitForStatus(ns, (s) => !s.readyReplicas, 'web-0 unready');
    await patchSet(ns, { replicas: 2 });
    await waitForStatus(ns, () => true, 'replicas 2 observed');
    // It already looks like ordinal 1 of the current revision, so it is taken over, not replaced.
    const orphan = await client.pods(ns).create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', labels: { ...LABELS, 'controller-revision-hash': ready.updateRevision } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
    });
    await waitFor(async () => (await ownerOf('web-1'))?.uid === set.metadata.uid, 8000, 'web-1 adopted');
    assert.equal((await ownerOf('web-1'))?.kind, 'StatefulSet');
    await setReady(ns, 'web-0');
    await setReady(ns, 'web-1');
    await waitForStatus(ns, (s) => s.readyReplicas === 2, '2 ready');
    // Once it is healthy its identity labels are repaired in place.
    await waitFor(async () => (await client.pods(ns).get('web-1')).metadata.labels?.['statefulset.kubernetes.io/pod-name'] === 'web-1', 8000, 'identity repaired');
    assert.equal((await client.pods(ns).get('web-1')).metadata.uid, orphan.metadata.uid);

    // Dropping the controller reference gets it back.
    await client.pods(ns).patch('web-0', { metadata: { ownerReferences: null } }, 'merge');
    await waitFor(async () => (await ownerOf('web-0'))?.uid === set.metadata.uid, 8000, 'web-0 re-adopted');

    // Labels that no longer match release the pod; it keeps running and is not replaced.
    const before = await client.pods(ns).get('web-0');
    await client.pods(ns).patch('web-0', { metadata: { labels: null } }, 'merge');
    await waitFor(async () => !(await ownerOf('web-0')), 8000, 'web-0 released');
    await holds('the released pod stays', async () => (await client.pods(ns).get('web-0')).metadata.uid === before.metadata.uid, 200);

    await client.pods(ns).patch('web-0', { metadata: { labels: before.metadata.labels } }, 'merge');
    await waitFor(async () => (await ownerOf('web-0'))?.uid === set.metadata.uid, 8000, 'web-0 adopted again');
    assert.equal((await client.pods(ns).get('web-0')).metadata.uid, before.metadata.uid);
  });

  it('deletes pods with the set in the background and keeps them when orphaning', async () => {
    const ns = await freshNamespace();
    const watcher = (await PodWatcher.start(ns)).autoReady(ns);
    await client.statefulSets(ns).create(webSet(ns, { replicas: 2 }));
    await waitForStatus(ns, (s) => s.readyReplicas === 2, '2 ready');
    await client.statefulSets(ns).delete('web');
    await waitForPods(ns, [], 'pods collected after the set');
    await waitFor(async () => (await client.controllerRevisions(ns).list()).items.length === 0, 8000, 'revisions collected');

    const first = await client.statefulSets(ns).create(webSet(ns, { replicas: 2 }));
    await waitForStatus(ns, (s) => s.readyReplicas === 2, '2 ready');
    const uids = (await client.pods(ns).list()).items.map((p) => p.metadata.uid).sort();
    await client.statefulSets(ns).delete('web', { propagationPolicy: 'Orphan' });
    await waitFor(async () => {
      const pods = (await client.pods(ns).list()).items;
      return pods.length === 2 && pods.every((p) => !p.metadata.ownerReferences?.length);
    }, 8000, 'pods orphaned');
    await waitFor(async () => {
      try {
        await client.statefulSets(ns).get('web');
        return false;
      } catch (e) {
        return isApiError(e, 'NotFound');
      }
    }, 8000, 'set gone');

    const second = await client.statefulSets(ns).create(webSet(ns, { replicas: 2 }));
    assert.notEqual(second.metadata.uid, first.metadata.uid);
    await waitFor(async () => {
      const pods = (await client.pods(ns).list()).items;
      return pods.length === 2 && pods.every((p) => p.metadata.ownerReferences?.[0]?.uid === second.metadata.uid);
    }, 8000, 'orphans adopted by the new set');
    await waitForStatus(ns, (s) => s.readyReplicas === 2, '2 ready');
    assert.deepEqual((await client.pods(ns).list()).items.map((p) => p.metadata.uid).sort(), uids, 'the same pods, not replacements');
    watcher.stop();
  });

  it('deletes and recreates a failed predecessor without waiting on its unready successor', async () => {
    const ns = await freshNamespace();
    // Pods are bound to a node here, so deleting one leaves it Terminating until "its kubelet" confirms.
    const watcher = await PodWatcher.start(ns);
    watcher.confirmDeletions(ns);
    const bind = async (name: string) => {
      await client.pods(ns).createSubresource(name, 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: ns },
        target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' },
      });
    };
    await client.statefulSets(ns).create(webSet(ns, { replicas: 2 }));
    await waitForPods(ns, ['web-0']);
    await bind('web-0');
    await setReady(ns, 'web-0');
    await waitForPods(ns, ['web-0', 'web-1']);
    await bind('web-1');
    await setReady(ns, 'web-1', false);
    const failedUid = (await client.pods(ns).get('web-0')).metadata.uid;

    await reportStatus(ns, 'web-0', { phase: 'Failed' });
    const replacement = await waitFor(async () => {
      const pod = (await client.pods(ns).list()).items.find((p) => p.metadata.name === 'web-0');
      return pod && pod.metadata.uid !== failedUid ? pod : undefined;
    }, 8000, 'web-0 recreated');
    assert.ok(watcher.seen.some((e) => e.uid === failedUid && e.type === 'DELETED'));
    await bind('web-0');
    await setReady(ns, 'web-0');
    const s = await waitForStatus(ns, (st) => st.readyReplicas === 1 && st.replicas === 2, 'web-0 ready again, web-1 still not');
    assert.equal(s.replicas, 2);
    assert.ok(replacement.metadata.uid);

    await setReady(ns, 'web-1');
    await waitForStatus(ns, (st) => st.readyReplicas === 2, 'both ready');
    const deletes = (await client.events(ns).list()).items.filter((e) => e.reason === 'SuccessfulDelete' && e.message.includes('web-0'));
    assert.equal(deletes.reduce((n, e) => n + (e.count ?? 1), 0), 1, 'the failed pod was deleted once');
    watcher.stop();
  });
});
