// The cluster as the DNS server sees it: services, endpoints and namespaces from shared
// informers (a client of the API like every other part), with a reverse index for PTR.
import type { KubeObject } from '../api/object.js';
import { resources } from '../client/client.js';
import type { Informer, SharedInformerFactory } from '../client/informer.js';
import { reverseEntries, type DnsView } from './zone.js';

export class ClusterView implements DnsView {
  private readonly services: Informer;
  private readonly endpointsInf: Informer;
  private readonly namespaces: Informer;
  private reverse = new Map<string, string[]>();
  private reverseStale = true;
  /** bumped on every change; answers computed at one generation stay right until the next */
  generation = 0;

  constructor(informers: SharedInformerFactory, private readonly zone: string) {
    this.services = informers.informerFor(resources.services);
    this.endpointsInf = informers.informerFor(resources.endpoints);
    this.namespaces = informers.informerFor(resources.namespaces);
    const stale = { onAdd: () => this.markStale(), onUpdate: () => this.markStale(), onDelete: () => this.markStale() };
    this.services.addEventHandler(stale);
    this.endpointsInf.addEventHandler(stale);
    this.namespaces.addEventHandler(stale);
  }

  async synced(): Promise<boolean> {
    const all = await Promise.all([this.services.synced(), this.endpointsInf.synced(), this.namespaces.synced()]);
    return all.every(Boolean);
  }

  service(namespace: string, name: string): KubeObject | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  endpoints(namespace: string, name: string): KubeObject | undefined {
    return this.endpointsInf.get(`${namespace}/${name}`);
  }

  namespaceExists(namespace: string): boolean {
    return this.namespaces.get(namespace) !== undefined;
  }

  namesForIP(ip: string): string[] {
    if (this.reverseStale) this.rebuildReverse();
    return this.reverse.get(ip) ?? [];
  }

  private markStale(): void {
    this.reverseStale = true;
    this.generation++;
  }

  private rebuildReverse(): void {
    const index = new Map<string, string[]>();
    for (const svc of this.services.list()) {
      const ep = this.endpointsInf.get(`${svc.metadata.namespace}/${svc.metadata.name}`);
      for (const { ip, name } of reverseEntries(svc, ep, this.zone)) {
        const names = index.get(ip);
        if (!names) index.set(ip, [name]);
        else if (!names.includes(name)) names.push(name);
      }
    }
    this.reverse = index;
    this.reverseStale = false;
  }
}
