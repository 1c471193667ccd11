// computePodActions and podStatus with plain objects: no runtime, no timers, no server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import {
  addEphemeralContainers,
  adoptContainers,
  computePodActions,
  initialRecord,
  killDeadline,
  nextBackOff,
  podStatus,
  recordStartFailure,
  startErrorReason,
  type ContainerRecord,
  type PodAction,
  type PodRecord,
} from '../../src/agent/pod-actions.js';

type Obj = Record<string, any>;

const NOW = Date.parse('2026-01-01T00:00:00Z');
const STAMP = '2026-01-01T00:00:00Z';
const BACKOFF = { initialMs: 10_000, maxMs: 300_000 };
const CTX = { hostIP: '127.0.0.1', runtimeType: 'petset-sim', currentConditions: [] };

function pod(spec: Obj = {}, metadata: Obj = {}): KubeObject {
  return {
    metadata: { name: 'web-0', namespace: 'default', uid: 'u1', ...metadata },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }], ...spec },
  };
}

/** A record as the worker has it once admitted and the sandbox exists. */
function active(p: KubeObject, extra: Partial<PodRecord> = {}): PodRecord {
  const rec = initialRecord(p, NOW, STAMP);
  return Object.assign(rec, { phase: 'active', sandbox: 'ready', startTime: STAMP, ip: '127.64.0.2' }, extra);
}

function running(c: ContainerRecord, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return Object.assign(c, { running: true, started: true, instances: Math.max(1, c.instances), id: `id-${c.name}`, startedAt: STAMP, postStart: 'done' }, extra);
}

function exited(c: ContainerRecord, exitCode: number, at = NOW, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return Object.assign(c, { running: false, started: false, instances: Math.max(1, c.instances), id: `id-${c.name}`, exited: { exitCode, reason: exitCode ? 'Error' : 'Completed', finishedAt: STAMP }, exitedAt: at }, extra);
}

const decide = (p: KubeObject, rec: PodRecord, now = NOW) => computePodActions(p, rec, now, BACKOFF);
const types = (actions: PodAction[]) => actions.map((a) => ('name' in a ? `${a.type} ${a.name}` : a.type));

