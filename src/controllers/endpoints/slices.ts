// The EndpointSlice reconciler's arithmetic, pure: from a service, the pods it selects and its
// current slices, which slices to create, update and delete. Like upstream it aims at little
// churn rather than tight packing: endpoints stay in the slice they are in, changed slices are
// topped up first, and leftovers go into the unchanged slice they fill best, else a new one.
import { deepEqual, type KubeObject } from '../../api/object.js';
import { isPodReady } from '../../api/pod-status.js';
import { findPort, HEADLESS_LABEL, ipFamilyOf, isServiceIPSet, podIPs, shouldPodBeInEndpoints, shouldSetHostname } from './common.js';

export { SERVICE_NAME_LABEL } from '../../api/kinds/endpointslice.js';
import { SERVICE_NAME_LABEL } from '../../api/kinds/endpointslice.js';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

type AddressType = 'IPv4' | 'IPv6';

export interface SlicePort {
  name: string;
  protocol: string;
  port: number;
  appProtocol?: string;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
  nodeName?: string;
  zone?: string;
}

export interface SlicePlan {
  create: KubeObject[];
  update: KubeObject[];
  delete: KubeObject[];
  /** pods left out for now (their node is unknown): the service should be synced again */
  errors: string[];
}

type Obj = Record<string, any>;
const list = <T = Obj>(v: unknown): T[] => (Array.isArray(v) ? v : []);

/** One address type per IP family of the service; both for an old-style headless service. */
function addressTypes(svc: KubeObject): AddressType[] {
  const families = list<string>(svc.spec?.ipFamilies).filter((f): f is AddressType => f === 'IPv4' || f === 'IPv6');
  if (families.length) return [...new Set(families)];
  if (isServiceIPSet(svc)) return [ipFamilyOf(svc.spec.clusterIP)];
  return ['IPv4', 'IPv6'];
}

function endpointPorts(svc: KubeObject, pod: KubeObject): SlicePort[] {
  const ports: SlicePort[] = [];
  for (const sp of list(svc.spec?.ports)) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const p: SlicePort = { name: sp.name ?? '', protocol: sp.protocol ?? 'TCP', port };
    if (sp.appProtocol) p.appProtocol = sp.appProtocol;
    ports.push(p);
  }
  return ports;
}

/** Identifies a group of slices: the same ports in any order. */
function portsKey(ports: unknown): string {
  return JSON.stringify(
    list(ports)
      .map((p) => JSON.stringify([p.name ?? '', p.protocol ?? 'TCP', p.port ?? null, p.appProtocol ?? null]))
      .sort(),
  );
}

/** Identifies an endpoint across syncs: its addresses, hostname and pod, so that condition changes update it in place. */
function endpointKey(ep: Obj): string {
  return JSON.stringify([[...list<string>(ep.addresses)].sort(), ep.hostname ?? '', ep.targetRef?.namespace ?? '', ep.targetRef?.name ?? '']);
}

function sameTargetRef(a: Obj | undefined, b: Obj | undefined): boolean {
  return deepEqual(a && { ...a, resourceVersion: undefined }, b && { ...b, resourceVersion: undefined });
}

/** The rest of the endpoint, beyond what endpointKey covers. */
function sameEndpoint(a: Obj, b: Obj): boolean {
  return (
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    a.conditions?.ready === b.conditions?.ready &&
    a.conditions?.serving === b.conditions?.serving &&
    a.conditions?.terminating === b.conditions?.terminating &&
    sameTargetRef(a.targetRef, b.targetRef)
  );
}

function podToEndpoint(pod: KubeObject, node: KubeObject | undefined, svc: KubeObject, type: AddressType): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ep: SliceEndpoint = {
    addresses: podIPs(pod).filter((ip) => ipFamilyOf(ip) === type),
    // a terminating pod is never ready, unless the service publishes everything
    conditions: { ready: svc.spec?.publishNotReadyAddresses === true || (serving && !terminating), serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! },
  };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[ZONE_LABEL];
  if (zone) ep.zone = zone;
  return ep;
}

