// The horizontal pod autoscaler controller: every sync period (upstream's 15 s) each
// HorizontalPodAutoscaler reads its target's scale subresource, the pods the scale's selector
// picks and their metrics.k8s.io usage, lets decide() choose a replica count, writes it through
// the scale subresource, and keeps status (current/desired replicas, current metrics,
// conditions) and events as upstream's controller does. Recommendations and recent scale events
// (for the behavior's stabilization windows and rate policies) are kept in memory, as upstream.
import { isApiError } from '../../api/errors.js';
import { splitApiVersion, timestamp, type KubeObject } from '../../api/object.js';
import type { AnyKindDef } from '../../api/registry.js';
import { setStatusCondition } from '../../api/conditions.js';
import { parseLabelSelector } from '../../api/selectors.js';
import { resources, type ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { decide, emptyHistory, type History } from './decide.js';

export const HPA_RESOURCE: ResourceType = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true };

export interface HorizontalPodAutoscalerOptions {
  /** upstream's --horizontal-pod-autoscaler-sync-period (default 15 s) */
  syncPeriodMs?: number;
  workers?: number;
}

export class HorizontalPodAutoscalerController implements Controller {
  readonly name = 'horizontalpodautoscaler';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private recorder!: EventRecorder;
  private hpas!: Informer;
  private pods!: Informer;
  private readonly history = new Map<string, History>();

  constructor(private readonly options: HorizontalPodAutoscalerOptions = {}) {}

  private get syncPeriodMs(): number {
    return this.options.syncPeriodMs ?? 15_000;
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = new EventRecorder(ctx.client, 'horizontal-pod-autoscaler');
    this.hpas = ctx.informers.informerFor(HPA_RESOURCE);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.hpas.addEventHandler({
      onAdd: (hpa) => this.queue.add(keyOf(hpa)),
      // status writes come back as updates: only a spec change is worth an early sync
      onUpdate: (old, hpa) => {
        if (old.metadata.generation !== hpa.metadata.generation) this.queue.add(keyOf(hpa));
      },
      onDelete: (hpa) => this.history.delete(keyOf(hpa)),
    });
    ctx.runWorkers(this.queue, this.options.workers ?? 2, (key) => this.sync(key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const hpa = this.hpas.get(key);
    if (!hpa) {
      this.history.delete(key);
      return;
    }
    const now = Date.now();
    const ns = hpa.metadata.namespace!;
    const scale = await this.readScale(hpa);
    let pods: KubeObject[] = [];
    let podMetrics: KubeObject[] | { error: string } = [];
    if (!('error' in scale) && scale.selector) {
      const sel = parseLabelSelector(scale.selector);
      pods = this.pods.list(ns).filter((p) => sel.matches(p.metadata.labels ?? {}));
      podMetrics = await this.readMetrics(ns, scale.selector);
    }
    const d = decide({ hpa, scale, pods, podMetrics, history: this.history.get(key) ?? emptyHistory(), now });
    const conditions = d.conditions.map((c) => ({ ...c }));
    let rescaled = false;
    if (d.rescaleTo !== undefined && !('error' in scale)) {
      try {
        // as upstream: the Scale read is written back with the new replicas (an update, which
        // the controller's role allows; a target changed meanwhile is a conflict, retried next sync)
        await this.ctx.client.resource(scale.type, ns).updateScale({ ...scale.object, spec: { ...scale.object.spec, replicas: d.rescaleTo } });
        rescaled = true;
        this.history.set(key, d.history);
        setCondition(conditions, { type: 'AbleToScale', status: 'True', reason: 'SucceededRescale', message: `the HPA controller was able to update the target scale to ${d.rescaleTo}` });
        this.recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${d.rescaleTo}; reason: ${d.rescaleReason}`);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        this.recorder.event(hpa, 'Warning', 'FailedRescale', `New size: ${d.rescaleTo}; reason: ${d.rescaleReason}; error: ${msg}`);
        setCondition(conditions, { type: 'AbleToScale', status: 'False', reason: 'FailedUpdateScale', message: `the HPA controller was unable to update the target scale: ${msg}` });
      }
    } else {
      this.history.set(key, d.history);
    }
    for (const ev of d.events) this.recorder.event(hpa, ev.type, ev.reason, ev.message);
    await this.writeStatus(hpa, d.currentReplicas, rescaled ? d.rescaleTo! : d.desiredReplicas, d.currentMetrics, conditions, rescaled);
    return { requeueAfter: this.syncPeriodMs };
  }

  /** The target's kind (it must have a scale subresource) and its scale. */
  private async readScale(hpa: KubeObject): Promise<{ replicas: number; selector: string; type: ResourceType; object: KubeObject } | { error: string }> {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const { group } = splitApiVersion(ref.apiVersion ?? '');
    const kind: AnyKindDef | undefined = this.ctx.registry.kinds.find((k) => k.group === group && k.kind === ref.kind && k.subresources?.scale);
    if (!kind) return { error: `unable to determine resource for scale target reference: no matches for kind "${ref.kind}" in group "${group}"` };
    const type: ResourceType = { group: kind.group, version: kind.version, resource: kind.plural, kind: kind.kind, namespaced: kind.namespaced };
    try {
      const scale = await this.ctx.client.resource(type, hpa.metadata.namespace).getScale(ref.name);
      return { replicas: scale.spec?.replicas ?? 0, selector: scale.status?.selector ?? '', type, object: scale };
    } catch (e) {
      if (isApiError(e, 'Conflict')) throw e;
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }

  /** metrics.k8s.io PodMetrics of the selected pods, read through the API as from metrics-server. */
  private async readMetrics(namespace: string, selector: string): Promise<KubeObject[] | { error: string }> {
    try {
      const list = await this.ctx.client.request<{ items?: KubeObject[] }>({
        method: 'GET',
        path: `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods`,
        query: { labelSelector: selector },
      });
      return list.items ?? [];
    } catch (e) {
      return { error: `unable to fetch metrics from resource metrics API: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  private async writeStatus(hpa: KubeObject, currentReplicas: number, desiredReplicas: number, currentMetrics: unknown, conditions: Array<{ type: string; status: string; reason: string; message: string }>, rescaled: boolean) {
    const status = structuredClone(hpa.status ?? {});
    status.observedGeneration = hpa.metadata.generation;
    status.currentReplicas = currentReplicas;
    status.desiredReplicas = desiredReplicas;
    status.currentMetrics = currentMetrics;
    if (rescaled) status.lastScaleTime = timestamp();
    status.conditions ??= [];
    for (const c of conditions) setStatusCondition(status.conditions, c);
    if (JSON.stringify(status) === JSON.stringify(hpa.status ?? {})) return;
    try {
      await this.ctx.client.resource(HPA_RESOURCE, hpa.metadata.namespace).updateStatus({ ...hpa, status });
    } catch (e) {
      // a newer HPA came in meanwhile: the next sync writes from it
      if (!isApiError(e, 'Conflict') && !isApiError(e, 'NotFound')) throw e;
    }
  }
}

function setCondition(conditions: Array<{ type: string; status: string; reason: string; message: string }>, c: { type: string; status: string; reason: string; message: string }): void {
  const i = conditions.findIndex((x) => x.type === c.type);
  if (i < 0) conditions.push(c);
  else conditions[i] = c;
}
