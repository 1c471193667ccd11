// One data dir through both pod network modes, with the real kubectl: services created in
// host mode (loopback cluster IPs) move into the root mode's service range at the next start,
// `up` says which moved, and back again in host mode. In root mode, a Service leads only where
// NetworkPolicy lets the client go: the backend's ingress rules judge the client pod's real
// address even though the service proxy connects from the host (deny, then allow for one pod).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import { eventually, randomRootRanges, startCluster, tempDir, type Cluster } from './harness.js';
import { podNetworkUnavailable } from '../../src/agent/podnet/pod-network.js';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';

const why = (await podNetworkUnavailable()) ?? processRuntimeUnavailable();

const SERVICES = `apiVersion: v1
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
  name: kubia-0-public
spec:
  selector:
    statefulset.kubernetes.io/pod-name: kubia-0
  ports:
  - port: 80
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: kubia-lb
spec:
  type: LoadBalancer
  selector:
    app: kubia
  ports:
  - port: 80
    targetPort: http
`;

const STATEFULSET = `apiVersion: apps/v1
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
        # and a port bound only on the pod's own loopback, for port-forward
        command: ["node", "-e", "const h = require('http'); h.createServer((q, s) => s.end('You have hit ' + require('os').hostname() + '\\\\n')).listen(8080); h.createServer((q, s) => s.end('local only\\\\n')).listen(9090, '127.0.0.1')"]
        readinessProbe:
          httpGet:
            port: http
          periodSeconds: 1
`;

// pods whose resolv.conf follows their dnsPolicy (they only sleep)
const DNS_PODS = ['Default', 'None'].map((policy) => `apiVersion: v1
kind: Pod
metadata:
  name: dns-${policy.toLowerCase()}
spec:
  dnsPolicy: ${policy}
  dnsConfig:
    nameservers: [${policy === 'None' ? '10.0.0.53' : ''}]
    searches: [extra.example]
    options:
    - name: ndots
      value: "2"
  containers:
  - name: main
    image: node:20
    command: ["node", "-e", "setInterval(() => {}, 1 << 30)"]
`).join('---\n');

/** Starts `kubectl port-forward ARGS`, returns what a GET through it answers. */
async function throughPortForward(c: Cluster, target: string, port: number): Promise<string> {
  const pf = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'port-forward', target, `:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    pf.stdout!.on('data', (d) => (out += d));
    pf.stderr!.on('data', (d) => (out += d));
    const local = await eventually(() => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 20_000, `port-forward ${target}: ${out}`);
    try {
      return await fromHost(`http://127.0.0.1:${local}/`);
    } catch (e) {
      // what kubectl said about it
      await eventually(() => /error forwarding port/.test(out), 10_000, `kubectl's error: ${out}`).catch(() => {});
      throw new Error(`${(e as Error).message}: ${out}`);
    }
  } finally {
    pf.kill('SIGTERM');
  }
}

