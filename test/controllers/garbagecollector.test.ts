import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../../src/api/errors.js';
import type { KubeObject, OwnerReference } from '../../src/api/object.js';
import { Client, resources, type ResourceClient, type ResourceType } from '../../src/client/client.js';
import { startControllers, type RunningControllers } from '../../src/controllers/manager.js';
import { GarbageCollector } from '../../src/controllers/garbagecollector/controller.js';
import { decideDependent } from '../../src/controllers/garbagecollector/decide.js';
import { AbsentOwners, DependencyGraph, type GraphNode, type Identity } from '../../src/controllers/garbagecollector/graph.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const configMaps: ResourceType = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
const secrets: ResourceType = { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true };

function ownerRef(o: KubeObject, opts: { controller?: boolean; block?: boolean } = {}): OwnerReference {
  const ref: OwnerReference = { apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata.name!, uid: o.metadata.uid! };
  if (opts.controller) ref.controller = true;
  if (opts.block) ref.blockOwnerDeletion = true;
  return ref;
}

const meta = (name: string, owners: OwnerReference[] = [], extra: Record<string, unknown> = {}) => ({ name, ownerReferences: owners, ...extra });

function pod(name: string, owners: OwnerReference[], nodeName?: string): KubeObject {
  return {
    metadata: meta(name, owners, { labels: { app: 'web' } }),
    spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }], ...(nodeName ? { nodeName } : {}) },
  };
}

function statefulSet(name: string): KubeObject {
  return {
    metadata: { name },
    spec: {
      serviceName: name,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } },
    },
  };
}

async function exists(rc: ResourceClient, name: string): Promise<KubeObject | undefined> {
  try {
    return await rc.get(name);
  } catch (e) {
    if (isApiError(e, 'NotFound')) return undefined;
    throw e;
  }
}

const gone = (rc: ResourceClient, name: string, ms = 5000) =>
  waitFor(async () => !(await exists(rc, name)), ms, `${rc.type.resource} ${name} to be gone`);

