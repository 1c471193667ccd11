// The cluster DNS of `petset up` as dig (Debian's dnsutils) sees it, at the address up prints:
// a raw pod's hostname+subdomain name, pod A records, ExternalName CNAMEs, NODATA vs NXDOMAIN,
// PTR, SRV with ADDITIONAL, TTLs, and names outside the cluster forwarded to the upstream given
// with --dns-upstream — a DNS server this test runs on loopback (no packet leaves the machine).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { eventually, startCluster, type Cluster } from './harness.js';

const haveDig = await new Promise<boolean>((r) => execFile('dig', ['-v'], (e) => r(!e)));
let c: Cluster;
let port = 0;
let upstream: dgram.Socket;
const forwarded: string[] = [];

const dig = (...args: string[]) =>
  new Promise<string>((resolve, reject) => execFile('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args], (e, out) => (e && !out ? reject(e) : resolve(String(out)))));
const section = (out: string, name: string) => (out.split(`;; ${name} SECTION:\n`)[1] ?? '').split('\n\n')[0].split('\n').filter(Boolean).map((l) => l.split(/\s+/).join(' '));

before(async () => {
  if (!haveDig) return;
  // the "host's resolver": answers A queries with 192.0.2.7, and says which names it was asked
  upstream = dgram.createSocket('udp4');
  upstream.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const name = q.questions![0].name;
    forwarded.push(name);
    const answers = q.questions![0].type === 'A' ? [{ type: 'A' as const, name, ttl: 60, data: '192.0.2.7' }] : [];
    upstream.send(dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
  c = await startCluster({ extraArgs: ['--dns-upstream', `127.0.0.1:${upstream.address().port}`] });
  const m = /Cluster DNS \(cluster\.local\) at 127\.0\.0\.1:(\d+), UDP and TCP; other names go to 127\.0\.0\.1:(\d+)/.exec(c.output());
  assert.ok(m, `up prints the DNS address and where other names go:\n${c.output()}`);
  port = Number(m[1]);
  assert.equal(Number(m[2]), upstream.address().port);
  await c.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Service
metadata:
  name: grp
spec:
  clusterIP: None
  selector:
    app: box
  ports:
  - name: http
    port: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: box
  labels:
    app: box
    group: g
spec:
  hostname: box
  subdomain: grp
  containers:
  - name: main
    image: busybox
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: box
  ports:
  - name: http
    port: 80
---
apiVersion: v1
kind: Pod
metadata:
  name: slow
  labels:
    group: g
spec:
  readinessGates:
  - conditionType: example.com/never-set
  containers:
  - name: main
    image: busybox
---
apiVersion: v1
kind: Service
metadata:
  name: readyonly
spec:
  clusterIP: None
  selector:
    group: g
  ports:
  - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: everyone
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    group: g
  ports:
  - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: ext
spec:
  type: ExternalName
  externalName: db.example.org
`,
  });
  await c.kubectl(['wait', '--for=condition=Ready', 'pod/box', '--timeout=30s']);
});

after(async () => {
  await c?.stop();
  upstream?.close();
});

test('a raw pod with hostname and subdomain has its name, a pod A record, and PTR', { skip: !haveDig && 'dig is not installed (apt-get install dnsutils)' }, async () => {
  const ip = (await c.kubectl(['get', 'pod', 'box', '-o', 'jsonpath={.status.podIP}'])).stdout;
  assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  await eventually(async () => (await dig('+short', 'box.grp.default.svc.cluster.local')).trim() === ip, 15_000, 'box.grp in DNS');
  assert.deepEqual(section(await dig('box.grp.default.svc.cluster.local'), 'ANSWER'), [`box.grp.default.svc.cluster.local. 5 IN A ${ip}`], 'a 5 s TTL');
  assert.equal((await dig('+short', `${ip.replace(/\./g, '-')}.default.pod.cluster.local`)).trim(), ip);
  assert.equal((await dig('+short', '-x', ip)).trim(), 'box.grp.default.svc.cluster.local.');
  // the bare-name SRV query of the headless service: the pod's SRV, its A record in ADDITIONAL
  const srv = await dig('SRV', 'grp.default.svc.cluster.local');
  assert.deepEqual(section(srv, 'ANSWER'), ['grp.default.svc.cluster.local. 5 IN SRV 0 100 80 box.grp.default.svc.cluster.local.']);
  assert.deepEqual(section(srv, 'ADDITIONAL').filter((l) => !l.startsWith(';')), [`box.grp.default.svc.cluster.local. 5 IN A ${ip}`]);
  assert.match(await dig('+tcp', 'SRV', '_http._tcp.grp.default.svc.cluster.local'), /IN\s+SRV\s+0 100 80 box\.grp\.default\.svc\.cluster\.local\./);
});

test('a headless service has one A per ready endpoint; with publishNotReadyAddresses, every endpoint', { skip: !haveDig && 'no dig' }, async () => {
  const ip = (name: string) => c.kubectl(['get', 'pod', name, '-o', 'jsonpath={.status.podIP}']).then((r) => r.stdout);
  const box = await ip('box');
  const slow = await eventually(async () => (await ip('slow')) || undefined, 30_000, 'the not-ready pod running with an address');
  assert.match((await c.kubectl(['get', 'pod', 'slow', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout, /False/);
  const sorted = (out: string) => out.trim().split('\n').filter(Boolean).sort();
  await eventually(async () => sorted(await dig('+short', 'everyone.default.svc.cluster.local')).join(' ') === [box, slow].sort().join(' '), 15_000, 'both pods under everyone');
  assert.deepEqual(sorted(await dig('+short', 'readyonly.default.svc.cluster.local')), [box]);
});

test('NODATA for a name without records of the type, NXDOMAIN for a name that does not exist', { skip: !haveDig && 'no dig' }, async () => {
  const web = (await c.kubectl(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
  assert.equal((await dig('+short', 'web.default.svc.cluster.local')).trim(), web);
  const aaaa = await dig('AAAA', 'web.default.svc.cluster.local');
  assert.match(aaaa, /status: NOERROR/);
  assert.match(aaaa, /ANSWER: 0, AUTHORITY: 1/);
  assert.match(await dig('nope.default.svc.cluster.local'), /status: NXDOMAIN/);
  // a namespace's own name exists (it has names below it): NODATA, not NXDOMAIN
  assert.match(await dig('default.svc.cluster.local'), /status: NOERROR/);
  assert.equal((await dig('+short', 'TXT', 'dns-version.cluster.local')).trim(), '"1.1.0"');
});

test('an ExternalName service is a CNAME; other names go to the upstream resolver', { skip: !haveDig && 'no dig' }, async () => {
  assert.deepEqual(section(await dig('CNAME', 'ext.default.svc.cluster.local'), 'ANSWER'), ['ext.default.svc.cluster.local. 5 IN CNAME db.example.org.']);
  assert.equal((await dig('+short', 'db.example.org')).trim(), '192.0.2.7');
  assert.ok(forwarded.includes('db.example.org'), `the upstream was asked: ${forwarded.join(', ')}`);
  assert.ok(!forwarded.some((n) => n.endsWith('cluster.local')), 'cluster names are never forwarded');
});

test('kube-system/kube-dns has Endpoints at the DNS server', async () => {
  const ep = JSON.parse((await c.kubectl(['get', 'endpoints', '-n', 'kube-system', 'kube-dns', '-o', 'json'])).stdout);
  assert.deepEqual(ep.subsets[0].addresses, [{ ip: '127.0.0.1' }]);
  assert.deepEqual(ep.subsets[0].ports.map((p: any) => `${p.name}/${p.protocol}/${p.port}`).sort(), [`dns-tcp/TCP/${port}`, `dns/UDP/${port}`]);
});
