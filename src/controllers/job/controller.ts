// The Job controller: informers on Jobs and pods, a queue of job keys, expectations so a pass
// never counts pods on a cache that has not seen the last pass's creations; decide() for
// each pass, the calls here. It also deletes finished jobs whose ttlSecondsAfterFinished ran
// out (upstream's TTL-after-finished controller).
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
import { controllerRefTo } from '../../api/podcontrol/pods.js';
import { createPods, deletePods, type PodWriter } from '../../client/pod-writes.js';
import { decide, isFinished, jobPod } from './decide.js';

export const jobResource: ResourceType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };
export const EVENT_SOURCE = 'job-controller';

export interface JobControllerOptions {
  workers?: number;
  now?: () => number;
}

export class JobController implements Controller {
  readonly name = 'job';
  private readonly queue = new WorkQueue<string>();
  private readonly expectations = new Expectations();
  private jobs!: Informer;
  private pods!: Informer;

  constructor(private readonly options: JobControllerOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.jobs = ctx.informers.informerFor(jobResource);
    this.pods = ctx.informers.informerFor(resources.pods);
    const enqueue = (job: KubeObject) => this.queue.add(keyOf(job));
    this.jobs.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_o, job) => enqueue(job),
      onDelete: (job) => this.expectations.forget(keyOf(job)),
    });
    this.pods.addEventHandler({
      onAdd: (pod) => {
        const job = this.owner(pod);
        if (!job) return;
        this.expectations.creationObserved(keyOf(job));
        enqueue(job);
      },
      onUpdate: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const job = this.owner(pod);
        if (job) enqueue(job);
      },
      onDelete: (pod) => {
        const job = this.owner(pod);
        if (!job) return;
        this.expectations.deletionObserved(keyOf(job), keyOf(pod));
        enqueue(job);
      },
    });
    const recorder = new EventRecorder(ctx.client, EVENT_SOURCE);
    ctx.runWorkers(this.queue, this.options.workers ?? 5, (key) => this.sync(ctx.client, recorder, key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private owner(pod: KubeObject): KubeObject | undefined {
    const ref = controllerRef(pod);
    if (!ref || ref.kind !== 'Job') return undefined;
    const job = this.jobs.get(`${pod.metadata.namespace}/${ref.name}`);
    return job && job.metadata.uid === ref.uid ? job : undefined;
  }

  private async sync(client: Client, recorder: EventRecorder, key: string): Promise<ReconcileResult | void> {
    const job = this.jobs.get(key);
    if (!job) return;
    const ns = job.metadata.namespace ?? '';
    const podClient = client.resource(resources.pods, ns);
    const jobClient = client.resource(jobResource, ns);
    const ref = controllerRefTo(job, 'batch/v1', 'Job');
    let pods: KubeObject[] = [];
    if (!isFinished(job)) {
      let selector;
      try {
        selector = labelSelectorFromObject(job.spec?.selector);
      } catch {
        return;
      }
      const claim = claimObjects(job, this.pods.list(ns), (p) => !selector.empty && selector.matches(p.metadata.labels), ref);
      for (const { name, patch } of [...claim.adopt, ...claim.release]) {
        await podClient.patch(name, patch, 'strategic').catch((e) => {
          if (!isApiError(e, 'NotFound') && !isApiError(e, 'Invalid')) throw e;
        });
      }
      pods = claim.claimed;
    }
    const plan = decide({ job, pods, now: (this.options.now ?? Date.now)(), expectationsSatisfied: this.expectations.satisfied(key) });

    if (plan.deleteJob) {
      await jobClient.delete(job.metadata.name ?? '', { propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid } }).catch((e) => {
        if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
      });
      return;
    }

    const writer: PodWriter = { owner: job, key, expectations: this.expectations, pods: podClient, recorder };
    const deleteError = await deletePods(writer, plan.delete);
    const createError = await createPods(writer, plan.create.length, (i) => jobPod(job, plan.create[i], ref, plan.indexFailureCounts?.[plan.create[i] ?? -1]));
    const error = createError ?? deleteError;
    if (plan.status) {
      try {
        await jobClient.updateStatus({ ...job, status: plan.status });
      } catch (e) {
        if (isApiError(e, 'NotFound')) return;
        if (isApiError(e, 'Conflict')) return { requeue: true };
        throw e;
      }
      for (const ev of plan.events) recorder.event(job, ev.type, ev.reason, ev.message);
    }
    if (error) throw new Error(error);
    if (plan.requeueAfterSeconds) return { requeueAfter: plan.requeueAfterSeconds * 1000 };
  }
}
