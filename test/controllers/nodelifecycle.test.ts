// The node lifecycle controller against the real API server, with node agents simulated by
// hand (a Node with a Ready condition and a Lease renewed on a timer) and short timings.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import type { KubeObject } from '../../src/api/object.js';
import { ControllerRunner } from '../../src/client/controller-runner.js';
import { SharedInformerFactory } from '../../src/client/informer.js';
import { NodeLifecycleController } from '../../src/controllers/nodelifecycle/controller.js';
import { noScheduleTaintChanges, zoneState } from '../../src/controllers/nodelifecycle/health.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

describe('node health rules', () => {
  it('mirrors conditions and cordons as NoSchedule taints', () => {
    const node: KubeObject = {
      metadata: { name: 'n' },
      spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }, { key: 'custom', effect: 'NoSchedule' }] },
      status: { conditions: [{ type: 'Ready', status: 'Unknown' }, { type: 'DiskPressure', status: 'True' }] },
    };
    const { add, remove } = noScheduleTaintChanges(node);
    assert.deepEqual(add.map((t) => t.key), ['node.kubernetes.io/unreachable', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/unschedulable']);
    assert.deepEqual(remove.map((t) => t.key), ['node.kubernetes.io/not-ready']);
  });

  it('classifies zones', () => {
    assert.equal(zoneState(['Unknown'], 0.55), 'FullDisruption');
    assert.equal(zoneState(['True', 'Unknown', 'False'], 0.55), 'Normal');
    assert.equal(zoneState(['True', 'Unknown', 'False', 'Unknown'], 0.55), 'PartialDisruption');
  });
});

