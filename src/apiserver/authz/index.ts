// Authorization for an API server: Node and RBAC authorizers over its store, the RBAC
// escalation checks, and the default roles and bindings. One call for the control plane.
import type { ApiServer } from '../handler.js';
import { Authorizer } from './authorizer.js';
import { ensureBootstrapPolicy } from './bootstrap-policy.js';
import { nodeRestrictionAdmission, type NodeGraph } from './node.js';
import { cachedNodeGraph } from './node-graph.js';

export { Authorizer } from './authorizer.js';

/** Turns authorization on: from now on only system:masters may do anything. */
export async function installAuthorization(api: ApiServer): Promise<Authorizer> {
  await ensureBootstrapPolicy(api);
  const authorizer = new Authorizer(api.storage, api.registry, storeNodeGraph(api));
  api.storage.admission.push(authorizer.escalationAdmission(), nodeRestrictionAdmission());
  api.authorizer = authorizer;
  return authorizer;
}

/**
 * The Node authorizer's view of pods and volumes: which pods are bound where from a watched
 * cache (node-graph.ts), the rest read from the store when asked.
 */
function storeNodeGraph(api: ApiServer): NodeGraph {
  return cachedNodeGraph(api.storage, api.registry.resource('', 'v1', 'pods')!, api.registry.resource('', 'v1', 'persistentvolumes')!);
}
