// The simulated runtime: containers are records and timers, not processes, so a scale
// test can run thousands of pods in one process and a failure drill can script exactly
// how a container behaves. Behaviour is data, in kwok's manner: per-node defaults,
// overridden per pod by annotations, overridden per container by a ".<container>" suffix.
// Annotations are read when they matter (a start, a probe, a stop), so annotating a
// running pod changes what happens next: `kubectl annotate pod web-0
// petset.io/sim-ready=false --overwrite` breaks its readiness probe.
//
// Settings (annotation `petset.io/sim-<key>` on the pod, `petset.io/sim-<key>.<container>`
// for one container, or `<key>` in the node's defaults):
//
//   start-delay     how long pulling, creating and starting a container takes ("2s", "250ms",
//                   a bare number is ms). Default 0.
//   crash-after     the container exits by itself this long after it started; "never" keeps
//                   it running. Default 0 for init containers (they complete at once),
//                   never for regular containers and sidecars.
//   crash-times     only the first N instances of the container exit by themselves; later
//                   ones keep running (a crash loop that recovers). Default: every instance.
//   exit-code       the code of those exits. Default 0 for init containers, 1 otherwise.
//   ready           readiness probe results   } "true" (default), "false",
//   live            liveness probe results    } "after <d>" (or just "<d>"): fail until the
//   startup         startup probe results     } container has run <d>, then pass; "until <d>":
//                                               pass until then, fail after.
//                   Every handler type (exec, httpGet, tcpSocket, grpc) obeys these; without
//                   a readinessProbe a container is ready once it runs, as upstream.
//   term-delay      how long the container takes to exit after the stop signal; "never"
//                   ignores it, so it is killed when the grace period ends (exit 137).
//                   Default 0.
//   term-exit-code  the exit code after the stop signal. Default 143 (128 + SIGTERM).
//   hook-delay      how long preStop and postStart exec/httpGet handlers take. Default 0.
//   start-error     every start of the container fails, after start-delay, the way a real
//                   runtime's does: "<Reason>" or "<Reason>: <message>" with Reason one of
//                   ErrImagePull, CreateContainerConfigError, CreateContainerError,
//                   RunContainerError (the agent shows it as kubelet does).
//
//   cpu             the container's CPU usage as a quantity ("250m", "1.5"): the rate
//                   `kubectl top` and the HorizontalPodAutoscaler see (metrics.k8s.io). Default
//                   "1m". Changing it on a running pod changes the usage from then on.
//   memory          the container's memory working set as a quantity ("64Mi"). Default "4Mi".
//
// Images: an image whose repository name (the last path segment, before the tag) starts
// with "does-not-exist" cannot be pulled (ErrImagePull), so `kubectl set image sts/web
// nginx=does-not-exist:1` behaves as on a real cluster.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { KubeObject } from '../../api/object.js';
import { quantityMilliValue, quantityValue, tryParseQuantity } from '../../api/quantity.js';
import { parseDuration, TimerQueue, type Cancel } from '../timers.js';
import type {
  ContainerExit,
  ContainerRequest,
  ContainerRuntime,
  ContainerUsage,
  AttachRequest,
  ExecRequest,
  ExecResult,
  HandlerRequest,
  HandlerResult,
  LogLine,
  LogOptions,
  SandboxInfo,
  SandboxRequest,
  StartedContainer,
} from './runtime.js';

export const SIM_ANNOTATION_PREFIX = 'petset.io/sim-';

/** Node-wide defaults, keyed like the annotations without their prefix, e.g. { 'start-delay': '1s' }. */
export type SimDefaults = Record<string, string>;

const SIGTERM_EXIT = 143;
const SIGKILL_EXIT = 137;
const MAX_LOG_LINES = 1000;

interface SimSandbox {
  podUid: string;
  pod: KubeObject;
  ip: string;
  volumePaths: Record<string, string>;
  containers: Set<string>;
  /** starts that have not finished yet, so removal can fail them */
  pendingStarts: Set<() => void>;
  /** instances per container name, oldest first: only the last two are kept (for logs --previous) */
  history: Map<string, string[]>;
}

interface SimContainer {
  id: string;
  /** CPU time so far (ns) up to usageAt, at the rate the cpu setting gave since the last reading */
  cpuNs: number;
  usageAt: number;
  name: string;
  settings: (key: string) => string | undefined;
  startedAt: Date;
  onExit: (exit: ContainerExit) => void;
  timers: Cancel[];
  exited?: ContainerExit;
  exitWaiters: (() => void)[];
  stopping: boolean;
  logs: LogLine[];
  logWaiters: (() => void)[];
}

