// The pod worker's decisions, as the kubelet's computePodActions makes them: from the
// pod (spec and metadata) and what the agent observed of its sandbox and containers
// (plain data: no timers, no promises, no runtime), what to do next — create the
// sandbox, start or restart which container, wait out which back-off, which hooks and
// probes to run, what to kill, when to begin termination, when the pod is done. The
// worker (./pod-worker.ts) performs the actions and records what the runtime answers;
// podStatus() turns the same data into the status the agent writes.
import { timestamp, type KubeObject } from '../api/object.js';
import type { AdoptedContainer } from './runtime/runtime.js';
import { isSidecar, podConditions, podPhase, terminalStatuses, type ContainerStatus, type Terminated } from './pod-status.js';
import type { ProbeResult } from './probes.js';
import { formatDuration } from './timers.js';

type Obj = Record<string, any>;

/** The runtime gets at least this long to stop a container, even for grace 0 (upstream minimumGracePeriodInSeconds). */
export const MIN_STOP_GRACE_MS = 2000;
export const DEFAULT_GRACE_SECONDS = 30;

/** Why a runtime could not start a container, as kubelet names it (an Error's `.reason`). */
export type StartErrorReason = 'ErrImagePull' | 'CreateContainerConfigError' | 'CreateContainerError' | 'RunContainerError';
const START_ERROR_REASONS = new Set<string>(['ErrImagePull', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

export interface BackOffSettings {
  initialMs: number;
  maxMs: number;
}

/** One entry of a back-off (client-go's flowcontrol.Backoff): the current period and when it last grew. */
export interface BackOffState {
  periodMs: number;
  updatedAt: number;
}

export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** What the agent knows of one container of the pod. */
export interface ContainerRecord {
  name: string;
  spec: Obj;
  init: boolean;
  sidecar: boolean;
  /** an ephemeral container (kubectl debug): started once, never restarted, not part of readiness */
  ephemeral?: boolean;
  imageID: string;
  /** the current (or last) instance */
  id?: string;
  startedAt?: string;
  running: boolean;
  /** a start is in flight */
  starting: boolean;
  /** a kill (preStop, then the stop signal) is in flight */
  stopping: boolean;
  /** how the current instance ended, and when (to the millisecond, for the back-off) */
  exited?: Terminated;
  exitedAt?: number;
  /** how the previous instance ended (lastState while a new one starts or runs) */
  lastTerminated?: Terminated;
  /** shown instead of the other states: a back-off, or a start that failed */
  waiting?: { reason: string; message: string };
  instances: number;
  restartCount: number;
  started: boolean;
  readiness: ProbeResult;
  /** postStart of the current instance: not run yet, running, or done (or none to run) */
  postStart: 'pending' | 'running' | 'done';
  /** probe workers run for the current instance */
  probing: boolean;
  /** the current instance must be killed: a liveness/startup probe or postStart failed */
  unhealthy?: { message: string; graceSeconds?: number };
  /** the crash-loop back-off */
  backOff?: BackOffState;
  /** the last start failed before any instance existed (pull, config, create): retried at retryAt */
  startFailure?: { reason: StartErrorReason; message: string; retryAt: number };
  /** the image pull back-off */
  pullBackOff?: BackOffState;
}

export type WorkerPhase = 'new' | 'active' | 'terminating' | 'terminated';

/** What the agent knows of one pod: the observed runtime state plus the worker's own bookkeeping. */
export interface PodRecord {
  phase: WorkerPhase;
  /** the pod is no longer in the API */
  apiGone: boolean;
  sandbox: 'none' | 'creating' | 'ready' | 'removing';
  sandboxFailures: number;
  sandboxRetryAt?: number;
  ip?: string;
  startTime?: string;
  initialized: boolean;
  /** why the agent failed the pod: rejected at admission, or past its active deadline */
  failure?: { reason: string; message: string; rejected: boolean };
  /** when every container must be gone; fixed when termination begins */
  killDeadline?: number;
  confirming: boolean;
  finished: boolean;
  inits: ContainerRecord[];
  regular: ContainerRecord[];
  /** ephemeral containers, in the order they were added to the spec */
  ephemeral: ContainerRecord[];
}

export type PodAction =
  | { type: 'CreateSandbox' }
  | { type: 'StartContainer'; name: string; backOff?: BackOffState }
  | { type: 'BackOff'; name: string; waiting: { reason: string; message: string }; events: PodEvent[] }
  | { type: 'RunPostStart'; name: string }
  | { type: 'StartProbes'; name: string }
  | { type: 'KillContainer'; name: string; deadline: number; message: string }
  | { type: 'MarkInitialized' }
  | { type: 'Fail'; reason: string; message: string }
  | { type: 'BeginTermination'; deadline: number }
  | { type: 'RemoveSandbox' }
  | { type: 'Terminated' }
  | { type: 'ConfirmDeletion' }
  | { type: 'Finish' };

export interface PodActions {
  actions: PodAction[];
  /** when the decisions change by time alone (a back-off ends, the active deadline passes) */
  wakeAt?: number;
}

export function newContainerRecord(spec: Obj, init: boolean): ContainerRecord {
  return {
    name: spec.name,
    spec,
    init,
    sidecar: init && isSidecar(spec),
    imageID: '',
    running: false,
    starting: false,
    stopping: false,
    instances: 0,
    restartCount: 0,
    started: false,
    readiness: 'failure',
    postStart: 'done',
    probing: false,
  };
}

/**
 * A new record for a pod. A pod that already ran on this node (under an earlier agent,
 * or before petset restarted) lost its containers: each comes back as a restart, as
 * after a reboot. Its new sandbox runs the init containers again from the first, as the
 * kubelet does when it re-creates a pod's sandbox (init containers must be idempotent);
 * one that had completed shows that run as its last state. An agent that finds the sandbox
 * still running adopts what ran in it instead (adoptContainers).
 */
export function initialRecord(pod: KubeObject, now: number, stamp: string): PodRecord {
  const spec = pod.spec ?? {};
  const inits = (spec.initContainers ?? []).map((c: Obj) => newContainerRecord(c, true));
  const regular = (spec.containers ?? []).map((c: Obj) => newContainerRecord(c, false));
  const status = pod.status ?? {};
  const previous = new Map<string, Obj>([...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])].map((s: Obj) => [s.name, s]));
  const rec: PodRecord = { phase: 'new', apiGone: false, sandbox: 'none', sandboxFailures: 0, initialized: inits.length === 0, confirming: false, finished: false, inits, regular, ephemeral: [] };
  addEphemeralContainers(rec, pod);
  for (const s of status.ephemeralContainerStatuses ?? []) previous.set(s.name, s);
  for (const c of [...inits, ...regular, ...rec.ephemeral]) {
    const s = previous.get(c.name);
    if (!s?.containerID) continue;
    c.instances = 1;
    c.restartCount = s.restartCount ?? 0;
    c.imageID = s.imageID ?? '';
    const ended = s.state?.terminated;
    c.exitedAt = now;
    if (c.init && !c.sidecar && ended?.exitCode === 0) c.lastTerminated = { ...ended, containerID: s.containerID };
    else if (c.ephemeral && ended) c.exited = { ...ended };
    else c.exited = { exitCode: 255, reason: 'Unknown', startedAt: s.state?.running?.startedAt ?? ended?.startedAt, finishedAt: stamp, containerID: s.containerID };
  }
  return rec;
}

