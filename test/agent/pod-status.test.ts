import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownedStatus, podConditions, podHostname, podPhase, terminalStatuses, type ContainerStatus } from '../../src/agent/pod-status.js';

const running = (name: string, extra: Partial<ContainerStatus> = {}): ContainerStatus => ({
  name,
  state: { running: { startedAt: '2025-01-01T00:00:00Z' } },
  lastState: {},
  ready: true,
  restartCount: 0,
  image: 'img',
  imageID: '',
  started: true,
  ...extra,
});
const exited = (name: string, exitCode: number): ContainerStatus => ({ ...running(name), state: { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed' } }, ready: false, started: false });
const waiting = (name: string, reason = 'ContainerCreating', last?: number): ContainerStatus => ({
  ...running(name),
  state: { waiting: { reason } },
  lastState: last === undefined ? {} : { terminated: { exitCode: last, reason: 'Error' } },
  ready: false,
  started: false,
});

const spec = (extra: Record<string, any> = {}) => ({ restartPolicy: 'Always', containers: [{ name: 'app' }], ...extra });

describe('podPhase', () => {
  it('follows the kubelet for regular containers', () => {
    assert.equal(podPhase(spec(), [waiting('app')], false), 'Pending');
    assert.equal(podPhase(spec(), [running('app')], false), 'Running');
    assert.equal(podPhase(spec(), [waiting('app', 'CrashLoopBackOff', 1)], false), 'Running', 'a crash loop counts as stopped');
    assert.equal(podPhase(spec(), [exited('app', 1)], false), 'Running', 'Always restarts');
    assert.equal(podPhase(spec({ restartPolicy: 'Never' }), [exited('app', 1)], false), 'Failed');
    assert.equal(podPhase(spec({ restartPolicy: 'OnFailure' }), [exited('app', 1)], false), 'Running');
    assert.equal(podPhase(spec({ restartPolicy: 'OnFailure' }), [exited('app', 0)], false), 'Succeeded');
    assert.equal(podPhase(spec(), [exited('app', 0)], true), 'Succeeded', 'a terminal pod does not restart');
    assert.equal(podPhase(spec(), [exited('app', 143)], true), 'Failed');
    assert.equal(podPhase(spec(), [], false), 'Pending');
  });

  it('waits for init containers, and fails on a failed one with restartPolicy Never', () => {
    const s = spec({ initContainers: [{ name: 'a' }, { name: 'b' }] });
    assert.equal(podPhase(s, [exited('a', 0), running('b'), waiting('app', 'PodInitializing')], false), 'Pending');
    assert.equal(podPhase(s, [exited('a', 0), exited('b', 0), running('app')], false), 'Running');
    assert.equal(podPhase(s, [waiting('a', 'CrashLoopBackOff', 1), waiting('b', 'PodInitializing'), waiting('app', 'PodInitializing')], false), 'Pending');
    assert.equal(podPhase({ ...s, restartPolicy: 'Never' }, [exited('a', 1), waiting('b'), waiting('app')], false), 'Failed');
  });

  it('keeps a pod pending until its sidecar has started', () => {
    const s = spec({ initContainers: [{ name: 'side', restartPolicy: 'Always' }] });
    assert.equal(podPhase(s, [running('side', { started: false }), waiting('app', 'PodInitializing')], false), 'Pending');
    assert.equal(podPhase(s, [running('side'), running('app')], false), 'Running');
  });
});

describe('podConditions', () => {
  const now = '2025-01-02T00:00:00Z';
  const byType = (list: Record<string, any>[]) => Object.fromEntries(list.map((c) => [c.type, c]));

  it('explains what is missing, in the kubelet words', () => {
    const s = spec({ containers: [{ name: 'app' }, { name: 'web' }], initContainers: [{ name: 'a' }, { name: 'b' }] });
    const c = byType(
      podConditions({ spec: s, phase: 'Pending', sandboxReady: false, inits: [running('a'), waiting('b', 'PodInitializing')], regular: [waiting('app', 'PodInitializing')], current: [] }, now),
    );
    assert.deepEqual(c.Initialized, { type: 'Initialized', status: 'False', lastProbeTime: null, lastTransitionTime: now, reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [a b]' });
    assert.equal(c.ContainersReady.message, 'containers with unknown status: [web], containers with unready status: [app]');
    assert.equal(c.Ready.reason, 'ContainersNotReady');
    assert.equal(c.PodReadyToStartContainers.status, 'False');
    assert.equal(c.PodScheduled.status, 'True');
    assert.equal(c.PodScheduled.reason, null);
  });

  it('checks readiness gates and keeps transition times that did not change', () => {
    const s = spec({ readinessGates: [{ conditionType: 'example.com/gate' }, { conditionType: 'example.com/other' }] });
    const current = [
      { type: 'example.com/gate', status: 'False' },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' },
    ];
    const c = byType(podConditions({ spec: s, phase: 'Running', sandboxReady: true, inits: [], regular: [running('app')], current }, now));
    assert.equal(c.ContainersReady.lastTransitionTime, '2020-01-01T00:00:00Z');
    assert.equal(c.Ready.status, 'False');
    assert.equal(c.Ready.reason, 'ReadinessGatesNotReady');
    assert.equal(
      c.Ready.message,
      'the status of pod readiness gate "example.com/gate" is not "True", but False, corresponding condition of pod readiness gate "example.com/other" does not exist.',
    );
    assert.equal(c.Ready.lastTransitionTime, now);
  });

  it('reports terminal pods as completed or failed', () => {
    const done = byType(podConditions({ spec: spec(), phase: 'Succeeded', sandboxReady: false, inits: [], regular: [exited('app', 0)], current: [] }, now));
    assert.deepEqual([done.Ready.status, done.Ready.reason, done.ContainersReady.reason, done.Initialized.reason], ['False', 'PodCompleted', 'PodCompleted', 'PodCompleted']);
    const failed = byType(podConditions({ spec: spec(), phase: 'Failed', sandboxReady: false, inits: [], regular: [running('app')], current: [] }, now));
    assert.equal(failed.Ready.reason, 'PodFailed');
  });
});

describe('terminalStatuses', () => {
  it('reports containers that never finished as lost, and leaves untouched init containers alone', () => {
    const inits = [exited('a', 0), waiting('b', 'PodInitializing')];
    const regular = [waiting('app', 'CrashLoopBackOff', 1), exited('web', 143)];
    terminalStatuses(inits, regular);
    assert.deepEqual(regular[0].state, { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' } });
    assert.equal((regular[1].state as any).terminated.exitCode, 143);
    assert.deepEqual(inits[1].state, { waiting: { reason: 'PodInitializing' } });
  });
});

describe('helpers', () => {
  it('compares only what the agent owns, ignoring nulls', () => {
    const mine = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', reason: null, lastProbeTime: null }] };
    const api = { phase: 'Running', qosClass: 'BestEffort', conditions: [{ type: 'Ready', status: 'True' }, { type: 'DisruptionTarget', status: 'True' }] };
    assert.deepEqual(ownedStatus(mine), ownedStatus(api));
  });

  it('derives the hostname from spec.hostname or the pod name', () => {
    assert.equal(podHostname({ metadata: { name: 'web-0' }, spec: { hostname: 'db' } }), 'db');
    assert.equal(podHostname({ metadata: { name: `${'a'.repeat(62)}-b` }, spec: {} }), 'a'.repeat(62));
  });
});
