// One pod's life on a node, as the kubelet's pod worker runs it. The decisions (which
// container to start, restart, kill; back-offs; hooks and probes; termination; the
// status) are pure functions in ./pod-actions.ts over plain data; this file only
// performs them through the runtime and records what the runtime answers: admission
// (host ports), the sandbox (address and volumes), starts, kills, hooks, probe workers.
//
// sync() decides and dispatches; runtime calls run in the background and call back, so
// a slow start never blocks a deletion. Every delay is an entry in the agent's timer
// queue.
import { createHash } from 'node:crypto';
import { timestamp, type KubeObject } from '../api/object.js';
import {
  addEphemeralContainers,
  adoptContainers,
  computePodActions,
  graceSeconds,
  initialRecord,
  podFullName,
  podStatus,
  recordStartFailure,
  startErrorReason,
  MIN_STOP_GRACE_MS,
  type BackOffSettings,
  type ContainerRecord,
  type PodAction,
  type PodEvent,
  type PodRecord,
} from './pod-actions.js';
import { Prober, PROBE_LABEL, withTimeout, type ProbeType } from './probes.js';
import { podHostname } from './pod-status.js';
import type { ContainerExit, ContainerRuntime, HandlerRequest } from './runtime/runtime.js';
import type { Cancel, TimerQueue } from './timers.js';

export { MIN_STOP_GRACE_MS, type BackOffSettings } from './pod-actions.js';

type Obj = Record<string, any>;

const NODE_PORTS_DESC = "node(s) didn't have free ports for the requested pod ports";

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

export class PodWorker {
  pod: KubeObject;
  readonly uid: string;
  /** resolves once nothing of the pod runs locally any more */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private readonly rec: PodRecord;
  private dead = false;
  private sandboxId?: string;
  private readonly probers = new Map<ContainerRecord, Prober[]>();
  private wake?: { at: number; cancel: Cancel };
  /** when the pod was admitted: its probe workers tick from then on, as the kubelet's do */
  private admittedAt?: number;
  private syncQueued = false;

  constructor(
    pod: KubeObject,
    private readonly host: WorkerHost,
  ) {
    this.pod = pod;
    this.uid = pod.metadata.uid ?? '';
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.rec = initialRecord(pod, Date.now(), timestamp());
  }

  /** the pod is no longer in the API (deleted, or force-deleted behind the agent's back) */
  get apiGone(): boolean {
    return this.rec.apiGone;
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
    addEphemeralContainers(this.rec, pod);
    if (annotationsChanged && this.sandboxId) this.host.runtime.updateSandbox(this.sandboxId, pod);
    this.requestSync();
    this.host.statusChanged(this);
  }

  apiDeleted(): void {
    this.rec.apiGone = true;
    this.requestSync();
  }

  start(): void {
    this.requestSync();
  }

  /**
   * Starts by taking over the sandbox an earlier agent left running for this pod (an agent
   * restart): its containers keep running with their ids, start times and restart counts.
   * When it cannot be adopted it is removed, and the pod starts afresh as after a reboot.
   */
  adopt(sandboxId: string): void {
    const rec = this.rec;
    rec.sandbox = 'creating';
    this.requestSync();
    void (async () => {
      let ok = false;
      try {
        // the volumes' bookkeeping (in use on this node, exclusive directories) as for a new sandbox
        await this.host.volumePaths(this.pod);
        if (this.dead) return;
        const found = await this.host.runtime.adoptSandbox?.(sandboxId, this.pod, (id, exit) => {
          const c = this.all().find((x) => x.id === id);
          if (c) this.onExit(c, id, exit);
        });
        if (!found || this.dead) return;
        this.sandboxId = sandboxId;
        rec.ip = found.ip;
        adoptContainers(this.pod, rec, found.containers, this.host.runtime.type);
        rec.sandbox = 'ready';
        ok = true;
        this.changed();
      } catch (e) {
        console.warn(`[agent] adopting the sandbox of ${podFullName(this.pod)}: ${errorText(e)}`);
      } finally {
        if (!ok && !this.dead) {
          await this.host.runtime.removeSandbox(sandboxId).catch(() => undefined);
          rec.sandbox = 'none';
        }
        this.requestSync();
      }
    })();
  }

  /** The agent died: stop caring, call nothing. */
  /** The runtime's id of the pod's sandbox, while it has one. */
  get currentSandbox(): string | undefined {
    return this.sandboxId;
  }

  abandon(): void {
    this.dead = true;
    for (const c of this.all()) this.stopProbes(c);
    this.wake?.cancel();
    this.resolveStopped();
  }

