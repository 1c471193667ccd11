// At start, before anything allocates: services whose cluster IP lies outside the configured
// service range (a data dir first used in host mode, 127.96.0.0/12, then in root mode,
// 10.96.0.0/12, or the reverse) get an address of the range, written straight to the store —
// spec.clusterIP is immutable through the API, and this is the server's own repair, not a
// user's update. A load balancer address that was the old cluster IP is cleared, for the
// service proxy to write the new one. The new address is claimed as an IPAddress for the
// service and the old one's IPAddress released, as an allocation would.
import type { KubeObject } from '../api/object.js';
import { ConflictError, KeyNotFoundError } from '../store/store.js';
import { isApiError } from '../api/errors.js';
import { objectKey } from './keys.js';
import type { ApiServer } from './handler.js';
import { allocatorIPAddress, clusterIPMoves, serviceRange, type ClusterIPMove } from './service-ips.js';

export async function moveServicesIntoRange(api: ApiServer): Promise<ClusterIPMove[]> {
  const services = api.registry.resource('', 'v1', 'services')!;
  const range = serviceRange(api.options.serviceClusterIPRange);
  const moves = clusterIPMoves((await api.storage.list(services, undefined)).items, range);
  const done: ClusterIPMove[] = [];
  for (const m of moves) {
    const key = objectKey(services, m.namespace, m.name);
    const kv = await api.storage.store.get(key);
    if (!kv) continue;
    const svc: KubeObject = api.storage.decode(kv);
    if (svc.spec?.clusterIP !== m.from) continue;
    svc.spec.clusterIP = m.to;
    if (Array.isArray(svc.spec.clusterIPs)) svc.spec.clusterIPs = [m.to, ...svc.spec.clusterIPs.slice(1).filter((ip: string) => ip.includes(':'))];
    const ingress = svc.status?.loadBalancer?.ingress;
    if (Array.isArray(ingress) && ingress.some((i: any) => i?.ip === m.from)) {
      const kept = ingress.filter((i: any) => i?.ip !== m.from);
      if (kept.length) svc.status.loadBalancer.ingress = kept;
      else delete svc.status.loadBalancer.ingress;
    }
    try {
      await api.storage.store.update(key, api.storage.encode(svc), kv.modRevision);
    } catch (e) {
      // written meanwhile (another API server of this store doing the same at its start): that one decides
      if (e instanceof ConflictError || e instanceof KeyNotFoundError) continue;
      throw e;
    }
    await moveIPAddress(api, m);
    done.push(m);
  }
  return done;
}

/** The moved service's addresses as IPAddress objects: the new one claimed for it, the old one released. */
async function moveIPAddress(api: ApiServer, m: ClusterIPMove): Promise<void> {
  const ips = api.registry.resource('networking.k8s.io', 'v1', 'ipaddresses');
  if (!ips) return;
  try {
    await api.storage.create(ips, undefined, allocatorIPAddress(m.to, m));
  } catch (e) {
    // held already (another API server moved it first): the repair loop settles any disagreement
    if (!isApiError(e, 'AlreadyExists')) throw e;
  }
  const old = await api.storage.tryGet(ips, undefined, m.from);
  const ref = old?.spec?.parentRef;
  if (old && ref?.namespace === m.namespace && ref?.name === m.name) {
    await api.storage.delete(ips, undefined, m.from, { preconditions: { uid: old.metadata.uid } }).catch((e: unknown) => {
      if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
    });
  }
}
