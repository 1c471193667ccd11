// In-process watchers share one deep-frozen object per watch event instead of a copy each: a
// watcher that writes to what it was given gets a TypeError, and neither another watcher, an
// HTTP watcher, an informer's cache nor the server's stored object changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clone, type KubeObject } from '../../src/api/object.js';
import type { WatchEvent } from '../../src/api/request.js';
import { ApiServer } from '../../src/apiserver/handler.js';
import { startHttpServer, tokenAuthenticator, type RunningHttpServer } from '../../src/apiserver/http.js';
import { Client, resources, type Watch } from '../../src/client/client.js';
import { HttpTransport } from '../../src/client/http-transport.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { Informer } from '../../src/client/informer.js';
import { type SqliteStore } from '../../src/store/sqlite.js';
import { newTestApi, waitFor } from '../support/server.js';

const admin = { name: 'admin', groups: ['system:masters'] };

const pod = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image: 'nginx' }] },
});

/** Reads a watch event by event (breaking out of a for-await would stop the watch). */
function reader(w: Watch): () => Promise<WatchEvent> {
  const it = w[Symbol.asyncIterator]();
  return async () => {
    for (;;) {
      const r = await it.next();
      if (r.done) throw new Error('the watch ended');
      if (r.value.type !== 'BOOKMARK') return r.value;
    }
  };
}

