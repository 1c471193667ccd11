// The node agent, petset's kubelet: registers its Node, renews its Lease, reports node
// status, watches the pods bound to it and runs each through a pod worker on a
// container runtime (simulated by default).
//
// Drills: crash() kills the agent and its pods on the spot, with no API calls;
// partition() cuts it off from the API while its pods keep running; heal() reconnects,
// and before anything else stops every local pod the API no longer lets it run (deleted,
// force-deleted, or replaced by a namesake), then reports the node and resumes.
import { randomUUID } from 'node:crypto';
import { isApiError } from '../api/errors.js';
import { deepEqual, type KubeObject } from '../api/object.js';
import { Client, resources } from '../client/client.js';
import { EventRecorder } from '../client/events.js';
import { Informer, stripManagedFields } from '../client/informer.js';
import { GatedTransport } from './gated-transport.js';
import { HostPortTable, hostPortsOf, maxNodeIndex, nodeAddressFor, nodeIndexOfCIDR, podAddresses, podCIDRFor, PodIPAllocator, podRange } from './network.js';
import type { Cidr } from './podnet/cidr.js';
import { machineCapacity, newNode, NODE_LEASE_NAMESPACE, nodeLabels, nodeLease, nodeStatus, nodeStatusDiffers, microTime, type NodeDescription } from './node-status.js';
import { PodWorker, type BackOffSettings, type WorkerHost } from './pod-worker.js';
import type { ContainerRuntime, LogLine, LogOptions } from './runtime/runtime.js';
import { SimRuntime, type SimDefaults } from './runtime/sim.js';
import { PodStatusWriter } from './status-writer.js';
import { TimerQueue } from './timers.js';
import { UsageSampler, type Summary, type UsagePod } from './stats.js';

/** How often container usage is read once someone asks for it (cadvisor's housekeeping is 10-15 s). */
const USAGE_SAMPLE_MS = 5_000;
import { PodVolumes } from './volumes.js';
import { startKubeletServer, type RunningKubeletServer } from './server/kubelet-server.js';
import { withVolumeLocks } from './runtime/volume-locking.js';

export interface NodeAgentOptions {
  /** how to reach the API; the agent wraps its transport (for drills) */
  client: Client;
  nodeName: string;
  /**
   * Picks the node's pod address range (see network.ts); unique per cluster. Default:
   * the index of an existing Node of this name, else the lowest one no Node uses.
   */
  nodeIndex?: number;
  /** the cluster's pod range (`petset up --pod-cidr`) the node's /24 comes from; default 127.64.0.0/12 */
  podCIDR?: string;
  /**
   * The node's address on its machine's network (the kubelet's --node-ip), reported as its
   * InternalIP and used as status.hostIP; default .1 of the node's /24 (all nodes on one machine).
   */
  nodeIP?: string;
  /**
   * Register the Node without a podCIDR and wait for the controller manager's node IPAM to give
   * it one (--allocate-node-cidrs), instead of picking the lowest free /24 itself: machines that
   * join at the same moment then never share a /24.
   */
  podCIDRFromController?: boolean;
  /** called once the node's /24 is known, before any pod starts (the pod network of a joined machine is made here) */
  onNodeIndex?: (index: number) => Promise<void>;
  /**
   * default: a SimRuntime with `sim` as its node-wide defaults. A function is called with
   * the agent's own client (the process runtime reads ConfigMaps, Secrets and Services).
   */
  runtime?: ContainerRuntime | ((client: Client) => ContainerRuntime);
  sim?: SimDefaults;
  /** overrides of the reported capacity (and allocatable), e.g. { cpu: '8', pods: '110' } */
  capacity?: Record<string, string>;
  labels?: Record<string, string>;
  /** default 40 */
  leaseDurationSeconds?: number;
  /** default 10 s (a quarter of the lease duration) */
  leaseRenewIntervalMs?: number;
  /** how often node status is computed (default 10 s) */
  nodeStatusUpdateIntervalMs?: number;
  /** how often it is written when nothing changed (default 5 min) */
  nodeStatusReportIntervalMs?: number;
  /** crash-loop back-off (default 10 s doubling to 300 s) */
  backOff?: Partial<BackOffSettings>;
  /**
   * Turns a pod's volumes into host directories before its sandbox is created; a throw
   * keeps the pod ContainerCreating with a FailedMount event, and it is retried.
   * Default: claims through their bound volumes, emptyDirs under dataDir (see volumes.ts).
   */
  volumePaths?: (pod: KubeObject) => Promise<Record<string, string>>;
  /** the node's own files (emptyDirs in <dataDir>/pods/<uid>); default: a new directory under the system temp dir, removed by stop() */
  dataDir?: string;
  /** wait for the attach/detach controller's VolumeAttachment before mounting a claim (default true) */
  waitForAttach?: boolean;
  /** record Events (default true; scale runs may turn them off) */
  events?: boolean;
  /** pod status writes in flight at once (default 4) */
  statusConcurrency?: number;
  /** how long a pod's status change waits for others to join it before it is written (default 0) */
  statusBatchMs?: number;
  /**
   * Serve logs, exec, attach and port-forward to the API server (as a kubelet's port 10250
   * does) on the node's address; callers must bring this bearer token. Off when absent.
   */
  server?: { token: string; port?: number };
  /**
   * Re-adopt the sandboxes an earlier agent of this node left running (an agent restart, see
   * detach()) when their pods are still this node's; others are stopped before anything starts.
   * Default false: every leftover sandbox is stopped (petset up after a kill -9).
   */
  adopt?: boolean;
}

