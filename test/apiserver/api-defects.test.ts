// API defects real clients hit (issue 8), over real HTTPS: dry-run deletes, cluster IPs kept
// by dry runs and refused creates, boolean query parameters, garbage continue tokens.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttpsTestServer, tlsConnect, type HttpsTestServer } from './http-support.js';

const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });
const svc = (name: string, clusterIP: string, port = 80) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { clusterIP, ports: [{ port }], selector: { app: name } },
});

describe('API defects over HTTPS', () => {
  let srv: HttpsTestServer;
  before(async () => {
    srv = await startHttpsTestServer();
  });
  after(async () => {
    await srv.stop();
  });

  it('a delete with dryRun in the DeleteOptions body keeps the object', async () => {
    assert.equal((await srv.request('POST', '/api/v1/namespaces/default/configmaps', cm('keep-me'))).status, 201);
    const r = await srv.request('DELETE', '/api/v1/namespaces/default/configmaps/keep-me', { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] });
    assert.equal(r.status, 200);
    assert.equal((await srv.request('GET', '/api/v1/namespaces/default/configmaps/keep-me')).status, 200);
    const q = await srv.request('DELETE', '/api/v1/namespaces/default/configmaps/keep-me?dryRun=All');
    assert.equal(q.status, 200);
    assert.equal((await srv.request('GET', '/api/v1/namespaces/default/configmaps/keep-me')).status, 200);
    const coll = await srv.request('DELETE', '/api/v1/namespaces/default/configmaps', { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] });
    assert.equal(coll.status, 200);
    assert.equal((await srv.request('GET', '/api/v1/namespaces/default/configmaps/keep-me')).status, 200);
    const bad = await srv.request('DELETE', '/api/v1/namespaces/default/configmaps/keep-me', { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['Some'] });
    assert.equal(bad.status, 422);
    assert.equal((await srv.request('GET', '/api/v1/namespaces/default/configmaps/keep-me')).status, 200);
    assert.equal((await srv.request('DELETE', '/api/v1/namespaces/default/configmaps/keep-me')).status, 200);
    assert.equal((await srv.request('GET', '/api/v1/namespaces/default/configmaps/keep-me')).status, 404);
  });

  it('a dry-run or refused create of a Service with a fixed cluster IP leaves the IP free', async () => {
    const ip = '127.96.10.10';
    const dry = await srv.request('POST', '/api/v1/namespaces/default/services?dryRun=All', svc('dry', ip));
    assert.equal(dry.status, 201, dry.text);
    assert.equal(dry.json.spec.clusterIP, ip);
    // refused after the allocation: port out of range
    const invalid = await srv.request('POST', '/api/v1/namespaces/default/services', svc('invalid', ip, 70000));
    assert.equal(invalid.status, 422, invalid.text);
    const real = await srv.request('POST', '/api/v1/namespaces/default/services', svc('real', ip));
    assert.equal(real.status, 201, real.text);
    assert.equal(real.json.spec.clusterIP, ip);
    // already exists: the IP it asked for must not be released from under `real`
    const again = await srv.request('POST', '/api/v1/namespaces/default/services', svc('other', ip));
    assert.equal(again.status, 422);
    assert.match(again.json.message, /provided IP is already allocated/);
    const dup = await srv.request('POST', '/api/v1/namespaces/default/services', svc('real', '127.96.10.11'));
    assert.equal(dup.status, 409);
    const reuse = await srv.request('POST', '/api/v1/namespaces/default/services', svc('second', '127.96.10.11'));
    assert.equal(reuse.status, 201, reuse.text);
  });

  it('reads boolean query parameters as upstream does: watch=True watches, watch=False lists', async () => {
    const list = await srv.request('GET', '/api/v1/namespaces?watch=False');
    assert.equal(list.status, 200);
    assert.equal(list.json.kind, 'NamespaceList');
    const zero = await srv.request('GET', '/api/v1/namespaces?watch=0');
    assert.equal(zero.json.kind, 'NamespaceList');
    for (const v of ['True', 'TRUE', 't', '1', 'true']) {
      const sock = await tlsConnect(srv);
      let text = '';
      await new Promise<void>((resolve) => {
        sock.on('data', (d: Buffer) => {
          text += d.toString('utf8');
          if (text.includes('"type":"ADDED"')) resolve();
        });
        sock.write(`GET /api/v1/namespaces?watch=${v} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer test-token\r\n\r\n`);
      });
      sock.destroy();
      assert.match(text, /Transfer-Encoding: chunked/i, `watch=${v}`);
    }
  });

  it('answers a garbage continue token with upstream\'s text, not a parser error', async () => {
    for (const token of ['garbage!', 'Z2FyYmFnZQ', 'eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MH0']) {
      const r = await srv.request('GET', `/api/v1/namespaces/default/configmaps?limit=1&continue=${encodeURIComponent(token)}`);
      assert.equal(r.status, 400);
      assert.equal(r.json.reason, 'BadRequest');
      assert.match(r.json.message, /^invalid continue token: continue key is not valid/);
      assert.doesNotMatch(r.json.message, /Unexpected token|position \d/);
    }
    const g = await srv.request('GET', '/api/v1/namespaces/default/configmaps?limit=1&continue=Z2FyYmFnZQ');
    assert.equal(g.json.message, "invalid continue token: continue key is not valid: invalid character 'g' looking for beginning of value");
    const b = await srv.request('GET', '/api/v1/namespaces/default/configmaps?limit=1&continue=garbage!');
    assert.equal(b.json.message, 'invalid continue token: continue key is not valid: illegal base64 data at input byte 7');
    // a real token still works
    await srv.request('POST', '/api/v1/namespaces/default/configmaps', cm('page-a'));
    await srv.request('POST', '/api/v1/namespaces/default/configmaps', cm('page-b'));
    const first = await srv.request('GET', '/api/v1/namespaces/default/configmaps?limit=1');
    assert.ok(first.json.metadata.continue);
    const next = await srv.request('GET', `/api/v1/namespaces/default/configmaps?limit=1&continue=${first.json.metadata.continue}`);
    assert.equal(next.status, 200);
    assert.equal(next.json.items.length, 1);
  });
});