/** The service's own labels (reserved ones aside), the headless mark, and the slice bookkeeping labels. */
export function sliceLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) {
    if (k !== SERVICE_NAME_LABEL && k !== MANAGED_BY_LABEL && k !== HEADLESS_LABEL) labels[k] = v;
  }
  if (!isServiceIPSet(svc)) labels[HEADLESS_LABEL] = '';
  labels[SERVICE_NAME_LABEL] = svc.metadata.name!;
  labels[MANAGED_BY_LABEL] = CONTROLLER_NAME;
  return labels;
}

export function ownedBy(slice: KubeObject, svc: KubeObject): boolean {
  return (slice.metadata.ownerReferences ?? []).some((r) => r.uid === svc.metadata.uid && r.kind === 'Service' && r.apiVersion === 'v1');
}

function newSlice(svc: KubeObject, ports: SlicePort[], addressType: AddressType): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata.name}-`,
      namespace: svc.metadata.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

/** An empty slice kept so that a service without endpoints still has one; recreating it would be churn. */
function isPlaceholderLike(existing: KubeObject, placeholder: KubeObject): boolean {
  const refs = (o: KubeObject) => (o.metadata.ownerReferences ?? []).map((r) => ({ ...r, controller: r.controller ?? false, blockOwnerDeletion: r.blockOwnerDeletion ?? false }));
  return (
    existing.metadata.namespace === placeholder.metadata.namespace &&
    deepEqual(existing.metadata.labels ?? {}, placeholder.metadata.labels) &&
    deepEqual(refs(existing), refs(placeholder)) &&
    existing.addressType === placeholder.addressType &&
    !list(existing.endpoints).length &&
    !list(existing.ports).length
  );
}

/** The slice nearest to full once n endpoints are added, if any has the room. */
function sliceToFill(slices: KubeObject[], n: number, max: number): KubeObject | undefined {
  let best: KubeObject | undefined;
  let bestRoom = max;
  for (const s of slices) {
    const room = max - (n + list(s.endpoints).length);
    if (room >= 0 && room < bestRoom) {
      best = s;
      bestRoom = room;
      if (room === 0) break;
    }
  }
  return best;
}

/** A copy of a cached slice that may be changed: the parts the reconciler touches are copied, the rest shared. */
function copyForWrite(slice: KubeObject): KubeObject {
  return { ...slice, metadata: { ...slice.metadata }, endpoints: [...list(slice.endpoints)] };
}

function popFirst<V>(m: Map<string, V>): V {
  const [k, v] = m.entries().next().value as [string, V];
  m.delete(k);
  return v;
}

/** reconcileByPortMapping: the slices of one port group against the endpoints desired for it. */
function planPortGroup(svc: KubeObject, existing: KubeObject[], desired: Map<string, SliceEndpoint>, ports: SlicePort[], type: AddressType, max: number) {
  const byName = new Map<string, KubeObject>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();
  const labels = sliceLabels(svc);

  for (const slice of existing) {
    const name = slice.metadata.name!;
    byName.set(name, slice);
    const kept: SliceEndpoint[] = [];
    let endpointChanged = false;
    for (const ep of list(slice.endpoints)) {
      const key = endpointKey(ep);
      const want = desired.get(key);
      if (!want) continue;
      kept.push(want);
      if (!sameEndpoint(want, ep)) endpointChanged = true;
      desired.delete(key);
    }
    const labelsChanged = !deepEqual(slice.metadata.labels ?? {}, labels);
    if (endpointChanged || kept.length !== list(slice.endpoints).length) {
      if (!kept.length) {
        toDelete.add(name);
        continue;
      }
      const next = copyForWrite(slice);
      next.endpoints = kept;
      next.metadata.labels = labels;
      byName.set(name, next);
      toUpdate.add(name);
    } else if (labelsChanged) {
      const next = copyForWrite(slice);
      next.metadata.labels = labels;
      byName.set(name, next);
      toUpdate.add(name);
    } else {
      unchanged.add(name);
    }
  }

  // top up the slices that are being written anyway, fullest first
  if (desired.size && toUpdate.size) {
    const slices = [...toUpdate].map((n) => byName.get(n)!).sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const slice of slices) while (desired.size && slice.endpoints.length < max) slice.endpoints.push(popFirst(desired));
  }

  const toCreate: KubeObject[] = [];
  while (desired.size) {
    let target: KubeObject | undefined;
    if (desired.size < max && unchanged.size) {
      const found = sliceToFill([...unchanged].map((n) => byName.get(n)!), desired.size, max);
      if (found) {
        target = copyForWrite(found);
        byName.set(found.metadata.name!, target);
      }
    }
    target ??= newSlice(svc, ports, type);
    while (desired.size && target.endpoints.length < max) target.endpoints.push(popFirst(desired));
    if (target.metadata.name) {
      toUpdate.add(target.metadata.name);
      unchanged.delete(target.metadata.name);
    } else {
      toCreate.push(target);
    }
  }

  return {
    create: toCreate,
    update: [...toUpdate].map((n) => byName.get(n)!),
    delete: [...toDelete].map((n) => byName.get(n)!),
  };
}

function planAddressType(
  svc: KubeObject,
  pods: KubeObject[],
  existing: KubeObject[],
  type: AddressType,
  nodeOf: (name: string) => KubeObject | undefined,
  max: number,
): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [], errors: [] };
  const existingByPorts = new Map<string, KubeObject[]>();
  for (const slice of existing) {
    if (!ownedBy(slice, svc)) {
      plan.delete.push(slice);
      continue;
    }
    const key = portsKey(slice.ports);
    existingByPorts.set(key, [...(existingByPorts.get(key) ?? []), slice]);
  }

  const desiredByPorts = new Map<string, { ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = endpointPorts(svc, pod);
    const key = portsKey(ports);
    let group = desiredByPorts.get(key);
    if (!group) desiredByPorts.set(key, (group = { ports, endpoints: new Map() }));
    const nodeName: string = pod.spec?.nodeName ?? '';
    const node = nodeName ? nodeOf(nodeName) : undefined;
    // a pod on a node that is not known yet is left out for now, unless everything is published
    if (!node && svc.spec?.publishNotReadyAddresses !== true) {
      plan.errors.push(`skipping Pod ${pod.metadata.name} for Service ${svc.metadata.namespace}/${svc.metadata.name}: Node ${nodeName} Not Found`);
      continue;
    }
    const ep = podToEndpoint(pod, node, svc, type);
    if (ep.addresses.length) group.endpoints.set(endpointKey(ep), ep);
  }

  for (const [key, group] of desiredByPorts) {
    const part = planPortGroup(svc, existingByPorts.get(key) ?? [], group.endpoints, group.ports, type, max);
    plan.create.push(...part.create);
    plan.update.push(...part.update);
    plan.delete.push(...part.delete);
  }
  for (const [key, slices] of existingByPorts) if (!desiredByPorts.has(key)) plan.delete.push(...slices);

  if (existing.length === plan.delete.length && !plan.create.length) {
    const placeholder = newSlice(svc, [], type);
    if (plan.delete.length === 1 && isPlaceholderLike(plan.delete[0], placeholder)) plan.delete = [];
    else plan.create.push(placeholder);
  }

  // rather than delete one slice and create another, rewrite the one being deleted
  for (let i = 0; i < plan.delete.length && plan.create.length; ) {
    const doomed = plan.delete[i];
    if (doomed.addressType === type && ownedBy(doomed, svc)) {
      const fresh = plan.create.pop()!;
      fresh.metadata = { ...doomed.metadata, labels: fresh.metadata.labels, ownerReferences: fresh.metadata.ownerReferences };
      plan.update.push(fresh);
      plan.delete.splice(i, 1);
    } else {
      i++;
    }
  }
  return plan;
}

/**
 * What to write so that the service's slices list the pods it selects. existing holds the
 * slices this controller manages for the service, minus those already being deleted.
 */
export function planSlices(
  svc: KubeObject,
  pods: KubeObject[],
  existing: KubeObject[],
  nodeOf: (name: string) => KubeObject | undefined,
  maxEndpointsPerSlice = DEFAULT_MAX_ENDPOINTS_PER_SLICE,
): SlicePlan {
  const types = addressTypes(svc);
  const plan: SlicePlan = { create: [], update: [], delete: [], errors: [] };
  for (const slice of existing) if (!types.includes(slice.addressType)) plan.delete.push(slice);
  for (const type of types) {
    const part = planAddressType(
      svc,
      pods,
      existing.filter((s) => s.addressType === type),
      type,
      nodeOf,
      maxEndpointsPerSlice,
    );
    plan.create.push(...part.create);
    plan.update.push(...part.update);
    plan.delete.push(...part.delete);
    plan.errors.push(...part.errors);
  }
  return plan;
}
