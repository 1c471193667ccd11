// The cluster DNS server over real packets: dig (Debian's dnsutils) asks, over UDP and TCP,
// about objects written to a real API server; answers follow the objects as they change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { resources } from '../../src/client/client.js';
import { SharedInformerFactory } from '../../src/client/informer.js';
import { DnsServer } from '../../src/dns/server.js';

const haveDig = await new Promise<boolean>((r) => execFile('dig', ['-v'], (e) => r(!e)));

function dig(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args], (e, stdout) => (e && !stdout ? reject(e) : resolve(stdout))),
  );
}

let server: TestServer;
let informers: SharedInformerFactory;
let dns: DnsServer;
let upstream: dgram.Socket;

before(async () => {
  server = await startTestServer();
  const c = server.client;
  await c.resource(resources.services, 'default').create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubia' },
    spec: { clusterIP: 'None', selector: { app: 'kubia' }, ports: [{ name: 'http', port: 80 }] },
  });
  await c.resource(resources.endpoints, 'default').create({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubia' },
    subsets: [
      {
        addresses: [
          { ip: '127.64.1.10', hostname: 'kubia-0' },
          { ip: '127.64.1.11', hostname: 'kubia-1' },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ],
  });
  // A stand-in for the host's resolver, started by the test on loopback: answers every A query with 192.0.2.7.
  upstream = dgram.createSocket('udp4');
  upstream.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const reply = dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data: '192.0.2.7' }] });
    upstream.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
  informers = new SharedInformerFactory(server.client);
  dns = await DnsServer.forCluster(informers, { upstreams: [{ host: '127.0.0.1', port: upstream.address().port }] });
});

after(async () => {
  await dns?.close();
  informers?.stop();
  upstream?.close();
  await server?.stop();
});

test('dig SRV of the bare service name: one SRV per pet, their A records in ADDITIONAL', { skip: !haveDig && 'dig is not installed (apt-get install dnsutils)' }, async () => {
  const out = await dig(dns.address.port, 'SRV', 'kubia.default.svc.cluster.local');
  assert.match(out, /status: NOERROR/);
  assert.match(out, /flags: qr aa rd ra;/);
  const answer = out.split(';; ANSWER SECTION:\n')[1].split('\n\n')[0].split('\n');
  assert.deepEqual(answer.map((l) => l.split(/\s+/).join(' ')).sort(), [
    'kubia.default.svc.cluster.local. 5 IN SRV 0 50 8080 kubia-0.kubia.default.svc.cluster.local.',
    'kubia.default.svc.cluster.local. 5 IN SRV 0 50 8080 kubia-1.kubia.default.svc.cluster.local.',
  ]);
  const additional = out.split(';; ADDITIONAL SECTION:\n')[1].split('\n\n')[0].split('\n');
  assert.deepEqual(additional.map((l) => l.split(/\s+/).join(' ')).sort(), [
    'kubia-0.kubia.default.svc.cluster.local. 5 IN A 127.64.1.10',
    'kubia-1.kubia.default.svc.cluster.local. 5 IN A 127.64.1.11',
  ]);
});

test('A records over UDP and TCP; NXDOMAIN with the SOA; names follow endpoint changes', { skip: !haveDig && 'no dig' }, async () => {
  const port = dns.address.port;
  assert.equal((await dig(port, '+short', 'kubia-1.kubia.default.svc.cluster.local')).trim(), '127.64.1.11');
  assert.equal((await dig(port, '+tcp', '+short', 'kubia-0.kubia.default.svc.cluster.local')).trim(), '127.64.1.10');
  const nx = await dig(port, 'kubia-7.kubia.default.svc.cluster.local');
  assert.match(nx, /status: NXDOMAIN/);
  assert.match(nx, /AUTHORITY SECTION:\ncluster\.local\.\s+5\s+IN\s+SOA/);
  // kubia-1 is replaced and comes back with another address: the name follows at once (TTL 5).
  const eps = server.client.resource(resources.endpoints, 'default');
  const cur = await eps.get('kubia');
  cur.subsets[0].addresses[1].ip = '127.64.2.20';
  await eps.update(cur);
  await waitFor(async () => (await dig(port, '+short', 'kubia-1.kubia.default.svc.cluster.local')).trim() === '127.64.2.20', 10_000, 'the new address in DNS');
  assert.match(await dig(port, '-x', '127.64.2.20'), /PTR\s+kubia-1\.kubia\.default\.svc\.cluster\.local\./);
});

test('the kubernetes service answers with its ClusterIP, and dns-version says 1.1.0', { skip: !haveDig && 'no dig' }, async () => {
  const svc = await server.client.resource(resources.services, 'default').get('kubernetes');
  const port = dns.address.port;
  assert.equal((await dig(port, '+short', 'kubernetes.default.svc.cluster.local')).trim(), svc.spec.clusterIP);
  assert.equal((await dig(port, '+short', 'TXT', 'dns-version.cluster.local')).trim(), '"1.1.0"');
});

