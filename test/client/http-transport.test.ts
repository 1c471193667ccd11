import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import yaml from 'js-yaml';
import { isApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { Client, resources } from '../../src/client/client.js';
import { fromKubeconfig, HttpTransport } from '../../src/client/http-transport.js';
import { Informer, keyOf } from '../../src/client/informer.js';
import { FakeApi, serveHttp } from './fake-api.js';

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('HttpTransport', () => {
  let api: FakeApi;
  let server: Awaited<ReturnType<typeof serveHttp>>;
  let transport: HttpTransport;
  let client: Client;
  const seen: http.IncomingMessage[] = [];

  before(async () => {
    api = new FakeApi();
    server = await serveHttp(api.handler, { seen: (r) => seen.push(r) });
    transport = new HttpTransport({ server: server.url, token: 'sekret' });
    client = new Client(transport, { userAgent: 'petset-test' });
  });
  after(async () => {
    transport.close();
    await server.close();
  });

  it('does CRUD with JSON bodies, bearer tokens and ApiErrors', async () => {
    const pods = client.pods('default');
    const created = await pods.create({ metadata: { name: 'web-0', labels: { app: 'web' } }, spec: { containers: [] } });
    assert.equal(created.metadata.uid !== undefined, true);
    const last = seen.at(-1)!;
    assert.equal(last.headers.authorization, 'Bearer sekret');
    assert.equal(last.headers['user-agent'], 'petset-test');
    assert.equal(last.headers['content-type'], 'application/json');
    assert.equal((await pods.get('web-0')).metadata.name, 'web-0');
    const list = await client.pods().list({ labelSelector: 'app=web' });
    assert.equal(list.items.length, 1);
    assert.equal(seen.at(-1)!.url, '/api/v1/pods?labelSelector=app%3Dweb');
    await assert.rejects(pods.patch('web-0', [{ op: 'add', path: '/metadata/labels/x', value: 'y' }], 'json'), (e) => isApiError(e, 'UnsupportedMediaType'));
    assert.equal(seen.at(-1)!.headers['content-type'], 'application/json-patch+json');
    await assert.rejects(pods.get('nope'), (e) => isApiError(e, 'NotFound') && e.message === 'pods "nope" not found' && e.code === 404);
    await assert.rejects(pods.create({ metadata: { name: 'web-0' } }), (e) => isApiError(e, 'AlreadyExists'));
    await pods.delete('web-0', { gracePeriodSeconds: 0 });
    assert.deepEqual(api.requests.at(-1)!.body, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
  });

  it('reads Warning headers', async () => {
    api.canned.push(() => ({ status: 200, body: { kind: 'Node', metadata: { name: 'n' } }, warnings: ['deprecated "thing"', 'second'] }));
    const res = await client.send({ method: 'GET', path: '/api/v1/nodes/n' });
    assert.deepEqual(res.warnings, ['deprecated "thing"', 'second']);
  });

  it('streams watch events from newline-delimited JSON', async () => {
    await client.nodes().create({ metadata: { name: 'n1' } });
    const w = await client.nodes().watch({ resourceVersion: String(api.rv) });
    const got: string[] = [];
    const loop = (async () => {
      for await (const ev of w) got.push(`${ev.type} ${(ev.object as KubeObject).metadata.name}`);
    })();
    await until(() => api.watchers.size === 1);
    await client.nodes().create({ metadata: { name: 'n2' } });
    await client.nodes().patch('n2', { metadata: { labels: { a: 'b' } } });
    await until(() => got.length === 2);
    api.endWatches();
    await loop;
    assert.deepEqual(got, ['ADDED n2', 'MODIFIED n2']);

    const w2 = await client.nodes().watch({ resourceVersion: String(api.rv) });
    await until(() => api.watchers.size === 1);
    w2.stop();
    await until(() => api.watchers.size === 0);
  });

  it('keeps ordinary requests flowing while many watches are open', async () => {
    const watches = await Promise.all(Array.from({ length: 40 }, () => client.nodes().watch({ resourceVersion: String(api.rv) })));
    assert.equal((await client.nodes().get('n1')).metadata.name, 'n1');
    for (const w of watches) w.stop();
    await until(() => api.watchers.size === 0);
  });

  it('feeds an informer, including a 410 relist', async () => {
    const inf = new Informer(client, resources.statefulSets, { namespace: 'default' }).start();
    const log: string[] = [];
    inf.addEventHandler({ onAdd: (o) => log.push(`add ${keyOf(o)}`), onDelete: (o) => log.push(`delete ${keyOf(o)}`) });
    await client.statefulSets('default').create({ metadata: { name: 'web' }, spec: { replicas: 1 } });
    assert.equal(await inf.synced(), true);
    await until(() => log.length === 1);
    api.deliver = false;
    await client.statefulSets('default').delete('web');
    await client.statefulSets('default').create({ metadata: { name: 'db' }, spec: { replicas: 1 } });
    api.compact();
    api.deliver = true;
    api.endWatches();
    await until(() => log.length === 3);
    assert.deepEqual(log, ['add default/web', 'delete default/web', 'add default/db']);
    inf.stop();
  });

  it('reports connection failures as rejections', async () => {
    const dead = new Client(new HttpTransport({ server: 'http://127.0.0.1:1' }));
    await assert.rejects(dead.nodes().list(), /ECONNREFUSED/);
  });
});

describe('fromKubeconfig', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'petset-client-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the named or current context, with a token', async () => {
    const api = new FakeApi();
    const auth: (string | undefined)[] = [];
    const server = await serveHttp(api.handler, { seen: (r) => auth.push(r.headers.authorization) });
    const file = path.join(dir, 'token.yaml');
    writeFileSync(
      file,
      yaml.dump({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'a',
        clusters: [{ name: 'c', cluster: { server: server.url } }],
        users: [
          { name: 'ua', user: { token: 'token-a' } },
          { name: 'ub', user: { token: 'token-b' } },
        ],
        contexts: [
          { name: 'a', context: { cluster: 'c', user: 'ua' } },
          { name: 'b', context: { cluster: 'c', user: 'ub' } },
        ],
      }),
    );
    const ta = fromKubeconfig(file);
    const tb = fromKubeconfig(file, 'b');
    try {
      await new Client(ta).nodes().list();
      await new Client(tb).nodes().list();
      assert.deepEqual(auth, ['Bearer token-a', 'Bearer token-b']);
      assert.throws(() => fromKubeconfig(file, 'zzz'), /context "zzz" not found/);
    } finally {
      ta.close();
      tb.close();
      await server.close();
    }
  });

  it('speaks TLS with a CA and client certificate from the kubeconfig', async (t) => {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert],
        { stdio: 'ignore' },
      );
    } catch {
      t.skip('openssl not available');
      return;
    }
    const pem = { key: readFileSync(key), cert: readFileSync(cert) };
    const api = new FakeApi();
    const peers: string[] = [];
    const server = await serveHttp(api.handler, {
      tls: { ...pem, ca: pem.cert, requestCert: true, rejectUnauthorized: true },
      seen: (r) => peers.push((r.socket as tls.TLSSocket).getPeerCertificate().subject.CN as string),
    });
    const b64 = (b: Buffer) => b.toString('base64');
    const file = path.join(dir, 'tls.yaml');
    writeFileSync(
      file,
      yaml.dump({
        'current-context': 'x',
        clusters: [{ name: 'c', cluster: { server: server.url, 'certificate-authority-data': b64(pem.cert) } }],
        users: [{ name: 'u', user: { 'client-certificate-data': b64(pem.cert), 'client-key-data': b64(pem.key) } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      }),
    );
    const good = fromKubeconfig(file);
    const untrusting = new HttpTransport({ server: server.url });
    try {
      await new Client(good).nodes().create({ metadata: { name: 'n1' } });
      assert.equal((await new Client(good).nodes().get('n1')).metadata.name, 'n1');
      assert.deepEqual(peers, ['127.0.0.1', '127.0.0.1']);
      await assert.rejects(new Client(untrusting).nodes().list(), /self[- ]signed/);
    } finally {
      good.close();
      untrusting.close();
      await server.close();
    }
  });
});