describe('computePodActions: starting', () => {
  it('does nothing before admission', () => {
    const p = pod();
    assert.deepEqual(decide(p, initialRecord(p, NOW, STAMP)).actions, []);
  });

  it('creates the sandbox first, and waits while it is being created', () => {
    const p = pod();
    assert.deepEqual(types(decide(p, active(p, { sandbox: 'none' })).actions), ['CreateSandbox']);
    assert.deepEqual(decide(p, active(p, { sandbox: 'creating' })).actions, []);
  });

  it('retries a failed sandbox only after its back-off, waking then', () => {
    const p = pod();
    const plan = decide(p, active(p, { sandbox: 'none', sandboxRetryAt: NOW + 500 }));
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.wakeAt, NOW + 500);
    assert.deepEqual(types(decide(p, active(p, { sandbox: 'none', sandboxRetryAt: NOW + 500 }), NOW + 500).actions), ['CreateSandbox']);
  });

  it('starts all regular containers together', () => {
    const p = pod({ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] });
    assert.deepEqual(types(decide(p, active(p)).actions), ['StartContainer a', 'StartContainer b']);
  });

  it('waits for a container whose start is in flight', () => {
    const p = pod();
    const rec = active(p);
    rec.regular[0].starting = true;
    assert.deepEqual(decide(p, rec).actions, []);
  });

  it('runs init containers one at a time, in order, then marks the pod initialized', () => {
    const p = pod({ initContainers: [{ name: 'i1', image: 'x' }, { name: 'i2', image: 'x' }] });
    const rec = active(p);
    assert.equal(rec.initialized, false);
    assert.deepEqual(types(decide(p, rec).actions), ['StartContainer i1']);
    rec.inits[0].starting = true;
    assert.deepEqual(decide(p, rec).actions, []);
    rec.inits[0].starting = false;
    running(rec.inits[0]);
    assert.deepEqual(decide(p, rec).actions, [], 'the next waits for the first to complete');
    exited(rec.inits[0], 0);
    assert.deepEqual(types(decide(p, rec).actions), ['StartContainer i2']);
    exited(rec.inits[1], 0);
    assert.deepEqual(types(decide(p, rec).actions), ['MarkInitialized', 'StartContainer app']);
  });

  it('restarts a failed init container under the crash-loop back-off, and fails the pod with restartPolicy Never', () => {
    const p = pod({ initContainers: [{ name: 'i1', image: 'x' }] });
    const rec = active(p);
    exited(rec.inits[0], 1);
    assert.deepEqual(types(decide(p, rec).actions), ['StartContainer i1']);
    const never = pod({ restartPolicy: 'Never', initContainers: [{ name: 'i1', image: 'x' }] });
    const r2 = active(never);
    exited(r2.inits[0], 1);
    assert.deepEqual(types(decide(never, r2).actions), ['BeginTermination']);
  });

  it('lets the next init container start once a sidecar has started, and keeps sidecars running after', () => {
    const p = pod({ initContainers: [{ name: 'side', image: 'x', restartPolicy: 'Always' }, { name: 'i2', image: 'x' }] });
    const rec = active(p);
    assert.deepEqual(types(decide(p, rec).actions), ['StartContainer side']);
    running(rec.inits[0], { started: false });
    assert.deepEqual(decide(p, rec).actions, [], 'not started yet (startup probe)');
    rec.inits[0].started = true;
    assert.deepEqual(types(decide(p, rec).actions), ['StartContainer i2']);
    exited(rec.inits[1], 0);
    assert.deepEqual(types(decide(p, rec).actions), ['MarkInitialized', 'StartContainer app']);
    rec.initialized = true;
    exited(rec.inits[0], 1);
    running(rec.regular[0]);
    assert.deepEqual(types(decide(p, rec).actions), ['StartContainer side'], 'a sidecar restarts whatever its exit');
  });

  it('runs postStart before the probes, and probes only containers that have some', () => {
    const p = pod({ containers: [{ name: 'app', image: 'x', lifecycle: { postStart: { exec: { command: ['true'] } } }, readinessProbe: { exec: { command: ['true'] } } }, { name: 'plain', image: 'x' }] });
    const rec = active(p);
    running(rec.regular[0], { postStart: 'pending' });
    running(rec.regular[1]);
    assert.deepEqual(types(decide(p, rec).actions), ['RunPostStart app']);
    rec.regular[0].postStart = 'running';
    assert.deepEqual(decide(p, rec).actions, []);
    rec.regular[0].postStart = 'done';
    assert.deepEqual(types(decide(p, rec).actions), ['StartProbes app']);
    rec.regular[0].probing = true;
    assert.deepEqual(decide(p, rec).actions, []);
  });

  it('does not probe plain init containers', () => {
    const p = pod({ initContainers: [{ name: 'i1', image: 'x', readinessProbe: { exec: { command: ['true'] } } }] });
    const rec = active(p);
    running(rec.inits[0]);
    assert.deepEqual(decide(p, rec).actions, []);
  });
});

