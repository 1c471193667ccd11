// sessionAffinity: ClientIP through the real service proxy: connections from one client
// address stay on one backend while another client may land elsewhere; without affinity the
// same client is spread over both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { resources } from '../../src/client/client.js';
import { SharedInformerFactory } from '../../src/client/informer.js';
import { ServiceProxy } from '../../src/proxy/proxier.js';

const NET = `127.65.${1 + Math.floor(Math.random() * 250)}`;
let server: TestServer;
let informers: SharedInformerFactory;
let proxy: ServiceProxy;
const backends: net.Server[] = [];

function ask(from: string, ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: ip, port, localAddress: from });
    let out = '';
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

before(async () => {
  server = await startTestServer();
  let port = 0;
  for (const [i, name] of ['web-0', 'web-1'].entries()) {
    const s = net.createServer((c) => c.end(name));
    backends.push(s);
    port = await new Promise<number>((r) => s.listen(port, `${NET}.${11 + i}`, () => r((s.address() as net.AddressInfo).port)));
  }
  for (const [name, affinity] of [['sticky', 'ClientIP'], ['spread', 'None']]) {
    await server.client.resource(resources.services, 'default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { sessionAffinity: affinity, ports: [{ port: 80 }] } });
    await server.client.resource(resources.endpoints, 'default').create({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name },
      subsets: [{ addresses: [{ ip: `${NET}.11` }, { ip: `${NET}.12` }], ports: [{ port, protocol: 'TCP' }] }],
    });
  }
  informers = new SharedInformerFactory(server.client);
  proxy = new ServiceProxy(server.client, { log: () => {} });
  await proxy.start(informers);
});

after(async () => {
  await proxy?.stop();
  informers?.stop();
  for (const s of backends) s.close();
  await server?.stop();
});

test('ClientIP keeps each client on one backend; None spreads one client over all', async () => {
  const svcs = server.client.resource(resources.services, 'default');
  const sticky = (await svcs.get('sticky')).spec;
  const spread = (await svcs.get('spread')).spec;
  assert.equal(sticky.sessionAffinityConfig.clientIP.timeoutSeconds, 10800, "upstream's default: three hours");
  await waitFor(() => proxy.serving().includes(`${sticky.clusterIP}:80/TCP`) && proxy.serving().includes(`${spread.clusterIP}:80/TCP`), 10_000, 'the frontends');
  const seen = new Map<string, Set<string>>();
  for (let i = 0; i < 6; i++) {
    for (const client of [`${NET}.21`, `${NET}.22`]) {
      const got = await ask(client, sticky.clusterIP, 80);
      seen.set(client, (seen.get(client) ?? new Set()).add(got));
    }
  }
  for (const [client, answers] of seen) assert.equal(answers.size, 1, `${client} stays on one backend: ${[...answers]}`);
  const one = new Set<string>();
  for (let i = 0; i < 6; i++) one.add(await ask(`${NET}.21`, spread.clusterIP, 80));
  assert.deepEqual([...one].sort(), ['web-0', 'web-1']);
});
