// Restarting controllers over HTTPS against a running server with a large set: a
// controller that reconciled before its caches synced would write what half a cache says
// (a StatefulSet status of 0 replicas while its 600 pods are still being listed, a bound
// claim marked Lost while its volume is not listed yet, with a "Data on the volume is
// lost!" event, a pod found unschedulable while the nodes are not listed yet). Watches
// record every write from before the first restart to the end. The nodes are Node
// objects with no agent behind them: the scheduler binds the pods, nothing runs them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { startControlPlane, type ControlPlane } from '../../src/cli/controlplane.js';
import { Client, type Watch } from '../../src/client/client.js';
import { ControllerRunner, type Controller } from '../../src/client/controller-runner.js';
import { fromKubeconfig } from '../../src/client/http-transport.js';
import { defaultControllers } from '../../src/controllers/manager.js';
import { volumeControllers } from '../../src/controllers/volume/index.js';
import { waitFor } from '../support/server.js';

const NS = 'default';
const REPLICAS = 600;
const CLAIMS = 20;

describe('restarting controllers over HTTPS on a 600-pod set', () => {
  let dataDir: string;
  let cp: ControlPlane;
  let runner: ControllerRunner | undefined;
  const watches: Watch[] = [];
  /** every state of the set and the claims written after the set was complete, and every event */
  const setStates: KubeObject[] = [];
  const claimStates: KubeObject[] = [];
  const events: KubeObject[] = [];
  const podsDeleted: string[] = [];
  const podStates: KubeObject[] = [];

  /** A fresh HTTPS client and fresh controllers, as after a process restart. */
  async function startControllersOverHttps(): Promise<ControllerRunner> {
    const client = new Client(fromKubeconfig(cp.kubeconfigPath));
    // every controller of petset up, and the scheduler
    const controllers: Controller[] = [...defaultControllers(), ...volumeControllers({ dataDir, singleMachine: true, serveForeignProvisioners: true })];
    const r = new ControllerRunner(client, defaultRegistry());
    assert.equal(await r.start(controllers), true);
    return r;
  }

  async function record(list: KubeObject[], watch: Promise<Watch>): Promise<void> {
    const w = await watch;
    watches.push(w);
    void (async () => {
      for await (const ev of w) if (ev.type === 'ADDED' || ev.type === 'MODIFIED') list.push(ev.object as KubeObject);
    })();
  }

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'petset-restart-'));
    cp = await startControlPlane({ dataDir, controllers: false, nodes: 0 });
  });

  after(async () => {
    for (const w of watches) w.stop();
    await runner?.stop();
    await cp?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('never writes a regressed status, a Lost claim, a "lost" or FailedScheduling event', async () => {
    const client = cp.client;
    for (const name of ['node-a', 'node-b', 'node-c']) {
      await client.nodes().create({
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
        status: {
          capacity: { cpu: '64', memory: '256Gi', pods: '1000' },
          allocatable: { cpu: '64', memory: '256Gi', pods: '1000' },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString() }],
        },
      });
    }
    runner = await startControllersOverHttps();
    for (let i = 0; i < CLAIMS; i++) {
      await client.persistentVolumeClaims(NS).create({
        metadata: { name: `data-${i}` },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
    }
    await client.statefulSets(NS).create({
      metadata: { name: 'big' },
      spec: {
        replicas: REPLICAS,
        podManagementPolicy: 'Parallel',
        serviceName: 'big',
        selector: { matchLabels: { app: 'big' } },
        template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
      },
    });
    await waitFor(async () => (await client.statefulSets(NS).get('big')).status?.replicas === REPLICAS, 120_000, `${REPLICAS} replicas`);
    await waitFor(async () => (await client.persistentVolumeClaims(NS).list()).items.every((c) => c.status?.phase === 'Bound'), 30_000, 'claims Bound');
    await waitFor(async () => (await client.pods(NS).list()).items.every((p) => p.spec?.nodeName), 120_000, 'every pod bound');
    assert.equal((await client.pods(NS).list()).items.length, REPLICAS);

    const rv = (await client.statefulSets(NS).list()).metadata.resourceVersion;
    await record(setStates, client.statefulSets(NS).watch({ resourceVersion: rv }));
    await record(claimStates, client.persistentVolumeClaims(NS).watch({ resourceVersion: rv }));
    await record(events, client.events(NS).watch({ resourceVersion: rv }));
    const podWatch = await client.pods(NS).watch({ resourceVersion: rv });
    watches.push(podWatch);
    void (async () => {
      for await (const ev of podWatch) {
        const pod = ev.object as KubeObject;
        if (ev.type === 'DELETED') podsDeleted.push(pod.metadata.name!);
        else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') podStates.push(pod);
      }
    })();

    for (let round = 1; round <= 3; round++) {
      await runner.stop();
      // waiting for the scheduler when it comes back
      await client.pods(NS).create({ metadata: { name: `lonely-${round}` }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } });
      runner = await startControllersOverHttps();
      await waitFor(async () => (await client.pods(NS).get(`lonely-${round}`)).spec?.nodeName, 30_000, `lonely-${round} bound`);
      // the restarted controllers work: a new replica and a new claim
      await client.statefulSets(NS).patch('big', { spec: { replicas: REPLICAS + round } }, 'merge');
      await waitFor(async () => (await client.statefulSets(NS).get('big')).status?.replicas === REPLICAS + round, 60_000, `${REPLICAS + round} replicas after restart ${round}`);
      await client.persistentVolumeClaims(NS).create({
        metadata: { name: `after-${round}` },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
      await waitFor(async () => (await client.persistentVolumeClaims(NS).get(`after-${round}`)).status?.phase === 'Bound', 30_000, `claim after restart ${round} Bound`);
    }

    assert.ok(setStates.length > 0, 'the watch saw the set change');
    const replicas = setStates.map((s) => s.status?.replicas ?? 0);
    const problems: string[] = [];
    if (replicas.some((r, i) => r < REPLICAS || (i > 0 && r < replicas[i - 1]))) problems.push(`status.replicas regressed: ${replicas.join(' → ')}`);
    const current = setStates.map((s) => s.status?.currentReplicas ?? 0);
    if (current.some((r) => r < REPLICAS)) problems.push(`status.currentReplicas regressed: ${current.join(' → ')}`);
    for (const c of claimStates) if (c.status?.phase === 'Lost') problems.push(`claim ${c.metadata.name} marked Lost`);
    for (const e of events) {
      if (/lost/i.test(`${e.reason} ${e.message}`) || e.reason === 'FailedScheduling') problems.push(`event on ${e.involvedObject?.name}: ${e.reason} ${e.message}`);
    }
    if (podsDeleted.length) problems.push(`pods deleted: ${podsDeleted.join(' ')}`);
    for (const p of podStates) {
      const scheduled = p.status?.conditions?.find((c: { type: string }) => c.type === 'PodScheduled');
      if (scheduled?.status === 'False') problems.push(`pod ${p.metadata.name} marked ${scheduled.reason}: ${scheduled.message}`);
    }
    assert.deepEqual(problems, []);
  });
});
