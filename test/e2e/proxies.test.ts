// The API server's proxies and port-forward as users reach them, with the real kubectl and
// curl: `kubectl proxy` + curl to a pod and to a service by `name:port` and with the `https:`
// prefix; redirects and HTML links come back under the proxy path (curl -L follows them);
// `kubectl port-forward svc/NAME` and `sts/NAME` (kubectl 1.27 over SPDY, 1.33 over WebSocket).
// Servers run in the test on the simulated pods' addresses.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { eventually, startCluster, type Cluster } from './harness.js';
import { createCA, createServingCert } from '../../src/cli/pki.js';

const VERSIONS = ['1.27', '1.33'].map((v) => ({ v, bin: `/usr/lib/google-cloud-sdk/bin/kubectl.${v}` })).filter((x) => fs.existsSync(x.bin));

const curl = (...args: string[]) =>
  new Promise<string>((resolve, reject) => execFile('curl', ['-sS', '--max-time', '10', ...args], (e, out, err) => (e ? reject(new Error(`curl ${args.join(' ')}: ${err || e.message}`)) : resolve(String(out)))));

/** Starts a kubectl that prints a local port (proxy or port-forward); resolves with it. */
function localPortOf(child: ChildProcess, pattern: RegExp, what: string): Promise<number> {
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return eventually(() => {
    const m = pattern.exec(out);
    return m ? Number(m[1]) : undefined;
  }, 20_000, `${what}: ${out}`);
}

const listen = (server: net.Server, ip: string) => new Promise<number>((r) => server.listen(0, ip, () => r((server.address() as net.AddressInfo).port)));

function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(line));
    s.on('data', (d) => {
      resolve(String(d));
      s.end();
    });
    s.on('error', reject);
  });
}

describe('the API server proxies and port-forward, through kubectl', () => {
  let c: Cluster;
  const servers: net.Server[] = [];
  let webIP = '';
  let webPort = 0;
  let tlsPort = 0;
  before(async () => {
    c = await startCluster();
    await c.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: main
    image: busybox
---
apiVersion: v1
kind: Service
metadata:
  name: pets
spec:
  clusterIP: None
  selector:
    app: pets
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: pets
spec:
  serviceName: pets
  replicas: 1
  selector:
    matchLabels:
      app: pets
  template:
    metadata:
      labels:
        app: pets
    spec:
      containers:
      - name: main
        image: busybox
`,
    });
    await c.kubectl(['wait', '--for=condition=Ready', 'pod/web', '--timeout=30s']);
    webIP = (await c.kubectl(['get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}'])).stdout;
    // the pod's web app: a page with links, a redirect, and the page it leads to
    const app = http.createServer((req, res) => {
      if (req.url === '/old') {
        res.writeHead(302, { Location: '/new', 'Access-Control-Allow-Origin': '*' });
        res.end();
      } else if (req.url === '/new') {
        res.end(`new page, asked as ${req.headers['x-forwarded-uri']}`);
      } else {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end('<html><head><link href="/style.css" rel="stylesheet"></head><body><a href="/new">new</a> <a href="rel">rel</a> <a href="https://example.org/">out</a></body></html>');
      }
    });
    servers.push(app);
    webPort = await listen(app, webIP);
    const ca = createCA('proxies-test-ca');
    const cert = createServingCert(ca, { commonName: 'web', ipAddresses: [webIP] });
    const tls = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => res.end(`tls answer to ${req.url}`));
    servers.push(tls);
    tlsPort = await listen(tls, webIP);
    await c.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'front' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: webPort }, { name: 'tls', port: 443, targetPort: tlsPort }] },
      }),
    });
  });
  after(async () => {
    for (const s of servers) s.close();
    await c?.stop();
  });

  it('kubectl proxy + curl: pods and services by name:port and https:, redirects and links under the proxy path', async () => {
    const proxy = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'proxy', '--port=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await localPortOf(proxy, /Starting to serve on 127\.0\.0\.1:(\d+)/, 'kubectl proxy');
      const base = `http://localhost:${port}`;
      const podPath = `/api/v1/namespaces/default/pods/web:${webPort}/proxy`;
      // the HTML page: same-host absolute links under the proxy path; relative and foreign ones as they were
      assert.equal(
        await curl(`${base}${podPath}/`),
        `<html><head><link href="${podPath}/style.css" rel="stylesheet"></head><body><a href="${podPath}/new">new</a> <a href="rel">rel</a> <a href="https://example.org/">out</a></body></html>`,
      );
      // a service port by name: the redirect stays under the service's proxy path, and curl -L follows it there
      const svcPath = '/api/v1/namespaces/default/services/front:web/proxy';
      const head = await eventually(async () => {
        const h = await curl('-i', `${base}${svcPath}/old`).catch(() => '');
        return /^HTTP\/1\.1 302/.test(h) && h;
      }, 15_000, 'the service proxy to answer');
      assert.match(head, new RegExp(`\\r\\nLocation: ${svcPath.replace(/\//g, '\\/')}/new\\r\\n`, 'i'));
      assert.doesNotMatch(head, /Access-Control-Allow-Origin/i, 'the target\'s CORS headers are dropped');
      assert.equal(await curl('-L', `${base}${svcPath}/old`), `new page, asked as ${svcPath}/new`);
      // the https: prefix: the API server speaks TLS to the endpoint
      assert.equal(await curl(`${base}/api/v1/namespaces/default/services/https:front:tls/proxy/hello?x=1`), 'tls answer to /hello?x=1');
      assert.equal(await curl(`${base}/api/v1/namespaces/default/services/https:front:443/proxy/`), 'tls answer to /');
    } finally {
      proxy.kill('SIGTERM');
    }
  });

  for (const { v, bin } of VERSIONS) {
    it(`kubectl ${v} port-forward svc/NAME and sts/NAME reach a pod behind them`, async () => {
      // svc/front:80 is the pod web at the service's targetPort
      const echo = net.createServer((s) => s.on('data', (d) => s.write(`web:${d}`)));
      servers.push(echo);
      const fwd = spawn(bin, ['--kubeconfig', c.kubeconfig, 'port-forward', 'svc/front', `:${'80'}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const local = await localPortOf(fwd, /Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/, 'port-forward svc/front');
        const page = await new Promise<string>((resolve, reject) => {
          http.get(`http://127.0.0.1:${local}/new`, (r) => {
            let b = '';
            r.on('data', (d) => (b += d));
            r.on('end', () => resolve(b));
          }).on('error', reject);
        });
        assert.match(page, /^new page/);
      } finally {
        fwd.kill('SIGTERM');
      }
      // sts/pets: its pod pets-0
      await c.kubectl(['wait', '--for=condition=Ready', 'pod/pets-0', '--timeout=30s']);
      const petIP = (await c.kubectl(['get', 'pod', 'pets-0', '-o', 'jsonpath={.status.podIP}'])).stdout;
      const petServer = net.createServer((s) => s.on('data', (d) => s.write(`pets-0:${d}`)));
      servers.push(petServer);
      const petPort = await listen(petServer, petIP);
      const fwd2 = spawn(bin, ['--kubeconfig', c.kubeconfig, 'port-forward', 'sts/pets', `:${petPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const local = await localPortOf(fwd2, /Forwarding from 127\.0\.0\.1:(\d+)/, 'port-forward sts/pets');
        assert.equal(await ask(local, 'hi'), 'pets-0:hi');
      } finally {
        fwd2.kill('SIGTERM');
        petServer.close();
        echo.close();
      }
    });
  }
});
