// Services through `petset up` and the real kubectl: node ports shown as kubectl shows them
// and served on the host, a LoadBalancer that gets an address instead of <pending>, and the
// `kubernetes` service leading to the API server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { eventually, startCluster, type Cluster } from './harness.js';

let c: Cluster;
let backend: net.Server;
const POD_IP = `127.66.${1 + Math.floor(Math.random() * 250)}.7`;

before(async () => {
  c = await startCluster();
  backend = net.createServer((s) => s.end('hello from the backend\n'));
  await new Promise<void>((r) => backend.listen(8080, POD_IP, () => r()));
});

after(async () => {
  backend?.close();
  await c?.stop();
});

test('a LoadBalancer service gets a node port and an address, and both reach its endpoints', async () => {
  await c.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Service
metadata:
  name: front
spec:
  type: LoadBalancer
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Endpoints
metadata:
  name: front
subsets:
- addresses:
  - ip: ${POD_IP}
  ports:
  - name: http
    port: 8080
`,
  });
  const row = await eventually(async () => {
    const r = await c.kubectl(['get', 'svc', 'front', '--no-headers']);
    return !r.stdout.includes('<pending>') && r.stdout;
  }, 20_000, 'an external IP');
  const [, type, clusterIP, externalIP, ports] = row.trim().split(/\s+/);
  assert.equal(type, 'LoadBalancer');
  assert.equal(externalIP, clusterIP);
  const m = /^80:(3\d{4})\/TCP$/.exec(ports);
  assert.ok(m, `ports column: ${ports}`);
  const ask = (host: string, port: number) =>
    new Promise<string>((resolve, reject) => {
      const s = net.connect({ host, port });
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  assert.equal(await eventually(() => ask('127.0.0.1', Number(m![1])).catch(() => ''), 10_000, 'the node port'), 'hello from the backend\n');
  assert.equal(await eventually(() => ask(externalIP, 80).catch(() => ''), 10_000, 'the load balancer address'), 'hello from the backend\n');
  const taken = await c.kubectl(['create', 'service', 'nodeport', 'other', `--tcp=81:81`, `--node-port=${m![1]}`], { allowFail: true });
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, /spec\.ports\[0\]\.nodePort: Invalid value: \d+: provided port is already allocated/);
});

test('the kubernetes service has endpoints at the API server and answers through its cluster IP', async () => {
  const ep = JSON.parse((await c.kubectl(['get', 'endpoints', 'kubernetes', '-o', 'json'])).stdout);
  const port = Number(new URL(c.url).port);
  assert.deepEqual(ep.subsets, [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port, protocol: 'TCP' }] }]);
  const ip = (await c.kubectl(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
  assert.doesNotMatch(c.output(), /cannot serve/);
  const body = await eventually(
    () =>
      new Promise<string>((resolve) => {
        https.get({ host: ip, port: 443, path: '/version', rejectUnauthorized: false }, (res) => {
          let out = '';
          res.on('data', (d) => (out += d));
          res.on('end', () => resolve(out));
        }).on('error', () => resolve(''));
      }),
    10_000,
    'the API through the kubernetes service',
  );
  assert.match(body, /"gitVersion"/);
});

test('NetworkPolicy objects are accepted and validated as upstream, and up says they are not enforced', async () => {
  assert.match(c.output(), /NetworkPolicy objects are accepted and validated but not enforced/);
  await c.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-web
spec:
  podSelector:
    matchLabels:
      app: mysql
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: web
    ports:
    - port: 3306
`,
  });
  assert.match((await c.kubectl(['get', 'netpol'])).stdout, /db-from-web\s+app=mysql\s+\d+s/);
  const np = JSON.parse((await c.kubectl(['get', 'networkpolicy', 'db-from-web', '-o', 'json'])).stdout);
  assert.deepEqual(np.spec.policyTypes, ['Ingress']);
  assert.equal(np.spec.ingress[0].ports[0].protocol, 'TCP');
  const bad = await c.kubectl(['apply', '-f', '-'], {
    allowFail: true,
    input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/8
        except: [192.168.0.0/16]
    ports:
    - port: 70000
`,
  });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /spec\.egress\[0\]\.ports\[0\]\.port: Invalid value: 70000: must be between 1 and 65535, inclusive/);
  assert.match(bad.stderr, /spec\.egress\[0\]\.to\[0\]\.ipBlock\.except\[0\]: Invalid value: "192\.168\.0\.0\/16": must be a strict subset of `cidr`/);
});
