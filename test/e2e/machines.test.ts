// Machines simulated on this one: each a network namespace of the test's own, wired to a
// test-only LAN (a bridge in a namespace of its own, on a random 10.250.x.0/24 that exists
// nowhere else; the host namespace gains no address, route or link). The control plane runs
// on machine 0 (petset up, listening on its LAN address); machines 1 to 3 join with
// `petset join` as printed by `petset token create --print-join-command` on machine 0, each
// getting its own certificate. A StatefulSet whose pods must not share a host runs one pod on
// each joined machine. Needs root (network namespaces); everything is removed afterwards.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { tempDir, eventually, petsetBin } from './harness.js';

const id = randomBytes(3).toString('hex');
const LAN = `pslan-${id}`;
const machine = (i: number) => `psm${i}-${id}`;
const subnet = `10.250.${Math.floor(Math.random() * 254) + 1}`;
const addressOf = (i: number) => `${subnet}.${10 + i}`;
const MACHINES = 4;
const children: ChildProcess[] = [];
const dirs: string[] = [];
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const skip = process.getuid?.() !== 0 ? 'needs root for network namespaces' : undefined;

before(() => {
  if (skip) return;
  ip('netns', 'add', LAN);
  ip('-n', LAN, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', LAN, 'link', 'set', 'br0', 'up');
  for (let i = 0; i < MACHINES; i++) {
    const ns = machine(i);
    ip('netns', 'add', ns);
    // a veth from the LAN's bridge to the machine's eth0, both ends inside the test's namespaces
    ip('-n', LAN, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', LAN, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
    ip('-n', ns, 'addr', 'add', `${addressOf(i)}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
});

after(async () => {
  for (const c of children.reverse()) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  if (!skip) for (const ns of [...Array.from({ length: MACHINES }, (_, i) => machine(i)), LAN]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not created
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A petset process on machine i, its output kept. */
function onMachine(i: number, args: string[]): { child: ChildProcess; output(): string } {
  const child = spawn('ip', ['netns', 'exec', machine(i), process.execPath, petsetBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  children.push(child);
  return { child, output: () => out };
}

function kubectlOn(i: number, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = execFile('ip', ['netns', 'exec', machine(i), 'kubectl', '--kubeconfig', kubeconfig, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(String(stdout)),
    );
    c.stdin!.end(input ?? '');
  });
}

const SPREAD = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: spread
spec:
  serviceName: spread
  replicas: 3
  selector:
    matchLabels: {app: spread}
  template:
    metadata:
      labels: {app: spread}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchLabels: {app: spread}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: app
        image: nginx:1.27
`;

describe('machines in network namespaces', { skip }, () => {
  it('three machines join the control plane over a test-only LAN and run one pod each', async () => {
    const cpDir = tempDir('petset-m0-');
    dirs.push(cpDir);
    const cp = onMachine(0, ['up', '--data-dir', cpDir, '--host', addressOf(0), '--port', '0', '--runtime', 'sim', '--pod-network', 'host', '--nodes', '0']);
    const kubeconfig = await eventually(() => /export KUBECONFIG=(\S+)/.exec(cp.output())?.[1], 60_000, `petset up on machine 0:\n${cp.output()}`);
    assert.match(fs.readFileSync(kubeconfig, 'utf8'), new RegExp(`server: https://${addressOf(0).replace(/\./g, '\\.')}:\\d+`));

    const join = execFileSync('ip', ['netns', 'exec', machine(0), process.execPath, petsetBin, 'token', 'create', '--print-join-command', '--kubeconfig', kubeconfig], { encoding: 'utf8' }).trim();
    assert.match(join, new RegExp(`^petset join https://${addressOf(0).replace(/\./g, '\\.')}:\\d+ --token `));
    const agents = [1, 2, 3].map((i) => {
      const dir = tempDir(`petset-m${i}-`);
      dirs.push(dir);
      return onMachine(i, [...join.split(' ').slice(1), '--node-name', `machine-${i}`, '--data-dir', dir]);
    });
    await eventually(
      async () => {
        const nodes = JSON.parse(await kubectlOn(0, kubeconfig, ['get', 'nodes', '-o', 'json'])).items;
        return nodes.filter((n: any) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length === 3;
      },
      90_000,
      `three machines Ready:\n${agents.map((a) => a.output()).join('\n')}`,
    );
    // each joined with its own certificate, from its own address on the LAN
    const csrs = JSON.parse(await kubectlOn(0, kubeconfig, ['get', 'csr', '-o', 'json'])).items;
    assert.equal(csrs.filter((c: any) => c.status?.certificate && /^system:bootstrap:/.test(c.spec.username)).length, 3);
    const nodes = JSON.parse(await kubectlOn(0, kubeconfig, ['get', 'nodes', '-o', 'json'])).items;
    assert.deepEqual(nodes.map((n: any) => n.metadata.name).sort(), ['machine-1', 'machine-2', 'machine-3']);

    await kubectlOn(0, kubeconfig, ['apply', '-f', '-'], SPREAD);
    const pods = await eventually(
      async () => {
        const items = JSON.parse(await kubectlOn(0, kubeconfig, ['get', 'pods', '-l', 'app=spread', '-o', 'json'])).items;
        return items.length === 3 && items.every((p: any) => p.status?.phase === 'Running') && items;
      },
      90_000,
      'three pods Running',
    );
    assert.deepEqual(pods.map((p: any) => p.spec.nodeName).sort(), ['machine-1', 'machine-2', 'machine-3'], 'one pod on each machine');

    // nothing of the LAN reached the host's namespace
    const hostRoutes = execFileSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' });
    assert.ok(!hostRoutes.includes(subnet), hostRoutes);
    assert.ok(!execFileSync('ip', ['-4', 'addr', 'show'], { encoding: 'utf8' }).includes(`${subnet}.`));
  });
});
