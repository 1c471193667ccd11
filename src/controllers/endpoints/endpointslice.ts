// The EndpointSlice controller: keeps discovery.k8s.io/v1 EndpointSlices (at most 100
// endpoints each, owned by their service) for every selector-based service. Slices are named
// by the API server (generateName), so a sync that ran on a cache missing our own last writes
// would create duplicates: the tracker below holds syncs back until the cache has caught up.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resources } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { formatTriggerTime, managedSelector, namespaceTerminating, podEndpointsChanged, selectedPods, serviceKeysForPod, TRIGGER_TIME_ANNOTATION, TriggerTimeTracker } from './common.js';
import { CONTROLLER_NAME, DEFAULT_MAX_ENDPOINTS_PER_SLICE, MANAGED_BY_LABEL, planSlices, SERVICE_NAME_LABEL } from './slices.js';

const SERVICE_INDEX = 'endpointslice-service';
/** Slice events resync their service after this delay, so that bursts of them coalesce. */
const SLICE_CHANGE_SYNC_DELAY_MS = 1000;
/** Expectations older than this are given up on: a watch that lags this long is not coming back. */
const EXPECTATION_TTL_MS = 30_000;

export interface EndpointSliceControllerOptions {
  maxEndpointsPerSlice?: number;
  workers?: number;
  /** pod changes wait this long before the sync, so that bursts coalesce (upstream's --endpointslice-updates-batch-period, default 0) */
  batchPeriodMs?: number;
}

function managedByUs(slice: KubeObject): boolean {
  return slice.metadata.labels?.[MANAGED_BY_LABEL] === CONTROLLER_NAME;
}

