// The server's per-resource table has three shapes:
//   - stored kinds: the generic pipeline (CRUD, watch, patch, apply) over the registry, with
//     a kind's own behaviour in its entry here (Namespace: deletion through finalization,
//     the finalize subresource, no deletecollection);
//   - virtual resources, computed and never stored (bindings, evictions, scale, reviews):
//     ApiServer.addSubresource handlers;
//   - connect subresources (log, exec, attach, portforward, proxy): a plain handler for
//     HTTP plus ApiServer.addUpgrade for upgraded connections (WebSocket, SPDY).
import type { KubeObject } from '../api/object.js';
import type { ApiRequest } from '../api/request.js';
import type { ApiServer, ResourceRoute, SubresourceHandler } from './handler.js';
import type { DeleteOptions, WriteContext } from './resource-storage.js';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

/** What a stored kind does differently from the generic pipeline. */
export interface KindEntry {
  /** verbs upstream does not serve for this resource: answered 405 MethodNotAllowed, left out of discovery */
  unsupportedVerbs?: Verb[];
  /** DELETE of one object, instead of the generic delete */
  deleteOne?(api: ApiServer, namespace: string | undefined, name: string, options: DeleteOptions, ctx: WriteContext): Promise<KubeObject>;
  /** get and list answered from elsewhere than the store (metrics.k8s.io); every other verb is 405 */
  reads?: {
    list(api: ApiServer, req: ApiRequest, route: ResourceRoute): Promise<KubeObject[]>;
    get(api: ApiServer, req: ApiRequest, route: ResourceRoute): Promise<KubeObject>;
  };
  /** the kind's own subresources (beyond status and scale) */
  subresources?: Record<string, SubresourceHandler>;
}

/** The key of a resource in the table: "<group>/<plural>", "/namespaces" for the core group. */
export function entryKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}
