// Machines simulated on this one, each a network namespace of the test's own on a test-only LAN
// (a bridge in a namespace of its own, on a random 10.250.x.0/24 that exists nowhere else; the
// host namespace gains no address, route, link or rule). Machine 0 runs the control plane as
// separate processes: a 3-member etcd on its loopback, two API servers on its LAN address, two
// leader-elected controller managers, the scheduler and the cluster DNS. Machines 1-3 join at
// once with `petset join` as printed by `petset token create --print-join-command`, each
// getting its own certificate, plus `--runtime process --pod-network root`, so each makes its
// own pod bridge for the /24 the controller manager gave its node, routes the other nodes' /24s
// to their machines (host-gateway) and serves the cluster IPs with a service proxy of its own.
// The etcd example, one member per machine, forms its cluster across them (the members find
// each other by DNS names); a pod reaches a pod of another machine by DNS name and through a
// ClusterIP Service; every guard counts 0. Needs root, bubblewrap and Debian's etcd; everything
// the test made is removed afterwards, on failure too.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, eventually, petsetBin, repoRoot } from './harness.js';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { Cgroups } from '../../src/agent/runtime/process/cgroups.js';
import { startEtcdCluster, type TestEtcdCluster } from '../support/etcd.js';

const id = randomBytes(3).toString('hex');
const LAN = `pslan-${id}`;
const machine = (i: number) => `psm${i}-${id}`;
// ranges of this run only: LAN 10.250.x, pods 10.32-63.0.0/16, services 10.64-95.0.0/16. No other
// test uses these second octets (the harness's clusters take 10.96-111 and 10.192-239, the pod
// network's unit test 10.144-191), so the check that the host's namespace gained
// no route of them cannot be fooled by a cluster of another test running beside this one.
const subnet = `10.250.${Math.floor(Math.random() * 254) + 1}`;
const podCidr = `10.${32 + Math.floor(Math.random() * 32)}.0.0/16`;
const serviceCidr = `10.${64 + Math.floor(Math.random() * 32)}.0.0/16`;
const addressOf = (i: number) => `${subnet}.${10 + i}`;
const MACHINES = 4;
/** the control plane's processes (on machine 0), and the machines' agents */
const plane: ChildProcess[] = [];
const agentProcs: ChildProcess[] = [];
let etcd: TestEtcdCluster | undefined;
const nodeDirs: string[] = [];
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const skip = processRuntimeUnavailable() ?? (fs.existsSync('/usr/bin/etcd') ? undefined : '/usr/bin/etcd is not installed');
const hostForwarding = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