type ProbePlan = { kind: 'always' | 'never' } | { kind: 'after' | 'until'; ms: number };

export function parseProbePlan(text: string | undefined): ProbePlan | undefined {
  const s = text?.trim().toLowerCase();
  if (!s || s === 'true') return { kind: 'always' };
  if (s === 'false') return { kind: 'never' };
  const m = /^(after|until)\s+(.+)$/.exec(s);
  const ms = parseDuration(m ? m[2] : s);
  if (ms === undefined) return undefined;
  return { kind: m?.[1] === 'until' ? 'until' : 'after', ms };
}

export class SimRuntime implements ContainerRuntime {
  readonly type = 'petset-sim';
  readonly version = 'petset-sim://0.1';
  private readonly sandboxes = new Map<string, SimSandbox>();
  private readonly containers = new Map<string, SimContainer>();
  /** instances started so far, per pod uid and container name (for crash-times) */
  private readonly instances = new Map<string, number>();

  constructor(
    readonly defaults: SimDefaults = {},
    private readonly timers = new TimerQueue(),
  ) {}

  async createSandbox(req: SandboxRequest): Promise<string> {
    const id = newId();
    this.sandboxes.set(id, {
      podUid: req.pod.metadata.uid ?? '',
      pod: req.pod,
      ip: req.ip,
      volumePaths: { ...req.volumePaths },
      containers: new Set(),
      pendingStarts: new Set(),
      history: new Map(),
    });
    return id;
  }

  updateSandbox(sandboxId: string, pod: KubeObject): void {
    const sb = this.sandboxes.get(sandboxId);
    if (sb) sb.pod = pod;
  }

