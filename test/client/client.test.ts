import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, errors, isApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { Client, resources } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { FakeApi } from './fake-api.js';

function setup() {
  const api = new FakeApi();
  const client = new Client(new InProcessTransport(api.handler, { name: 'tester', groups: ['system:masters'] }));
  return { api, client };
}

const pod = (name: string, labels: Record<string, string> = {}, ns = 'default'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels },
  spec: { containers: [{ name: 'app', image: 'nginx' }] },
});

describe('Client URLs', () => {
  it('builds core, grouped, namespaced and cluster-scoped paths', () => {
    const { client } = setup();
    assert.equal(client.pods('ns1').path('web-0'), '/api/v1/namespaces/ns1/pods/web-0');
    assert.equal(client.pods().path(), '/api/v1/pods');
    assert.equal(client.nodes().path('n1', 'status'), '/api/v1/nodes/n1/status');
    assert.equal(client.statefulSets('a').path('web', 'scale'), '/apis/apps/v1/namespaces/a/statefulsets/web/scale');
    assert.equal(client.storageClasses().path(), '/apis/storage.k8s.io/v1/storageclasses');
    assert.equal(client.leases('kube-node-lease').path('n1'), '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1');
    assert.equal(client.endpointSlices('x').path(), '/apis/discovery.k8s.io/v1/namespaces/x/endpointslices');
    assert.equal(client.podDisruptionBudgets('x').path(), '/apis/policy/v1/namespaces/x/poddisruptionbudgets');
    assert.equal(client.namespaces().path('kube-system'), '/api/v1/namespaces/kube-system');
    // a namespace given for a cluster-scoped type is ignored
    assert.equal(client.resource(resources.persistentVolumes, 'ns').path('pv1'), '/api/v1/persistentvolumes/pv1');
  });

  it('needs a namespace for name-based calls on namespaced types', async () => {
    const { client } = setup();
    await assert.rejects(client.pods().get('x'), /a namespace is required/);
  });
});

