// upstream's ipallocator repair controller (kube-apiserver's RepairIPAddress): services'
// cluster IPs are allocations recorded as networking.k8s.io/v1 IPAddress objects, and the two
// can drift apart: an API server that died between claiming an address and storing its
// Service leaves an IPAddress nobody holds, and a user can delete an IPAddress of a live
// Service. Every API server checks both directions at start and then periodically, and says
// what it found as Warning events in upstream's words:
// - a Service whose cluster IP has no IPAddress gets one (ClusterIPNotAllocated);
// - a Service whose cluster IP is outside the service range is reported (ClusterIPOutOfRange);
// - two Services with one address are reported (ClusterIPAlreadyAllocated);
// - an IPAddress of the allocator whose Service is gone is deleted after a grace period, as
//   it may belong to a Service still being created (IPAddressNotAllocated); one whose
//   Service exists but holds another address is deleted (IPAddressWrongReference).
// Decide-then-act: decideIPAddressRepairs is pure, repairIPAddresses carries it out.
import type { KubeObject } from '../api/object.js';
import { isApiError } from '../api/errors.js';
import { type Client, type ResourceType } from '../client/client.js';
import { EventRecorder } from '../client/events.js';
import { allocatorIPAddress, IPADDRESS_FAMILY_LABEL, IPADDRESS_MANAGED_BY_LABEL, IPALLOCATOR_NAME, type ServiceRange } from './service-ips.js';

const SERVICES: ResourceType = { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true };
const IPADDRESSES: ResourceType = { group: 'networking.k8s.io', version: 'v1', resource: 'ipaddresses', kind: 'IPAddress', namespaced: false };
/** upstream's: an IPAddress may exist this long before its Service is stored (the request timeout) */
export const ORPHAN_GRACE_MS = 60_000;
/** how often the whole state is checked again (upstream's repair interval) */
export const REPAIR_INTERVAL_MS = 3 * 60_000;
export const REPAIR_COMPONENT = 'ipallocator-repair-controller';

export interface RepairEvent {
  /** a Service or an IPAddress */
  object: KubeObject;
  reason: string;
  message: string;
}

export type RepairAction =
  | { action: 'create'; ip: string; service: KubeObject; event?: RepairEvent }
  | { action: 'recreate'; ip: string; service: KubeObject; old: KubeObject; event?: RepairEvent }
  | { action: 'delete'; ipAddress: KubeObject; event: RepairEvent }
  | { action: 'report'; event: RepairEvent };

const key = (ns: string | undefined, name: string | undefined) => `${ns ?? ''}/${name ?? ''}`;

function clusterIPsOf(svc: KubeObject): string[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const ips: string[] = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => typeof ip === 'string' && ip !== '' && ip !== 'None');
}