  async removeSandbox(sandboxId: string): Promise<void> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) return;
    this.sandboxes.delete(sandboxId);
    for (const fail of sb.pendingStarts) fail();
    for (const id of sb.containers) {
      const c = this.containers.get(id);
      if (c) this.forget(c);
    }
    for (const key of this.instances.keys()) if (key.startsWith(`${sb.podUid}/`)) this.instances.delete(key);
  }

  async listSandboxes(): Promise<SandboxInfo[]> {
    return [...this.sandboxes].map(([id, sb]) => ({ id, podUid: sb.podUid, volumePaths: { ...sb.volumePaths } }));
  }

  startContainer(sandboxId: string, req: ContainerRequest, onExit: (exit: ContainerExit) => void): Promise<StartedContainer> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) return Promise.reject(new Error(`sandbox ${sandboxId} not found`));
    const name: string = req.container.name;
    const settings = this.settingsFor(sb, name);
    const delay = durationSetting(settings, 'start-delay') ?? 0;
    return new Promise((resolve, reject) => {
      const fail = () => {
        cancel();
        reject(new Error(`sandbox ${sandboxId} was removed before container ${name} started`));
      };
      sb.pendingStarts.add(fail);
      const cancel = this.timers.after(delay, () => {
        sb.pendingStarts.delete(fail);
        if (!this.sandboxes.has(sandboxId)) return reject(new Error(`sandbox ${sandboxId} not found`));
        const failure = startFailure(req.container.image, settings('start-error'));
        if (failure) return reject(failure);
        resolve(this.run(sb, req, settings, onExit));
      });
    });
  }

  async stopContainer(containerId: string, graceMs: number): Promise<void> {
    const c = this.containers.get(containerId);
    if (!c || c.exited) return;
    if (!c.stopping) {
      c.stopping = true;
      this.log(c, 'petset-sim: received SIGTERM');
      for (const cancel of c.timers.splice(0)) cancel();
      const termDelay = c.settings('term-delay')?.trim() === 'never' ? Infinity : (durationSetting(c.settings, 'term-delay') ?? 0);
      if (termDelay <= graceMs) {
        const code = intSetting(c.settings, 'term-exit-code') ?? SIGTERM_EXIT;
        c.timers.push(this.timers.after(termDelay, () => this.exit(c, code)));
      } else {
        c.timers.push(this.timers.after(graceMs, () => this.exit(c, SIGKILL_EXIT, 9)));
      }
    }
    await new Promise<void>((resolve) => (c.exited ? resolve() : c.exitWaiters.push(resolve)));
  }

  async runHandler(containerId: string, req: HandlerRequest): Promise<HandlerResult> {
    const c = this.containers.get(containerId);
    if (!c || c.exited) return { ok: false, output: `container ${containerId} is not running` };
    if (req.purpose === 'preStop' || req.purpose === 'postStart') {
      const delay = durationSetting(c.settings, 'hook-delay') ?? 0;
      if (delay > 0) await this.timers.sleep(Math.min(delay, req.timeoutMs));
      return delay > req.timeoutMs ? { ok: false, output: 'hook timed out' } : { ok: true, output: '' };
    }
    const key = req.purpose === 'readiness' ? 'ready' : req.purpose === 'liveness' ? 'live' : 'startup';
    const plan = parseProbePlan(c.settings(key)) ?? { kind: 'always' };
    const ran = Date.now() - c.startedAt.getTime();
    const ok = plan.kind === 'always' || (plan.kind === 'after' && ran >= plan.ms) || (plan.kind === 'until' && ran < plan.ms);
    return ok ? { ok, output: '' } : { ok, output: failureOutput(req) };
  }

  async *logs(containerId: string, opts: LogOptions = {}): AsyncIterable<LogLine> {
    const c = this.containers.get(containerId);
    if (!c) throw new Error(`container ${containerId} not found`);
    let lines = opts.since ? c.logs.filter((l) => l.time >= opts.since!) : c.logs;
    if (opts.tailLines !== undefined) lines = lines.slice(Math.max(0, lines.length - opts.tailLines));
    let seen = c.logs.length;
    yield* lines.slice();
    while (opts.follow && !c.exited) {
      await new Promise<void>((resolve) => c.logWaiters.push(resolve));
      yield* c.logs.slice(seen);
      seen = c.logs.length;
    }
  }

  // Simulated containers have no processes: there is nothing to run a command in or attach to.
  async exec(containerId: string, _req?: ExecRequest): Promise<ExecResult> {
    throw new Error(`container ${containerId} runs on the simulated runtime (petset-sim), which runs no processes: exec is not possible; use the process runtime (petset up --runtime process) for kubectl exec`);
  }

  async attach(containerId: string, _req?: AttachRequest): Promise<void> {
    throw new Error(`container ${containerId} runs on the simulated runtime (petset-sim), which runs no processes: attach is not possible; use the process runtime (petset up --runtime process) for kubectl attach`);
  }

  /** The pod's address is a real loopback address, so whatever listens there (a test's server) is reachable. */
  portForward(sandboxId: string, port: number): Promise<net.Socket> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) return Promise.reject(new Error(`sandbox ${sandboxId} not found`));
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: sb.ip, port });
      sock.once('connect', () => {
        sock.removeListener('error', reject);
        resolve(sock);
      });
      sock.once('error', reject);
    });
  }

  killAll(): void {
    for (const id of [...this.sandboxes.keys()]) void this.removeSandbox(id);
  }

  /** Usage is the model the cpu and memory settings describe: CPU time accrues at the cpu rate. */
  containerUsage(containerId: string): ContainerUsage | undefined {
    const c = this.containers.get(containerId);
    if (!c || c.exited) return undefined;
    const now = Date.now();
    const rate = tryParseQuantity(c.settings('cpu') ?? '1m');
    c.cpuNs += ((rate ? quantityMilliValue(rate) : 1) / 1000) * (now - c.usageAt) * 1e6;
    c.usageAt = now;
    const mem = tryParseQuantity(c.settings('memory') ?? '4Mi');
    return { cpuCoreNanoSeconds: c.cpuNs, workingSetBytes: mem ? Math.round(quantityValue(mem)) : 0, at: now };
  }

  /** The effective setting for one container: annotation per container, per pod, then node default. */
  private settingsFor(sb: SimSandbox, container: string): (key: string) => string | undefined {
    return (key) => {
      const annotations = sb.pod.metadata.annotations ?? {};
      return annotations[`${SIM_ANNOTATION_PREFIX}${key}.${container}`] ?? annotations[`${SIM_ANNOTATION_PREFIX}${key}`] ?? this.defaults[`${key}.${container}`] ?? this.defaults[key];
    };
  }

  private run(sb: SimSandbox, req: ContainerRequest, settings: (key: string) => string | undefined, onExit: (exit: ContainerExit) => void): StartedContainer {
    const name: string = req.container.name;
    const c: SimContainer = {
      id: newId(),
      cpuNs: 0,
      usageAt: Date.now(),
      name,
      settings,
      startedAt: new Date(),
      onExit,
      timers: [],
      exitWaiters: [],
      stopping: false,
      logs: [],
      logWaiters: [],
    };
    this.containers.set(c.id, c);
    sb.containers.add(c.id);
    const history = sb.history.get(name) ?? [];
    history.push(c.id);
    sb.history.set(name, history);
    for (const old of history.splice(0, Math.max(0, history.length - 2))) {
      const gone = this.containers.get(old);
      if (gone) this.forget(gone);
      sb.containers.delete(old);
    }
    const instanceKey = `${sb.podUid}/${name}`;
    const instance = (this.instances.get(instanceKey) ?? 0) + 1;
    this.instances.set(instanceKey, instance);
    this.log(c, `petset-sim: container ${name} started in pod ${sb.pod.metadata.namespace}/${sb.pod.metadata.name} (${sb.ip})`);

    const runsToCompletion = req.init && req.container.restartPolicy !== 'Always';
    const crashText = settings('crash-after')?.trim();
    const crashAfter = crashText === 'never' ? undefined : (parseDuration(crashText) ?? (runsToCompletion ? 0 : undefined));
    const crashTimes = intSetting(settings, 'crash-times');
    if (crashAfter !== undefined && (crashTimes === undefined || instance <= crashTimes)) {
      const code = intSetting(settings, 'exit-code') ?? (runsToCompletion ? 0 : 1);
      c.timers.push(this.timers.after(crashAfter, () => this.exit(c, code)));
    }
    return { id: c.id, startedAt: c.startedAt };
  }

  private exit(c: SimContainer, exitCode: number, signal?: number): void {
    if (c.exited || !this.containers.has(c.id)) return;
    for (const cancel of c.timers.splice(0)) cancel();
    const exit: ContainerExit = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: new Date() };
    if (signal) exit.signal = signal;
    this.log(c, `petset-sim: exiting with code ${exitCode}`);
    c.exited = exit;
    try {
      c.onExit(exit);
    } finally {
      for (const w of c.exitWaiters.splice(0)) w();
      for (const w of c.logWaiters.splice(0)) w();
    }
  }

  private forget(c: SimContainer): void {
    for (const cancel of c.timers.splice(0)) cancel();
    this.containers.delete(c.id);
    c.exited ??= { exitCode: SIGKILL_EXIT, reason: 'Error', finishedAt: new Date() };
    for (const w of c.exitWaiters.splice(0)) w();
    for (const w of c.logWaiters.splice(0)) w();
  }

  private log(c: SimContainer, text: string): void {
    c.logs.push({ time: new Date(), stream: 'stdout', text });
    if (c.logs.length > MAX_LOG_LINES) c.logs.splice(0, c.logs.length - MAX_LOG_LINES);
    for (const w of c.logWaiters.splice(0)) w();
  }
}

