// StatefulSet scenarios: the API server on a durable (file-backed) SQLite store and the
// controller manager, in one process, as `petset up` runs them. A marker plays every kubelet
// at once: it watches pods and reports each Running and Ready the moment it appears, so the
// figures measure the control plane and not container start-up.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { defaultRegistry } from '../src/api/kinds/index.js';
import type { KubeObject } from '../src/api/object.js';
import { timestamp } from '../src/api/object.js';
import { installAdmission } from '../src/apiserver/admission.js';
import { bootstrapObjects } from '../src/apiserver/bootstrap.js';
import { ApiServer } from '../src/apiserver/handler.js';
import { Client } from '../src/client/client.js';
import { InProcessTransport } from '../src/client/inprocess-transport.js';
import { GarbageCollector } from '../src/controllers/garbagecollector/controller.js';
import { startControllers } from '../src/controllers/manager.js';
import { NamespaceController } from '../src/controllers/namespace/controller.js';
import { StatefulSetController } from '../src/controllers/statefulset/controller.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.js';
import type { Scenario } from './harness.js';
import { measureDurableWrite } from './store.js';

interface Run {
  seconds: number;
  /** CPU the whole process used meanwhile: steadier than wall time on a shared machine */
  cpuSeconds: number;
  writes: number;
  transactions: number;
}

function statefulSet(name: string, replicas: number, podManagementPolicy: 'Parallel' | 'OrderedReady'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      podManagementPolicy,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

/** Reports every new pod Running and Ready; answers a stop function. */
async function startMarker(client: Client): Promise<() => void> {
  const pods = client.pods('default');
  const watch = await pods.watch({ resourceVersion: (await pods.list({ limit: 1 })).metadata?.resourceVersion });
  void (async () => {
    for await (const ev of watch) {
      if (ev.type !== 'ADDED') continue;
      const pod = ev.object as KubeObject;
      const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: timestamp() }] };
      void pods.patch(pod.metadata.name!, { status }, 'strategic', { subresource: 'status' }).catch(() => {});
    }
  })();
  return () => watch.stop();
}

/** From create to status.readyReplicas == replicas, on a fresh durable store. */
async function timeToReady(replicas: number, policy: 'Parallel' | 'OrderedReady'): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-sts-bench-'));
  const store: SqliteStore = openSqliteStore(path.join(dir, 'state.db'), { autoCompact: false });
  const api = new ApiServer(defaultRegistry(), store);
  installAdmission(api);
  await bootstrapObjects(api);
  const client = new Client(new InProcessTransport(api.handle, { name: 'bench', groups: ['system:masters'] }));
  // Only what a StatefulSet needs: with no nodes, a scheduler would just add failure events.
  const controllers = await startControllers(client, [new NamespaceController(), new GarbageCollector(), new StatefulSetController()]);
  const stopMarker = await startMarker(client);
  try {
    const sets = client.statefulSets('default');
    const setWatch = await sets.watch({ resourceVersion: (await sets.list()).metadata?.resourceVersion });
    const before = { ...store.stats };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sets.create(statefulSet('web', replicas, policy));
    let last: unknown;
    for await (const ev of setWatch) {
      last = ev;
      if ((ev.object as KubeObject).status?.readyReplicas === replicas) break;
    }
    if ((last as any)?.object?.status?.readyReplicas !== replicas) throw new Error(`watch ended early: ${JSON.stringify(last).slice(0, 400)}`);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, writes: store.stats.writes - before.writes, transactions: store.stats.transactions - before.transactions };
  } finally {
    stopMarker();
    // Let trailing writes (events are recorded behind the controller's back) land before closing.
    for (let writes = -1; writes !== store.stats.writes; ) {
      writes = store.stats.writes;
      await new Promise((r) => setTimeout(r, 100));
    }
    await controllers.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const statefulsetScenarios: Scenario[] = [
  {
    name: 'statefulset-parallel-1000',
    async run(report) {
      const r = await timeToReady(1000, 'Parallel');
      report({ name: 'sts_parallel_1000_ready_seconds', value: r.seconds, unit: 's', goal: '< 3 s' });
      report({ name: 'sts_parallel_1000_cpu_seconds', value: r.cpuSeconds, unit: 's' });
      report({ name: 'sts_parallel_1000_store_writes', value: r.writes, unit: 'writes' });
      report({ name: 'sts_parallel_1000_store_transactions', value: r.transactions, unit: 'transactions' });
    },
  },
  {
    name: 'statefulset-ordered-100',
    async run(report) {
      const r = await timeToReady(100, 'OrderedReady');
      report({ name: 'sts_ordered_100_ready_seconds', value: r.seconds, unit: 's', goal: '< 1 s' });
      report({ name: 'sts_ordered_100_cpu_seconds', value: r.cpuSeconds, unit: 's' });
      report({ name: 'sts_ordered_100_store_writes', value: r.writes, unit: 'writes' });
      report({ name: 'sts_ordered_100_store_transactions', value: r.transactions, unit: 'transactions' });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-fsync-'));
      const { microsPerWrite } = await measureDurableWrite(dir);
      fs.rmSync(dir, { recursive: true, force: true });
      // The floor under the ordered figure: each step waits for durable writes in sequence.
      report({ name: 'sts_bench_durable_write', value: microsPerWrite / 1000, unit: 'ms' });
    },
  },
];
