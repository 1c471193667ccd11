// The root pod network under real pods, through `petset up --runtime process --pod-network
// root` and the real kubectl: each pod in its own network namespace on petset's bridge, with
// its own address and ports; pods find each other by DNS and see each other's real
// addresses; Services, the cluster DNS and the kubernetes Service are reached from pods, and
// nothing outside; NetworkPolicy denies, then allows; the guard never dropped a packet; and
// nothing petset made is left behind, after a stop and after a kill -9 and restart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import { eventually, randomRootRanges, startCluster, tempDir, type Cluster } from './harness.js';
import { podNetworkUnavailable } from '../../src/agent/podnet/pod-network.js';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';

const why = (await podNetworkUnavailable()) ?? processRuntimeUnavailable();

const MANIFEST = `apiVersion: v1
kind: Service
metadata:
  name: kubia
spec:
  clusterIP: None
  selector:
    app: kubia
  ports:
  - name: http
    port: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: kubia-public
spec:
  selector:
    app: kubia
  ports:
  - port: 80
    targetPort: http
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: kubia
spec:
  serviceName: kubia
  replicas: 3
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      app: kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
      - name: kubia
        image: node:20
        ports:
        - name: http
          containerPort: 8080
        command: ["node", "-e", "require('http').createServer((q, s) => s.end('You have hit ' + require('os').hostname() + ', you are ' + q.socket.remoteAddress.replace('::ffff:', '') + '\\\\n')).listen(8080)"]
        readinessProbe:
          httpGet:
            port: http
          periodSeconds: 1
`;

/** A Node one-liner in a pod, through kubectl exec. */
const inPod = async (c: Cluster, pod: string, code: string) => (await c.kubectl(['exec', pod, '--', 'node', '-e', code], { timeoutMs: 30_000 })).stdout.trim();
// each prints one line: the answer, `timeout`, or the error code
const httpGet = (url: string) =>
  `let said = false; const say = (x) => { if (!said) { said = true; console.log(x); } }; require('http').get(${JSON.stringify(url)}, { timeout: 3000 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => say(b.trim())); }).on('timeout', function () { say('timeout'); this.destroy(); }).on('error', (e) => say(e.code || e.message))`;
const tcpConnect = (host: string, port: number) =>
  `let said = false; const say = (x) => { if (!said) { said = true; console.log(x); } }; const s = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 3000 }, () => { say('connected'); s.end(); }); s.on('timeout', () => { say('timeout'); s.destroy(); }); s.on('error', (e) => say(e.code))`;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

