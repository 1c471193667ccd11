// The pod network with root: a network namespace per pod, a veth into one petset bridge, pod
// addresses from the pod range, the service range local to the host (the service proxy serves
// it), and nothing that can leave the machine. Safety first, in this order, before any address
// of a range is used: a blackhole route for each range (if the bridge vanished, packets would
// die here instead of following the default route), then an nftables guard that drops and
// counts any packet of the ranges on an interface other than loopback, the bridge and the pods'
// veths. Pods get no default route, the host's IP forwarding is never turned on, and there is no
// NAT. Every name carries the instance's id, so petsets side by side (tests) never meet, and
// whatever a crashed instance left is found by that id and removed.
//
// On a machine of several (a joined node agent, `nodeCidr` and `uplink` given), the bridge holds
// only the node's /24, pods reach the rest of the pod range through it, and the other nodes'
// /24s are routed to their machines over the uplink (host-gateway, see setGatewayRoutes). That
// needs forwarding between the uplink and the bridge: the guard lets through only pod-range
// packets between them and drops (counting) every other forwarded packet of the ranges. petset
// turns forwarding on itself only in a network namespace other than the host's first one (a
// machine of the tests), and then drops every other forwarded packet too; in the host's own
// namespace it asks the admin to turn it on.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { contains, ipToInt, nth, parseCidr, size, type Cidr } from './cidr.js';

export interface PodNetworkOptions {
  /** a short id for this petset (hex), part of every name it creates */
  id: string;
  /** pods' addresses (default 10.244.0.0/16); the bridge takes the first address */
  podCidr?: string;
  /** services' cluster IPs (default 10.96.0.0/12), local to the host */
  serviceCidr?: string;
  /** this machine's /24 of the pod range, when the cluster spans machines: the bridge holds only it */
  nodeCidr?: string;
  /** the interface toward the cluster's other machines (with nodeCidr): other nodes' /24s are routed over it */
  uplink?: string;
  log?: (line: string) => void;
}

/** A route to another node's pods: its /24 via its address on the uplink. */
export interface GatewayRoute {
  cidr: string;
  via: string;
}

export interface PodNetworkHandle {
  /** for `nsenter --net=PATH` */
  netnsPath: string;
  netns: string;
  ip: string;
}

const BLACKHOLE_METRIC = 4000;
/** the routing protocol number petset's host-gateway routes carry, so they are found again (not in iproute2's rt_protos) */
export const GATEWAY_ROUTE_PROTO = 145;

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

const hash = (text: string, n: number) => createHash('sha256').update(text).digest('hex').slice(0, n);

/** Why the root pod network cannot run here, or undefined when it can. */
export async function podNetworkUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'it needs root (pods share the host network on loopback addresses instead)';
  for (const [cmd, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
  ]) {
    try {
      await run(cmd, ['-V']);
    } catch {
      return `${cmd} is missing (apt-get install ${pkg})`;
    }
  }
  return undefined;
}

/**
 * Whether this process runs in the host's first network namespace (that of pid 1): petset never
 * turns forwarding on there. Where pid 1's namespace cannot be read (a container), only a
 * namespace made with `ip netns add` (named under /run/netns) counts as not the host's.
 */
export function inInitialNetworkNamespace(): boolean {
  let self: fs.Stats;
  try {
    self = fs.statSync('/proc/self/ns/net');
  } catch {
    return true; // unknown: treated as the host's
  }
  try {
    const init = fs.statSync('/proc/1/ns/net');
    return init.ino === self.ino && init.dev === self.dev;
  } catch {
    // pid 1 is not ours to read
  }
  try {
    for (const name of fs.readdirSync('/run/netns')) {
      const s = fs.statSync(`/run/netns/${name}`);
      if (s.ino === self.ino && s.dev === self.dev) return false;
    }
  } catch {
    // no named namespaces
  }
  return true;
}

export class PodNetwork {
  readonly podCidr: Cidr;
  readonly serviceCidr: Cidr;
  /** what the bridge holds: the whole pod range on one machine, the node's /24 on one of several */
  readonly bridgeCidr: Cidr;
  readonly bridge: string;
  readonly gateway: string;
  readonly guardTable: string;
  private readonly nsPrefix: string;
  private ready = false;
  /** petset turned forwarding on (in a namespace of its own): turned off again at teardown */
  private forwardingTurnedOn = false;

