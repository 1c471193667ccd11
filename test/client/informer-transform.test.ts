// Informers with the stripManagedFields transform (as the controllers, the scheduler and the node
// agents use them) cache objects without metadata.managedFields, share one trimmed object per
// event between them, and writes built from what they cache keep the stored managedFields.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clone, type KubeObject } from '../../src/api/object.js';
import { Client, resources } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { Informer, stripManagedFields } from '../../src/client/informer.js';
import { type SqliteStore } from '../../src/store/sqlite.js';
import { newTestApi, waitFor } from '../support/server.js';

const admin = { name: 'admin', groups: ['system:masters'] };
const NS = 'trimmed';

describe('informers that strip managedFields', () => {
  let store: SqliteStore;
  let client: Client;
  const informers: Informer[] = [];

  before(async () => {
    const t = await newTestApi();
    store = t.store;
    client = new Client(new InProcessTransport(t.api.handle, admin));
    await client.namespaces().create({ metadata: { name: NS } });
  });
  after(async () => {
    for (const i of informers) i.stop();
    await store.close();
  });

  const informer = (strip: boolean) => {
    const i = new Informer(client, resources.pods, { namespace: NS, ...(strip ? { transform: stripManagedFields } : {}) });
    informers.push(i);
    return i.start();
  };

  it('cache objects without managedFields, one shared object per event, and writes from them keep the stored ones', async () => {
    // one informer lists the pod (created before it started), the others watch it arrive
    await client.pods(NS).create({ metadata: { name: 'listed' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    const a = informer(true);
    await a.synced();
    const b = informer(true);
    const plain = informer(false);
    await Promise.all([b.synced(), plain.synced()]);
    await client.pods(NS).create({ metadata: { name: 'watched', labels: { v: '1' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    const key = `${NS}/watched`;
    await waitFor(() => a.get(key) && b.get(key) && plain.get(key));

    for (const name of ['listed', 'watched']) {
      const cached = a.get(`${NS}/${name}`)!;
      assert.equal(cached.metadata.managedFields, undefined, name);
      assert.equal(cached.metadata.name, name);
      assert.ok(Object.isFrozen(cached) && Object.isFrozen(cached.metadata), 'still frozen');
    }
    // the untrimmed informer keeps what the server sent
    assert.ok(Array.isArray(plain.get(key)!.metadata.managedFields) && plain.get(key)!.metadata.managedFields!.length > 0);
    // the event's object was trimmed once for both informers
    assert.equal(a.get(key), b.get(key));
    assert.equal(a.get(key)!.spec, plain.get(key)!.spec, 'the rest is shared with the untrimmed object');

    // an update sent from the trimmed copy keeps the stored managedFields (absent: unchanged)
    const changed = clone(a.get(key)!) as KubeObject;
    changed.metadata.labels = { v: '2' };
    const updated = await client.pods(NS).update(changed);
    const managers = (updated.metadata.managedFields ?? []).map((m: any) => m.manager);
    assert.ok(managers.length > 0, 'managedFields kept');
    assert.deepEqual((await client.pods(NS).get('watched')).metadata.managedFields, updated.metadata.managedFields);
    await waitFor(() => a.get(key)?.metadata.labels?.v === '2');
    assert.equal(a.get(key)!.metadata.managedFields, undefined);
  });

  it('leaves objects without managedFields as they are', () => {
    const obj = Object.freeze({ apiVersion: 'v1', kind: 'Pod', metadata: Object.freeze({ name: 'x' }) }) as KubeObject;
    assert.equal(stripManagedFields(obj), obj);
  });
});
