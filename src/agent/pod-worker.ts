// One pod's life on a node, as the kubelet's pod worker and sync loop run it: admission
// (host ports), the sandbox (address and volumes), init containers one at a time, then
// the regular containers together, restarts by restartPolicy with the crash-loop
// back-off, probes, and termination (preStop, stop signal, grace period, kill) ending in
// a terminal phase and, for a deleted pod, the final confirmation.
//
// sync() only decides and dispatches; runtime calls run in the background and call
// back, so a slow start never blocks a deletion. Every delay is an entry in the agent's
// timer queue.
import { createHash } from 'node:crypto';
import { timestamp, type KubeObject } from '../api/object.js';
import { Prober, PROBE_LABEL, withTimeout, type ProbeResult, type ProbeType } from './probes.js';
import { isSidecar, podConditions, podHostname, podPhase, terminalStatuses, type ContainerStatus, type Terminated } from './pod-status.js';
import type { ContainerExit, ContainerRuntime, HandlerRequest } from './runtime/runtime.js';
import { formatDuration, type Cancel, type TimerQueue } from './timers.js';

type Obj = Record<string, any>;

/** The runtime gets at least this long to stop a container, even for grace 0 (upstream minimumGracePeriodInSeconds). */
export const MIN_STOP_GRACE_MS = 2000;
const DEFAULT_GRACE_SECONDS = 30;
const NODE_PORTS_DESC = "node(s) didn't have free ports for the requested pod ports";

export interface BackOffSettings {
  initialMs: number;
  maxMs: number;
}

/** What a pod worker needs from its agent. */
export interface WorkerHost {
  readonly hostIP: string;
  readonly runtime: ContainerRuntime;
  readonly timers: TimerQueue;
  readonly backOff: BackOffSettings;
  /** an address for the pod (its previous one when still free) */
  allocateIP(pod?: KubeObject): string;
  releaseIP(ip: string): void;
  /** false when another admitted pod holds one of these host ports */
  claimHostPorts(pod: KubeObject): boolean;
  releaseHostPorts(uid: string): void;
  volumePaths(pod: KubeObject): Promise<Record<string, string>>;
  event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  statusChanged(worker: PodWorker): void;
  /** writes the terminal status, then deletes the pod with grace 0 and a UID precondition */
  confirmDeletion(worker: PodWorker): Promise<void>;
  /** the pod is gone from the API and nothing runs locally: forget the worker */
  finished(worker: PodWorker): void;
}

interface Container {
  spec: Obj;
  name: string;
  init: boolean;
  sidecar: boolean;
  imageID: string;
  /** the current (or last) instance */
  id?: string;
  startedAt?: string;
  running: boolean;
  /** how the current instance ended, and when (to the millisecond, for the back-off) */
  exited?: Terminated;
  exitedAt?: number;
  /** how the previous instance ended (lastState while a new one starts or runs) */
  lastTerminated?: Terminated;
  /** shown while a restart waits out its back-off, with `exited` as lastState */
  waiting?: { reason: string; message: string };
  instances: number;
  restartCount: number;
  started: boolean;
  readiness: ProbeResult;
  probers: Prober[];
  backOff?: { periodMs: number; updatedAt: number };
  /** wakes the worker when a back-off ends */
  wake?: Cancel;
  starting?: Promise<void>;
  stopping?: Promise<void>;
}

type WorkerState = 'new' | 'active' | 'terminating' | 'terminated';

export class PodWorker {
  pod: KubeObject;
  readonly uid: string;
  /** the pod is no longer in the API (deleted, or force-deleted behind the agent's back) */
  apiGone = false;
  /** resolves once nothing of the pod runs locally any more */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private state: WorkerState = 'new';
  private dead = false;
  private readonly inits: Container[];
  private readonly regular: Container[];
  private sandboxId?: string;
  private sandboxing?: Promise<void>;
  private sandboxFailures = 0;
  private sandboxWake?: Cancel;
  private ip?: string;
  private startTime?: string;
  private initialized = false;
  /** why the agent failed the pod: rejected at admission, or past its active deadline */
  private failure?: { reason: string; message: string; rejected: boolean };
  private deadlineWake?: Cancel;
  private confirming = false;
  private syncQueued = false;

