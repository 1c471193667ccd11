import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createCA, createClientCert, createServingCert } from '../../src/cli/pki.js';
import type { CertKeyPair } from '../../src/cli/pki.js';

const run = promisify(execFile);
const DAY = 24 * 60 * 60 * 1000;

async function which(cmd: string): Promise<boolean> {
  try {
    await run('which', [cmd]);
    return true;
  } catch {
    return false;
  }
}

describe('pki', () => {
  let ca: CertKeyPair;
  let serving: CertKeyPair;
  let client: CertKeyPair;
  let generationMs = 0;
  let dir: string;

  before(() => {
    const t0 = performance.now();
    ca = createCA('petset-ca');
    serving = createServingCert(ca, { commonName: 'petset-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
    client = createClientCert(ca, { commonName: 'admin', organizations: ['system:masters'] });
    generationMs = performance.now() - t0;
    dir = mkdtempSync(join(tmpdir(), 'petset-pki-'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is fast enough for a cold start', (t) => {
    t.diagnostic(`CA + serving + client keys and certificates: ${generationMs.toFixed(1)} ms`);
    assert.ok(generationMs < 500, `took ${generationMs} ms`);
  });

  it('makes a self-signed CA that Node parses', () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, 'CN=petset-ca');
    assert.ok(cert.checkIssued(cert));
    assert.ok(cert.verify(cert.publicKey));
    assert.ok(Date.parse(cert.validTo) - Date.now() > 3649 * DAY);
    assert.ok(Date.parse(cert.validFrom) <= Date.now());
    assert.match(ca.keyPem, /^-----BEGIN EC PRIVATE KEY-----\n/);
  });

  it('makes a serving certificate issued by the CA, for its names and addresses', () => {
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(serving.certPem);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.equal(cert.issuer, 'CN=petset-ca');
    assert.equal(cert.subject, 'CN=petset-apiserver');
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkHost('example.com'), undefined);
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkIP('::1'), '::1');
    assert.equal(cert.checkIP('10.0.0.1'), undefined);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.ok(Date.parse(cert.validTo) - Date.now() > 364 * DAY);
    assert.equal(cert.serialNumber.length, 32);
    assert.notEqual(cert.serialNumber, new X509Certificate(createServingCert(ca, { commonName: 'x' }).certPem).serialNumber);
  });

  it('makes client certificates whose organizations are groups', () => {
    const cert = new X509Certificate(client.certPem);
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
    assert.equal(cert.subject, 'O=system:masters\nCN=admin');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  });

  it('other CAs do not vouch for it', () => {
    const other = new X509Certificate(createCA('other').certPem);
    assert.equal(new X509Certificate(serving.certPem).checkIssued(other), false);
  });

  describe('over TLS', () => {
    let server: https.Server;
    let port: number;

    before(async () => {
      server = https.createServer({ cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
        const socket = req.socket as TLSSocket;
        if (req.url?.split('?')[0] === '/version') {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.0' }));
          return;
        }
        const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
        res.end(peer?.subject ? `ok ${peer.subject.CN}/${peer.subject.O}` : 'ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });

    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    function get(opts: https.RequestOptions): Promise<string> {
      return new Promise((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port, path: '/healthz', agent: false, ...opts }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    }

    it('Node trusts the server by DNS name and by IP', async () => {
      assert.equal(await get({ ca: ca.certPem, servername: 'localhost' }), 'ok');
      assert.equal(await get({ ca: ca.certPem }), 'ok');
    });

    it('Node rejects a wrong CA and a name the certificate does not carry', async () => {
      await assert.rejects(get({ ca: createCA('other').certPem }), /unable to verify|self.signed|UNABLE_TO/i);
      await assert.rejects(get({ ca: ca.certPem, servername: 'example.com' }), (e: NodeJS.ErrnoException) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
    });

    it('the server accepts the client certificate', async () => {
      assert.equal(await get({ ca: ca.certPem, servername: 'localhost', cert: client.certPem, key: client.keyPem }), 'ok admin/system:masters');
    });

    it('openssl verifies the chain strictly', async (t) => {
      if (!(await which('openssl'))) return t.skip('openssl not installed');
      const caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, ca.certPem);
      writeFileSync(join(dir, 'serving.pem'), serving.certPem);
      writeFileSync(join(dir, 'client.pem'), client.certPem);
      const srv = await run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', caFile, join(dir, 'serving.pem')]);
      assert.match(srv.stdout, /serving\.pem: OK/);
      const cli = await run('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', caFile, join(dir, 'client.pem')]);
      assert.match(cli.stdout, /client\.pem: OK/);
    });

    it("kubectl (Go's crypto/x509) trusts the server and presents the client certificate", async (t) => {
      if (!(await which('kubectl'))) return t.skip('kubectl not installed');
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const cluster = (extra: object) => ({ server: `https://127.0.0.1:${port}`, 'certificate-authority-data': b64(ca.certPem), ...extra });
      const kubeconfig = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'by-ip', cluster: cluster({}) },
          { name: 'by-name', cluster: cluster({ 'tls-server-name': 'localhost' }) },
          { name: 'wrong-name', cluster: cluster({ 'tls-server-name': 'example.com' }) },
        ],
        users: [{ name: 'admin', user: { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) } }],
        contexts: [
          { name: 'by-ip', context: { cluster: 'by-ip', user: 'admin' } },
          { name: 'by-name', context: { cluster: 'by-name', user: 'admin' } },
          { name: 'wrong-name', context: { cluster: 'wrong-name', user: 'admin' } },
        ],
        'current-context': 'by-ip',
      };
      const file = join(dir, 'kubeconfig');
      writeFileSync(file, JSON.stringify(kubeconfig));
      const kubectl = (context: string) => {
        const args = ['--kubeconfig', file, '--context', context, '--cache-dir', join(dir, 'cache'), '--request-timeout', '10s', 'get', '--raw', '/healthz'];
        const p = run('kubectl', args, { timeout: 20_000 });
        p.child.stdin?.end(); // kubectl may prompt for credentials on stdin; never let it wait
        return p;
      };
      for (const context of ['by-ip', 'by-name']) assert.equal((await kubectl(context)).stdout.trim(), 'ok admin/system:masters', context);
      await assert.rejects(kubectl('wrong-name'), /x509: certificate is valid for localhost, not example\.com/);
    });
  });
});
