// The ReplicaSet controller, and with another configuration the ReplicationController
// controller (upstream runs the same code for both). Informers on owners and pods, a work
// queue of owner keys, expectations so a pass never acts on a cache that has not seen the
// previous pass's pods; decisions in decide.ts, API calls here.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { controllerRef, isPlainObject } from '../../api/object.js';
import { labelSelectorFromObject, labelSelectorFromSet, type LabelSelector } from '../../api/selectors.js';
import { resources, type Client, type ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { indexers, keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { claimObjects } from '../../api/podcontrol/claim.js';
import { Expectations } from '../../api/podcontrol/expectations.js';
import { controllerRefTo, isPodReady, podFromTemplate, podNamePrefix } from '../../api/podcontrol/pods.js';
import { createPods, deletePods, type PodWriter } from '../../client/pod-writes.js';
import { calculateStatus, manageReplicas, requeueAfterSeconds, statusChanged } from './decide.js';

export interface ReplicaKindConfig {
  name: string;
  eventSource: string;
  resource: ResourceType;
  apiVersion: string;
  kind: string;
  selector(owner: KubeObject): LabelSelector;
}

export const replicaSetResource: ResourceType = { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true };
export const replicationControllerResource: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'replicationcontrollers',
  kind: 'ReplicationController',
  namespaced: true,
};

export const REPLICASET: ReplicaKindConfig = {
  name: 'replicaset',
  eventSource: 'replicaset-controller',
  resource: replicaSetResource,
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  selector: (rs) => labelSelectorFromObject(rs.spec?.selector),
};

export const REPLICATION_CONTROLLER: ReplicaKindConfig = {
  name: 'replicationcontroller',
  eventSource: 'replication-controller',
  resource: replicationControllerResource,
  apiVersion: 'v1',
  kind: 'ReplicationController',
  selector: (rc) => labelSelectorFromSet(isPlainObject(rc.spec?.selector) ? rc.spec.selector : {}),
};

export interface ReplicaSetControllerOptions {
  /** concurrent reconciles (--concurrent-replicaset-syncs defaults to 5) */
  workers?: number;
  now?: () => number;
}

const STATUS_WRITE_ATTEMPTS = 5;

// Upstream's pod indexes (1.28+): a pass looks at the pods its owner controls and the orphans
// of its namespace, not every pod of the namespace, which kept a rollout of 1,000 replicas
// (2,000 pods in the namespace) scanning all of them on every pod event.
const CONTROLLER_UID_INDEX = 'controllerUID';
const ORPHAN_INDEX = 'orphanPods';
const orphans = (pod: KubeObject): string[] => (controllerRef(pod) ? [] : [pod.metadata.namespace ?? '']);

export class ReplicaSetController implements Controller {
  readonly name: string;
  private readonly queue = new WorkQueue<string>();
  private readonly expectations = new Expectations();
  private owners!: Informer;
  private pods!: Informer;

  constructor(
    private readonly config: ReplicaKindConfig = REPLICASET,
    private readonly options: ReplicaSetControllerOptions = {},
  ) {
    this.name = config.name;
  }

  start(ctx: ControllerContext): void {
    this.owners = ctx.informers.informerFor(this.config.resource);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.pods.addIndexer(CONTROLLER_UID_INDEX, indexers.controllerUid);
    this.pods.addIndexer(ORPHAN_INDEX, orphans);
    this.owners.addEventHandler({
      onAdd: (o) => this.queue.add(keyOf(o)),
      onUpdate: (_old, o) => this.queue.add(keyOf(o)),
      onDelete: (o) => {
        this.expectations.forget(keyOf(o));
        this.queue.add(keyOf(o));
      },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => {
        const owner = this.owner(pod);
        if (owner) {
          this.expectations.creationObserved(keyOf(owner));
          this.queue.add(keyOf(owner));
        } else if (!controllerRef(pod)) this.enqueueMatching(pod);
      },
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (pod) => {
        const owner = this.owner(pod);
        if (!owner) return;
        this.expectations.deletionObserved(keyOf(owner), keyOf(pod));
        this.queue.add(keyOf(owner));
      },
    });
    const recorder = new EventRecorder(ctx.client, this.config.eventSource);
    ctx.runWorkers(this.queue, this.options.workers ?? 5, (key) => this.sync(ctx.client, recorder, key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private owner(pod: KubeObject): KubeObject | undefined {
    const ref = controllerRef(pod);
    if (!ref || ref.kind !== this.config.kind) return undefined;
    const owner = this.owners.get(`${pod.metadata.namespace}/${ref.name}`);
    return owner && owner.metadata.uid === ref.uid ? owner : undefined;
  }

  private enqueueMatching(pod: KubeObject): void {
    for (const owner of this.owners.list(pod.metadata.namespace ?? '')) {
      try {
        if (this.config.selector(owner).matches(pod.metadata.labels)) this.queue.add(keyOf(owner));
      } catch {
        // an unusable selector adopts nothing
      }
    }
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const oldOwner = this.owner(old);
    const owner = this.owner(pod);
    if (oldOwner && oldOwner !== owner) this.queue.add(keyOf(oldOwner));
    if (owner) {
      this.queue.add(keyOf(owner));
      const minReadySeconds: number = owner.spec?.minReadySeconds ?? 0;
      // availability arrives by the clock alone
      if (minReadySeconds > 0 && !isPodReady(old) && isPodReady(pod)) this.queue.addAfter(keyOf(owner), minReadySeconds * 1000 + 1000);
      return;
    }
    if (!controllerRef(pod)) this.enqueueMatching(pod);
  }

  private async sync(client: Client, recorder: EventRecorder, key: string): Promise<ReconcileResult | void> {
    const owner = this.owners.get(key);
    if (!owner) {
      this.expectations.forget(key);
      return;
    }
    const now = (this.options.now ?? Date.now)();
    const ns = owner.metadata.namespace ?? '';
    const podClient = client.resource(resources.pods, ns);
    let selector: LabelSelector;
    try {
      selector = this.config.selector(owner);
    } catch (e) {
      recorder.event(owner, 'Warning', 'SelectorParsingFailed', `failed to parse selector: ${(e as Error).message}`);
      return;
    }
    // ReplicaSets never act on an empty selector: it would adopt every pod of the namespace.
    const ref = controllerRefTo(owner, this.config.apiVersion, this.config.kind);
    const satisfied = this.expectations.satisfied(key);
    const candidates = [...this.pods.byIndex(CONTROLLER_UID_INDEX, owner.metadata.uid ?? ''), ...this.pods.byIndex(ORPHAN_INDEX, ns)];
    const claim = claimObjects(owner, candidates, (p) => !selector.empty && selector.matches(p.metadata.labels), ref);
    if (claim.adopt.length) {
      // RecheckDeletionTimestamp: adopt only for the owner as it is now
      const fresh = await client.resource(this.config.resource, ns).get(owner.metadata.name ?? '');
      if (fresh.metadata.uid !== owner.metadata.uid || fresh.metadata.deletionTimestamp) return;
    }
    const pods = [...claim.claimed];
    for (const { name, patch } of claim.adopt) await podClient.patch(name, patch, 'strategic').catch(ignoreNotFound);
    for (const { name, patch } of claim.release) await podClient.patch(name, patch, 'strategic').catch(ignoreNotFound);

    const plan = manageReplicas({ owner, pods, expectationsSatisfied: satisfied });
    const what = `${this.config.kind} ${ns}/${owner.metadata.name}`;
    const writer: PodWriter = { owner, key, expectations: this.expectations, pods: podClient, recorder, quietWhenNamespaceTerminating: true };
    const createError = await createPods(writer, plan.create, () => podFromTemplate(owner.spec?.template, ns, ref, podNamePrefix(owner.metadata.name ?? '')));
    const deleteError = await deletePods(writer, plan.delete);

    const status = calculateStatus({ owner, pods, now, expectationsSatisfied: satisfied, createError, deleteError }, owner.spec?.template?.metadata?.labels);
    if (statusChanged(owner.status, status)) await this.writeStatus(client, owner, status);
    if (createError || deleteError) throw new Error(`${what}: ${createError ?? deleteError}`);
    const requeue = requeueAfterSeconds(owner, pods, now);
    if (requeue) return { requeueAfter: requeue * 1000 };
  }

  private async writeStatus(client: Client, owner: KubeObject, status: Record<string, any>): Promise<void> {
    const rc = client.resource(this.config.resource, owner.metadata.namespace);
    let current = owner;
    for (let attempt = 1; ; attempt++) {
      try {
        await rc.updateStatus({ ...current, status });
        return;
      } catch (e) {
        if (isApiError(e, 'NotFound')) return;
        if (!isApiError(e, 'Conflict') || attempt >= STATUS_WRITE_ATTEMPTS) throw e;
      }
      current = await rc.get(owner.metadata.name ?? '');
      if (current.metadata.uid !== owner.metadata.uid) return;
    }
  }
}

function ignoreNotFound(e: unknown): void {
  if (!isApiError(e, 'NotFound') && !isApiError(e, 'Invalid')) throw e;
}