async function sleep(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

function api(client: Client, ns: string) {
  return {
    cms: client.resource(configMaps, ns),
    secrets: client.resource(secrets, ns),
    pods: client.pods(ns),
    sets: client.statefulSets(ns),
  };
}

describe('decideDependent', () => {
  const r = (uid: string): OwnerReference => ({ apiVersion: 'v1', kind: 'ConfigMap', name: uid, uid });
  const facts = { finalizers: [], hasDependents: false, hasDependentDeletingDependents: false };

  it('keeps a dependent with solid owners, stripping the stale references', () => {
    assert.deepEqual(decideDependent({ solid: [r('a')], dangling: [], waiting: [] }, facts), { type: 'none' });
    assert.deepEqual(decideDependent({ solid: [r('a')], dangling: [r('b')], waiting: [r('c')] }, facts), { type: 'removeReferences', uids: ['b', 'c'] });
  });

  it('deletes an ownerless dependent in the background unless it carries a policy', () => {
    assert.deepEqual(decideDependent({ solid: [], dangling: [r('a')], waiting: [] }, facts), { type: 'delete', propagationPolicy: 'Background', unblockFirst: false });
    assert.equal((decideDependent({ solid: [], dangling: [r('a')], waiting: [] }, { ...facts, finalizers: ['orphan'] }) as any).propagationPolicy, 'Orphan');
    assert.equal((decideDependent({ solid: [], dangling: [r('a')], waiting: [] }, { ...facts, finalizers: ['foregroundDeletion'] }) as any).propagationPolicy, 'Foreground');
  });

  it('cascades foreground through dependents that own objects, unblocking cycles first', () => {
    const waiting = { solid: [], dangling: [], waiting: [r('a')] };
    assert.equal((decideDependent(waiting, facts) as any).propagationPolicy, 'Background');
    assert.deepEqual(decideDependent(waiting, { ...facts, hasDependents: true }), { type: 'delete', propagationPolicy: 'Foreground', unblockFirst: false });
    assert.deepEqual(decideDependent(waiting, { ...facts, hasDependents: true, hasDependentDeletingDependents: true }), {
      type: 'delete',
      propagationPolicy: 'Foreground',
      unblockFirst: true,
    });
  });
});

describe('DependencyGraph', () => {
  function graph() {
    const deletes: string[] = [];
    const orphans: string[] = [];
    const invalid: string[] = [];
    const g = new DependencyGraph(
      {
        attemptToDelete: (n: GraphNode) => deletes.push(n.identity.name),
        attemptToOrphan: (n: GraphNode) => orphans.push(n.identity.name),
        invalidNamespace: (n: GraphNode) => invalid.push(n.identity.name),
      },
      new AbsentOwners(),
      () => true,
    );
    return { g, deletes, orphans, invalid };
  }
  const id = (name: string, ns = 'ns'): Identity => ({ apiVersion: 'v1', kind: 'ConfigMap', name, uid: `uid-${name}`, namespace: ns });
  const obj = (i: Identity, owners: Identity[] = [], m: Record<string, unknown> = {}): KubeObject => ({
    metadata: { name: i.name, namespace: i.namespace, uid: i.uid, ownerReferences: owners.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, uid: o.uid, blockOwnerDeletion: true })), ...m },
  });

  it('makes a virtual owner for an unseen reference and queues it for verification', () => {
    const { g, deletes } = graph();
    g.observe(id('child'), obj(id('child'), [id('owner')]));
    assert.deepEqual(deletes, ['owner']);
    assert.equal(g.nodes.get('uid-owner')!.observed, false);
    g.observe(id('owner'), obj(id('owner')));
    assert.equal(g.nodes.get('uid-owner')!.observed, true);
    assert.deepEqual([...g.nodes.get('uid-owner')!.dependents].map((d) => d.identity.name), ['child']);
  });

  it('queues dependents when an owner goes, and the absent owner is remembered', () => {
    const { g, deletes } = graph();
    g.observe(id('owner'), obj(id('owner')));
    g.observe(id('child'), obj(id('child'), [id('owner')]));
    g.forget(id('owner'));
    assert.deepEqual(deletes, ['child']);
    assert.ok(g.absent.has(id('owner')));
  });

  it('reacts to the orphan and foreground transitions once', () => {
    const { g, deletes, orphans } = graph();
    g.observe(id('a'), obj(id('a')));
    g.observe(id('a-child'), obj(id('a-child'), [id('a')]));
    const orphaning = obj(id('a'), [], { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['orphan'] });
    g.observe(id('a'), orphaning, obj(id('a')));
    g.observe(id('a'), orphaning, orphaning);
    assert.deepEqual(orphans, ['a']);
    const fg = obj(id('a'), [], { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] });
    g.observe(id('a'), fg, obj(id('a')));
    assert.deepEqual(deletes, ['a-child', 'a']);
    assert.deepEqual(g.nodes.get('uid-a')!.blockingDependents().map((d) => d.identity.name), ['a-child']);
  });

  it('flags a dependent whose observed owner lives in another namespace', () => {
    const { g, deletes, invalid } = graph();
    g.observe(id('owner', 'a'), obj(id('owner', 'a')));
    g.observe(id('child', 'b'), obj(id('child', 'b'), [id('owner', 'a')]));
    assert.deepEqual(invalid, ['child']);
    assert.deepEqual(deletes, ['child']);
  });
});

