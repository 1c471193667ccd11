// pods/binding and pods/eviction against the real in-process API server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { installPodSubresources } from '../../src/apiserver/pod-subresources.js';
import { Client } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { rejection } from '../support/rejection.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
/** no automatic retries of 429, so the budget's answer is seen as it is */
let client: Client;

before(async () => {
  server = await startTestServer();
  installPodSubresources(server.api);
  client = new Client(new InProcessTransport(server.api.handle, { name: 'admin', groups: ['system:masters'] }), { maxThrottleRetries: 0 });
});

after(() => server.stop());

const pods = () => client.pods('default');
const pdbs = () => client.podDisruptionBudgets('default');

async function makePod(name: string, opts: { node?: string; ready?: boolean; labels?: Record<string, string>; phase?: string } = {}): Promise<KubeObject> {
  const pod = await pods().create({
    metadata: { name, labels: opts.labels ?? { app: 'web' } },
    spec: { nodeName: opts.node, containers: [{ name: 'c', image: 'nginx' }] },
  });
  if (opts.ready === undefined && !opts.phase) return pod;
  pod.status = {
    ...pod.status,
    phase: opts.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: opts.ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() }],
  };
  return pods().updateStatus(pod);
}

function bind(name: string, node: string, extra: Record<string, unknown> = {}) {
  return pods().createSubresource(name, 'binding', {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name, ...extra },
    target: { apiVersion: 'v1', kind: 'Node', name: node },
  });
}

function evict(name: string, body: Record<string, unknown> = {}, dryRun = false) {
  return pods().createSubresource(name, 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name }, ...body }, { dryRun });
}

async function makeBudget(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): Promise<KubeObject> {
  const pdb = await pdbs().create({ metadata: { name }, spec: { selector: { matchLabels: { app: 'web' } }, ...spec } });
  if (!status) return pdb;
  return pdbs().updateStatus({ ...pdb, status: { observedGeneration: 1, ...status } });
}

