// Leader election over a real API server (in-process): the decision rules, one leader among
// candidates, release on stop, and a take-over once a silent leader's lease runs out.
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { leaseAction, leaseRecord, startLeaderElection, type LeaderElector } from '../../src/client/leaderelection.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

describe('leader election: decisions', () => {
  test('create, renew, follow and take over', () => {
    const held = { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2026-01-01T00:00:00.000000Z' };
    assert.equal(leaseAction(undefined, 'b', 0, 1000), 'create');
    assert.equal(leaseAction(held, 'a', 0, 1000), 'renew');
    // the holder's own timestamps do not count, only when this candidate saw them change
    assert.equal(leaseAction(held, 'b', 10_000, 24_999), 'follow');
    assert.equal(leaseAction(held, 'b', 10_000, 25_000), 'takeover');
    assert.equal(leaseAction({ ...held, holderIdentity: '' }, 'b', 10_000, 10_001), 'takeover');
  });

  test('records count transitions and keep the acquire time of a renewing holder', () => {
    const now = new Date('2026-01-01T00:00:10.000Z');
    const first = leaseRecord(undefined, 'a', 15_000, now);
    assert.deepEqual(first, { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:10.000000Z', renewTime: '2026-01-01T00:00:10.000000Z', leaseTransitions: 0 });
    const renewed = leaseRecord(first, 'a', 15_000, new Date('2026-01-01T00:00:12.000Z'));
    assert.equal(renewed.acquireTime, first.acquireTime);
    assert.equal(renewed.leaseTransitions, 0);
    const taken = leaseRecord(renewed, 'b', 15_000, new Date('2026-01-01T00:00:40.000Z'));
    assert.equal(taken.acquireTime, '2026-01-01T00:00:40.000000Z');
    assert.equal(taken.leaseTransitions, 1);
  });
});

describe('leader election: candidates on one API server', () => {
  let server: TestServer;
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop();
    await server?.stop();
  });

  function candidate(identity: string, events: string[]) {
    const e = startLeaderElection(server.client, {
      name: 'kube-controller-manager',
      identity,
      leaseDurationMs: 1000,
      renewDeadlineMs: 600,
      retryPeriodMs: 100,
      onStartedLeading: () => void events.push(`${identity} leads`),
      onStoppedLeading: () => void events.push(`${identity} stops`),
    });
    electors.push(e);
    return e;
  }

  test('one of three leads; stopping it hands over to another at once', async () => {
    server = await startTestServer();
    const events: string[] = [];
    const cs = ['a', 'b', 'c'].map((id) => candidate(id, events));
    await waitFor(() => cs.some((c) => c.leading), 5000, 'a leader');
    // a few renewal rounds later there is still exactly one
    const lease = await server.client.leases('kube-system').get('kube-controller-manager');
    await waitFor(async () => (await server.client.leases('kube-system').get('kube-controller-manager')).spec.renewTime !== lease.spec.renewTime, 5000, 'a renewal');
    assert.equal(cs.filter((c) => c.leading).length, 1);
    const leader = cs.find((c) => c.leading)!;
    const leaderId = lease.spec.holderIdentity;
    await leader.stop();
    electors.splice(electors.indexOf(leader), 1);
    assert.ok(events.includes(`${leaderId} stops`));
    await waitFor(() => cs.some((c) => c !== leader && c.leading), 5000, 'the next leader');
    const next = await server.client.leases('kube-system').get('kube-controller-manager');
    assert.notEqual(next.spec.holderIdentity, leaderId);
    assert.equal(next.spec.leaseTransitions, 1);
  });

  test('a leader that went silent is replaced once its lease duration has passed', async () => {
    server = await startTestServer();
    const events: string[] = [];
    // a holder that wrote the Lease once and then died (no one renews it)
    await server.client.leases('kube-system').create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'kube-controller-manager', namespace: 'kube-system' },
      spec: leaseRecord(undefined, 'dead', 1000, new Date()),
    });
    const started = Date.now();
    const b = candidate('b', events);
    await waitFor(() => b.leading, 5000, 'b takes over');
    assert.ok(Date.now() - started >= 1000, 'not before the lease duration ran out');
    assert.deepEqual(events, ['b leads']);
  });
});
