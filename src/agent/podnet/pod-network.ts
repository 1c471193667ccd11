// The pod network with root: a network namespace per pod, a veth into one petset bridge, pod
// addresses from the pod range, the service range local to the host (the service proxy serves
// it), and nothing that can leave the machine. Safety first, in this order, before any address
// of a range is used: a blackhole route for each range (if the bridge vanished, packets would
// die here instead of following the default route), then an nftables guard that drops and
// counts any packet of the ranges on an interface other than loopback, the bridge and the pods'
// veths. Pods get no default route, the host's IP forwarding is never turned on, and there is no
// NAT. Every name carries the instance's id, so petsets side by side (tests) never meet, and
// whatever a crashed instance left is found by that id and removed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { nth, parseCidr, size, type Cidr } from './cidr.js';

export interface PodNetworkOptions {
  /** a short id for this petset (hex), part of every name it creates */
  id: string;
  /** pods' addresses (default 10.244.0.0/16); the bridge takes the first address */
  podCidr?: string;
  /** services' cluster IPs (default 10.96.0.0/12), local to the host */
  serviceCidr?: string;
  log?: (line: string) => void;
}

export interface PodNetworkHandle {
  /** for `nsenter --net=PATH` */
  netnsPath: string;
  netns: string;
  ip: string;
}

const BLACKHOLE_METRIC = 4000;

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

export class PodNetwork {
  readonly podCidr: Cidr;
  readonly serviceCidr: Cidr;
  readonly bridge: string;
  readonly gateway: string;
  readonly guardTable: string;
  private readonly nsPrefix: string;
  private ready = false;

  constructor(private readonly opts: PodNetworkOptions) {
    if (!/^[0-9a-f]{4,8}$/.test(opts.id)) throw new Error(`pod network id ${opts.id} must be 4 to 8 hex digits`);
    this.podCidr = parseCidr(opts.podCidr ?? '10.244.0.0/16');
    this.serviceCidr = parseCidr(opts.serviceCidr ?? '10.96.0.0/12');
    this.bridge = `psbr${opts.id}`;
    this.gateway = nth(this.podCidr, 1);
    this.guardTable = `petset_guard_${opts.id}`;
    this.nsPrefix = `petset-${opts.id}-`;
  }

  /** Guard first, then the bridge. Leftovers of an earlier run with this id are removed first. */
  async setup(): Promise<void> {
    await this.teardown();
    const taken = await this.rangesInUse();
    if (taken) throw new Error(taken);
    const forwarding = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    if (forwarding !== '0') this.log('IP forwarding is on on this host (petset did not turn it on); the guard drops every forwarded packet of the pod and service ranges');
    for (const c of [this.podCidr, this.serviceCidr]) await run('ip', ['route', 'replace', 'blackhole', c.text, 'metric', String(BLACKHOLE_METRIC)]);
    await run('nft', ['-f', '-'], this.guardRules());
    await run('ip', ['-batch', '-'], [
      `link add ${this.bridge} type bridge`,
      `addr add ${this.gateway}/${this.podCidr.prefix} dev ${this.bridge}`,
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

  private guardRules(): string {
    const ranges = `{ ${this.podCidr.text}, ${this.serviceCidr.text} }`;
    const ours = `{ "lo", "${this.bridge}", "psv${this.opts.id}*" }`;
    return `table inet ${this.guardTable} {
  chain output {
    type filter hook output priority 0; policy accept;
    oifname ${ours} return
    ip daddr ${ranges} counter drop
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
    iifname { "${this.bridge}", "psv${this.opts.id}*" } oifname { "${this.bridge}", "psv${this.opts.id}*" } return
    ip daddr ${ranges} counter drop
    ip saddr ${ranges} counter drop
  }
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
        `addr add ${ip}/${this.podCidr.prefix} dev eth0`,
        'link set eth0 up',
        // services through the host; no default route: nothing else is reachable
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

  /** Removes everything this id created: namespaces (and their veths), bridge, routes, guard. */
  async teardown(): Promise<void> {
    this.ready = false;
    this.extraHostAddresses.clear();
    for (const ns of await this.podNamespaces()) await run('ip', ['netns', 'del', ns]).catch(() => {});
    await run('ip', ['link', 'del', this.bridge]).catch(() => {});
    await run('ip', ['route', 'del', 'local', this.serviceCidr.text, 'dev', 'lo', 'table', 'local']).catch(() => {});
    // the guard and the blackholes go last: nothing of the ranges may be used without them
    await run('nft', ['delete', 'table', 'inet', this.guardTable]).catch(() => {});
    // ...and stay while another petset uses the same ranges (its blackholes are the same routes)
    if (await this.rangesInUse().catch(() => 'unknown')) return;
    for (const c of [this.podCidr, this.serviceCidr]) await run('ip', ['route', 'del', 'blackhole', c.text, 'metric', String(BLACKHOLE_METRIC)]).catch(() => {});
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => console.warn(`[podnet] ${l}`)))(line);
  }
}
