// The node IPAM controller (kube-controller-manager's --allocate-node-cidrs with --cluster-cidr
// and a /24 per node): a Node without spec.podCIDR gets the lowest /24 of the cluster's pod
// range no other Node holds, so machines joining at the same moment never share one. One
// worker, and the /24s it handed out are remembered until their Node is gone, so two Nodes seen
// before the cache shows the first patch still get different ones. Nodes that chose their own
// /24 (those of petset up) are only counted as taken.
import type { KubeObject } from '../../api/object.js';
import { resources } from '../../client/client.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';

/** An IPv4 range as numbers (the controller's own arithmetic: it shares nothing with the agent). */
export interface Range {
  base: number;
  prefix: number;
  text: string;
}

const toInt = (ip: string) => ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Parses the cluster CIDR: IPv4, /8 to /24 (room for one node's /24 at least). */
export function clusterRange(text: string): Range {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  const prefix = m ? Number(m[5]) : NaN;
  if (!m || m.slice(1, 5).some((p) => Number(p) > 255) || prefix < 8 || prefix > 24) throw new Error(`--cluster-cidr ${text} must be an IPv4 range from /8 to /24, like 10.244.0.0/16`);
  const size = 2 ** (32 - prefix);
  const base = toInt(m.slice(1, 5).join('.'));
  const start = base - (base % size);
  return { base: start, prefix, text: `${toIp(start)}/${prefix}` };
}

const slots = (r: Range) => 2 ** (24 - r.prefix);
const cidrOf = (i: number, r: Range) => `${toIp(r.base + i * 256)}/24`;

/** The index of a /24 of the range, or undefined for anything else. */
function slotOf(cidr: unknown, r: Range): number | undefined {
  if (typeof cidr !== 'string') return undefined;
  const m = /^(\d+\.\d+\.\d+\.\d+)\/24$/.exec(cidr);
  if (!m) return undefined;
  const i = (toInt(m[1]!) - r.base) / 256;
  return Number.isInteger(i) && i >= 0 && i < slots(r) ? i : undefined;
}

/** The /24 to give `node` (pure): undefined when it has one, an error when the range is full. */
export function decideNodeCIDR(node: KubeObject, taken: Iterable<string>, range: Range): { cidr: string } | { error: string } | undefined {
  if (node.spec?.podCIDR) return undefined;
  const used = new Set<number>();
  for (const c of taken) {
    const i = slotOf(c, range);
    if (i !== undefined) used.add(i);
  }
  for (let i = 0; i < slots(range); i++) if (!used.has(i)) return { cidr: cidrOf(i, range) };
  return { error: `every /24 of the cluster CIDR ${range.text} is taken` };
}

export class NodeIpamController implements Controller {
  readonly name = 'nodeipam';
  private readonly range: Range;
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private nodes!: Informer;
  /** node name → the /24 this controller gave it (until the cache shows it, and while the node exists) */
  private readonly given = new Map<string, string>();

  constructor(clusterCIDR: string) {
    this.range = clusterRange(clusterCIDR);
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.nodes = ctx.informers.informerFor(resources.nodes);
    const add = (n: KubeObject) => this.queue.add(n.metadata.name!);
    this.nodes.addEventHandler({
      onAdd: add,
      onUpdate: (_o, n) => add(n),
      onDelete: (n) => this.given.delete(n.metadata.name!),
    });
    ctx.runWorkers(this.queue, 1, (name) => this.sync(name));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) {
      this.given.delete(name);
      return;
    }
    const mine = this.given.get(name);
    if (mine && node.spec?.podCIDR === mine) return;
    const others = this.nodes.list().filter((n) => n.metadata.name !== name);
    const taken = [...others.map((n) => n.spec?.podCIDR as string), ...[...this.given].filter(([n]) => n !== name && this.nodes.get(n)).map(([, c]) => c)].filter(Boolean);
    // a patch this controller sent and the cache does not show yet is sent again, unchanged
    const decision = mine && !node.spec?.podCIDR ? { cidr: mine } : decideNodeCIDR(node, taken, this.range);
    if (!decision) return;
    if ('error' in decision) throw new Error(`node ${name}: ${decision.error}`);
    this.given.set(name, decision.cidr);
    await this.ctx.client.nodes().patch(name, { spec: { podCIDR: decision.cidr, podCIDRs: [decision.cidr] } });
  }
}