function toInt(ip: string): number | undefined {
  const p = ip.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return undefined;
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

const isManaged = (ip: KubeObject) => ip.metadata.labels?.[IPADDRESS_MANAGED_BY_LABEL] === IPALLOCATOR_NAME;
const refersToService = (ip: KubeObject) => (ip.spec?.parentRef?.group ?? '') === '' && ip.spec?.parentRef?.resource === 'services';

/** Pure: what to repair, given every Service and IPAddress as they are now. */
export function decideIPAddressRepairs(services: readonly KubeObject[], ipAddresses: readonly KubeObject[], range: ServiceRange, now: number, graceMs = ORPHAN_GRACE_MS): RepairAction[] {
  const actions: RepairAction[] = [];
  const byIP = new Map(ipAddresses.map((ip) => [ip.metadata.name!, ip]));
  const byKey = new Map(services.map((s) => [key(s.metadata.namespace, s.metadata.name), s]));
  const inRange = (ip: string) => {
    const n = toInt(ip);
    return n !== undefined && n >= range.base && n < range.base + range.size;
  };
  const svcEvent = (svc: KubeObject, reason: string, message: string): RepairEvent => ({ object: svc, reason, message });

  for (const svc of services) {
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name!;
    for (const ip of clusterIPsOf(svc)) {
      // petset serves IPv4 services only; an address of another family is not this allocator's
      if (ip.includes(':')) continue;
      if (toInt(ip) === undefined) {
        actions.push({ action: 'report', event: svcEvent(svc, 'ClusterIPNotValid', `Cluster IP ${ip} is not a valid IP; please recreate Service`) });
        continue;
      }
      if (!inRange(ip)) {
        actions.push({ action: 'report', event: svcEvent(svc, 'ClusterIPOutOfRange', `Cluster IP [IPv4]: ${ip} is not within any configured Service CIDR; please recreate service`) });
        continue;
      }
      const held = byIP.get(ip);
      if (!held) {
        actions.push({ action: 'create', ip, service: svc, event: svcEvent(svc, 'ClusterIPNotAllocated', `Cluster IP [IPv4]: ${ip} is not allocated; repairing`) });
        continue;
      }
      const wrongReference = svcEvent(svc, 'ClusterIPNotAllocated', `the ClusterIP [IPv4]: ${ip} for Service ${ns}/${name} has a wrong reference; repairing`);
      if (!refersToService(held)) {
        actions.push({ action: 'recreate', ip, service: svc, old: held, event: wrongReference });
        continue;
      }
      const ref = held.spec.parentRef;
      if (ref.namespace !== ns || ref.name !== name) {
        const other = byKey.get(key(ref.namespace, ref.name));
        if (!other) {
          actions.push({ action: 'recreate', ip, service: svc, old: held, event: wrongReference });
          continue;
        }
        if (clusterIPsOf(other).includes(ip)) {
          actions.push({ action: 'report', event: svcEvent(svc, 'ClusterIPAlreadyAllocated', `Cluster IP [IPv4]:${ip} was assigned to multiple services; please recreate service`) });
        }
      }
      // the allocator's labels, lost or changed: written again, without a word (as upstream)
      if (held.metadata.labels?.[IPADDRESS_MANAGED_BY_LABEL] !== IPALLOCATOR_NAME || held.metadata.labels?.[IPADDRESS_FAMILY_LABEL] !== 'IPv4') {
        if (ref.namespace === ns && ref.name === name) actions.push({ action: 'recreate', ip, service: svc, old: held });
      }
    }
  }

  for (const ip of ipAddresses) {
    if (!isManaged(ip)) continue;
    const name = ip.metadata.name!;
    if (!refersToService(ip)) {
      const ref = ip.spec?.parentRef ?? {};
      actions.push({ action: 'delete', ipAddress: ip, event: { object: ip, reason: 'IPAddressNotAllocated', message: `IPAddress ${name} appears to have been modified, not referencing a Service ${JSON.stringify(ref)}: cleaning up` } });
      continue;
    }
    const ref = ip.spec.parentRef;
    const owner = byKey.get(key(ref.namespace, ref.name));
    if (!owner) {
      // a Service may still be on its way into the store after its address was claimed
      const age = now - Date.parse(ip.metadata.creationTimestamp ?? '');
      if (!(age > graceMs)) continue;
      actions.push({ action: 'delete', ipAddress: ip, event: { object: ip, reason: 'IPAddressNotAllocated', message: `IPAddress: ${name} for Service ${ref.namespace}/${ref.name} appears to have leaked: cleaning up` } });
      continue;
    }
    if (!clusterIPsOf(owner).includes(name)) {
      actions.push({ action: 'delete', ipAddress: ip, event: { object: ip, reason: 'IPAddressWrongReference', message: `IPAddress: ${name} for Service ${ref.namespace}/${ref.name} has a wrong reference; cleaning up` } });
    }
  }
  return actions;
}

function newIPAddress(ip: string, svc: KubeObject): KubeObject {
  return allocatorIPAddress(ip, { namespace: svc.metadata.namespace ?? 'default', name: svc.metadata.name });
}

/** One pass: lists Services, then IPAddresses (upstream's order), and carries out what decideIPAddressRepairs says. */
export async function repairIPAddresses(client: Client, recorder: EventRecorder, range: ServiceRange, opts: { now?: number; graceMs?: number } = {}): Promise<RepairAction[]> {
  const services = (await client.resource(SERVICES).list()).items.map((s) => ({ ...s, apiVersion: 'v1', kind: 'Service' }));
  const ips = (await client.resource(IPADDRESSES).list()).items.map((i) => ({ ...i, apiVersion: 'networking.k8s.io/v1', kind: 'IPAddress' }));
  const actions = decideIPAddressRepairs(services, ips, range, opts.now ?? Date.now(), opts.graceMs);
  const addresses = client.resource(IPADDRESSES);
  const done: RepairAction[] = [];
  for (const a of actions) {
    try {
      if (a.action === 'create' || a.action === 'recreate') {
        // the Service as it is now: one deleted since the list must not get an address again
        const now = await client
          .resource(SERVICES, a.service.metadata.namespace)
          .get(a.service.metadata.name!)
          .catch((e) => (isApiError(e, 'NotFound') ? undefined : Promise.reject(e)));
        if (!now || now.metadata.uid !== a.service.metadata.uid || !clusterIPsOf(now).includes(a.ip)) continue;
        if (a.action === 'recreate') await deleteIfUnchanged(client, a.old);
        await addresses.create(newIPAddress(a.ip, now));
      } else if (a.action === 'delete') {
        if (!(await deleteIfUnchanged(client, a.ipAddress))) continue;
      }
    } catch (e) {
      // another API server repairing the same thing at the same moment: it decided first
      if (isApiError(e, 'AlreadyExists') || isApiError(e, 'Conflict') || isApiError(e, 'NotFound')) continue;
      throw e;
    }
    if (a.event) recorder.event(a.event.object, 'Warning', a.event.reason, a.event.message);
    done.push(a);
  }
  return done;
}

/** Deletes an IPAddress only if it is still the one looked at (uid and resourceVersion): a fresh claim of the address stays. */
async function deleteIfUnchanged(client: Client, ip: KubeObject): Promise<boolean> {
  try {
    await client.resource(IPADDRESSES).delete(ip.metadata.name!, { preconditions: { uid: ip.metadata.uid, resourceVersion: ip.metadata.resourceVersion } });
    return true;
  } catch (e) {
    if (isApiError(e, 'NotFound') || isApiError(e, 'Conflict')) return false;
    throw e;
  }
}

export interface IPAddressRepairLoop {
  stop(): void;
  /** the pass under way, if any (tests wait for it) */
  idle(): Promise<void>;
}

/** Runs repairIPAddresses now and every intervalMs, until stopped. A pass that fails is logged and tried at the next. */
export function startIPAddressRepair(client: Client, range: ServiceRange, opts: { intervalMs?: number; graceMs?: number; log?: (line: string) => void } = {}): IPAddressRepairLoop {
  const recorder = new EventRecorder(client, REPAIR_COMPONENT);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const pass = () => {
    if (stopped) return;
    running = repairIPAddresses(client, recorder, range, { graceMs: opts.graceMs })
      .then(() => undefined)
      .catch((e: Error) => opts.log?.(`warning: the repair of service IP allocations failed (tried again in ${Math.round((opts.intervalMs ?? REPAIR_INTERVAL_MS) / 1000)}s): ${e.message}`))
      .finally(() => {
        if (!stopped) {
          timer = setTimeout(pass, opts.intervalMs ?? REPAIR_INTERVAL_MS);
          timer.unref?.();
        }
      });
  };
  pass();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    idle: () => running.then(() => recorder.flush()),
  };
}
