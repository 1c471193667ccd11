// Rules the Endpoints and EndpointSlice controllers share: which services they manage, which
// pods count and how, when a pod change matters, and the last-change-trigger-time bookkeeping.
import { isIPv6 } from 'node:net';
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { isPodReady, isPodTerminal, podCondition } from '../../api/pod-status.js';

export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

type Obj = Record<string, any>;

function objects(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter((x) => typeof x === 'object' && x !== null) : [];
}

/**
 * The service's selector, or undefined when it selects nothing. An empty map counts as none:
 * upstream stores an empty selector as nil, so such a service has user-managed endpoints.
 */
export function serviceSelector(svc: KubeObject): Record<string, string> | undefined {
  const sel = svc.spec?.selector;
  return sel && typeof sel === 'object' && Object.keys(sel).length ? sel : undefined;
}

/** Services the controllers fill in: with a selector, and not ExternalName (issue 105986). */
export function managedSelector(svc: KubeObject): Record<string, string> | undefined {
  return svc.spec?.type === 'ExternalName' ? undefined : serviceSelector(svc);
}

export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const k in selector) if (labels?.[k] !== selector[k]) return false;
  return true;
}

/** The pods of the service's namespace its selector picks. */
export function selectedPods(selector: Record<string, string>, podsInNamespace: KubeObject[]): KubeObject[] {
  return podsInNamespace.filter((p) => selectorMatches(selector, p.metadata.labels));
}

/** Keys of the services (among those given) whose selector picks the pod. */
export function serviceKeysForPod(services: KubeObject[], pod: KubeObject): string[] {
  const keys: string[] = [];
  for (const svc of services) {
    const sel = serviceSelector(svc);
    if (sel && selectorMatches(sel, pod.metadata.labels)) keys.push(`${svc.metadata.namespace}/${svc.metadata.name}`);
  }
  return keys;
}

/** helper.IsServiceIPSet: false for headless services. */
export function isServiceIPSet(svc: KubeObject): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

export function isHeadless(svc: KubeObject): boolean {
  return svc.spec?.clusterIP === 'None';
}

export function podIPs(pod: KubeObject): string[] {
  const listed = objects(pod.status?.podIPs)
    .map((p) => p.ip)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  if (listed.length) return listed;
  return pod.status?.podIP ? [pod.status.podIP] : [];
}

export function ipFamilyOf(ip: string): 'IPv4' | 'IPv6' {
  return isIPv6(ip) ? 'IPv6' : 'IPv4';
}

/** ShouldPodBeInEndpoints: not terminal, has an IP, and not terminating unless that is tolerated. */
export function shouldPodBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!podIPs(pod).length) return false;
  return includeTerminating || !pod.metadata.deletionTimestamp;
}

/** ShouldSetHostname: the pod's hostname is published only under the service its subdomain names. */
export function shouldSetHostname(pod: KubeObject, svc: KubeObject): boolean {
  const hostname = pod.spec?.hostname;
  return typeof hostname === 'string' && hostname !== '' && pod.spec?.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace;
}

/**
 * FindPort: a numeric targetPort as is; a named one looked up among the ports of the pod's
 * containers, then of its sidecars (restartable init containers), matching the protocol too.
 */
export function findPort(pod: KubeObject, servicePort: Obj): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string') return undefined;
  const protocol = servicePort.protocol ?? 'TCP';
  const sidecars = objects(pod.spec?.initContainers).filter((c) => c.restartPolicy === 'Always');
  for (const c of [...objects(pod.spec?.containers), ...sidecars]) {
    for (const p of objects(c.ports)) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** What of a pod the endpoints depend on; a pod update that leaves it alone needs no resync. */
function endpointView(pod: KubeObject): unknown {
  return [
    pod.metadata.labels ?? {},
    pod.metadata.deletionTimestamp ?? '',
    isPodReady(pod),
    isPodTerminal(pod),
    podIPs(pod),
    pod.spec?.hostname ?? '',
    pod.spec?.subdomain ?? '',
    pod.spec?.nodeName ?? '',
  ];
}

export function podEndpointsChanged(old: KubeObject, cur: KubeObject): boolean {
  if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return false;
  return JSON.stringify(endpointView(old)) !== JSON.stringify(endpointView(cur));
}

/** A create refused because the namespace is going away: retrying cannot help. */
export function namespaceTerminating(err: unknown): boolean {
  if (!isApiError(err, 'Forbidden')) return false;
  if (err.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return true;
  return err.message.includes('because it is being terminated');
}

/** Go's RFC3339Nano in UTC: fractional seconds only when present, without trailing zeros. */
export function formatTriggerTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

function parseTime(t: unknown): number | undefined {
  if (typeof t !== 'string' || !t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

interface TriggerState {
  podTimes: Map<string, number>;
  serviceTime: number | undefined;
}

/**
 * The last-change-trigger-time of a service's endpoints: the earliest of the changes seen since
 * the previous sync (a pod's Ready transition, the service's creation), or the service's
 * creation on the first sync. Undefined when nothing known triggered the change.
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, TriggerState>();

  compute(key: string, svc: KubeObject, pods: KubeObject[]): number | undefined {
    const previous = this.states.get(key);
    const podTimes = new Map<string, number>();
    let earliest: number | undefined;
    const consider = (t: number) => (earliest = earliest === undefined ? t : Math.min(earliest, t));
    for (const pod of pods) {
      const t = parseTime(podCondition(pod, 'Ready')?.lastTransitionTime);
      if (t === undefined) continue;
      podTimes.set(pod.metadata.name!, t);
      if (t > (previous?.podTimes.get(pod.metadata.name!) ?? -Infinity)) consider(t);
    }
    const serviceTime = parseTime(svc.metadata.creationTimestamp);
    if (serviceTime !== undefined && previous && serviceTime > (previous.serviceTime ?? -Infinity)) consider(serviceTime);
    this.states.set(key, { podTimes, serviceTime });
    return previous ? earliest : serviceTime;
  }

  forget(key: string): void {
    this.states.delete(key);
  }
}
