// What the API server does for CertificateSigningRequests beyond the generic pipeline: it
// records who asked (spec.username/uid/groups/extra from the authenticated caller, never from
// the body, as upstream's strategy does), and serves the approval subresource through which
// Approved/Denied are set (kubectl certificate approve|deny, the csrapproving controller).
// Upstream's certificate admission plugins too: approving or denying needs the `approve` verb,
// issuing a certificate the `sign` verb, on the signer (resource `signers`, named by the
// signerName or its `<domain>/*`); nobody gets a system:masters certificate from the
// kube-apiserver-client signer.
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import type { UserInfo } from '../api/request.js';
import { parseCertificateRequest } from '../cli/pki.js';
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
      if (user.extra && Object.keys(user.extra).length) spec.extra = Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]]));
      // upstream's CertificateSubjectRestriction
      if (spec.signerName === 'kubernetes.io/kube-apiserver-client') {
        if (requestOrganizations(obj).includes('system:masters')) {
          throw errors.forbidden(resourceRef(kind), obj.metadata?.name, 'use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed');
        }
      }
    },
    async update(kind, obj, old, ctx) {
      if (kind.group !== GROUP || kind.plural !== CSRS || !ctx.user || !api.authorizer) return;
      const signerName = String(old.spec?.signerName ?? '');
      // upstream's CertificateApproval: the approval subresource, whatever it sets
      if (ctx.managerSubresource === 'approval') {
        if (!(await mayUseSigner(api, ctx.user, 'approve', signerName))) {
          throw errors.forbidden(resourceRef(kind), old.metadata.name, `user not permitted to approve requests with signerName ${JSON.stringify(signerName)}`);
        }
        return;
      }
      // upstream's CertificateSigning: a status write that sets or changes the certificate
      if (certificateOf(obj) !== certificateOf(old) && certificateOf(obj) !== undefined) {
        if (!(await mayUseSigner(api, ctx.user, 'sign', signerName))) {
          throw errors.forbidden(resourceRef(kind), old.metadata.name, `user not permitted to sign requests with signerName ${JSON.stringify(signerName)}`);
        }
      }
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

function certificateOf(csr: KubeObject): string | undefined {
  const c = csr.status?.certificate;
  return typeof c === 'string' && c !== '' ? c : undefined;
}

/** upstream's IsAuthorizedForSignerName: the verb on signers/<signerName>, else on signers/<domain>/*. */
async function mayUseSigner(api: ApiServer, user: UserInfo, verb: string, signerName: string): Promise<boolean> {
  const authorizer = api.authorizer;
  if (!authorizer) return true;
  const ask = async (name: string) =>
    (await authorizer.authorize({ user, verb, resourceRequest: true, path: '', apiGroup: GROUP, apiVersion: '*', resource: 'signers', subresource: '', namespace: '', name })).decision === 'allow';
  if (await ask(signerName)) return true;
  const slash = signerName.indexOf('/');
  return slash > 0 && (await ask(`${signerName.slice(0, slash)}/*`));
}

/** The subject organizations of a CSR's request ([] when it does not parse: validation says why). */
function requestOrganizations(csr: KubeObject): string[] {
  try {
    return parseCertificateRequest(Buffer.from(String(csr.spec?.request ?? ''), 'base64').toString('latin1')).organizations;
  } catch {
    return [];
  }
}
