// Namespace's entry in the resource table. A namespace is emptied by the namespace
// controller: while spec.finalizers holds "kubernetes", DELETE only marks it Terminating,
// and the finalize subresource (PUT) is how the controller removes its finalizer, after
// which the namespace goes. As upstream, the uid/resourceVersion preconditions of the
// DeleteOptions are honoured, and deletecollection is not served.
import { errors } from '../../api/errors.js';
import { isPlainObject, timestamp, type KubeObject } from '../../api/object.js';
import { resourceRef } from '../../api/registry.js';
import type { ApiServer } from '../handler.js';
import { SYSTEM_NAMESPACES } from '../bootstrap.js';
import type { KindEntry } from '../resource-table.js';
import type { DeleteOptions, WriteContext } from '../resource-storage.js';

const namespacesRef = { group: '', resource: 'namespaces' };

export const namespaceEntry: KindEntry = {
  unsupportedVerbs: ['deletecollection'],
  deleteOne: (api, _namespace, name, options, ctx) => deleteNamespace(api, name, options, ctx),
  subresources: {
    finalize: async (req, route, api) => {
      if (req.method !== 'PUT') throw errors.methodNotSupported(namespacesRef, req.method.toLowerCase());
      const dry = req.query.getAll('dryRun');
      const ns = await finalizeNamespace(api, route.name!, req.body, { dryRun: dry.length > 0, user: req.user });
      return { status: 200, body: ns, headers: { 'Content-Type': 'application/json' } };
    },
  },
};

/** Checks the caller's preconditions against the namespace, with upstream's texts. */
function checkPreconditions(ns: KubeObject, options: DeleteOptions): void {
  const name = ns.metadata.name!;
  const p = options.preconditions;
  if (p?.uid && p.uid !== ns.metadata.uid) {
    throw errors.conflict(namespacesRef, name, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${ns.metadata.uid}`);
  }
  if (p?.resourceVersion && p.resourceVersion !== ns.metadata.resourceVersion) {
    throw errors.conflict(namespacesRef, name, `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${ns.metadata.resourceVersion}`);
  }
}

async function deleteNamespace(api: ApiServer, name: string, options: DeleteOptions, ctx: WriteContext): Promise<KubeObject> {
  const kind = api.registry.resource('', 'v1', 'namespaces')!;
  if (SYSTEM_NAMESPACES.includes(name)) throw errors.forbidden(resourceRef(kind), name, 'this namespace may not be deleted');
  const current = await api.storage.get(kind, undefined, name);
  checkPreconditions(current, options);
  // the uid pins every later step to this namespace, not a namesake created meanwhile
  const pinned: DeleteOptions = { ...options, preconditions: { ...(options.preconditions ?? {}), uid: current.metadata.uid } };
  if (!(current.spec?.finalizers ?? []).length) return (await api.storage.delete(kind, undefined, name, pinned, ctx)).object;
  return api.storage.rawUpdate(kind, undefined, name, ctx, (ns) => {
    checkPreconditions(ns, pinned);
    if (ns.metadata.deletionTimestamp) return ns;
    ns.metadata.deletionTimestamp = timestamp();
    ns.metadata.deletionGracePeriodSeconds = 0;
    ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
    return ns;
  });
}

async function finalizeNamespace(api: ApiServer, name: string, body: unknown, ctx: WriteContext): Promise<KubeObject> {
  const kind = api.registry.resource('', 'v1', 'namespaces')!;
  const incoming = api.storage.checkBody(kind, body);
  return api.storage.rawUpdate(kind, undefined, name, ctx, (ns) => {
    const finalizers: string[] = isPlainObject(incoming.spec) && Array.isArray(incoming.spec.finalizers) ? incoming.spec.finalizers : [];
    ns.spec = { ...(ns.spec ?? {}), finalizers };
    if (!finalizers.length) delete ns.spec.finalizers;
    return ns;
  });
}
