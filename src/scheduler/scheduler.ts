// The scheduler: watches pods waiting for a node, filters and ranks the nodes, and binds
// each pod through the pods/binding subresource. Pods are scheduled one at a time; a pod
// being bound is "assumed" on its node so the next decision already counts it. A pod that
// fits nowhere gets PodScheduled=False (Unschedulable) and a FailedScheduling event, and is
// tried again when the cluster changes (or after a while), never sooner than its back-off
// unless nothing else waits to be scheduled (upstream's SchedulerPopFromBackoffQ, on by
// default since 1.33). A claim's changes wake only the pods that use it (upstream's queueing
// hint for PersistentVolumeClaim events), not every waiting pod.
import { ApiError, isApiError } from '../api/errors.js';
import { deepEqual, type KubeObject } from '../api/object.js';
import { isPodTerminal, updatePodCondition } from '../api/pod-status.js';
import { resources, type Client } from '../client/client.js';
import { EventRecorder } from '../client/events.js';
import type { ControllerContext } from '../client/controller-runner.js';
import { keyOf, type Informer } from '../client/informer.js';
import { WorkQueue } from '../client/workqueue.js';
import { volumeAccessCheck } from '../api/volume-access.js';
import { addPod, affinityState, byName, filterNode, removePod, fitErrorMessage, nodeInfo, REASONS, type CycleState, type FilterStatus, type NodeInfo } from './filters.js';
import { podHostPorts, podRequests } from './resources.js';
import { pickNode } from './score.js';
import { bindingProgress, podClaimKeys, podClaims, reservedVolume, SELECTED_NODE_ANNOTATION, type VolumeCache, type VolumePlan } from './volumes.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface SchedulerOptions {
  /** pods whose spec.schedulerName is this (default "default-scheduler") */
  schedulerName?: string;
  /** per-pod back-off after a failed attempt: initial, doubling up to max (1 s → 10 s) */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** unschedulable pods are retried at the latest after this long (5 min) */
  unschedulableFlushMs?: number;
  /** how long PreBind waits for the pod's claims to be bound (600 s) */
  volumeBindTimeoutMs?: number;
  /** how often the volume wait looks again (100 ms) */
  volumePollMs?: number;
}

/** What the scheduler needs to run: the shared runner's context, as any controller gets. */
export type SchedulerContext = ControllerContext;

/** claimsOnly: the pod's own claims stopped it (PreFilter), so only their changes can help */
type Decision = { node: string; volumes?: VolumePlan } | { message: string; claimsOnly?: boolean };