test('a big answer is truncated over UDP and complete over TCP', { skip: !haveDig && 'no dig' }, async () => {
  const addresses = Array.from({ length: 60 }, (_, i) => ({ ip: `127.64.3.${i + 1}`, hostname: `big-${i}` }));
  await server.client.resource(resources.services, 'default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'big' }, spec: { clusterIP: 'None', ports: [{ name: 'p', port: 1 }] } });
  await server.client.resource(resources.endpoints, 'default').create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'big' }, subsets: [{ addresses, ports: [{ name: 'p', port: 1, protocol: 'TCP' }] }] });
  const port = dns.address.port;
  await waitFor(async () => /status: NOERROR/.test(await dig(port, '+tcp', 'big.default.svc.cluster.local')), 10_000, 'big service in DNS');
  const udp = await dig(port, '+notcp', '+ignore', '+bufsize=512', 'SRV', 'big.default.svc.cluster.local');
  assert.match(udp, /flags: qr aa tc/);
  const tcp = await dig(port, '+tcp', 'SRV', 'big.default.svc.cluster.local');
  assert.match(tcp, /ANSWER: 60, AUTHORITY: 0, ADDITIONAL: 6[01]/);
});

test('an answer beyond 64 KiB over TCP drops the additional records, then answers with TC, and the server lives on', { skip: !haveDig && 'no dig' }, async () => {
  // 1,500 pets: their SRV answer with the A records is about 200 KiB, more than one TCP message holds
  const addresses = Array.from({ length: 1500 }, (_, i) => ({ ip: `127.65.${Math.floor(i / 250)}.${(i % 250) + 1}`, hostname: `herd-${i}` }));
  await server.client.resource(resources.services, 'default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'herd' }, spec: { clusterIP: 'None', ports: [{ name: 'p', port: 1 }] } });
  await server.client.resource(resources.endpoints, 'default').create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'herd' }, subsets: [{ addresses, ports: [{ name: 'p', port: 1, protocol: 'TCP' }] }] });
  const port = dns.address.port;
  await waitFor(async () => /status: NOERROR/.test(await dig(port, '+tcp', 'herd.default.svc.cluster.local')), 10_000, 'herd service in DNS');
  // 1,500 A records (names are not compressed) are a little more than 64 KiB as well
  const a = await dig(port, '+tcp', '+ignore', 'A', 'herd.default.svc.cluster.local');
  assert.match(a, /flags: qr aa tc/);
  assert.ok(Number(/ANSWER: (\d+),/.exec(a)![1]) > 1000);
  const srv = await dig(port, '+tcp', '+ignore', 'SRV', 'herd.default.svc.cluster.local');
  assert.match(srv, /flags: qr aa tc/);
  assert.match(srv, /ADDITIONAL: [01]\b/);
  const answers = Number(/ANSWER: (\d+),/.exec(srv)![1]);
  assert.ok(answers > 0 && answers < 1500, `${answers} SRV answers`);
  assert.equal((await dig(port, '+tcp', '+short', 'herd-7.herd.default.svc.cluster.local')).trim(), '127.65.0.8', 'the server still answers');
});

test('names outside the cluster go to the configured upstream; without one they are refused', { skip: !haveDig && 'no dig' }, async () => {
  assert.equal((await dig(dns.address.port, '+short', 'db.example.org')).trim(), '192.0.2.7');
  const lonely = new DnsServer({ service: () => undefined, endpoints: () => undefined, namespaceExists: () => false, namesForIP: () => [] });
  await lonely.listen();
  try {
    assert.match(await dig(lonely.address.port, 'db.example.org'), /status: REFUSED/);
  } finally {
    await lonely.close();
  }
});

test('garbage packets get FORMERR or nothing, and the server keeps answering', async () => {
  const sock = dgram.createSocket('udp4');
  try {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no reply')), 3000);
      sock.once('message', (m) => {
        clearTimeout(t);
        resolve(m);
      });
      sock.send(Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), dns.address.port, '127.0.0.1');
    });
    assert.equal(reply.readUInt16BE(0), 0x1234);
    assert.equal(reply.readUInt16BE(2) & 0xf, 1); // FORMERR
    sock.send(Buffer.from([1, 2, 3]), dns.address.port, '127.0.0.1');
  } finally {
    sock.close();
  }
  const answer = await dns.answer(dnsPacket.encode({ id: 9, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'kubia-0.kubia.default.svc.cluster.local' }] }), 'udp');
  assert.equal((dnsPacket.decode(answer!).answers![0] as any).data, '127.64.1.10');
});
