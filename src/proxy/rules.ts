// What the service proxy should serve, as a pure function of services and their endpoints:
// one frontend per (address, port, protocol) — the cluster IP, the node port on the host's
// loopback, a load balancer's ingress address — each with the ready backends it balances over.
// kube-proxy computes the same from the same objects; petset's proxy then serves it in user
// space (no NAT, no forwarding: nothing here can send a packet off the machine).
import type { KubeObject } from '../api/object.js';

export type Protocol = 'TCP' | 'UDP';

export interface Backend {
  ip: string;
  port: number;
}

export interface Frontend {
  /** "ip:port/proto" */
  key: string;
  ip: string;
  port: number;
  protocol: Protocol;
  /** "namespace/name:portName" */
  service: string;
  backends: Backend[];
  sessionAffinity: 'None' | 'ClientIP';
  affinityTimeoutSeconds: number;
}

export interface ProxyRuleOptions {
  /** where node ports are served (default 127.0.0.1) */
  nodePortAddress?: string;
}

/** Upstream's default ClientIP affinity timeout: 3 hours. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

function frontendKey(ip: string, port: number, protocol: string): string {
  return `${ip}:${port}/${protocol}`;
}

/**
 * The backends of one service port: the ready addresses of its Endpoints, on the port the
 * Endpoints name for it (named targetPorts are resolved per pod by the endpoints controller,
 * so reading the Endpoints' port by name is right even when pods differ).
 */
export function backendsFor(svc: KubeObject, ep: KubeObject | undefined, svcPort: Record<string, any>): Backend[] {
  if (!ep || !Array.isArray(ep.subsets)) return [];
  const protocol = svcPort.protocol ?? 'TCP';
  const out: Backend[] = [];
  const seen = new Set<string>();
  for (const subset of ep.subsets) {
    const ports = Array.isArray(subset?.ports) ? subset.ports : [];
    // a single unnamed port matches the single service port
    const port = ports.find((p: any) => (p?.name ?? '') === (svcPort.name ?? '') && (p?.protocol ?? 'TCP') === protocol);
    if (!port || typeof port.port !== 'number') continue;
    for (const a of Array.isArray(subset.addresses) ? subset.addresses : []) {
      if (typeof a?.ip !== 'string') continue;
      const k = `${a.ip}:${port.port}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ ip: a.ip, port: port.port });
    }
  }
  return out;
}

export function frontends(services: Iterable<KubeObject>, endpointsOf: (ns: string, name: string) => KubeObject | undefined, opts: ProxyRuleOptions = {}): Frontend[] {
  const nodeAddress = opts.nodePortAddress ?? '127.0.0.1';
  const out: Frontend[] = [];
  for (const svc of services) {
    const spec = svc.spec ?? {};
    if (spec.type === 'ExternalName') continue;
    const clusterIP: string | undefined = spec.clusterIP;
    if (!clusterIP || clusterIP === 'None') continue;
    const ns = svc.metadata.namespace ?? 'default';
    const ep = endpointsOf(ns, svc.metadata.name!);
    const affinity = spec.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None';
    const timeout = Number(spec.sessionAffinityConfig?.clientIP?.timeoutSeconds) || DEFAULT_AFFINITY_TIMEOUT_SECONDS;
    const lbIPs: string[] = spec.type === 'LoadBalancer' ? (svc.status?.loadBalancer?.ingress ?? []).map((i: any) => i?.ip).filter((ip: unknown) => typeof ip === 'string' && ip !== clusterIP) : [];
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
      const protocol = (p?.protocol ?? 'TCP') as Protocol;
      if (protocol !== 'TCP' && protocol !== 'UDP') continue; // SCTP is not served
      if (typeof p.port !== 'number') continue;
      const base = {
        protocol,
        service: `${ns}/${svc.metadata.name}${p.name ? `:${p.name}` : ''}`,
        backends: backendsFor(svc, ep, p),
        sessionAffinity: affinity as Frontend['sessionAffinity'],
        affinityTimeoutSeconds: timeout,
      };
      out.push({ key: frontendKey(clusterIP, p.port, protocol), ip: clusterIP, port: p.port, ...base });
      if (typeof p.nodePort === 'number' && p.nodePort > 0) out.push({ key: frontendKey(nodeAddress, p.nodePort, protocol), ip: nodeAddress, port: p.nodePort, ...base });
      for (const ip of lbIPs) out.push({ key: frontendKey(ip, p.port, protocol), ip, port: p.port, ...base });
    }
  }
  return out;
}

/** A backend picker per frontend: round robin, or sticky per client IP when asked. */
export class Balancer {
  private next = 0;
  private readonly sticky = new Map<string, { backend: string; until: number }>();

  pick(frontend: Frontend, clientIP: string, now = Date.now(), skip: ReadonlySet<string> = new Set()): Backend | undefined {
    const candidates = frontend.backends.filter((b) => !skip.has(`${b.ip}:${b.port}`));
    if (!candidates.length) return undefined;
    if (frontend.sessionAffinity === 'ClientIP') {
      const held = this.sticky.get(clientIP);
      const kept = held && held.until > now ? candidates.find((b) => `${b.ip}:${b.port}` === held.backend) : undefined;
      const chosen = kept ?? candidates[this.next++ % candidates.length];
      this.sticky.set(clientIP, { backend: `${chosen.ip}:${chosen.port}`, until: now + frontend.affinityTimeoutSeconds * 1000 });
      return chosen;
    }
    return candidates[this.next++ % candidates.length];
  }
}