  constructor(
    pod: KubeObject,
    private readonly host: WorkerHost,
  ) {
    this.pod = pod;
    this.uid = pod.metadata.uid ?? '';
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    const spec = pod.spec ?? {};
    const make = (c: Obj, init: boolean): Container => ({
      spec: c,
      name: c.name,
      init,
      sidecar: init && isSidecar(c),
      imageID: '',
      running: false,
      instances: 0,
      restartCount: 0,
      started: false,
      readiness: 'failure',
      probers: [],
    });
    this.inits = (spec.initContainers ?? []).map((c: Obj) => make(c, true));
    this.regular = (spec.containers ?? []).map((c: Obj) => make(c, false));
    this.initialized = this.inits.length === 0;
    this.adoptPreviousRun();
  }

  /**
   * A pod that already ran on this node (under an earlier agent, or before petset
   * restarted) lost its containers: each comes back as a restart, as after a reboot,
   * while init containers that had completed stay completed.
   */
  private adoptPreviousRun(): void {
    const status = this.pod.status ?? {};
    const previous = new Map<string, Obj>([...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])].map((s: Obj) => [s.name, s]));
    for (const c of this.all()) {
      const s = previous.get(c.name);
      if (!s?.containerID) continue;
      c.instances = 1;
      c.restartCount = s.restartCount ?? 0;
      c.imageID = s.imageID ?? '';
      const ended = s.state?.terminated;
      c.exitedAt = Date.now();
      if (c.init && !c.sidecar && ended?.exitCode === 0) c.exited = { ...ended };
      else c.exited = { exitCode: 255, reason: 'Unknown', startedAt: s.state?.running?.startedAt ?? ended?.startedAt, finishedAt: timestamp(), containerID: s.containerID };
    }
  }

  get namespace(): string {
    return this.pod.metadata.namespace ?? 'default';
  }

  get name(): string {
    return this.pod.metadata.name ?? '';
  }

  /** A newer view of the pod from the API (older ones, by resourceVersion, are ignored). */
  update(pod: KubeObject): void {
    if (Number(pod.metadata.resourceVersion) < Number(this.pod.metadata.resourceVersion)) return;
    const annotationsChanged = JSON.stringify(pod.metadata.annotations) !== JSON.stringify(this.pod.metadata.annotations);
    this.pod = pod;
    if (annotationsChanged && this.sandboxId) this.host.runtime.updateSandbox(this.sandboxId, pod);
    this.requestSync();
    this.host.statusChanged(this);
  }

  apiDeleted(): void {
    this.apiGone = true;
    this.requestSync();
  }

  start(): void {
    this.requestSync();
  }

  /** The agent died: stop caring, call nothing. */
  abandon(): void {
    this.dead = true;
    for (const c of this.all()) this.stopProbes(c);
    this.resolveStopped();
  }

  /** The ids of a container's current and previous instances, for logs. */
  containerIds(name: string): { current?: string; previous?: string } {
    const c = this.all().find((x) => x.name === name);
    if (!c) return {};
    return { current: c.id, previous: c.lastTerminated?.containerID?.replace(/^[^:]+:\/\//, '') };
  }

  /** The status the agent wants the API to show, or undefined before admission. */
  desiredStatus(now = timestamp()): Obj | undefined {
    if (this.state === 'new') return undefined;
    if (this.failure?.rejected) return { phase: 'Failed', reason: this.failure.reason, message: this.failure.message };
    const spec = this.pod.spec ?? {};
    const inits = this.inits.map((c) => this.containerStatus(c));
    const regular = this.regular.map((c) => this.containerStatus(c)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const terminal = this.state === 'terminated';
    if (terminal) terminalStatuses(inits, regular);
    let phase = podPhase(spec, [...inits, ...regular], terminal);
    if ((terminal && phase !== 'Succeeded') || this.failure) phase = 'Failed';
    const status: Obj = {
      phase,
      conditions: podConditions({ spec, phase, sandboxReady: !!this.sandboxId, inits, regular, current: this.pod.status?.conditions ?? [] }, now),
      hostIP: this.host.hostIP,
      hostIPs: [{ ip: this.host.hostIP }],
      startTime: this.startTime,
      containerStatuses: regular,
    };
    if (this.ip) {
      status.podIP = this.ip;
      status.podIPs = [{ ip: this.ip }];
    }
    if (inits.length) status.initContainerStatuses = inits;
    if (this.failure) Object.assign(status, { reason: this.failure.reason, message: this.failure.message });
    return status;
  }

  private all(): Container[] {
    return [...this.inits, ...this.regular];
  }

  private requestSync(): void {
    if (this.syncQueued || this.dead) return;
    this.syncQueued = true;
    queueMicrotask(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  private changed(): void {
    if (!this.dead) this.host.statusChanged(this);
  }

  private sync(): void {
    if (this.dead) return;
    const deleting = !!this.pod.metadata.deletionTimestamp;
    if (this.state === 'terminated') {
      if (this.apiGone) this.host.finished(this);
      else if (deleting && !this.confirming) {
        this.confirming = true;
        void this.host.confirmDeletion(this);
      }
      return;
    }
    if (this.state === 'terminating') return;
    if (this.apiGone || deleting) {
      void this.terminate();
      return;
    }
    if (this.state === 'new' && !this.admit()) return;
    if (!this.sandboxId) {
      if (!this.sandboxing && !this.sandboxWake) this.createSandbox();
      return;
    }
    this.syncContainers();
  }

  private admit(): boolean {
    const startTime: string = this.pod.status?.startTime ?? timestamp();
    this.startTime = startTime;
    if (!this.host.claimHostPorts(this.pod)) {
      const message = `Predicate NodePorts failed: ${NODE_PORTS_DESC}`;
      this.failure = { reason: 'NodePorts', message: `Pod was rejected: ${message}`, rejected: true };
      this.host.event(this.pod, 'Warning', 'NodePorts', message);
      this.state = 'terminated';
      this.resolveStopped();
      this.changed();
      return false;
    }
    this.state = 'active';
    this.changed();
    const activeDeadline = this.pod.spec?.activeDeadlineSeconds;
    if (typeof activeDeadline === 'number' && activeDeadline > 0) {
      const left = Date.parse(startTime) + activeDeadline * 1000 - Date.now();
      this.deadlineWake = this.host.timers.after(left, () => this.deadlineExceeded());
    }
    return true;
  }

  private deadlineExceeded(): void {
    if (this.dead || this.state !== 'active') return;
    const message = 'Pod was active on the node longer than the specified deadline';
    this.failure = { reason: 'DeadlineExceeded', message, rejected: false };
    this.host.event(this.pod, 'Warning', 'DeadlineExceeded', message);
    void this.terminate();
  }

  private createSandbox(): void {
    this.sandboxing = (async () => {
      try {
        const volumePaths = await this.host.volumePaths(this.pod).catch((e: unknown) => {
          throw Object.assign(new Error(errorText(e)), { mount: true });
        });
        if (this.dead) return;
        this.ip ??= this.host.allocateIP(this.pod);
        this.sandboxId = await this.host.runtime.createSandbox({ pod: this.pod, ip: this.ip, hostname: podHostname(this.pod), volumePaths });
        this.sandboxFailures = 0;
        this.changed();
      } catch (e) {
        if (this.dead) return;
        const mount = (e as { mount?: boolean }).mount;
        this.host.event(this.pod, 'Warning', mount ? 'FailedMount' : 'FailedCreatePodSandBox', mount ? errorText(e) : `Failed to create pod sandbox: ${errorText(e)}`);
        const delay = Math.min(this.host.backOff.initialMs / 10 * 2 ** this.sandboxFailures++, this.host.backOff.maxMs);
        this.sandboxWake = this.host.timers.after(delay, () => {
          this.sandboxWake = undefined;
          this.requestSync();
        });
      } finally {
        this.sandboxing = undefined;
        this.requestSync();
      }
    })();
  }

  private syncContainers(): void {
    const busy = (c: Container) => c.running || !!c.starting || !!c.stopping || !!c.wake;
    if (!this.initialized) {
      for (const c of this.inits) {
        if (c.sidecar) {
          if (c.running && c.started) continue;
          if (!busy(c)) this.startOrRestart(c);
          return;
        }
        if (c.exited?.exitCode === 0) continue;
        if (busy(c)) return;
        if (c.exited && this.pod.spec?.restartPolicy === 'Never') {
          void this.terminate();
          return;
        }
        this.startOrRestart(c);
        return;
      }
      this.initialized = true;
      this.changed();
    } else {
      for (const c of this.inits) if (c.sidecar && !busy(c)) this.startOrRestart(c);
    }
    let active = 0;
    for (const c of this.regular) {
      if (busy(c)) active++;
      else if (!c.exited || this.shouldRestart(c)) {
        this.startOrRestart(c);
        active++;
      }
    }
    if (!active) void this.terminate();
  }

  private shouldRestart(c: Container): boolean {
    if (c.sidecar) return true;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    return policy === 'Always' || (policy === 'OnFailure' && c.exited!.exitCode !== 0);
  }

  /** First start at once; a restart goes through the crash-loop back-off (upstream doBackOff). */
  private startOrRestart(c: Container): void {
    if (!c.exited) return this.startContainer(c);
    const now = Date.now();
    const finished = c.exitedAt ?? now;
    if (c.backOff && finished - c.backOff.updatedAt > 2 * this.host.backOff.maxMs) c.backOff = undefined;
    if (c.backOff && now - finished < c.backOff.periodMs) {
      const period = formatDuration(c.backOff.periodMs);
      c.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${period} restarting failed container=${c.name} pod=${this.podFullName()}` };
      this.host.event(this.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${this.podFullName()}`);
      c.wake = this.host.timers.after(finished + c.backOff.periodMs - now, () => {
        c.wake = undefined;
        this.requestSync();
      });
      this.changed();
      return;
    }
    c.backOff = { periodMs: c.backOff ? Math.min(2 * c.backOff.periodMs, this.host.backOff.maxMs) : this.host.backOff.initialMs, updatedAt: now };
    this.startContainer(c);
  }

  private startContainer(c: Container): void {
    if (c.instances > 0) {
      if (c.exited) c.lastTerminated = c.exited;
      c.exited = undefined;
      c.restartCount++;
    }
    c.waiting = undefined;
    const instance: { exit?: ContainerExit; id?: string } = {};
    const onExit = (exit: ContainerExit) => {
      if (instance.id) this.onExit(c, instance.id, exit);
      else instance.exit = exit;
    };
    const request = { container: c.spec, init: c.init, restartCount: c.restartCount };
    c.starting = this.host.runtime.startContainer(this.sandboxId!, request, onExit).then(
      async (started) => {
        if (this.dead) return;
        c.instances++;
        c.id = instance.id = started.id;
        c.startedAt = timestamp(started.startedAt);
        c.running = true;
        c.started = !c.spec.startupProbe;
        c.readiness = 'failure';
        c.imageID ||= imageIDFor(c.spec.image);
        this.host.event(this.pod, 'Normal', 'Pulled', `Container image "${c.spec.image}" already present on machine`);
        this.host.event(this.pod, 'Normal', 'Created', `Created container: ${c.name}`);
        this.host.event(this.pod, 'Normal', 'Started', `Started container ${c.name}`);
        if (instance.exit) return this.onExit(c, started.id, instance.exit);
        const postStart = c.spec.lifecycle?.postStart;
        if (postStart) await this.runPostStart(c, postStart);
        if (c.running && this.state === 'active') this.startProbes(c, started.startedAt.getTime());
      },
      (e: unknown) => {
        if (this.dead || this.state !== 'active') return;
        // the runtime could not start it: recorded as an instance that ended at once
        const now = timestamp();
        c.instances++;
        c.exited = { exitCode: 128, reason: 'StartError', message: errorText(e), finishedAt: now };
        c.exitedAt = Date.now();
        this.host.event(this.pod, 'Warning', 'Failed', `Error: ${errorText(e)}`);
      },
    ).finally(() => {
      c.starting = undefined;
      this.changed();
      this.requestSync();
    });
    this.changed();
  }

  private onExit(c: Container, id: string, exit: ContainerExit): void {
    if (this.dead || c.id !== id) return;
    this.stopProbes(c);
    c.running = false;
    c.started = false;
    c.exited = {
      exitCode: exit.exitCode,
      reason: exit.reason,
      startedAt: c.startedAt,
      finishedAt: timestamp(exit.finishedAt),
      containerID: this.containerID(id),
    };
    c.exitedAt = exit.finishedAt.getTime();
    if (exit.signal) c.exited.signal = exit.signal;
    if (exit.message) c.exited.message = exit.message;
    this.changed();
    this.requestSync();
  }

  private async runPostStart(c: Container, handler: Obj): Promise<void> {
    const result = await this.runHook(c, 'postStart', handler, this.graceSeconds() * 1000);
    if (result.ok || !c.running) return;
    this.host.event(this.pod, 'Warning', 'FailedPostStartHook', this.hookFailure(c, handler, result.output));
    await this.killContainer(c, Date.now() + this.graceSeconds() * 1000, 'FailedPostStartHook');
  }

  private startProbes(c: Container, startedAt: number): void {
    if (c.init && !c.sidecar) return;
    const types: [ProbeType, string][] = [
      ['startup', 'startupProbe'],
      ['readiness', 'readinessProbe'],
      ['liveness', 'livenessProbe'],
    ];
    const id = c.id!;
    for (const [type, key] of types) {
      const probe = c.spec[key];
      if (!probe) continue;
      c.probers.push(
        new Prober(
          type,
          probe,
          {
            timers: this.host.timers,
            run: (purpose, handler, timeoutMs) => this.host.runtime.runHandler(id, { purpose, handler, podIP: this.ip ?? '', timeoutMs }),
            started: () => c.started,
            onResult: (t, result) => this.onProbeResult(c, t, result, probe),
            onFailure: (t, output) => this.host.event(this.pod, 'Warning', 'Unhealthy', `${PROBE_LABEL[t]} probe failed: ${output}`),
          },
          startedAt,
        ),
      );
    }
  }

  private stopProbes(c: Container): void {
    for (const p of c.probers.splice(0)) p.stop();
  }

  private onProbeResult(c: Container, type: ProbeType, result: ProbeResult, probe: Obj): void {
    if (this.dead || !c.running) return;
    if (type === 'readiness') c.readiness = result;
    else if (type === 'startup' && result === 'success') c.started = true;
    else if (result === 'failure') {
      const grace = typeof probe.terminationGracePeriodSeconds === 'number' ? probe.terminationGracePeriodSeconds : this.graceSeconds();
      void this.killContainer(c, Date.now() + grace * 1000, `Container ${c.name} failed ${type} probe, will be restarted`);
    }
    this.changed();
    this.requestSync();
  }

  /** preStop within the grace period, then the stop signal; resolves once the container is gone. */
  private killContainer(c: Container, deadline: number, message: string): Promise<void> {
    if (c.stopping) return c.stopping;
    if (!c.running || !c.id) return Promise.resolve();
    const id = c.id;
    this.stopProbes(c);
    this.host.event(this.pod, 'Normal', 'Killing', message);
    c.stopping = (async () => {
      const preStop = c.spec.lifecycle?.preStop;
      if (preStop && deadline > Date.now()) {
        const result = await this.runHook(c, 'preStop', preStop, deadline - Date.now());
        if (!result.ok && !this.dead) this.host.event(this.pod, 'Warning', 'FailedPreStopHook', this.hookFailure(c, preStop, result.output));
      }
      if (this.dead) return;
      await this.host.runtime.stopContainer(id, Math.max(deadline - Date.now(), MIN_STOP_GRACE_MS));
    })().finally(() => {
      c.stopping = undefined;
      this.requestSync();
    });
    return c.stopping;
  }

  private async runHook(c: Container, purpose: HandlerRequest['purpose'], handler: Obj, timeoutMs: number) {
    if (handler.sleep) {
      await this.host.timers.sleep(Math.min(Number(handler.sleep.seconds ?? 0) * 1000, timeoutMs));
      return { ok: true, output: '' };
    }
    const run = this.host.runtime.runHandler(c.id!, { purpose, handler, podIP: this.ip ?? '', timeoutMs });
    return withTimeout(run, timeoutMs, this.host.timers);
  }

  private hookFailure(c: Container, handler: Obj, output: string): string {
    const what = handler.exec ? `Exec lifecycle hook (${goList(handler.exec.command ?? [])})` : `HTTP lifecycle hook (${handler.httpGet?.path ?? '/'})`;
    return `${what} for Container "${c.name}" in Pod "${this.podFullName()}" failed - error: ${output}`;
  }

  /**
   * Stops everything (regular containers together, then sidecars in reverse order),
   * frees the sandbox and reports the terminal phase. A deleted pod is then confirmed
   * from sync().
   */
  private async terminate(): Promise<void> {
    if (this.state === 'terminating' || this.state === 'terminated') return;
    this.state = 'terminating';
    for (const c of this.all()) {
      c.wake?.();
      c.wake = undefined;
      // nothing restarts any more: a container waiting out a back-off shows how it ended
      if (c.exited) c.waiting = undefined;
      this.stopProbes(c);
    }
    this.sandboxWake?.();
    this.deadlineWake?.();
    const deadline = this.deadline();
    const inflight = [this.sandboxing, ...this.all().map((c) => c.starting)].filter(Boolean);
    if (inflight.length) {
      let cancel: Cancel | undefined;
      const timeUp = new Promise<void>((resolve) => (cancel = this.host.timers.after(deadline - Date.now(), resolve)));
      await Promise.race([Promise.allSettled(inflight), timeUp]);
      cancel?.();
    }
    if (this.dead) return;
    const stopping = (c: Container) => this.killContainer(c, deadline, `Stopping container ${c.name}`);
    await Promise.all(this.regular.map(stopping));
    for (const c of [...this.inits].reverse()) await stopping(c);
    if (this.dead) return;
    if (this.sandboxId) {
      const id = this.sandboxId;
      this.sandboxId = undefined;
      await this.host.runtime.removeSandbox(id).catch((e: unknown) => console.warn(`[agent] removing the sandbox of ${this.podFullName()}: ${errorText(e)}`));
    }
    if (this.ip) this.host.releaseIP(this.ip);
    this.host.releaseHostPorts(this.uid);
    this.state = 'terminated';
    this.resolveStopped();
    this.changed();
    this.requestSync();
  }

  /** When the containers must be gone: the deletion's grace period, or the pod's own. */
  private deadline(): number {
    const now = Date.now();
    if (this.apiGone) return now;
    const marked = this.pod.metadata.deletionTimestamp;
    const byGrace = now + this.graceSeconds() * 1000;
    return marked ? Math.max(now, Math.min(byGrace, Date.parse(marked))) : byGrace;
  }

  private graceSeconds(): number {
    const m = this.pod.metadata;
    if (m.deletionTimestamp && typeof m.deletionGracePeriodSeconds === 'number') return m.deletionGracePeriodSeconds;
    const g = this.pod.spec?.terminationGracePeriodSeconds;
    return typeof g === 'number' && g >= 0 ? g : DEFAULT_GRACE_SECONDS;
  }

  private containerStatus(c: Container): ContainerStatus {
    const hasInits = this.inits.length > 0;
    let state: ContainerStatus['state'];
    let last = c.lastTerminated;
    if (c.running) state = { running: { startedAt: c.startedAt! } };
    else if (c.waiting) {
      state = { waiting: { ...c.waiting } };
      last = c.exited;
    } else if (c.exited) state = { terminated: { ...c.exited } };
    else state = { waiting: { reason: hasInits && !c.init && c.instances === 0 ? 'PodInitializing' : 'ContainerCreating' } };
    const s: ContainerStatus = {
      name: c.name,
      state,
      lastState: last ? { terminated: { ...last } } : {},
      ready: this.isReady(c),
      restartCount: c.restartCount,
      image: c.spec.image,
      imageID: c.instances > 0 ? c.imageID : '',
      started: c.running && c.started,
    };
    if (c.id) s.containerID = this.containerID(c.id);
    return s;
  }

  private isReady(c: Container): boolean {
    if (c.init && !c.sidecar) return c.exited?.exitCode === 0;
    if (!c.running || !c.started) return false;
    return !c.spec.readinessProbe || c.readiness === 'success';
  }

  private containerID(id: string): string {
    return `${this.host.runtime.type}://${id}`;
  }

  private podFullName(): string {
    return `${this.name}_${this.namespace}(${this.uid})`;
  }
}

/** Go's %s rendering of a string slice. */
function goList(items: string[]): string {
  return `[${items.join(' ')}]`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A stable made-up digest, so that imageID looks like a runtime's. */
function imageIDFor(image: unknown): string {
  const ref = String(image ?? '');
  const name = ref.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  return `${name}@sha256:${createHash('sha256').update(ref).digest('hex')}`;
}
