// In-process callers get the objects the server made for their request without a copy
// (handler.ts marks them fresh): changing what a create, get, update or patch returned
// never changes what the server holds or what the next caller reads.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.js';

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(async () => {
  await srv.stop();
});

it('keeps the server and other callers apart from what a caller changes in a response', async () => {
  const maps = srv.client.resource({ group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true }, 'default');
  const created = await maps.create({ metadata: { name: 'cm' }, data: { a: '1' } });
  created.data.a = 'changed by the caller';
  const first = await maps.get('cm');
  assert.equal(first.data.a, '1');
  first.data.a = 'changed again';
  first.metadata.labels = { mine: 'yes' };
  const second = await maps.get('cm');
  assert.equal(second.data.a, '1');
  assert.equal(second.metadata.labels, undefined);
  assert.notEqual(first, second);

  const updated = await maps.update({ ...second, data: { a: '2' } });
  updated.data.a = 'changed after update';
  const patched = await maps.patch('cm', { data: { b: '3' } }, 'merge');
  assert.deepEqual(patched.data, { a: '2', b: '3' });
  patched.data.b = 'changed after patch';
  assert.deepEqual((await maps.get('cm')).data, { a: '2', b: '3' });
  assert.deepEqual((await maps.list()).items.find((m: any) => m.metadata.name === 'cm')?.data, { a: '2', b: '3' });
});
