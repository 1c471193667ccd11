// What a pod asks of a node (its effective requests) and what a node offers (allocatable),
// counted exactly in nano-units so that "100m" cpu and "1Gi" memory compare without rounding.
import { isPlainObject, type KubeObject } from '../api/object.js';
import { tryParseQuantity } from '../api/quantity.js';

/** Resource name → amount in nano-units. */
export type Resources = Map<string, bigint>;

const NANO = 1_000_000_000n;
/** What a container without requests counts as when spreading load (scheduler/util DefaultMilliCPURequest, DefaultMemoryRequest). */
const DEFAULT_CPU = 100_000_000n; // 100m
const DEFAULT_MEMORY = 200n * 1024n * 1024n * NANO; // 200Mi

export function resourceList(v: unknown): Resources {
  const out: Resources = new Map();
  if (!isPlainObject(v)) return out;
  for (const [name, q] of Object.entries(v)) {
    const parsed = tryParseQuantity(q);
    if (parsed) out.set(name, parsed.nanos);
  }
  return out;
}

export function addInto(target: Resources, add: Resources): void {
  for (const [k, v] of add) target.set(k, (target.get(k) ?? 0n) + v);
}

/** Takes back what addInto added (quantities are exact integers, so nothing drifts). */
export function subtractFrom(target: Resources, taken: Resources): void {
  for (const [k, v] of taken) target.set(k, (target.get(k) ?? 0n) - v);
}

function maxInto(target: Resources, other: Resources): void {
  for (const [k, v] of other) if (v > (target.get(k) ?? 0n)) target.set(k, v);
}

/**
 * The effective request of a pod: its containers plus sidecars, or the largest regular
 * init container (with the sidecars started before it) if that is more, plus overhead.
 * With nonZero, cpu and memory left unset count as the scheduler's spreading defaults.
 */
export function podRequests(pod: KubeObject, nonZero = false): Resources {
  const spec = pod.spec ?? {};
  const requestsOf = (c: any): Resources => {
    const r = resourceList(c?.resources?.requests);
    if (nonZero) {
      if (!r.has('cpu')) r.set('cpu', DEFAULT_CPU);
      if (!r.has('memory')) r.set('memory', DEFAULT_MEMORY);
    }
    return r;
  };
  const total: Resources = new Map();
  for (const c of list(spec.containers)) addInto(total, requestsOf(c));
  const sidecars: Resources = new Map();
  const initPeak: Resources = new Map();
  for (const c of list(spec.initContainers)) {
    const r = requestsOf(c);
    if (c.restartPolicy === 'Always') {
      addInto(sidecars, r);
      continue;
    }
    const during = new Map(sidecars);
    addInto(during, r);
    maxInto(initPeak, during);
  }
  addInto(total, sidecars);
  maxInto(total, initPeak);
  addInto(total, resourceList(spec.overhead));
  return total;
}

export interface HostPort {
  hostIP: string;
  protocol: string;
  port: number;
}

/** Host ports of the containers (and sidecars) that keep running. */
export function podHostPorts(pod: KubeObject): HostPort[] {
  const spec = pod.spec ?? {};
  const containers = [...list(spec.containers), ...list(spec.initContainers).filter((c) => c.restartPolicy === 'Always')];
  const out: HostPort[] = [];
  for (const c of containers) {
    for (const p of list(c.ports)) {
      if (!(p.hostPort > 0)) continue;
      out.push({ hostIP: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return out;
}

/** Two host ports clash on the same port and protocol when either binds every address or both the same one. */
export function portsConflict(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.hostIP === b.hostIP || a.hostIP === '0.0.0.0' || b.hostIP === '0.0.0.0');
}

export function wholeUnits(nanos: bigint): number {
  return Number(nanos / NANO);
}

function list(v: unknown): Record<string, any>[] {
  return Array.isArray(v) ? v.filter(isPlainObject) : [];
}