const START_ERRORS = new Set(['ErrImagePull', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

/** The error a start fails with: a missing image, or the start-error setting. */
function startFailure(image: unknown, setting: string | undefined): Error | undefined {
  const ref = String(image ?? '');
  const repo = ref.replace(/@.*$/, '').replace(/:[^/:]*$/, '').split('/').pop() ?? '';
  if (repo.startsWith('does-not-exist')) {
    return Object.assign(new Error(`petset-sim: image "${ref}" not found: the simulated runtime treats images named does-not-exist* as missing`), { reason: 'ErrImagePull' });
  }
  const text = setting?.trim();
  if (!text) return undefined;
  const m = /^([A-Za-z]+)\s*(?::\s*(.*))?$/s.exec(text);
  const reason = m && START_ERRORS.has(m[1]) ? m[1] : 'RunContainerError';
  const message = (m && START_ERRORS.has(m[1]) ? m[2] : text) || `petset-sim: ${reason}`;
  return Object.assign(new Error(message), { reason });
}

function failureOutput(req: HandlerRequest): string {
  const h = req.handler;
  if (h.httpGet) return 'HTTP probe failed with statuscode: 503';
  if (h.tcpSocket) return `dial tcp ${h.tcpSocket.host || req.podIP}:${h.tcpSocket.port}: connect: connection refused`;
  if (h.grpc) return 'service unhealthy (responded with "NOT_SERVING")';
  return '';
}

function durationSetting(settings: (key: string) => string | undefined, key: string): number | undefined {
  return parseDuration(settings(key));
}

function intSetting(settings: (key: string) => string | undefined, key: string): number | undefined {
  const v = settings(key)?.trim();
  return v && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

function newId(): string {
  return randomBytes(32).toString('hex');
}