/**
 * The records of a pod whose sandbox an earlier agent left running (an agent restart), from
 * what the runtime found in it: each container's newest instance is its current one, running
 * on (no restart, the same start time and readiness, postStart not run again) or ended
 * while no agent watched (then handled as any ended container). Restart counts and the previous
 * instance come from the status the earlier agent wrote; an instance that status did not show
 * yet counts as one more restart. Containers with no instance keep initialRecord's view.
 */
export function adoptContainers(pod: KubeObject, rec: PodRecord, found: AdoptedContainer[], runtimeType: string): void {
  const status = pod.status ?? {};
  const statuses = new Map<string, Obj>([...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? []), ...(status.ephemeralContainerStatuses ?? [])].map((s: Obj) => [s.name, s]));
  const newest = new Map<string, AdoptedContainer>();
  for (const f of found) {
    const have = newest.get(f.name);
    if (!have || f.startedAt.getTime() > have.startedAt.getTime()) newest.set(f.name, f);
  }
  for (const c of [...rec.inits, ...rec.regular, ...rec.ephemeral]) {
    const f = newest.get(c.name);
    if (!f) continue;
    const s = statuses.get(c.name);
    const containerID = `${runtimeType}://${f.id}`;
    c.id = f.id;
    c.instances = Math.max(c.instances, 1);
    if (f.imageID) c.imageID = f.imageID;
    c.startedAt = timestamp(f.startedAt);
    c.waiting = undefined;
    if (s?.containerID && s.containerID !== containerID) {
      c.restartCount = (s.restartCount ?? 0) + 1;
      c.lastTerminated = s.state?.terminated ?? s.lastState?.terminated;
    } else {
      c.restartCount = s?.restartCount ?? 0;
      c.lastTerminated = s?.lastState?.terminated;
    }
    if (f.exit) {
      c.running = false;
      c.started = false;
      c.exited = { exitCode: f.exit.exitCode, reason: f.exit.reason, startedAt: c.startedAt, finishedAt: timestamp(f.exit.finishedAt), containerID };
      if (f.exit.signal) c.exited.signal = f.exit.signal;
      if (f.exit.message) c.exited.message = f.exit.message;
      c.exitedAt = f.exit.finishedAt.getTime();
    } else {
      c.running = true;
      c.exited = undefined;
      c.exitedAt = undefined;
      c.started = !c.spec.startupProbe || s?.started === true;
      // readiness carries over (a restarted kubelet keeps a ready container ready until its probe says otherwise)
      c.readiness = s?.ready === true ? 'success' : 'failure';
      c.postStart = 'done';
      c.probing = false;
    }
  }
}

