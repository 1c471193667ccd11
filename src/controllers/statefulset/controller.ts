// The StatefulSet controller: informers on sets, pods, revisions and claims; a work queue of
// set keys; each key reconciled by decide() and the plan performed through the client.
import { ApiError, isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { controllerRef } from '../../api/object.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import { resources, type Client, type ResourceClient, type ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { indexers, keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { perform, type ApiAction } from './act.js';
import { SettledReplicas } from './control.js';
import { decide, type Gates } from './decide.js';
import { EVENT_SOURCE } from './events.js';
import { replicaCount, SET_KIND } from './identity.js';

export interface StatefulSetControllerOptions {
  /** concurrent reconciles (upstream's --concurrent-statefulset-syncs defaults to 5) */
  workers?: number;
  gates?: Partial<Gates>;
  /** the clock, in ms since the epoch */
  now?: () => number;
}

/** client-go's DefaultRetry for status writes: 5 steps */
const STATUS_WRITE_ATTEMPTS = 5;

/**
 * The most replicas one set may have here. The API accepts any int32 (as upstream), but every
 * pass walks one slot per replica in this same process: a set of 2^31 replicas would exhaust
 * the heap of the whole control plane. Beyond this the set is reported and left alone.
 */
export const MAX_SUPPORTED_REPLICAS = 20_000;

const RESOURCE_BY_NAME: Record<ApiAction['resource'], ResourceType> = {
  pods: resources.pods,
  persistentvolumeclaims: resources.persistentVolumeClaims,
  controllerrevisions: resources.controllerRevisions,
  statefulsets: resources.statefulSets,
};

/**
 * What a pass (decide) reads of an owned pod: its name and labels (identity, revision,
 * selector), owners, deletion, spec.volumes (storage), phase and Ready condition (counts,
 * availability). An update that changes none of them cannot change the pass's outcome; if
 * decide comes to read more of a pod, it belongs here too.
 */
function passInput(pod: KubeObject): string {
  let input = passInputs.get(pod);
  if (input === undefined) passInputs.set(pod, (input = passInputOf(pod)));
  return input;
}

// Informer objects are frozen and shared: an update's old pod is the previous update's new
// one, whose input was computed then.
const passInputs = new WeakMap<KubeObject, string>();

function passInputOf(pod: KubeObject): string {
  const ready = (pod.status?.conditions as any[] | undefined)?.find((c) => c?.type === 'Ready');
  return JSON.stringify([
    pod.metadata.name,
    pod.metadata.uid,
    pod.metadata.labels,
    pod.metadata.ownerReferences,
    pod.metadata.deletionTimestamp,
    pod.spec?.volumes,
    pod.status?.phase,
    ready?.status,
    ready?.lastTransitionTime,
  ]);
}

// Upstream's pod indexes (as the ReplicaSet controller's): a pass reads the pods its set
// controls and the orphans of its namespace, not every pod of the namespace. Pods controlled
// by something else are skipped by the claim step anyway.
const CONTROLLER_UID_INDEX = 'controllerUID';
const ORPHAN_INDEX = 'orphanPods';
const orphans = (pod: KubeObject): string[] => (controllerRef(pod) ? [] : [pod.metadata.namespace ?? '']);

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions as any[] | undefined)?.some((c) => c?.type === 'Ready' && c.status === 'True') ?? false;
}

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  private readonly queue = new WorkQueue<string>();
  /** replicas a pass found needing no repair: the informers' objects are never changed in place */
  private readonly settled = new SettledReplicas();
  private sets!: Informer;
  private pods!: Informer;
  private revisions!: Informer;
  private claims!: Informer;
  /** for the Blocked condition's text only: a pod Terminating on a NotReady node */
  private nodes!: Informer;
  /** for the Blocked condition's text only: the failing probe's message */
  private unhealthy!: Informer;

  constructor(private readonly options: StatefulSetControllerOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.sets = ctx.informers.informerFor(resources.statefulSets);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.pods.addIndexer(CONTROLLER_UID_INDEX, indexers.controllerUid);
    this.pods.addIndexer(ORPHAN_INDEX, orphans);
    this.revisions = ctx.informers.informerFor(resources.controllerRevisions);
    this.claims = ctx.informers.informerFor(resources.persistentVolumeClaims);
    this.nodes = ctx.informers.informerFor(resources.nodes);
    this.unhealthy = ctx.informers.informerFor(resources.events, { fieldSelector: 'reason=Unhealthy' });
    const enqueueSet = (set: KubeObject) => this.queue.add(keyOf(set));
    this.sets.addEventHandler({ onAdd: enqueueSet, onUpdate: (_old, set) => enqueueSet(set), onDelete: enqueueSet });
    this.pods.addEventHandler({
      onAdd: (pod) => (pod.metadata.deletionTimestamp ? this.enqueueOwner(pod) : this.podAdded(pod)),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (pod) => this.enqueueOwner(pod),
    });
    // The why text names a failing probe and a lost node: their changes can change it.
    const podOfEvent = (e: KubeObject) => {
      const o = (e as any).involvedObject;
      const pod = o?.kind === 'Pod' ? this.pods.get(`${o.namespace}/${o.name}`) : undefined;
      if (pod) this.enqueueOwner(pod);
    };
    this.unhealthy.addEventHandler({ onAdd: podOfEvent, onUpdate: (_old, e) => podOfEvent(e) });
    const nodeReady = (n: KubeObject) => (n.status?.conditions as any[] | undefined)?.find((c) => c?.type === 'Ready')?.status;
    const terminatingOn = (node: KubeObject) => {
      for (const pod of this.pods.list()) if (pod.metadata.deletionTimestamp && pod.spec?.nodeName === node.metadata.name) this.enqueueOwner(pod);
    };
    this.nodes.addEventHandler({ onUpdate: (old, n) => nodeReady(old) !== nodeReady(n) && terminatingOn(n), onDelete: terminatingOn });
    const recorder = new EventRecorder(ctx.client, EVENT_SOURCE);
    ctx.runWorkers(this.queue, this.options.workers ?? 5, (key) => this.sync(ctx.client, recorder, key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  /** The set controlling this pod, if it is still the same object. */
  private owner(pod: KubeObject): KubeObject | undefined {
    const ref = controllerRef(pod);
    if (!ref || ref.kind !== SET_KIND) return undefined;
    const set = this.sets.get(`${pod.metadata.namespace}/${ref.name}`);
    return set && set.metadata.uid === ref.uid ? set : undefined;
  }

  private enqueueOwner(pod: KubeObject): void {
    const set = this.owner(pod);
    if (set) this.queue.add(keyOf(set));
  }

  /** Orphans wake every set in their namespace whose selector matches (adoption candidates). */
  private enqueueMatchingSets(pod: KubeObject): void {
    for (const set of this.sets.list(pod.metadata.namespace ?? '')) {
      try {
        if (labelSelectorFromObject(set.spec?.selector).matches(pod.metadata.labels)) this.queue.add(keyOf(set));
      } catch {
        // an unusable selector adopts nothing
      }
    }
  }

  private podAdded(pod: KubeObject): void {
    if (controllerRef(pod)) this.enqueueOwner(pod);
    else this.enqueueMatchingSets(pod);
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const oldRef = controllerRef(old);
    const ref = controllerRef(pod);
    if (oldRef && oldRef.uid !== ref?.uid) this.enqueueOwner(old);
    if (ref) {
      const set = this.owner(pod);
      if (!set) return;
      // most of a pod's updates are its node's status writes; a pass reads none of what they change
      if (oldRef?.uid === ref.uid && passInput(old) === passInput(pod)) return;
      this.queue.add(keyOf(set));
      const minReadySeconds: number = set.spec?.minReadySeconds ?? 0;
      // Availability arrives by the clock alone: look again once it can have happened.
      if (minReadySeconds > 0 && !isReady(old) && isReady(pod)) this.queue.addAfter(keyOf(set), minReadySeconds * 1000 + 1000);
      return;
    }
    const labelsChanged = JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {});
    if (labelsChanged || oldRef) this.enqueueMatchingSets(pod);
  }

  private async sync(client: Client, recorder: EventRecorder, key: string): Promise<ReconcileResult | void> {
    const set = this.sets.get(key);
    if (!set) return;
    const namespace = set.metadata.namespace ?? '';
    const replicas = replicaCount(set);
    if (replicas > MAX_SUPPORTED_REPLICAS) {
      const message = `spec.replicas ${replicas} is more than the ${MAX_SUPPORTED_REPLICAS} replicas petset supports in one StatefulSet; the set is left as it is`;
      console.warn(`[statefulset] ${key}: ${message}`);
      recorder.event(set, 'Warning', 'ReplicasLimitExceeded', message);
      return;
    }
    let plan: ReturnType<typeof decide>;
    try {
      const claims = this.claims;
      const pods = this.pods;
      plan = decide({
        set,
        pods: [...pods.byIndex(CONTROLLER_UID_INDEX, set.metadata.uid ?? ''), ...pods.byIndex(ORPHAN_INDEX, namespace)],
        podExists: (name) => pods.get(`${namespace}/${name}`) !== undefined,
        revisions: this.revisions.list(namespace),
        claims: (name) => claims.get(`${namespace}/${name}`),
        settled: this.settled,
        nodes: this.nodes.list(),
        events: this.unhealthy.list(namespace),
        now: (this.options.now ?? Date.now)(),
        gates: this.options.gates,
      });
    } catch (e) {
      // an object the decision code cannot handle is reported, retried with back-off, never fatal
      const message = `failed to sync: ${e instanceof Error ? e.message : String(e)}`;
      console.warn(`[statefulset] ${key}: ${message}`);
      recorder.event(set, 'Warning', 'FailedSync', message);
      throw e;
    }
    if (plan.error && !plan.error.retry) {
      console.warn(`[statefulset] ${key}: ${plan.error.message}`);
      return;
    }
    const errors = await perform(plan, {
      call: (action) => this.call(client, action),
      record: (type, reason, message) => recorder.event(set, type, reason, message),
    });
    if (errors.length) throw new Error(errors.join('; '));
    if (plan.requeueAfterSeconds) return { requeueAfter: plan.requeueAfterSeconds * 1000 };
  }

  /**
   * PUT /status; on a conflict the computed status goes onto the newest copy of the same set,
   * as upstream retries it (someone else's write to the set does not make the status wrong).
   */
  private async writeStatus(rc: ResourceClient, set: KubeObject): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await rc.updateStatus(set);
        return;
      } catch (e) {
        if (!isApiError(e, 'Conflict') || attempt >= STATUS_WRITE_ATTEMPTS) throw e;
      }
      const fresh = await rc.get(set.metadata.name ?? '');
      if (fresh.metadata.uid !== set.metadata.uid) return;
      set = { ...fresh, status: set.status };
    }
  }

  private async call(client: Client, action: ApiAction): Promise<void> {
    const rc = client.resource(RESOURCE_BY_NAME[action.resource], action.namespace);
    switch (action.verb) {
      case 'create':
        await rc.create(action.body);
        return;
      case 'update':
        await rc.update(action.body);
        return;
      case 'updateStatus':
        return this.writeStatus(rc, action.body);
      case 'patch':
        await rc.patch(action.name, action.patch, action.patchType);
        return;
      case 'delete':
        await rc.delete(action.name);
        return;
      case 'verifyOwner': {
        // Adoption must not act on a stale cache: the set may be gone or replaced.
        const fresh = await rc.get(action.name);
        const where = `${action.namespace}/${action.name}`;
        if (fresh.metadata.uid !== action.uid) {
          throw new ApiError(409, 'Conflict', `original StatefulSet ${where} is gone: got uid ${fresh.metadata.uid}, wanted ${action.uid}`);
        }
        if (fresh.metadata.deletionTimestamp) {
          throw new ApiError(409, 'Conflict', `${where} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
        }
      }
    }
  }
}
