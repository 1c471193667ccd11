// The endpoints controller: keeps a core/v1 Endpoints, named after the service, listing the
// pods each selector-based service picks (ready ones under addresses, the rest under
// notReadyAddresses). Services without a selector are left to their users. Writes happen
// only when the stored object differs from the desired one.
import { isApiError } from '../../api/errors.js';
import { deepEqual, type KubeObject } from '../../api/object.js';
import { resources } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import {
  formatTriggerTime,
  HEADLESS_LABEL,
  isServiceIPSet,
  managedSelector,
  namespaceTerminating,
  podEndpointsChanged,
  selectedPods,
  serviceKeysForPod,
  TRIGGER_TIME_ANNOTATION,
  TriggerTimeTracker,
} from './common.js';
import { desiredSubsets, truncateSubsets } from './subsets.js';

export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
/** Endpoints used as leader-election locks have no service and must survive the leftover sweep. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export interface EndpointsControllerOptions {
  workers?: number;
  /** pod changes wait this long before the sync, so that bursts coalesce (upstream's --endpoint-updates-batch-period, default 0) */
  batchPeriodMs?: number;
}

export class EndpointsController implements Controller {
  readonly name = 'endpoint';
  private readonly queue = new WorkQueue<string>();
  private readonly triggerTimes = new TriggerTimeTracker();
  /** per service: the resourceVersion our last update replaced; seeing it again means the cache lags */
  private readonly replacedVersions = new Map<string, string>();
  private ctx!: ControllerContext;
  private recorder!: EventRecorder;
  private services!: Informer;
  private pods!: Informer;
  private endpoints!: Informer;

  constructor(private readonly options: EndpointsControllerOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = new EventRecorder(ctx.client, 'endpoint-controller');
    this.services = ctx.informers.informerFor(resources.services);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.endpoints = ctx.informers.informerFor(resources.endpoints);
    const enqueue = (obj: KubeObject) => this.queue.add(keyOf(obj));
    this.services.addEventHandler({ onAdd: enqueue, onUpdate: (_o, svc) => enqueue(svc), onDelete: enqueue });
    const podServices = (pod: KubeObject) => {
      for (const key of serviceKeysForPod(this.services.list(pod.metadata.namespace), pod)) this.queue.addAfter(key, this.options.batchPeriodMs ?? 0);
    };
    this.pods.addEventHandler({
      onAdd: podServices,
      onUpdate: (old, pod) => {
        if (!podEndpointsChanged(old, pod)) return;
        podServices(pod);
        podServices(old);
      },
      onDelete: podServices,
    });
    // someone deleted an Endpoints the controller maintains: put it back
    this.endpoints.addEventHandler({ onDelete: enqueue });
    // Endpoints whose service went while no controller was watching are found once, at start.
    void ctx.synced().then((ok) => {
      if (ok) for (const ep of this.endpoints.list()) if (!ep.metadata.annotations?.[LEADER_ANNOTATION]) this.queue.add(keyOf(ep));
    });
    ctx.runWorkers(this.queue, this.options.workers ?? 2, (key) => this.sync(key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(key);
    if (!svc) {
      try {
        await this.ctx.client.endpoints(namespace).delete(name);
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
      }
      this.triggerTimes.forget(key);
      this.replacedVersions.delete(key);
      return;
    }
    const selector = managedSelector(svc);
    if (!selector) return;

    const pods = selectedPods(selector, this.pods.list(namespace));
    // computed on every sync so that the tracker sees each change, written or not
    const triggerTime = this.triggerTimes.compute(key, svc, pods);
    const packed = desiredSubsets(svc, pods);
    const truncated = truncateSubsets(packed);
    const subsets = truncated ?? packed;
    const labels = endpointsLabels(svc);

    const current = this.endpoints.get(key);
    if (current && this.replacedVersions.get(key) === current.metadata.resourceVersion) {
      throw new Error(`endpoints informer cache is out of date, resource version ${current.metadata.resourceVersion} already processed for endpoints ${key}`);
    }
    if (
      current &&
      deepEqual(current.subsets ?? [], subsets) &&
      deepEqual(current.metadata.labels ?? {}, labels) &&
      !!current.metadata.annotations?.[OVER_CAPACITY_ANNOTATION] === !!truncated
    ) {
      return;
    }

    // shallow copies suffice: everything the controller sets is replaced, never edited in place
    const next: KubeObject = { ...current, apiVersion: 'v1', kind: 'Endpoints', metadata: { ...current?.metadata, name, namespace, labels } };
    if (subsets.length) next.subsets = subsets;
    else delete next.subsets;
    const annotations = { ...next.metadata.annotations };
    if (triggerTime !== undefined) annotations[TRIGGER_TIME_ANNOTATION] = formatTriggerTime(triggerTime);
    else delete annotations[TRIGGER_TIME_ANNOTATION];
    if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    next.metadata.annotations = annotations;

    const endpoints = this.ctx.client.endpoints(namespace);
    if (!current) {
      try {
        await endpoints.create(next);
      } catch (e) {
        if (namespaceTerminating(e)) return;
        // created meanwhile (or the cache has not seen our own create yet): look again later
        if (isApiError(e, 'AlreadyExists')) return { requeue: true };
        this.recorder.event(next, 'Warning', 'FailedToCreateEndpoint', `Failed to create endpoint for service ${namespace}/${name}: ${errorText(e)}`);
        throw e;
      }
      return;
    }
    let updated: KubeObject;
    try {
      updated = await endpoints.update(next);
    } catch (e) {
      if (!isApiError(e, 'Conflict')) this.recorder.event(next, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${namespace}/${name}: ${errorText(e)}`);
      throw e;
    }
    if (updated.metadata.resourceVersion !== current.metadata.resourceVersion) this.replacedVersions.set(key, current.metadata.resourceVersion!);
  }
}

/** The service's labels, plus the headless mark when it has no cluster IP. */
function endpointsLabels(svc: KubeObject): Record<string, string> {
  const labels = { ...svc.metadata.labels };
  if (isServiceIPSet(svc)) delete labels[HEADLESS_LABEL];
  else labels[HEADLESS_LABEL] = '';
  return labels;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
