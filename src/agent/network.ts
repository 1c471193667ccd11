// Pod addresses and host ports on one node.
//
// Addressing: the cluster's pod range (`petset up --pod-cidr`; default 127.64.0.0/12 on
// loopback, 10.244.0.0/16 with the root pod network) is cut into one /24 per node by the
// node's index: node n owns the n-th /24 of the range, uses .1 itself as its InternalIP, and
// hands .2-.254 to its pods. Indexes are unique per cluster, so pod IPs are too, without
// coordination beyond picking the index. The /24 is written to the Node's spec.podCIDR,
// which is how a restarted agent finds its index again.
import type { KubeObject } from '../api/object.js';
import { intToIp, parseCidr, type Cidr } from './podnet/cidr.js';

/** Pods' addresses without root: loopback, so they work with no setup. */
export const DEFAULT_POD_CIDR = '127.64.0.0/12';
/** Pods' addresses with the root pod network (network namespaces on a bridge), as kubeadm's customary range. */
export const ROOT_POD_CIDR = '10.244.0.0/16';
const DEFAULT_RANGE = parseCidr(DEFAULT_POD_CIDR);
export const MAX_NODE_INDEX = maxNodeIndex(DEFAULT_RANGE);
const FIRST_POD_HOST = 2;
const LAST_POD_HOST = 254;

/** Parses a cluster pod range (--pod-cidr): IPv4, room for at least one node's /24. */
export function podRange(text: string = DEFAULT_POD_CIDR): Cidr {
  const c = parseCidr(text);
  if (c.prefix > 24) throw new Error(`--pod-cidr ${text} is smaller than one node's /24; use a /24 or larger, like ${ROOT_POD_CIDR}`);
  return c;
}

/** The highest node index the range has a /24 for. */
export function maxNodeIndex(range: Cidr = DEFAULT_RANGE): number {
  return 2 ** (24 - range.prefix) - 1;
}

export function nodeSubnetBase(index: number, range: Cidr = DEFAULT_RANGE): number {
  const max = maxNodeIndex(range);
  if (!Number.isInteger(index) || index < 0 || index > max) throw new Error(`node index ${index} is outside 0-${max} (the pod range ${range.text} has ${max + 1} node /24s)`);
  return (range.base + index * 256) >>> 0;
}

export const podCIDRFor = (index: number, range: Cidr = DEFAULT_RANGE) => `${intToIp(nodeSubnetBase(index, range))}/24`;
export const nodeAddressFor = (index: number, range: Cidr = DEFAULT_RANGE) => intToIp(nodeSubnetBase(index, range) + 1);

/** The node index a podCIDR written by podCIDRFor (with the same range) stands for. */
export function nodeIndexOfCIDR(cidr: unknown, range: Cidr = DEFAULT_RANGE): number | undefined {
  if (typeof cidr !== 'string' || !cidr.endsWith('/24')) return undefined;
  let c: Cidr;
  try {
    c = parseCidr(cidr);
  } catch {
    return undefined;
  }
  if (c.text !== cidr) return undefined;
  const index = (c.base - range.base) / 256;
  return Number.isInteger(index) && index >= 0 && index <= maxNodeIndex(range) ? index : undefined;
}

/**
 * Who, according to the API, holds a pod address on this node: the uids of the pods bound
 * here whose status shows it while they are not terminal (see podAddresses).
 */
export type AddressHolders = (ip: string) => readonly string[];

/**
 * Hands out the node's pod addresses. Nothing is remembered across a crash: what is in use is
 * derived again from the API (every non-terminal pod on the node whose status shows an address
 * holds it), so a restarted agent never hands a live pod's address to another. A pod gets back
 * the address its status shows when nobody else holds it; otherwise addresses go round-robin,
 * so a freed one is not reused at once.
 */
export class PodIPAllocator {
  /** host part → uid of the pod this agent gave it to ('' when allocated without a uid) */
  private readonly owners = new Map<number, string>();
  private next = FIRST_POD_HOST;

  private readonly base: number;

  constructor(
    readonly nodeIndex: number,
    private readonly heldInAPI: AddressHolders = () => [],
    readonly range: Cidr = DEFAULT_RANGE,
  ) {
    this.base = nodeSubnetBase(nodeIndex, range);
  }

  /** An address for pod `uid`: its `previous` one when still free, else the next free one. */
  allocate(uid = '', previous?: string): string {
    const wanted = this.hostOf(previous);
    if (wanted !== undefined && this.free(wanted, uid)) return this.take(wanted, uid);
    const span = LAST_POD_HOST - FIRST_POD_HOST + 1;
    for (let i = 0; i < span; i++) {
      const host = FIRST_POD_HOST + ((this.next - FIRST_POD_HOST + i) % span);
      if (!this.free(host, uid)) continue;
      this.next = host + 1;
      return this.take(host, uid);
    }
    throw new Error(`no free pod address left in ${podCIDRFor(this.nodeIndex, this.range)}`);
  }

  release(ip: string | undefined): void {
    const host = this.hostOf(ip);
    if (host !== undefined) this.owners.delete(host);
  }

  /** The address's host part when it is one of this node's pod addresses. */
  private hostOf(ip: string | undefined): number | undefined {
    const parts = typeof ip === 'string' ? ip.split('.').map(Number) : [];
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
    const n = (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0) - this.base;
    return n >= FIRST_POD_HOST && n <= LAST_POD_HOST ? n : undefined;
  }

  private free(host: number, uid: string): boolean {
    const owner = this.owners.get(host);
    if (owner !== undefined && (owner !== uid || uid === '')) return false;
    // any other live pod showing the address keeps it, even when two show it (then neither gets it back)
    return this.heldInAPI(intToIp(this.base + host)).every((holder) => uid !== '' && holder === uid);
  }

  private take(host: number, uid: string): string {
    this.owners.set(host, uid);
    return intToIp(this.base + host);
  }
}

/**
 * The addresses a pod holds in the API's view: those its status shows while it is not
 * terminal. The node agent indexes its pods by them, so handing out an address looks up the
 * candidate instead of walking every pod of the node (which made a node's start of n pods
 * cost n² steps).
 */
export function podAddresses(p: KubeObject): string[] {
  const phase = p.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return [];
  const out: string[] = [];
  const hold = (ip: unknown) => {
    if (typeof ip === 'string' && ip !== '' && !out.includes(ip)) out.push(ip);
  };
  hold(p.status?.podIP);
  const ips = p.status?.podIPs;
  if (Array.isArray(ips)) for (const x of ips) hold(x?.ip);
  return out;
}

interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export function hostPortsOf(pod: KubeObject): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (p.hostPort > 0) out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return out;
}

const overlaps = (a: HostPort, b: HostPort) =>
  a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0');

/** Host ports held by the pods admitted to this node (the kubelet's NodePorts admission check). */
export class HostPortTable {
  private readonly held = new Map<string, HostPort[]>();

  /** Claims the pod's host ports; false (and nothing claimed) when one is already taken. */
  claim(uid: string, ports: HostPort[]): boolean {
    if (!ports.length) return true;
    for (const [owner, taken] of this.held) {
      if (owner !== uid && ports.some((p) => taken.some((t) => overlaps(p, t)))) return false;
    }
    this.held.set(uid, ports);
    return true;
  }

  release(uid: string): void {
    this.held.delete(uid);
  }
}