/** Records for the ephemeral containers the spec gained (they are only ever added, never changed or removed). */
export function addEphemeralContainers(rec: PodRecord, pod: KubeObject): boolean {
  const known = new Set(rec.ephemeral.map((c) => c.name));
  let added = false;
  for (const spec of pod.spec?.ephemeralContainers ?? []) {
    if (!spec?.name || known.has(spec.name)) continue;
    rec.ephemeral.push({ ...newContainerRecord(spec, false), ephemeral: true });
    added = true;
  }
  return added;
}

/** The grace period that applies now: the deletion's, else the pod's own. */
export function graceSeconds(pod: KubeObject): number {
  const m = pod.metadata;
  if (m.deletionTimestamp && typeof m.deletionGracePeriodSeconds === 'number') return m.deletionGracePeriodSeconds;
  const g = pod.spec?.terminationGracePeriodSeconds;
  return typeof g === 'number' && g >= 0 ? g : DEFAULT_GRACE_SECONDS;
}

/** When the containers must be gone: at once for a pod gone from the API, else the deletion's grace period, or the pod's own. */
export function killDeadline(pod: KubeObject, apiGone: boolean, now: number): number {
  if (apiGone) return now;
  const marked = pod.metadata.deletionTimestamp;
  const byGrace = now + graceSeconds(pod) * 1000;
  return marked ? Math.max(now, Math.min(byGrace, Date.parse(marked))) : byGrace;
}

