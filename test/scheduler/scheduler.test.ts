// The scheduler against the real API server: binding through pods/binding, spreading with
// anti-affinity, the Unschedulable condition and events, retries when the cluster changes,
// and WaitForFirstConsumer claims.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import { installPodSubresources } from '../../src/apiserver/pod-subresources.js';
import type { ControllerRunner } from '../../src/client/controller-runner.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { runControllers, startTestServer, waitFor, type TestServer } from '../support/server.js';

let server: TestServer;
let runner: ControllerRunner;
const scheduler = new Scheduler({ initialBackoffMs: 50, maxBackoffMs: 200 });

before(async () => {
  server = await startTestServer();
  installPodSubresources(server.api);
  ({ runner } = await runControllers(server, [scheduler]));
});

after(async () => {
  scheduler.stop();
  await runner.stop();
  await server.stop();
});

const pods = () => server.client.pods('default');
const nodes = () => server.client.nodes();

async function makeNode(name: string, opts: { labels?: Record<string, string>; taints?: any[]; cpu?: string } = {}): Promise<KubeObject> {
  return nodes().create({
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: { taints: opts.taints },
    status: {
      capacity: { cpu: opts.cpu ?? '4', memory: '8Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
    },
  });
}

function webPod(name: string, app: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name, labels: { app } },
    spec: {
      affinity: {
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey: 'kubernetes.io/hostname' }] },
      },
      containers: [{ name: 'c', image: 'nginx' }],
      ...extra,
    },
  };
}

const nodeOf = (name: string) => waitFor(async () => (await pods().get(name)).spec.nodeName as string | undefined, 5000, `${name} to be scheduled`);