before(() => {
  if (skip) return;
  ip('netns', 'add', LAN);
  ip('-n', LAN, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', LAN, 'link', 'set', 'br0', 'up');
  for (let i = 0; i < MACHINES; i++) {
    const ns = machine(i);
    ip('netns', 'add', ns);
    ip('-n', LAN, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    ip('-n', LAN, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
    ip('-n', ns, 'addr', 'add', `${addressOf(i)}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
});

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

after(async () => {
  // the agents first (each stops its pods and removes its pod network), then the control plane and its etcd
  for (const c of agentProcs.reverse()) await stop(c);
  for (const c of plane.reverse()) await stop(c);
  await etcd?.stop();
  // whatever a killed agent left: its pods' processes (by their cgroups) and namespaces
  const cgroups = new Cgroups();
  for (const dir of nodeDirs) {
    const sandboxes = path.join(dir, 'runtime', 'sandboxes');
    for (const sb of fs.existsSync(sandboxes) ? fs.readdirSync(sandboxes) : []) {
      cgroups.kill(`petset/${sb}`);
      try {
        cgroups.remove(`petset/${sb}`);
      } catch {
        // already gone
      }
    }
    const prefix = `petset-${netId(dir)}-`;
    for (const ns of fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []) if (ns.startsWith(prefix)) ip('netns', 'del', ns);
  }
  if (!skip) {
    for (const ns of [...Array.from({ length: MACHINES }, (_, i) => machine(i)), LAN]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not created
      }
    }
  }
});

/** The id in the names of a node's pod network (as petset derives it from the node's directory). */
const netId = (nodeDir: string) => createHash('sha256').update(path.resolve(nodeDir)).digest('hex').slice(0, 6);

/** A petset process on machine i (only its network namespace: cgroups and mounts are the host's), its output kept. */
function onMachine(i: number, args: string[], into: ChildProcess[] = i === 0 ? plane : agentProcs): { child: ChildProcess; output(): string } {
  const child = spawn('nsenter', [`--net=/run/netns/${machine(i)}`, process.execPath, petsetBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  into.push(child);
  return { child, output: () => out };
}

function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = execFile('nsenter', [`--net=/run/netns/${machine(0)}`, 'kubectl', '--kubeconfig', kubeconfig, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(String(stdout)),
    );
    c.stdin!.end(input ?? '');
  });
}

/** Packets the guard of machine i dropped (its output and forward chains' counters). */
function guardDrops(i: number, nodeDir: string): number {
  const out = JSON.parse(execFileSync('ip', ['netns', 'exec', machine(i), 'nft', '-j', 'list', 'table', 'inet', `petset_guard_${netId(nodeDir)}`], { encoding: 'utf8' }));
  let packets = 0;
  for (const item of out.nftables ?? []) {
    if (!item.rule || (item.rule.chain !== 'output' && item.rule.chain !== 'forward')) continue;
    for (const expr of item.rule.expr ?? []) if (expr.counter) packets += Number(expr.counter.packets) || 0;
  }
  return packets;
}

const CLIENT_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: etcd-client
spec:
  selector:
    app: etcd
  ports:
  - name: client
    port: 2379
`;

describe('machines in network namespaces', { skip }, () => {
  it('three machines join over a test-only LAN, and the etcd example spread over them forms its cluster across them', { timeout: 600_000 }, async () => {
    // the control plane on machine 0: a 3-member etcd on its loopback, two API servers on its
    // LAN address sharing one CA, two leader-elected controller managers (one gives the nodes
    // their /24s), the scheduler and the cluster DNS
    etcd = await startEtcdCluster(3, { netns: machine(0) });
    const dirA = tempDir('petset-mn0a-');
    const dirB = tempDir('petset-mn0b-');
    const common = ['--etcd-servers', etcd.endpoints.join(','), '--secure-port', '0', '--bind-address', addressOf(0), '--service-cluster-ip-range', serviceCidr];
    const apiA = onMachine(0, ['apiserver', '--data-dir', dirA, ...common]);
    const kubeconfig = await eventually(() => /export KUBECONFIG=(\S+)/.exec(apiA.output())?.[1], 60_000, `API server A on machine 0:\n${apiA.output()}`);
    fs.cpSync(path.join(dirA, 'pki'), path.join(dirB, 'pki'), { recursive: true });
    const apiB = onMachine(0, ['apiserver', '--data-dir', dirB, ...common]);
    const kubeconfigB = await eventually(() => /export KUBECONFIG=(\S+)/.exec(apiB.output())?.[1], 60_000, `API server B on machine 0:\n${apiB.output()}`);
    assert.notEqual(fs.readFileSync(kubeconfig, 'utf8'), fs.readFileSync(kubeconfigB, 'utf8'));
    const managers = [0, 1].map(() => onMachine(0, ['controller-manager', '--kubeconfig', kubeconfig, '--data-dir', dirA, '--allocate-node-cidrs', '--cluster-cidr', podCidr]));
    onMachine(0, ['scheduler', '--kubeconfig', kubeconfigB]);
    const dns = onMachine(0, ['dns', '--kubeconfig', kubeconfigB, '--address', addressOf(0), '--port', '0', '--service-cluster-ip-range', serviceCidr]);
    await eventually(() => /petset dns: cluster DNS/.test(dns.output()), 60_000, `the cluster DNS:\n${dns.output()}`);
    const lease = await eventually(async () => JSON.parse(await kubectl(kubeconfigB, ['get', 'lease', '-n', 'kube-system', 'kube-controller-manager', '-o', 'json']).catch(() => '{}')).spec?.holderIdentity, 60_000, 'a leading controller manager');
    assert.equal(managers.filter((m) => m.output().includes(`identity ${lease};`)).length, 1, `one of the two controller managers leads (${lease})`);
    const join = execFileSync('nsenter', [`--net=/run/netns/${machine(0)}`, process.execPath, petsetBin, 'token', 'create', '--print-join-command', '--kubeconfig', kubeconfig], { encoding: 'utf8' }).trim();
    const cpDir = dirA;

    // all at once: each machine's /24 comes from the controller manager's node IPAM
    const agents = [1, 2, 3].map((i) => {
      const dir = tempDir(`petset-mn${i}-`);
      nodeDirs.push(path.join(dir, 'nodes', `machine-${i}`));
      return onMachine(i, [
        ...join.split(' ').slice(1), '--node-name', `machine-${i}`, '--data-dir', dir, '--runtime', 'process', '--pod-network', 'root', '--node-ip', addressOf(i),
        '--pod-cidr', podCidr, '--service-cluster-ip-range', serviceCidr, '--server-token-file', path.join(cpDir, 'pki', 'node-connection.token'),
      ]);
    });
    await eventually(
      async () => JSON.parse(await kubectl(kubeconfig, ['get', 'nodes', '-o', 'json'])).items.filter((n: any) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length === 3,
      90_000,
      `three machines Ready:\n${agents.map((a) => a.output()).join('\n')}`,
    );
    // each joined with its own certificate
    const csrs = JSON.parse(await kubectl(kubeconfig, ['get', 'csr', '-o', 'json'])).items;
    assert.equal(csrs.filter((c: any) => c.status?.certificate && /^system:bootstrap:/.test(c.spec.username)).length, 3);
    const nodes = JSON.parse(await kubectl(kubeconfig, ['get', 'nodes', '-o', 'json'])).items;
    // each node's InternalIP is its machine's LAN address, and its /24 is its own
    assert.deepEqual(nodes.map((n: any) => [n.metadata.name, n.status.addresses.find((a: any) => a.type === 'InternalIP').address]).sort(), [1, 2, 3].map((i) => [`machine-${i}`, addressOf(i)]));
    assert.equal(new Set(nodes.map((n: any) => n.spec.podCIDR)).size, 3, 'three different /24s, though the machines joined at once');
    // host-gateway: each machine routes the two other nodes' /24s to their machines
    for (const i of [1, 2, 3]) {
      const want = nodes.filter((n: any) => n.metadata.name !== `machine-${i}`).map((n: any) => `${n.spec.podCIDR} via ${n.status.addresses[0].address}`).sort();
      await eventually(() => {
        const routes = JSON.parse(execFileSync('ip', ['-n', machine(i), '-j', 'route', 'show', 'proto', '145'], { encoding: 'utf8' }));
        return JSON.stringify(routes.map((r: any) => `${r.dst} via ${r.gateway}`).sort()) === JSON.stringify(want);
      }, 30_000, `machine-${i}'s routes to the other machines' pods`);
    }

    const t0 = Date.now();
    await kubectl(kubeconfig, ['apply', '-f', path.join(repoRoot, 'examples', 'etcd', 'etcd.yaml')]);
    await kubectl(kubeconfig, ['apply', '-f', '-'], CLIENT_SERVICE);
    await kubectl(kubeconfig, ['rollout', 'status', 'sts/etcd', '--timeout=240s']).catch(async (e) => {
      throw new Error(`${e.message}\n${await kubectl(kubeconfig, ['get', 'pods,events', '-o', 'wide']).catch(() => '')}\n${agents.map((a) => a.output()).join('\n')}`);
    });
    const pods = JSON.parse(await kubectl(kubeconfig, ['get', 'pods', '-l', 'app=etcd', '-o', 'json'])).items;
    const where = new Map(pods.map((p: any) => [p.metadata.name, p]));
    assert.deepEqual(pods.map((p: any) => p.spec.nodeName).sort(), ['machine-1', 'machine-2', 'machine-3'], 'one member per machine');
    for (const p of pods) {
      const node = nodes.find((n: any) => n.metadata.name === p.spec.nodeName);
      assert.ok(p.status.podIP.startsWith(node.spec.podCIDR.replace(/0\/24$/, '')), `${p.metadata.name}'s address ${p.status.podIP} is from its node's ${node.spec.podCIDR}`);
      assert.equal(p.status.hostIP, node.status.addresses[0].address);
    }

    // pods ask the cluster DNS at the kube-dns Service's cluster IP, served by their own machine's proxy
    const dnsIP = JSON.parse(await kubectl(kubeconfig, ['get', 'service', '-n', 'kube-system', 'kube-dns', '-o', 'json'])).spec.clusterIP;
    assert.match(await kubectl(kubeconfig, ['exec', 'etcd-1', '--', 'cat', '/etc/resolv.conf']), new RegExp(`^nameserver ${dnsIP.replace(/\./g, '\\.')}$`, 'm'));
    const etcdctl = async (pod: string, endpoint: string, ...args: string[]) =>
      (await kubectl(kubeconfig, ['exec', pod, '--', 'etcdctl', `--endpoints=http://${endpoint}:2379`, '--command-timeout=5s', ...args]).catch(() => undefined))?.trim();
    // the members found each other by their DNS names, across the machines
    const list = await eventually(async () => {
      const out = await etcdctl('etcd-0', (where.get('etcd-0') as any).status.podIP, 'member', 'list');
      return (out?.match(/, started, etcd-\d, http:\/\/etcd-\d\.etcd\.default\.svc\.cluster\.local:2380/g) ?? []).length === 3 && out;
    }, 120_000, 'three started members');
    console.log(`# bench: etcd over 3 machines: 3 started members ${Date.now() - t0} ms after kubectl apply`);
    assert.equal(list.split('\n').length, 3);
    // a put through one member is read through another (on another machine)
    assert.equal(await eventually(() => etcdctl('etcd-0', (where.get('etcd-0') as any).status.podIP, 'put', 'greeting', 'hello'), 30_000, 'put on etcd-0'), 'OK');
    assert.equal(await eventually(async () => (await etcdctl('etcd-2', (where.get('etcd-2') as any).status.podIP, 'get', 'greeting', '--print-value-only')) === 'hello' && 'hello', 30_000, 'read on etcd-2'), 'hello');
    // a pod reaches a pod of another machine by its DNS name, and a ClusterIP Service from its own machine's proxy
    const readsThrough = (pod: string, endpoint: string) =>
      eventually(async () => (await etcdctl(pod, endpoint, 'get', 'greeting', '--print-value-only')) === 'hello', 30_000, `greeting read by ${pod} through ${endpoint}`);
    await readsThrough('etcd-2', 'etcd-0.etcd.default.svc.cluster.local');
    await readsThrough('etcd-1', 'etcd-client.default.svc.cluster.local');

    // nothing the guard had to stop, on any machine
    for (const i of [1, 2, 3]) assert.equal(guardDrops(i, nodeDirs[i - 1]!), 0, `machine-${i}'s guard dropped packets`);
    // the host's own namespace gained nothing: no LAN or pod-range route, address or guard, forwarding as it was
    const hostRoutes = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
    for (const r of [subnet, podCidr.replace(/\.0\.0\/16$/, '.'), serviceCidr.replace(/\.0\.0\/16$/, '.')]) assert.ok(!hostRoutes.includes(r), `the host has a route of ${r}:\n${hostRoutes}`);
    assert.ok(!execFileSync('ip', ['-4', 'addr', 'show'], { encoding: 'utf8' }).includes(`${subnet}.`));
    const hostTables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
    for (const d of nodeDirs) assert.ok(!hostTables.includes(`petset_guard_${netId(d)}`), hostTables);
    assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), hostForwarding);

    // a machine that leaves takes its pod network along: its routes go from the others
    await kubectl(kubeconfig, ['delete', 'sts', 'etcd', '--wait=false']);
    await stop(agents[2]!.child);
    assert.match(agents[2]!.output(), /its pod network are gone/);
    assert.throws(() => execFileSync('ip', ['netns', 'exec', machine(3), 'nft', 'list', 'table', 'inet', `petset_guard_${netId(nodeDirs[2]!)}`], { stdio: 'pipe' }));
    const forwarding = (i: number) => execFileSync('ip', ['netns', 'exec', machine(i), 'sysctl', '-n', 'net.ipv4.ip_forward'], { encoding: 'utf8' }).trim();
    assert.equal(forwarding(3), '0', 'forwarding off again on the machine that left');
    assert.equal(forwarding(1), '1');
    await kubectl(kubeconfig, ['delete', 'node', 'machine-3']);
    const gone = nodes.find((n: any) => n.metadata.name === 'machine-3').spec.podCIDR;
    for (const i of [1, 2]) {
      await eventually(() => !execFileSync('ip', ['-n', machine(i), 'route', 'show', 'proto', '145'], { encoding: 'utf8' }).includes(gone), 30_000, `machine-${i}'s route to ${gone} removed`);
    }
  });
});
