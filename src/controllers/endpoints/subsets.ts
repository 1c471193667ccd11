// The desired subsets of a service's core/v1 Endpoints, in the canonical packed form: one
// subset per distinct set of (address, readiness) pairs, carrying every port those addresses
// serve. Pure; the controller compares the result with what is stored.
import type { KubeObject } from '../../api/object.js';
import { isPodReady } from '../../api/pod-status.js';
import { findPort, ipFamilyOf, isHeadless, podIPs, shouldPodBeInEndpoints, shouldSetHostname } from './common.js';

/** Above this many addresses the Endpoints is truncated and annotated over-capacity. */
export const MAX_ENDPOINTS_ADDRESSES = 1000;

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

/** The service's IP family decides which of a dual-stack pod's addresses is listed. */
function serviceFamily(svc: KubeObject, pod: KubeObject): 'IPv4' | 'IPv6' {
  const families: unknown[] = Array.isArray(svc.spec?.ipFamilies) ? svc.spec.ipFamilies : [];
  if (families[0] === 'IPv4' || families[0] === 'IPv6') return families[0];
  const clusterIP = svc.spec?.clusterIP;
  if (clusterIP && clusterIP !== 'None') return ipFamilyOf(clusterIP);
  const first = podIPs(pod)[0];
  return first ? ipFamilyOf(first) : 'IPv4';
}

function podAddress(svc: KubeObject, pod: KubeObject): EndpointAddress | undefined {
  const family = serviceFamily(svc, pod);
  const ip = podIPs(pod).find((a) => ipFamilyOf(a) === family);
  if (!ip) return undefined;
  const addr: EndpointAddress = {
    ip,
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! },
  };
  if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec.hostname;
  // upstream always sets it; an empty one would not validate, and pods with an IP are bound anyway
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  return addr;
}

const addressKey = (a: EndpointAddress) => `${a.ip}|${a.targetRef.uid}`;
const portKey = (p: EndpointPort) => JSON.stringify([p.name ?? '', p.port, p.protocol, p.appProtocol ?? '']);

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  return a.targetRef.uid < b.targetRef.uid ? -1 : a.targetRef.uid > b.targetRef.uid ? 1 : 0;
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  const an = a.name ?? '';
  const bn = b.name ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}

/** Collects (address, port, ready) facts and packs them; not-ready wins when a pair is seen twice. */
class SubsetPacker {
  private readonly addresses = new Map<string, EndpointAddress>();
  /** port key (NO_PORT for portless headless services) → address key → ready */
  private readonly byPort = new Map<string, { port?: EndpointPort; ready: Map<string, boolean> }>();
  private static readonly NO_PORT = '';

  add(addr: EndpointAddress, port: EndpointPort | undefined, ready: boolean): void {
    const ak = addressKey(addr);
    if (!this.addresses.has(ak)) this.addresses.set(ak, addr);
    const pk = port ? portKey(port) : SubsetPacker.NO_PORT;
    let entry = this.byPort.get(pk);
    if (!entry) this.byPort.set(pk, (entry = { port, ready: new Map() }));
    if (entry.ready.get(ak) !== false) entry.ready.set(ak, ready);
  }

  pack(): EndpointSubset[] {
    const groups = new Map<string, { ready: Map<string, boolean>; ports: EndpointPort[] }>();
    for (const { port, ready } of this.byPort.values()) {
      const signature = [...ready].map(([k, r]) => `${k}|${r}`).sort().join(',');
      let group = groups.get(signature);
      if (!group) groups.set(signature, (group = { ready, ports: [] }));
      if (port) group.ports.push(port);
    }
    const subsets: { subset: EndpointSubset; sortKey: string }[] = [];
    for (const [signature, { ready, ports }] of groups) {
      const addresses: EndpointAddress[] = [];
      const notReady: EndpointAddress[] = [];
      for (const [k, r] of ready) (r ? addresses : notReady).push(this.addresses.get(k)!);
      const subset: EndpointSubset = {};
      if (addresses.length) subset.addresses = addresses.sort(compareAddresses);
      if (notReady.length) subset.notReadyAddresses = notReady.sort(compareAddresses);
      if (ports.length) subset.ports = ports.sort(comparePorts);
      subsets.push({ subset, sortKey: `${ports.map(portKey).join(',')}#${signature}` });
    }
    return subsets.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0)).map((s) => s.subset);
  }
}

/** What the Endpoints of svc should list, given the pods its selector picks. */
export function desiredSubsets(svc: KubeObject, pods: KubeObject[]): EndpointSubset[] {
  const tolerateUnready = svc.spec?.publishNotReadyAddresses === true;
  const servicePorts: Record<string, any>[] = Array.isArray(svc.spec?.ports) ? svc.spec.ports : [];
  const packer = new SubsetPacker();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
    const addr = podAddress(svc, pod);
    if (!addr) continue;
    const ready = tolerateUnready || isPodReady(pod);
    if (!servicePorts.length) {
      if (isHeadless(svc)) packer.add(addr, undefined, ready);
      continue;
    }
    for (const sp of servicePorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      packer.add(addr, ep, ready);
    }
  }
  return packer.pack();
}

/**
 * The subsets cut down to MAX_ENDPOINTS_ADDRESSES addresses, the room shared among subsets in
 * proportion and ready addresses kept first; undefined when they fit as they are.
 */
export function truncateSubsets(subsets: EndpointSubset[]): EndpointSubset[] | undefined {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= MAX_ENDPOINTS_ADDRESSES) return undefined;
  const cutReady = totalReady > MAX_ENDPOINTS_ADDRESSES;
  const field = cutReady ? 'addresses' : 'notReadyAddresses';
  const room = cutReady ? MAX_ENDPOINTS_ADDRESSES : MAX_ENDPOINTS_ADDRESSES - totalReady;
  const total = cutReady ? totalReady : totalNotReady;
  let left = room;
  const out: EndpointSubset[] = [];
  for (const s of subsets) {
    const kept = { ...s };
    const here = s[field] ?? [];
    const share = Math.min(Math.ceil((here.length / total) * room), left);
    if (here.length > share) kept[field] = here.slice(0, share);
    left -= kept[field]?.length ?? 0;
    if (cutReady) delete kept.notReadyAddresses;
    if (!kept[field]?.length) delete kept[field];
    // a subset left without addresses would not validate
    if (kept.addresses || kept.notReadyAddresses) out.push(kept);
  }
  return out;
}
