// Real pods, measured: what a sandbox adds to starting a container (against a plain spawn in
// the same run), what an idle pod costs in memory beside its own program, and, end to end
// through `petset up --runtime process`, 100 busybox pods and a 3-replica nginx StatefulSet to
// Ready. Skipped with the reason where the process runtime cannot run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { percentile, type Scenario } from './harness.js';
import { startUp, type Running } from './apiserver.js';
import type { KubeObject } from '../src/api/object.js';
import { ProcessRuntime, processRuntimeUnavailable } from '../src/agent/runtime/process/runtime.js';

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

function pod(name: string, i: number): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `bench-${process.pid}-${i}` }, spec: { containers: [] } } as KubeObject;
}

/**
 * Memory (kB) of every process whose cgroup path names the sandbox, but the program's own
 * (the container's main process, in a cgroup of its own under the sandbox's): resident
 * (shared pages counted in full for each process) and proportional (shared pages divided
 * among the processes that map them, as smem's PSS), the pause process included.
 */
function sandboxOverhead(sandboxId: string, programPid: number | undefined): { rss: number; pss: number; byCommand: Record<string, number> } {
  let rss = 0;
  let pss = 0;
  const byCommand: Record<string, number> = {};
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (Number(pid) === programPid || !fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(sandboxId)) continue;
      const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
      const cmd = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      rss += kb;
      byCommand[cmd] = (byCommand[cmd] ?? 0) + kb;
    } catch {
      // gone meanwhile
    }
  }
  return { rss, pss, byCommand };
}

/** The host pid of the container's program: the one process of the sandbox running `sleep 3600` in a container cgroup. */
function programPid(sandboxId: string): number | undefined {
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (!cgroup.includes(sandboxId) || cgroup.includes('/pause')) continue;
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\x003600\x00') return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

const sandboxScenario: Scenario = {
  name: 'process-runtime-sandbox',
  async run(report) {
    const why = processRuntimeUnavailable();
    if (why) {
      process.stderr.write(`  skipped: ${why}\n`);
      return;
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-bench-rt-'));
    const rt = new ProcessRuntime({ stateDir: path.join(root, 'state'), hide: [root] });
    const sandboxes: string[] = [];
    try {
      const plain: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        spawnSync('/bin/true');
        plain.push(performance.now() - t0);
      }
      const sb = await rt.createSandbox({ pod: pod('bench-start', 0), ip: '127.64.250.2', hostname: 'bench-start', volumePaths: {} });
      sandboxes.push(sb);
      const sandboxed: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        await new Promise<void>((resolve, reject) => {
          rt.startContainer(sb, { container: { name: `c${i}`, image: 'busybox', command: ['true'] }, init: false, restartCount: 0 }, () => resolve()).catch(reject);
        });
        sandboxed.push(performance.now() - t0);
      }
      report({ name: 'container_start_to_exit_plain_p50', value: percentile(sorted(plain), 50), unit: 'ms' });
      report({ name: 'container_start_to_exit_sandboxed_p50', value: percentile(sorted(sandboxed), 50), unit: 'ms' });
      report({ name: 'container_start_to_exit_sandboxed_p99', value: percentile(sorted(sandboxed), 99), unit: 'ms' });
      report({ name: 'container_start_to_exit_plain_p99', value: percentile(sorted(plain), 99), unit: 'ms' });
      report({ name: 'container_start_overhead_p50', value: percentile(sorted(sandboxed), 50) - percentile(sorted(plain), 50), unit: 'ms' });
      report({ name: 'container_start_overhead_p99', value: percentile(sorted(sandboxed), 99) - percentile(sorted(plain), 99), unit: 'ms' });

      // ten idle pods running `sleep`: what each costs beyond the program itself
      const idle: number[] = [];
      const idlePss: number[] = [];
      let parts: Record<string, number> = {};
      for (let i = 1; i <= 10; i++) {
        const id = await rt.createSandbox({ pod: pod(`bench-idle-${i}`, i), ip: `127.64.250.${10 + i}`, hostname: `bench-idle-${i}`, volumePaths: {} });
        sandboxes.push(id);
        await rt.startContainer(id, { container: { name: 'c', image: 'busybox', command: ['sleep', '3600'] }, init: false, restartCount: 0 }, () => {});
      }
      await new Promise((r) => setTimeout(r, 500));
      for (const id of sandboxes.slice(1)) {
        const { rss, pss, byCommand } = sandboxOverhead(id, programPid(id));
        idle.push(rss / 1024);
        idlePss.push(pss / 1024);
        parts = byCommand;
      }
      process.stderr.write(`  one idle pod's processes beside its program (RSS kB): ${JSON.stringify(parts)}\n`);
      report({ name: 'idle_pod_overhead_rss_median', value: percentile(sorted(idle), 50), unit: 'MB', goal: '< 3 MB' });
      report({ name: 'idle_pod_overhead_pss_median', value: percentile(sorted(idlePss), 50), unit: 'MB', goal: '< 3 MB' });
    } finally {
      for (const id of sandboxes) await rt.removeSandbox(id).catch(() => {});
      fs.rmSync(root, { recursive: true, force: true });
    }
  },
};

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

async function readySeconds(r: Running, name: string, image: string, replicas: number, command?: string[], probe?: Record<string, any>): Promise<number> {
  const t0 = performance.now();
  await api(r, 'POST', '/apis/apps/v1/namespaces/default/statefulsets', {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      serviceName: name,
      replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, ...(command ? { command } : {}), ...(probe ? { readinessProbe: probe } : {}) }] } },
    },
  });
  for (;;) {
    const set = await api(r, 'GET', `/apis/apps/v1/namespaces/default/statefulsets/${name}`);
    if (set.status?.readyReplicas === replicas) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > 300_000) throw new Error(`${name}: ${set.status?.readyReplicas ?? 0} of ${replicas} ready after 300 s`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const endToEndScenario: Scenario = {
  name: 'process-runtime-up',
  async run(report) {
    const why = processRuntimeUnavailable();
    if (why) {
      process.stderr.write(`  skipped: ${why}\n`);
      return;
    }
    const r = await startUp(undefined, ['--runtime', 'process', '--service-cluster-ip-range', '127.110.250.0/24']);
    try {
      const nginx = await readySeconds(r, 'web', 'nginx', 3, undefined, { httpGet: { path: '/', port: 80 }, periodSeconds: 1 });
      report({ name: 'nginx_statefulset_3_ready_seconds', value: nginx, unit: 's', goal: '< 1.5 s' });
      const busybox = await readySeconds(r, 'bb', 'busybox', 100, ['sleep', '3600']);
      report({ name: 'busybox_pods_100_ready_seconds', value: busybox, unit: 's' });
    } finally {
      await r.stop();
    }
  },
};

export const runtimeScenarios: Scenario[] = [sandboxScenario, endToEndScenario];