  constructor(private readonly opts: PodNetworkOptions) {
    if (!/^[0-9a-f]{4,8}$/.test(opts.id)) throw new Error(`pod network id ${opts.id} must be 4 to 8 hex digits`);
    this.podCidr = parseCidr(opts.podCidr ?? '10.244.0.0/16');
    this.serviceCidr = parseCidr(opts.serviceCidr ?? '10.96.0.0/12');
    if (!!opts.nodeCidr !== !!opts.uplink) throw new Error('a node /24 and an uplink go together (a pod network spanning machines)');
    this.bridgeCidr = opts.nodeCidr ? parseCidr(opts.nodeCidr) : this.podCidr;
    if (opts.nodeCidr && (this.bridgeCidr.prefix !== 24 || !contains(this.podCidr, nth(this.bridgeCidr, 0)))) throw new Error(`the node range ${opts.nodeCidr} must be a /24 of the pod range ${this.podCidr.text}`);
    if (opts.uplink && !/^[A-Za-z0-9_.@-]{1,15}$/.test(opts.uplink)) throw new Error(`${opts.uplink} is not an interface name`);
    this.bridge = `psbr${opts.id}`;
    this.gateway = nth(this.bridgeCidr, 1);
    this.guardTable = `petset_guard_${opts.id}`;
    this.nsPrefix = `petset-${opts.id}-`;
  }

  /** Guard first, then the bridge. Leftovers of an earlier run with this id are removed first. */
  async setup(): Promise<void> {
    await this.teardown();
    const taken = await this.rangesInUse();
    if (taken) throw new Error(taken);
    const forwarding = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    // in a network namespace of its own (not the host's first one) petset owns forwarding: on
    // for the pods alone (every other forwarded packet dropped), off again at teardown, also
    // when a crashed run left it on
    const ownsForwarding = this.opts.uplink !== undefined && !inInitialNetworkNamespace();
    if (this.opts.uplink) {
      if (forwarding === '0' && !ownsForwarding) {
        throw new Error(
          'pods of other machines are reached by forwarding between the uplink and the pod bridge, and IP forwarding is off in this network namespace; petset does not turn it on in the host\'s own namespace: turn it on yourself (sysctl -w net.ipv4.ip_forward=1) if this machine may forward (the guard lets only the pod range pass between the uplink and the bridge)',
        );
      }
      if ((await run('ip', ['-j', 'link', 'show', 'dev', this.opts.uplink]).catch(() => '')) === '') throw new Error(`the uplink ${this.opts.uplink} is not an interface of this machine`);
    } else if (forwarding !== '0') this.log('IP forwarding is on on this host (petset did not turn it on); the guard drops every forwarded packet of the pod and service ranges');
    for (const c of [this.podCidr, this.serviceCidr]) await run('ip', ['route', 'replace', 'blackhole', c.text, 'metric', String(BLACKHOLE_METRIC)]);
    await run('nft', ['-f', '-'], this.guardRules(ownsForwarding));
    if (ownsForwarding) {
      // only with the guard in place
      fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
      this.forwardingTurnedOn = true;
    }
    await run('ip', ['-batch', '-'], [
      `link add ${this.bridge} type bridge`,
      `addr add ${this.gateway}/${this.bridgeCidr.prefix} dev ${this.bridge}`,
      `link set ${this.bridge} up`,
      // cluster IPs are local to the host, where the service proxy answers them
      `route add local ${this.serviceCidr.text} dev lo table local`,
    ].join('\n') + '\n');
    this.ready = true;
  }

