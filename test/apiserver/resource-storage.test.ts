// The core write pipeline on its own (ResourceStorage, as the API server builds it): what
// create, update and delete do to an object, and the errors they answer, without HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../../src/api/errors.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import type { SqliteStore } from '../../src/store/sqlite.js';
import { KeyExistsError } from '../../src/store/store.js';
import { newTestApi } from '../support/server.js';

let api: ApiServer;
let store: SqliteStore;
const kind = (plural: string, group = '') => api.registry.kinds.find((k) => k.plural === plural && k.group === group)!;
const cm = (name: string, data: Record<string, string> = { a: '1' }, extra: Record<string, any> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data });

async function fails(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isApiError(e), `an API error: ${e}`);
    return { code: (e as any).code ?? (e as any).status?.code, reason: (e as any).status?.reason ?? (e as any).reason, message: (e as any).message };
  }
  throw new Error('expected a failure');
}

before(async () => {
  ({ api, store } = await newTestApi());
});

after(async () => {
  await store.close();
});

test('create fills in the system fields and generates names', async () => {
  const created = await api.storage.create(kind('configmaps'), 'default', cm('one'));
  assert.match(created.metadata.uid!, /^[0-9a-f-]{36}$/);
  assert.ok(Number(created.metadata.resourceVersion) > 0);
  assert.ok(created.metadata.creationTimestamp);
  const generated = await api.storage.create(kind('configmaps'), 'default', cm('', {}, { name: undefined, generateName: 'gen-' }));
  assert.match(generated.metadata.name!, /^gen-[a-z0-9]{5}$/);
  const again = await fails(api.storage.create(kind('configmaps'), 'default', cm('one')));
  assert.equal(again.code, 409);
  assert.match(again.message, /configmaps "one" already exists/);
});

test('a generated name that is taken is generated again, up to eight tries (upstream RetryGenerateName)', async () => {
  const create = store.create;
  let collisions = 0;
  let limit = 3;
  // the first tries of a generated name find it taken
  store.create = async function (this: SqliteStore, key: string, value: any) {
    if (key.includes('/taken-') && collisions < limit) {
      collisions++;
      throw new KeyExistsError(key);
    }
    return create.call(this, key, value);
  } as typeof store.create;
  try {
    const made = await api.storage.create(kind('configmaps'), 'default', cm('', {}, { name: undefined, generateName: 'taken-' }));
    assert.equal(collisions, 3);
    assert.match(made.metadata.name!, /^taken-[a-z0-9]{5}$/);
    assert.ok(await api.storage.get(kind('configmaps'), 'default', made.metadata.name!));
    collisions = 0;
    limit = Infinity;
    const taken = await fails(api.storage.create(kind('configmaps'), 'default', cm('', {}, { name: undefined, generateName: 'taken-' })));
    assert.equal(collisions, 8);
    assert.equal(taken.code, 409);
    assert.match(taken.message, /^configmaps "taken-[a-z0-9]{5}" already exists, the server was not able to generate a unique name for the object$/);
  } finally {
    store.create = create;
  }
});

test('invalid objects are refused with field paths, and a dry run stores nothing', async () => {
  const bad = await fails(api.storage.create(kind('configmaps'), 'default', cm('Bad_Name')));
  assert.equal(bad.code, 422);
  assert.match(bad.message, /metadata\.name: Invalid value: "Bad_Name"/);
  const dry = await api.storage.create(kind('configmaps'), 'default', cm('dry'), { dryRun: true });
  assert.equal(dry.metadata.name, 'dry');
  assert.equal(await api.storage.tryGet(kind('configmaps'), 'default', 'dry'), undefined);
});

test('an update from a stale resourceVersion conflicts; an immutable ConfigMap stays as it is', async () => {
  const cur = await api.storage.get(kind('configmaps'), 'default', 'one');
  await api.storage.update(kind('configmaps'), 'default', 'one', { ...cur, data: { a: '2' } });
  const stale = await fails(api.storage.update(kind('configmaps'), 'default', 'one', { ...cur, data: { a: '3' } }));
  assert.equal(stale.code, 409);
  assert.match(stale.message, /Operation cannot be fulfilled on configmaps "one": the object has been modified; please apply your changes to the latest version and try again/);
  const frozen = await api.storage.create(kind('configmaps'), 'default', { ...cm('frozen'), immutable: true });
  const changed = await fails(api.storage.update(kind('configmaps'), 'default', 'frozen', { ...frozen, data: { a: 'x' } }));
  assert.equal(changed.code, 422);
  assert.match(changed.message, /field is immutable when `immutable` is set/);
});

