// The boundary between the node agent and whatever runs containers. The agent owns the
// pod lifecycle (ordering, restarts, back-off, probes' timing, termination, status); a
// runtime only does what a CRI runtime does: sandboxes, containers, exit notifications,
// handler execution (probes and hooks), and logs. The simulated runtime (./sim.ts)
// decides everything from data; a process runtime (sandboxed processes) implements the
// same interface.
import type { KubeObject } from '../../api/object.js';

export interface SandboxRequest {
  /** the pod as the agent last saw it (annotations carry per-pod runtime settings) */
  pod: KubeObject;
  /** the pod's address, allocated by the agent from the node's loopback range */
  ip: string;
  /** HOSTNAME inside the pod: spec.hostname or the pod name (63 chars at most) */
  hostname: string;
  /** volume name → directory on the host, as resolved by the agent's volume hook */
  volumePaths: Record<string, string>;
}

export interface ContainerRequest {
  /** the container's spec, as in the pod */
  container: Record<string, any>;
  /** an init container (sidecars included) rather than a regular one */
  init: boolean;
  /** an ephemeral container added by kubectl debug */
  ephemeral?: boolean;
  /** how many instances of this container ran in the pod before this one */
  restartCount: number;
}

export interface ContainerUsage {
  cpuCoreNanoSeconds: number;
  workingSetBytes: number;
  /** when the reading was taken (ms since the epoch), if the runtime knows better than its caller */
  at?: number;
}

export interface StartedContainer {
  /** the runtime's id, without the "<type>://" prefix */
  id: string;
  startedAt: Date;
  /** the image actually run, for containerStatuses[].imageID (runtimes that know it) */
  imageID?: string;
}

export interface ContainerExit {
  exitCode: number;
  /** Completed, Error, OOMKilled, ... as a CRI runtime reports it */
  reason: string;
  signal?: number;
  message?: string;
  finishedAt: Date;
}

/** What a probe or lifecycle hook is run for; the simulated runtime picks its behaviour by it. */
export type HandlerPurpose = 'startup' | 'readiness' | 'liveness' | 'preStop' | 'postStart';

export interface HandlerRequest {
  purpose: HandlerPurpose;
  /** a probe or lifecycle handler: exec, httpGet, tcpSocket or grpc (sleep is the agent's) */
  handler: Record<string, any>;
  /** the pod's address: the default host of httpGet and tcpSocket handlers */
  podIP: string;
  timeoutMs: number;
}

export interface HandlerResult {
  ok: boolean;
  /** probe output or failure text, e.g. "HTTP probe failed with statuscode: 503" */
  output: string;
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  /** only lines written at or after this time */
  since?: Date;
}