const MAX_HELD_EVENTS = 1000;
/** the agent's pod informer's index of the addresses pods hold (network.ts podAddresses) */
const POD_ADDRESSES = 'podAddresses';
/**
 * How long a newly mounted volume may wait to be reported in status.volumesInUse, so the
 * volumes of pods starting meanwhile go out in one Node write instead of one each. The report
 * matters once the attach/detach controller may detach, which it does only for a volume no
 * unfinished pod of this node uses in the API: so a pod's deletion sends what is pending at
 * once (a graceful one leaves its grace period for it; after a forced one, a ReadWriteOnce
 * volume's directory stays locked on this machine while the sandbox holds it, withVolumeLocks).
 * A released volume is reported at once: the controller waits for that to move it elsewhere.
 */
const VOLUMES_IN_USE_BATCH_MS = 1000;

type AgentState = 'new' | 'running' | 'partitioned' | 'reconnecting' | 'dead';

export class NodeAgent {
  readonly nodeName: string;
  readonly runtime: ContainerRuntime;
  readonly timers = new TimerQueue();
  nodeIndex = -1;
  hostIP = '';
  /** the cluster's pod range */
  readonly podRange: Cidr;
  private state: AgentState = 'new';
  private readonly gate: GatedTransport;
  private readonly client: Client;
  private readonly recorder?: EventRecorder;
  private readonly writer: PodStatusWriter;
  private readonly workers = new Map<string, PodWorker>();
  private readonly ports = new HostPortTable();
  private ips?: PodIPAllocator;
  private informer?: Informer;
  private removeHandlers?: () => void;
  private node?: KubeObject;
  private lease?: KubeObject;
  private lastStatusReport = 0;
  /** status.volumesInUse: a report is due (changed since the last one), one is waiting on the batch timer, one is being written */
  private volumesInUseDirty = false;
  private volumesInUseTimer?: () => void;
  private volumesInUseWriting = false;
  private onlineWaiters: (() => void)[] = [];
  private readonly heldEvents: Parameters<EventRecorder['event']>[] = [];
  private readonly bootID = randomUUID();
  private readonly backOff: BackOffSettings;
  private readonly workerHost: WorkerHost;
  private readonly volumes: PodVolumes;
  private server?: RunningKubeletServer;
  private sampler?: UsageSampler;
  /** sandboxes an earlier agent left, until connect() sorts them (adopt) */
  private leftovers?: Array<{ id: string; podUid: string }>;
  private toldNoLimits = false;
  /** pod uid → the leftover sandbox its worker adopts */
  private readonly adoptable = new Map<string, string>();

