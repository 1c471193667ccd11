// In-process figure (nodes_100_*; the same workload through a real `petset up` over HTTPS is
// up_nodes_100_pods_10000_* in statefulset-up.ts).
// Nodes at scale: the whole cluster `petset up --nodes 100` runs (store, API server over
// HTTPS, controllers, scheduler and 100 simulated node agents) in this one process, and a
// workload of 100 StatefulSets x 100 replicas (Parallel, no claims) = 10,000 pods, created
// through the in-process admin client. A pod watch times when every pod exists, is bound,
// and is Running and Ready (as its agent reports it). The process's resident memory is the
// control plane's: the bench adds only the 100 sets and that one watch.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KubeObject } from '../src/api/object.js';
import { startControlPlane } from '../src/cli/controlplane.js';
import { startEtcd } from '../test/support/etcd.js';
import type { Scenario } from './harness.js';

function statefulSet(name: string, replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      podManagementPolicy: 'Parallel',
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
    },
  };
}

/** This process's resident memory (VmRSS), in MiB. */
function rssMb(): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Run {
  /** until the control plane and its agents are up */
  startSeconds: number;
  /** from the first create until every pod exists, is bound to a node, is Running and Ready */
  createdSeconds: number;
  scheduledSeconds: number;
  readySeconds: number;
  /** CPU the whole process used meanwhile: steadier than wall time on a shared machine */
  cpuSeconds: number;
  writes: number;
  /** when all were Ready, and the most seen while getting there (sampled every 250 ms) */
  rssMb: number;
  rssPeakMb: number;
}

function isRunningAndReady(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && (pod.status?.conditions ?? []).some((c: any) => c?.type === 'Ready' && c.status === 'True');
}

/** `setCount` StatefulSets of `replicas` pods each on `nodes` agents; over SQLite, or over etcd at etcdEndpoint. */
export async function podsOnNodes(nodes: number, setCount: number, replicas: number, etcdEndpoint?: string): Promise<Run> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-nodes-bench-'));
  const t00 = performance.now();
  // upstream's node timings, as `petset up` passes them by default
  const cp = await startControlPlane({
    dataDir,
    nodes,
    agentTimings: { leaseDurationSeconds: 40, leaseRenewIntervalMs: 10_000, nodeStatusUpdateIntervalMs: 10_000 },
    ...(etcdEndpoint ? { etcd: { servers: [etcdEndpoint] } } : {}),
  });
  const startSeconds = (performance.now() - t00) / 1000;
  // writes counted as revisions: every write is one, on either store
  let revision = await cp.store.revision();
  const writesNow = async () => (revision = await cp.store.revision());
  let rssPeakMb = rssMb();
  const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rssMb())), 250);
  try {
    const pods = cp.client.pods('default');
    const watch = await pods.watch({ resourceVersion: (await pods.list()).metadata?.resourceVersion });
    const total = setCount * replicas;
    const created = new Set<string>();
    const scheduled = new Set<string>();
    const ready = new Set<string>();
    let createdSeconds = NaN;
    let scheduledSeconds = NaN;
    const before = await writesNow();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const sets = cp.client.statefulSets('default');
    await Promise.all(Array.from({ length: setCount }, (_, i) => sets.create(statefulSet(`web-${i}`, replicas))));
    for await (const ev of watch) {
      const pod = ev.object as KubeObject;
      if (ev.type === 'ERROR') throw new Error(`watch failed: ${JSON.stringify(pod)}`);
      const name = pod.metadata.name!;
      if (ev.type === 'DELETED') throw new Error(`pod ${name} was deleted`);
      created.add(name);
      if (pod.spec?.nodeName) scheduled.add(name);
      if (isRunningAndReady(pod)) ready.add(name);
      else ready.delete(name);
      const seconds = (performance.now() - t0) / 1000;
      if (Number.isNaN(createdSeconds) && created.size === total) createdSeconds = seconds;
      if (Number.isNaN(scheduledSeconds) && scheduled.size === total) scheduledSeconds = seconds;
      if (ready.size === total) break;
    }
    if (ready.size !== total) throw new Error(`watch ended with ${ready.size} pods ready`);
    const readySeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const rss = rssMb();
    rssPeakMb = Math.max(rssPeakMb, rss);
    return {
      startSeconds,
      createdSeconds,
      scheduledSeconds,
      readySeconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      writes: (await writesNow()) - before,
      rssMb: rss,
      rssPeakMb,
    };
  } finally {
    clearInterval(sampler);
    // Events are recorded behind the controllers' backs: let them land before the store closes.
    for (let writes = -1, waits = 0; writes !== (await writesNow()) && waits < 300; waits++) {
      writes = revision;
      await new Promise((r) => setTimeout(r, 100));
    }
    await cp.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const nodeScenarios: Scenario[] = [
  {
    name: 'nodes-100-pods-10000',
    async run(report) {
      const r = await podsOnNodes(100, 100, 100);
      report({ name: 'nodes_100_start_seconds', value: r.startSeconds, unit: 's' });
      report({ name: 'nodes_100_pods_10000_created_seconds', value: r.createdSeconds, unit: 's' });
      report({ name: 'nodes_100_pods_10000_scheduled_seconds', value: r.scheduledSeconds, unit: 's' });
      report({ name: 'nodes_100_pods_10000_ready_seconds', value: r.readySeconds, unit: 's' });
      report({ name: 'nodes_100_pods_10000_cpu_seconds', value: r.cpuSeconds, unit: 's' });
      report({ name: 'nodes_100_pods_10000_store_writes', value: r.writes, unit: 'writes' });
      report({ name: 'nodes_100_pods_10000_rss_mb', value: r.rssMb, unit: 'MiB' });
      report({ name: 'nodes_100_pods_10000_rss_peak_mb', value: r.rssPeakMb, unit: 'MiB' });
    },
  },
  {
    // the same 10,000 pods with the objects in Debian's etcd (1 member) instead of SQLite
    name: 'nodes-100-pods-10000-etcd',
    async run(report) {
      const etcd = await startEtcd();
      try {
        const r = await podsOnNodes(100, 100, 100, etcd.endpoint);
        report({ name: 'etcd_nodes_100_start_seconds', value: r.startSeconds, unit: 's' });
        report({ name: 'etcd_nodes_100_pods_10000_created_seconds', value: r.createdSeconds, unit: 's' });
        report({ name: 'etcd_nodes_100_pods_10000_scheduled_seconds', value: r.scheduledSeconds, unit: 's' });
        report({ name: 'etcd_nodes_100_pods_10000_ready_seconds', value: r.readySeconds, unit: 's' });
        report({ name: 'etcd_nodes_100_pods_10000_cpu_seconds', value: r.cpuSeconds, unit: 's' });
        report({ name: 'etcd_nodes_100_pods_10000_store_writes', value: r.writes, unit: 'writes' });
        report({ name: 'etcd_nodes_100_pods_10000_rss_mb', value: r.rssMb, unit: 'MiB' });
      } finally {
        await etcd.stop();
      }
    },
  },
];
