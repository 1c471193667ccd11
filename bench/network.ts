// Network figures, end to end through `petset up`: cluster DNS SRV queries per second under
// Debian's dnsperf, the service proxy's round trip and throughput against connecting to the
// backend directly, and (with root) pod network setup and teardown per pod.
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { percentile, type Scenario } from './harness.js';
import { startUp, type Running } from './apiserver.js';
import { PodNetwork, podNetworkUnavailable } from '../src/agent/podnet/pod-network.js';
import { podPolicyRules, replaceScript } from '../src/agent/podnet/policy.js';
import { nftIn } from '../src/agent/podnet/policy-enforcer.js';

function api(r: Running, method: string, p: string, body?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${r.url}${p}`, { method, ca: r.ca, headers: { Authorization: `Bearer ${r.token}`, 'Content-Type': 'application/json' } }, (res) => {
      let out = '';
      res.on('data', (d) => (out += d));
      res.on('end', () => (res.statusCode! < 300 ? resolve(JSON.parse(out)) : reject(new Error(`${method} ${p}: ${res.statusCode} ${out}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const have = (cmd: string) => new Promise<boolean>((r) => execFile('sh', ['-c', `command -v ${cmd}`], (e) => r(!e)));

async function headlessService(r: Running, name: string, ips: string[], port: number): Promise<void> {
  await api(r, 'POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { clusterIP: 'None', ports: [{ name: 'http', port }] } });
  await api(r, 'POST', '/api/v1/namespaces/default/endpoints', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name },
    subsets: [{ addresses: ips.map((ip, i) => ({ ip, hostname: `${name}-${i}` })), ports: [{ name: 'http', port, protocol: 'TCP' }] }],
  });
}

const dnsScenario: Scenario = {
  name: 'dns-srv-dnsperf',
  async run(report) {
    if (!(await have('dnsperf'))) {
      process.stderr.write('  skipped: dnsperf is not installed (apt-get install dnsperf)\n');
      return;
    }
    const r = await startUp(undefined, ['--nodes', '0', '--dns-upstream', 'none']);
    try {
      const m = /Cluster DNS \(cluster\.local\) at ([\d.]+):(\d+)/.exec(r.output());
      if (!m) throw new Error(`no DNS address in: ${r.output()}`);
      await headlessService(r, 'kubia', ['127.64.1.10', '127.64.1.11', '127.64.1.12'], 8080);
      const ips = ['127.64.1.10', '127.64.1.11', '127.64.1.12'];
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'petset-dnsperf-')), 'queries');
      fs.writeFileSync(file, ['kubia.default.svc.cluster.local SRV', '_http._tcp.kubia.default.svc.cluster.local SRV', 'kubia-1.kubia.default.svc.cluster.local A'].join('\n') + '\n');
      const perf = (host: string, port: string) =>
        new Promise<string>((resolve, reject) =>
          execFile('dnsperf', ['-s', host, '-p', port, '-d', file, '-l', '10', '-c', '4', '-Q', '100000'], { timeout: 60_000 }, (e, stdout) => (e && !stdout ? reject(e) : resolve(String(stdout)))),
        );
      const figures = (out: string) => ({ qps: Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]), lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1]) });
      try {
        const ours = figures(await perf(m[1], m[2]));
        report({ name: 'dns_queries_per_second', value: ours.qps, unit: 'q/s', goal: '>= 20000 on one core' });
        report({ name: 'dns_queries_lost', value: ours.lost, unit: 'queries' });
        // the same queries, the same tool, against another DNS server in the same run: dnsmasq
        // (Debian's dnsmasq-base) on loopback with the same records from its command line
        if (await have('dnsmasq')) {
          const other = figures(await withDnsmasq(ips, (port) => perf('127.0.0.1', String(port))));
          report({ name: 'dns_queries_per_second_dnsmasq', value: other.qps, unit: 'q/s' });
          report({ name: 'dns_queries_lost_dnsmasq', value: other.lost, unit: 'queries' });
        } else process.stderr.write('  (dnsmasq is not installed, apt-get install dnsmasq-base, to measure another DNS server beside it)\n');
      } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
    } finally {
      await r.stop();
    }
  },
};