describe('pods/binding', () => {
  it('assigns the node, marks the pod scheduled and answers 201 Success', async () => {
    await makePod('bind-a');
    const res = await bind('bind-a', 'node-1', { annotations: { 'example.com/why': 'test' } });
    assert.deepEqual(res, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    const pod = await pods().get('bind-a');
    assert.equal(pod.spec.nodeName, 'node-1');
    assert.equal(pod.metadata.annotations?.['example.com/why'], 'test');
    const cond = pod.status.conditions.find((c: any) => c.type === 'PodScheduled');
    assert.equal(cond.status, 'True');
    assert.ok(cond.lastTransitionTime);
  });

  it('refuses a pod that already has a node with 409', async () => {
    const err = await rejection(bind('bind-a', 'node-2'));
    assert.equal(err.code, 409);
    assert.equal(err.reason, 'Conflict');
    assert.equal(err.message, 'Operation cannot be fulfilled on pods/binding "bind-a": pod bind-a is already assigned to node "node-1"');
  });

  it('checks the binding itself and its preconditions', async () => {
    await makePod('bind-b');
    let err = await rejection(
      pods().createSubresource('bind-b', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'other' }, target: { name: 'node-1' } }),
    );
    assert.equal(err.code, 400);
    assert.equal(err.message, 'name in URL does not match name in Binding object');
    err = await rejection(pods().createSubresource('bind-b', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-b' }, target: {} }));
    assert.equal(err.code, 500);
    assert.equal(err.message, 'target.name: Required value');
    err = await rejection(bind('bind-b', 'node-1', { uid: 'not-the-uid' }));
    assert.equal(err.code, 409);
    assert.match(err.message, /^Operation cannot be fulfilled on pods "bind-b": Precondition failed: UID in precondition: not-the-uid, UID in object meta: /);
    err = await rejection(bind('missing', 'node-1'));
    assert.equal(err.code, 404);
    assert.equal(err.message, 'pods "missing" not found');
  });

  it('dry run changes nothing', async () => {
    await pods().createSubresource('bind-b', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-b' }, target: { name: 'node-1' } }, { dryRun: true });
    assert.equal((await pods().get('bind-b')).spec.nodeName, undefined);
  });
});

describe('pods/eviction', () => {
  it('deletes a pod no budget covers, gracefully, marking it a disruption target', async () => {
    await makePod('ev-free', { node: 'node-1', ready: true, labels: { app: 'other' } });
    const res = await evict('ev-free');
    assert.deepEqual(res, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    const pod = await pods().get('ev-free');
    assert.ok(pod.metadata.deletionTimestamp, 'terminating');
    assert.equal(pod.metadata.deletionGracePeriodSeconds, 30);
    const cond = pod.status.conditions.find((c: any) => c.type === 'DisruptionTarget');
    assert.deepEqual([cond.status, cond.reason, cond.message], ['True', 'EvictionByEvictionAPI', 'Eviction API: evicting']);
  });

  it('honours deleteOptions and dry run', async () => {
    await makePod('ev-grace', { node: 'node-1', ready: true, labels: { app: 'other' } });
    await evict('ev-grace', {}, true);
    assert.equal((await pods().get('ev-grace')).metadata.deletionTimestamp, undefined);
    await evict('ev-grace', { deleteOptions: { gracePeriodSeconds: 0 } });
    await assert.rejects(pods().get('ev-grace'), /not found/);
  });

  it('answers 429 with the budget as cause when no disruption is allowed', async () => {
    await makePod('web-0', { node: 'node-1', ready: true });
    await makePod('web-1', { node: 'node-2', ready: true });
    await makeBudget('web-pdb', { minAvailable: 2 }, { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 });
    const res = await client.send({
      method: 'POST',
      path: '/api/v1/namespaces/default/pods/web-0/eviction',
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-0', namespace: 'default' } },
    }).catch((e: ApiError) => e);
    assert.ok(res instanceof ApiError);
    assert.deepEqual(res.toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      reason: 'TooManyRequests',
      details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 2 healthy pods and has 2 currently' }] },
      code: 429,
    });
    assert.equal((await pods().get('web-0')).metadata.deletionTimestamp, undefined);
  });

  it('answers 429 with retryAfterSeconds while the budget has not been processed', async () => {
    const pdb = await pdbs().get('web-pdb');
    await pdbs().update({ ...pdb, spec: { ...pdb.spec, minAvailable: 1 } });
    const err = await rejection(evict('web-0'));
    assert.equal(err.code, 429);
    assert.equal(err.details?.retryAfterSeconds, 10);
    assert.deepEqual(err.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web-pdb is still being processed by the server.' }]);
  });

  it('spends an allowed disruption and records the pod', async () => {
    const pdb = await pdbs().get('web-pdb');
    await pdbs().updateStatus({
      ...pdb,
      status: { observedGeneration: 2, disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, conditions: [] },
    });
    await evict('web-0');
    assert.ok((await pods().get('web-0')).metadata.deletionTimestamp);
    const after = await pdbs().get('web-pdb');
    assert.equal(after.status.disruptionsAllowed, 0);
    assert.ok(after.status.disruptedPods['web-0']);
    const cond = after.status.conditions.find((c: any) => c.type === 'DisruptionAllowed');
    assert.deepEqual([cond.status, cond.reason], ['False', 'InsufficientPods']);
    // the budget is now spent
    assert.equal((await rejection(evict('web-1'))).code, 429);
  });

  it('lets an unready pod go when the budget is met, and any pending or terminating pod', async () => {
    const pdb = await pdbs().get('web-pdb');
    await pdbs().updateStatus({ ...pdb, status: { ...pdb.status, currentHealthy: 1, desiredHealthy: 1, disruptionsAllowed: 0 } });
    await makePod('web-2', { node: 'node-3', ready: false });
    await evict('web-2');
    assert.ok((await pods().get('web-2')).metadata.deletionTimestamp);
    await makePod('web-3');
    await evict('web-3');
    await assert.rejects(pods().get('web-3'), /not found/);
  });

  it('refuses a pod covered by two budgets with 500 and no reason', async () => {
    await makeBudget('web-pdb-2', { maxUnavailable: 1 }, { disruptionsAllowed: 1 });
    const res = await client.transport.request({
      method: 'POST',
      path: '/api/v1/namespaces/default/pods/web-1/eviction',
      query: new URLSearchParams(),
      headers: { 'content-type': 'application/json' },
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-1' } },
    });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      code: 500,
    });
  });

  it('checks the eviction body', async () => {
    let err = await rejection(pods().createSubresource('web-1', 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web-9' } }));
    assert.equal(err.message, 'name in URL does not match name in Eviction object');
    err = await rejection(client.request({ method: 'GET', path: '/api/v1/namespaces/default/pods/web-1/eviction' }));
    assert.equal(err.code, 405);
    err = await rejection(evict('nobody'));
    assert.equal(err.message, 'pods "nobody" not found');
  });
});
