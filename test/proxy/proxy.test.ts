// The service proxy against a real API server: real TCP and UDP servers on loopback "pod"
// addresses stand behind Services; connections to the cluster IP and the node port are
// balanced over the ready ones, follow endpoint changes, and stick to one with ClientIP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { resources } from '../../src/client/client.js';
import { SharedInformerFactory } from '../../src/client/informer.js';
import { ServiceProxy } from '../../src/proxy/proxier.js';
import { Balancer, frontends } from '../../src/proxy/rules.js';

// A random /24 of the loopback pod range, so parallel runs do not meet.
const NET = `127.65.${1 + Math.floor(Math.random() * 250)}`;
let server: TestServer;
let informers: SharedInformerFactory;
let proxy: ServiceProxy;
const backends: net.Server[] = [];
let udpBackend: dgram.Socket;

function hello(ip: string, name: string): Promise<number> {
  const s = net.createServer((c) => c.end(`hello from ${name}`));
  backends.push(s);
  return new Promise((r) => s.listen(0, ip, () => r((s.address() as net.AddressInfo).port)));
}

function ask(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: ip, port });
    let out = '';
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

before(async () => {
  server = await startTestServer();
  const port = await hello(`${NET}.11`, 'kubia-0');
  await hello(`${NET}.12`, 'kubia-1').then((p) => assert.ok(p));
  // both pods answer on one port number, as pods of a StatefulSet do; move kubia-1 to it
  backends[1].close();
  backends.pop();
  await new Promise<void>((r) => {
    const s = net.createServer((c) => c.end('hello from kubia-1'));
    backends.push(s);
    s.listen(port, `${NET}.12`, () => r());
  });
  udpBackend = dgram.createSocket('udp4');
  udpBackend.on('message', (m, r) => udpBackend.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  await new Promise<void>((r) => udpBackend.bind(port, `${NET}.11`, () => r()));

  const c = server.client;
  await c.resource(resources.services, 'default').create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubia-public' },
    spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'dns', port: 53, protocol: 'UDP' }] },
  });
  await c.resource(resources.endpoints, 'default').create({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubia-public' },
    subsets: [
      {
        addresses: [{ ip: `${NET}.11` }, { ip: `${NET}.12` }],
        ports: [
          { name: 'http', port, protocol: 'TCP' },
          { name: 'dns', port, protocol: 'UDP' },
        ],
      },
    ],
  });
  informers = new SharedInformerFactory(server.client);
  proxy = new ServiceProxy(server.client, { log: () => {} });
  await proxy.start(informers);
});

after(async () => {
  await proxy?.stop();
  informers?.stop();
  for (const s of backends) s.close();
  udpBackend?.close();
  await server?.stop();
});

const svc = () => server.client.resource(resources.services, 'default').get('kubia-public');

test('the cluster IP answers from different pods over repeated calls', async () => {
  const { spec } = await svc();
  await waitFor(() => proxy.serving().includes(`${spec.clusterIP}:80/TCP`), 10_000, 'the frontend');
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(await ask(spec.clusterIP, 80));
  assert.deepEqual([...seen].sort(), ['hello from kubia-0', 'hello from kubia-1']);
});

test('the node port on the host loopback reaches the same pods', async () => {
  const { spec } = await svc();
  const nodePort = spec.ports.find((p: any) => p.name === 'http').nodePort;
  assert.ok(nodePort >= 30000 && nodePort <= 32767, `a node port from the range: ${nodePort}`);
  await waitFor(() => proxy.serving().includes(`127.0.0.1:${nodePort}/TCP`), 10_000, 'the node port frontend');
  assert.match(await ask('127.0.0.1', nodePort), /hello from kubia-[01]/);
});

test('UDP is relayed both ways', async () => {
  const { spec } = await svc();
  const sock = dgram.createSocket('udp4');
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no UDP reply')), 5000);
      sock.on('message', (m) => {
        clearTimeout(t);
        resolve(String(m));
      });
      const send = () => sock.send('ping', 53, spec.clusterIP);
      send();
    });
    assert.equal(reply, 'echo:ping');
  } finally {
    sock.close();
  }
});

test('a pod leaving the endpoints gets no more connections; none left refuses at once', async () => {
  const eps = server.client.resource(resources.endpoints, 'default');
  const cur = await eps.get('kubia-public');
  cur.subsets[0].addresses = [{ ip: `${NET}.12` }];
  await eps.update(cur);
  const { spec } = await svc();
  await waitFor(async () => {
    const answers = await Promise.all([0, 1, 2, 3].map(() => ask(spec.clusterIP, 80)));
    return answers.every((a) => a === 'hello from kubia-1');
  }, 10_000, 'only kubia-1');
  cur.subsets = [];
  await eps.update({ ...(await eps.get('kubia-public')), subsets: [] });
  await waitFor(async () => ask(spec.clusterIP, 80).then(() => false, (e) => e.code === 'ECONNRESET' || e.code === 'ECONNREFUSED'), 10_000, 'refused');
});

test('ClientIP affinity keeps a client on one backend; rules skip headless and ExternalName services', () => {
  const f = frontends(
    [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'd' }, spec: { clusterIP: '127.96.0.9', sessionAffinity: 'ClientIP', ports: [{ port: 80, protocol: 'TCP' }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'h', namespace: 'd' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: 'd' }, spec: { type: 'ExternalName', externalName: 'example.org' } },
    ],
    () => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 's' }, subsets: [{ addresses: [{ ip: '127.64.0.1' }, { ip: '127.64.0.2' }], ports: [{ port: 8080, protocol: 'TCP' }] }] }),
  );
  assert.equal(f.length, 1);
  assert.deepEqual(f[0].backends, [{ ip: '127.64.0.1', port: 8080 }, { ip: '127.64.0.2', port: 8080 }]);
  const b = new Balancer();
  const first = b.pick(f[0], '10.0.0.1');
  for (let i = 0; i < 5; i++) assert.deepEqual(b.pick(f[0], '10.0.0.1'), first);
});