export function podFullName(pod: KubeObject): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid ?? ''})`;
}

/** The next entry of a back-off: the initial period, doubled per step up to the max, reset after 2×max of quiet (client-go's Backoff). */
export function nextBackOff(prev: BackOffState | undefined, now: number, s: BackOffSettings): BackOffState {
  const live = prev && now - prev.updatedAt <= 2 * s.maxMs ? prev : undefined;
  return { periodMs: live ? Math.min(2 * live.periodMs, s.maxMs) : s.initialMs, updatedAt: now };
}

/** The kubelet's decisions for one pod, now. */
export function computePodActions(pod: KubeObject, rec: PodRecord, now: number, backOff: BackOffSettings): PodActions {
  const actions: PodAction[] = [];
  let wakeAt: number | undefined;
  const wake = (t: number) => {
    if (t > now && (wakeAt === undefined || t < wakeAt)) wakeAt = t;
  };
  const done = (): PodActions => (wakeAt === undefined ? { actions } : { actions, wakeAt });
  const deleting = !!pod.metadata.deletionTimestamp;
  const spec = pod.spec ?? {};

  if (rec.phase === 'new') return done();
  if (rec.phase === 'terminated') {
    if (rec.apiGone) {
      if (!rec.finished) actions.push({ type: 'Finish' });
    } else if (deleting && !rec.confirming) actions.push({ type: 'ConfirmDeletion' });
    return done();
  }
  if (rec.phase === 'terminating') return terminationActions(rec, now);

  // active
  if (rec.apiGone || deleting) {
    actions.push({ type: 'BeginTermination', deadline: killDeadline(pod, rec.apiGone, now) });
    return done();
  }
  const activeDeadline = spec.activeDeadlineSeconds;
  if (typeof activeDeadline === 'number' && activeDeadline > 0 && rec.startTime) {
    const at = Date.parse(rec.startTime) + activeDeadline * 1000;
    if (now >= at) {
      actions.push({ type: 'Fail', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
      actions.push({ type: 'BeginTermination', deadline: killDeadline(pod, false, now) });
      return done();
    }
    wake(at);
  }
  if (rec.sandbox === 'none') {
    if (rec.sandboxRetryAt !== undefined && now < rec.sandboxRetryAt) wake(rec.sandboxRetryAt);
    else actions.push({ type: 'CreateSandbox' });
    return done();
  }
  if (rec.sandbox !== 'ready') return done();

  // the running instances: kill the unhealthy, then postStart, then probes
  for (const c of [...rec.inits, ...rec.regular]) {
    if (!c.running || c.stopping) continue;
    if (c.unhealthy) {
      const grace = c.unhealthy.graceSeconds ?? graceSeconds(pod);
      actions.push({ type: 'KillContainer', name: c.name, deadline: now + grace * 1000, message: c.unhealthy.message });
    } else if (c.postStart === 'pending') actions.push({ type: 'RunPostStart', name: c.name });
    else if (c.postStart === 'done' && !c.probing && (!c.init || c.sidecar) && hasProbes(c.spec)) actions.push({ type: 'StartProbes', name: c.name });
  }

  const busy = (c: ContainerRecord) => c.running || c.starting || c.stopping;
  /** First start at once; a restart goes through the crash-loop back-off (upstream doBackOff); a failed start through its own. */
  const startOrRestart = (c: ContainerRecord): void => {
    const failed = c.startFailure;
    if (failed) {
      if (now >= failed.retryAt) actions.push({ type: 'StartContainer', name: c.name });
      else {
        wake(failed.retryAt);
        if (failed.reason === 'ErrImagePull' && c.waiting?.reason !== 'ImagePullBackOff') {
          const message = `Back-off pulling image "${c.spec.image}"`;
          actions.push({
            type: 'BackOff',
            name: c.name,
            waiting: { reason: 'ImagePullBackOff', message },
            events: [
              { type: 'Normal', reason: 'BackOff', message },
              { type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff' },
            ],
          });
        }
      }
      return;
    }
    if (!c.exited) {
      actions.push({ type: 'StartContainer', name: c.name });
      return;
    }
    const finished = c.exitedAt ?? now;
    let b = c.backOff;
    if (b && finished - b.updatedAt > 2 * backOff.maxMs) b = undefined;
    if (b && now - finished < b.periodMs) {
      wake(finished + b.periodMs);
      if (c.waiting?.reason !== 'CrashLoopBackOff') {
        const full = podFullName(pod);
        actions.push({
          type: 'BackOff',
          name: c.name,
          waiting: { reason: 'CrashLoopBackOff', message: `back-off ${formatDuration(b.periodMs)} restarting failed container=${c.name} pod=${full}` },
          events: [{ type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${c.name} in pod ${full}` }],
        });
      }
      return;
    }
    actions.push({ type: 'StartContainer', name: c.name, backOff: { periodMs: b ? Math.min(2 * b.periodMs, backOff.maxMs) : backOff.initialMs, updatedAt: now } });
  };

  // ephemeral containers start even before initialization completes, once; they are never restarted
  for (const c of rec.ephemeral) if (!busy(c) && !c.exited) startOrRestart(c);

  if (!rec.initialized) {
    // init containers one at a time, in order; a sidecar counts once it has started
    for (const c of rec.inits) {
      if (c.sidecar) {
        if (c.running && c.started) continue;
        if (!busy(c)) startOrRestart(c);
        return done();
      }
      if (c.exited?.exitCode === 0) continue;
      if (busy(c)) return done();
      if (c.exited && !c.startFailure && spec.restartPolicy === 'Never') {
        actions.push({ type: 'BeginTermination', deadline: killDeadline(pod, false, now) });
        return done();
      }
      startOrRestart(c);
      return done();
    }
    actions.push({ type: 'MarkInitialized' });
  } else {
    for (const c of rec.inits) if (c.sidecar && !busy(c)) startOrRestart(c);
  }
  let active = 0;
  for (const c of rec.regular) {
    if (busy(c)) active++;
    else if (c.startFailure || !c.exited || shouldRestart(spec, c)) {
      startOrRestart(c);
      active++;
    }
  }
  if (!active) actions.push({ type: 'BeginTermination', deadline: killDeadline(pod, false, now) });
  return done();
}

