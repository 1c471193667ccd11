// The namespace controller: when a namespace is Terminating, delete everything in it, and
// once nothing is left, finalize it so the API server removes it.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resources, type ResourceType } from '../../client/client.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';

const RECHECK_MS = 1000;

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private queue = new WorkQueue<string>();
  private namespaces?: Informer;

  start(ctx: ControllerContext): void {
    this.namespaces = ctx.informers.informerFor(resources.namespaces);
    const enqueue = (ns: KubeObject) => {
      if (ns.metadata.deletionTimestamp) this.queue.add(ns.metadata.name!);
    };
    this.namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
    const types: ResourceType[] = ctx.registry.kinds
      .filter((k) => k.namespaced && !k.readOnly && !k.conversion)
      .map((k) => ({ group: k.group, version: k.version, resource: k.plural, namespaced: true, kind: k.kind }));
    ctx.runWorkers(this.queue, 2, (name) => this.sync(ctx, types, name));
  }

  stop(): void {
    this.queue.shutDown();
  }

  /** Deletes the namespace's content; finalizes when none is left. */
  private async sync(ctx: ControllerContext, types: ResourceType[], name: string) {
    const ns = this.namespaces?.get(name);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    if (!(ns.spec?.finalizers ?? []).includes('kubernetes')) return;
    let remaining = 0;
    for (const t of [...types, ...(await customResourceTypes(ctx))]) {
      const rc = ctx.client.resource(t, name);
      let list;
      try {
        list = await rc.list();
      } catch (e) {
        // a custom kind whose definition went meanwhile: its objects go with it
        if (isApiError(e, 'NotFound')) continue;
        throw e;
      }
      if (!list.items.length) continue;
      remaining += list.items.length;
      for (const item of list.items) {
        if (item.metadata.deletionTimestamp) continue;
        try {
          await rc.delete(item.metadata.name!, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!isApiError(e, 'NotFound')) throw e;
        }
      }
    }
    if (remaining > 0) return { requeueAfter: RECHECK_MS };
    const finalizers = (ns.spec?.finalizers ?? []).filter((f: string) => f !== 'kubernetes');
    await ctx.client.request({
      method: 'PUT',
      path: `/api/v1/namespaces/${encodeURIComponent(name)}/finalize`,
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers } },
    });
  }
}

const CRDS: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', namespaced: false, kind: 'CustomResourceDefinition' };

/** The namespaced kinds CustomResourceDefinitions serve now (one served version each): their objects go with the namespace too. */
async function customResourceTypes(ctx: ControllerContext): Promise<ResourceType[]> {
  const out: ResourceType[] = [];
  for (const crd of (await ctx.client.resource(CRDS).list()).items) {
    const spec = crd.spec ?? {};
    if (spec.scope !== 'Namespaced' || crd.metadata.deletionTimestamp) continue;
    const established = (crd.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True');
    const version = (spec.versions ?? []).find((v: { served?: boolean }) => v.served)?.name;
    if (!established || !version || !crd.status?.acceptedNames?.plural) continue;
    out.push({ group: spec.group, version, resource: crd.status.acceptedNames.plural, namespaced: true, kind: crd.status.acceptedNames.kind });
  }
  return out;
}