describe('Client CRUD through the in-process transport', () => {
  it('creates, gets, lists, updates and deletes', async () => {
    const { api, client } = setup();
    const created = await client.pods('default').create(pod('web-0', { app: 'web' }));
    assert.equal(created.metadata.resourceVersion, '101');
    await client.pods('default').create(pod('db-0', { app: 'db' }));
    await client.pods('other').create(pod('web-1', { app: 'web' }, 'other'));

    const got = await client.pods('default').get('web-0');
    assert.equal(got.metadata.uid, created.metadata.uid);

    const webs = await client.pods().list({ labelSelector: 'app=web' });
    assert.deepEqual(webs.items.map((p) => p.metadata.name).sort(), ['web-0', 'web-1']);
    assert.equal(webs.metadata.resourceVersion, '103');
    // items come back with kind and apiVersion filled in
    assert.equal(webs.items[0].kind, 'Pod');
    assert.equal(webs.items[0].apiVersion, 'v1');
    assert.equal(api.requests.at(-1)!.query.get('labelSelector'), 'app=web');

    got.metadata.labels = { app: 'web', tier: 'front' };
    const updated = await client.pods('default').update(got);
    assert.equal(updated.metadata.labels!.tier, 'front');

    // writes through an all-namespaces client take the namespace from the object
    const viaAll = await client.pods().update(updated);
    assert.equal(viaAll.metadata.namespace, 'default');

    const status = await client.pods('default').delete('web-0', { gracePeriodSeconds: 0, propagationPolicy: 'Background', preconditions: { uid: created.metadata.uid } });
    assert.equal((status as any).status, 'Success');
    assert.deepEqual(api.requests.at(-1)!.body, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 0,
      propagationPolicy: 'Background',
      preconditions: { uid: created.metadata.uid },
    });
    await assert.rejects(client.pods('default').get('web-0'), (e) => isApiError(e, 'NotFound') && e.message === 'pods "web-0" not found' && e.code === 404);
  });

  it('rebuilds ApiErrors from Status answers', async () => {
    const { client } = setup();
    const pods = client.pods('default');
    const p = await pods.create(pod('web-0'));
    await assert.rejects(pods.create(pod('web-0')), (e) => isApiError(e, 'AlreadyExists') && e.code === 409 && e.details?.name === 'web-0');
    await pods.update({ ...p, metadata: { ...p.metadata, labels: { a: 'b' } } });
    await assert.rejects(pods.update(p), (e) => {
      assert.ok(isApiError(e, 'Conflict'));
      assert.equal(e.message, 'Operation cannot be fulfilled on pods "web-0": the object has been modified; please apply your changes to the latest version and try again');
      assert.deepEqual(e.details, { name: 'web-0', kind: 'pods' });
      return true;
    });
    await assert.rejects(pods.delete('web-0', { preconditions: { uid: 'nope' } }), (e) => isApiError(e, 'Conflict'));
    await assert.rejects(client.statefulSets('default').get('web'), (e) => isApiError(e, 'NotFound') && e.message === 'statefulsets.apps "web" not found');
  });

  it('turns non-Status error bodies and thrown ApiErrors into ApiErrors', async () => {
    const { api, client } = setup();
    api.canned.push(() => ({ status: 404, body: '404 page not found\n' }));
    await assert.rejects(client.nodes().get('x'), (e) => isApiError(e, 'NotFound') && e.message === '404 page not found');
    api.canned.push(() => {
      throw errors.forbidden({ group: '', resource: 'nodes' }, 'x', 'no');
    });
    await assert.rejects(client.nodes().get('x'), (e) => isApiError(e, 'Forbidden') && e.code === 403);
    api.canned.push(() => ({ status: 503, body: undefined }));
    await assert.rejects(client.nodes().get('x'), (e) => e instanceof ApiError && e.reason === 'ServiceUnavailable');
  });

  it('retries 429 answers after Retry-After', async () => {
    const { api, client } = setup();
    await client.nodes().create({ metadata: { name: 'n1' } });
    api.canned.push(() => ({ status: 429, body: errors.tooManyRequests('slow down').toStatus(), headers: { 'retry-after': '0' } }));
    api.canned.push(() => ({ status: 429, body: { ...errors.tooManyRequests('slow down').toStatus(), details: { retryAfterSeconds: 0 } } }));
    const n = await client.nodes().get('n1');
    assert.equal(n.metadata.name, 'n1');
    assert.equal(api.count('GET', '/nodes/n1'), 3);
    const noRetry = new Client(new InProcessTransport(api.handler), { maxThrottleRetries: 0 });
    api.canned.push(() => ({ status: 429, body: errors.tooManyRequests('slow down').toStatus() }));
    await assert.rejects(noRetry.nodes().get('n1'), (e) => isApiError(e, 'TooManyRequests'));
  });

  it('copies bodies both ways', async () => {
    const { api, client } = setup();
    const mine = pod('web-0');
    const created = await client.pods('default').create(mine);
    mine.metadata.labels = { changed: 'yes' };
    created.spec.containers[0].image = 'mutated';
    const stored = api.objects.get('/pods/default/web-0')!;
    assert.equal(stored.metadata.labels?.changed, undefined);
    assert.equal(stored.spec.containers[0].image, 'nginx');
    assert.equal(api.requests.at(-1)!.user?.name, 'tester');
    // in-process bodies are not measured (no JSON encoding just for the size)
    assert.equal(api.requests.at(-1)!.bodyBytes, undefined);
  });

  it('patches with the right content type and options', async () => {
    const { api, client } = setup();
    const pods = client.pods('default');
    await pods.create(pod('web-0'));
    const cases = [
      ['merge', 'application/merge-patch+json'],
      ['strategic', 'application/strategic-merge-patch+json'],
      ['json', 'application/json-patch+json'],
    ] as const;
    for (const [type, ct] of cases) {
      // the fake server only understands merge-style patches
      const body = type === 'json' ? [{ op: 'add', path: '/metadata/labels/x', value: 'y' }] : { metadata: { labels: { [type]: 'x' } } };
      await pods.patch('web-0', body, type).catch((e) => assert.ok(type === 'json' && isApiError(e, 'UnsupportedMediaType')));
      assert.equal(api.requests.at(-1)!.headers['content-type'], ct);
      assert.deepEqual(api.requests.at(-1)!.body, body);
    }
    await assert.rejects(pods.patch('web-0', {}, 'apply'), /fieldManager/);
    await pods.patch('web-0', { metadata: { labels: { a: 'b' } } }, 'apply', { fieldManager: 'me', force: true, dryRun: true });
    const last = api.requests.at(-1)!;
    assert.equal(last.headers['content-type'], 'application/apply-patch+yaml');
    assert.equal(last.query.toString(), 'dryRun=All&fieldManager=me&force=true');
    await pods.patch('web-0', { status: { phase: 'Running' } }, 'merge', { subresource: 'status' });
    assert.equal(api.requests.at(-1)!.path, '/api/v1/namespaces/default/pods/web-0/status');
  });

  it('reaches status, scale and other subresources', async () => {
    const { api, client } = setup();
    const sts = client.statefulSets('default');
    const set = await sts.create({ metadata: { name: 'web' }, spec: { replicas: 1 } });
    set.status = { replicas: 1 };
    await sts.updateStatus(set);
    assert.equal(api.requests.at(-1)!.path, '/apis/apps/v1/namespaces/default/statefulsets/web/status');
    const scale = await sts.getScale('web');
    assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.replicas], ['Scale', 1, 1]);
    const scaled = await sts.patchScale('web', 3);
    assert.equal(scaled.spec.replicas, 3);
    assert.equal((await sts.get('web')).spec.replicas, 3);

    await client.pods('default').create(pod('web-0'));
    await client.pods('default').createSubresource('web-0', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'web-0' }, target: { kind: 'Node', name: 'n1' } });
    assert.equal((await client.pods('default').get('web-0')).spec.nodeName, 'n1');
  });

  it('pages through lists with listAll and deletes collections', async () => {
    const { api, client } = setup();
    for (let i = 0; i < 7; i++) await client.pods('default').create(pod(`p${i}`));
    const page = await client.pods('default').list({ limit: 3 });
    assert.equal(page.items.length, 3);
    assert.equal(page.metadata.continue, '3');
    const all = await client.pods('default').listAll({ limit: 3 });
    assert.equal(all.items.length, 7);
    assert.equal(all.metadata.continue, undefined);
    assert.equal(api.count('GET', '/pods') - 1, 3);
    await client.pods('default').deleteCollection({ labelSelector: '' });
    assert.equal((await client.pods('default').list()).items.length, 0);
  });

  it('watches as an async iterable and stops cleanly', async () => {
    const { api, client } = setup();
    await client.pods('default').create(pod('a'));
    const w = await client.pods('default').watch({ resourceVersion: '100', allowWatchBookmarks: true, timeoutSeconds: 30 });
    const q = api.requests.at(-1)!.query;
    assert.equal(q.toString(), 'watch=true&resourceVersion=100&allowWatchBookmarks=true&timeoutSeconds=30');
    const seen: string[] = [];
    const done = (async () => {
      for await (const ev of w) {
        seen.push(`${ev.type} ${(ev.object as KubeObject).metadata.name}`);
        if (seen.length === 3) break;
      }
    })();
    const b = await client.pods('default').create(pod('b'));
    await client.pods('default').delete('b');
    await done;
    assert.deepEqual(seen, ['ADDED a', 'ADDED b', 'DELETED b']);
    assert.equal(api.watchers.size, 0, 'breaking out of the loop stops the server stream');
    assert.equal(b.metadata.name, 'b');

    // the server ending the stream ends iteration
    const w2 = await client.pods('default').watch();
    const got: string[] = [];
    const loop = (async () => {
      for await (const ev of w2) got.push(ev.type);
    })();
    await new Promise((r) => setImmediate(r));
    api.endWatches();
    await loop;
    assert.deepEqual(got, ['ADDED']);

    // stop() from outside ends a waiting loop
    const w3 = await client.pods('default').watch({ resourceVersion: String(api.rv) });
    const loop3 = (async () => {
      for await (const _ of w3) assert.fail('no events expected');
    })();
    w3.stop();
    await loop3;
  });

  it('rejects a refused watch with the ApiError', async () => {
    const { api, client } = setup();
    api.canned.push(() => ({ status: 403, body: errors.forbidden({ group: '', resource: 'pods' }, undefined, 'nope').toStatus() }));
    await assert.rejects(client.pods().watch(), (e) => isApiError(e, 'Forbidden') && e.message === 'pods is forbidden: nope');
  });
});