/** A free loopback UDP port (for a server that takes a port number, not 0). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs `fn` while dnsmasq serves the kubia records on loopback (local only: nothing forwarded). */
async function withDnsmasq<T>(ips: string[], fn: (port: number) => Promise<T>): Promise<T> {
  const port = await freeUdpPort();
  const name = (i: number) => `kubia-${i}.kubia.default.svc.cluster.local`;
  const args = ['-k', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--listen-address=127.0.0.1', '--bind-interfaces', `--port=${port}`, '--pid-file=', '--local=/cluster.local/'];
  if (process.getuid?.() === 0) args.push('--user=root');
  ips.forEach((ip, i) => {
    args.push(`--host-record=${name(i)},${ip}`);
    for (const owner of ['kubia.default.svc.cluster.local', '_http._tcp.kubia.default.svc.cluster.local']) args.push(`--srv-host=${owner},${name(i)},8080,0,${Math.floor(100 / ips.length)}`);
  });
  const child = spawn('dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  try {
    // ready when it answers
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((r) => execFile('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', name(0)], (e, out) => r(!e && String(out).trim() === ips[0])));
      if (ok) break;
      if (i > 50 || child.exitCode !== null) throw new Error(`dnsmasq did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return await fn(port);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}

function roundTrips(host: string, port: number, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => {
      s.setNoDelay(true);
      const times: number[] = [];
      let t0 = performance.now();
      s.on('data', () => {
        times.push(performance.now() - t0);
        if (times.length === n) {
          s.end();
          resolve(times);
        } else {
          t0 = performance.now();
          s.write('x');
        }
      });
      s.write('x');
    });
    s.on('error', reject);
  });
}

function throughput(host: string, port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => {
      const chunk = Buffer.alloc(64 * 1024);
      let received = 0;
      const t0 = performance.now();
      s.on('data', (d) => {
        received += d.length;
        if (received >= bytes) {
          s.destroy();
          resolve(bytes / 1e6 / ((performance.now() - t0) / 1000));
        }
      });
      let sent = 0;
      const pump = () => {
        while (sent < bytes && s.write(chunk)) sent += chunk.length;
        if (sent < bytes) s.once('drain', pump);
      };
      pump();
    });
    s.on('error', reject);
  });
}

const proxyScenario: Scenario = {
  name: 'service-proxy',
  async run(report) {
    const r = await startUp(undefined, ['--nodes', '0']);
    const podIP = `127.66.${1 + Math.floor(Math.random() * 250)}.9`;
    const echo = net.createServer((c) => {
      c.on('error', () => {});
      c.pipe(c);
    });
    await new Promise<void>((res) => echo.listen(9000, podIP, () => res()));
    try {
      const svc = await api(r, 'POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo' }, spec: { ports: [{ name: 'tcp', port: 9000 }] } });
      await api(r, 'POST', '/api/v1/namespaces/default/endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'echo' }, subsets: [{ addresses: [{ ip: podIP }], ports: [{ name: 'tcp', port: 9000, protocol: 'TCP' }] }] });
      const clusterIP: string = svc.spec.clusterIP;
      for (let i = 0; i < 200; i++) {
        const ok = await roundTrips(clusterIP, 9000, 1).then(() => true, () => false);
        if (ok) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      const direct = (await roundTrips(podIP, 9000, 3000)).sort((a, b) => a - b);
      const proxied = (await roundTrips(clusterIP, 9000, 3000)).sort((a, b) => a - b);
      report({ name: 'service_rtt_direct_p50', value: percentile(direct, 50), unit: 'ms' });
      report({ name: 'service_rtt_proxied_p50', value: percentile(proxied, 50), unit: 'ms' });
      report({ name: 'service_rtt_overhead_p50', value: percentile(proxied, 50) - percentile(direct, 50), unit: 'ms', goal: '< 0.2 ms' });
      report({ name: 'service_rtt_proxied_p99', value: percentile(proxied, 99), unit: 'ms' });
      const bytes = 256 * 1024 * 1024;
      report({ name: 'service_throughput_direct', value: await throughput(podIP, 9000, bytes), unit: 'MB/s' });
      report({ name: 'service_throughput_proxied', value: await throughput(clusterIP, 9000, bytes), unit: 'MB/s' });
    } finally {
      echo.close();
      await r.stop();
    }
  },
};

const podNetScenario: Scenario = {
  name: 'pod-network-setup',
  async run(report) {
    const why = await podNetworkUnavailable();
    if (why) {
      process.stderr.write(`  skipped: the root pod network cannot run here: ${why}\n`);
      return;
    }
    const second = 200 + Math.floor(Math.random() * 50);
    const pn = new PodNetwork({ id: randomBytes(3).toString('hex'), podCidr: `10.${second}.0.0/16`, serviceCidr: `10.${100 + Math.floor(Math.random() * 80)}.0.0/16`, log: () => {} });
    await pn.setup();
    try {
      const up: number[] = [];
      const down: number[] = [];
      const policy: number[] = [];
      // a pod isolated by a NetworkPolicy that lets its peers in on one port: the table written into its namespace
      const peers = Array.from({ length: 30 }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'bench', name: `p-${i}`, uid: `u${i}`, labels: { app: 'p' } }, status: { phase: 'Running', podIP: `10.${second}.1.${i + 2}` } }));
      const world = { pods: peers, namespaces: [], policies: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'bench', name: 'p' }, spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'p' } } }], ports: [{ port: 8080 }] }] } }] };
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        const h = await pn.addPod(`bench/p-${i}`, `10.${second}.1.${i + 2}`);
        up.push(performance.now() - t0);
        const t1 = performance.now();
        await nftIn(h.netnsPath, replaceScript(podPolicyRules({ pod: peers[i], ip: h.ip }, world, { hostAddresses: pn.hostAddresses(), serviceCidr: pn.serviceCidr.text })));
        policy.push(performance.now() - t1);
      }
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        await pn.removePod(`bench/p-${i}`);
        down.push(performance.now() - t0);
      }
      report({ name: 'pod_network_setup_p50', value: percentile(up.sort((a, b) => a - b), 50), unit: 'ms', goal: '< 20 ms' });
      report({ name: 'pod_network_teardown_p50', value: percentile(down.sort((a, b) => a - b), 50), unit: 'ms' });
      report({ name: 'pod_network_policy_write_p50', value: percentile(policy.sort((a, b) => a - b), 50), unit: 'ms' });
      report({ name: 'pod_network_guard_drops', value: await pn.guardDrops(), unit: 'packets', goal: '0' });
    } finally {
      await pn.teardown();
    }
  },
};

export const networkScenarios: Scenario[] = [dnsScenario, proxyScenario, podNetScenario];
