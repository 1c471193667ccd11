// StatefulSets end to end, as a user gets them: a real `petset up --runtime sim` process
// (HTTPS API, every controller, scheduler, volume binder and provisioner, one simulated node
// agent per 100 replicas), a set with one claim per replica from the default StorageClass created over HTTPS,
// timed until status.readyReplicas reaches spec.replicas. Beside wall time each figure prints
// the CPU seconds the `petset up` process used meanwhile and its peak resident memory, so a
// growth series (100 / 1,000 / 5,000) shows the slope. The in-process figures of
// bench/statefulset.ts measure the controller alone and are named sts_* there; these are
// named sts_up_*.
//
// statefulset-up-pods-10000-nodes-100: 100 sets of 100 without claims on 100 nodes (issue 12's
// 10k-pods line, end to end; nodes.ts has the in-process figure).
//
// `npm run bench statefulset-up` runs them all; statefulset-up-1000-parallel one of them.
// PETSET_BENCH_RUNS=3 takes the median of three fresh clusters per figure (default one);
// PETSET_BENCH_CAP_SECONDS replaces each scenario's time cap. PETSET_BENCH_COUNTS=1 also prints,
// per run, the API writes per replica, the lists and the watch events sent, by resource and kind, between
// the set's creation and Ready (from the server's /metrics).
import fs from 'node:fs';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { median, type Scenario } from './harness.js';
import { startUp, type Running } from './apiserver.js';

export function api(r: Running, method: string, p: string, body?: unknown): Promise<any> {
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

function text(r: Running, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(`${r.url}${p}`, { ca: r.ca, headers: { Authorization: `Bearer ${r.token}` } }, (res) => {
        let out = '';
        res.on('data', (d) => (out += d));
        res.on('end', () => resolve(out));
      })
      .on('error', reject);
  });
}

/** Writes (by resource[/subresource] and verb), gets and lists (by resource) and watch events sent (by kind) so far, from /metrics. */
async function counts(r: Running): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const add = (k: string, v: number) => out.set(k, (out.get(k) ?? 0) + v);
  for (const line of (await text(r, '/metrics')).split('\n')) {
    const m = /^(apiserver_request_total|apiserver_watch_events_total)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (m[1] === 'apiserver_watch_events_total') add(`watch ${labels.kind}`, Number(m[3]));
    else if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(labels.verb!)) add(`write ${labels.verb} ${labels.resource}${labels.subresource ? '/' + labels.subresource : ''}`, Number(m[3]));
    // lists are where quadratic work hides (a namespace-wide pod list per pod start)
    else if (labels.verb === 'LIST') add(`list ${labels.resource}`, Number(m[3]));
    // so are reads of one object per event
    else if (labels.verb === 'GET') add(`get ${labels.resource}${labels.subresource ? '/' + labels.subresource : ''}`, Number(m[3]));
  }
  return out;
}

function printCounts(before: Map<string, number>, after: Map<string, number>, replicas: number): void {
  const diff = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
  const total = (prefix: string) => diff.filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
  const lines = diff.sort((a, b) => b[1] - a[1]).map(([k, v]) => `    ${k}: ${v} (${(v / replicas).toFixed(2)}/replica)`);
  process.stderr.write(`  writes ${total('write ')} (${(total('write ') / replicas).toFixed(1)}/replica), watch events ${total('watch ')} (${(total('watch ') / replicas).toFixed(1)}/replica)\n${lines.join('\n')}\n`);
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** The most resident memory the process has had (VmHWM), in MiB. */
export function peakRssMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/**
 * Waits, over one watch of the namespace's StatefulSets, until their status.readyReplicas add
 * up to `total` or `capSeconds` have passed since t0; answers when that was seen and how many
 * were Ready then. A watch, not a poll: a poll every 100 ms added up to 100 ms to each figure.
 */
function readyReplicasReach(r: Running, total: number, t0: number, capSeconds: number): Promise<{ seconds: number; ready: number }> {
  return new Promise((resolve, reject) => {
    const readyBySet = new Map<string, number>();
    let ready = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(cap);
      req.destroy();
      if (err) reject(err);
      else resolve({ seconds: (performance.now() - t0) / 1000, ready });
    };
    const cap = setTimeout(() => finish(), Math.max(0, capSeconds * 1000 - (performance.now() - t0)));
    const req = https.get(
      `${r.url}/apis/apps/v1/namespaces/default/statefulsets?watch=true&resourceVersion=0`,
      { ca: r.ca, headers: { Authorization: `Bearer ${r.token}` } },
      (res) => {
        if (res.statusCode !== 200) return finish(new Error(`watch of StatefulSets answered ${res.statusCode}`));
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const ev = JSON.parse(buffered.slice(0, nl));
            buffered = buffered.slice(nl + 1);
            if (ev.type === 'ERROR') return finish(new Error(`watch of StatefulSets ended: ${ev.object?.message}`));
            readyBySet.set(ev.object.metadata.name, ev.type === 'DELETED' ? 0 : (ev.object.status?.readyReplicas ?? 0));
          }
          ready = [...readyBySet.values()].reduce((n, x) => n + x, 0);
          if (ready === total) finish();
        });
        res.on('end', () => finish(new Error('the watch of StatefulSets ended before they were Ready')));
      },
    );
    req.on('error', (e) => finish(e));
  });
}

export interface Run {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  /** ready replicas when the time cap ended the run (== replicas when it finished) */
  ready: number;
}

/**
 * `sets` StatefulSets of `replicas` each (named web, or web-0 … when several), with one claim
 * per replica unless `claims` is false, on one simulated node per 100 pods.
 */
