// Cluster IPs for services, from a loopback range so they work on one machine without
// privileges: 127.96.0.0/12 mirrors upstream's customary 10.96.0.0/12.
import type { KubeObject } from '../api/object.js';

export interface ServiceRange {
  base: number;
  size: number;
  text: string;
}

/** petset's default without root: loopback addresses, so services work with no setup. */
export const DEFAULT_SERVICE_CLUSTER_IP_RANGE = '127.96.0.0/12';
/** with the root pod network: upstream's customary range, local to the host where the service proxy serves it */
export const ROOT_SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/12';

/** Parses --service-cluster-ip-range (IPv4, a /8 to a /28). */
export function serviceRange(text = DEFAULT_SERVICE_CLUSTER_IP_RANGE): ServiceRange {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  const ip = m ? toInt(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(prefix >= 8 && prefix <= 28)) throw new Error(`--service-cluster-ip-range ${text} is not an IPv4 range from /8 to /28, like 10.96.0.0/12`);
  const size = 2 ** (32 - prefix);
  const base = ip - (ip % size);
  return { base, size, text: `${toIp(base)}/${prefix}` };
}

/** The first address belongs to the `kubernetes` service, as upstream reserves it. */
export function kubernetesServiceIP(range: ServiceRange = serviceRange()): string {
  return toIp(range.base + 1);
}

/** The cluster DNS's address, the tenth of the range, as kubeadm gives CoreDNS. */
export function kubeDnsServiceIP(range: ServiceRange = serviceRange()): string {
  return toIp(range.base + 10);
}