async function scheduledCondition(name: string, message?: string): Promise<any> {
  let last: unknown;
  return waitFor(
    async () => {
      const c = ((await pods().get(name)).status?.conditions ?? []).find((x: any) => x.type === 'PodScheduled');
      last = c?.message;
      return c && (!message || c.message === message) && c;
    },
    5000,
    `PodScheduled condition of ${name}`,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last message: ${last}`);
  });
}

async function eventsFor(name: string, reason: string): Promise<KubeObject[]> {
  return (await server.client.events('default').list()).items.filter((e) => e.involvedObject?.name === name && e.reason === reason);
}

describe('scheduler', () => {
  it('spreads anti-affine pods over the nodes and explains why the next one fits nowhere', async () => {
    for (const n of ['node-1', 'node-2', 'node-3']) await makeNode(n);
    await makeNode('node-4', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] });
    for (let i = 0; i < 4; i++) await pods().create(webPod(`web-${i}`, 'web'));
    const placed = new Set<string>();
    for (let i = 0; i < 3; i++) placed.add(await nodeOf(`web-${i}`));
    assert.deepEqual([...placed].sort(), ['node-1', 'node-2', 'node-3']);

    const message =
      "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 node(s) didn't match pod anti-affinity rules. " +
      'preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod..';
    const cond = await scheduledCondition('web-3', message);
    assert.deepEqual([cond.status, cond.reason, cond.lastProbeTime], ['False', 'Unschedulable', null]);
    const failed = await waitFor(() => eventsFor('web-3', 'FailedScheduling').then((e) => (e.length ? e : undefined)), 5000, 'FailedScheduling event');
    assert.equal(failed[0].type, 'Warning');
    assert.equal(failed[0].message, message);
    assert.equal(failed[0].source.component, 'default-scheduler');

    const scheduled = await waitFor(() => eventsFor('web-0', 'Scheduled').then((e) => (e.length ? e : undefined)), 5000, 'Scheduled event');
    assert.equal(scheduled[0].message, `Successfully assigned default/web-0 to ${(await pods().get('web-0')).spec.nodeName}`);
    const bound = (await pods().get('web-0')).status.conditions.find((c: any) => c.type === 'PodScheduled');
    assert.equal(bound.status, 'True');

    // the taint goes: the waiting pod is retried and lands on the freed node
    const n4 = await nodes().get('node-4');
    await nodes().update({ ...n4, spec: { ...n4.spec, taints: undefined } });
    assert.equal(await nodeOf('web-3'), 'node-4');

    await pods().create(webPod('web-4', 'web'));
    await scheduledCondition(
      'web-4',
      "0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod..",
    );
    // a pod going away makes room
    await pods().delete('web-0', { gracePeriodSeconds: 0 });
    assert.ok(await nodeOf('web-4'));
  });

  it('honours nodeSelector, cordons and resource requests', async () => {
    await makeNode('big', { labels: { size: 'big' }, cpu: '16' });
    const sel = await pods().create({ metadata: { name: 'picky' }, spec: { nodeSelector: { size: 'big' }, containers: [{ name: 'c', image: 'x' }] } });
    assert.equal(await nodeOf(sel.metadata.name!), 'big');

    const huge = { name: 'c', image: 'x', resources: { requests: { cpu: '12' } } };
    const big = await nodes().get('big');
    await nodes().update({ ...big, spec: { ...big.spec, unschedulable: true } });
    await pods().create({ metadata: { name: 'hungry' }, spec: { containers: [huge] } });
    await scheduledCondition(
      'hungry',
      '0/5 nodes are available: 1 node(s) were unschedulable, 4 Insufficient cpu. preemption: 0/5 nodes are available: 1 Preemption is not helpful for scheduling, 4 No preemption victims found for incoming pod..',
    );
    const cordoned = await nodes().get('big');
    await nodes().update({ ...cordoned, spec: { ...cordoned.spec, unschedulable: false } });
    assert.equal(await nodeOf('hungry'), 'big');
  });

  it('leaves other schedulers’ pods alone', async () => {
    await pods().create({ metadata: { name: 'foreign' }, spec: { schedulerName: 'someone-else', containers: [{ name: 'c', image: 'x' }] } });
    await new Promise((r) => setTimeout(r, 300));
    const pod = await pods().get('foreign');
    assert.equal(pod.spec.nodeName, undefined);
    assert.equal(pod.status.conditions, undefined);
  });

  it('waits for claims, picks a node for WaitForFirstConsumer ones and binds once they are bound', async () => {
    const claimPod = { metadata: { name: 'db-0' }, spec: { containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }] } };
    await pods().create(claimPod);
    await scheduledCondition(
      'db-0',
      '0/5 nodes are available: persistentvolumeclaim "data-db-0" not found. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling..',
    );
    await server.client.storageClasses().create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'local-path' },
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const claims = server.client.persistentVolumeClaims('default');
    await claims.create({
      metadata: { name: 'data-db-0' },
      spec: { storageClassName: 'local-path', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const selected = await waitFor(async () => (await claims.get('data-db-0')).metadata.annotations?.['volume.kubernetes.io/selected-node'], 5000, 'selected-node');
    assert.equal((await pods().get('db-0')).spec.nodeName, undefined, 'not bound before its claim');

    // what the provisioner and the volume binder do
    const claim = await claims.get('data-db-0');
    await server.client.persistentVolumes().create({
      metadata: { name: 'pvc-db-0' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'local-path',
        hostPath: { path: '/tmp/pvc-db-0' },
        claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'default', name: 'data-db-0', uid: claim.metadata.uid },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [selected] }] }] } },
      },
    });
    await claims.update({ ...claim, spec: { ...claim.spec, volumeName: 'pvc-db-0' } });
    const withVolume = await claims.get('data-db-0');
    await claims.updateStatus({ ...withVolume, status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } } });
    assert.equal(await nodeOf('db-0'), selected);

    // a second pod on the same claim must follow the volume
    await pods().create({ ...claimPod, metadata: { name: 'db-0-reader' } });
    assert.equal(await nodeOf('db-0-reader'), selected);
  });
});
