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

it('applies a status patch that names only status and metadata without touching the rest', async () => {
  const pods = srv.client.pods('default');
  await pods.create({ metadata: { name: 'p', labels: { a: '1' } }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'busybox' }] } });
  // the current object is the one the server keeps shared (frozen) after its last write
  const strategic = await pods.patch('p', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, 'strategic', { subresource: 'status' });
  assert.equal(strategic.status.phase, 'Running');
  const merged = await pods.patch('p', { metadata: { labels: { b: '2' } }, status: { podIP: '10.0.0.5' } }, 'merge', { subresource: 'status' });
  assert.deepEqual(merged.metadata.labels, { a: '1', b: '2' });
  assert.equal(merged.status.podIP, '10.0.0.5');
  assert.equal(merged.status.phase, 'Running');
  // a spec change in a status patch is ignored, as upstream's status strategy does
  const withSpec = await pods.patch('p', { spec: { nodeName: 'node-2' }, status: { message: 'hi' } }, 'merge', { subresource: 'status' });
  assert.equal(withSpec.spec.nodeName, 'node-1');
  assert.equal(withSpec.status.message, 'hi');
  merged.spec.containers[0].image = 'changed by the caller';
  const now = await pods.get('p');
  assert.equal(now.spec.containers[0].image, 'busybox');
  assert.equal(now.spec.nodeName, 'node-1');
  assert.deepEqual(now.metadata.labels, { a: '1', b: '2' });
  assert.equal(now.status.message, 'hi');
  assert.deepEqual(now.status.conditions.map((c: any) => c.type), ['Ready']);
});
