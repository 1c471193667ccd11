// Objects every cluster has from the start: the four system namespaces, the two system
// PriorityClasses and the `kubernetes` service.
import { isApiError } from '../api/errors.js';
import type { ApiServer } from './handler.js';
import { kubernetesServiceIP, serviceRange } from './service-ips.js';
import { SYSTEM_PRIORITY_CLASSES } from '../api/kinds/priorityclass.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function bootstrapObjects(api: ApiServer): Promise<void> {
  // each group at once, so the store commits it in one transaction (see ensureBootstrapPolicy)
  const ns = api.registry.resource('', 'v1', 'namespaces')!;
  await Promise.all(SYSTEM_NAMESPACES.map(async (name) => {
    if (!(await api.storage.tryGet(ns, undefined, name))) await ignoreExists(api.storage.create(ns, undefined, { metadata: { name } }));
  }));
  const pcs = api.registry.resource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  const svc = api.registry.resource('', 'v1', 'services')!;
  await Promise.all([
    ...SYSTEM_PRIORITY_CLASSES.map(async (pc) => {
      if (!(await api.storage.tryGet(pcs, undefined, pc.metadata.name!))) await ignoreExists(api.storage.create(pcs, undefined, structuredClone(pc)));
    }),
    (async () => {
      if (await api.storage.tryGet(svc, 'default', 'kubernetes')) return;
      await ignoreExists(
        api.storage.create(svc, 'default', {
          metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
          spec: { clusterIP: kubernetesServiceIP(serviceRange(api.options.serviceClusterIPRange)), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], sessionAffinity: 'None', type: 'ClusterIP' },
        }),
      );
    })(),
  ]);
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isApiError(e, 'AlreadyExists')) throw e;
  }
}