  /** The ids of a container's current and previous instances, for logs. */
  containerIds(name: string): { current?: string; previous?: string } {
    const c = this.all().find((x) => x.name === name);
    if (!c) return {};
    return { current: c.id, previous: c.lastTerminated?.containerID?.replace(/^[^:]+:\/\//, '') };
  }

  /** Containers running now (init containers that run, sidecars included), for the usage summary. */
  runningContainers(): Array<{ name: string; id: string }> {
    return this.all()
      .filter((c) => c.running && c.id)
      .map((c) => ({ name: c.name, id: c.id! }));
  }

  /** The status the agent wants the API to show, or undefined before admission. */
  desiredStatus(now = timestamp()): Obj | undefined {
    return podStatus(this.pod, this.rec, { hostIP: this.host.hostIP, runtimeType: this.host.runtime.type, currentConditions: this.pod.status?.conditions ?? [] }, now);
  }

  private all(): ContainerRecord[] {
    return [...this.rec.inits, ...this.rec.regular, ...this.rec.ephemeral];
  }

  private container(name: string): ContainerRecord {
    return this.all().find((c) => c.name === name)!;
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

  private emit(events: PodEvent[]): void {
    for (const e of events) this.host.event(this.pod, e.type, e.reason, e.message);
  }

  private sync(): void {
    if (this.dead) return;
    if (this.rec.phase === 'new' && !this.admit()) return;
    const plan = computePodActions(this.pod, this.rec, Date.now(), this.host.backOff);
    for (const a of plan.actions) this.perform(a);
    this.armWake(plan.wakeAt);
  }

  /** One timer per worker, at the earliest time the decisions change by themselves. */
  private armWake(at: number | undefined): void {
    if (this.wake && this.wake.at === at) return;
    this.wake?.cancel();
    this.wake = undefined;
    if (at === undefined) return;
    const cancel = this.host.timers.after(at - Date.now(), () => {
      if (this.wake?.cancel === cancel) this.wake = undefined;
      this.requestSync();
    });
    this.wake = { at, cancel };
  }

  /** Admission: host ports. A pod deleted before it was admitted goes straight to termination. */
  private admit(): boolean {
    this.admittedAt = Date.now();
    this.rec.startTime = this.pod.status?.startTime ?? timestamp();
    if (!this.rec.apiGone && !this.pod.metadata.deletionTimestamp && !this.host.claimHostPorts(this.pod)) {
      const message = `Predicate NodePorts failed: ${NODE_PORTS_DESC}`;
      this.rec.failure = { reason: 'NodePorts', message: `Pod was rejected: ${message}`, rejected: true };
      this.host.event(this.pod, 'Warning', 'NodePorts', message);
      this.rec.phase = 'terminated';
      this.resolveStopped();
      this.changed();
      return false;
    }
    this.rec.phase = 'active';
    this.changed();
    return true;
  }

  private perform(a: PodAction): void {
    const rec = this.rec;
    switch (a.type) {
      case 'CreateSandbox':
        return this.createSandbox();
      case 'StartContainer':
        return this.startContainer(this.container(a.name), a.backOff);
      case 'BackOff': {
        this.container(a.name).waiting = a.waiting;
        this.emit(a.events);
        return this.changed();
      }
      case 'RunPostStart':
        return this.runPostStart(this.container(a.name));
      case 'StartProbes':
        return this.startProbes(this.container(a.name));
      case 'KillContainer':
        return this.killContainer(this.container(a.name), a.deadline, a.message);
      case 'MarkInitialized':
        rec.initialized = true;
        return this.changed();
      case 'Fail':
        rec.failure = { reason: a.reason, message: a.message, rejected: false };
        this.host.event(this.pod, 'Warning', a.reason, a.message);
        return this.changed();
      case 'BeginTermination':
        rec.phase = 'terminating';
        rec.killDeadline = a.deadline;
        for (const c of this.all()) {
          // nothing restarts any more: a container waiting out a back-off shows how it ended
          if (c.exited) c.waiting = undefined;
          this.stopProbes(c);
        }
        this.changed();
        return this.requestSync();
      case 'RemoveSandbox': {
        const id = this.sandboxId!;
        rec.sandbox = 'removing';
        this.changed();
        void this.host.runtime
          .removeSandbox(id)
          .catch((e: unknown) => console.warn(`[agent] removing the sandbox of ${podFullName(this.pod)}: ${errorText(e)}`))
          .finally(() => {
            if (this.sandboxId === id) this.sandboxId = undefined;
            rec.sandbox = 'none';
            this.requestSync();
          });
        return;
      }
      case 'Terminated':
        if (rec.ip) this.host.releaseIP(rec.ip);
        this.host.releaseHostPorts(this.uid);
        rec.phase = 'terminated';
        this.resolveStopped();
        this.changed();
        return this.requestSync();
      case 'ConfirmDeletion':
        rec.confirming = true;
        void this.host.confirmDeletion(this);
        return;
      case 'Finish':
        rec.finished = true;
        return this.host.finished(this);
    }
  }

  private createSandbox(): void {
    const rec = this.rec;
    rec.sandbox = 'creating';
    void (async () => {
      try {
        const volumePaths = await this.host.volumePaths(this.pod).catch((e: unknown) => {
          throw Object.assign(new Error(errorText(e)), { mount: true });
        });
        if (this.dead) return;
        rec.ip ??= this.host.allocateIP(this.pod);
        this.sandboxId = await this.host.runtime.createSandbox({ pod: this.pod, ip: rec.ip, hostname: podHostname(this.pod), volumePaths });
        rec.sandbox = 'ready';
        rec.sandboxFailures = 0;
        rec.sandboxRetryAt = undefined;
        this.changed();
      } catch (e) {
        rec.sandbox = 'none';
        if (this.dead) return;
        const mount = (e as { mount?: boolean }).mount;
        this.host.event(this.pod, 'Warning', mount ? 'FailedMount' : 'FailedCreatePodSandBox', mount ? errorText(e) : `Failed to create pod sandbox: ${errorText(e)}`);
        const delay = Math.min((this.host.backOff.initialMs / 10) * 2 ** rec.sandboxFailures++, this.host.backOff.maxMs);
        rec.sandboxRetryAt = Date.now() + delay;
      } finally {
        this.requestSync();
      }
    })();
  }

  private startContainer(c: ContainerRecord, backOff: ContainerRecord['backOff']): void {
    if (backOff) c.backOff = backOff;
    // a restart: the instance that ended becomes lastState
    if (c.exited) {
      c.lastTerminated = c.exited;
      c.exited = undefined;
      c.restartCount++;
    }
    // a retried pull or creation keeps showing its error until it succeeds or fails again
    if (!c.startFailure) c.waiting = undefined;
    c.starting = true;
    const sandboxId = this.sandboxId!;
    const instance: { exit?: ContainerExit; id?: string } = {};
    const onExit = (exit: ContainerExit) => {
      if (instance.id) this.onExit(c, instance.id, exit);
      else instance.exit = exit;
    };
    const request = { container: c.spec, init: c.init, ephemeral: c.ephemeral, restartCount: c.restartCount };
    this.host.runtime
      .startContainer(sandboxId, request, onExit)
      .then(
        (started) => {
          c.starting = false;
          // the sandbox went away meanwhile: so did the container
          if (this.dead || this.sandboxId !== sandboxId) return;
          c.instances++;
          c.id = instance.id = started.id;
          c.startedAt = timestamp(started.startedAt);
          c.running = true;
          c.started = !c.spec.startupProbe;
          c.readiness = 'failure';
          c.waiting = undefined;
          c.startFailure = undefined;
          c.pullBackOff = undefined;
          c.unhealthy = undefined;
          c.postStart = c.spec.lifecycle?.postStart ? 'pending' : 'done';
          c.probing = false;
          c.imageID = started.imageID ?? (c.imageID || imageIDFor(c.spec.image));
          this.host.event(this.pod, 'Normal', 'Pulled', `Container image "${c.spec.image}" already present on machine`);
          this.host.event(this.pod, 'Normal', 'Created', `Created container: ${c.name}`);
          this.host.event(this.pod, 'Normal', 'Started', `Started container ${c.name}`);
          if (instance.exit) this.onExit(c, started.id, instance.exit);
        },
        (e: unknown) => {
          c.starting = false;
          if (this.dead || this.rec.phase !== 'active') return;
          this.emit(recordStartFailure(c, startErrorReason(e), errorText(e), Date.now(), timestamp(), this.host.backOff));
        },
      )
      .finally(() => {
        this.changed();
        this.requestSync();
      });
    this.changed();
  }

  private onExit(c: ContainerRecord, id: string, exit: ContainerExit): void {
    if (this.dead || c.id !== id) return;
    this.stopProbes(c);
    c.running = false;
    c.started = false;
    c.unhealthy = undefined;
    c.exited = {
      exitCode: exit.exitCode,
      reason: exit.reason,
      startedAt: c.startedAt,
      finishedAt: timestamp(exit.finishedAt),
      containerID: `${this.host.runtime.type}://${id}`,
    };
    c.exitedAt = exit.finishedAt.getTime();
    if (exit.signal) c.exited.signal = exit.signal;
    if (exit.message) c.exited.message = exit.message;
    this.changed();
    this.requestSync();
  }

  private runPostStart(c: ContainerRecord): void {
    const handler = c.spec.lifecycle.postStart;
    const id = c.id!;
    c.postStart = 'running';
    void this.runHook(c, 'postStart', handler, graceSeconds(this.pod) * 1000).then((result) => {
      if (this.dead || c.id !== id) return;
      c.postStart = 'done';
      if (!result.ok && c.running) {
        this.host.event(this.pod, 'Warning', 'FailedPostStartHook', this.hookFailure(c, handler, result.output));
        c.unhealthy = { message: 'FailedPostStartHook' };
      }
      this.requestSync();
    });
  }

  private startProbes(c: ContainerRecord): void {
    c.probing = true;
    const types: [ProbeType, string][] = [
      ['startup', 'startupProbe'],
      ['readiness', 'readinessProbe'],
      ['liveness', 'livenessProbe'],
    ];
    const id = c.id!;
    const startedAt = Date.parse(c.startedAt!);
    const list: Prober[] = [];
    for (const [type, key] of types) {
      const probe = c.spec[key];
      if (!probe) continue;
      list.push(
        new Prober(
          type,
          probe,
          {
            timers: this.host.timers,
            run: (purpose, handler, timeoutMs) => this.host.runtime.runHandler(id, { purpose, handler, podIP: this.rec.ip ?? '', timeoutMs }),
            started: () => c.started,
            onResult: (t, result) => {
              if (this.dead || !c.running || c.id !== id) return;
              if (t === 'readiness') c.readiness = result;
              else if (t === 'startup' && result === 'success') c.started = true;
              else if (result === 'failure') {
                const grace = typeof probe.terminationGracePeriodSeconds === 'number' ? probe.terminationGracePeriodSeconds : undefined;
                c.unhealthy = { message: `Container ${c.name} failed ${t} probe, will be restarted`, graceSeconds: grace };
              }
              this.changed();
              this.requestSync();
            },
            onFailure: (t, output) => this.host.event(this.pod, 'Warning', 'Unhealthy', `${PROBE_LABEL[t]} probe failed: ${output}`),
          },
          startedAt,
          this.admittedAt,
        ),
      );
    }
    this.probers.set(c, list);
  }

  private stopProbes(c: ContainerRecord): void {
    for (const p of this.probers.get(c) ?? []) p.stop();
    this.probers.delete(c);
  }

  /** preStop within the grace period, then the stop signal; the exit comes back through onExit. */
  private killContainer(c: ContainerRecord, deadline: number, message: string): void {
    const id = c.id!;
    this.stopProbes(c);
    this.host.event(this.pod, 'Normal', 'Killing', message);
    c.stopping = true;
    void (async () => {
      const preStop = c.spec.lifecycle?.preStop;
      if (preStop && deadline > Date.now()) {
        const result = await this.runHook(c, 'preStop', preStop, deadline - Date.now());
        if (!result.ok && !this.dead) this.host.event(this.pod, 'Warning', 'FailedPreStopHook', this.hookFailure(c, preStop, result.output));
      }
      if (this.dead) return;
      await this.host.runtime.stopContainer(id, Math.max(deadline - Date.now(), MIN_STOP_GRACE_MS));
      // a runtime that lost the container says nothing more of it: count it as killed rather than stop it forever
      if (!this.dead && c.running && c.id === id) this.onExit(c, id, { exitCode: 137, reason: 'Error', message: 'the container was gone from the runtime', finishedAt: new Date() });
    })()
      .catch((e: unknown) => console.warn(`[agent] stopping container ${c.name} of ${podFullName(this.pod)}: ${errorText(e)}`))
      .finally(() => {
        c.stopping = false;
        this.requestSync();
      });
  }

  private async runHook(c: ContainerRecord, purpose: HandlerRequest['purpose'], handler: Obj, timeoutMs: number) {
    if (handler.sleep) {
      await this.host.timers.sleep(Math.min(Number(handler.sleep.seconds ?? 0) * 1000, timeoutMs));
      return { ok: true, output: '' };
    }
    const run = this.host.runtime.runHandler(c.id!, { purpose, handler, podIP: this.rec.ip ?? '', timeoutMs });
    return withTimeout(run, timeoutMs, this.host.timers);
  }

  private hookFailure(c: ContainerRecord, handler: Obj, output: string): string {
    const what = handler.exec ? `Exec lifecycle hook (${goList(handler.exec.command ?? [])})` : `HTTP lifecycle hook (${handler.httpGet?.path ?? '/'})`;
    return `${what} for Container "${c.name}" in Pod "${podFullName(this.pod)}" failed - error: ${output}`;
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
