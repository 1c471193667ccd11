import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { Client, resources } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { indexers, Informer, keyOf, SharedInformerFactory, splitKey } from '../../src/client/informer.js';
import { FakeApi } from './fake-api.js';
import { withWarnings } from '../support/warnings.js';

const pod = (name: string, opts: { ns?: string; node?: string; owner?: string; labels?: Record<string, string> } = {}): KubeObject => ({
  metadata: {
    name,
    namespace: opts.ns ?? 'default',
    labels: opts.labels,
    ownerReferences: opts.owner ? [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: opts.owner, controller: true }] : undefined,
  },
  spec: { nodeName: opts.node },
});

function recorder(inf: Informer) {
  const log: string[] = [];
  inf.addEventHandler({
    onAdd: (o) => log.push(`add ${keyOf(o)}`),
    onUpdate: (a, b) => log.push(`update ${keyOf(b)} ${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
    onDelete: (o) => log.push(`delete ${keyOf(o)}`),
  });
  return log;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

function setup() {
  const api = new FakeApi();
  const client = new Client(new InProcessTransport(api.handler));
  return { api, client };
}

describe('keys', () => {
  it('are namespace/name or name', () => {
    assert.equal(keyOf(pod('a', { ns: 'x' })), 'x/a');
    assert.equal(keyOf({ metadata: { name: 'n1' } }), 'n1');
    assert.deepEqual(splitKey('x/a'), { namespace: 'x', name: 'a' });
    assert.deepEqual(splitKey('n1'), { name: 'n1' });
  });
});

describe('Informer', () => {
  it('lists, then follows the watch, keeping cache and indexes current', async () => {
    const { api, client } = setup();
    api.seed('', 'v1', 'pods', pod('a', { node: 'n1', owner: 'set-1' }));
    api.seed('', 'v1', 'pods', pod('b', { ns: 'other', node: 'n2' }));
    const inf = new Informer(client, resources.pods, { watchTimeoutSeconds: 60 });
    inf.addIndexer('node', indexers.nodeName);
    const log = recorder(inf);
    inf.start();
    assert.equal(inf.hasSynced(), false);
    assert.equal(await inf.synced(), true);
    assert.equal(inf.hasSynced(), true);
    assert.deepEqual(log.sort(), ['add default/a', 'add other/b']);
    assert.equal(inf.lastSyncResourceVersion(), '102');
    assert.equal(inf.get('default/a')!.kind, 'Pod', 'list items get their kind');
    await until(() => api.watchers.size === 1);
    const watchReq = api.requests.find((r) => r.query.get('watch') === 'true')!;
    assert.equal(watchReq.query.get('resourceVersion'), '102');
    assert.equal(watchReq.query.get('allowWatchBookmarks'), 'true');
    assert.equal(watchReq.query.get('timeoutSeconds'), '60');

    log.length = 0;
    const c = await client.pods('default').create(pod('c', { node: 'n1', owner: 'set-1' }));
    await client.pods('default').patch('c', { spec: { nodeName: 'n2' } });
    await client.pods('other').delete('b');
    await until(() => log.length === 3);
    assert.deepEqual(log, ['add default/c', `update default/c ${c.metadata.resourceVersion}->104`, 'delete other/b']);

    assert.deepEqual(inf.keys().sort(), ['default/a', 'default/c']);
    assert.deepEqual(inf.byIndex('node', 'n2').map(keyOf), ['default/c']);
    assert.deepEqual(inf.byIndex('node', 'n1').map(keyOf), ['default/a']);
    assert.deepEqual(inf.list('other'), []);
    assert.equal(inf.list('default').length, 2);
    // an index added late covers what is already cached
    inf.addIndexer('owner', indexers.controllerUid);
    assert.deepEqual(inf.byIndex('owner', 'set-1').map(keyOf).sort(), ['default/a', 'default/c']);
    assert.throws(() => inf.byIndex('nope', 'x'), /index "nope" does not exist/);
    assert.equal(inf.lastSyncResourceVersion(), '105');

    // a late handler is told about everything cached
    const late: string[] = [];
    const remove = inf.addEventHandler({ onAdd: (o) => late.push(keyOf(o)) });
    assert.deepEqual(late.sort(), ['default/a', 'default/c']);
    remove();
    inf.stop();
    await until(() => api.watchers.size === 0);
  });

  it('respects namespace and label selector', async () => {
    const { api, client } = setup();
    api.seed('', 'v1', 'pods', pod('a', { labels: { app: 'web' } }));
    api.seed('', 'v1', 'pods', pod('b', { labels: { app: 'db' } }));
    api.seed('', 'v1', 'pods', pod('c', { ns: 'other', labels: { app: 'web' } }));
    const inf = new Informer(client, resources.pods, { namespace: 'default', labelSelector: 'app=web' }).start();
    await inf.synced();
    assert.deepEqual(inf.keys(), ['default/a']);
    assert.equal(api.requests[0].path, '/api/v1/namespaces/default/pods');
    await until(() => api.watchers.size === 1);
    await client.pods('default').create(pod('d', { labels: { app: 'web' } }));
    await client.pods('other').create(pod('e', { ns: 'other', labels: { app: 'web' } }));
    await until(() => inf.keys().length === 2);
    assert.deepEqual(inf.keys().sort(), ['default/a', 'default/d']);
    inf.stop();
  });

  it('resumes from the last resourceVersion when a watch ends, without replaying', async () => {
    const { api, client } = setup();
    api.seed('', 'v1', 'nodes', { metadata: { name: 'n1' } });
    const inf = new Informer(client, resources.nodes).start();
    const log = recorder(inf);
    await inf.synced();
    await until(() => api.watchers.size === 1);
    await client.nodes().create({ metadata: { name: 'n2' } });
    await until(() => log.length === 2);
    api.endWatches();
    await until(() => api.watchers.size === 1);
    const watches = api.requests.filter((r) => r.query.get('watch') === 'true');
    assert.equal(watches.length, 2);
    assert.equal(watches[1].query.get('resourceVersion'), '102');
    assert.equal(api.count('GET', '/nodes', false), 1, 'no relist');
    await client.nodes().create({ metadata: { name: 'n3' } });
    await until(() => log.length === 3);
    assert.deepEqual(log, ['add n1', 'add n2', 'add n3']);
    inf.stop();
  });

  for (const asResponse of [false, true]) {
    it(`relists after 410 (${asResponse ? 'as the watch response' : 'as an in-stream ERROR'}) and reports the differences`, async () => {
      const { api, client } = setup();
      api.expiredAsResponse = asResponse;
      api.seed('', 'v1', 'pods', pod('keep'));
      api.seed('', 'v1', 'pods', pod('change'));
      api.seed('', 'v1', 'pods', pod('gone'));
      const inf = new Informer(client, resources.pods, { namespace: 'default' }).start();
      inf.addIndexer('node', indexers.nodeName);
      const log = recorder(inf);
      await inf.synced();
      await until(() => api.watchers.size === 1);
      log.length = 0;

      // The stream stalls while things change, then history is compacted and the stream drops.
      api.deliver = false;
      await client.pods('default').patch('change', { spec: { nodeName: 'n9' } });
      await client.pods('default').delete('gone');
      await client.pods('default').create(pod('new'));
      api.compact();
      api.deliver = true;
      api.endWatches();

      await until(() => log.length === 3);
      assert.deepEqual(log.sort(), ['add default/new', 'delete default/gone', 'update default/change 102->104']);
      assert.deepEqual(inf.keys().sort(), ['default/change', 'default/keep', 'default/new']);
      assert.deepEqual(inf.byIndex('node', 'n9').map(keyOf), ['default/change']);
      assert.equal(inf.lastSyncResourceVersion(), '106');
      assert.equal(api.count('GET', '/pods', false), 2, 'one relist');
      await until(() => api.watchers.size === 1);
      const lastWatch = api.requests.filter((r) => r.query.get('watch') === 'true').at(-1)!;
      assert.equal(lastWatch.query.get('resourceVersion'), '106');
      inf.stop();
    });
  }

  it('does not spin when a watch fails with 410 right after a fresh list', async () => {
    const { api, client } = setup();
    for (let i = 0; i < 3; i++) api.canned.push((r) => (r.query.get('watch') ? { status: 410, body: errors.gone('too old resource version: 1 (2)').toStatus() } : undefined));
    const inf = new Informer(client, resources.pods).start();
    await inf.synced();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(api.count('GET', '/pods', false), 1);
    inf.stop();
  });

  it('moves its resourceVersion on bookmarks', async () => {
    const { api, client } = setup();
    const inf = new Informer(client, resources.pods).start();
    await inf.synced();
    await until(() => api.watchers.size === 1);
    api.rv = 500;
    api.bookmark();
    await until(() => inf.lastSyncResourceVersion() === '500');
    inf.stop();
  });

  it('backs off and retries when list or watch fail', async () => {
    const { api, client } = setup();
    await withWarnings(async (warnings) => {
      api.canned.push((r) => (r.query.get('watch') ? undefined : { status: 500, body: errors.internal('db down').toStatus() }));
      api.canned.push((r) => (r.query.get('watch') ? { status: 503, body: errors.serviceUnavailable('busy').toStatus() } : undefined));
      const inf = new Informer(client, resources.pods).start();
      assert.equal(await inf.synced(), true);
      await until(() => api.watchers.size === 1);
      assert.equal(warnings.length, 2);
      assert.match(warnings[0], /informer v1\/pods: list failed: Internal error occurred: db down/);
      assert.match(warnings[1], /watch failed: busy/);
      inf.stop();
    });
  });

  it('keeps going when a handler throws', async () => {
    const { api, client } = setup();
    await withWarnings(async () => {
      const inf = new Informer(client, resources.pods);
      inf.addEventHandler({ onAdd: () => { throw new Error('boom'); } });
      const log = recorder(inf);
      api.seed('', 'v1', 'pods', pod('a'));
      inf.start();
      await inf.synced();
      assert.deepEqual(log, ['add default/a']);
      inf.stop();
    });
  });

  it('answers synced() with false when stopped first', async () => {
    const { api, client } = setup();
    api.canned.push(() => ({ status: 500, body: errors.internal('x').toStatus() }));
    await withWarnings(async () => {
      const inf = new Informer(client, resources.pods).start();
      const waiting = inf.synced();
      inf.stop();
      assert.equal(await waiting, false);
    });
  });
});

describe('SharedInformerFactory', () => {
  it('shares one informer per resource, namespace and selectors', async () => {
    const { api, client } = setup();
    api.seed('', 'v1', 'pods', pod('a'));
    const f = new SharedInformerFactory(client);
    const a = f.informerFor(resources.pods);
    assert.equal(f.informerFor(resources.pods), a);
    assert.notEqual(f.informerFor(resources.pods, { namespace: 'default' }), a);
    assert.notEqual(f.informerFor(resources.pods, { labelSelector: 'x=y' }), a);
    assert.equal(f.informerFor(resources.nodes, { namespace: 'ignored' }), f.informerFor(resources.nodes));
    f.start();
    assert.equal(await f.waitForSync(), true);
    assert.equal(a.keys().length, 1);
    const late = f.informerFor(resources.statefulSets);
    assert.equal(await late.synced(), true, 'informers made after start() start at once');
    f.stop();
    await until(() => api.watchers.size === 0);
  });
});