describe('in-process watch events are shared frozen', () => {
  let store: SqliteStore;
  let api: ApiServer;
  let http: RunningHttpServer;
  let httpTransport: HttpTransport;
  let a: Client;
  let b: Client;

  before(async () => {
    ({ api, store } = await newTestApi());
    http = await startHttpServer({ handler: api.handle, authenticate: tokenAuthenticator(new Map([['t0k', admin]])), host: '127.0.0.1', port: 0 });
    httpTransport = new HttpTransport({ server: http.url, token: 't0k' });
    a = new Client(new InProcessTransport(api.handle, admin));
    b = new Client(new InProcessTransport(api.handle, admin));
    await a.namespaces().create({ metadata: { name: 'shared' } });
  });
  after(async () => {
    httpTransport.close();
    await http.close();
    await store.close();
  });

  it('a watcher cannot change what another watcher, an HTTP watcher or the server holds', async () => {
    const rv = (await a.pods('shared').list()).metadata.resourceVersion;
    const wa = await a.pods('shared').watch({ resourceVersion: rv });
    const wb = await b.pods('shared').watch({ resourceVersion: rv });
    const wh = await new Client(httpTransport).pods('shared').watch({ resourceVersion: rv });
    const [na, nb, nh] = [reader(wa), reader(wb), reader(wh)];
    try {
      await a.pods('shared').create(pod('web-0'));
      const [ea, eb, eh] = await Promise.all([na(), nb(), nh()]);
      assert.equal(ea.type, 'ADDED');
      assert.equal(eb.type, 'ADDED');

      const mine = ea.object as KubeObject;
      assert.ok(Object.isFrozen(mine) && Object.isFrozen(mine.metadata.labels) && Object.isFrozen(mine.spec.containers[0]));
      assert.throws(() => {
        mine.metadata.labels!.app = 'changed';
      }, TypeError);
      assert.throws(() => {
        mine.spec.containers[0].image = 'changed';
      }, TypeError);
      assert.throws(() => {
        mine.spec.containers.push({ name: 'extra', image: 'x' });
      }, TypeError);
      assert.throws(() => {
        delete mine.metadata.labels;
      }, TypeError);

      // the other watchers, and the server, still have the object as it was written
      for (const o of [eb.object as KubeObject, eh.object as KubeObject, await b.pods('shared').get('web-0')]) {
        assert.equal(o.metadata.labels?.app, 'web');
        assert.equal(o.spec.containers[0].image, 'nginx');
        assert.equal(o.spec.containers.length, 1);
      }

      // a copy is the watcher's own to change, and changes nothing else
      const copy = clone(mine);
      copy.metadata.labels!.app = 'mine';
      assert.equal((eb.object as KubeObject).metadata.labels?.app, 'web');

      // what a client reads (not a watch event) stays its own, unfrozen, and changing it changes nothing stored
      const got = await a.pods('shared').get('web-0');
      assert.equal(Object.isFrozen(got), false);
      got.spec.containers[0].image = 'local';
      assert.equal((await b.pods('shared').get('web-0')).spec.containers[0].image, 'nginx');

      // the next event (an update) is shared frozen too, and carries the written change only
      await a.pods('shared').patch('web-0', { metadata: { labels: { app: 'api' } } });
      const [ma, mb] = await Promise.all([na(), nb()]);
      assert.equal(ma.type, 'MODIFIED');
      assert.ok(Object.isFrozen(ma.object) && Object.isFrozen((ma.object as KubeObject).spec));
      assert.equal((mb.object as KubeObject).metadata.labels?.app, 'api');
      assert.equal((mb.object as KubeObject).spec.containers[0].image, 'nginx');
      assert.notEqual((mb.object as KubeObject).metadata.resourceVersion, (eb.object as KubeObject).metadata.resourceVersion);

      // status writes read the stored object shared: what they answer is still the caller's own,
      // a no-op one included, and the watchers' earlier events stay as they were
      const current = clone(mb.object as KubeObject);
      const written = await a.pods('shared').updateStatus({ ...current, status: { phase: 'Pending', message: 'one' } });
      assert.equal(Object.isFrozen(written) || Object.isFrozen(written.status) || Object.isFrozen(written.spec), false);
      written.status.message = 'changed by the caller';
      const same = await a.pods('shared').updateStatus({ ...written, status: { phase: 'Pending', message: 'one' } });
      assert.equal(same.metadata.resourceVersion, written.metadata.resourceVersion, 'a no-op');
      assert.equal(Object.isFrozen(same) || Object.isFrozen(same.spec), false);
      same.spec.containers[0].image = 'changed by the caller';
      const [sa] = await Promise.all([na(), nb()]);
      assert.equal(sa.type, 'MODIFIED');
      assert.equal((sa.object as KubeObject).status.message, 'one');
      assert.equal((mb.object as KubeObject).status?.message, undefined);
      const stored = await b.pods('shared').get('web-0');
      assert.equal(stored.status.message, 'one');
      assert.equal(stored.spec.containers[0].image, 'nginx');
    } finally {
      wa.stop();
      wb.stop();
      wh.stop();
    }
  });

  it("an informer's cached objects are frozen, from its list and from its watch, over either transport", async () => {
    await a.pods('shared').create(pod('listed'));
    for (const c of [a, new Client(httpTransport)]) {
      const inf = new Informer(c, resources.pods, { namespace: 'shared' }).start();
      try {
        assert.equal(await inf.synced(), true);
        const listed = inf.get('shared/listed')!;
        assert.ok(Object.isFrozen(listed) && Object.isFrozen(listed.spec.containers));
        assert.throws(() => {
          listed.metadata.annotations = { x: 'y' };
        }, TypeError);
        const seen: KubeObject[] = [];
        inf.addEventHandler({ onAdd: (o) => seen.push(o) });
        const name = `watched-${c === a ? 'in' : 'http'}`;
        await a.pods('shared').create(pod(name));
        await waitFor(() => seen.some((o) => o.metadata.name === name), 30_000, `the informer to see ${name}`);
        const watched = inf.get(`shared/${name}`)!;
        assert.ok(Object.isFrozen(watched.metadata));
        assert.throws(() => {
          watched.metadata.labels!.app = 'changed';
        }, TypeError);
        assert.equal((await a.pods('shared').get(name)).metadata.labels?.app, 'web');
      } finally {
        inf.stop();
      }
    }
  });
});
