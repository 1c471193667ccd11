// Admission: the checks and defaults that need more than the object itself —
// namespace lifecycle, service cluster IPs, and the pod defaults upstream's admission
// plugins apply (service account name, not-ready/unreachable tolerations).
import { errors, isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { resourceRef, type AnyKindDef } from '../api/registry.js';
import { field } from '../api/validation.js';
import { objectKey } from './keys.js';
import type { ApiServer } from './handler.js';
import type { Admission, ResourceStorage } from './resource-storage.js';
import { allocatorIPAddress, ServiceIPAllocator, serviceRange, type IPClaims } from './service-ips.js';
import { installStorageAdmission } from './storage-admission.js';
import { installQuotaAdmission } from './quota-admission.js';
import { nodePortAdmission } from './service-nodeports.js';
import { podSecurityAdmission } from './pod-security.js';

/** DefaultTolerationSeconds: pods tolerate a not-ready or unreachable node for 300 s. */
export const DEFAULT_TOLERATION_SECONDS = 300;

export function installAdmission(api: ApiServer): void {
  const storage = api.storage;
  const namespaces = api.registry.resource('', 'v1', 'namespaces')!;
  const services = api.registry.resource('', 'v1', 'services')!;
  const ips = new ServiceIPAllocator(async () => (await storage.list(services, undefined)).items, serviceRange(api.options.serviceClusterIPRange), ipAddressClaims(storage, api.registry.resource('networking.k8s.io', 'v1', 'ipaddresses')!));

  // Whether each namespace is terminating, as of its last write: every namespaced create
  // asks, and the namespace seldom changes, so it is decoded again only when it has.
  const terminating = new Map<string, { modRevision: number; terminating: boolean }>();
  const isTerminating = async (nsName: string): Promise<boolean> => {
    const kv = await storage.store.get(objectKey(namespaces, undefined, nsName));
    if (!kv) {
      terminating.delete(nsName);
      throw errors.notFound(resourceRef(namespaces), nsName);
    }
    let known = terminating.get(nsName);
    if (known?.modRevision !== kv.modRevision) {
      known = { modRevision: kv.modRevision, terminating: !!storage.decode(kv).metadata.deletionTimestamp };
      terminating.set(nsName, known);
    }
    return known.terminating;
  };

  const namespaceLifecycle: Admission = {
    async create(kind, obj) {
      if (!kind.namespaced) return;
      const nsName = obj.metadata.namespace!;
      if ((await isTerminating(nsName)) && kind.plural !== 'events') {
        throw errors.forbidden(
          resourceRef(kind),
          obj.metadata.name ?? obj.metadata.generateName,
          `unable to create new content in namespace ${nsName} because it is being terminated`,
        );
      }
    },
  };

  // the address each admitted Service took in this request, to give back if it is not stored
  const allocatedFor = new WeakMap<KubeObject, { ip: string; dryRun: boolean }>();
  const serviceIPs: Admission = {
    async create(kind, obj, ctx) {
      if (kind !== services) return;
      const dryRun = !!ctx.dryRun;
      await allocateServiceIP(ips, obj, dryRun);
      const ip = obj.spec?.clusterIP;
      if (ip && ip !== 'None' && obj.spec?.type !== 'ExternalName') allocatedFor.set(obj, { ip, dryRun });
    },
    async deleted(kind, obj) {
      if (kind === services) await ips.release(obj.spec?.clusterIP);
    },
    // a dry run, or a create refused after allocation, keeps no address
    async abandoned(kind, obj) {
      const a = allocatedFor.get(obj);
      if (kind === services && a) await ips.release(a.ip, a.dryRun);
      allocatedFor.delete(obj);
    },
  };

  const podDefaults: Admission = {
    async create(kind, obj) {
      if (kind.plural !== 'pods' || kind.group !== '') return;
      const spec = (obj.spec ??= {});
      if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || 'default';
      spec.serviceAccount = spec.serviceAccountName;
      addDefaultTolerations(spec);
    },
  };

  storage.admission.push(namespaceLifecycle, serviceIPs, nodePortAdmission(storage, services), podDefaults, podSecurityAdmission(storage, api.options.podSecurity));
  installStorageAdmission(api);
  // last, as upstream orders them: quota sees the pod as the other plugins left it
  installQuotaAdmission(api);
}

function addDefaultTolerations(spec: any): void {
  const tolerations: any[] = (spec.tolerations ??= []);
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const covered = tolerations.some(
      (t) => (t.key === key || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute'),
    );
    if (!covered) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
  }
}

async function allocateServiceIP(ips: ServiceIPAllocator, svc: KubeObject, dryRun: boolean): Promise<void> {
  const spec = (svc.spec ??= {});
  if (spec.type === 'ExternalName') return;
  if (spec.clusterIP === 'None') {
    spec.clusterIPs = ['None'];
    return;
  }
  const name = svc.metadata.name ?? '';
  try {
    spec.clusterIP = await ips.allocate(spec.clusterIP || undefined, { namespace: svc.metadata.namespace, name }, dryRun);
  } catch (e) {
    throw errors.invalid({ group: '', resource: 'services', kind: 'Service' }, name, [
      field.invalid('spec.clusterIPs', spec.clusterIPs ?? [spec.clusterIP], (e as Error).message),
    ]);
  }
  spec.clusterIPs = [spec.clusterIP];
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
}

/** Service cluster IPs recorded as networking.k8s.io/v1 IPAddress objects, shared by every API server over the store. */
function ipAddressClaims(storage: ResourceStorage, ipKind: AnyKindDef): IPClaims {
  return {
    async held() {
      return new Set((await storage.list(ipKind, undefined)).items.map((o) => o.metadata.name!));
    },
    async isHeld(ip) {
      return !!(await storage.tryGet(ipKind, undefined, ip));
    },
    async claim(ip, owner) {
      try {
        await storage.create(ipKind, undefined, allocatorIPAddress(ip, owner));
        return true;
      } catch (e) {
        if (isApiError(e, 'AlreadyExists')) return false;
        throw e;
      }
    },
    async release(ip) {
      try {
        await storage.delete(ipKind, undefined, ip, {});
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
      }
    },
  };
}

export type { AnyKindDef };
