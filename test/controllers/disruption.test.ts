// The disruption controller against the real API server: PDB status from the selected pods
// and their StatefulSet's scale, and the eviction subresource spending what it allows.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { installPodSubresources } from '../../src/apiserver/pod-subresources.js';
import { Client } from '../../src/client/client.js';
import { ControllerRunner } from '../../src/client/controller-runner.js';
import { SharedInformerFactory } from '../../src/client/informer.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { DisruptionController } from '../../src/controllers/disruption/controller.js';
import { countHealthy, expectedAndDesired, nextStatus, pendingDisruptions } from '../../src/controllers/disruption/status.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

describe('disruption arithmetic', () => {
  const pdb = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({ metadata: { name: 'p', namespace: 'ns', generation: 1 }, spec, status });
  const pod = (name: string, ready: boolean, deleting = false): KubeObject => ({
    metadata: { name, deletionTimestamp: deleting ? '2025-01-01T00:00:00Z' : undefined },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });

  it('derives expected and desired pods from minAvailable or maxUnavailable', () => {
    assert.deepEqual(expectedAndDesired(pdb({ minAvailable: 2 }), 3, 99), { expected: 3, desired: 2 });
    assert.deepEqual(expectedAndDesired(pdb({ minAvailable: '50%' }), 3, 5), { expected: 5, desired: 3 });
    assert.deepEqual(expectedAndDesired(pdb({ maxUnavailable: '30%' }), 3, 5), { expected: 5, desired: 3 });
    assert.deepEqual(expectedAndDesired(pdb({ maxUnavailable: 9 }), 3, 5), { expected: 5, desired: 0 });
  });

  it('counts ready pods that are not going, and keeps recent evictions pending', () => {
    const now = Date.parse('2025-01-01T00:10:00Z');
    const budget = pdb({}, { disruptedPods: { a: '2025-01-01T00:09:00Z', b: '2025-01-01T00:01:00Z' } });
    const pods = [pod('a', true), pod('b', true), pod('c', true), pod('d', false), pod('e', true, true)];
    const { pending, overdue, recheckAt } = pendingDisruptions(budget, pods, now);
    assert.deepEqual(pending, { a: '2025-01-01T00:09:00Z' });
    assert.deepEqual(overdue.map((p) => p.metadata.name), ['b']);
    assert.equal(recheckAt, Date.parse('2025-01-01T00:11:00Z'));
    assert.equal(countHealthy(pods, pending, now), 2);
  });

  it('allows nothing while no pods are expected, and says nothing new twice', () => {
    const budget = pdb({ minAvailable: 0 });
    const status = nextStatus(budget, { currentHealthy: 2, desiredHealthy: 0, expectedPods: 0 }, {}, new Date());
    assert.equal(status?.disruptionsAllowed, 0);
    assert.equal(status?.conditions[0].reason, 'InsufficientPods');
    assert.equal(nextStatus({ ...budget, status }, { currentHealthy: 2, desiredHealthy: 0, expectedPods: 0 }, {}, new Date()), undefined);
  });
});

describe('disruption controller', () => {
  let server: TestServer;
  let client: Client;
  let informers: SharedInformerFactory;
  let runner: ControllerRunner;
  const controller = new DisruptionController();

  before(async () => {
    server = await startTestServer();
    installPodSubresources(server.api);
    client = new Client(new InProcessTransport(server.api.handle, { name: 'admin', groups: ['system:masters'] }), { maxThrottleRetries: 0 });
    informers = new SharedInformerFactory(server.client);
    runner = new ControllerRunner(server.client, defaultRegistry(), informers);
    await runner.start([controller]);
  });

  after(async () => {
    controller.stop();
    await runner.stop();
    await server.stop();
  });

  const pods = () => client.pods('default');
  const pdbs = () => client.podDisruptionBudgets('default');

  async function readyPod(name: string, labels: Record<string, string>, owner?: KubeObject): Promise<void> {
    const ownerReferences = owner ? [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true }] : undefined;
    const pod = await pods().create({ metadata: { name, labels, ownerReferences }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx' }] } });
    pod.status = { ...pod.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }] };
    await pods().updateStatus(pod);
  }

  const statusOf = async (name: string, check: (s: any) => boolean) =>
    waitFor(async () => {
      const s = (await pdbs().get(name)).status;
      return check(s) && s;
    }, 5000, `status of ${name}`);

  it('computes status for an integer minAvailable and lets evictions spend it', async () => {
    for (const n of ['a-0', 'a-1', 'a-2']) await readyPod(n, { app: 'a' });
    await pdbs().create({ metadata: { name: 'a' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'a' } } } });
    const s = await statusOf('a', (s) => s.observedGeneration === 1 && s.currentHealthy === 3);
    assert.deepEqual(
      { expected: s.expectedPods, desired: s.desiredHealthy, current: s.currentHealthy, allowed: s.disruptionsAllowed },
      { expected: 3, desired: 2, current: 3, allowed: 1 },
    );
    const cond = s.conditions.find((c: any) => c.type === 'DisruptionAllowed');
    assert.deepEqual([cond.status, cond.reason, cond.observedGeneration], ['True', 'SufficientPods', 1]);

    await pods().createSubresource('a-0', 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'a-0' } });
    const err = await pods()
      .createSubresource('a-1', 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'a-1' } })
      .catch((e: ApiError) => e);
    assert.ok(err instanceof ApiError && err.code === 429);
    assert.match(err.details?.causes?.[0]?.message ?? '', /^The disruption budget a needs 2 healthy pods and has 2 currently$/);
    // the terminating pod no longer counts, and its eviction is no longer pending
    const after = await statusOf('a', (s) => s.currentHealthy === 2 && !s.disruptedPods);
    assert.equal(after.disruptionsAllowed, 0);
  });

  it('uses the StatefulSet scale for maxUnavailable and percentages', async () => {
    const set = await client.statefulSets('default').create({
      metadata: { name: 'b' },
      spec: {
        replicas: 4,
        serviceName: 'b',
        selector: { matchLabels: { app: 'b' } },
        template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    });
    for (const n of ['b-0', 'b-1', 'b-2']) await readyPod(n, { app: 'b' }, set);
    await pdbs().create({ metadata: { name: 'b' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'b' } } } });
    const s = await statusOf('b', (s) => s.observedGeneration === 1);
    assert.deepEqual([s.expectedPods, s.desiredHealthy, s.currentHealthy, s.disruptionsAllowed], [4, 3, 3, 0]);
    await pdbs().create({ metadata: { name: 'b-pct' }, spec: { minAvailable: '50%', selector: { matchLabels: { app: 'b' } } } });
    const p = await statusOf('b-pct', (s) => s.observedGeneration === 1);
    assert.deepEqual([p.expectedPods, p.desiredHealthy, p.disruptionsAllowed], [4, 2, 1]);
  });

  it('fails safe when a pod has no controller to be found', async () => {
    await readyPod('c-0', { app: 'c' }, { metadata: { name: 'gone', uid: 'no-such-uid' } });
    await pdbs().create({ metadata: { name: 'c' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'c' } } } });
    const s = await statusOf('c', (s) => (s.conditions ?? []).some((c: any) => c.reason === 'SyncFailed'));
    const cond = s.conditions.find((c: any) => c.type === 'DisruptionAllowed');
    assert.deepEqual([cond.status, cond.message, s.disruptionsAllowed], ['False', 'found no controllers for pod "c-0"', 0]);
  });
});