export class Scheduler {
  readonly name = 'scheduler';
  private readonly opts: Required<SchedulerOptions>;
  private readonly queue = new WorkQueue<string>();
  /** pods on their way to a node: key → the pod with spec.nodeName set */
  private readonly assumed = new Map<string, KubeObject>();
  /** pods that fit nowhere, waiting for the cluster to change: key → when parked */
  private readonly parked = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; until: number }>();
  /** pods woken while their back-off runs (upstream's backoffQ): key → when it ends */
  private readonly backingOff = new Map<string, number>();
  /** parked pods that only a change of their own claims can help (missing, unbound immediate, lost, being deleted) */
  private readonly waitingOnClaims = new Set<string>();
  /** the other parked pods: any cluster change may help them */
  private readonly waitingOnCluster = new Set<string>();
  /** parked pods by the claims they use, namespace/name → pod keys (entries of pods no longer parked linger until the claim changes) */
  private readonly parkedByClaim = new Map<string, Set<string>>();
  /** failure records under way, by pod key: each pod's are written in order */
  private readonly failureWrites = new Map<string, Promise<void>>();
  /** a scheduling cycle is under way */
  private scheduling = false;
  /** pods bound or assumed, by node name: key → pod */
  private readonly podsOnNode = new Map<string, Map<string, KubeObject>>();
  private readonly nodeOfPod = new Map<string, string>();
  /** the same pods by the claims they use, namespace/claim → key → pod: a claim's holders without walking every pod */
  private readonly podsByClaim = new Map<string, Map<string, KubeObject>>();
  /** node infos kept between decisions; they follow their pods' changes (addPod, removePod) and are rebuilt when the Node object changes */
  private readonly infos = new Map<string, NodeInfo>();
  /** bumped by every cluster change that may make a parked pod schedulable */
  private clusterEvents = 0;
  private flushTimer?: NodeJS.Timeout;
  private stopped = false;
  private client!: Client;
  private recorder!: EventRecorder;
  private pods!: Informer;
  private nodes!: Informer;
  private namespaces!: Informer;
  private volumeCache!: VolumeCache;

  constructor(options: SchedulerOptions = {}) {
    this.opts = {
      schedulerName: options.schedulerName ?? DEFAULT_SCHEDULER_NAME,
      initialBackoffMs: options.initialBackoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      unschedulableFlushMs: options.unschedulableFlushMs ?? 300_000,
      volumeBindTimeoutMs: options.volumeBindTimeoutMs ?? 600_000,
      volumePollMs: options.volumePollMs ?? 100,
    };
  }

  start(ctx: SchedulerContext): void {
    this.client = ctx.client;
    this.recorder = new EventRecorder(ctx.client, this.opts.schedulerName);
    const inf = ctx.informers;
    this.pods = inf.informerFor(resources.pods);
    this.nodes = inf.informerFor(resources.nodes);
    this.namespaces = inf.informerFor(resources.namespaces);
    const claims = inf.informerFor(resources.persistentVolumeClaims);
    const volumes = inf.informerFor(resources.persistentVolumes);
    const classes = inf.informerFor(resources.storageClasses);
    this.volumeCache = {
      claim: (ns, name) => claims.get(`${ns}/${name}`),
      volume: (name) => volumes.get(name),
      storageClass: (name) => classes.get(name),
      volumes: () => volumes.list(),
    };

    this.pods.addEventHandler({
      onAdd: (pod) => {
        this.podAdded(pod);
        this.place(keyOf(pod));
      },
      onUpdate: (old, pod) => {
        this.podUpdated(old, pod);
        this.place(keyOf(pod));
      },
      onDelete: (pod) => {
        this.podDeleted(pod);
        this.place(keyOf(pod));
      },
    });
    this.nodes.addEventHandler({
      onAdd: () => this.clusterChanged(),
      onUpdate: (old, node) => {
        if (nodeChangeMatters(old, node)) this.clusterChanged();
      },
    });
    claims.addEventHandler({ onAdd: (claim) => this.claimChanged(claim), onUpdate: (_old, claim) => this.claimChanged(claim) });
    for (const i of [volumes, this.namespaces]) {
      i.addEventHandler({ onAdd: () => this.clusterChanged(), onUpdate: () => this.clusterChanged() });
    }
    // a class decides whether an unbound claim waits for its pod: it wakes the claim-waiters too
    classes.addEventHandler({ onAdd: () => this.clusterChanged(true), onUpdate: () => this.clusterChanged(true) });
    this.flushTimer = setInterval(() => this.flushParked(), Math.min(this.opts.unschedulableFlushMs, 30_000));
    this.flushTimer.unref();
    // one pod at a time, as upstream's scheduling cycle: each decision sees the previous one
    ctx.runWorkers(this.queue, 1, (key) => this.scheduleOne(key));
  }

  stop(): void {
    this.stopped = true;
    this.queue.shutDown();
    clearInterval(this.flushTimer);
  }

  /* ---------- queueing ---------- */

  private isOurs(pod: KubeObject): boolean {
    const spec = pod.spec ?? {};
    return (
      !spec.nodeName &&
      (spec.schedulerName || DEFAULT_SCHEDULER_NAME) === this.opts.schedulerName &&
      !pod.metadata.deletionTimestamp &&
      !isPodTerminal(pod) &&
      !(Array.isArray(spec.schedulingGates) && spec.schedulingGates.length)
    );
  }

  /** Queues the pod once its back-off has passed, or sooner when the scheduler has nothing else to do. */
  private activate(key: string): void {
    this.parked.delete(key);
    this.waitingOnClaims.delete(key);
    this.waitingOnCluster.delete(key);
    const until = this.failures.get(key)?.until ?? 0;
    const wait = until - Date.now();
    if (wait > 0) {
      this.backingOff.set(key, until);
      this.queue.addAfter(key, wait);
      this.popBackoffIfIdle();
    } else {
      this.backingOff.delete(key);
      this.queue.add(key);
    }
  }

  /**
   * With no pod waiting and no cycle under way, the pod whose back-off ends first is tried now
   * rather than leaving the scheduler idle (upstream's SchedulerPopFromBackoffQ).
   */
  private popBackoffIfIdle(): void {
    if (this.scheduling || this.queue.len() > 0 || !this.backingOff.size) return;
    let first: string | undefined;
    let firstUntil = Infinity;
    for (const [key, until] of this.backingOff) {
      if (until < firstUntil) [first, firstUntil] = [key, until];
    }
    this.backingOff.delete(first!);
    this.queue.add(first!);
  }

  private park(key: string, pod: KubeObject, claimsOnly: boolean): void {
    this.parked.set(key, Date.now());
    (claimsOnly ? this.waitingOnClaims : this.waitingOnCluster).add(key);
    (claimsOnly ? this.waitingOnCluster : this.waitingOnClaims).delete(key);
    for (const claim of podClaimKeys(pod)) {
      let keys = this.parkedByClaim.get(claim);
      if (!keys) this.parkedByClaim.set(claim, (keys = new Set()));
      keys.add(key);
    }
  }

  private clusterChanged(claimWaitersToo = false): void {
    this.clusterEvents++;
    // only the pods a cluster change can help: walking every parked pod on each bound pod made binding N pods waiting for their claims N²
    for (const key of claimWaitersToo ? [...this.parked.keys()] : [...this.waitingOnCluster]) this.activate(key);
  }

  /** A claim added or changed can only make the pods that use it schedulable. */
  private claimChanged(claim: KubeObject): void {
    this.clusterEvents++;
    const claimKey = keyOf(claim);
    const keys = this.parkedByClaim.get(claimKey);
    if (!keys) return;
    this.parkedByClaim.delete(claimKey);
    for (const key of keys) if (this.parked.has(key)) this.activate(key);
  }

  private flushParked(): void {
    const cutoff = Date.now() - this.opts.unschedulableFlushMs;
    for (const [key, since] of this.parked) if (since <= cutoff) this.activate(key);
  }

  private podAdded(pod: KubeObject): void {
    if (this.isOurs(pod)) this.activate(keyOf(pod));
    else if (pod.spec?.nodeName) this.clusterChanged();
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    const key = keyOf(pod);
    if (pod.spec?.nodeName) {
      this.assumed.delete(key);
      this.forget(key);
      // a pod bound, relabelled or finished changes what fits where
      if (!old.spec?.nodeName || !deepEqual(old.metadata.labels, pod.metadata.labels) || isPodTerminal(pod) !== isPodTerminal(old)) {
        this.clusterChanged();
      }
      return;
    }
    if (!this.isOurs(pod)) {
      this.forget(key);
      return;
    }
    // our own status writes do not count as a reason to try again
    if (!this.parked.has(key) || !deepEqual(withoutStatus(old), withoutStatus(pod))) this.activate(key);
  }

  private podDeleted(pod: KubeObject): void {
    const key = keyOf(pod);
    const wasAssigned = !!pod.spec?.nodeName || this.assumed.has(key);
    this.assumed.delete(key);
    this.forget(key);
    if (wasAssigned) this.clusterChanged();
  }

  private forget(key: string): void {
    this.parked.delete(key);
    this.waitingOnClaims.delete(key);
    this.waitingOnCluster.delete(key);
    this.failures.delete(key);
    this.backingOff.delete(key);
  }

  /** Counts a failed attempt: the back-off doubles from the initial value up to the maximum. */
  private backOff(key: string): void {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    const delay = Math.min(this.opts.initialBackoffMs * 2 ** (count - 1), this.opts.maxBackoffMs);
    this.failures.set(key, { count, until: Date.now() + delay });
  }

  /** Files the pod under the node it is bound or assumed on, if any. */
  private place(key: string): void {
    const informed = this.pods.get(key);
    const pod = informed?.spec?.nodeName ? informed : this.assumed.get(key);
    const node: string | undefined = pod?.spec?.nodeName;
    const was = this.nodeOfPod.get(key);
    if (was !== undefined && was !== node) {
      const pods = this.podsOnNode.get(was)!;
      const gone = pods.get(key);
      pods.delete(key);
      if (!pods.size) this.podsOnNode.delete(was);
      if (gone) {
        this.fileByClaims(key, gone, false);
        const info = this.infos.get(was);
        if (info) removePod(info, gone);
      }
    }
    if (pod && node) {
      let pods = this.podsOnNode.get(node);
      if (!pods) this.podsOnNode.set(node, (pods = new Map()));
      const before = pods.get(key);
      pods.set(key, pod);
      this.nodeOfPod.set(key, node);
      // the node's info follows the change instead of being rebuilt from all its pods
      const info = this.infos.get(node);
      if (info && before !== pod) {
        if (before) removePod(info, before);
        addPod(info, pod);
      }
      this.fileByClaims(key, pod, true);
    } else {
      this.nodeOfPod.delete(key);
    }
  }

  private fileByClaims(key: string, pod: KubeObject, add: boolean): void {
    for (const claim of podClaimKeys(pod)) {
      let pods = this.podsByClaim.get(claim);
      if (add) {
        if (!pods) this.podsByClaim.set(claim, (pods = new Map()));
        pods.set(key, pod);
      } else if (pods) {
        pods.delete(key);
        if (!pods.size) this.podsByClaim.delete(claim);
      }
    }
  }

  private nodeInfo(node: KubeObject): NodeInfo {
    const name = node.metadata.name!;
    let info = this.infos.get(name);
    if (info?.node !== node) this.infos.set(name, (info = nodeInfo(node, this.podsOnNode.get(name)?.values() ?? [])));
    return info;
  }

  /* ---------- the scheduling cycle ---------- */

  private async scheduleOne(key: string): Promise<void> {
    this.scheduling = true;
    try {
      await this.scheduleCycle(key);
    } finally {
      this.scheduling = false;
      this.popBackoffIfIdle();
    }
  }

  private async scheduleCycle(key: string): Promise<void> {
    // a parked pod waits for a cluster event; this is a leftover back-off timer's add
    if (this.parked.has(key)) return;
    this.backingOff.delete(key);
    const pod = this.pods.get(key);
    if (!pod || !this.isOurs(pod) || this.assumed.has(key)) return;
    const eventsBefore = this.clusterEvents;
    const decision = this.decide(pod);
    if ('message' in decision) {
      this.backOff(key);
      // a change that arrived while deciding may already have made room
      if (this.clusterEvents !== eventsBefore) this.activate(key);
      else this.park(key, pod, !!decision.claimsOnly);
      this.recordFailureAsync(key, pod, decision.message);
      return;
    }
    this.assumed.set(key, { ...pod, spec: { ...pod.spec, nodeName: decision.node } });
    this.place(key);
    void this.bind(pod, decision.node, decision.volumes);
  }

  /** Filters and ranks the nodes: the chosen node, or the FitError message. */
  private decide(pod: KubeObject): Decision {
    const nodes = this.nodes.list();
    if (!nodes.length) return { message: REASONS.noNodes };
    const infos = nodes.map((n) => this.nodeInfo(n)).sort(byName);
    const { claims, error } = podClaims(pod, this.volumeCache);
    if (!claims) return { message: fitErrorMessage(pod, infos.length, infos.map(() => ({ reasons: [], unresolvable: true })), error), claimsOnly: true };
    const state: CycleState = {
      pod,
      requests: podRequests(pod),
      ports: podHostPorts(pod),
      claims,
      volumes: this.volumeCache,
      affinity: affinityState(pod, infos, (ns) => this.namespaces.get(ns)?.metadata.labels),
      volumePlans: new Map(),
      volumeAccess: volumeAccessCheck(pod, (name) => this.volumeCache.claim(pod.metadata.namespace!, name), this.claimHolders(pod)),
    };
    const statuses: FilterStatus[] = [];
    const feasible: NodeInfo[] = [];
    for (const info of infos) {
      const status = filterNode(state, info);
      if (status) statuses.push(status);
      else feasible.push(info);
    }
    if (!feasible.length) return { message: fitErrorMessage(pod, infos.length, statuses) };
    const chosen = pickNode(pod, feasible).name;
    return { node: chosen, volumes: state.volumePlans.get(chosen) };
  }

  /** The pods bound or assumed on a node that use one of the pod's claims. */
  private *claimHolders(pod: KubeObject): Iterable<KubeObject> {
    const seen = new Set<string>();
    for (const claim of podClaimKeys(pod)) {
      for (const [key, other] of this.podsByClaim.get(claim) ?? []) {
        if (seen.has(key)) continue;
        seen.add(key);
        yield other;
      }
    }
  }

  /* ---------- the binding cycle ---------- */

  private async bind(pod: KubeObject, node: string, volumes?: VolumePlan): Promise<void> {
    const key = keyOf(pod);
    const { name, namespace } = pod.metadata;
    try {
      if (volumes && (volumes.staticBindings.length || volumes.provisions.length)) {
        try {
          await this.bindVolumes(node, volumes);
        } catch (e) {
          throw new Error(`running PreBind plugin "VolumeBinding": binding volumes: ${errorText(e)}`);
        }
      }
      try {
        await this.client.pods(namespace).createSubresource(name!, 'binding', {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace, uid: pod.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: node },
        });
      } catch (e) {
        throw new Error(`running Bind plugin "DefaultBinder": ${errorText(e)}`);
      }
      this.forget(key);
      this.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${node}`);
    } catch (e) {
      this.assumed.delete(key);
      this.place(key);
      if (this.stopped) return;
      this.clusterChanged();
      const current = this.pods.get(key);
      if (!current || current.metadata.uid !== pod.metadata.uid || !this.isOurs(current)) return;
      this.backOff(key);
      this.activate(key);
      await this.recordFailure(current, errorText(e), 'SchedulerError');
    }
  }

  /** PreBind: reserve matching volumes, ask for the rest to be provisioned on the node, wait until all are bound. */
  private async bindVolumes(node: string, plan: VolumePlan): Promise<void> {
    for (const { claim, volume } of plan.staticBindings) {
      const current = this.volumeCache.volume(volume.metadata.name!) ?? volume;
      if (current.spec?.claimRef?.uid === claim.metadata.uid) continue;
      await this.client.persistentVolumes().update(reservedVolume(current, claim));
    }
    for (const claim of plan.provisions) {
      if (claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION] === node) continue;
      await this.client
        .persistentVolumeClaims(claim.metadata.namespace)
        .patch(claim.metadata.name!, { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: node } } }, 'merge');
    }
    const deadline = Date.now() + this.opts.volumeBindTimeoutMs;
    for (;;) {
      const progress = bindingProgress(plan, this.volumeCache);
      if (progress.error) throw new Error(progress.error);
      if (progress.done) return;
      if (this.stopped) throw new Error('scheduler stopped');
      if (Date.now() >= deadline) throw new Error('context deadline exceeded');
      await new Promise((r) => setTimeout(r, this.opts.volumePollMs));
    }
  }

  /* ---------- reporting ---------- */

  /**
   * Records a failure without holding up the next scheduling cycle (upstream's asynchronous API
   * calls, SchedulerAsyncAPICalls): one pod's writes stay in order, the next pod need not wait
   * for a durable write to be tried.
   */
  private recordFailureAsync(key: string, pod: KubeObject, message: string): void {
    this.recorder.event(pod, 'Warning', 'FailedScheduling', message);
    const previous = this.failureWrites.get(key) ?? Promise.resolve();
    const write = previous.then(() => {
      // a pod placed meanwhile is no longer unschedulable
      const current = this.pods.get(key);
      if (!current || current.metadata.uid !== pod.metadata.uid || current.spec?.nodeName || this.assumed.has(key)) return;
      return this.markUnschedulable(current, message);
    });
    this.failureWrites.set(key, write);
    void write.finally(() => {
      if (this.failureWrites.get(key) === write) this.failureWrites.delete(key);
    });
  }

  /** FailedScheduling event, and PodScheduled=False on the pod when it says something new. */
  private async recordFailure(pod: KubeObject, message: string, reason = 'Unschedulable'): Promise<void> {
    this.recorder.event(pod, 'Warning', 'FailedScheduling', message);
    await this.markUnschedulable(pod, message, reason);
  }

  /** PodScheduled=False with the reason and message, unless the pod already says so. */
  private async markUnschedulable(pod: KubeObject, message: string, reason = 'Unschedulable'): Promise<void> {
    const pods = this.client.pods(pod.metadata.namespace);
    let current = pod;
    for (let attempt = 1; ; attempt++) {
      const status = structuredClone(current.status ?? {});
      if (!updatePodCondition(status, { type: 'PodScheduled', status: 'False', reason, message, lastProbeTime: null })) return;
      try {
        await pods.updateStatus({ ...current, status });
        return;
      } catch (e) {
        if (isApiError(e, 'NotFound')) return;
        if (!isApiError(e, 'Conflict') || attempt > 1) {
          console.warn(`[scheduler] could not update status of pod ${keyOf(pod)}: ${errorText(e)}`);
          return;
        }
      }
      current = await pods.get(pod.metadata.name!).catch(() => pod);
      if (current.metadata.uid !== pod.metadata.uid || current.spec?.nodeName) return;
    }
  }
}

/** Node changes that can let a pod fit: labels, taints, cordoning, capacity, readiness. */
function nodeChangeMatters(old: KubeObject, node: KubeObject): boolean {
  const ready = (n: KubeObject) => (n.status?.conditions ?? []).find((c: any) => c?.type === 'Ready')?.status;
  return (
    !deepEqual(old.metadata.labels, node.metadata.labels) ||
    !deepEqual(old.spec?.taints, node.spec?.taints) ||
    !!old.spec?.unschedulable !== !!node.spec?.unschedulable ||
    !deepEqual(old.status?.allocatable, node.status?.allocatable) ||
    ready(old) !== ready(node)
  );
}

function withoutStatus(pod: KubeObject): KubeObject {
  return { ...pod, status: undefined, metadata: { ...pod.metadata, resourceVersion: undefined, managedFields: undefined } };
}

function errorText(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}
