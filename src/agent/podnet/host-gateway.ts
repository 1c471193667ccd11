// Host-gateway routes of a machine of several: one route per other node's pod /24 via that
// node's InternalIP, kept as the Nodes are (added when a node joins or moves, removed when
// it goes), as a host-gateway network (flannel's host-gw) keeps them. Level-triggered: every
// change of any Node recomputes the whole wanted set, and a periodic resync repairs drift.
import type { KubeObject } from '../../api/object.js';
import { resources } from '../../client/client.js';
import type { Informer, SharedInformerFactory } from '../../client/informer.js';
import { contains, nth, parseCidr, type Cidr } from './cidr.js';
import type { GatewayRoute, PodNetwork } from './pod-network.js';

const RESYNC_MS = 30_000;

/**
 * The routes this machine wants (pure): for every other Node with a /24 of the pod range and
 * an InternalIP outside the pod and service ranges (nodes of a single-machine `up` have their
 * address in their own /24 and are reached through its bridge, not a gateway). A /24 claimed by
 * two nodes gets no route (neither can be trusted); sorted, so the outcome never depends on order.
 */
export function wantedGatewayRoutes(nodes: Iterable<KubeObject>, self: string, podRange: Cidr, serviceRange: Cidr, ownCidr: string): GatewayRoute[] {
  const byCidr = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.metadata.name === self) continue;
    const cidr = n.spec?.podCIDR;
    if (typeof cidr !== 'string' || cidr === ownCidr) continue;
    let c: Cidr;
    try {
      c = parseCidr(cidr);
    } catch {
      continue;
    }
    if (c.text !== cidr || c.prefix !== 24 || !contains(podRange, nth(c, 0))) continue;
    const via = (n.status?.addresses ?? []).find((a: { type?: string }) => a?.type === 'InternalIP')?.address;
    if (typeof via !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(via) || contains(podRange, via) || contains(serviceRange, via)) continue;
    byCidr.set(cidr, [...(byCidr.get(cidr) ?? []), via]);
  }
  return [...byCidr].filter(([, vias]) => vias.length === 1).map(([cidr, [via]]) => ({ cidr, via: via! })).sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
}

export class HostGateway {
  private nodes?: Informer;
  private running = false;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly network: PodNetwork,
    private readonly self: string,
    private readonly log: (line: string) => void,
  ) {}

  async start(informers: SharedInformerFactory): Promise<void> {
    this.nodes = informers.informerFor(resources.nodes);
    const kick = () => void this.reconcile();
    this.nodes.addEventHandler({ onAdd: kick, onUpdate: kick, onDelete: kick });
    informers.start();
    await this.nodes.synced();
    await this.reconcile();
    const tick = () => {
      if (this.stopped) return;
      void this.reconcile().finally(() => (this.timer = setTimeout(tick, RESYNC_MS)));
    };
    this.timer = setTimeout(tick, RESYNC_MS);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One reconcile at a time; a change arriving meanwhile runs one more afterwards. */
  private async reconcile(): Promise<void> {
    if (this.stopped || !this.nodes) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        const want = wantedGatewayRoutes(this.nodes.list(), this.self, this.network.podCidr, this.network.serviceCidr, this.network.bridgeCidr.text);
        try {
          const { added, removed } = await this.network.setGatewayRoutes(want);
          for (const r of added) this.log(`route to the pods of ${r.cidr} via ${r.via}`);
          for (const r of removed) this.log(`route to ${r.cidr} via ${r.via} removed (its node is gone or moved)`);
        } catch (e) {
          this.log(`host-gateway routes: ${e instanceof Error ? e.message : String(e)} (retried)`);
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }
}