const policy = (name: string, spec: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
spec:
  podSelector:
    matchLabels:
      statefulset.kubernetes.io/pod-name: kubia-0
${spec}`;

const inPod = async (c: Cluster, pod: string, code: string) => (await c.kubectl(['exec', pod, '--', 'node', '-e', code], { timeoutMs: 30_000 })).stdout.trim();
// one line: the answer, `timeout`, or the error code
const httpGet = (url: string) =>
  `let said = false; const say = (x) => { if (!said) { said = true; console.log(x); } }; require('http').get(${JSON.stringify(url)}, { timeout: 3000 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => say(b.trim())); }).on('timeout', function () { say('timeout'); this.destroy(); }).on('error', (e) => say(e.code || e.message))`;

const fromHost = (url: string) =>
  new Promise<string>((resolve, reject) =>
    http
      .get(url, { timeout: 5000 }, (r) => {
        let b = '';
        r.on('data', (d) => (b += d));
        r.on('end', () => resolve(b.trim()));
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('timeout'));
      })
      .on('error', reject),
  );

const inRange = (ip: string, cidr: string) => {
  const [base, prefix] = cidr.split('/');
  const n = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(prefix));
  return Math.floor(n(ip) / size) === Math.floor(n(base) / size);
};

const clusterIPs = async (c: Cluster) =>
  Object.fromEntries(
    JSON.parse((await c.kubectl(['get', 'svc', '-A', '-o', 'json'])).stdout).items.map((s: any) => [`${s.metadata.namespace}/${s.metadata.name}`, s.spec.clusterIP as string]),
  ) as Record<string, string>;

function guardDrops(id: string): number {
  const json = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', `petset_guard_${id}`], { encoding: 'utf8' }));
  let packets = 0;
  for (const item of json.nftables ?? []) {
    if (item.rule && item.rule.chain !== 'output' && item.rule.chain !== 'forward') continue;
    for (const e of item.rule?.expr ?? []) if (e.counter) packets += Number(e.counter.packets) || 0;
  }
  return packets;
}

describe('a data dir switched between the host and the root pod network', { skip: why }, () => {
  it('moves services into each mode\'s range, and Services obey the backend\'s NetworkPolicy in root mode', { timeout: 300_000 }, async () => {
    const dataDir = tempDir('petset-podnet-switch-');
    const r = () => Math.floor(Math.random() * 250);
    const hostRange = () => `127.${97 + Math.floor(Math.random() * 15)}.${r()}.0/24`;
    const first = hostRange();
    let c = await startCluster({ dataDir, extraArgs: ['--pod-network', 'host', '--service-cluster-ip-range', first] });
    try {
      // host mode: loopback cluster IPs; the load balancer gets its cluster IP as address
      await c.kubectl(['apply', '-f', '-'], { input: SERVICES });
      const before = await clusterIPs(c);
      for (const s of ['default/kubernetes', 'kube-system/kube-dns', 'default/kubia-0-public', 'default/kubia-lb']) assert.ok(inRange(before[s], first), `${s} ${before[s]} in ${first}`);
      await eventually(async () => (await c.kubectl(['get', 'svc', 'kubia-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).stdout === before['default/kubia-lb'], 20_000, 'the load balancer address');
      await c.stop();

      // root mode, same data dir: every service moves into the root service range, and up says so
      const { podCidr, serviceCidr } = randomRootRanges();
      c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process', '--pod-network', 'root', '--pod-cidr', podCidr, '--service-cluster-ip-range', serviceCidr] });
      const id = /guard table inet petset_guard_([0-9a-f]+)/.exec(c.output())?.[1];
      assert.ok(id, c.output());
      assert.match(c.output(), new RegExp(`service default/kubia-0-public: cluster IP ${before['default/kubia-0-public'].replace(/\./g, '\\.')} is outside the service range ${serviceCidr.replace(/\./g, '\\.')} .*; it now has 10\\.`));
      const after = await clusterIPs(c);
      for (const s of Object.keys(before).filter((k) => before[k] !== 'None')) assert.ok(inRange(after[s], serviceCidr), `${s} ${after[s]} in ${serviceCidr}`);
      assert.equal(after['default/kubernetes'], serviceCidr.replace(/0\/24$/, '1'));
      assert.equal(after['kube-system/kube-dns'], serviceCidr.replace(/0\/24$/, '10'));
      assert.match((await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=kubia-0-public'])).stdout, /ClusterIPReallocated/);
      await eventually(async () => (await c.kubectl(['get', 'svc', 'kubia-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).stdout === after['default/kubia-lb'], 20_000, 'the new load balancer address');

      await c.kubectl(['apply', '-f', '-'], { input: STATEFULSET + '---\n' + DNS_PODS });
      await eventually(async () => {
        const list = JSON.parse((await c.kubectl(['get', 'pods', '-l', 'app=kubia', '-o', 'json'])).stdout).items;
        return list.filter((p: any) => p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True')).length === 3;
      }, 120_000, 'three ready kubia pods');
      // the moved service works: from a pod by name, and from the host at its new cluster IP
      assert.equal(await inPod(c, 'kubia-1', httpGet('http://kubia-0-public/')), 'You have hit kubia-0');
      assert.equal(await fromHost(`http://${after['default/kubia-0-public']}/`), 'You have hit kubia-0');
      // the load balancer's address (its cluster IP, local to this host) answers from the host too
      assert.match(await fromHost(`http://${after['default/kubia-lb']}/`), /^You have hit kubia-[012]$/);

      // kubia-0 isolated for ingress: through its Service too, kubia-1 gets nothing back
      await c.kubectl(['apply', '-f', '-'], { input: policy('kubia-0-deny', '  policyTypes: [Ingress]\n') });
      await eventually(async () => (await inPod(c, 'kubia-1', httpGet('http://kubia-0-public/'))) === 'timeout', 30_000, 'kubia-0-public refusing kubia-1');
      assert.equal(await inPod(c, 'kubia-1', httpGet('http://kubia-0.kubia:8080/')), 'timeout', 'and by its pod address');
      // the host is let in, as kubia-0's own rules let it in (probes, port-forward)
      assert.equal(await fromHost(`http://${after['default/kubia-0-public']}/`), 'You have hit kubia-0');

      // allowed for kubia-1 only: kubia-1 gets through the Service, kubia-2 still not
      await c.kubectl(['apply', '-f', '-'], {
        input: policy('kubia-0-allow-kubia-1', '  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          statefulset.kubernetes.io/pod-name: kubia-1\n    ports:\n    - port: http\n'),
      });
      await eventually(async () => (await inPod(c, 'kubia-1', httpGet('http://kubia-0-public/'))) === 'You have hit kubia-0', 30_000, 'kubia-0-public answering kubia-1');
      assert.equal(await inPod(c, 'kubia-2', httpGet('http://kubia-0-public/')), 'timeout', 'kubia-2 is not allowed');
      assert.equal(await inPod(c, 'kubia-2', httpGet('http://kubia-0.kubia:8080/')), 'timeout', 'nor by the pod address');
      // an ipBlock naming kubia-2's address lets it in, through the Service too (judged by its own address, not the proxy's)
      const kubia2 = (await c.kubectl(['get', 'pod', 'kubia-2', '-o', 'jsonpath={.status.podIP}'])).stdout;
      await c.kubectl(['apply', '-f', '-'], { input: policy('kubia-0-allow-block', `  ingress:\n  - from:\n    - ipBlock:\n        cidr: ${kubia2}/32\n`) });
      await eventually(async () => (await inPod(c, 'kubia-2', httpGet('http://kubia-0-public/'))) === 'You have hit kubia-0', 30_000, 'kubia-0-public answering kubia-2 by its ipBlock');
      assert.equal(await inPod(c, 'kubia-2', httpGet('http://kubia-0.kubia:8080/')), 'You have hit kubia-0');
      // port-forward enters the pod's own network: a port bound only on its loopback, and through a Service
      // (NetworkPolicy does not apply to it, as upstream's port-forward is not pod traffic)
      assert.equal(await throughPortForward(c, 'pod/kubia-0', 9090), 'local only');
      assert.equal(await throughPortForward(c, 'svc/kubia-0-public', 80), 'You have hit kubia-0');
      assert.equal(await throughPortForward(c, 'sts/kubia', 9090), 'local only');
      // nothing listens there: kubectl prints the dial error inside the pod, as upstream's runtime reports it
      assert.match(await throughPortForward(c, 'pod/kubia-0', 9999).catch((e: Error) => e.message), /error forwarding port 9999 to pod kubia-0: connect ECONNREFUSED 127\.0\.0\.1:9999 \(inside the pod's network namespace\)/);

      // resolv.conf by dnsPolicy: Default is the node's resolvers that are on this machine (a
      // query to an off-machine one would leave it; without one, the cluster DNS), None only the
      // pod's dnsConfig
      await c.kubectl(['wait', '--for=condition=Ready', 'pod/dns-default', 'pod/dns-none', '--timeout=60s']);
      const localServers = fs.readFileSync('/etc/resolv.conf', 'utf8').split('\n').filter((l) => /^nameserver\s+(127\.|::1\s*$)/.test(l)).slice(0, 3).map((l) => l.replace(/\s+/g, ' ').trim());
      const clusterDNS = (await c.kubectl(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
      const nodeServers = localServers.length ? localServers : [`nameserver ${clusterDNS}`];
      const asDefault = (await c.kubectl(['exec', 'dns-default', '--', 'cat', '/etc/resolv.conf'])).stdout;
      assert.deepEqual(asDefault.split('\n').filter((l) => l.startsWith('nameserver')), nodeServers, asDefault);
      assert.match(asDefault, /^search (.* )?extra\.example$/m);
      assert.doesNotMatch(asDefault, /cluster\.local/);
      assert.equal((await c.kubectl(['exec', 'dns-none', '--', 'cat', '/etc/resolv.conf'])).stdout, 'nameserver 10.0.0.53\nsearch extra.example\noptions ndots:2\n');

      assert.equal(guardDrops(id!), 0, 'the guard dropped nothing');
      await c.kubectl(['delete', 'statefulset', 'kubia']);
      await c.kubectl(['delete', 'pod', 'dns-default', 'dns-none', '--wait=false']);
      await c.stop();

      // and back to host mode: into the loopback range again
      const back = hostRange();
      c = await startCluster({ dataDir, extraArgs: ['--pod-network', 'host', '--service-cluster-ip-range', back] });
      assert.match(c.output(), /service default\/kubia-lb: cluster IP 10\.\S+ is outside the service range/);
      const again = await clusterIPs(c);
      for (const s of Object.keys(before).filter((k) => before[k] !== 'None')) assert.ok(inRange(again[s], back), `${s} ${again[s]} in ${back}`);
      await eventually(async () => (await c.kubectl(['get', 'svc', 'kubia-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).stdout === again['default/kubia-lb'], 20_000, 'the load balancer address back on loopback');
    } finally {
      await c.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