/** The key of the service a slice belongs to, from its service-name label. */
function serviceKeyOf(slice: KubeObject): string | undefined {
  const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${slice.metadata.namespace}/${svc}` : undefined;
}

interface Expectation {
  /** resourceVersion our write produced */
  written?: string;
  /** resourceVersion our update replaced: a cache still holding it is behind */
  replaced?: string;
  deleted?: true;
  at: number;
}

/** What the controller expects the slice cache to show after its own writes, per service and slice uid. */
export class SliceExpectations {
  private readonly byService = new Map<string, Map<string, Expectation>>();

  wrote(serviceKey: string, slice: KubeObject, replaced?: string): void {
    this.entries(serviceKey).set(slice.metadata.uid!, { written: slice.metadata.resourceVersion, replaced, at: Date.now() });
  }

  expectDeletion(serviceKey: string, slice: KubeObject): void {
    this.entries(serviceKey).set(slice.metadata.uid!, { deleted: true, at: Date.now() });
  }

  /** Whether a cache event merely reports our own write. */
  isOwnWrite(serviceKey: string, slice: KubeObject): boolean {
    const e = this.byService.get(serviceKey)?.get(slice.metadata.uid!);
    return !!e?.written && e.written === slice.metadata.resourceVersion;
  }

  /** Forgets the slice; answers whether its deletion was ours. */
  handleDeletion(serviceKey: string, slice: KubeObject): boolean {
    const entries = this.byService.get(serviceKey);
    const e = entries?.get(slice.metadata.uid!);
    entries?.delete(slice.metadata.uid!);
    return !!e?.deleted;
  }

  /** True while the cached slices do not yet reflect our writes. Expectations met are dropped. */
  isStale(serviceKey: string, cached: KubeObject[], now = Date.now()): boolean {
    const entries = this.byService.get(serviceKey);
    if (!entries) return false;
    const byUid = new Map(cached.map((s) => [s.metadata.uid, s]));
    let stale = false;
    for (const [uid, e] of entries) {
      const seen = byUid.get(uid);
      const met = e.deleted ? !seen : !!seen && seen.metadata.resourceVersion !== e.replaced;
      if (met || now - e.at > EXPECTATION_TTL_MS) entries.delete(uid);
      else stale = true;
    }
    if (!entries.size) this.byService.delete(serviceKey);
    return stale;
  }

  forget(serviceKey: string): void {
    this.byService.delete(serviceKey);
  }

  private entries(serviceKey: string): Map<string, Expectation> {
    let m = this.byService.get(serviceKey);
    if (!m) this.byService.set(serviceKey, (m = new Map()));
    return m;
  }
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  private readonly queue = new WorkQueue<string>();
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly expectations = new SliceExpectations();
  private ctx!: ControllerContext;
  private recorder!: EventRecorder;
  private services!: Informer;
  private pods!: Informer;
  private nodes!: Informer;
  private slices!: Informer;

  constructor(private readonly options: EndpointSliceControllerOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = new EventRecorder(ctx.client, 'endpoint-slice-controller');
    this.services = ctx.informers.informerFor(resources.services);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.nodes = ctx.informers.informerFor(resources.nodes);
    this.slices = ctx.informers.informerFor(resources.endpointSlices);
    this.slices.addIndexer(SERVICE_INDEX, (s) => {
      const key = managedByUs(s) ? serviceKeyOf(s) : undefined;
      return key ? [key] : [];
    });

    const enqueue = (svc: KubeObject) => this.queue.add(keyOf(svc));
    this.services.addEventHandler({
      onAdd: enqueue,
      onUpdate: (old, svc) => {
        if (old.metadata.resourceVersion !== svc.metadata.resourceVersion && !svc.metadata.deletionTimestamp) enqueue(svc);
      },
      onDelete: enqueue,
    });
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
    this.slices.addEventHandler({
      onAdd: (slice) => this.sliceChanged(slice),
      onUpdate: (old, slice) => {
        if (old.metadata.resourceVersion === slice.metadata.resourceVersion || slice.metadata.deletionTimestamp) return;
        if (serviceKeyOf(old) !== serviceKeyOf(slice) || managedByUs(old) !== managedByUs(slice)) {
          this.resyncLater(serviceKeyOf(old));
          this.resyncLater(serviceKeyOf(slice));
          return;
        }
        this.sliceChanged(slice);
      },
      onDelete: (slice) => {
        const key = serviceKeyOf(slice);
        if (key && managedByUs(slice) && !this.expectations.handleDeletion(key, slice)) this.resyncLater(key);
      },
    });
    ctx.runWorkers(this.queue, this.options.workers ?? 2, (key) => this.sync(key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private sliceChanged(slice: KubeObject): void {
    const key = serviceKeyOf(slice);
    if (key && managedByUs(slice) && !this.expectations.isOwnWrite(key, slice)) this.resyncLater(key);
  }

  private resyncLater(key: string | undefined): void {
    if (key) this.queue.addAfter(key, SLICE_CHANGE_SYNC_DELAY_MS);
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const svc = this.services.get(key);
    if (!svc) {
      // the slices go with their owner, through the garbage collector
      this.triggerTimes.forget(key);
      this.expectations.forget(key);
      return;
    }
    const selector = managedSelector(svc);
    if (!selector) return;
    const { namespace } = splitKey(key);
    const pods = selectedPods(selector, this.pods.list(namespace));
    const existing = this.slices.byIndex(SERVICE_INDEX, key).filter((s) => !s.metadata.deletionTimestamp);
    if (this.expectations.isStale(key, existing)) throw new Error('EndpointSlice informer cache is out of date');
    const triggerTime = this.triggerTimes.compute(key, svc, pods);

    const plan = planSlices(svc, pods, existing, (name) => this.nodes.get(name), this.options.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE);
    try {
      await this.apply(key, svc, plan, triggerTime);
      if (plan.errors.length) throw new Error(plan.errors.length === 1 ? plan.errors[0] : `[${plan.errors.join(', ')}]`);
    } catch (e) {
      if (!isApiError(e, 'Conflict')) {
        this.recorder.event(svc, 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${key}: ${errorText(e)}`);
      }
      throw e;
    }
  }

  private async apply(key: string, svc: KubeObject, plan: ReturnType<typeof planSlices>, triggerTime: number | undefined): Promise<void> {
    const client = this.ctx.client.endpointSlices(svc.metadata.namespace);
    const stamp = (slice: KubeObject) => {
      const annotations = { ...slice.metadata.annotations };
      if (triggerTime !== undefined) annotations[TRIGGER_TIME_ANNOTATION] = formatTriggerTime(triggerTime);
      else delete annotations[TRIGGER_TIME_ANNOTATION];
      slice.metadata.annotations = annotations;
    };
    // new slices for a service on its way out would only race the garbage collector
    if (!svc.metadata.deletionTimestamp) {
      for (const slice of plan.create) {
        stamp(slice);
        try {
          this.expectations.wrote(key, await client.create(slice));
        } catch (e) {
          if (namespaceTerminating(e)) return;
          throw new Error(`failed to create EndpointSlice for Service ${key}: ${errorText(e)}`, { cause: e });
        }
      }
    }
    for (const slice of plan.update) {
      stamp(slice);
      const replaced = slice.metadata.resourceVersion;
      try {
        this.expectations.wrote(key, await client.update(slice), replaced);
      } catch (e) {
        if (isApiError(e, 'Conflict')) throw e;
        throw new Error(`failed to update ${slice.metadata.name} EndpointSlice for Service ${key}: ${errorText(e)}`, { cause: e });
      }
    }
    for (const slice of plan.delete) {
      try {
        await client.delete(slice.metadata.name!);
      } catch (e) {
        if (isApiError(e, 'NotFound')) continue;
        throw new Error(`failed to delete ${slice.metadata.name} EndpointSlice for Service ${key}: ${errorText(e)}`, { cause: e });
      }
      this.expectations.expectDeletion(key, slice);
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
