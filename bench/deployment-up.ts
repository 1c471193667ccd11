// Deployments end to end through a real `petset up --runtime sim` (one simulated node per 100
// replicas): a Deployment of N replicas created over HTTPS until every pod is available, then
// rolled out to a new image (the default RollingUpdate, 25 % surge / 25 % unavailable) until
// status says every replica is updated and available and the old ReplicaSet is at zero. Each
// phase prints its wall time and the CPU seconds the `petset up` process used meanwhile. In the
// same run, on a fresh cluster, the StatefulSet of N Parallel replicas of
// bench/statefulset-up.ts (one claim each), so the two controllers are compared side by side.
//
// `npm run bench deployment-up` (PETSET_BENCH_CAP_SECONDS replaces each phase's time cap;
// PETSET_BENCH_SKIP_STATEFULSET=1 leaves the StatefulSet out).
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Scenario } from './harness.js';
import { startUp } from './apiserver.js';
import { api, cpuSeconds, peakRssMb, timeToReady } from './statefulset-up.js';

interface Phase {
  seconds: number;
  cpuSeconds: number;
  /** whether the goal was reached before the cap */
  done: boolean;
  /** what the Deployment's status said at the end */
  status: string;
}

const ns = '/apis/apps/v1/namespaces/default/deployments';

async function until(r: Awaited<ReturnType<typeof startUp>>, capSeconds: number, done: (d: any) => boolean, start: () => Promise<unknown>): Promise<Phase> {
  const pid = r.proc.pid!;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await start();
  for (;;) {
    const d = await api(r, 'GET', `${ns}/web`);
    const seconds = (performance.now() - t0) / 1000;
    const s = d.status ?? {};
    const ok = done(d);
    if (ok || seconds > capSeconds)
      return { seconds, cpuSeconds: cpuSeconds(pid) - cpu0, done: ok, status: `replicas=${s.replicas} updated=${s.updatedReplicas} ready=${s.readyReplicas} available=${s.availableReplicas}` };
    await new Promise((res) => setTimeout(res, 100));
  }
}

function patch(r: Awaited<ReturnType<typeof startUp>>, p: string, body: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${r.url}${p}`, { method: 'PATCH', ca: r.ca, headers: { Authorization: `Bearer ${r.token}`, 'Content-Type': 'application/strategic-merge-patch+json' } }, (res) => {
      let out = '';
      res.on('data', (d) => (out += d));
      res.on('end', () => (res.statusCode! < 300 ? resolve() : reject(new Error(`PATCH ${p}: ${res.statusCode} ${out}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Every replica of the current generation updated and available, and nothing else left. */
function complete(replicas: number) {
  return (d: any) => {
    const s = d.status ?? {};
    return s.observedGeneration >= d.metadata.generation && s.updatedReplicas === replicas && s.availableReplicas === replicas && s.replicas === replicas;
  };
}

async function deployment(replicas: number, capSeconds: number) {
  const nodes = Math.max(1, Math.ceil(replicas / 100));
  const r = await startUp(undefined, ['--runtime', 'sim', '--nodes', String(nodes)]);
  try {
    const create = await until(r, capSeconds, complete(replicas), () =>
      api(r, 'POST', ns, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
        },
      }),
    );
    if (!create.done) return { create };
    // kubectl set image's strategic merge patch
    const rollout = await until(r, capSeconds, complete(replicas), () => patch(r, `${ns}/web`, { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.28' }] } } } }));
    const rss = peakRssMb(r.proc.pid!);
    const sets = await api(r, 'GET', '/apis/apps/v1/namespaces/default/replicasets');
    return { create, rollout, rss, replicaSets: (sets.items as any[]).map((x) => `${x.metadata.name}=${x.status?.replicas ?? 0}`).join(' ') };
  } finally {
    await r.stop();
  }
}

function scenario(replicas: number, capSeconds: number): Scenario {
  return {
    // the count then a suffix, so a filter naming 100 does not also run 1,000
    name: `deployment-up-${replicas}-rollout`,
    async run(report) {
      const cap = Number(process.env.PETSET_BENCH_CAP_SECONDS ?? capSeconds);
      const d = await deployment(replicas, cap);
      const tag = `deploy_up_${replicas}`;
      for (const [phase, p] of [['available', d.create], ['rollout', d.rollout]] as const) {
        if (!p) continue;
        if (!p.done) process.stderr.write(`  ${phase}: not done after the ${cap} s cap (${p.status})\n`);
        report({ name: `${tag}_${phase}_seconds`, value: p.seconds, unit: 's' });
        report({ name: `${tag}_${phase}_cpu_seconds`, value: p.cpuSeconds, unit: 's' });
      }
      if (d.rss) report({ name: `${tag}_peak_rss_mb`, value: d.rss, unit: 'MiB' });
      if (d.replicaSets) process.stderr.write(`  ReplicaSets after the rollout: ${d.replicaSets}\n`);
      // beside it, in the same run: the StatefulSet of as many Parallel replicas
      if (process.env.PETSET_BENCH_SKIP_STATEFULSET) return;
      const s = await timeToReady(replicas, 'Parallel', cap);
      if (s.ready !== replicas) process.stderr.write(`  StatefulSet: only ${s.ready} of ${replicas} Ready after the ${cap} s cap\n`);
      report({ name: `sts_up_parallel_${replicas}_ready_seconds`, value: s.seconds, unit: 's' });
      report({ name: `sts_up_parallel_${replicas}_cpu_seconds`, value: s.cpuSeconds, unit: 's' });
    },
  };
}

export const deploymentUpScenarios: Scenario[] = [scenario(100, 120), scenario(1000, 300)];