/**
 * Termination: regular containers together, then sidecars and init containers in reverse
 * order, then the sandbox. A start still in flight does not hold anything up: removing
 * the sandbox ends it (a pod whose container never started goes at once, as upstream).
 */
function terminationActions(rec: PodRecord, now: number): PodActions {
  const actions: PodAction[] = [];
  const deadline = rec.apiGone ? Math.min(rec.killDeadline ?? now, now) : (rec.killDeadline ?? now);
  const kill = (c: ContainerRecord) => {
    if (c.running && !c.stopping) actions.push({ type: 'KillContainer', name: c.name, deadline, message: `Stopping container ${c.name}` });
  };
  const first = [...rec.regular, ...rec.ephemeral];
  first.forEach(kill);
  if (first.some((c) => c.running || c.stopping)) return { actions };
  for (const c of [...rec.inits].reverse()) {
    if (c.running || c.stopping) {
      kill(c);
      return { actions };
    }
  }
  if (rec.sandbox === 'creating' || rec.sandbox === 'removing') return { actions };
  actions.push(rec.sandbox === 'ready' ? { type: 'RemoveSandbox' } : { type: 'Terminated' });
  return { actions };
}

function shouldRestart(spec: Obj, c: ContainerRecord): boolean {
  if (c.sidecar) return true;
  const policy = spec.restartPolicy ?? 'Always';
  return policy === 'Always' || (policy === 'OnFailure' && c.exited!.exitCode !== 0);
}

function hasProbes(spec: Obj): boolean {
  return !!(spec.startupProbe || spec.readinessProbe || spec.livenessProbe);
}

/** The `.reason` of a start error when it is one kubelet names; anything else is a RunContainerError. */
export function startErrorReason(e: unknown): StartErrorReason {
  const r = (e as { reason?: unknown } | null)?.reason;
  return typeof r === 'string' && START_ERROR_REASONS.has(r) ? (r as StartErrorReason) : 'RunContainerError';
}

/**
 * Records a failed start (the runtime rejected startContainer) and answers the events
 * kubelet sends for it. A pull, configuration or creation failure leaves no instance
 * behind: the container waits with the error's name and is retried after a back-off
 * (ErrImagePull turning into ImagePullBackOff meanwhile). A RunContainerError did create
 * an instance, which ended at once (exit 128, StartError) and restarts under the crash-loop back-off.
 */
