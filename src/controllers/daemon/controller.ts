// The DaemonSet controller: informers on DaemonSets, nodes, pods and ControllerRevisions; a
// queue of set keys (every set is looked at again when a node comes, goes or changes);
// expectations against acting twice on a stale cache; decide() for the plan, the calls here.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { controllerRef } from '../../api/object.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import { resources, type Client, type ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { claimObjects } from '../../api/podcontrol/claim.js';
import { Expectations } from '../../api/podcontrol/expectations.js';
import { computeHash } from '../../api/podcontrol/hash.js';
import { controllerRefTo } from '../../api/podcontrol/pods.js';
import { createPods, deletePods, type PodWriter } from '../../client/pod-writes.js';
import { CONTROLLER_REVISION_HASH_LABEL, daemonPod, decide, decideHistory, targetNode } from './decide.js';

export const daemonSetResource: ResourceType = { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true };
const revisionResource: ResourceType = { group: 'apps', version: 'v1', resource: 'controllerrevisions', kind: 'ControllerRevision', namespaced: true };
export const EVENT_SOURCE = 'daemonset-controller';

export interface DaemonSetControllerOptions {
  workers?: number;
  now?: () => number;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  private readonly queue = new WorkQueue<string>();
  private readonly expectations = new Expectations();
  private sets!: Informer;
  private pods!: Informer;
  private nodes!: Informer;
  private revisions!: Informer;

