// The serviceaccount controller: every namespace that is not terminating has a ServiceAccount
// named "default" (upstream's ServiceAccountsController); one deleted is made again.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resources, type ResourceType } from '../../client/client.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';

export const SERVICE_ACCOUNTS: ResourceType = { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true };
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export class ServiceAccountsController implements Controller {
  readonly name = 'serviceaccount';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private namespaces!: Informer;
  private accounts!: Informer;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.namespaces = ctx.informers.informerFor(resources.namespaces);
    this.accounts = ctx.informers.informerFor(SERVICE_ACCOUNTS);
    const ns = (o: KubeObject) => this.queue.add(o.metadata.name!);
    this.namespaces.addEventHandler({ onAdd: ns, onUpdate: (_o, n) => ns(n) });
    this.accounts.addEventHandler({ onDelete: (sa) => sa.metadata.name === DEFAULT_SERVICE_ACCOUNT && this.queue.add(sa.metadata.namespace!) });
    ctx.runWorkers(this.queue, 1, (name) => this.sync(name));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') return;
    if (this.accounts.get(`${namespace}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    try {
      await this.ctx.client.resource(SERVICE_ACCOUNTS, namespace).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT } });
    } catch (e) {
      // there already, or the namespace went meanwhile
      if (!isApiError(e, 'AlreadyExists') && !isApiError(e, 'NotFound') && !isApiError(e, 'Forbidden')) throw e;
    }
  }
}