test('what a service took for a dry run or a refused create is given back', async () => {
  const svcs = kind('services');
  const first = await api.storage.create(svcs, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'probe' }, spec: { ports: [{ port: 80 }] } });
  // an address in the same range that no service holds yet (the first one's own address is random)
  const taken = new Set((await api.storage.list(svcs, undefined)).items.map((s: any) => s.spec?.clusterIP));
  let last = 77;
  while (taken.has(first.spec.clusterIP.replace(/\.\d+$/, `.${last}`))) last++;
  const ip = first.spec.clusterIP.replace(/\.\d+$/, `.${last}`);
  await api.storage.create(svcs, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'dry' }, spec: { clusterIP: ip, ports: [{ port: 80 }] } }, { dryRun: true });
  await fails(api.storage.create(svcs, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'Refused!' }, spec: { clusterIP: ip, ports: [{ port: 80 }] } }));
  const real = await api.storage.create(svcs, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'real' }, spec: { clusterIP: ip, ports: [{ port: 80 }] } });
  assert.equal(real.spec.clusterIP, ip);
});

test('delete with finalizers marks the object; it goes when the last finalizer does; preconditions are checked', async () => {
  const held = await api.storage.create(kind('configmaps'), 'default', cm('held', {}, { finalizers: ['example.com/hold'] }));
  const marked = await api.storage.delete(kind('configmaps'), 'default', 'held');
  assert.equal(marked.removed, false);
  assert.ok(marked.object.metadata.deletionTimestamp);
  const cur = await api.storage.get(kind('configmaps'), 'default', 'held');
  await api.storage.update(kind('configmaps'), 'default', 'held', { ...cur, metadata: { ...cur.metadata, finalizers: [] } });
  assert.equal(await api.storage.tryGet(kind('configmaps'), 'default', 'held'), undefined);

  const one = await api.storage.get(kind('configmaps'), 'default', 'one');
  const wrong = await fails(api.storage.delete(kind('configmaps'), 'default', 'one', { preconditions: { uid: 'not-the-uid' } }));
  assert.equal(wrong.code, 409);
  assert.match(wrong.message, /not-the-uid/);
  assert.ok(wrong.message.includes(one.metadata.uid!));
  const dry = await api.storage.delete(kind('configmaps'), 'default', 'one', {}, { dryRun: true });
  assert.equal(dry.removed, true);
  assert.ok(await api.storage.tryGet(kind('configmaps'), 'default', 'one'), 'a dry-run delete keeps the object');
  assert.equal((await api.storage.delete(kind('configmaps'), 'default', 'one', { preconditions: { uid: one.metadata.uid } })).removed, true);
});

test('every write records who made it in managedFields', async () => {
  const created = await api.storage.create(kind('configmaps'), 'default', cm('owned', { k: 'v' }), { fieldManager: 'tester' });
  const entry: any = (created.metadata.managedFields as any[] | undefined)?.find((m: any) => m.manager === 'tester');
  assert.equal(entry?.operation, 'Update');
  assert.deepEqual(entry?.fieldsV1, { 'f:data': { '.': {}, 'f:k': {} } });
});

test('a stored object is at most about 1.5 MiB', async () => {
  // (a ConfigMap's own 1 MiB limit would answer first: a pod's arguments have none)
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big' }, spec: { containers: [{ name: 'c', image: 'busybox', args: ['x'.repeat(1_600_000)] }] } };
  const big = await fails(api.storage.create(kind('pods'), 'default', pod));
  assert.equal(big.code, 413);
  assert.match(big.message, /request is too large/);
});

test('reads after a write give exactly the stored object, and what a caller does to a returned object never reaches them', async () => {
  const cms = kind('configmaps');
  const created = await api.storage.create(cms, 'default', cm('decoded-once', { a: '1' }, { labels: { x: 'y' } }));
  // the caller changes the object it got back: the store and later reads do not see it
  created.data.a = 'changed by the caller';
  created.metadata.labels!.x = 'changed';
  const stored = (await store.get('/registry/configmaps/default/decoded-once'))!;
  const parsed = { ...JSON.parse(stored.value) };
  parsed.metadata.resourceVersion = String(stored.modRevision);
  const read = await api.storage.get(cms, 'default', 'decoded-once');
  assert.equal(JSON.stringify(read), JSON.stringify(parsed));
  assert.equal(read.data.a, '1');
  // an update reads the object back, changes it and writes it again: same bytes as reading the text
  const updated = await api.storage.guaranteedUpdate(cms, 'default', 'decoded-once', (o) => ({ ...o, data: { a: '2' } }), {});
  updated.data.a = 'changed again';
  const again = (await store.get('/registry/configmaps/default/decoded-once'))!;
  const parsedAgain = JSON.parse(again.value);
  parsedAgain.metadata.resourceVersion = String(again.modRevision);
  const reread = await api.storage.get(cms, 'default', 'decoded-once');
  assert.equal(JSON.stringify(reread), JSON.stringify(parsedAgain));
  assert.equal(reread.data.a, '2');
  // two reads share nothing
  reread.data.a = 'mutated';
  assert.equal((await api.storage.get(cms, 'default', 'decoded-once')).data.a, '2');
});
