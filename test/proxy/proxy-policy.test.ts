// The service proxy asks, per relayed connection or UDP flow, whether its client may reach the
// chosen backend (NetworkPolicy in the root pod network); a refused one is dropped: no
// connection to the backend, no answer. Real sockets on loopback: clients bind their own
// addresses, so the proxy sees two different clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { resources } from '../../src/client/client.js';
import { SharedInformerFactory } from '../../src/client/informer.js';
import { ServiceProxy } from '../../src/proxy/proxier.js';

const NET = `127.65.${1 + Math.floor(Math.random() * 250)}`;
const BACKEND = `${NET}.11`;
const ALLOWED = `${NET}.21`;
const REFUSED = `${NET}.22`;
let server: TestServer;
let informers: SharedInformerFactory;
let proxy: ServiceProxy;
let tcp: net.Server;
let udp: dgram.Socket;
const reached: string[] = [];
const asked: Array<[string, string]> = [];

before(async () => {
  server = await startTestServer();
  tcp = net.createServer((c) => {
    reached.push('tcp');
    c.end('hello from db-0');
  });
  const port = await new Promise<number>((r) => tcp.listen(0, BACKEND, () => r((tcp.address() as net.AddressInfo).port)));
  udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => {
    reached.push('udp');
    udp.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address);
  });
  await new Promise<void>((r) => udp.bind(port, BACKEND, () => r()));
  await server.client.resource(resources.services, 'default').create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db' },
    spec: { ports: [{ name: 'sql', port: 3306 }, { name: 'dns', port: 53, protocol: 'UDP' }] },
  });
  await server.client.resource(resources.endpoints, 'default').create({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'db' },
    subsets: [{ addresses: [{ ip: BACKEND }], ports: [{ name: 'sql', port, protocol: 'TCP' }, { name: 'dns', port, protocol: 'UDP' }] }],
  });
  informers = new SharedInformerFactory(server.client);
  proxy = new ServiceProxy(server.client, {
    log: () => {},
    admit: (client, backend, protocol) => {
      asked.push([client.replace('::ffff:', ''), `${backend.ip}/${protocol}`]);
      return client.replace('::ffff:', '') !== REFUSED;
    },
  });
  await proxy.start(informers);
});

after(async () => {
  await proxy?.stop();
  informers?.stop();
  tcp?.close();
  udp?.close();
  await server?.stop();
});

/** What a client bound to `from` gets: the answer, or `nothing` when no byte came back within `ms`. */
function tcpFrom(from: string, ip: string, port: number, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: ip, port, localAddress: from });
    let out = '';
    const t = setTimeout(() => {
      c.destroy();
      resolve(out || 'nothing');
    }, ms);
    c.on('data', (d) => (out += d));
    c.on('end', () => {
      clearTimeout(t);
      resolve(out);
    });
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

function udpFrom(from: string, ip: string, port: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve('nothing');
    }, ms);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(String(m));
    });
    s.bind(0, from, () => s.send('ping', port, ip));
  });
}

test('a client the policy allows is relayed; a refused one reaches nothing and hears nothing', async () => {
  const { spec } = await server.client.resource(resources.services, 'default').get('db');
  await waitFor(() => proxy.serving().includes(`${spec.clusterIP}:3306/TCP`) && proxy.serving().includes(`${spec.clusterIP}:53/UDP`), 10_000, 'the frontends');
  assert.equal(await tcpFrom(ALLOWED, spec.clusterIP, 3306, 5000), 'hello from db-0');
  assert.equal(await udpFrom(ALLOWED, spec.clusterIP, 53, 5000), 'echo:ping');
  assert.deepEqual(reached, ['tcp', 'udp']);
  // the proxy asked about the client's own address, not its own
  assert.deepEqual(asked, [[ALLOWED, `${BACKEND}/TCP`], [ALLOWED, `${BACKEND}/UDP`]]);

  // refused: held without an answer (as a dropped SYN is), and the backend never sees it
  assert.equal(await tcpFrom(REFUSED, spec.clusterIP, 3306, 1000), 'nothing');
  assert.equal(await udpFrom(REFUSED, spec.clusterIP, 53, 1000), 'nothing');
  assert.deepEqual(reached, ['tcp', 'udp']);
  assert.deepEqual(asked.slice(2), [[REFUSED, `${BACKEND}/TCP`], [REFUSED, `${BACKEND}/UDP`]]);
});