function toInt(ip: string): number | undefined {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Where allocations are recorded so that every API server sees them: IPAddress objects in
 * the store (upstream's allocator since 1.33). Creating one is the claim; the store's
 * create-if-absent decides between two API servers that pick the same address.
 */
export interface IPClaims {
  /** every address held now */
  held(): Promise<Set<string>>;
  /** whether one address is held */
  isHeld(ip: string): Promise<boolean>;
  /** true: the address was free and is now the owner's; false: someone holds it */
  claim(ip: string, owner: { namespace?: string; name: string }): Promise<boolean>;
  release(ip: string): Promise<void>;
}

export class ServiceIPAllocator {
  /** addresses this server knows to be taken: a hint for picking candidates, never the decision */
  private used?: Set<string>;
  private loading?: Promise<Set<string>>;

  constructor(
    private readonly loadServices: () => Promise<KubeObject[]>,
    private readonly range: ServiceRange = serviceRange(),
    private readonly claims?: IPClaims,
  ) {}

  private async set(): Promise<Set<string>> {
    if (this.used) return this.used;
    this.loading ??= (async () => {
      const s = new Set<string>();
      const svcs = await this.loadServices();
      for (const svc of svcs) if (svc.spec?.clusterIP && svc.spec.clusterIP !== 'None') s.add(svc.spec.clusterIP);
      if (this.claims) {
        // services stored before addresses were recorded (an older data dir) get theirs from the
        // repair loop (ipaddress-repair.ts), with an event; meanwhile their addresses are known taken above
        for (const ip of await this.claims.held()) s.add(ip);
      }
      this.used = s;
      return s;
    })();
    return this.loading;
  }

  private inRange(ip: string): boolean {
    const n = toInt(ip);
    return n !== undefined && n >= this.range.base && n < this.range.base + this.range.size;
  }

  /** Takes one address: free and recorded as the owner's (a dry run only looks), or false. */
  private async take(ip: string, owner: { namespace?: string; name: string } | undefined, dryRun: boolean): Promise<boolean> {
    const used = await this.set();
    if (used.has(ip) && !this.claims) return false;
    if (this.claims) {
      const ok = dryRun ? !(await this.claims.isHeld(ip)) : await this.claims.claim(ip, owner ?? { name: '' });
      if (!ok) {
        used.add(ip);
        return false;
      }
    }
    used.add(ip);
    return true;
  }

  /** Takes the requested address, or a free one from the range. */
  async allocate(requested?: string, owner?: { namespace?: string; name: string }, dryRun = false, refreshed = false): Promise<string> {
    const used = await this.set();
    if (requested) {
      const n = toInt(requested);
      if (n === undefined) throw new Error(`failed to allocate IP ${requested}: not a valid IPv4 address`);
      if (n < this.range.base || n >= this.range.base + this.range.size) {
        throw new Error(`failed to allocate IP ${requested}: provided IP is not in the valid range. The range of valid IPs is ${this.range.text}`);
      }
      if (!(await this.take(requested, owner, dryRun))) throw new Error(`failed to allocate IP ${requested}: provided IP is already allocated`);
      return requested;
    }
    const base = this.range.base >>> 0;
    for (let i = 0; i < 64; i++) {
      // the first ten addresses are kept for the kubernetes and kube-dns services
      const off = 11 + Math.floor(Math.random() * (this.range.size - 12));
      const ip = toIp(base + off);
      if (!used.has(ip) && (await this.take(ip, owner, dryRun))) return ip;
    }
    for (let off = 11; off < this.range.size - 1; off++) {
      const ip = toIp(base + off);
      if (!used.has(ip) && (await this.take(ip, owner, dryRun))) return ip;
    }
    if (this.claims && !refreshed) {
      // this server's hint may hold addresses other servers have since released: ask the store once more
      const held = await this.claims.held();
      for (const ip of [...used]) if (!held.has(ip)) used.delete(ip);
      return this.allocate(requested, owner, dryRun, true);
    }
    throw new Error('failed to allocate a service IP: range is full');
  }

  /** Gives an address back (the service is gone, or was never stored). */
  async release(ip: string | undefined, dryRun = false): Promise<void> {
    if (!ip || ip === 'None') return;
    this.used?.delete(ip);
    if (!dryRun) await this.claims?.release(ip);
  }
}

export interface ClusterIPMove {
  namespace: string;
  name: string;
  uid?: string;
  from: string;
  to: string;
}

/**
 * The services whose cluster IP lies outside `range` — the data dir was used with another
 * service range (host mode's 127.96.0.0/12, then root mode's 10.96.0.0/12, or the reverse) —
 * and the address each moves to: the `kubernetes` service the first of the range and the
 * cluster DNS the tenth, as when they are created; any other a free address, the way the
 * allocator picks one (random past the first ten). Upstream's repair loop only reports such a
 * service ("not within the service CIDR; please recreate"); petset moves it, since nothing else
 * could reach it: the proxy serves, and pods route, only the current range.
 */
export function clusterIPMoves(services: readonly KubeObject[], range: ServiceRange, random: () => number = Math.random): ClusterIPMove[] {
  const inRange = (ip: string) => {
    const n = toInt(ip);
    return n !== undefined && n >= range.base && n < range.base + range.size;
  };
  const used = new Set<string>();
  for (const s of services) if (typeof s.spec?.clusterIP === 'string' && inRange(s.spec.clusterIP)) used.add(s.spec.clusterIP);
  const free = (): string | undefined => {
    for (let i = 0; i < 64; i++) {
      const ip = toIp(range.base + 11 + Math.floor(random() * (range.size - 12)));
      if (!used.has(ip)) return ip;
    }
    for (let off = 11; off < range.size - 1; off++) if (!used.has(toIp(range.base + off))) return toIp(range.base + off);
    return undefined;
  };
  const moves: ClusterIPMove[] = [];
  for (const s of services) {
    const from = s.spec?.clusterIP;
    if (typeof from !== 'string' || !from || from === 'None' || s.spec?.type === 'ExternalName' || from.includes(':') || inRange(from)) continue;
    const ns = s.metadata.namespace ?? 'default';
    const name = s.metadata.name!;
    const reserved = ns === 'default' && name === 'kubernetes' ? kubernetesServiceIP(range) : ns === 'kube-system' && name === 'kube-dns' ? kubeDnsServiceIP(range) : undefined;
    const to = reserved && !used.has(reserved) ? reserved : free();
    if (!to) continue; // a full range: the service keeps its address (and up says so)
    used.add(to);
    moves.push({ namespace: ns, name, uid: s.metadata.uid, from, to });
  }
  return moves;
}

/** The labels upstream's allocator puts on the IPAddress objects it claims. */
export const IPADDRESS_MANAGED_BY_LABEL = 'ipaddress.kubernetes.io/managed-by';
export const IPADDRESS_FAMILY_LABEL = 'ipaddress.kubernetes.io/ip-family';
export const IPALLOCATOR_NAME = 'ipallocator.k8s.io';

/**
 * The networking.k8s.io/v1 IPAddress that records `ip` as the cluster IP of a Service: what
 * an allocation creates, and what the moves at start and the repair loop create in its place.
 */
export function allocatorIPAddress(ip: string, service: { namespace?: string; name?: string }): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IPAddress',
    metadata: { name: ip, labels: { [IPADDRESS_FAMILY_LABEL]: 'IPv4', [IPADDRESS_MANAGED_BY_LABEL]: IPALLOCATOR_NAME } },
    spec: { parentRef: { group: '', resource: 'services', namespace: service.namespace, name: service.name } },
  };
}