describe('GarbageCollector against a real API server', () => {
  let server: TestServer;
  let running: RunningControllers;
  let client: Client;
  let nsCount = 0;

  before(async () => {
    server = await startTestServer();
    client = server.client;
    running = await startControllers(client, [new GarbageCollector()]);
  });

  after(async () => {
    await running.stop();
    await server.stop();
  });

  async function namespace(): Promise<string> {
    const name = `gc-${++nsCount}`;
    await client.namespaces().create({ metadata: { name } });
    return name;
  }

  it('background: deleting an owner collects its dependents, recursively', async () => {
    const ns = await namespace();
    const { cms, secrets, pods } = api(client, ns);
    const owner = await cms.create({ metadata: meta('owner') });
    await secrets.create({ metadata: meta('s1', [ownerRef(owner, { controller: true, block: true })]) });
    await pods.create(pod('p1', [ownerRef(owner, { controller: true, block: true })]));
    const mid = await cms.create({ metadata: meta('mid', [ownerRef(owner)]) });
    await cms.create({ metadata: meta('leaf', [ownerRef(mid)]) });
    await sleep(100);
    assert.ok(await exists(secrets, 's1'), 'dependents live while their owner does');

    await cms.delete('owner', { propagationPolicy: 'Background' });
    await Promise.all([gone(secrets, 's1'), gone(pods, 'p1'), gone(cms, 'mid'), gone(cms, 'leaf')]);
  });

  it('a dependent with another live owner stays, without the dangling reference', async () => {
    const ns = await namespace();
    const { cms, secrets } = api(client, ns);
    const a = await cms.create({ metadata: meta('a') });
    const b = await cms.create({ metadata: meta('b') });
    await secrets.create({ metadata: meta('shared', [ownerRef(a, { block: true }), ownerRef(b)]) });

    await cms.delete('a');
    const refs = await waitFor(async () => {
      const s = await secrets.get('shared');
      const uids = (s.metadata.ownerReferences ?? []).map((r) => r.uid);
      return uids.length === 1 && uids;
    });
    assert.deepEqual(refs, [b.metadata.uid]);
    await sleep(200);
    assert.ok(await exists(secrets, 'shared'));
  });

  it('orphan: the owner goes, dependents stay with their references removed', async () => {
    const ns = await namespace();
    const { sets, pods } = api(client, ns);
    const web = await sets.create(statefulSet('web'));
    for (const name of ['web-0', 'web-1']) await pods.create(pod(name, [ownerRef(web, { controller: true, block: true })], 'node-1'));

    const marked = (await sets.delete('web', { propagationPolicy: 'Orphan' })) as KubeObject;
    assert.deepEqual(marked.metadata.finalizers, ['orphan']);
    await gone(sets, 'web');
    for (const name of ['web-0', 'web-1']) {
      const p = await pods.get(name);
      assert.equal(p.metadata.ownerReferences, undefined);
      assert.equal(p.metadata.deletionTimestamp, undefined);
    }
  });

  it('foreground: the owner waits for its blocking dependents, not for the others', async () => {
    const ns = await namespace();
    const { sets, pods, cms } = api(client, ns);
    const web = await sets.create(statefulSet('web'));
    const ref = ownerRef(web, { controller: true, block: true });
    await pods.create(pod('web-0', [ref], 'node-1'));
    await pods.create(pod('web-1', [ref], 'node-1'));
    await pods.create(pod('web-2', [ref]));
    await cms.create({ metadata: meta('note', [ownerRef(web)], { finalizers: ['example.com/hold'] }) });

    await sets.delete('web', { propagationPolicy: 'Foreground' });
    // scheduled pods stay Terminating until their node agent confirms; the unscheduled one goes at once
    await waitFor(async () => (await pods.get('web-0')).metadata.deletionTimestamp && (await pods.get('web-1')).metadata.deletionTimestamp);
    await gone(pods, 'web-2');
    await waitFor(async () => (await cms.get('note')).metadata.deletionTimestamp, 5000, 'the non-blocking dependent to be deleted');
    const waiting = await sets.get('web');
    assert.ok(waiting.metadata.deletionTimestamp);
    assert.deepEqual(waiting.metadata.finalizers, ['foregroundDeletion']);

    // the node agent's confirmations
    await pods.delete('web-0', { gracePeriodSeconds: 0 });
    await sleep(200);
    assert.ok(await exists(sets, 'web'), 'web-1 still blocks');
    await pods.delete('web-1', { gracePeriodSeconds: 0 });
    await gone(sets, 'web');
    // the non-blocking dependent was never waited for
    assert.ok(await exists(cms, 'note'));
    await cms.patch('note', { metadata: { finalizers: null } });
  });

  it('foreground: a blocking dependent with its own finalizer holds the owner until it is released', async () => {
    const ns = await namespace();
    const { cms, secrets } = api(client, ns);
    const owner = await cms.create({ metadata: meta('owner') });
    const mid = await secrets.create({ metadata: meta('held', [ownerRef(owner, { block: true })], { finalizers: ['example.com/hold'] }) });
    await cms.create({ metadata: meta('grandchild', [ownerRef(mid, { block: true })]) });

    await cms.delete('owner', { propagationPolicy: 'Foreground' });
    // the dependent owns an object, so it is deleted in the foreground as well
    await waitFor(async () => (await secrets.get('held')).metadata.deletionTimestamp);
    await gone(cms, 'grandchild');
    // its own foreground deletion is done; only the foreign finalizer is left
    await waitFor(async () => (await secrets.get('held')).metadata.finalizers?.join() === 'example.com/hold');
    await sleep(200);
    assert.deepEqual((await cms.get('owner')).metadata.finalizers, ['foregroundDeletion']);

    await secrets.patch('held', { metadata: { finalizers: null } });
    await gone(secrets, 'held');
    await gone(cms, 'owner');
  });

  it('foreground: a dependent with another live owner is released rather than deleted', async () => {
    const ns = await namespace();
    const { cms, secrets } = api(client, ns);
    const going = await cms.create({ metadata: meta('going') });
    const staying = await cms.create({ metadata: meta('staying') });
    await secrets.create({ metadata: meta('shared', [ownerRef(going, { block: true }), ownerRef(staying)]) });

    await cms.delete('going', { propagationPolicy: 'Foreground' });
    await gone(cms, 'going');
    const shared = await secrets.get('shared');
    assert.equal(shared.metadata.deletionTimestamp, undefined);
    assert.deepEqual(shared.metadata.ownerReferences!.map((r) => r.uid), [staying.metadata.uid]);
  });

  it('a namespaced owner in another namespace counts as absent', async () => {
    const nsA = await namespace();
    const nsB = await namespace();
    const owner = await api(client, nsA).cms.create({ metadata: meta('owner') });
    const { secrets } = api(client, nsB);
    await secrets.create({ metadata: meta('stray', [ownerRef(owner)]) });
    await gone(secrets, 'stray');
    assert.ok(await exists(api(client, nsA).cms, 'owner'));
    const ev = await waitFor(async () => (await client.events(nsB).list()).items.find((e) => e.reason === 'OwnerRefInvalidNamespace'));
    assert.equal(ev.type, 'Warning');
    assert.equal(
      ev.message,
      `ownerRef [v1/ConfigMap, namespace: ${nsB}, name: owner, uid: ${owner.metadata.uid}] does not exist in namespace "${nsB}"`,
    );
  });
});

