// The client against petset's own API server (in-process and over HTTP), to keep the
// two sides' idea of the protocol the same.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { ApiServer } from '../../src/apiserver/handler.js';
import { startHttpServer, tokenAuthenticator, type RunningHttpServer } from '../../src/apiserver/http.js';
import { Client, resources } from '../../src/client/client.js';
import { EventRecorder } from '../../src/client/events.js';
import { HttpTransport } from '../../src/client/http-transport.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { Informer, keyOf } from '../../src/client/informer.js';
import { type SqliteStore } from '../../src/store/sqlite.js';
import { newTestApi } from '../support/server.js';

const pod = (name: string, labels: Record<string, string> = { app: 'web' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'app', image: 'nginx' }] },
});

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Client against the petset API server', () => {
  let store: SqliteStore;
  let api: ApiServer;
  let http: RunningHttpServer;
  let httpTransport: HttpTransport;
  const clients: Record<string, Client> = {};

  before(async () => {
    ({ api, store } = await newTestApi());
    const admin = { name: 'admin', groups: ['system:masters'] };
    http = await startHttpServer({ handler: api.handle, authenticate: tokenAuthenticator(new Map([['t0k', admin]])), host: '127.0.0.1', port: 0 });
    httpTransport = new HttpTransport({ server: http.url, token: 't0k' });
    clients['in-process'] = new Client(new InProcessTransport(api.handle, admin));
    clients.http = new Client(httpTransport);
  });
  after(async () => {
    httpTransport.close();
    await http.close();
    await store.close();
  });

  for (const via of ['in-process', 'http']) {
    it(`does CRUD, patches and errors (${via})`, async () => {
      const c = clients[via];
      const ns = `crud-${via}`;
      await c.namespaces().create({ metadata: { name: ns } });
      const pods = c.pods(ns);
      const p = await pods.create(pod('web-0'));
      assert.ok(p.metadata.uid && p.metadata.resourceVersion);
      await assert.rejects(pods.create(pod('web-0')), (e) => isApiError(e, 'AlreadyExists') && e.message === 'pods "web-0" already exists');
      await assert.rejects(pods.get('nope'), (e) => isApiError(e, 'NotFound') && e.message === 'pods "nope" not found');
      const list = await c.pods().list({ labelSelector: 'app=web', fieldSelector: `metadata.namespace=${ns}` });
      assert.deepEqual(list.items.map((i) => `${i.kind} ${i.metadata.name}`), ['Pod web-0']);

      await pods.patch('web-0', { metadata: { labels: { merge: 'yes' } } }, 'merge');
      await pods.patch('web-0', { metadata: { labels: { strategic: 'yes' } } }, 'strategic');
      await pods.patch('web-0', [{ op: 'add', path: '/metadata/labels/json', value: 'yes' }], 'json');
      await pods.patch('web-0', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', labels: { applied: 'yes' } } }, 'apply', { fieldManager: 'tester' });
      const patched = await pods.get('web-0');
      assert.deepEqual(Object.keys(patched.metadata.labels!).sort(), ['app', 'applied', 'json', 'merge', 'strategic']);

      await assert.rejects(pods.update(p), (e) => isApiError(e, 'Conflict') && /the object has been modified/.test(e.message));
      const invalid = { ...patched, spec: { ...patched.spec, containers: [] } };
      await assert.rejects(pods.update(invalid), (e) => isApiError(e, 'Invalid') && e.code === 422);

      const withStatus = await pods.get('web-0');
      withStatus.status = { ...withStatus.status, phase: 'Running' };
      assert.equal((await pods.updateStatus(withStatus)).status.phase, 'Running');

      await assert.rejects(pods.delete('web-0', { preconditions: { uid: 'wrong' } }), (e) => isApiError(e, 'Conflict') && /the UID in the precondition \(wrong\) does not match/.test(e.message));
      await pods.delete('web-0', { gracePeriodSeconds: 0 });
      await until(async () => !(await pods.list()).items.length);
    });
  }

  for (const via of ['in-process', 'http']) {
    it(`scales a StatefulSet through the scale subresource (${via})`, async () => {
      const c = clients[via];
      const sets = c.statefulSets('default');
      const name = `web-${via}`;
      await sets.create({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name },
        spec: { replicas: 1, serviceName: name, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
      });
      assert.equal((await sets.getScale(name)).spec.replicas, 1);
      assert.equal((await sets.patchScale(name, 4)).spec.replicas, 4);
      assert.equal((await sets.get(name)).spec.replicas, 4);
    });
  }

  // Over HTTP only: the in-process path of the same logic is covered against the fake server.
  for (const via of ['http']) {
    it(`keeps an informer current, through a compaction and relist (${via})`, async () => {
      const lists: string[] = [];
      const inner = clients[via].transport;
      // Without bookmarks the informer's resourceVersion stays behind the compaction, so its
      // next watch (after the 1 s timeout) meets the server's 410.
      const c = new Client({
        request: (r) => {
          if (r.query.has('watch')) r.query.delete('allowWatchBookmarks');
          else if (r.method === 'GET' && r.path.endsWith('/pods')) lists.push(r.path);
          return inner.request(r);
        },
      });
      const ns = `inf-${via}`;
      await c.namespaces().create({ metadata: { name: ns } });
      await c.pods(ns).create(pod('a'));
      const inf = new Informer(c, resources.pods, { namespace: ns, watchTimeoutSeconds: 1 }).start();
      try {
        const log: string[] = [];
        inf.addEventHandler({ onAdd: (o) => log.push(`add ${keyOf(o)}`), onUpdate: () => {}, onDelete: (o) => log.push(`delete ${keyOf(o)}`) });
        assert.equal(await inf.synced(), true);
        await c.pods(ns).create(pod('b'));
        await until(() => log.length === 2);
        assert.deepEqual(log, [`add ${ns}/a`, `add ${ns}/b`]);
        // Write elsewhere so that the informer's resourceVersion falls behind the compaction.
        const rvBefore = Number(inf.lastSyncResourceVersion());
        for (let i = 0; i < 3; i++) await c.namespaces().create({ metadata: { name: `${ns}-filler-${i}` } });
        const latest = Number((await c.namespaces().list()).metadata.resourceVersion);
        assert.ok(latest > rvBefore);
        await store.compact(latest);
        await until(() => Number(inf.lastSyncResourceVersion()) >= latest, 4000);
        // one relist is expected; a loaded machine can time a watch out once more
        assert.ok(lists.length >= 2, 'relisted');
        await c.pods(ns).delete('a', { gracePeriodSeconds: 0 });
        await until(() => inf.get(`${ns}/a`) === undefined);
        assert.deepEqual(inf.keys(), [`${ns}/b`]);
      } finally {
        inf.stop();
      }
    });
  }

  it('records and counts Events', async () => {
    const c = clients['in-process'];
    const rec = new EventRecorder(c, 'statefulset-controller');
    const set = await c.statefulSets('default').get('web-in-process');
    rec.event(set, 'Normal', 'SuccessfulCreate', 'create Pod web-0 in StatefulSet web successful');
    rec.event(set, 'Normal', 'SuccessfulCreate', 'create Pod web-0 in StatefulSet web successful');
    await rec.flush();
    const events = (await c.events('default').list({ fieldSelector: 'involvedObject.name=web-in-process' })).items;
    assert.equal(events.length, 1);
    assert.equal(events[0].count, 2);
    assert.equal(events[0].involvedObject.kind, 'StatefulSet');
    assert.equal(events[0].source.component, 'statefulset-controller');
  });
});
