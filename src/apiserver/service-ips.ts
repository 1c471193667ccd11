// Cluster IPs for services, from a loopback range so they work on one machine without
// privileges: 127.96.0.0/12 mirrors upstream's customary 10.96.0.0/12.
import type { KubeObject } from '../api/object.js';

export const SERVICE_CIDR = { base: (127 << 24) | (96 << 16), size: 1 << 20 };
/** The first address belongs to the `kubernetes` service, as upstream reserves it. */
export const KUBERNETES_SERVICE_IP = '127.96.0.1';
/** The cluster DNS's address, the tenth of the range, as kubeadm gives CoreDNS. */
export const KUBE_DNS_SERVICE_IP = '127.96.0.10';

function toInt(ip: string): number | undefined {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class ServiceIPAllocator {
  private used?: Set<string>;
  private loading?: Promise<Set<string>>;

  constructor(private readonly loadServices: () => Promise<KubeObject[]>) {}

  private async set(): Promise<Set<string>> {
    if (this.used) return this.used;
    this.loading ??= this.loadServices().then((svcs) => {
      const s = new Set<string>();
      for (const svc of svcs) if (svc.spec?.clusterIP && svc.spec.clusterIP !== 'None') s.add(svc.spec.clusterIP);
      this.used = s;
      return s;
    });
    return this.loading;
  }

  /** Takes the requested address, or a free one from the range. */
  async allocate(requested?: string): Promise<string> {
    const used = await this.set();
    if (requested) {
      const n = toInt(requested);
      if (n === undefined) throw new Error(`failed to allocate IP ${requested}: not a valid IPv4 address`);
      if (used.has(requested)) throw new Error(`failed to allocate IP ${requested}: provided IP is already allocated`);
      used.add(requested);
      return requested;
    }
    const base = SERVICE_CIDR.base >>> 0;
    for (let i = 0; i < 64; i++) {
      const off = 2 + Math.floor(Math.random() * (SERVICE_CIDR.size - 3));
      const ip = toIp(base + off);
      if (!used.has(ip)) {
        used.add(ip);
        return ip;
      }
    }
    for (let off = 2; off < SERVICE_CIDR.size - 1; off++) {
      const ip = toIp(base + off);
      if (!used.has(ip)) {
        used.add(ip);
        return ip;
      }
    }
    throw new Error('failed to allocate a service IP: range is full');
  }

  release(ip: string | undefined): void {
    if (ip && ip !== 'None') this.used?.delete(ip);
  }
}
