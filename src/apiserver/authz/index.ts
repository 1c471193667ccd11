// Authorization for an API server: Node and RBAC authorizers over its store, the RBAC
// escalation checks, and the default roles and bindings. One call for the control plane.
import type { KubeObject } from '../../api/object.js';
import type { ApiServer } from '../handler.js';
import { Authorizer } from './authorizer.js';
import { ensureBootstrapPolicy } from './bootstrap-policy.js';
import { nodeRestrictionAdmission, type NodeGraph } from './node.js';

export { Authorizer } from './authorizer.js';

/** Turns authorization on: from now on only system:masters may do anything. */
export async function installAuthorization(api: ApiServer): Promise<Authorizer> {
  await ensureBootstrapPolicy(api);
  const authorizer = new Authorizer(api.storage, api.registry, storeNodeGraph(api));
  api.storage.admission.push(authorizer.escalationAdmission(), nodeRestrictionAdmission());
  api.authorizer = authorizer;
  return authorizer;
}

/** The Node authorizer's view of pods and volumes, read from the store when asked. */
function storeNodeGraph(api: ApiServer): NodeGraph {
  const pods = api.registry.resource('', 'v1', 'pods')!;
  const pvs = api.registry.resource('', 'v1', 'persistentvolumes')!;
  return {
    async podsOn(nodeName: string, namespace?: string): Promise<KubeObject[]> {
      return (await api.storage.list(pods, namespace, { fieldSelector: `spec.nodeName=${nodeName}` })).items;
    },
    pod: (namespace, name) => api.storage.tryGet(pods, namespace, name),
    async volumeClaimOf(pvName) {
      const pv = await api.storage.tryGet(pvs, undefined, pvName);
      const ref = pv?.spec?.claimRef;
      return ref?.name && ref?.namespace ? { namespace: ref.namespace, name: ref.name } : undefined;
    },
  };
}
