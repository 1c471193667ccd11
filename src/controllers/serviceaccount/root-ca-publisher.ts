// The root-ca-cert-publisher: every namespace has the ConfigMap kube-root-ca.crt holding the
// CA that signed the API server's certificate, which the projected service account volume
// mounts as ca.crt (upstream's RootCACertPublisher); edits and deletions are put right.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resources, type ResourceType } from '../../client/client.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const CONFIG_MAPS: ResourceType = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export class RootCACertPublisher implements Controller {
  readonly name = 'root-ca-cert-publisher';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private namespaces!: Informer;
  private configMaps!: Informer;

  constructor(private readonly caPem: string) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.namespaces = ctx.informers.informerFor(resources.namespaces);
    this.configMaps = ctx.informers.informerFor(CONFIG_MAPS);
    const ns = (o: KubeObject) => this.queue.add(o.metadata.name!);
    this.namespaces.addEventHandler({ onAdd: ns, onUpdate: (_o, n) => ns(n) });
    const cm = (o: KubeObject) => o.metadata.name === ROOT_CA_CONFIGMAP && this.queue.add(o.metadata.namespace!);
    this.configMaps.addEventHandler({ onUpdate: (_o, n) => cm(n), onDelete: cm });
    ctx.runWorkers(this.queue, 1, (name) => this.sync(name));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    const current = this.configMaps.get(`${namespace}/${ROOT_CA_CONFIGMAP}`);
    const data = { 'ca.crt': this.caPem };
    const client = this.ctx.client.resource(CONFIG_MAPS, namespace);
    try {
      if (!current) {
        await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP, annotations: { 'kubernetes.io/description': DESCRIPTION } }, data });
      } else if (current.data?.['ca.crt'] !== this.caPem || Object.keys(current.data ?? {}).length !== 1) {
        await client.update({ ...current, data });
      }
    } catch (e) {
      if (!isApiError(e, 'AlreadyExists') && !isApiError(e, 'NotFound') && !isApiError(e, 'Forbidden') && !isApiError(e, 'Conflict')) throw e;
    }
  }
}