  constructor(private readonly opts: NodeAgentOptions) {
    this.nodeName = opts.nodeName;
    this.podRange = podRange(opts.podCIDR);
    this.gate = new GatedTransport(opts.client.transport);
    this.client = new Client(this.gate, { ...opts.client.options, userAgent: `petset-agent/${opts.nodeName}` });
    const runtime = typeof opts.runtime === 'function' ? opts.runtime(this.client) : (opts.runtime ?? new SimRuntime(opts.sim, this.timers));
    // every sandbox holds its ReadWriteOnce volumes' locks on this machine while it exists
    this.runtime = withVolumeLocks(
      runtime,
      opts.nodeName,
      (req) => this.volumes.exclusiveDirs(req.pod.metadata.uid ?? ''),
      // fenced (its node declared out of service): the pod is gone from the API already, so its worker simply ends
      (sandboxId) => {
        for (const [uid, w] of this.workers) {
          if (w.currentSandbox !== sandboxId) continue;
          w.abandon();
          this.workers.delete(uid);
          this.volumes.released(uid);
        }
      },
    );
    if (opts.events !== false) this.recorder = new EventRecorder(this.client, 'kubelet', { host: opts.nodeName });
    this.writer = new PodStatusWriter(this.client, this.timers, () => this.reporting(), { concurrency: opts.statusConcurrency, batchMs: opts.statusBatchMs });
    this.volumes = new PodVolumes({
      client: this.client,
      nodeName: opts.nodeName,
      dataDir: opts.dataDir,
      waitForAttach: opts.waitForAttach,
      // tell the attach/detach controller without waiting for the next status tick, so a volume can move to another node soon
      onVolumesInUseChanged: () => this.volumesInUseChanged(),
    });
    this.backOff = { initialMs: opts.backOff?.initialMs ?? 10_000, maxMs: opts.backOff?.maxMs ?? 300_000 };
    this.workerHost = this.makeWorkerHost();
  }

