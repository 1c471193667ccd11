// What the API server does for CertificateSigningRequests beyond the generic pipeline: it
// records who asked (spec.username/uid/groups/extra from the authenticated caller, never from
// the body, as upstream's strategy does), and serves the approval subresource through which
// Approved/Denied are set (kubectl certificate approve|deny, the csrapproving controller).
import { errors } from '../api/errors.js';
import { isPlainObject } from '../api/object.js';
import { resourceRef } from '../api/registry.js';
import { managerName } from '../api/managedfields/index.js';
import { json, type ApiServer } from './handler.js';

const CSRS = 'certificatesigningrequests';
const GROUP = 'certificates.k8s.io';

export function installCertificates(api: ApiServer): void {
  api.storage.admission.push({
    async create(kind, obj, ctx) {
      if (kind.group !== GROUP || kind.plural !== CSRS) return;
      const user = ctx.user;
      const spec = (obj.spec ??= {});
      delete spec.username;
      delete spec.uid;
      delete spec.groups;
      delete spec.extra;
      if (!user) return;
      spec.username = user.name;
      if (user.uid) spec.uid = user.uid;
      if (user.groups.length) spec.groups = [...user.groups];
      // spec.extra (map of ExtraValue) is not in petset's schema yet: the caller's extra attributes are not recorded
    },
  });

  api.addSubresource(`${GROUP}/${CSRS}/approval`, async (req, route, server) => {
    const kind = route.kind;
    const name = route.name;
    if (!name) throw errors.notFound(resourceRef(kind), '');
    if (req.method === 'GET') return json(200, await server.storage.get(kind, undefined, name));
    if (req.method !== 'PUT') throw errors.methodNotSupported(resourceRef(kind), req.method.toLowerCase());
    if (!isPlainObject(req.body)) throw errors.badRequest('the request body must be a CertificateSigningRequest');
    const dry = req.query.getAll('dryRun').length > 0;
    // stored like a status write; the kind's prepareForStatusUpdate keeps everything but Approved/Denied
    const updated = await server.storage.update(kind, undefined, name, req.body, { user: req.user, dryRun: dry, managerSubresource: 'approval', fieldManager: managerName(req.query.get('fieldManager'), req.headers['user-agent']), warnings: [] }, 'status');
    return json(200, updated);
  });
}
