// What the kubelet reports for a pod, as pure functions of the containers' states: the
// phase (getPhase), the conditions it owns (PodReadyToStartContainers, Initialized,
// Ready, ContainersReady, PodScheduled), and the end-of-life rewrite of statuses that
// never reached a terminated state. The pod worker feeds these and writes the result.
import type { KubeObject } from '../api/object.js';

type Obj = Record<string, any>;

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  containerID?: string;
}

export type ContainerState = { waiting: { reason: string; message?: string } } | { running: { startedAt: string } } | { terminated: Terminated };

export interface ContainerStatus {
  name: string;
  state: ContainerState;
  lastState: { terminated?: Terminated };
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started: boolean;
}

/** The condition types the node agent writes; others (readiness gates, DisruptionTarget) belong to someone else. */
export const KUBELET_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'] as const;

export const isSidecar = (c: Obj): boolean => c.restartPolicy === 'Always';

const running = (s: ContainerStatus) => 'running' in s.state;
const terminated = (s: ContainerStatus): Terminated | undefined => ('terminated' in s.state ? s.state.terminated : undefined);
const waiting = (s: ContainerStatus) => 'waiting' in s.state;

/** Go's %s rendering of a string slice. */
const goList = (names: string[]) => `[${names.join(' ')}]`;

