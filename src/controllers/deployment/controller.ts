// The Deployment controller: informers on Deployments, ReplicaSets and pods, a queue of
// deployment keys, decide() for each pass and the planned calls performed here in order. A
// pass stops at its first failed call and is retried; optimistic concurrency (resourceVersion
// on every update) keeps a stale cache from acting twice.
import { ApiError, isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { controllerRef } from '../../api/object.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import { resources, type Client, type ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { decide, DEPLOYMENT_KIND, type DeploymentAction } from './decide.js';
import { equalIgnoreHash, newCondition, PROGRESSING, reasons, setCondition, hasProgressDeadline } from './util.js';

export const deploymentResource: ResourceType = { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true };
const replicaSetResource: ResourceType = { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true };

export const EVENT_SOURCE = 'deployment-controller';

export interface DeploymentControllerOptions {
  /** concurrent reconciles (--concurrent-deployment-syncs defaults to 5) */
  workers?: number;
  now?: () => number;
}

class PassAborted extends Error {}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly queue = new WorkQueue<string>();
  private deployments!: Informer;
  private replicaSets!: Informer;
  private pods!: Informer;

  constructor(private readonly options: DeploymentControllerOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.deployments = ctx.informers.informerFor(deploymentResource);
    this.replicaSets = ctx.informers.informerFor(replicaSetResource);
    this.pods = ctx.informers.informerFor(resources.pods);
    const enqueue = (d: KubeObject) => this.queue.add(keyOf(d));
    this.deployments.addEventHandler({ onAdd: enqueue, onUpdate: (_o, d) => enqueue(d), onDelete: enqueue });
    this.replicaSets.addEventHandler({
      onAdd: (rs) => this.replicaSetChanged(rs),
      onUpdate: (old, rs) => {
        if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
        const oldRef = controllerRef(old);
        if (oldRef && oldRef.uid !== controllerRef(rs)?.uid) this.replicaSetChanged(old);
        this.replicaSetChanged(rs);
      },
      onDelete: (rs) => this.replicaSetChanged(rs),
    });
    // Recreate waits for the old pods to be gone
    this.pods.addEventHandler({
      onDelete: (pod) => {
        const rsRef = controllerRef(pod);
        if (rsRef?.kind !== 'ReplicaSet') return;
        const rs = this.replicaSets.get(`${pod.metadata.namespace}/${rsRef.name}`);
        const d = rs && this.owner(rs);
        if (d && d.spec?.strategy?.type === 'Recreate') this.queue.add(keyOf(d));
      },
    });
    const recorder = new EventRecorder(ctx.client, EVENT_SOURCE);
    ctx.runWorkers(this.queue, this.options.workers ?? 5, (key) => this.sync(ctx.client, recorder, key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private owner(rs: KubeObject): KubeObject | undefined {
    const ref = controllerRef(rs);
    if (!ref || ref.kind !== DEPLOYMENT_KIND) return undefined;
    const d = this.deployments.get(`${rs.metadata.namespace}/${ref.name}`);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  private replicaSetChanged(rs: KubeObject): void {
    const d = this.owner(rs);
    if (d) return this.queue.add(keyOf(d));
    if (controllerRef(rs)) return;
    for (const candidate of this.deployments.list(rs.metadata.namespace ?? '')) {
      try {
        const sel = labelSelectorFromObject(candidate.spec?.selector);
        if (!sel.empty && sel.matches(rs.metadata.labels)) this.queue.add(keyOf(candidate));
      } catch {
        // an unusable selector adopts nothing
      }
    }
  }

  private async sync(client: Client, recorder: EventRecorder, key: string): Promise<ReconcileResult | void> {
    const d = this.deployments.get(key);
    if (!d) return;
    const ns = d.metadata.namespace ?? '';
    const plan = decide({
      deployment: d,
      replicaSets: this.replicaSets.list(ns),
      pods: d.spec?.strategy?.type === 'Recreate' ? this.pods.list(ns) : [],
      now: (this.options.now ?? Date.now)(),
    });
    try {
      await this.perform(client, recorder, d, plan.actions);
    } catch (e) {
      if (e instanceof PassAborted) return { requeue: true };
      throw e;
    }
    if (plan.requeueAfterSeconds) return { requeueAfter: plan.requeueAfterSeconds * 1000 };
  }

  private async perform(client: Client, recorder: EventRecorder, d: KubeObject, actions: DeploymentAction[]): Promise<void> {
    const ns = d.metadata.namespace ?? '';
    const rsClient = client.resource(replicaSetResource, ns);
    const dClient = client.resource(deploymentResource, ns);
    // resourceVersions written in this pass, so a second update of the same object is not a conflict
    const versions = new Map<string, string>();
    const fresh = (obj: KubeObject, kind: string): KubeObject => {
      const rv = versions.get(`${kind}/${obj.metadata.name}`);
      return rv ? { ...obj, metadata: { ...obj.metadata, resourceVersion: rv } } : obj;
    };
    const remember = (obj: KubeObject, kind: string) => {
      if (obj.metadata.resourceVersion) versions.set(`${kind}/${obj.metadata.name}`, obj.metadata.resourceVersion);
    };
    for (const action of actions) {
      switch (action.verb) {
        case 'event':
          recorder.event(d, action.event.type, action.event.reason, action.event.message);
          break;
        case 'verifyOwner': {
          const current = await dClient.get(d.metadata.name ?? '');
          if (current.metadata.uid !== d.metadata.uid || current.metadata.deletionTimestamp) throw new PassAborted('deployment changed');
          break;
        }
        case 'adoptReplicaSet':
        case 'releaseReplicaSet':
          try {
            await rsClient.patch(action.name, action.patch, 'strategic');
          } catch (e) {
            if (!isApiError(e, 'NotFound') && !isApiError(e, 'Invalid')) throw e;
          }
          break;
        case 'createReplicaSet':
          await this.createReplicaSet(dClient, rsClient, recorder, fresh(d, 'd'), action.rs, remember);
          if (action.event) recorder.event(d, action.event.type, action.event.reason, action.event.message);
          break;
        case 'updateReplicaSet': {
          const updated = await rsClient.update(fresh(action.rs, 'rs'));
          remember(updated, 'rs');
          if (action.event) recorder.event(d, action.event.type, action.event.reason, action.event.message);
          break;
        }
        case 'deleteReplicaSet':
          try {
            await rsClient.delete(action.rs.metadata.name ?? '', { preconditions: { uid: action.rs.metadata.uid } });
          } catch (e) {
            if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
          }
          break;
        case 'updateStatus': {
          const updated = await dClient.updateStatus(fresh(action.deployment, 'd'));
          remember(updated, 'd');
          break;
        }
      }
    }
  }

  /** Creates the new ReplicaSet; a name taken by another template bumps collisionCount (a new hash). */
  private async createReplicaSet(
    dClient: ReturnType<Client['resource']>,
    rsClient: ReturnType<Client['resource']>,
    recorder: EventRecorder,
    d: KubeObject,
    rs: KubeObject,
    remember: (obj: KubeObject, kind: string) => void,
  ): Promise<void> {
    try {
      const created = await rsClient.create(rs);
      remember(created, 'rs');
      return;
    } catch (e) {
      if (isApiError(e, 'AlreadyExists')) {
        const existing = await rsClient.get(rs.metadata.name ?? '');
        // our own set, not yet in the cache: the next pass finds it
        if (controllerRef(existing)?.uid === d.metadata.uid && equalIgnoreHash(existing.spec?.template, d.spec?.template)) {
          throw new PassAborted('replica set not yet observed');
        }
        const next = { ...d, status: { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 } };
        await dClient.updateStatus(next);
        throw new PassAborted('hash collision');
      }
      const message = `Failed to create new replica set "${rs.metadata.name}": ${e instanceof Error ? e.message : String(e)}`;
      if (hasProgressDeadline(d)) {
        const status = { ...(d.status ?? {}) };
        setCondition(status, newCondition(PROGRESSING, 'False', reasons.FailedRSCreate, message, Date.now()));
        await dClient.updateStatus({ ...d, status }).catch(() => undefined);
      }
      recorder.event(d, 'Warning', reasons.FailedRSCreate, message);
      throw e instanceof ApiError ? e : new Error(message);
    }
  }
}
