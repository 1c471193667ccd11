// Pod addresses and host ports on one node.
//
// Addressing: every petset address is on loopback. Pods live in 127.64.0.0/12 (the
// service range is 127.96.0.0/12), cut into one /24 per node by the node's index:
// node n owns 127.(64 + n div 256).(n mod 256).0/24 (so n < 4096), uses .1 itself as its
// InternalIP, and hands .2-.254 to its pods. Indexes are unique per cluster, so pod IPs
// are too, without coordination beyond picking the index. The /24 is written to the
// Node's spec.podCIDR, which is how a restarted agent finds its index again.
import type { KubeObject } from '../api/object.js';

export const POD_NETWORK_BASE = (127 << 24) | (64 << 16);
export const MAX_NODE_INDEX = 4095;
const FIRST_POD_HOST = 2;
const LAST_POD_HOST = 254;

const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export function nodeSubnetBase(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > MAX_NODE_INDEX) throw new Error(`node index ${index} is outside 0-${MAX_NODE_INDEX}`);
  return (POD_NETWORK_BASE + index * 256) >>> 0;
}

export const podCIDRFor = (index: number) => `${toIp(nodeSubnetBase(index))}/24`;
export const nodeAddressFor = (index: number) => toIp(nodeSubnetBase(index) + 1);

/** The node index a podCIDR written by podCIDRFor stands for. */
export function nodeIndexOfCIDR(cidr: unknown): number | undefined {
  const m = typeof cidr === 'string' ? /^127\.(\d+)\.(\d+)\.0\/24$/.exec(cidr) : null;
  if (!m) return undefined;
  const index = (Number(m[1]) - 64) * 256 + Number(m[2]);
  return index >= 0 && index <= MAX_NODE_INDEX ? index : undefined;
}

/** Hands out the node's pod addresses round-robin, so a freed address is not reused at once. */
export class PodIPAllocator {
  private readonly used = new Set<number>();
  private next = FIRST_POD_HOST;

  constructor(readonly nodeIndex: number) {
    nodeSubnetBase(nodeIndex);
  }

  allocate(): string {
    const span = LAST_POD_HOST - FIRST_POD_HOST + 1;
    for (let i = 0; i < span; i++) {
      const host = FIRST_POD_HOST + ((this.next - FIRST_POD_HOST + i) % span);
      if (this.used.has(host)) continue;
      this.used.add(host);
      this.next = host + 1;
      return toIp(nodeSubnetBase(this.nodeIndex) + host);
    }
    throw new Error(`no free pod address left in ${podCIDRFor(this.nodeIndex)}`);
  }

  release(ip: string | undefined): void {
    const parts = ip?.split('.').map(Number) ?? [];
    const n = (((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0) - nodeSubnetBase(this.nodeIndex);
    if (parts.length === 4 && n >= FIRST_POD_HOST && n <= LAST_POD_HOST) this.used.delete(n);
  }
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
