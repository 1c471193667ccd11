// The node lifecycle controller: notices nodes whose agent went silent (neither Lease nor
// status renewed within the grace period), marks their conditions Unknown and their pods
// not Ready, keeps condition taints on nodes (NoSchedule for every condition, NoExecute
// not-ready/unreachable at a per-zone rate), and runs taint-based eviction and pod garbage
// collection, so that the pods of a lost node end up replaced.
import { isApiError } from '../../api/errors.js';
import { clone, type KubeObject } from '../../api/object.js';
import { podCondition, updatePodCondition } from '../../api/pod-status.js';
import type { Taint } from '../../api/taints.js';
import { resources, type Client } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { indexers, keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import {
  hasTaint,
  markConditionsUnknown,
  noScheduleTaintChanges,
  NOT_READY_NO_EXECUTE,
  readyCondition,
  swappedTaints,
  UNREACHABLE_NO_EXECUTE,
  zoneKey,
  zoneState,
  type NodeCondition,
  type ZoneState,
} from './health.js';
import { PodGarbageCollector } from './podgc.js';
import { TaintEviction } from './taint-eviction.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const NODE_NAME_INDEX = 'nodeName';
const TAINT_UPDATE_RETRIES = 5;

/** Upstream's kube-controller-manager defaults (1.32+); tests shorten them. */
export interface NodeLifecycleOptions {
  /** how often node health is checked (--node-monitor-period, 5 s) */
  monitorPeriodMs?: number;
  /** silence after which a node is Unknown (--node-monitor-grace-period, 50 s) */
  gracePeriodMs?: number;
  /** the same for a node that never posted Ready (--node-startup-grace-period, 60 s) */
  startupGracePeriodMs?: number;
  /** NoExecute taints per second and zone (--node-eviction-rate 0.1, --secondary-node-eviction-rate 0.01) */
  evictionRate?: number;
  secondaryEvictionRate?: number;
  /** share of not-Ready nodes that makes a zone unhealthy (0.55), and the cluster size above which it still evicts (50) */
  unhealthyZoneThreshold?: number;
  largeClusterSizeThreshold?: number;
  /** how often queued NoExecute taints are tried (100 ms) */
  taintingPeriodMs?: number;
  /** pod garbage collection period (20 s), orphan quarantine (40 s), finished pods kept (12500) */
  podGCPeriodMs?: number;
  orphanQuarantineMs?: number;
  terminatedPodThreshold?: number;
}

interface NodeHealth {
  /** our clock when we last saw the node alive */
  probe: number;
  /** lastHeartbeatTime of the Ready condition last seen; undefined when the node had none */
  readyHeartbeat?: string;
  leaseRenewTime?: string;
}

/** A token bucket (burst 1) in front of one zone's queue of nodes waiting for their NoExecute taint. */
interface ZoneTainter {
  rate: number;
  tokens: number;
  refilledAt: number;
  pending: Set<string>;
}

export class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  private readonly opts: Required<NodeLifecycleOptions>;
  private readonly health = new Map<string, NodeHealth>();
  private readonly zones = new Map<string, ZoneTainter>();
  private readonly zoneStates = new Map<string, ZoneState>();
  /** nodes whose pods still need marking not Ready */
  private readonly retryPods = new Set<string>();
  private readonly taintQueue = new WorkQueue<string>();
  private readonly podQueue = new WorkQueue<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private client!: Client;
  private recorder!: EventRecorder;
  private nodes!: Informer;
  private pods!: Informer;
  private leases!: Informer;
  private eviction!: TaintEviction;
  private podGC!: PodGarbageCollector;

  constructor(options: NodeLifecycleOptions = {}) {
    this.opts = {
      monitorPeriodMs: options.monitorPeriodMs ?? 5000,
      gracePeriodMs: options.gracePeriodMs ?? 50_000,
      startupGracePeriodMs: options.startupGracePeriodMs ?? 60_000,
      evictionRate: options.evictionRate ?? 0.1,
      secondaryEvictionRate: options.secondaryEvictionRate ?? 0.01,
      unhealthyZoneThreshold: options.unhealthyZoneThreshold ?? 0.55,
      largeClusterSizeThreshold: options.largeClusterSizeThreshold ?? 50,
      taintingPeriodMs: options.taintingPeriodMs ?? 100,
      podGCPeriodMs: options.podGCPeriodMs ?? 20_000,
      orphanQuarantineMs: options.orphanQuarantineMs ?? 40_000,
      terminatedPodThreshold: options.terminatedPodThreshold ?? 12_500,
    };
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.recorder = new EventRecorder(ctx.client, 'node-controller');
    this.nodes = ctx.informers.informerFor(resources.nodes);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.pods.addIndexer(NODE_NAME_INDEX, indexers.nodeName);
    this.leases = ctx.informers.informerFor(resources.leases, { namespace: NODE_LEASE_NAMESPACE });

    this.nodes.addEventHandler({
      onAdd: (node) => this.taintQueue.add(node.metadata.name!),
      onUpdate: (_old, node) => this.taintQueue.add(node.metadata.name!),
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podChanged(pod),
      onUpdate: (_old, pod) => this.podChanged(pod),
    });
    ctx.runWorkers(this.taintQueue, 1, (name) => this.syncNoScheduleTaints(name));
    ctx.runWorkers(this.podQueue, 1, (key) => this.markPodNotReadyIfNodeIs(key));

    this.eviction = new TaintEviction(ctx.client, new EventRecorder(ctx.client, 'taint-eviction-controller'), this.nodes, this.pods, (n) => this.podsOn(n));
    // evictions act straight from the handlers: they begin once the nodes and pods are all known
    void ctx.synced().then((ok) => ok && this.eviction?.start());
    this.podGC = new PodGarbageCollector(ctx.client, this.nodes, this.pods, {
      terminatedPodThreshold: this.opts.terminatedPodThreshold,
      orphanQuarantineMs: this.opts.orphanQuarantineMs,
    });

    ctx.every(this.opts.monitorPeriodMs, () => this.monitorNodeHealth());
    ctx.every(this.opts.taintingPeriodMs, () => this.applyQueuedNoExecuteTaints());
    ctx.every(this.opts.podGCPeriodMs, () => this.podGC.run());
  }

  stop(): void {
    this.taintQueue.shutDown();
    this.podQueue.shutDown();
    this.eviction?.stop();
  }

  private podsOn(nodeName: string): KubeObject[] {
    return this.pods.byIndex(NODE_NAME_INDEX, nodeName);
  }

  /* ---------- health ---------- */

  private async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodes.list();
    const seen = new Set(nodes.map((n) => n.metadata.name!));
    for (const name of [...this.health.keys()]) {
      if (seen.has(name)) continue;
      this.health.delete(name);
      this.retryPods.delete(name);
      for (const z of this.zones.values()) z.pending.delete(name);
    }
    const readyByZone = new Map<string, Array<string | undefined>>();
    for (const node of nodes) {
      const name = node.metadata.name!;
      if (!this.health.has(name)) {
        this.recorder.event(node, 'Normal', 'RegisteredNode', `Node ${name} event: Registered Node ${name} in Controller`);
      }
      let observed: NodeCondition | undefined;
      let current: NodeCondition | undefined;
      try {
        ({ observed, current } = await this.updateNodeHealth(node));
      } catch (e) {
        console.warn(`[nodelifecycle] updating health of node ${name}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      const zone = zoneKey(node);
      if (!readyByZone.has(zone)) readyByZone.set(zone, []);
      readyByZone.get(zone)!.push(current?.status);
      if (!current) continue;
      await this.processNoExecute(node, observed?.status);
      const becameNotReady = current.status !== 'True' && observed?.status === 'True';
      if (becameNotReady) this.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      if (becameNotReady || (this.retryPods.has(name) && observed?.status !== 'True')) {
        this.retryPods.delete(name);
        if (!(await this.markPodsNotReady(name))) this.retryPods.add(name);
      }
    }
    await this.handleDisruption(readyByZone, nodes);
  }

  /**
   * Refreshes the last time the node was seen alive (a new Ready heartbeat or Lease renewal,
   * by our own clock) and marks its conditions Unknown once it has been silent too long.
   * Answers the Ready condition before and after.
   */
  private async updateNodeHealth(node: KubeObject): Promise<{ observed?: NodeCondition; current?: NodeCondition }> {
    const name = node.metadata.name!;
    const now = Date.now();
    const ready = readyCondition(node);
    const grace = ready ? this.opts.gracePeriodMs : this.opts.startupGracePeriodMs;
    const heartbeat = ready ? (ready.lastHeartbeatTime ?? '') : undefined;
    let h = this.health.get(name);
    if (!h) {
      // a node that never reported counts from its creation; any other gets a full grace period from now
      h = { probe: ready ? now : Date.parse(node.metadata.creationTimestamp ?? '') || now };
    } else if (heartbeat !== undefined && h.readyHeartbeat !== heartbeat) {
      h.probe = now;
    }
    h.readyHeartbeat = heartbeat;
    const lease = this.leases.get(`${NODE_LEASE_NAMESPACE}/${name}`);
    const renewed = lease?.spec?.renewTime as string | undefined;
    if (renewed && (h.leaseRenewTime === undefined || Date.parse(renewed) > Date.parse(h.leaseRenewTime))) {
      h.leaseRenewTime = renewed;
      h.probe = now;
    }
    this.health.set(name, h);

    const observed = ready ? { ...ready } : undefined;
    if (now <= h.probe + grace) return { observed, current: ready };
    const updated = clone(node);
    markConditionsUnknown(updated, new Date(now));
    const current = readyCondition(updated);
    if (JSON.stringify(current) === JSON.stringify(observed)) return { observed, current };
    await this.client.nodes().updateStatus(updated);
    return { observed, current };
  }

  /** Pods on the node get Ready=False (the rest of their status stays as the agent left it). */
  private async markPodsNotReady(nodeName: string): Promise<boolean> {
    let ok = true;
    for (const pod of this.podsOn(nodeName)) {
      try {
        await this.markPodNotReady(pod);
      } catch (e) {
        if (!isApiError(e, 'NotFound')) ok = false;
      }
    }
    return ok;
  }

  private async markPodNotReady(pod: KubeObject): Promise<void> {
    const ready = podCondition(pod, 'Ready');
    if (!ready || ready.status === 'False') return;
    const updated = clone(pod);
    if (!updatePodCondition(updated.status, { ...ready, status: 'False' })) return;
    await this.client.pods(pod.metadata.namespace).updateStatus(updated);
    this.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
  }

  private podChanged(pod: KubeObject): void {
    if (pod.spec?.nodeName && podCondition(pod, 'Ready')?.status === 'True') this.podQueue.add(keyOf(pod));
  }

  /** A pod that turns up Ready on a node known not to be Ready is corrected. */
  private async markPodNotReadyIfNodeIs(key: string): Promise<void> {
    const pod = this.pods.get(key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName || !this.health.has(nodeName)) return;
    const node = this.nodes.get(nodeName);
    const ready = node && readyCondition(node);
    if (!ready || ready.status === 'True') return;
    try {
      await this.markPodNotReady(pod);
    } catch (e) {
      if (!isApiError(e, 'NotFound')) throw e;
    }
  }

  /* ---------- taints ---------- */

  private async syncNoScheduleTaints(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) return;
    const { add, remove } = noScheduleTaintChanges(node);
    if (add.length || remove.length) await this.swapTaints(name, add, remove);
  }

  /** Adds and removes taints on the live node, retrying on conflicts. */
  private async swapTaints(name: string, add: Taint[], remove: Taint[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const node = await this.client.nodes().get(name);
        const taints = swappedTaints(node, add, remove, new Date());
        if (!taints) return;
        node.spec = { ...(node.spec ?? {}), taints };
        if (!taints.length) delete node.spec.taints;
        await this.client.nodes().update(node);
        return;
      } catch (e) {
        if (isApiError(e, 'NotFound')) return;
        if (!isApiError(e, 'Conflict') || attempt >= TAINT_UPDATE_RETRIES) throw e;
      }
    }
  }

  /** NoExecute taints follow the Ready condition as last observed: queued at the zone's rate, swapped or removed at once. */
  private async processNoExecute(node: KubeObject, readyStatus: string | undefined): Promise<void> {
    const name = node.metadata.name!;
    if (readyStatus === 'False' || readyStatus === 'Unknown') {
      const [wanted, opposite] = readyStatus === 'False' ? [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE] : [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE];
      if (hasTaint(node, opposite)) await this.swapTaints(name, [wanted], [opposite]);
      else if (!hasTaint(node, wanted)) this.zone(zoneKey(node)).pending.add(name);
    } else if (readyStatus === 'True') {
      await this.markReachable(node);
    }
  }

  private async markReachable(node: KubeObject): Promise<void> {
    const name = node.metadata.name!;
    this.zone(zoneKey(node)).pending.delete(name);
    const stale = [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE].filter((t) => hasTaint(node, t));
    if (stale.length) await this.swapTaints(name, [], stale);
  }

  private zone(key: string): ZoneTainter {
    let z = this.zones.get(key);
    if (!z) {
      z = { rate: this.opts.evictionRate, tokens: 1, refilledAt: Date.now(), pending: new Set() };
      this.zones.set(key, z);
    }
    return z;
  }

  private setZoneRate(key: string, rate: number): void {
    const z = this.zone(key);
    if (z.rate === rate) return;
    z.rate = rate;
    // a fresh limiter starts with its burst available
    z.tokens = rate > 0 ? 1 : 0;
    z.refilledAt = Date.now();
  }

  private async applyQueuedNoExecuteTaints(): Promise<void> {
    const now = Date.now();
    for (const z of this.zones.values()) {
      z.tokens = Math.min(1, z.tokens + (z.rate * (now - z.refilledAt)) / 1000);
      z.refilledAt = now;
      for (const name of [...z.pending]) {
        if (z.tokens < 1) break;
        const node = this.nodes.get(name);
        const status = node && readyCondition(node)?.status;
        if (!node || (status !== 'False' && status !== 'Unknown')) {
          z.pending.delete(name);
          continue;
        }
        z.tokens -= 1;
        const [wanted, opposite] = status === 'False' ? [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE] : [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE];
        try {
          await this.swapTaints(name, [wanted], [opposite]);
          z.pending.delete(name);
        } catch (e) {
          console.warn(`[nodelifecycle] tainting node ${name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }

  /**
   * Zone states steer the tainting rate. When every zone has lost all its nodes the fault is
   * more likely ours (the control plane's network) than theirs: no node is tainted for
   * eviction, and taints already placed are taken back.
   */
  private async handleDisruption(readyByZone: Map<string, Array<string | undefined>>, nodes: KubeObject[]): Promise<void> {
    const next = new Map<string, ZoneState>();
    for (const [zone, statuses] of readyByZone) next.set(zone, zoneState(statuses, this.opts.unhealthyZoneThreshold));
    for (const zone of next.keys()) if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, 'Initial');
    for (const zone of [...this.zoneStates.keys()]) if (!next.has(zone)) this.zoneStates.delete(zone);
    if (!next.size) return;
    const allFull = [...next.values()].every((s) => s === 'FullDisruption');
    const allWereFull = [...this.zoneStates.values()].every((s) => s === 'FullDisruption');
    if (allFull && allWereFull) return;
    if (allFull) {
      for (const node of nodes) await this.markReachable(node);
      for (const zone of this.zoneStates.keys()) {
        this.setZoneRate(zone, 0);
        this.zoneStates.set(zone, 'FullDisruption');
      }
      return;
    }
    if (allWereFull) {
      // back from a total outage: every node gets a fresh grace period
      const now = Date.now();
      for (const h of this.health.values()) h.probe = now;
    }
    for (const [zone, state] of next) {
      if (!allWereFull && this.zoneStates.get(zone) === state) continue;
      this.setZoneRate(zone, this.rateFor(state, readyByZone.get(zone)!.length));
      this.zoneStates.set(zone, state);
    }
  }

  private rateFor(state: ZoneState, zoneSize: number): number {
    if (state !== 'PartialDisruption') return this.opts.evictionRate;
    return zoneSize > this.opts.largeClusterSizeThreshold ? this.opts.secondaryEvictionRate : 0;
  }
}