  /**
   * Why the ranges cannot be used: a route of this host (another petset's bridge, a real
   * network) covers part of them. Blackholes are fine: they only ever stop packets.
   */
  private async rangesInUse(): Promise<string | undefined> {
    const routes: Array<{ dst?: string; dev?: string; type?: string; table?: string }> = JSON.parse((await run('ip', ['-j', 'route', 'show', 'table', 'all'])) || '[]');
    for (const r of routes) {
      if (!r.dst || r.dst === 'default' || r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit') continue;
      let dst: Cidr;
      try {
        dst = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
      } catch {
        continue; // IPv6, or a host route petset's parser does not take (/31, /32 below) — compared by address instead
      }
      for (const [name, c] of [['pod', this.podCidr], ['service', this.serviceCidr]] as const) {
        if (dst.base < c.base + size(c) && c.base < dst.base + size(dst)) {
          return `the ${name} range ${c.text} overlaps ${r.dst}, already routed on this host${r.dev ? ` via ${r.dev}` : ''}${r.table && r.table !== 'main' ? ` (table ${r.table})` : ''}: another petset, or a network of this machine; choose another range (--pod-cidr, --service-cluster-ip-range)`;
        }
      }
    }
    return undefined;
  }

  private guardRules(dropOtherForwarding: boolean): string {
    const ranges = `{ ${this.podCidr.text}, ${this.serviceCidr.text} }`;
    const ours = `{ "lo", "${this.bridge}", "psv${this.opts.id}*" }`;
    const pods = `{ "${this.bridge}", "psv${this.opts.id}*" }`;
    const up = this.opts.uplink ? `"${this.opts.uplink}"` : undefined;
    return `table inet ${this.guardTable} {
  chain output {
    type filter hook output priority 0; policy accept;
    oifname ${ours} return
${up ? `    # to other machines' pods, by the host-gateway routes (from this machine's bridge address)
    oifname ${up} ip saddr ${this.bridgeCidr.text} ip daddr ${this.podCidr.text} return
` : ''}    ip daddr ${ranges} counter drop
    ip saddr ${ranges} counter drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    # pods reach the host only at the service range (the service proxy serves it), and
    # answers to what the host opened (probes, proxies, port-forward); nothing else of the host
    iifname { "${this.bridge}", "psv${this.opts.id}*" } ct state established,related return
    iifname { "${this.bridge}", "psv${this.opts.id}*" } ip daddr != ${this.serviceCidr.text} drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    iifname ${pods} oifname ${pods} return
${up ? `    # between this machine's pods and other machines' pods, over the uplink only
    iifname ${pods} oifname ${up} ip saddr ${this.bridgeCidr.text} ip daddr ${this.podCidr.text} return
    iifname ${up} oifname ${pods} ip saddr ${this.podCidr.text} ip daddr ${this.bridgeCidr.text} return
` : ''}    ip daddr ${ranges} counter drop
    ip saddr ${ranges} counter drop
${dropOtherForwarding ? `    # petset turned forwarding on for the pods alone: nothing else is forwarded
    counter drop
` : ''}  }
}
`;
  }

  /** An address of the host on the bridge (a node's InternalIP, .1 of its /24), where its agent serves. */
  async addHostAddress(ip: string): Promise<void> {
    if (!this.ready) throw new Error('the pod network is not set up');
    if (ip === this.gateway) return;
    await run('ip', ['addr', 'replace', `${ip}/32`, 'dev', this.bridge]);
    this.extraHostAddresses.add(ip);
  }

  /** The host's addresses on the bridge: the gateway and the nodes' InternalIPs. */
  hostAddresses(): string[] {
    return [this.gateway, ...this.extraHostAddresses];
  }

  private readonly extraHostAddresses = new Set<string>();

  /** Packets the guard dropped (anything but 0 means something tried to leave). */
  async guardDrops(): Promise<number> {
    const out = JSON.parse(await run('nft', ['-j', 'list', 'table', 'inet', this.guardTable]));
    let packets = 0;
    for (const item of out.nftables ?? []) {
      // the guard's chains only: policy chains count what they refuse, which is no leak
      if (item.rule && item.rule.chain !== 'output' && item.rule.chain !== 'forward') continue;
      for (const expr of item.rule?.expr ?? []) if (expr.counter) packets += Number(expr.counter.packets) || 0;
    }
    return packets;
  }

  private names(key: string): { netns: string; veth: string } {
    const h = hash(key, 16);
    return { netns: `${this.nsPrefix}${h}`, veth: `psv${this.opts.id}${h.slice(0, 15 - 3 - this.opts.id.length)}` };
  }

  /** A namespace for the pod with `ip`, its veth on the bridge, routes to pods and services only. */
  async addPod(key: string, ip: string): Promise<PodNetworkHandle> {
    if (!this.ready) throw new Error('the pod network is not set up');
    const { netns, veth } = this.names(key);
    if (fs.existsSync(`/run/netns/${netns}`)) await run('ip', ['netns', 'del', netns]).catch(() => {});
    try {
      // two `ip` runs per pod: one on the host side, one inside the namespace
      await run('ip', ['-batch', '-'], [`netns add ${netns}`, `link add ${veth} type veth peer name eth0 netns ${netns}`, `link set ${veth} master ${this.bridge} up`].join('\n') + '\n');
      await run('ip', ['-n', netns, '-batch', '-'], [
        'link set lo up',
        `addr add ${ip}/${this.bridgeCidr.prefix} dev eth0`,
        'link set eth0 up',
        // other machines' pods and services through the host; no default route: nothing else is reachable
        ...(this.opts.nodeCidr ? [`route add ${this.podCidr.text} via ${this.gateway} dev eth0`] : []),
        `route add ${this.serviceCidr.text} via ${this.gateway} dev eth0`,
      ].join('\n') + '\n');
    } catch (e) {
      await run('ip', ['netns', 'del', netns]).catch(() => {});
      throw e;
    }
    return { netns, netnsPath: `/run/netns/${netns}`, ip };
  }

  async removePod(key: string): Promise<void> {
    const { netns } = this.names(key);
    await run('ip', ['netns', 'del', netns]).catch(() => {});
  }

  /** The namespaces this instance has (pods' keys are hashed, so the caller maps them back). */
  async podNamespaces(): Promise<string[]> {
    const out = await run('ip', ['netns', 'list']).catch(() => '');
    return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(this.nsPrefix));
  }

