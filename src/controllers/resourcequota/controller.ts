// The resource quota controller: keeps each ResourceQuota's status — hard as the spec caps
// it, used as the namespace's objects use it — current. Pods are watched (they come and go
// most); other counted kinds are recounted at each resync, as upstream's full resync does.
import { isApiError } from '../../api/errors.js';
import { deepEqual, type KubeObject } from '../../api/object.js';
import { quotaCovers, resourceForQuotaName, sumUsage, usageOf, usageToList, type Usage } from '../../api/quota.js';
import { resources, type ResourceType } from '../../client/client.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';

export const RESOURCE_QUOTAS: ResourceType = { group: '', version: 'v1', resource: 'resourcequotas', kind: 'ResourceQuota', namespaced: true };

export class ResourceQuotaController implements Controller {
  readonly name = 'resourcequota';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private quotas!: Informer;
  private pods!: Informer;

  constructor(private readonly options: { resyncMs?: number } = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.quotas = ctx.informers.informerFor(RESOURCE_QUOTAS);
    this.pods = ctx.informers.informerFor(resources.pods);
    const enqueue = (q: KubeObject) => this.queue.add(keyOf(q));
    this.quotas.addEventHandler({ onAdd: enqueue, onUpdate: (old, q) => !deepEqual(old.spec, q.spec) && enqueue(q) });
    const podChanged = (pod: KubeObject) => {
      for (const q of this.quotas.list(pod.metadata.namespace)) enqueue(q);
    };
    this.pods.addEventHandler({ onAdd: podChanged, onUpdate: (_o, p) => podChanged(p), onDelete: podChanged });
    ctx.runWorkers(this.queue, 1, (key) => this.sync(key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const q = this.quotas.get(key);
    if (!q) return;
    const hard: Record<string, string> = q.spec?.hard ?? {};
    const names = Object.keys(hard);
    const used = await this.usage(q, names);
    const status = { hard: { ...hard }, used: usageToList(used, hard) };
    if (!deepEqual(status, q.status ?? {})) {
      try {
        await this.ctx.client.resource(RESOURCE_QUOTAS, q.metadata.namespace).updateStatus({ ...q, status });
      } catch (e) {
        if (!isApiError(e, 'Conflict') && !isApiError(e, 'NotFound')) throw e;
        return { requeue: true };
      }
    }
    return { requeueAfter: this.options.resyncMs ?? 10_000 };
  }

  private async usage(quota: KubeObject, names: string[]): Promise<Usage> {
    const namespace = quota.metadata.namespace!;
    const usages: Usage[] = [];
    const seen = new Set<string>();
    for (const n of names) {
      const r = resourceForQuotaName(n);
      if (!r || seen.has(`${r.group}/${r.plural}`)) continue;
      seen.add(`${r.group}/${r.plural}`);
      if (r.group === '' && r.plural === 'pods') {
        for (const p of this.pods.list(namespace)) if (quotaCovers(quota, '', 'pods', p)) usages.push(usageOf('', 'pods', p));
        continue;
      }
      const kind = this.ctx.registry.kinds.find((k) => k.group === r.group && k.plural === r.plural && k.namespaced && !k.conversion && !k.readOnly);
      if (!kind) continue;
      const type: ResourceType = { group: kind.group, version: kind.version, resource: kind.plural, kind: kind.kind, namespaced: true };
      for (const obj of (await this.ctx.client.resource(type, namespace).list()).items) if (quotaCovers(quota, r.group, r.plural, obj)) usages.push(usageOf(r.group, r.plural, obj));
    }
    return sumUsage(usages, names);
  }
}