/** What petset's pod network with this id has on the machine (namespaces, links, guard table, routes of the ranges). */
function leftovers(id: string, ranges: string[]): string[] {
  const out: string[] = [];
  out.push(...sh('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(`petset-${id}-`)));
  out.push(...sh('ip', ['-o', 'link']).split('\n').filter((l) => l.includes(`psbr${id}`) || l.includes(`psv${id}`)));
  out.push(...sh('nft', ['list', 'tables']).split('\n').filter((l) => l.includes(`petset_guard_${id}`)));
  out.push(...sh('ip', ['route', 'show', 'table', 'all']).split('\n').filter((l) => ranges.some((r) => l.includes(r))));
  return out;
}

function guardDrops(id: string): number {
  const json = JSON.parse(sh('nft', ['-j', 'list', 'table', 'inet', `petset_guard_${id}`]));
  let packets = 0;
  for (const item of json.nftables ?? []) {
    if (item.rule && item.rule.chain !== 'output' && item.rule.chain !== 'forward') continue;
    for (const e of item.rule?.expr ?? []) if (e.counter) packets += Number(e.counter.packets) || 0;
  }
  return packets;
}

describe('the root pod network', { skip: why }, () => {
  it('runs real pods in their own namespaces: DNS, real source addresses, services, policy, guard, cleanup', { timeout: 300_000 }, async () => {
    const dataDir = tempDir('petset-podnet-e2e-');
    const { podCidr, serviceCidr } = randomRootRanges();
    const args = ['--runtime', 'process', '--pod-network', 'root', '--pod-cidr', podCidr, '--service-cluster-ip-range', serviceCidr];
    let c = await startCluster({ dataDir, extraArgs: args });
    const id = /guard table inet petset_guard_([0-9a-f]+)/.exec(c.output())?.[1];
    try {
      assert.match(c.output(), /Pod network: root \(asked for with --pod-network root\)/);
      assert.match(c.output(), /NetworkPolicy objects are enforced/);
      assert.ok(id, c.output());
      await c.kubectl(['apply', '-f', '-'], { input: MANIFEST });
      const pods = await eventually(async () => {
        const list = JSON.parse((await c.kubectl(['get', 'pods', '-l', 'app=kubia', '-o', 'json'])).stdout).items;
        const ready = list.filter((p: any) => p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));
        return ready.length === 3 ? ready : undefined;
      }, 120_000, 'three ready kubia pods');
      const ip = Object.fromEntries(pods.map((p: any) => [p.metadata.name, p.status.podIP as string]));
      // three replicas on one node, each with port 8080 of its own, at addresses of the pod range
      const prefix = podCidr.split('.').slice(0, 2).join('.') + '.';
      for (const name of ['kubia-0', 'kubia-1', 'kubia-2']) assert.ok(ip[name]?.startsWith(prefix), `${name} has ${ip[name]} in ${podCidr}`);
      assert.equal(new Set(Object.values(ip)).size, 3);

      // from kubia-1: kubia-0's DNS name is kubia-0's address, and kubia-0 sees kubia-1's real address
      assert.equal(await inPod(c, 'kubia-1', `require('dns').lookup('kubia-0.kubia.default.svc.cluster.local', (e, a) => console.log(e ? e.code : a))`), ip['kubia-0']);
      assert.equal(await inPod(c, 'kubia-1', httpGet('http://kubia-0.kubia:8080/')), `You have hit kubia-0, you are ${ip['kubia-1']}`);
      // a ClusterIP service, by its short name through the pod's resolv.conf
      assert.match(await inPod(c, 'kubia-1', httpGet('http://kubia-public/')), /^You have hit kubia-[012], you are /);
      assert.equal(await inPod(c, 'kubia-2', tcpConnect('kubernetes.default.svc.cluster.local', 443)), 'connected');
      const resolv = (await c.kubectl(['exec', 'kubia-0', '--', 'cat', '/etc/resolv.conf'])).stdout;
      assert.match(resolv, new RegExp(`nameserver ${serviceCidr.replace(/0\/24$/, '10').replace(/\./g, '\\.')}\\n`));
      // nothing else: no default route in the pod, so the host's own network is unreachable
      const routes = (await c.kubectl(['exec', 'kubia-0', '--', 'cat', '/proc/net/route'])).stdout.split('\n').slice(1).filter(Boolean);
      assert.ok(routes.every((r) => r.split(/\s+/)[1] !== '00000000'), `no default route: ${routes.join('\n')}`);
      assert.equal(await inPod(c, 'kubia-0', tcpConnect('192.0.2.1', 80)), 'ENETUNREACH');
      // the host reaches pods: the API server's pod proxy and port-forward
      const gateway = podCidr.replace(/0\/\d+$/, '1');
      assert.equal((await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/kubia-2:8080/proxy/'])).stdout.trim(), `You have hit kubia-2, you are ${gateway}`);
      const pf = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'port-forward', 'pod/kubia-2', ':8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const local = await new Promise<string>((resolve, reject) => {
          let out = '';
          pf.stdout!.on('data', (d) => {
            out += d;
            const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
            if (m) resolve(m[1]);
          });
          pf.once('exit', (code) => reject(new Error(`kubectl port-forward exited with ${code}: ${out}`)));
        });
        const answer = await new Promise<string>((resolve, reject) =>
          http.get(`http://127.0.0.1:${local}/`, (r) => {
            let b = '';
            r.on('data', (d) => (b += d));
            r.on('end', () => resolve(b.trim()));
          }).on('error', reject),
        );
        // port-forward enters the pod's namespace: the pod sees its own loopback, as upstream's does
        assert.equal(answer, 'You have hit kubia-2, you are 127.0.0.1');
      } finally {
        if (pf.pid && pf.exitCode === null) process.kill(pf.pid, 'SIGTERM');
      }

      // the seeds' SRV lookup from a throwaway pod
      const digRun = await c.kubectl(['run', '-it', 'srvlookup', '--image=tutum/dnsutils', '--rm', '--restart=Never', '--', 'dig', 'SRV', 'kubia.default.svc.cluster.local'], { timeoutMs: 60_000 });
      digRun.stdout = digRun.stdout.replace(/\r\n/g, '\n'); // a terminal's line ends
      assert.equal((digRun.stdout.match(/IN\s+SRV\s+0 \d+ 8080 kubia-[012]\.kubia\.default\.svc\.cluster\.local\./g) ?? []).length, 3, digRun.stdout);
      assert.match(digRun.stdout, new RegExp(`;; ADDITIONAL SECTION:\\nkubia-[012]\\.kubia\\.default\\.svc\\.cluster\\.local\\.\\s+\\d+\\s+IN\\s+A\\s+${prefix.replace(/\./g, '\\.')}`));

      // NetworkPolicy: kubia-0 isolated for ingress, then kubia pods allowed on the named port
      await c.kubectl(['apply', '-f', '-'], {
        input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: kubia-0-deny
spec:
  podSelector:
    matchLabels:
      statefulset.kubernetes.io/pod-name: kubia-0
  policyTypes: [Ingress]
`,
      });
      await eventually(async () => (await inPod(c, 'kubia-1', httpGet(`http://${ip['kubia-0']}:8080/`))) === 'timeout', 30_000, 'kubia-0 refusing kubia-1');
      // the host (probes, proxies) still gets in: kubia-0 stays ready
      assert.match((await c.kubectl(['get', 'pod', 'kubia-0', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout, /True/);
      await c.kubectl(['apply', '-f', '-'], {
        input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: kubia-0-allow-kubia
spec:
  podSelector:
    matchLabels:
      statefulset.kubernetes.io/pod-name: kubia-0
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: kubia
    ports:
    - port: http
`,
      });
      await eventually(async () => (await inPod(c, 'kubia-1', httpGet(`http://${ip['kubia-0']}:8080/`))) === `You have hit kubia-0, you are ${ip['kubia-1']}`, 30_000, 'kubia-0 answering kubia-1 again');
      // and egress: kubia-2 may reach no pod; the cluster DNS and the API stay reachable
      await c.kubectl(['apply', '-f', '-'], {
        input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: kubia-2-no-egress
spec:
  podSelector:
    matchLabels:
      statefulset.kubernetes.io/pod-name: kubia-2
  policyTypes: [Egress]
`,
      });
      await eventually(async () => (await inPod(c, 'kubia-2', httpGet(`http://${ip['kubia-1']}:8080/`))) === 'timeout', 30_000, 'kubia-2 unable to reach kubia-1');
      assert.equal(await inPod(c, 'kubia-2', `require('dns').lookup('kubia-1.kubia', (e, a) => console.log(e ? e.code : a))`), ip['kubia-1']);
      // through a Service too: its backends are not allowed, so its cluster IP is closed to kubia-2 (not to kubia-1)
      assert.equal(await inPod(c, 'kubia-2', httpGet('http://kubia-public/')), 'timeout');
      assert.match(await inPod(c, 'kubia-1', httpGet('http://kubia-public/')), /^You have hit kubia-/);

      // a replaced pet: its name follows the new pod's address
      const oldUid = pods.find((p: any) => p.metadata.name === 'kubia-1').metadata.uid;
      await c.kubectl(['delete', 'pod', 'kubia-1', '--wait=false']);
      const fresh = await eventually(async () => {
        const p = JSON.parse((await c.kubectl(['get', 'pod', 'kubia-1', '-o', 'json'], { allowFail: true })).stdout || '{}');
        return p.metadata?.uid !== oldUid && p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True') ? p : undefined;
      }, 120_000, 'a new ready kubia-1');
      await eventually(async () => (await inPod(c, 'kubia-0', `require('dns').lookup('kubia-1.kubia', (e, a) => console.log(e ? e.code : a))`)) === fresh.status.podIP, 30_000, 'kubia-1.kubia naming the new pod');

      assert.equal(guardDrops(id!), 0, 'the guard dropped nothing');
      // a crash: kill -9 leaves the network behind; the next start with this data dir removes it
      await c.stop('SIGKILL');
      assert.notDeepEqual(leftovers(id!, [podCidr, serviceCidr]), []);
      c = await startCluster({ dataDir, extraArgs: args });
      assert.equal(/guard table inet petset_guard_([0-9a-f]+)/.exec(c.output())?.[1], id, 'the same data dir, the same names');
      await eventually(async () => (await inPod(c, 'kubia-1', httpGet('http://kubia-0.kubia:8080/'))).startsWith('You have hit kubia-0'), 120_000, 'the pods back after the restart');
      assert.equal(guardDrops(id!), 0, 'the guard dropped nothing');
    } finally {
      await c.stop('SIGTERM');
      if (id) assert.deepEqual(leftovers(id, [podCidr, serviceCidr]), [], 'nothing left behind');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