  /** Registers the node and starts running the pods bound to it. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`node agent ${this.nodeName} was already started`);
    this.nodeIndex = await this.pickNodeIndex();
    this.hostIP = this.opts.nodeIP ?? nodeAddressFor(this.nodeIndex, this.podRange);
    await this.opts.onNodeIndex?.(this.nodeIndex);
    // what is in use comes from the API's pods on this node, so a restart never reissues a live address
    this.ips = new PodIPAllocator(this.nodeIndex, (ip) => this.informer?.byIndex(POD_ADDRESSES, ip).map((p) => p.metadata.uid!) ?? [], this.podRange);
    const leftovers = await this.runtime.listSandboxes();
    if (this.opts.adopt && this.runtime.adoptSandbox) {
      // decided once the API's pods are known (connect), before anything starts
      this.leftovers = leftovers;
    } else {
      // whatever an earlier agent left in the runtime is not this agent's to run
      for (const sb of leftovers) await this.runtime.removeSandbox(sb.id);
      if (leftovers.length && this.runtime.type !== 'petset-sim') console.log(`[agent ${this.nodeName}] stopped ${leftovers.length} pod sandbox(es) left running by an earlier agent`);
    }
    if (this.opts.server) this.server = await startKubeletServer(this, { host: this.hostIP, port: this.opts.server.port, token: this.opts.server.token });
    this.state = 'reconnecting';
    await this.connect();
    this.heartbeat(this.opts.leaseRenewIntervalMs ?? 10_000, () => this.renewLease());
    this.heartbeat(this.opts.nodeStatusUpdateIntervalMs ?? 10_000, () => this.syncNodeStatus(false));
  }

  /**
   * The agent alone ends (an agent restart): its pods keep running, untouched, for the next
   * agent of this node (started with `adopt`) to take over; nothing is sent to the API.
   */
  detach(): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.recorder?.stop();
    this.gate.cut();
    this.informer?.stop();
    this.timers.close();
    for (const w of this.workers.values()) w.abandon();
    this.workers.clear();
    if (this.runtime.release) this.runtime.release();
    else this.runtime.killAll();
    void this.server?.close();
    this.server = undefined;
    void this.volumes.close();
  }

  /** The agent and all its pods die at once; nothing is sent to the API. */
  crash(): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.recorder?.stop();
    this.gate.cut();
    this.informer?.stop();
    this.timers.close();
    this.runtime.killAll();
    for (const w of this.workers.values()) w.abandon();
    this.workers.clear();
    // a dead process watches nothing; its pods' directories stay for the next start
    this.volumes.halt();
    void this.server?.close();
    this.server = undefined;
  }

  /**
   * Shuts the agent down; its pods stop without telling the API. A runtime of real
   * processes gives them their grace period first (SIGTERM, then SIGKILL).
   */
  async stop(graceMs = 0): Promise<void> {
    const graceful = this.runtime as { stopAll?: (graceMs: number) => Promise<void> };
    if (graceMs > 0 && this.state !== 'dead' && graceful.stopAll) {
      this.informer?.stop();
      // the workers stop deciding first, so nothing restarts what is being stopped
      for (const w of this.workers.values()) w.abandon();
      await graceful.stopAll(graceMs).catch((e: unknown) => console.warn(`[agent ${this.nodeName}] stopping pods: ${e instanceof Error ? e.message : String(e)}`));
    }
    try {
      // whatever did not stop in time is killed here
      this.crash();
    } finally {
      await this.volumes.close();
    }
  }

  /** Cuts the agent off from the API: pods keep running, nothing is reported. */
  partition(): void {
    if (this.state !== 'running') return;
    this.state = 'partitioned';
    this.gate.cut();
    this.disconnectInformer();
  }

  /** Reconnects; stops what the API no longer allows before reporting or starting anything. */
  async heal(): Promise<void> {
    if (this.state !== 'partitioned') return;
    this.state = 'reconnecting';
    this.gate.restore();
    await this.connect();
  }

  get partitioned(): boolean {
    return this.state === 'partitioned';
  }

  /** Pods this agent runs (or is still stopping), by uid. */
  podUids(): string[] {
    return [...this.workers.keys()];
  }

  /** The pods whose sandboxes the runtime still holds, named by the worker that made them (the uid alone when none does). */
  async runtimePods(): Promise<Array<{ namespace: string; name: string; uid: string }>> {
    return (await this.runtime.listSandboxes()).map(({ podUid }) => {
      const w = this.workers.get(podUid);
      return { namespace: w?.namespace ?? '', name: w?.name ?? '', uid: podUid };
    });
  }

  /** A container's output, for the pods/log subresource: the current instance, or the previous one. */
  logs(namespace: string, podName: string, container: string, opts: LogOptions & { previous?: boolean } = {}): AsyncIterable<LogLine> {
    const w = [...this.workers.values()].find((x) => x.namespace === namespace && x.name === podName);
    const ids = w?.containerIds(container) ?? this.completedContainerIds(namespace, podName, container);
    const id = opts.previous ? ids.previous : ids.current;
    if (!id) throw new Error(`container "${container}" in pod "${podName}" has no ${opts.previous ? 'previous ' : ''}instance on node ${this.nodeName}`);
    return this.runtime.logs(id, opts);
  }

  /** A completed pod this agent no longer has a worker for (it finished before the agent started): its status names the containers. */
  private completedContainerIds(namespace: string, podName: string, container: string): { current?: string; previous?: string } {
    const pod = this.informer?.list().find((p) => p.metadata.namespace === namespace && p.metadata.name === podName);
    const all = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? []), ...(pod?.status?.ephemeralContainerStatuses ?? [])];
    const s = all.find((x: { name?: string }) => x.name === container);
    const bare = (id: unknown) => (typeof id === 'string' && id ? id.replace(/^[^:]+:\/\//, '') : undefined);
    return { current: bare(s?.containerID), previous: bare(s?.lastState?.terminated?.containerID) };
  }

  /** The runtime's id of a container of a pod this agent runs (for the agent's server). */
  containerId(namespace: string, podName: string, container: string, previous = false): string {
    const w = [...this.workers.values()].find((x) => x.namespace === namespace && x.name === podName);
    const ids = w ? w.containerIds(container) : this.completedContainerIds(namespace, podName, container);
    if (!w && !ids.current && !ids.previous) throw new Error(`pod ${namespace}/${podName} does not run on node ${this.nodeName}`);
    const id = previous ? ids.previous : ids.current;
    if (!id) throw new Error(previous ? `previous terminated container "${container}" in pod "${podName}" not found` : `container "${container}" in pod "${podName}" is not running`);
    return id;
  }

  /**
   * The usage summary (the agent server's /stats/summary). Readings start with the first
   * request and are then taken every USAGE_SAMPLE_MS, so a node nobody asks about pays nothing;
   * the first answer carries memory only, rates follow from the second reading on.
   */
  usageSummary(): Summary {
    const sampler = (this.sampler ??= this.startSampling());
    sampler.sample(this.usagePods().flatMap((p) => p.containers.map((c) => c.id)));
    return sampler.summary(this.nodeName, this.usagePods());
  }

  private startSampling(): UsageSampler {
    const sampler = new UsageSampler((id) => this.runtime.containerUsage?.(id));
    const tick = () => {
      if (this.state === 'dead') return;
      sampler.sample(this.usagePods().flatMap((p) => p.containers.map((c) => c.id)));
      this.timers.after(USAGE_SAMPLE_MS, tick);
    };
    this.timers.after(USAGE_SAMPLE_MS, tick);
    return sampler;
  }

  private usagePods(): UsagePod[] {
    return [...this.workers.values()].map((w) => ({ namespace: w.namespace, name: w.name, uid: w.uid, containers: w.runningContainers() }));
  }

  /** The sandbox of a pod this agent runs (for port-forward). */
  async sandboxId(namespace: string, podName: string): Promise<string> {
    const w = [...this.workers.values()].find((x) => x.namespace === namespace && x.name === podName);
    const sb = w && (await this.runtime.listSandboxes()).find((s) => s.podUid === w.uid);
    if (!sb) throw new Error(`pod ${namespace}/${podName} has no sandbox on node ${this.nodeName}`);
    return sb.id;
  }

  /** List pods, stop the unwanted ones, report the node, then run the rest. */
  private async connect(): Promise<void> {
    const informer = new Informer(this.client, resources.pods, { fieldSelector: `spec.nodeName=${this.nodeName}`, transform: stripManagedFields });
    informer.addIndexer(POD_ADDRESSES, podAddresses);
    this.informer = informer;
    informer.start();
    if (!(await informer.synced()) || this.state !== 'reconnecting') return;
    const listed = new Map(informer.list().map((p) => [p.metadata.uid!, p]));
    const stopping: Promise<void>[] = [];
    for (const w of this.workers.values()) {
      const pod = listed.get(w.uid);
      if (!pod) w.apiDeleted();
      else if (pod.metadata.deletionTimestamp) w.update(pod);
      else continue;
      stopping.push(w.stopped);
    }
    await Promise.all(stopping);
    if (this.state !== 'reconnecting') return;
    await this.sortLeftovers(listed);
    if (this.state !== 'reconnecting') return;
    // output kept for completed pods that were deleted while no agent ran
    for (const uid of this.runtime.podsWithLogs?.() ?? []) if (!listed.has(uid) && !this.workers.has(uid)) this.runtime.removePodLogs?.(uid);
    await this.volumes
      .removeOrphans(new Set([...listed.keys(), ...this.workers.keys()]))
      .catch((e: unknown) => console.warn(`[agent ${this.nodeName}] removing directories of deleted pods: ${e instanceof Error ? e.message : String(e)}`));
    await this.retry(() => this.registerNode());
    await this.retry(() => this.renewLease());
    if (this.state !== 'reconnecting') return;
    this.state = 'running';
    // said once per agent: the node runs pods, but their resource limits are not enforced
    const noLimits = this.runtime.limitsUnavailable?.();
    if (noLimits && !this.toldNoLimits && this.node) {
      this.toldNoLimits = true;
      this.recorder?.event(this.node, 'Warning', 'ResourceLimitsUnavailable', `Containers' resource limits cannot be applied on this node: ${noLimits}; pods run without them`);
    }
    for (const e of this.heldEvents.splice(0)) this.recorder?.event(...e);
    for (const wake of this.onlineWaiters.splice(0)) wake();
    // admission follows creation order, as the kubelet's does (it decides host-port conflicts)
    const pods = informer.list().sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
    for (const pod of pods) this.onPod(pod);
    // a sandbox kept for a pod that meanwhile went away
    for (const [uid, id] of this.adoptable) {
      this.adoptable.delete(uid);
      void this.runtime.removeSandbox(id).catch(() => undefined);
    }
    this.removeHandlers = informer.addEventHandler({
      onAdd: (pod) => this.onPod(pod),
      onUpdate: (_, pod) => {
        if (pod.metadata.deletionTimestamp) this.flushVolumesInUse();
        this.onPod(pod);
      },
      onDelete: (pod) => {
        this.flushVolumesInUse();
        const w = this.workers.get(pod.metadata.uid!);
        if (w) w.apiDeleted();
        else this.runtime.removePodLogs?.(pod.metadata.uid!);
      },
    });
    this.writer.resume();
  }

  /**
   * The sandboxes an earlier agent left (adopt): one of a pod the API still runs here is kept
   * for its worker to adopt; the others (pods gone, deleted, finished, or a pod with two
   * sandboxes, which must never both run) are stopped now, before anything starts.
   */
  private async sortLeftovers(listed: Map<string, KubeObject>): Promise<void> {
    const found = this.leftovers;
    this.leftovers = undefined;
    if (!found?.length) return;
    const byUid = new Map<string, string[]>();
    for (const sb of found) byUid.set(sb.podUid, [...(byUid.get(sb.podUid) ?? []), sb.id]);
    let stopped = 0;
    for (const [uid, ids] of byUid) {
      const pod = listed.get(uid);
      const phase = pod?.status?.phase;
      if (ids.length === 1 && pod && !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed' && !this.workers.has(uid)) {
        this.adoptable.set(uid, ids[0]);
        continue;
      }
      for (const id of ids) await this.runtime.removeSandbox(id).catch((e: unknown) => console.warn(`[agent ${this.nodeName}] stopping a leftover sandbox: ${e instanceof Error ? e.message : String(e)}`));
      stopped += ids.length;
    }
    console.log(`[agent ${this.nodeName}] re-adopting ${this.adoptable.size} pod sandbox(es) left running by an earlier agent${stopped ? `; stopped ${stopped} no pod of this node wants` : ''}`);
  }

  private disconnectInformer(): void {
    this.removeHandlers?.();
    this.removeHandlers = undefined;
    this.informer?.stop();
    this.informer = undefined;
  }

  private onPod(pod: KubeObject): void {
    const uid = pod.metadata.uid!;
    const existing = this.workers.get(uid);
    if (existing) return existing.update(pod);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const w = new PodWorker(pod, this.workerHost);
    this.workers.set(uid, w);
    const sandboxId = this.adoptable.get(uid);
    this.adoptable.delete(uid);
    if (sandboxId) w.adopt(sandboxId);
    else w.start();
  }

  private makeWorkerHost(): WorkerHost {
    const agent = this;
    return {
      get hostIP() {
        return agent.hostIP;
      },
      runtime: this.runtime,
      timers: this.timers,
      backOff: this.backOff,
      // a pod on the host's network has the node's address, as upstream's do
      allocateIP: (pod) => (pod?.spec?.hostNetwork === true ? this.hostIP : this.ips!.allocate(pod?.metadata.uid, pod?.status?.podIP)),
      releaseIP: (ip) => this.ips?.release(ip),
      claimHostPorts: (pod) => this.ports.claim(pod.metadata.uid!, hostPortsOf(pod)),
      // called once the pod's sandbox is gone, which also frees the claims it held here
      releaseHostPorts: (uid) => {
        this.ports.release(uid);
        this.volumes.released(uid);
      },
      volumePaths: (pod) => {
        if (this.opts.volumePaths) return this.opts.volumePaths(pod);
        const uid = pod.metadata.uid ?? '';
        const stillWanted = () => {
          const w = this.workers.get(uid);
          return this.state !== 'dead' && !!w && !w.apiGone && !w.pod.metadata.deletionTimestamp;
        };
        return this.volumes.paths(pod, stillWanted);
      },
      event: (pod, type, reason, message) => {
        // while reconnecting, events about the pods being stopped wait for the node to report again
        if (this.reporting()) this.recorder?.event(pod, type, reason, message);
        else if (this.state === 'reconnecting' && this.heldEvents.length < MAX_HELD_EVENTS) this.heldEvents.push([pod, type, reason, message]);
      },
      statusChanged: (w) => this.writer.mark(w),
      confirmDeletion: (w) => this.confirmDeletion(w),
      finished: (w) => {
        if (this.workers.get(w.uid) === w) this.workers.delete(w.uid);
        this.runtime.removePodLogs?.(w.uid);
        void this.volumes.removePod(w.uid).catch((e: unknown) => console.warn(`[agent ${this.nodeName}] removing the directory of pod ${w.namespace}/${w.name}: ${e instanceof Error ? e.message : String(e)}`));
      },
    };
  }

  /** The kubelet's last word on a deleted pod: terminal status, then DELETE at grace 0 with its uid. */
  private async confirmDeletion(w: PodWorker): Promise<void> {
    for (let attempt = 0; this.state !== 'dead' && !w.apiGone; attempt++) {
      await this.online();
      try {
        await this.writer.flush(w);
        await this.client.pods(w.namespace).delete(w.name, { gracePeriodSeconds: 0, preconditions: { uid: w.uid } });
        return;
      } catch (e) {
        if (isApiError(e) && (e.code === 404 || e.code === 409)) return;
        await this.timers.sleep(Math.min(200 * 2 ** attempt, 5000));
      }
    }
  }

  /** Whether the agent talks to the API: connected, and done stopping what it must not run. */
  private reporting(): boolean {
    return this.state === 'running' && this.gate.open;
  }

  private online(): Promise<void> {
    if (this.reporting()) return Promise.resolve();
    return new Promise((resolve) => this.onlineWaiters.push(resolve));
  }

  private describe(): NodeDescription {
    return {
      name: this.nodeName,
      index: this.nodeIndex,
      podRange: this.podRange,
      runtimeType: this.runtime.type,
      runtimeVersion: this.runtime.version,
      capacity: { ...machineCapacity(), ...this.opts.capacity },
      labels: this.opts.labels ?? {},
      bootID: this.bootID,
      kubeletPort: this.server?.port,
      volumesInUse: this.volumes.volumesInUse(),
      nodeIP: this.opts.nodeIP,
    };
  }

  private async pickNodeIndex(): Promise<number> {
    if (this.opts.nodeIndex !== undefined) return this.opts.nodeIndex;
    if (this.opts.podCIDRFromController) return this.assignedNodeIndex();
    const nodes = (await this.retry(() => this.client.nodes().listAll())).items;
    const own = nodeIndexOfCIDR(nodes.find((n) => n.metadata.name === this.nodeName)?.spec?.podCIDR, this.podRange);
    if (own !== undefined) return own;
    const used = new Set(nodes.map((n) => nodeIndexOfCIDR(n.spec?.podCIDR, this.podRange)));
    for (let i = 0; i <= maxNodeIndex(this.podRange); i++) if (!used.has(i)) return i;
    throw new Error(`every node /24 of the pod range ${this.podRange.text} is taken`);
  }

  /** The index of the /24 the node IPAM controller gave this Node, registering it without one first. */
  private async assignedNodeIndex(): Promise<number> {
    const nodes = this.client.nodes();
    const get = () =>
      this.retry(() =>
        nodes.get(this.nodeName).catch((e: unknown) => {
          if (isApiError(e, 'NotFound')) return undefined;
          throw e;
        }),
      );
    let node = await get();
    if (!node) {
      // index 0 only fills the description: the Node goes in without spec.podCIDR
      const fresh = newNode({ ...this.describe(), index: 0 });
      fresh.spec = {};
      node = await this.retry(() =>
        nodes.create(fresh).catch((e: unknown) => {
          if (isApiError(e, 'AlreadyExists')) return nodes.get(this.nodeName);
          throw e;
        }),
      );
    }
    for (let told = false; ; ) {
      const cidr = node?.spec?.podCIDR;
      if (cidr !== undefined) {
        const index = nodeIndexOfCIDR(cidr, this.podRange);
        if (index === undefined) throw new Error(`the Node's podCIDR ${cidr} is not a /24 of the pod range ${this.podRange.text}`);
        return index;
      }
      if (!told) console.log(`[agent ${this.nodeName}] waiting for the controller manager to give node ${this.nodeName} a podCIDR (petset up --allocate-node-cidrs)`);
      told = true;
      await this.timers.sleep(500);
      node = await get();
    }
  }

  private async registerNode(): Promise<void> {
    const d = this.describe();
    try {
      this.node = await this.client.nodes().create(newNode(d));
      this.lastStatusReport = Date.now();
      return;
    } catch (e) {
      if (!isApiError(e, 'AlreadyExists')) throw e;
    }
    // registered before: make sure our labels are there, and report at once (the node
    // lifecycle controller may have marked it unreachable meanwhile)
    const existing = await this.client.nodes().get(this.nodeName);
    if (existing.spec?.podCIDR && existing.spec.podCIDR !== podCIDRFor(this.nodeIndex, this.podRange)) {
      console.warn(`[agent ${this.nodeName}] the Node's podCIDR ${existing.spec.podCIDR} is not node index ${this.nodeIndex}'s ${podCIDRFor(this.nodeIndex, this.podRange)}`);
    }
    const labels = nodeLabels(d);
    const missing = Object.entries(labels).filter(([k, v]) => existing.metadata.labels?.[k] !== v);
    this.node = missing.length ? await this.client.nodes().patch(this.nodeName, { metadata: { labels: Object.fromEntries(missing) } }) : existing;
    await this.syncNodeStatus(true);
  }

  private async syncNodeStatus(force: boolean): Promise<void> {
    if (!force && this.state !== 'running') return;
    const current = await this.client.nodes().get(this.nodeName).catch((e: unknown) => {
      if (isApiError(e, 'NotFound')) return undefined;
      throw e;
    });
    if (!current) {
      // someone deleted our Node: register again, as the kubelet does
      return this.registerNode();
    }
    this.node = current;
    const desired = nodeStatus(this.describe(), current.status);
    const due = Date.now() - this.lastStatusReport >= (this.opts.nodeStatusReportIntervalMs ?? 300_000);
    if (!force && !due && !nodeStatusDiffers(desired, current.status)) return;
    this.node = await this.client.nodes().patch(this.nodeName, { status: desired }, 'strategic', { subresource: 'status' });
    this.lastStatusReport = Date.now();
  }

  /** The node's mounted volumes changed: report a release at once, a new mount within VOLUMES_IN_USE_BATCH_MS. */
  private volumesInUseChanged(): void {
    this.volumesInUseDirty = true;
    if (this.volumesInUseWriting) return; // the write in flight reports it when done
    const reported = new Set<string>(this.node?.status?.volumesInUse ?? []);
    const now = this.volumes.volumesInUse();
    const released = reported.size > now.filter((v) => reported.has(v)).length;
    if (released) {
      this.volumesInUseTimer?.();
      this.volumesInUseTimer = undefined;
      this.timers.after(0, () => void this.reportVolumesInUse());
    } else if (!this.volumesInUseTimer) {
      this.volumesInUseTimer = this.timers.after(VOLUMES_IN_USE_BATCH_MS, () => {
        this.volumesInUseTimer = undefined;
        void this.reportVolumesInUse();
      });
    }
  }

  /** A pod is going: what waits on the batch timer is reported now. */
  private flushVolumesInUse(): void {
    if (!this.volumesInUseTimer) return;
    this.volumesInUseTimer();
    this.volumesInUseTimer = undefined;
    void this.reportVolumesInUse();
  }

  /**
   * Writes status.volumesInUse alone, from the Node this agent last read or wrote (only the
   * agent writes that field), skipping the write when it already says so; whatever changes
   * meanwhile goes in the next write. A failure (the Node deleted, say) falls back to the full
   * status sync, which re-registers the Node.
   */
  private async reportVolumesInUse(): Promise<void> {
    if (this.volumesInUseWriting) return;
    this.volumesInUseWriting = true;
    try {
      while (this.volumesInUseDirty && this.state === 'running') {
        this.volumesInUseDirty = false;
        const want = this.volumes.volumesInUse();
        if (this.node && deepEqual(want, this.node.status?.volumesInUse ?? [])) continue;
        try {
          this.node = await this.client.nodes().patch(this.nodeName, { status: { volumesInUse: want } }, 'strategic', { subresource: 'status' });
        } catch {
          await this.syncNodeStatus(false).catch(() => {});
        }
      }
    } finally {
      this.volumesInUseWriting = false;
    }
  }

  private async renewLease(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'reconnecting') return;
    const leases = this.client.leases(NODE_LEASE_NAMESPACE);
    const duration = this.opts.leaseDurationSeconds ?? 40;
    if (this.lease) {
      try {
        this.lease = await leases.update({
          ...this.lease,
          spec: { ...this.lease.spec, holderIdentity: this.nodeName, leaseDurationSeconds: duration, renewTime: microTime() },
        });
        return;
      } catch (e) {
        if (!isApiError(e) || (e.code !== 409 && e.code !== 404)) throw e;
        this.lease = undefined;
      }
    }
    try {
      this.lease = await leases.create(nodeLease(this.node!, duration));
    } catch (e) {
      if (!isApiError(e, 'AlreadyExists')) throw e;
      const current = await leases.get(this.nodeName);
      this.lease = await leases.update({ ...current, spec: { ...current.spec, holderIdentity: this.nodeName, leaseDurationSeconds: duration, renewTime: microTime() } });
    }
  }

  /** Runs fn every intervalMs while the agent is connected; failures are logged and retried next time. */
  private heartbeat(intervalMs: number, fn: () => Promise<void>): void {
    const tick = async () => {
      if (this.state === 'running') {
        await fn().catch((e: unknown) => {
          if (this.state === 'running') console.warn(`[agent ${this.nodeName}] ${e instanceof Error ? e.message : String(e)}`);
        });
      }
      if (this.state !== 'dead') this.timers.after(intervalMs, () => void tick());
    };
    this.timers.after(intervalMs, () => void tick());
  }

  /** Retries fn with back-off until it succeeds, or rethrows once the agent is dead or cut off. */
  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (this.state === 'dead' || this.state === 'partitioned') throw e;
        if (attempt === 3) console.warn(`[agent ${this.nodeName}] still retrying: ${e instanceof Error ? e.message : String(e)}`);
        await this.timers.sleep(Math.min(200 * 2 ** attempt, 5000));
      }
    }
  }
}

export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const a = new NodeAgent(opts);
  await a.start();
  return a;
}