describe('GarbageCollector restart and scale', () => {
  it('a new collector finishes cascades that started while none ran', async () => {
    const server = await startTestServer();
    const { client } = server;
    try {
      await client.namespaces().create({ metadata: { name: 'r' } });
      const { cms, secrets, sets, pods } = api(client, 'r');
      const first = await startControllers(client, [new GarbageCollector()]);
      const bg = await cms.create({ metadata: meta('bg') });
      await secrets.create({ metadata: meta('bg-child', [ownerRef(bg, { block: true })]) });
      const fg = await sets.create(statefulSet('fg'));
      await pods.create(pod('fg-0', [ownerRef(fg, { controller: true, block: true })]));
      const or = await cms.create({ metadata: meta('or') });
      await secrets.create({ metadata: meta('or-child', [ownerRef(or, { block: true })]) });
      await first.stop();

      await cms.delete('bg');
      await sets.delete('fg', { propagationPolicy: 'Foreground' });
      await cms.delete('or', { propagationPolicy: 'Orphan' });
      await sleep(150);
      assert.ok(await exists(secrets, 'bg-child'), 'nothing collects while the collector is down');
      assert.ok(await exists(sets, 'fg'));
      assert.ok(await exists(cms, 'or'));

      const second = await startControllers(client, [new GarbageCollector()]);
      try {
        await Promise.all([gone(secrets, 'bg-child'), gone(pods, 'fg-0'), gone(sets, 'fg'), gone(cms, 'or')]);
        assert.equal((await secrets.get('or-child')).metadata.ownerReferences, undefined);
      } finally {
        await second.stop();
      }
    } finally {
      await server.stop();
    }
  });

  it('collects the 1,000 pods of a deleted StatefulSet with O(n) API calls', async () => {
    const server = await startTestServer();
    const counts: Record<string, number> = {};
    const counting = new Client({
      request: (req) => {
        counts[req.method] = (counts[req.method] ?? 0) + 1;
        return server.client.transport.request(req);
      },
    });
    try {
      const n = 1000;
      const { client } = server;
      const { sets, pods } = api(client, 'default');
      const web = await sets.create(statefulSet('web'));
      const ref = ownerRef(web, { controller: true, block: true });
      const running = await startControllers(counting, [new GarbageCollector()]);
      try {
        for (let i = 0; i < n; i += 50) {
          await Promise.all(Array.from({ length: 50 }, (_, j) => pods.create(pod(`web-${i + j}`, [ref]))));
        }
        await sets.delete('web');
        const started = Date.now();
        await waitFor(async () => (await pods.list({ limit: 1 })).items.length === 0, 10_000, 'all pods to be collected');
        const elapsed = Date.now() - started;
        assert.equal(counts.DELETE, n);
        // one live read of each pod, and of its owner until it is known to be gone
        assert.ok(counts.GET! < 2.2 * n, `GETs: ${counts.GET}`);
        assert.ok(elapsed < 8000, `took ${elapsed} ms`);
      } finally {
        await running.stop();
      }
    } finally {
      await server.stop();
    }
  });
});
