// The CronJob controller: informers on CronJobs and Jobs, a queue of cron job keys requeued
// for their next start time; decide() for each pass, the calls here.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { controllerRef } from '../../api/object.js';
import type { Client, ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { decide } from './decide.js';

export const cronJobResource: ResourceType = { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', namespaced: true };
const jobResource: ResourceType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };
export const EVENT_SOURCE = 'cronjob-controller';

export interface CronJobControllerOptions {
  workers?: number;
  now?: () => number;
}

export class CronJobController implements Controller {
  readonly name = 'cronjob';
  private readonly queue = new WorkQueue<string>();
  private cronJobs!: Informer;
  private jobs!: Informer;

  constructor(private readonly options: CronJobControllerOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.cronJobs = ctx.informers.informerFor(cronJobResource);
    this.jobs = ctx.informers.informerFor(jobResource);
    const enqueue = (cj: KubeObject) => this.queue.add(keyOf(cj));
    this.cronJobs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, cj) => enqueue(cj) });
    const jobChanged = (job: KubeObject) => {
      const ref = controllerRef(job);
      if (ref?.kind !== 'CronJob') return;
      const cj = this.cronJobs.get(`${job.metadata.namespace}/${ref.name}`);
      if (cj && cj.metadata.uid === ref.uid) enqueue(cj);
    };
    this.jobs.addEventHandler({ onAdd: jobChanged, onUpdate: (_o, j) => jobChanged(j), onDelete: jobChanged });
    const recorder = new EventRecorder(ctx.client, EVENT_SOURCE);
    ctx.runWorkers(this.queue, this.options.workers ?? 5, (key) => this.sync(ctx.client, recorder, key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(client: Client, recorder: EventRecorder, key: string): Promise<ReconcileResult | void> {
    const cj = this.cronJobs.get(key);
    if (!cj) return;
    const ns = cj.metadata.namespace ?? '';
    const jobs = this.jobs.list(ns).filter((j) => controllerRef(j)?.uid === cj.metadata.uid);
    const plan = decide({ cronJob: cj, jobs, now: (this.options.now ?? Date.now)() });
    const jobClient = client.resource(jobResource, ns);
    for (const ev of plan.events) recorder.event(cj, ev.type, ev.reason, ev.message);
    for (const job of plan.deleteJobs) {
      try {
        await jobClient.delete(job.metadata.name ?? '', { propagationPolicy: 'Background' });
        recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata.name}`);
      } catch (e) {
        if (!isApiError(e, 'NotFound')) {
          recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
      }
    }
    let status = plan.status;
    if (plan.createJob) {
      try {
        const created = await jobClient.create(plan.createJob);
        recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata.name}`);
        const ref = { kind: 'Job', namespace: ns, name: created.metadata.name, uid: created.metadata.uid, apiVersion: 'batch/v1', resourceVersion: created.metadata.resourceVersion };
        const next: Record<string, any> = { ...(status ?? cj.status ?? {}) };
        next.active = [...((next.active as any[] | undefined) ?? []).filter((r) => r.uid !== ref.uid), ref];
        status = next;
      } catch (e) {
        if (!isApiError(e, 'AlreadyExists')) {
          recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
      }
    }
    if (status) {
      try {
        await client.resource(cronJobResource, ns).updateStatus({ ...cj, status });
      } catch (e) {
        if (isApiError(e, 'Conflict')) return { requeue: true };
        if (!isApiError(e, 'NotFound')) throw e;
      }
    }
    if (plan.requeueAfterSeconds) return { requeueAfter: plan.requeueAfterSeconds * 1000 };
  }
}