export async function timeToReady(replicas: number, policy: 'Parallel' | 'OrderedReady', capSeconds: number, sets = 1, claims = true, serverArgs: string[] = []): Promise<Run> {
  // a node runs at most 110 pods (its allocatable "pods"): one node per 100 replicas
  const nodes = Math.max(1, Math.ceil((replicas * sets) / 100));
  const r = await startUp(undefined, ['--runtime', 'sim', '--nodes', String(nodes), ...serverArgs]);
  try {
    const pid = r.proc.pid!;
    const counting = process.env.PETSET_BENCH_COUNTS === '1';
    const before = counting ? await counts(r) : undefined;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    for (let i = 0; i < sets; i++) {
      const name = sets === 1 ? 'web' : `web-${i}`;
      await api(r, 'POST', '/apis/apps/v1/namespaces/default/statefulsets', {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name },
        spec: {
          serviceName: name,
          replicas,
          podManagementPolicy: policy,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
          ...(claims ? { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] } : {}),
        },
      });
    }
    const { seconds, ready } = await readyReplicasReach(r, replicas * sets, t0, capSeconds);
    const run = { seconds, cpuSeconds: cpuSeconds(pid) - cpu0, peakRssMb: peakRssMb(pid), ready };
    if (before) printCounts(before, await counts(r), replicas * sets);
    return run;
  } finally {
    await r.stop();
  }
}

/** unsafeNoFsync: the same through `petset up --unsafe-no-fsync` (commits do not wait for the disk), figures named *_unsafe_no_fsync */
function scenario(replicas: number, policy: 'Parallel' | 'OrderedReady', capSeconds: number, goal?: string, unsafeNoFsync = false): Scenario {
  const tag = `sts_up_${policy === 'Parallel' ? 'parallel' : 'ordered'}_${replicas}${unsafeNoFsync ? '_unsafe_no_fsync' : ''}`;
  return {
    // the count first, so a filter naming 100 does not also run 1,000 and 5,000 (nor the unsafe variant)
    name: `statefulset-up-${unsafeNoFsync ? 'unsafe-no-fsync-' : ''}${replicas}-${policy === 'Parallel' ? 'parallel' : 'ordered'}`,
    async run(report) {
      const runs: Run[] = [];
      const count = Math.max(1, Number(process.env.PETSET_BENCH_RUNS ?? 1));
      const cap = Number(process.env.PETSET_BENCH_CAP_SECONDS ?? capSeconds);
      for (let i = 0; i < count; i++) {
        const run = await timeToReady(replicas, policy, cap, 1, true, unsafeNoFsync ? ['--unsafe-no-fsync'] : []);
        runs.push(run);
        if (run.ready !== replicas) {
          process.stderr.write(`  only ${run.ready} of ${replicas} Ready after the ${cap} s cap\n`);
          break;
        }
      }
      report({ name: `${tag}_ready_seconds`, value: median(runs.map((x) => x.seconds)), unit: 's', goal: unsafeNoFsync ? undefined : goal });
      report({ name: `${tag}_cpu_seconds`, value: median(runs.map((x) => x.cpuSeconds)), unit: 's' });
      report({ name: `${tag}_cpu_ms_per_replica`, value: (median(runs.map((x) => x.cpuSeconds)) * 1000) / replicas, unit: 'ms' });
      report({ name: `${tag}_peak_rss_mb`, value: median(runs.map((x) => x.peakRssMb)), unit: 'MiB' });
      if (runs.some((x) => x.ready !== replicas)) report({ name: `${tag}_ready_at_cap`, value: Math.min(...runs.map((x) => x.ready)), unit: 'replicas' });
    },
  };
}

/** 10,000 pods on 100 nodes through `petset up`: 100 Parallel sets of 100, no claims (the in-process figure is nodes_100_pods_10000_* in nodes.ts). */
const tenThousandPods: Scenario = {
  name: 'statefulset-up-pods-10000-nodes-100',
  async run(report) {
    const runs: Run[] = [];
    const count = Math.max(1, Number(process.env.PETSET_BENCH_RUNS ?? 1));
    const cap = Number(process.env.PETSET_BENCH_CAP_SECONDS ?? 300);
    for (let i = 0; i < count; i++) {
      const run = await timeToReady(100, 'Parallel', cap, 100, false);
      runs.push(run);
      if (run.ready !== 10_000) {
        process.stderr.write(`  only ${run.ready} of 10000 Ready after the ${cap} s cap\n`);
        break;
      }
    }
    const tag = 'up_nodes_100_pods_10000';
    report({ name: `${tag}_ready_seconds`, value: median(runs.map((x) => x.seconds)), unit: 's', goal: '< 10 s' });
    report({ name: `${tag}_cpu_seconds`, value: median(runs.map((x) => x.cpuSeconds)), unit: 's' });
    report({ name: `${tag}_peak_rss_mb`, value: median(runs.map((x) => x.peakRssMb)), unit: 'MiB', goal: '< 600 MB' });
    if (runs.some((x) => x.ready !== 10_000)) report({ name: `${tag}_ready_at_cap`, value: Math.min(...runs.map((x) => x.ready)), unit: 'pods' });
  },
};

export const statefulsetUpScenarios: Scenario[] = [
  scenario(100, 'Parallel', 120),
  scenario(1000, 'Parallel', 180, '< 3 s'),
  scenario(5000, 'Parallel', 180, '< 15 s'),
  scenario(100, 'OrderedReady', 180, '< 2 s'),
  scenario(100, 'OrderedReady', 180, undefined, true),
  tenThousandPods,
];