  constructor(private readonly options: DaemonSetControllerOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.sets = ctx.informers.informerFor(daemonSetResource);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.nodes = ctx.informers.informerFor(resources.nodes);
    this.revisions = ctx.informers.informerFor(revisionResource);
    const enqueue = (ds: KubeObject) => this.queue.add(keyOf(ds));
    const all = () => this.sets.list().forEach(enqueue);
    this.sets.addEventHandler({ onAdd: enqueue, onUpdate: (_o, ds) => enqueue(ds), onDelete: (ds) => this.expectations.forget(keyOf(ds)) });
    this.nodes.addEventHandler({
      onAdd: all,
      onUpdate: (old, node) => {
        const changed = (n: KubeObject) => JSON.stringify([n.metadata.labels, n.spec?.taints, n.spec?.unschedulable]);
        if (changed(old) !== changed(node)) all();
      },
      onDelete: all,
    });
    this.pods.addEventHandler({
      onAdd: (pod) => {
        const ds = this.owner(pod);
        if (!ds) return;
        this.expectations.creationObserved(keyOf(ds));
        enqueue(ds);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const ds = this.owner(pod);
        if (ds) enqueue(ds);
      },
      onDelete: (pod) => {
        const ds = this.owner(pod);
        if (!ds) return;
        this.expectations.deletionObserved(keyOf(ds), keyOf(pod));
        enqueue(ds);
      },
    });
    const recorder = new EventRecorder(ctx.client, EVENT_SOURCE);
    ctx.runWorkers(this.queue, this.options.workers ?? 2, (key) => this.sync(ctx.client, recorder, key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private owner(pod: KubeObject): KubeObject | undefined {
    const ref = controllerRef(pod);
    if (!ref || ref.kind !== 'DaemonSet') return undefined;
    const ds = this.sets.get(`${pod.metadata.namespace}/${ref.name}`);
    return ds && ds.metadata.uid === ref.uid ? ds : undefined;
  }

  /** The ControllerRevisions as decideHistory says: the current template's created or made the newest, old ones beyond the limit deleted. */
  private async ensureRevision(client: Client, ds: KubeObject, hash: string, pods: KubeObject[]): Promise<void> {
    const ns = ds.metadata.namespace ?? '';
    const owned = this.revisions.list(ns).filter((r) => controllerRef(r)?.uid === ds.metadata.uid);
    const plan = decideHistory(ds, owned, hash, pods);
    const revisions = client.resource(revisionResource, ns);
    const changeCause = ds.metadata.annotations?.['kubernetes.io/change-cause'];
    if (plan.create !== undefined) {
      const body: KubeObject = {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name: `${ds.metadata.name}-${hash}`,
          namespace: ns,
          labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
          annotations: changeCause ? { 'kubernetes.io/change-cause': changeCause } : undefined,
          ownerReferences: [controllerRefTo(ds, 'apps/v1', 'DaemonSet')],
        },
        data: { spec: { template: { ...(ds.spec?.template ?? {}), $patch: 'replace' } } },
        revision: plan.create,
      } as KubeObject;
      if (!body.metadata.annotations) delete body.metadata.annotations;
      await revisions.create(body).catch((e) => {
        if (!isApiError(e, 'AlreadyExists')) throw e;
      });
    }
    if (plan.bump) {
      await revisions.update({ ...plan.bump.revision, revision: plan.bump.to } as KubeObject).catch((e) => {
        if (!isApiError(e, 'Conflict') && !isApiError(e, 'NotFound')) throw e;
      });
    }
    for (const r of plan.delete) {
      await revisions.delete(r.metadata.name ?? '', { preconditions: { uid: r.metadata.uid } }).catch((e) => {
        if (!isApiError(e, 'Conflict') && !isApiError(e, 'NotFound')) throw e;
      });
    }
  }

  private async sync(client: Client, recorder: EventRecorder, key: string): Promise<ReconcileResult | void> {
    const ds = this.sets.get(key);
    if (!ds) return;
    const ns = ds.metadata.namespace ?? '';
    const podClient = client.resource(resources.pods, ns);
    let selector;
    try {
      selector = labelSelectorFromObject(ds.spec?.selector);
    } catch {
      return;
    }
    if (selector.empty) return;
    const ref = controllerRefTo(ds, 'apps/v1', 'DaemonSet');
    const claim = claimObjects(ds, this.pods.list(ns), (p) => selector.matches(p.metadata.labels), ref);
    for (const { name, patch } of [...claim.adopt, ...claim.release]) {
      await podClient.patch(name, patch, 'strategic').catch((e) => {
        if (!isApiError(e, 'NotFound') && !isApiError(e, 'Invalid')) throw e;
      });
    }
    const hash = computeHash(ds.spec?.template, ds.status?.collisionCount);
    if (!ds.metadata.deletionTimestamp) await this.ensureRevision(client, ds, hash, claim.claimed);
    const plan = decide({ ds, nodes: this.nodes.list(), pods: claim.claimed, hash, now: (this.options.now ?? Date.now)() });
    const satisfied = this.expectations.satisfied(key);
    let error: string | undefined;
    if (satisfied) {
      const writer: PodWriter = { owner: ds, key, expectations: this.expectations, pods: podClient, recorder };
      for (const { pod, failed } of plan.delete) {
        if (failed) recorder.event(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${ns}/${pod.metadata.name} on node ${targetNode(pod)}, will try to kill it`);
      }
      const deleteError = await deletePods(writer, plan.delete.map((d) => d.pod));
      const createError = await createPods(writer, plan.createOn.length, (i) => daemonPod(ds, plan.createOn[i], hash, ref));
      error = createError ?? deleteError;
    }
    const changed = Object.keys({ ...plan.status, ...(ds.status ?? {}) }).some((k) => JSON.stringify(plan.status[k]) !== JSON.stringify(ds.status?.[k]) && k !== 'conditions');
    if (changed) {
      try {
        await client.resource(daemonSetResource, ns).updateStatus({ ...ds, status: { ...plan.status, ...(ds.status?.conditions ? { conditions: ds.status.conditions } : {}) } });
      } catch (e) {
        if (isApiError(e, 'Conflict')) return { requeue: true };
        if (!isApiError(e, 'NotFound')) throw e;
      }
    }
    if (error) throw new Error(error);
    if (plan.requeueAfterSeconds) return { requeueAfter: plan.requeueAfterSeconds * 1000 + 1000 };
  }
}