export interface LogLine {
  time: Date;
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * An attach to a container whose main process has ended. A kubelet refuses it ("container NAME not found in
 * pod POD_NAMESPACE"), and kubectl run then prints the container's logs instead.
 */
export class ContainerNotRunningError extends Error {}

/** The streams of an exec or attach session (kubectl exec/attach, over the node agent's server). */
export interface AttachRequest {
  /** a terminal: stdout and stderr are one stream (stderr is then unused) */
  tty: boolean;
  /** the client's input; ends when the client closes stdin */
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** terminal sizes, the first one at the start and then on every change (tty only) */
  resize?: AsyncIterable<{ width: number; height: number }>;
}

export interface ExecRequest extends AttachRequest {
  /** argv, as kubectl exec's words after "--" */
  command: string[];
}

export interface ExecResult {
  exitCode: number;
  /** why the command could not run or ended abnormally, e.g. "executable file not found" */
  message?: string;
}

export interface SandboxInfo {
  id: string;
  podUid: string;
  /** the volumePaths the sandbox was created with */
  volumePaths: Record<string, string>;
}

/** A container found in a sandbox an earlier agent left: still running, or how it ended meanwhile. */
export interface AdoptedContainer {
  id: string;
  /** the container's name in the pod */
  name: string;
  startedAt: Date;
  imageID?: string;
  /** set when it ended while no agent watched it */
  exit?: ContainerExit;
}

export interface AdoptedSandbox {
  ip: string;
  /** every instance the sandbox still holds (the current and the previous of each container) */
  containers: AdoptedContainer[];
}

export interface ContainerRuntime {
  /** the container ID scheme, e.g. "petset-sim" gives containerID petset-sim://<id> */
  readonly type: string;
  /** reported as nodeInfo.containerRuntimeVersion, e.g. petset-sim://0.1 */
  readonly version: string;

  /** Sets up the pod's network identity and volumes; answers the sandbox id. */
  createSandbox(req: SandboxRequest): Promise<string>;
  /** The pod's metadata changed (the simulated runtime takes its behaviour from annotations). */
  updateSandbox(sandboxId: string, pod: KubeObject): void;
  /** Kills whatever still runs in the sandbox (no exit notifications) and frees it. */
  removeSandbox(sandboxId: string): Promise<void>;
  /** Sandboxes that exist, e.g. left over from an earlier agent on this node. */
  listSandboxes(): Promise<SandboxInfo[]>;

  /**
   * Pulls, creates and starts a container; resolves once it runs. onExit is called once,
   * when the container ends by itself or by stopContainer (never after removeSandbox).
   * Rejects when the container cannot be started or the sandbox goes away first.
   */
  startContainer(sandboxId: string, req: ContainerRequest, onExit: (exit: ContainerExit) => void): Promise<StartedContainer>;
  /**
   * Sends the stop signal, then kills once graceMs have passed. Resolves after the
   * container has exited (and onExit was called).
   */
  stopContainer(containerId: string, graceMs: number): Promise<void>;
  /** Runs a probe or hook handler against a running container. Never rejects. */
  runHandler(containerId: string, req: HandlerRequest): Promise<HandlerResult>;
  /** The container's output, including that of exited containers until their sandbox is removed. */
  logs(containerId: string, opts?: LogOptions): AsyncIterable<LogLine>;
  /** Output kept after a sandbox went (a completed pod's): dropped once the pod is gone from the API. */
  removePodLogs?(podUid: string): void;
  /** The pods whose output is kept. */
  podsWithLogs?(): string[];

  /**
   * Runs a command inside a running container (kubectl exec); resolves with its exit code once
   * it ends and its output has been written. Rejects when it cannot be started at all (the
   * rejection's message reaches the user).
   */
  exec(containerId: string, req: ExecRequest): Promise<ExecResult>;
  /**
   * Connects the streams to the container's main process (kubectl attach); resolves when the session or the container ends.
   * Rejects with ContainerNotRunningError when the main process has already ended (output from then on is the logs').
   */
  attach(containerId: string, req: AttachRequest): Promise<void>;
  /**
   * Whether the container's main process runs at this moment, as the system says, not as the runtime's
   * bookkeeping of exits has it yet (the node agent refuses attach to an ended container before the stream starts,
   * as a kubelet does). Runtimes without it are asked nothing.
   */
  running?(containerId: string): boolean;
  /** A TCP connection to the port inside the pod's network namespace (kubectl port-forward). */
  portForward(sandboxId: string, port: number): Promise<import('node:net').Socket | import('node:stream').Duplex>;

  /**
   * A running container's cumulative CPU time and current memory working set (the kubelet
   * summary's sources; the agent turns CPU time into a rate). Undefined when the container does
   * not run or the runtime cannot tell.
   */
  containerUsage?(containerId: string): ContainerUsage | undefined;

  /** Why containers' resource limits cannot be applied on this machine (pods then run without them), or undefined. */
  limitsUnavailable?(): string | undefined;

  /** The node dies: everything stops at once, with no notifications. */
  killAll(): void;

  /**
   * The agent restarts: the runtime lets go of its sandboxes without stopping anything, for
   * a later runtime on the same state to adopt (runtimes whose sandboxes outlive the agent).
   */
  release?(): void;
  /**
   * Takes over a sandbox an earlier agent left: its containers keep running (same processes,
   * same ids, logs continue) and onExit reports their ends from now on. Undefined when the
   * sandbox cannot be adopted (its pod process is gone, or it is not this pod's).
   */
  adoptSandbox?(sandboxId: string, pod: KubeObject, onExit: (containerId: string, exit: ContainerExit) => void): Promise<AdoptedSandbox | undefined>;
}
