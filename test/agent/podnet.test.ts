// The root pod network on this machine: namespaces, veths and a bridge made and removed for
// real; pods reach each other with their own addresses, the host reaches pods, pods reach the
// service range through the host, nothing else is reachable, and the guard never drops a packet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { PodNetwork, podNetworkUnavailable } from '../../src/agent/podnet/pod-network.js';
import { waitFor } from '../support/server.js';

const why = await podNetworkUnavailable();
const id = randomBytes(3).toString('hex');
// ranges of this run only, and of second octets no other test takes (e2e clusters use 10.96-111
// and 10.192-239, the machines test 10.32-95): a /16 here must not cover another test's pods
const second = 144 + Math.floor(Math.random() * 32);
const podCidr = `10.${second}.0.0/16`;
const serviceCidr = `10.${176 + Math.floor(Math.random() * 16)}.0.0/16`;
const ip = (n: number) => `10.${second}.1.${n}`;
let pn: PodNetwork;
const procs: ChildProcess[] = [];

function sh(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, (e, out, err) => (e ? reject(new Error(String(err) || e.message)) : resolve(String(out)))));
}

/** A node program inside the pod's namespace; its pid is kept to end it. */
function inPod(netns: string, code: string): ChildProcess {
  const p = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  return p;
}

function output(p: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    p.on('exit', () => resolve(out));
  });
}

const serverCode = (name: string, host: string) =>
  `require('net').createServer((c) => c.end('hello from ${name}, you are ' + c.remoteAddress)).listen(5000, '${host}', () => console.log('listening'))`;
const clientCode = (host: string, port: number) =>
  `const c = require('net').connect(${port}, '${host}'); let o=''; c.on('data', d => o += d); c.on('end', () => console.log(o)); c.on('error', e => console.log('error ' + e.code))`;

before(async () => {
  if (why) return;
  pn = new PodNetwork({ id, podCidr, serviceCidr, log: () => {} });
  await pn.setup();
});

function endAll(): void {
  for (const p of procs) {
    if (!p.pid || p.exitCode !== null || p.signalCode !== null) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

after(async () => {
  endAll();
  if (pn) await pn.teardown();
});

test('pods reach each other with their own addresses; the host reaches pods; three pods use one port', { skip: why }, async () => {
  const a = await pn.addPod('default/web-0', ip(2));
  const b = await pn.addPod('default/web-1', ip(3));
  const c = await pn.addPod('default/web-2', ip(4));
  for (const [h, name] of [[a, 'web-0'], [b, 'web-1'], [c, 'web-2']] as const) {
    const srv = inPod(h.netns, serverCode(name, '0.0.0.0'));
    await new Promise<void>((r) => srv.stdout!.once('data', () => r()));
  }
  assert.equal((await output(inPod(b.netns, clientCode(ip(2), 5000)))).trim(), `hello from web-0, you are ${ip(3)}`);
  assert.equal((await output(inPod(a.netns, clientCode(ip(4), 5000)))).trim(), `hello from web-2, you are ${ip(2)}`);
  const fromHost = await new Promise<string>((resolve, reject) => {
    const s = net.connect(5000, ip(3));
    let o = '';
    s.on('data', (d) => (o += d));
    s.on('end', () => resolve(o));
    s.on('error', reject);
  });
  assert.equal(fromHost, `hello from web-1, you are ${pn.gateway}`);
});

test('pods reach the service range through the host, and nothing outside the cluster', { skip: why }, async () => {
  const a = await pn.addPod('default/client', ip(9));
  const clusterIP = serviceCidr.replace('0.0/16', '0.10');
  const svc = net.createServer((s) => s.end('hello from a service'));
  await new Promise<void>((r) => svc.listen(5300, clusterIP, () => r()));
  try {
    assert.equal((await output(inPod(a.netns, clientCode(clusterIP, 5300)))).trim(), 'hello from a service');
  } finally {
    svc.close();
  }
  // TEST-NET-3: no route in the pod, so the kernel refuses before any packet exists
  assert.equal((await output(inPod(a.netns, clientCode('203.0.113.1', 80)))).trim(), 'error ENETUNREACH');
  const routes = await sh('ip', ['-n', a.netns, 'route']);
  assert.doesNotMatch(routes, /default/);
});

test('a second pod network on ranges already in use is refused before it adds anything', { skip: why }, async () => {
  const otherId = randomBytes(3).toString('hex');
  const other = new PodNetwork({ id: otherId, podCidr, serviceCidr: '10.99.250.0/24', log: () => {} });
  await assert.rejects(other.setup(), new RegExp(`the pod range ${podCidr.replace(/\./g, '\\.')} overlaps .* via psbr${id}`));
  assert.doesNotMatch(await sh('ip', ['link']), new RegExp(`psbr${otherId}`));
  assert.doesNotMatch(await sh('nft', ['list', 'tables']), new RegExp(`petset_guard_${otherId}`));
});

test('the guard dropped nothing, and teardown leaves nothing behind', { skip: why }, async () => {
  assert.equal(await pn.guardDrops(), 0);
  await pn.removePod('default/client');
  assert.equal((await pn.podNamespaces()).length, 3);
  endAll();
  await waitFor(() => procs.every((p) => p.exitCode !== null || p.signalCode !== null), 5000, 'pod programs ended');
  await pn.teardown();
  assert.deepEqual(await pn.podNamespaces(), []);
  assert.doesNotMatch(await sh('ip', ['link']), new RegExp(`psbr${id}|psv${id}`));
  assert.doesNotMatch(await sh('nft', ['list', 'tables']), new RegExp(`petset_guard_${id}`));
  assert.doesNotMatch(await sh('ip', ['route', 'show', 'table', 'all']), new RegExp(`10\\.${second}\\.0\\.0/16`));
});