describe('computePodActions: restarts and back-off', () => {
  it('restarts by restartPolicy: Always always, OnFailure on failure, Never not', () => {
    for (const [policy, code, want] of [
      ['Always', 0, 'StartContainer app'],
      ['Always', 1, 'StartContainer app'],
      ['OnFailure', 1, 'StartContainer app'],
      ['OnFailure', 0, 'BeginTermination'],
      ['Never', 1, 'BeginTermination'],
      ['Never', 0, 'BeginTermination'],
    ] as const) {
      const p = pod({ restartPolicy: policy });
      const rec = active(p);
      exited(rec.regular[0], code);
      assert.deepEqual(types(decide(p, rec).actions), [want], `${policy} exit ${code}`);
    }
  });

  it('restarts the first time at once, then waits out a doubling back-off (CrashLoopBackOff)', () => {
    const p = pod();
    const rec = active(p);
    exited(rec.regular[0], 1);
    const first = decide(p, rec).actions[0];
    assert.deepEqual(first, { type: 'StartContainer', name: 'app', backOff: { periodMs: 10_000, updatedAt: NOW } });
    rec.regular[0].backOff = { periodMs: 10_000, updatedAt: NOW };
    exited(rec.regular[0], 1, NOW + 1000);
    const plan = decide(p, rec, NOW + 1000);
    assert.equal(plan.wakeAt, NOW + 11_000);
    assert.deepEqual(plan.actions, [
      {
        type: 'BackOff',
        name: 'app',
        waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=app pod=web-0_default(u1)' },
        events: [{ type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container app in pod web-0_default(u1)' }],
      },
    ]);
    rec.regular[0].waiting = { reason: 'CrashLoopBackOff', message: '' };
    assert.deepEqual(decide(p, rec, NOW + 2000).actions, [], 'the back-off is entered once');
    assert.deepEqual(decide(p, rec, NOW + 11_000).actions, [{ type: 'StartContainer', name: 'app', backOff: { periodMs: 20_000, updatedAt: NOW + 11_000 } }]);
  });

  it('caps the back-off at the max and forgets it after twice the max without a crash', () => {
    const p = pod();
    const rec = active(p);
    exited(rec.regular[0], 1, NOW + 400_000);
    rec.regular[0].backOff = { periodMs: 300_000, updatedAt: NOW + 400_000 };
    assert.deepEqual(decide(p, rec, NOW + 700_000).actions, [{ type: 'StartContainer', name: 'app', backOff: { periodMs: 300_000, updatedAt: NOW + 700_000 } }]);
    rec.regular[0].backOff = { periodMs: 300_000, updatedAt: NOW };
    exited(rec.regular[0], 1, NOW + 700_000);
    assert.deepEqual(decide(p, rec, NOW + 700_000).actions, [{ type: 'StartContainer', name: 'app', backOff: { periodMs: 10_000, updatedAt: NOW + 700_000 } }]);
  });

  it('kills a container whose liveness probe failed, with the probe grace period or the pod one', () => {
    const p = pod({ terminationGracePeriodSeconds: 7 });
    const rec = active(p);
    running(rec.regular[0], { unhealthy: { message: 'Container app failed liveness probe, will be restarted' } });
    assert.deepEqual(decide(p, rec).actions, [{ type: 'KillContainer', name: 'app', deadline: NOW + 7000, message: 'Container app failed liveness probe, will be restarted' }]);
    rec.regular[0].unhealthy = { message: 'm', graceSeconds: 1 };
    assert.equal((decide(p, rec).actions[0] as { deadline: number }).deadline, NOW + 1000);
    rec.regular[0].stopping = true;
    assert.deepEqual(decide(p, rec).actions, [], 'a kill in flight is not repeated');
  });

  it('nextBackOff doubles up to the max and resets after 2×max quiet', () => {
    assert.deepEqual(nextBackOff(undefined, NOW, BACKOFF), { periodMs: 10_000, updatedAt: NOW });
    assert.deepEqual(nextBackOff({ periodMs: 10_000, updatedAt: NOW }, NOW + 1, BACKOFF), { periodMs: 20_000, updatedAt: NOW + 1 });
    assert.deepEqual(nextBackOff({ periodMs: 200_000, updatedAt: NOW }, NOW + 1, BACKOFF), { periodMs: 300_000, updatedAt: NOW + 1 });
    assert.deepEqual(nextBackOff({ periodMs: 200_000, updatedAt: NOW }, NOW + 600_001, BACKOFF), { periodMs: 10_000, updatedAt: NOW + 600_001 });
  });
});

describe('start errors', () => {
  const err = (reason: string, message: string) => Object.assign(new Error(message), { reason });

  it('reads the reason off the error; anything unnamed is a RunContainerError', () => {
    assert.equal(startErrorReason(err('ErrImagePull', 'x')), 'ErrImagePull');
    assert.equal(startErrorReason(err('CreateContainerConfigError', 'x')), 'CreateContainerConfigError');
    assert.equal(startErrorReason(new Error('boom')), 'RunContainerError');
    assert.equal(startErrorReason(err('Bogus', 'x')), 'RunContainerError');
    assert.equal(startErrorReason('text'), 'RunContainerError');
  });

  it('ErrImagePull: waiting with the runtime text, upstream events, then ImagePullBackOff until the retry', () => {
    const p = pod({ containers: [{ name: 'app', image: 'does-not-exist:1' }] });
    const rec = active(p);
    const c = rec.regular[0];
    const events = recordStartFailure(c, 'ErrImagePull', 'not found', NOW, STAMP, BACKOFF);
    assert.deepEqual(events, [
      { type: 'Warning', reason: 'Failed', message: 'Failed to pull image "does-not-exist:1": not found' },
      { type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull' },
    ]);
    assert.deepEqual(c.waiting, { reason: 'ErrImagePull', message: 'not found' });
    assert.equal(c.restartCount, 0);
    assert.equal(c.instances, 0);
    const plan = decide(p, rec, NOW + 1);
    assert.equal(plan.wakeAt, NOW + 10_000);
    assert.deepEqual(plan.actions, [
      {
        type: 'BackOff',
        name: 'app',
        waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "does-not-exist:1"' },
        events: [
          { type: 'Normal', reason: 'BackOff', message: 'Back-off pulling image "does-not-exist:1"' },
          { type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff' },
        ],
      },
    ]);
    c.waiting = plan.actions[0].type === 'BackOff' ? plan.actions[0].waiting : undefined;
    assert.deepEqual(decide(p, rec, NOW + 2).actions, []);
    assert.deepEqual(decide(p, rec, NOW + 10_000).actions, [{ type: 'StartContainer', name: 'app' }]);
    // the next failure doubles the wait
    recordStartFailure(c, 'ErrImagePull', 'not found', NOW + 10_000, STAMP, BACKOFF);
    assert.equal(c.startFailure?.retryAt, NOW + 30_000);
  });

  it('a pod whose image cannot be pulled is Pending and not Ready', () => {
    const p = pod({ containers: [{ name: 'app', image: 'does-not-exist:1' }] });
    const rec = active(p);
    recordStartFailure(rec.regular[0], 'ErrImagePull', 'not found', NOW, STAMP, BACKOFF);
    rec.regular[0].waiting = { reason: 'ImagePullBackOff', message: 'Back-off pulling image "does-not-exist:1"' };
    const s = podStatus(p, rec, CTX, STAMP)!;
    assert.equal(s.phase, 'Pending');
    assert.deepEqual(s.containerStatuses[0].state, { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "does-not-exist:1"' } });
    assert.equal(s.containerStatuses[0].ready, false);
    assert.equal(s.containerStatuses[0].imageID, '');
    assert.equal(s.conditions.find((c: Obj) => c.type === 'Ready').status, 'False');
  });

  it('CreateContainerConfigError: waiting with the message, retried without ImagePullBackOff', () => {
    const p = pod();
    const rec = active(p);
    const c = rec.regular[0];
    const events = recordStartFailure(c, 'CreateContainerConfigError', 'configmap "cfg" not found', NOW, STAMP, BACKOFF);
    assert.deepEqual(events, [{ type: 'Warning', reason: 'Failed', message: 'Error: configmap "cfg" not found' }]);
    assert.deepEqual(decide(p, rec, NOW + 1).actions, []);
    assert.deepEqual(podStatus(p, rec, CTX, STAMP)!.containerStatuses[0].state, { waiting: { reason: 'CreateContainerConfigError', message: 'configmap "cfg" not found' } });
    assert.deepEqual(decide(p, rec, NOW + 10_000).actions, [{ type: 'StartContainer', name: 'app' }]);
  });

  it('a start failure of a restartPolicy Never pod is retried, not fatal (nothing ran)', () => {
    const p = pod({ restartPolicy: 'Never' });
    const rec = active(p);
    recordStartFailure(rec.regular[0], 'CreateContainerError', 'no such file', NOW, STAMP, BACKOFF);
    assert.deepEqual(decide(p, rec, NOW + 10_000).actions, [{ type: 'StartContainer', name: 'app' }]);
  });

  it('RunContainerError: an instance that ended at once (exit 128), restarted under the crash-loop back-off', () => {
    const p = pod();
    const rec = active(p);
    const c = rec.regular[0];
    const events = recordStartFailure(c, 'RunContainerError', 'exec: "nope": not found', NOW, STAMP, BACKOFF);
    assert.deepEqual(events, [{ type: 'Warning', reason: 'Failed', message: 'Error: exec: "nope": not found' }]);
    const s = podStatus(p, rec, CTX, STAMP)!.containerStatuses[0];
    assert.deepEqual(s.state, { waiting: { reason: 'RunContainerError', message: 'exec: "nope": not found' } });
    assert.equal(s.lastState.terminated.exitCode, 128);
    assert.equal(s.lastState.terminated.reason, 'StartError');
    assert.equal(decide(p, rec, NOW).actions[0].type, 'StartContainer');
    const never = pod({ restartPolicy: 'Never' });
    const r2 = active(never);
    recordStartFailure(r2.regular[0], 'RunContainerError', 'x', NOW, STAMP, BACKOFF);
    assert.deepEqual(types(decide(never, r2).actions), ['BeginTermination']);
  });
});

describe('computePodActions: termination', () => {
  it('begins termination when the pod is deleted, with the deletion grace period as deadline', () => {
    const deletedAt = new Date(NOW + 5000).toISOString();
    const p = pod({}, { deletionTimestamp: deletedAt, deletionGracePeriodSeconds: 5 });
    const rec = active(p);
    running(rec.regular[0]);
    assert.deepEqual(decide(p, rec).actions, [{ type: 'BeginTermination', deadline: NOW + 5000 }]);
    rec.apiGone = true;
    assert.deepEqual(decide(p, rec).actions, [{ type: 'BeginTermination', deadline: NOW }], 'gone from the API: at once');
  });

  it('kills regular containers together, then sidecars in reverse order, then removes the sandbox', () => {
    const p = pod({ initContainers: [{ name: 's1', image: 'x', restartPolicy: 'Always' }, { name: 's2', image: 'x', restartPolicy: 'Always' }], containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x' }] });
    const rec = active(p, { phase: 'terminating', killDeadline: NOW + 30_000, initialized: true });
    for (const c of [...rec.inits, ...rec.regular]) running(c);
    assert.deepEqual(types(decide(p, rec).actions), ['KillContainer a', 'KillContainer b']);
    rec.regular[0].stopping = true;
    rec.regular[1].stopping = true;
    assert.deepEqual(decide(p, rec).actions, []);
    for (const c of rec.regular) exited(c, 143, NOW, { stopping: false });
    assert.deepEqual(types(decide(p, rec).actions), ['KillContainer s2']);
    exited(rec.inits[1], 143);
    assert.deepEqual(types(decide(p, rec).actions), ['KillContainer s1']);
    exited(rec.inits[0], 143);
    assert.deepEqual(types(decide(p, rec).actions), ['RemoveSandbox']);
    rec.sandbox = 'removing';
    assert.deepEqual(decide(p, rec).actions, []);
    rec.sandbox = 'none';
    assert.deepEqual(types(decide(p, rec).actions), ['Terminated']);
  });

  it('does not wait for a container that never started: the sandbox goes at once', () => {
    const p = pod({}, { deletionTimestamp: new Date(NOW + 30_000).toISOString(), deletionGracePeriodSeconds: 30 });
    const rec = active(p, { phase: 'terminating', killDeadline: NOW + 30_000 });
    rec.regular[0].starting = true;
    assert.deepEqual(types(decide(p, rec).actions), ['RemoveSandbox']);
    const pulling = active(p, { phase: 'terminating', killDeadline: NOW + 30_000 });
    recordStartFailure(pulling.regular[0], 'ErrImagePull', 'x', NOW, STAMP, BACKOFF);
    assert.deepEqual(types(decide(p, pulling).actions), ['RemoveSandbox']);
  });

  it('waits for a sandbox still being created before finishing', () => {
    const p = pod({}, { deletionTimestamp: STAMP });
    assert.deepEqual(decide(p, active(p, { phase: 'terminating', killDeadline: NOW, sandbox: 'creating' })).actions, []);
    assert.deepEqual(types(decide(p, active(p, { phase: 'terminating', killDeadline: NOW, sandbox: 'none' })).actions), ['Terminated']);
  });

  it('a pod gone from the API mid-termination is killed at once', () => {
    const p = pod();
    const rec = active(p, { phase: 'terminating', killDeadline: NOW + 30_000, apiGone: true });
    running(rec.regular[0]);
    assert.deepEqual(decide(p, rec, NOW + 10).actions, [{ type: 'KillContainer', name: 'app', deadline: NOW + 10, message: 'Stopping container app' }]);
  });

  it('after termination: confirms a deletion once, or finishes when the pod is gone', () => {
    const p = pod({}, { deletionTimestamp: STAMP });
    const rec = active(p, { phase: 'terminated', sandbox: 'none' });
    assert.deepEqual(types(decide(p, rec).actions), ['ConfirmDeletion']);
    rec.confirming = true;
    assert.deepEqual(decide(p, rec).actions, []);
    rec.apiGone = true;
    assert.deepEqual(types(decide(p, rec).actions), ['Finish']);
    rec.finished = true;
    assert.deepEqual(decide(p, rec).actions, []);
    assert.deepEqual(decide(pod(), active(pod(), { phase: 'terminated', sandbox: 'none' })).actions, [], 'a pod that just completed stays');
  });

  it('fails a pod past its activeDeadlineSeconds, and wakes when it will be', () => {
    const p = pod({ activeDeadlineSeconds: 60 });
    const rec = active(p);
    running(rec.regular[0]);
    assert.equal(decide(p, rec).wakeAt, NOW + 60_000);
    assert.deepEqual(decide(p, rec, NOW + 60_000).actions, [
      { type: 'Fail', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' },
      { type: 'BeginTermination', deadline: NOW + 60_000 + 30_000 },
    ]);
  });

  it('killDeadline: the sooner of the deletion timestamp and now + grace, never in the past', () => {
    const p = pod({ terminationGracePeriodSeconds: 10 });
    assert.equal(killDeadline(p, false, NOW), NOW + 10_000);
    assert.equal(killDeadline(pod({}, { deletionTimestamp: new Date(NOW + 3000).toISOString(), deletionGracePeriodSeconds: 3 }), false, NOW), NOW + 3000);
    assert.equal(killDeadline(pod({}, { deletionTimestamp: new Date(NOW - 3000).toISOString(), deletionGracePeriodSeconds: 3 }), false, NOW), NOW);
    assert.equal(killDeadline(p, true, NOW), NOW);
  });
});

describe('podStatus', () => {
  it('is undefined before admission; a rejected pod shows only phase, reason and message', () => {
    const p = pod();
    assert.equal(podStatus(p, initialRecord(p, NOW, STAMP), CTX, STAMP), undefined);
    const rec = active(p, { phase: 'terminated', failure: { reason: 'NodePorts', message: 'Pod was rejected: x', rejected: true } });
    assert.deepEqual(podStatus(p, rec, CTX, STAMP), { phase: 'Failed', reason: 'NodePorts', message: 'Pod was rejected: x' });
  });

  it('shows ContainerCreating, then Running and Ready, with the pod IP', () => {
    const p = pod();
    const rec = active(p);
    let s = podStatus(p, rec, CTX, STAMP)!;
    assert.equal(s.phase, 'Pending');
    assert.deepEqual(s.containerStatuses[0].state, { waiting: { reason: 'ContainerCreating' } });
    assert.equal(s.podIP, '127.64.0.2');
    running(rec.regular[0]);
    s = podStatus(p, rec, CTX, STAMP)!;
    assert.equal(s.phase, 'Running');
    assert.equal(s.containerStatuses[0].ready, true);
    assert.equal(s.containerStatuses[0].containerID, 'petset-sim://id-app');
    assert.equal(s.conditions.find((c: Obj) => c.type === 'Ready').status, 'True');
  });

  it('keeps a container not ready until its readiness probe succeeds', () => {
    const p = pod({ containers: [{ name: 'app', image: 'x', readinessProbe: { exec: { command: ['true'] } } }] });
    const rec = active(p);
    running(rec.regular[0]);
    assert.equal(podStatus(p, rec, CTX, STAMP)!.containerStatuses[0].ready, false);
    rec.regular[0].readiness = 'success';
    assert.equal(podStatus(p, rec, CTX, STAMP)!.containerStatuses[0].ready, true);
  });

  it('shows PodInitializing for regular containers while init containers run', () => {
    const p = pod({ initContainers: [{ name: 'i1', image: 'x' }] });
    const rec = active(p);
    running(rec.inits[0]);
    const s = podStatus(p, rec, CTX, STAMP)!;
    assert.deepEqual(s.containerStatuses[0].state, { waiting: { reason: 'PodInitializing' } });
    assert.equal(s.conditions.find((c: Obj) => c.type === 'Initialized').message, 'containers with incomplete status: [i1]');
  });

  it('a crash-looping container shows the back-off with the last exit as lastState', () => {
    const p = pod();
    const rec = active(p);
    exited(rec.regular[0], 3, NOW, { restartCount: 2, waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s ...' } });
    const s = podStatus(p, rec, CTX, STAMP)!;
    assert.equal(s.phase, 'Running');
    assert.equal(s.containerStatuses[0].state.waiting.reason, 'CrashLoopBackOff');
    assert.equal(s.containerStatuses[0].lastState.terminated.exitCode, 3);
    assert.equal(s.containerStatuses[0].restartCount, 2);
  });

  it('a terminated pod reports containers that never ended as ContainerStatusUnknown, phase Failed', () => {
    const p = pod();
    const rec = active(p, { phase: 'terminated', sandbox: 'none' });
    const s = podStatus(p, rec, CTX, STAMP)!;
    assert.equal(s.phase, 'Failed');
    assert.equal(s.containerStatuses[0].state.terminated.reason, 'ContainerStatusUnknown');
  });

  it('a pod that outlived its deadline is Failed with DeadlineExceeded', () => {
    const p = pod();
    const rec = active(p, { failure: { reason: 'DeadlineExceeded', message: 'm', rejected: false } });
    running(rec.regular[0]);
    const s = podStatus(p, rec, CTX, STAMP)!;
    assert.equal(s.phase, 'Failed');
    assert.equal(s.reason, 'DeadlineExceeded');
  });
});

describe('initialRecord', () => {
  it('brings containers of an earlier run back as restarts; the new sandbox runs the init containers again first', () => {
    const p = pod({ initContainers: [{ name: 'i1', image: 'x' }] });
    p.status = {
      initContainerStatuses: [{ name: 'i1', containerID: 'petset-sim://a', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
      containerStatuses: [{ name: 'app', containerID: 'petset-sim://b', restartCount: 4, imageID: 'img', state: { running: { startedAt: STAMP } } }],
    };
    const rec = initialRecord(p, NOW, STAMP);
    assert.equal(rec.inits[0].exited, undefined);
    assert.equal(rec.inits[0].lastTerminated?.exitCode, 0, 'the earlier run, as its last state');
    assert.equal(rec.regular[0].exited?.reason, 'Unknown');
    assert.equal(rec.regular[0].restartCount, 4);
    Object.assign(rec, { phase: 'active', sandbox: 'ready' });
    assert.deepEqual(types(decide(p, rec).actions), ['StartContainer i1']);
    Object.assign(rec.inits[0], { instances: 2, exited: { exitCode: 0, reason: 'Completed' } });
    assert.deepEqual(types(decide(p, rec).actions), ['MarkInitialized', 'StartContainer app']);
  });
});

describe('adoptContainers (an agent restart)', () => {
  const spec = { initContainers: [{ name: 'i1', image: 'x' }], containers: [{ name: 'app', image: 'nginx:1.25', readinessProbe: { exec: { command: ['true'] } } }, { name: 'side', image: 'y' }] };
  const status = () => ({
    initContainerStatuses: [{ name: 'i1', containerID: 'petset://a', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
    containerStatuses: [
      { name: 'app', containerID: 'petset://b', restartCount: 2, ready: true, started: true, state: { running: { startedAt: STAMP } }, lastState: { terminated: { exitCode: 1, reason: 'Error', containerID: 'petset://old' } } },
      { name: 'side', containerID: 'petset://c', restartCount: 0, ready: true, started: true, state: { running: { startedAt: STAMP } } },
    ],
  });
  const at = new Date(NOW - 60_000);

  it('keeps running instances as they were: no restart, same id, start time, restart count and readiness; probes start again', () => {
    const p = pod(spec);
    p.status = status();
    const rec = initialRecord(p, NOW, STAMP);
    adoptContainers(p, rec, [
      { id: 'a', name: 'i1', startedAt: new Date(NOW - 120_000), exit: { exitCode: 0, reason: 'Completed', finishedAt: new Date(NOW - 110_000) } },
      { id: 'old', name: 'app', startedAt: new Date(NOW - 100_000), exit: { exitCode: 1, reason: 'Error', finishedAt: at } },
      { id: 'b', name: 'app', startedAt: at },
      { id: 'c', name: 'side', startedAt: at },
    ], 'petset');
    Object.assign(rec, { phase: 'active', sandbox: 'ready' });
    const app = rec.regular[0];
    assert.equal(app.running, true);
    assert.equal(app.id, 'b');
    assert.equal(app.restartCount, 2);
    assert.equal(app.startedAt, '2025-12-31T23:59:00Z');
    assert.equal(app.readiness, 'success');
    assert.equal(app.lastTerminated?.containerID, 'petset://old');
    assert.deepEqual(types(decide(p, rec).actions), ['StartProbes app', 'MarkInitialized']);
    const s = podStatus(p, rec, { ...CTX, runtimeType: 'petset' }, STAMP)!;
    assert.equal(s.containerStatuses[0].ready, true);
    assert.equal(s.containerStatuses[0].containerID, 'petset://b');
  });

  it('an instance that ended while no agent watched is restarted as any ended container; one the status never showed counts as a restart', () => {
    const p = pod(spec);
    p.status = status();
    const rec = initialRecord(p, NOW, STAMP);
    adoptContainers(p, rec, [
      { id: 'a', name: 'i1', startedAt: new Date(NOW - 120_000), exit: { exitCode: 0, reason: 'Completed', finishedAt: new Date(NOW - 110_000) } },
      { id: 'b', name: 'app', startedAt: at, exit: { exitCode: 137, reason: 'Error', signal: 9, finishedAt: new Date(NOW - 1000) } },
      { id: 'd', name: 'side', startedAt: at },
    ], 'petset');
    Object.assign(rec, { phase: 'active', sandbox: 'ready', initialized: true });
    assert.deepEqual(rec.regular[0].exited, { exitCode: 137, reason: 'Error', signal: 9, startedAt: '2025-12-31T23:59:00Z', finishedAt: '2025-12-31T23:59:59Z', containerID: 'petset://b' });
    assert.equal(rec.regular[1].restartCount, 1);
    assert.equal(rec.regular[1].running, true);
    assert.deepEqual(types(decide(p, rec).actions), ['StartContainer app']);
  });
});

describe('computePodActions: ephemeral containers (kubectl debug)', () => {
  const debug = { name: 'dbg', image: 'busybox', stdin: true };

  it('starts one added to the spec even before initialization completes, once, and never restarts it', () => {
    const p = pod({ initContainers: [{ name: 'i1', image: 'x' }] });
    const rec = active(p);
    running(rec.inits[0]);
    assert.deepEqual(decide(p, rec).actions, []);
    const withDebug = pod({ initContainers: [{ name: 'i1', image: 'x' }], ephemeralContainers: [debug] });
    assert.equal(addEphemeralContainers(rec, withDebug), true);
    assert.equal(addEphemeralContainers(rec, withDebug), false, 'added once');
    assert.deepEqual(types(decide(withDebug, rec).actions), ['StartContainer dbg']);
    exited(rec.ephemeral[0], 1);
    assert.deepEqual(decide(withDebug, rec).actions, [], 'an ended ephemeral container stays ended');
  });

  it('does not keep the pod alive, is stopped with the regular containers, and shows in ephemeralContainerStatuses', () => {
    const p = pod({ restartPolicy: 'Never', ephemeralContainers: [debug] });
    const rec = active(p, { initialized: true });
    running(rec.ephemeral[0]);
    exited(rec.regular[0], 0);
    assert.deepEqual(types(decide(p, rec).actions), ['BeginTermination']);
    rec.phase = 'terminating';
    rec.killDeadline = NOW + 30_000;
    assert.deepEqual(types(decide(p, rec).actions), ['KillContainer dbg']);
    const status = podStatus(p, rec, CTX, STAMP)!;
    assert.equal(status.ephemeralContainerStatuses[0].name, 'dbg');
    assert.deepEqual(Object.keys(status.ephemeralContainerStatuses[0].state), ['running']);
    assert.equal(status.containerStatuses.length, 1, 'not among the regular containers');
  });
});