/** Upstream getPhase. `terminal`: the pod is being torn down, so nothing will restart. */
export function podPhase(spec: Obj, statuses: ContainerStatus[], terminal: boolean): Phase {
  const byName = new Map(statuses.map((s) => [s.name, s]));
  const inits: Obj[] = spec.initContainers ?? [];
  let pendingInit = 0;
  let pendingSidecars = 0;
  let failedInit = 0;
  for (const c of inits) {
    if (isSidecar(c)) continue;
    const s = byName.get(c.name);
    if (!s || running(s)) pendingInit++;
    else if (terminated(s)) {
      if (terminated(s)!.exitCode !== 0) failedInit++;
    } else if (s.lastState.terminated) {
      if (s.lastState.terminated.exitCode !== 0) failedInit++;
    } else pendingInit++;
  }

  let unknown = 0;
  let runningCount = 0;
  let waitingCount = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of inits) {
    if (!isSidecar(c)) continue;
    const s = byName.get(c.name);
    if (!s) unknown++;
    else if (running(s)) {
      if (!s.started) pendingSidecars++;
      runningCount++;
    } else if (waiting(s) && !s.lastState.terminated) {
      pendingSidecars++;
      waitingCount++;
    }
  }
  for (const c of spec.containers ?? []) {
    const s = byName.get(c.name);
    if (!s) unknown++;
    else if (running(s)) runningCount++;
    else if (terminated(s)) {
      stopped++;
      if (terminated(s)!.exitCode === 0) succeeded++;
    } else if (s.lastState.terminated) stopped++;
    else waitingCount++;
  }

  if (failedInit > 0 && spec.restartPolicy === 'Never') return 'Failed';
  if (pendingInit > 0 || (pendingSidecars > 0 && runningCount + stopped === 0)) return 'Pending';
  if (waitingCount > 0) return 'Pending';
  if (runningCount > 0 && unknown === 0) return 'Running';
  if (runningCount === 0 && stopped > 0 && unknown === 0) {
    if (terminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (spec.restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (spec.restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/**
 * At the end of a pod's life every regular container must have a terminated state (the
 * status manager's TerminatePod): one that never got there is reported as lost. An init
 * container is rewritten only when it had run, so a pod that never initialized keeps
 * showing which init container it was waiting for.
 */
export function terminalStatuses(inits: ContainerStatus[], regular: ContainerStatus[]): void {
  const lost = (s: ContainerStatus) => {
    s.state = { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' } };
    s.ready = false;
    s.started = false;
  };
  for (const s of regular) if (!terminated(s)) lost(s);
  for (const s of inits) if (!terminated(s) && (running(s) || s.lastState.terminated)) lost(s);
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface ConditionInputs {
  spec: Obj;
  phase: Phase;
  sandboxReady: boolean;
  inits: ContainerStatus[];
  regular: ContainerStatus[];
  /** the pod's current conditions, for readiness gates and transition times */
  current: Obj[];
}

function initializedCondition(i: ConditionInputs): Condition {
  const all = [...i.inits, ...i.regular];
  const byName = new Map(all.map((s) => [s.name, s]));
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of i.spec.initContainers ?? []) {
    const s = byName.get(c.name);
    if (!s) unknown.push(c.name);
    else if (isSidecar(c) ? !s.started : terminated(s)?.exitCode !== 0) incomplete.push(c.name);
  }
  if (i.phase === 'Succeeded' && !unknown.length) return { type: 'Initialized', status: 'True', reason: 'PodCompleted' };
  if (i.regular.some((s) => running(s) || terminated(s) || s.lastState.terminated)) return { type: 'Initialized', status: 'True' };
  const messages: string[] = [];
  if (unknown.length) messages.push(`containers with unknown status: ${goList(unknown)}`);
  if (incomplete.length) messages.push(`containers with incomplete status: ${goList(incomplete)}`);
  if (messages.length) return { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: messages.join(', ') };
  return { type: 'Initialized', status: 'True' };
}

function containersReadyCondition(i: ConditionInputs): Condition {
  const byName = new Map([...i.inits, ...i.regular].map((s) => [s.name, s]));
  const unknown: string[] = [];
  const unready: string[] = [];
  const considered = [...(i.spec.initContainers ?? []).filter(isSidecar), ...(i.spec.containers ?? [])];
  for (const c of considered) {
    const s = byName.get(c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  if ((i.phase === 'Succeeded' && !unknown.length) || i.phase === 'Failed') {
    return { type: 'ContainersReady', status: 'False', reason: i.phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed' };
  }
  const messages: string[] = [];
  if (unknown.length) messages.push(`containers with unknown status: ${goList(unknown)}`);
  if (unready.length) messages.push(`containers with unready status: ${goList(unready)}`);
  if (messages.length) return { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: messages.join(', ') };
  return { type: 'ContainersReady', status: 'True' };
}

function readyCondition(i: ConditionInputs, containersReady: Condition): Condition {
  if (containersReady.status !== 'True') return { ...containersReady, type: 'Ready' };
  const messages: string[] = [];
  for (const gate of i.spec.readinessGates ?? []) {
    const c = i.current.find((x) => x.type === gate.conditionType);
    if (!c) messages.push(`corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`);
    else if (c.status !== 'True') messages.push(`the status of pod readiness gate "${gate.conditionType}" is not "True", but ${c.status}`);
  }
  if (messages.length) return { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: messages.join(', ') };
  return { type: 'Ready', status: 'True' };
}

/** The kubelet's conditions, in its order, keeping lastTransitionTime where the status did not change. */
export function podConditions(i: ConditionInputs, now: string): Obj[] {
  const containersReady = containersReadyCondition(i);
  const generated: Condition[] = [
    { type: 'PodReadyToStartContainers', status: i.sandboxReady ? 'True' : 'False' },
    initializedCondition(i),
    readyCondition(i, containersReady),
    containersReady,
    { type: 'PodScheduled', status: 'True' },
  ];
  return generated.map((c) => {
    const old = i.current.find((x) => x.type === c.type);
    // explicit nulls: conditions are merged by type, so a reason left out would linger
    return {
      type: c.type,
      status: c.status,
      lastProbeTime: null,
      lastTransitionTime: old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now,
      reason: c.reason ?? null,
      message: c.message ?? null,
    };
  });
}

/** The part of a pod's status the agent owns, for comparing what it wants with what the API has. */
export function ownedStatus(status: Obj | undefined): Obj {
  const s = withoutNulls(status ?? {});
  const owned = new Set<string>(KUBELET_CONDITIONS);
  return {
    phase: s.phase,
    reason: s.reason,
    message: s.message,
    hostIP: s.hostIP,
    podIP: s.podIP,
    startTime: s.startTime,
    conditions: (s.conditions ?? [])
      .filter((c: Obj) => owned.has(c.type))
      .map((c: Obj) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.lastTransitionTime }))
      .sort((a: Obj, b: Obj) => (a.type < b.type ? -1 : 1)),
    initContainerStatuses: s.initContainerStatuses,
    containerStatuses: s.containerStatuses,
    ephemeralContainerStatuses: s.ephemeralContainerStatuses,
  };
}

/** A copy without null or undefined members (a strategic merge patch deletes fields set to null). */
function withoutNulls(v: any): any {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v === null || typeof v !== 'object') return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = withoutNulls(x);
  return out;
}

/** HOSTNAME inside the pod: spec.hostname, else the pod name cut to 63 characters. */
export function podHostname(pod: KubeObject): string {
  if (pod.spec?.hostname) return pod.spec.hostname;
  return String(pod.metadata.name ?? '')
    .slice(0, 63)
    .replace(/[-.]+$/, '');
}