  /**
   * Makes the host-gateway routes exactly `routes` (other nodes' /24s via their addresses on the
   * uplink); answers what changed. Each route carries this machine's bridge address as its
   * source, so what the host itself sends to other machines' pods (the service proxy, probes)
   * comes from the pod range, as the guard of the other side expects.
   */
  async setGatewayRoutes(routes: GatewayRoute[]): Promise<{ added: GatewayRoute[]; removed: GatewayRoute[] }> {
    if (!this.ready || !this.opts.uplink) throw new Error('the pod network does not span machines');
    for (const r of routes) {
      const c = parseCidr(r.cidr);
      if (!contains(this.podCidr, nth(c, 0)) || c.base === this.bridgeCidr.base) throw new Error(`${r.cidr} is not another node's part of the pod range ${this.podCidr.text}`);
      if (ipToInt(r.via) === undefined || contains(this.podCidr, r.via) || contains(this.serviceCidr, r.via)) throw new Error(`${r.via} cannot be a node's address (it must be outside the pod and service ranges)`);
    }
    const changes = gatewayRouteChanges(await this.gatewayRoutes(), routes);
    for (const r of changes.removed) await run('ip', ['route', 'del', r.cidr, 'via', r.via, 'proto', String(GATEWAY_ROUTE_PROTO)]).catch(() => {});
    for (const r of changes.added) {
      await run('ip', ['route', 'replace', r.cidr, 'via', r.via, 'dev', this.opts.uplink, 'src', this.gateway, 'proto', String(GATEWAY_ROUTE_PROTO)]);
    }
    return changes;
  }

  /** The host-gateway routes in place now. */
  async gatewayRoutes(): Promise<GatewayRoute[]> {
    const out: Array<{ dst?: string; gateway?: string }> = JSON.parse((await run('ip', ['-j', 'route', 'show', 'proto', String(GATEWAY_ROUTE_PROTO)])) || '[]');
    return out.filter((r) => r.dst && r.gateway && r.dst.includes('/') && contains(this.podCidr, r.dst.split('/')[0]!)).map((r) => ({ cidr: r.dst!, via: r.gateway! }));
  }

  /** Removes everything this id created: namespaces (and their veths), bridge, routes, guard. */
  async teardown(): Promise<void> {
    this.ready = false;
    this.extraHostAddresses.clear();
    for (const ns of await this.podNamespaces()) await run('ip', ['netns', 'del', ns]).catch(() => {});
    if (this.opts.uplink) {
      for (const r of await this.gatewayRoutes().catch(() => [])) await run('ip', ['route', 'del', r.cidr, 'via', r.via, 'proto', String(GATEWAY_ROUTE_PROTO)]).catch(() => {});
      if (this.forwardingTurnedOn || !inInitialNetworkNamespace()) fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
      this.forwardingTurnedOn = false;
    }
    await run('ip', ['link', 'del', this.bridge]).catch(() => {});
    await run('ip', ['route', 'del', 'local', this.serviceCidr.text, 'dev', 'lo', 'table', 'local']).catch(() => {});
    // the guard and the blackholes go last: nothing of the ranges may be used without them
    await run('nft', ['delete', 'table', 'inet', this.guardTable]).catch(() => {});
    // ...and stay while another petset uses the same ranges (its blackholes are the same routes)
    if (await this.rangesInUse().catch(() => 'unknown')) return;
    for (const c of [this.podCidr, this.serviceCidr]) await run('ip', ['route', 'del', 'blackhole', c.text, 'metric', String(BLACKHOLE_METRIC)]).catch(() => {});
  }

  /** Whether the guard table is there (for checks that it went away). */
  async guardPresent(): Promise<boolean> {
    return run('nft', ['list', 'table', 'inet', this.guardTable]).then(() => true, () => false);
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => console.warn(`[podnet] ${l}`)))(line);
  }
}

/** What to add and remove to go from the routes in place to the wanted ones (pure). */
export function gatewayRouteChanges(current: GatewayRoute[], wanted: GatewayRoute[]): { added: GatewayRoute[]; removed: GatewayRoute[] } {
  const key = (r: GatewayRoute) => `${r.cidr} ${r.via}`;
  const have = new Set(current.map(key));
  const want = new Set(wanted.map(key));
  return { added: wanted.filter((r) => !have.has(key(r))), removed: current.filter((r) => !want.has(key(r))) };
}
