// The ServiceAccount token API (and the admission that mounts tokens in pods): serviceaccounts/<name>/token (TokenRequest, `kubectl create
// token`), TokenReview, and OIDC discovery (/.well-known/openid-configuration, /openid/v1/jwks)
// so that others can check the tokens. Validation errors are upstream's texts.
import { ApiError, errors } from '../../api/errors.js';
import { isPlainObject, type KubeObject } from '../../api/object.js';
import { resourceRef } from '../../api/registry.js';
import type { ApiRequest, ApiResponse, UserInfo } from '../../api/request.js';
import { field, type FieldError } from '../../api/validation.js';
import type { ApiServer, ResourceRoute } from '../handler.js';
import { serviceAccountAdmission } from './serviceaccount-admission.js';
import { ServiceAccountTokens, type BoundObject, type TokenObjectGetter } from './serviceaccount-token.js';

const DEFAULT_EXPIRATION_S = 3600;
const MIN_EXPIRATION_S = 600;
const MAX_EXPIRATION_S = 2 ** 32;

/** Installs the token API on the server; answers the bearer-token authenticator of ServiceAccount tokens. */
export function installServiceAccountTokens(api: ApiServer, keyPem: string): (token: string) => Promise<UserInfo | undefined> {
  const tokens = new ServiceAccountTokens(keyPem);
  const kind = (plural: string) => api.registry.resource('', 'v1', plural)!;
  const objects: TokenObjectGetter = {
    serviceAccount: (ns, name) => api.storage.tryGet(kind('serviceaccounts'), ns, name),
    pod: (ns, name) => api.storage.tryGet(kind('pods'), ns, name),
    secret: (ns, name) => api.storage.tryGet(kind('secrets'), ns, name),
  };
  api.storage.admission.push(serviceAccountAdmission(api.storage));
  api.addSubresource('serviceaccounts/token', (req, route) => tokenRequest(api, tokens, req, route));
  api.tokenReviewer = async (token, audiences) => {
    const r = await tokens.authenticate(token, objects, audiences?.length ? audiences : undefined);
    return 'error' in r ? { error: r.error } : r;
  };
  const issuer = tokens.issuer;
  api.nonResourcePaths.set('/.well-known/openid-configuration', () => ({
    status: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' },
    body: {
      issuer,
      jwks_uri: `${api.options.serverAddress ? `https://${api.options.serverAddress}` : issuer}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    },
  }));
  api.nonResourcePaths.set('/openid/v1/jwks', () => ({ status: 200, headers: { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': 'public, max-age=3600' }, body: tokens.jwks() }));
  return async (token) => {
    const r = await tokens.authenticate(token, objects);
    return 'error' in r ? undefined : r.user;
  };
}

async function tokenRequest(api: ApiServer, tokens: ServiceAccountTokens, req: ApiRequest, route: ResourceRoute): Promise<ApiResponse> {
  if (route.namespace === undefined || !route.name || route.subpath) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (req.method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  const namespace = route.namespace;
  const name = route.name;
  const body = req.body;
  if (!isPlainObject(body)) throw errors.badRequest('the body of the request must be a JSON or YAML object');
  const tr = body as KubeObject;
  if (tr.kind !== undefined && tr.kind !== 'TokenRequest') throw errors.badRequest(`the kind in the data (${tr.kind}) does not match the expected kind (TokenRequest)`);
  const spec: Record<string, any> = isPlainObject(tr.spec) ? tr.spec : {};
  const trRef = { group: 'authentication.k8s.io', resource: 'tokenrequests', kind: 'TokenRequest' };
  const expirationSeconds = spec.expirationSeconds === undefined || spec.expirationSeconds === null ? DEFAULT_EXPIRATION_S : Number(spec.expirationSeconds);
  const errs: FieldError[] = [];
  if (!Number.isInteger(expirationSeconds)) errs.push(field.invalid('spec.expirationSeconds', spec.expirationSeconds, 'must be an integer'));
  else if (expirationSeconds < MIN_EXPIRATION_S) errs.push(field.invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration less than 10 minutes'));
  else if (expirationSeconds > MAX_EXPIRATION_S) errs.push(field.invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration larger than 2^32 seconds'));
  if (errs.length) throw errors.invalid(trRef, name, errs);

  const sa = await api.storage.get(route.kind, namespace, name);
  let bound: BoundObject | undefined;
  let node: { name: string; uid: string } | undefined;
  const ref = isPlainObject(spec.boundObjectRef) ? (spec.boundObjectRef as Record<string, any>) : undefined;
  if (ref) {
    const kinds: Record<string, string> = { Pod: 'pods', Secret: 'secrets' };
    const plural = kinds[ref.kind];
    if (!plural) throw errors.badRequest(`cannot bind token for object of kind ${JSON.stringify(ref.kind ?? '')} (supported: "Pod", "Secret")`);
    const objKind = api.registry.resource('', 'v1', plural)!;
    const obj = await api.storage.tryGet(objKind, namespace, String(ref.name ?? ''));
    if (!obj) throw errors.notFound(resourceRef(objKind), String(ref.name ?? ''));
    if (ref.uid && ref.uid !== obj.metadata.uid) {
      throw errors.conflict(resourceRef(objKind), String(ref.name), `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
    }
    bound = { kind: ref.kind, name: obj.metadata.name!, uid: obj.metadata.uid! };
    // a pod-bound token also names the pod's node, as upstream does
    if (ref.kind === 'Pod' && obj.spec?.nodeName) {
      const n = await api.storage.tryGet(api.registry.resource('', 'v1', 'nodes')!, undefined, obj.spec.nodeName);
      if (n) node = { name: n.metadata.name!, uid: n.metadata.uid! };
    }
    // a node may ask only for tokens bound to its own pods (NodeRestriction)
    const nodeUser = req.user?.groups.includes('system:nodes') && req.user.name.startsWith('system:node:') ? req.user.name.slice('system:node:'.length) : undefined;
    if (nodeUser && (ref.kind !== 'Pod' || obj.spec?.nodeName !== nodeUser)) {
      throw errors.forbidden(resourceRef(route.kind), name, `node requested token bound to a pod scheduled on a different node`);
    }
  } else if (req.user?.groups.includes('system:nodes')) {
    throw errors.forbidden(resourceRef(route.kind), name, 'node requested token not bound to a pod');
  }
  const audiences = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences.map(String) : tokens.apiAudiences;
  const { token, claims } = tokens.issue(sa, { audiences, expirationSeconds, bound, node });
  const out: KubeObject = {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace, creationTimestamp: null },
    spec: { audiences, expirationSeconds, boundObjectRef: ref ?? null },
    status: { token, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
  };
  return { status: 201, body: out, headers: { 'Content-Type': 'application/json' } };
}
