// Namespace's own entry in the resource table: deletion through finalization, the finalize
// subresource, preconditions on delete, and no deletecollection — as upstream.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiRequest } from '../../src/api/request.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.stop());

async function call(method: ApiRequest['method'], path: string, body?: unknown) {
  const [p, q] = path.split('?');
  const res = await server.api.handle({ method, path: p, query: new URLSearchParams(q ?? ''), headers: { 'content-type': 'application/json' }, body, user: { name: 'admin', groups: ['system:masters'] } });
  return { status: res.status, body: res.body as any };
}

describe('namespaces', () => {
  it('refuse deletecollection with 405 and leave every namespace in place', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'keep-me' } });
    const r = await call('DELETE', '/api/v1/namespaces');
    assert.equal(r.status, 405);
    assert.equal(r.body.reason, 'MethodNotAllowed');
    assert.equal(r.body.message, 'the server does not allow this method on the requested resource');
    assert.equal((await call('GET', '/api/v1/namespaces/keep-me')).status, 200);
  });

  it('are listed in discovery without deletecollection', async () => {
    const list = await call('GET', '/api/v1');
    const ns = list.body.resources.find((r: any) => r.name === 'namespaces');
    assert.deepEqual(ns.verbs, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
    const pods = list.body.resources.find((r: any) => r.name === 'pods');
    assert.ok(pods.verbs.includes('deletecollection'));
  });

  it('honour uid and resourceVersion preconditions on delete, with upstream texts', async () => {
    const created = (await call('POST', '/api/v1/namespaces', { metadata: { name: 'pre' } })).body;
    const wrongUid = await call('DELETE', '/api/v1/namespaces/pre', { preconditions: { uid: 'not-the-uid' } });
    assert.equal(wrongUid.status, 409);
    assert.equal(wrongUid.body.message, `Operation cannot be fulfilled on namespaces "pre": Precondition failed: UID in precondition: not-the-uid, UID in object meta: ${created.metadata.uid}`);
    const wrongRV = await call('DELETE', '/api/v1/namespaces/pre', { preconditions: { resourceVersion: '1' } });
    assert.equal(wrongRV.status, 409);
    assert.equal(wrongRV.body.message, `Operation cannot be fulfilled on namespaces "pre": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ${created.metadata.resourceVersion}`);
    const still = await call('GET', '/api/v1/namespaces/pre');
    assert.equal(still.body.status.phase, 'Active');
    assert.equal(still.body.metadata.deletionTimestamp, undefined);
    const ok = await call('DELETE', '/api/v1/namespaces/pre', { preconditions: { uid: created.metadata.uid, resourceVersion: created.metadata.resourceVersion } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status.phase, 'Terminating');
  });

  it('go once finalize empties spec.finalizers; finalize takes PUT only', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'fin' } });
    await call('DELETE', '/api/v1/namespaces/fin');
    assert.equal((await call('GET', '/api/v1/namespaces/fin/finalize')).status, 405);
    const r = await call('PUT', '/api/v1/namespaces/fin/finalize', { metadata: { name: 'fin' }, spec: { finalizers: [] } });
    assert.equal(r.status, 200);
    assert.equal((await call('GET', '/api/v1/namespaces/fin')).status, 404);
  });

  it('keep the system namespaces', async () => {
    const r = await call('DELETE', '/api/v1/namespaces/kube-system');
    assert.equal(r.status, 403);
  });
});