describe('node lifecycle controller', () => {
  let server: TestServer;
  let informers: SharedInformerFactory;
  let runner: ControllerRunner;
  const controller = new NodeLifecycleController({
    monitorPeriodMs: 100,
    gracePeriodMs: 700,
    startupGracePeriodMs: 700,
    evictionRate: 50,
    taintingPeriodMs: 50,
    podGCPeriodMs: 150,
    orphanQuarantineMs: 300,
  });
  /** nodes whose simulated agent still renews its Lease */
  const alive = new Set<string>();
  let renewer: NodeJS.Timeout;

  const nodes = () => server.client.nodes();
  const pods = () => server.client.pods('default');
  const leases = () => server.client.leases('kube-node-lease');
  const microTime = () => new Date().toISOString().replace('Z', '000Z');

  async function makeNode(name: string): Promise<void> {
    const now = new Date().toISOString();
    await nodes().create({
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    });
    await leases().create({ metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() } });
    alive.add(name);
  }

  async function runningPod(name: string, node: string, tolerations?: unknown[]): Promise<void> {
    const pod = await pods().create({ metadata: { name }, spec: { nodeName: node, tolerations, containers: [{ name: 'c', image: 'nginx' }] } });
    const now = new Date().toISOString();
    pod.status = { ...pod.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] };
    await pods().updateStatus(pod);
  }

  const nodeWhere = (name: string, check: (n: KubeObject) => boolean, what: string) =>
    waitFor(async () => {
      const n = await nodes().get(name);
      return check(n) && n;
    }, 5000, what);
  const podWhere = (name: string, check: (p: KubeObject) => boolean, what: string) =>
    waitFor(async () => {
      const p = await pods().get(name);
      return check(p) && p;
    }, 5000, what);
  const hasTaint = (n: KubeObject, key: string, effect: string) => (n.spec?.taints ?? []).some((t: any) => t.key === key && t.effect === effect);
  const condition = (o: KubeObject, type: string) => (o.status?.conditions ?? []).find((c: any) => c.type === type);

  before(async () => {
    server = await startTestServer();
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) await makeNode(n);
    renewer = setInterval(() => {
      for (const name of alive) {
        void leases()
          .patch(name, { spec: { renewTime: microTime() } }, 'merge')
          .catch(() => undefined);
      }
    }, 100);
    informers = new SharedInformerFactory(server.client);
    runner = new ControllerRunner(server.client, defaultRegistry(), informers);
    await runner.start([controller]);
  });

  after(async () => {
    clearInterval(renewer);
    controller.stop();
    await runner.stop();
    await server.stop();
  });

  it('marks a silent node Unknown, taints it, marks its pods not ready and evicts them after their toleration', async () => {
    await runningPod('quick', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }]);
    await runningPod('patient', 'n1');
    alive.delete('n1');

    const node = await nodeWhere('n1', (n) => condition(n, 'Ready')?.status === 'Unknown', 'n1 Unknown');
    const ready = condition(node, 'Ready');
    assert.deepEqual([ready.reason, ready.message], ['NodeStatusUnknown', 'Kubelet stopped posting node status.']);
    assert.equal(condition(node, 'MemoryPressure').reason, 'NodeStatusNeverUpdated');
    await nodeWhere('n1', (n) => hasTaint(n, 'node.kubernetes.io/unreachable', 'NoSchedule') && hasTaint(n, 'node.kubernetes.io/unreachable', 'NoExecute'), 'unreachable taints');
    const notReady = await podWhere('patient', (p) => condition(p, 'Ready')?.status === 'False', 'patient not ready');
    assert.equal(notReady.status.phase, 'Running');

    const evicted = await podWhere('quick', (p) => !!p.metadata.deletionTimestamp, 'quick evicted');
    const target = condition(evicted, 'DisruptionTarget');
    assert.deepEqual([target.status, target.reason, target.message], ['True', 'DeletionByTaintManager', 'Taint manager: deleting due to NoExecute taint']);
    assert.equal(evicted.metadata.deletionGracePeriodSeconds, 30, 'a graceful delete, left Terminating');
    assert.equal((await pods().get('patient')).metadata.deletionTimestamp, undefined, 'still within its 300 s');

    const events = (await server.client.events('default').list()).items;
    assert.ok(events.some((e) => e.involvedObject?.name === 'patient' && e.reason === 'NodeNotReady' && e.message === 'Node is not ready'));
    assert.ok(events.some((e) => e.involvedObject?.name === 'quick' && e.reason === 'TaintManagerEviction' && e.message === 'Marking for deletion Pod default/quick'));
    assert.ok(events.some((e) => e.involvedObject?.name === 'n1' && e.reason === 'NodeNotReady' && e.message === 'Node n1 status is now: NodeNotReady'));

    // the agent comes back: it renews its lease and reports Ready again
    alive.add('n1');
    const current = await nodes().get('n1');
    const now = new Date().toISOString();
    current.status.conditions = current.status.conditions.map((c: any) =>
      c.type === 'Ready' ? { ...c, status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now } : c,
    );
    await nodes().updateStatus(current);
    await nodeWhere('n1', (n) => !(n.spec?.taints ?? []).length, 'taints removed');
  });

  it('force-deletes the pods of a dead node declared out of service', async () => {
    await runningPod('stuck', 'n4');
    alive.delete('n4');
    await nodeWhere('n4', (n) => hasTaint(n, 'node.kubernetes.io/unreachable', 'NoExecute'), 'n4 unreachable');
    const n4 = await nodes().get('n4');
    n4.spec.taints.push({ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' });
    await nodes().update(n4);
    await waitFor(async () => !(await pods().list()).items.some((p) => p.metadata.name === 'stuck'), 5000, 'stuck pod removed');
  });

  it('force-deletes the pods of a deleted node, marking them failed', async () => {
    await runningPod('orphan', 'n5');
    const watch = await pods().watch({ fieldSelector: 'metadata.name=orphan' });
    const seen: KubeObject[] = [];
    const collecting = (async () => {
      for await (const ev of watch) {
        seen.push(ev.object as KubeObject);
        if (ev.type === 'DELETED') break;
      }
    })();
    alive.delete('n5');
    await nodes().delete('n5');
    await waitFor(async () => !(await pods().list()).items.some((p) => p.metadata.name === 'orphan'), 5000, 'orphan removed');
    await collecting;
    const last = seen[seen.length - 1];
    assert.equal(last.status.phase, 'Failed');
    assert.equal(condition(last, 'DisruptionTarget').reason, 'DeletionByPodGC');
    assert.equal(condition(last, 'DisruptionTarget').message, 'PodGC: node no longer exists');
  });

  it('keeps the unschedulable taint in step with cordoning', async () => {
    const n2 = await nodes().get('n2');
    await nodes().update({ ...n2, spec: { ...n2.spec, unschedulable: true } });
    await nodeWhere('n2', (n) => hasTaint(n, 'node.kubernetes.io/unschedulable', 'NoSchedule'), 'cordon taint');
    const cordoned = await nodes().get('n2');
    await nodes().update({ ...cordoned, spec: { ...cordoned.spec, unschedulable: false } });
    await nodeWhere('n2', (n) => !hasTaint(n, 'node.kubernetes.io/unschedulable', 'NoSchedule'), 'cordon taint removed');
  });
});