export function recordStartFailure(c: ContainerRecord, reason: StartErrorReason, message: string, now: number, stamp: string, backOff: BackOffSettings): PodEvent[] {
  if (reason === 'RunContainerError') {
    c.instances++;
    c.exited = { exitCode: 128, reason: 'StartError', message, finishedAt: stamp };
    c.exitedAt = now;
    c.waiting = { reason, message };
    c.startFailure = undefined;
    return [{ type: 'Warning', reason: 'Failed', message: `Error: ${message}` }];
  }
  c.pullBackOff = nextBackOff(c.pullBackOff, now, backOff);
  c.startFailure = { reason, message, retryAt: now + c.pullBackOff.periodMs };
  c.waiting = { reason, message };
  if (reason === 'ErrImagePull') {
    return [
      { type: 'Warning', reason: 'Failed', message: `Failed to pull image "${c.spec.image}": ${message}` },
      { type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull' },
    ];
  }
  return [{ type: 'Warning', reason: 'Failed', message: `Error: ${message}` }];
}

export interface StatusContext {
  hostIP: string;
  /** the container ID scheme, e.g. petset-sim */
  runtimeType: string;
  /** the conditions the pod has now, for readiness gates and transition times */
  currentConditions: Obj[];
}

/** The status the agent wants the API to show, or undefined before admission. */
export function podStatus(pod: KubeObject, rec: PodRecord, ctx: StatusContext, now: string): Obj | undefined {
  if (rec.phase === 'new') return undefined;
  if (rec.failure?.rejected) return { phase: 'Failed', reason: rec.failure.reason, message: rec.failure.message };
  const spec = pod.spec ?? {};
  const hasInits = rec.inits.length > 0;
  const inits = rec.inits.map((c) => containerStatus(c, hasInits, ctx.runtimeType));
  const regular = rec.regular.map((c) => containerStatus(c, hasInits, ctx.runtimeType)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const terminal = rec.phase === 'terminated';
  if (terminal) terminalStatuses(inits, regular);
  let phase = podPhase(spec, [...inits, ...regular], terminal);
  if ((terminal && phase !== 'Succeeded') || rec.failure) phase = 'Failed';
  const status: Obj = {
    phase,
    conditions: podConditions({ spec, phase, sandboxReady: rec.sandbox === 'ready', inits, regular, current: ctx.currentConditions }, now),
    hostIP: ctx.hostIP,
    hostIPs: [{ ip: ctx.hostIP }],
    startTime: rec.startTime,
    containerStatuses: regular,
  };
  if (rec.ip) {
    status.podIP = rec.ip;
    status.podIPs = [{ ip: rec.ip }];
  }
  if (inits.length) status.initContainerStatuses = inits;
  if (rec.ephemeral.length) {
    const ephemeral = rec.ephemeral.map((c) => containerStatus(c, false, ctx.runtimeType));
    if (terminal) terminalStatuses([], ephemeral.filter((e) => !('terminated' in e.state)));
    status.ephemeralContainerStatuses = ephemeral;
  }
  if (rec.failure) Object.assign(status, { reason: rec.failure.reason, message: rec.failure.message });
  return status;
}

export function containerStatus(c: ContainerRecord, hasInits: boolean, runtimeType: string): ContainerStatus {
  let state: ContainerStatus['state'];
  let last = c.lastTerminated;
  if (c.running) state = { running: { startedAt: c.startedAt! } };
  else if (c.waiting) {
    state = { waiting: { ...c.waiting } };
    last = c.exited ?? c.lastTerminated;
  } else if (c.exited) state = { terminated: { ...c.exited } };
  else state = { waiting: { reason: hasInits && !c.init && c.instances === 0 ? 'PodInitializing' : 'ContainerCreating' } };
  const s: ContainerStatus = {
    name: c.name,
    state,
    lastState: last ? { terminated: { ...last } } : {},
    ready: isReady(c),
    restartCount: c.restartCount,
    image: c.spec.image,
    imageID: c.instances > 0 ? c.imageID : '',
    started: c.running && c.started,
  };
  if (c.id) s.containerID = `${runtimeType}://${c.id}`;
  return s;
}

function isReady(c: ContainerRecord): boolean {
  if (c.init && !c.sidecar) return c.exited?.exitCode === 0;
  if (!c.running || !c.started) return false;
  return !c.spec.readinessProbe || c.readiness === 'success';
}
