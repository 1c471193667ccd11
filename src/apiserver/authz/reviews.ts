// The review resources: posted, answered by the authorizer (or the authenticator), never
// stored. SelfSubjectAccessReview (`kubectl auth can-i`), SubjectAccessReview,
// LocalSubjectAccessReview, SelfSubjectRulesReview (`can-i --list`) and
// authentication.k8s.io's SelfSubjectReview (`kubectl auth whoami`).
import { errors } from '../../api/errors.js';
import { isPlainObject, type KubeObject } from '../../api/object.js';
import { resourceRef, type AnyKindDef } from '../../api/registry.js';
import type { ApiRequest, ApiResponse, UserInfo } from '../../api/request.js';
import { field, type FieldError } from '../../api/validation.js';
import type { ApiServer, ResourceRoute } from '../handler.js';
import { entryKey, type KindEntry, type Verb } from '../resource-table.js';
import type { Attributes } from './attributes.js';

const ALL_BUT_CREATE: Verb[] = ['delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

type Answer = (api: ApiServer, review: KubeObject, user: UserInfo, route: ResourceRoute) => Promise<KubeObject>;

function reviewEntry(answer: Answer): KindEntry {
  return {
    unsupportedVerbs: ALL_BUT_CREATE,
    async create(api: ApiServer, req: ApiRequest, route: ResourceRoute): Promise<ApiResponse> {
      const body = req.body;
      if (!isPlainObject(body)) throw errors.badRequest('the request body is not an object');
      const review = body as KubeObject;
      review.metadata ??= {};
      const user = req.user ?? { name: '', groups: [] };
      const out = await answer(api, review, user, route);
      return { status: 201, body: { ...out, apiVersion: `${route.kind.group}/v1`, kind: route.kind.kind } };
    },
  };
}

function invalid(kind: AnyKindDef, errs: FieldError[]): never {
  throw errors.invalid(resourceRef(kind), '', errs);
}

/** the attributes a review's spec asks about, for the given user */
function specAttributes(kind: AnyKindDef, spec: Record<string, any>, user: UserInfo): Attributes {
  const ra = spec.resourceAttributes;
  const na = spec.nonResourceAttributes;
  if (ra && na) invalid(kind, [field.invalid('spec.nonResourceAttributes', na, 'cannot be specified in combination with resourceAttributes')]);
  if (!ra && !na) invalid(kind, [field.invalid('spec.resourceAttributes', null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified')]);
  if (na) {
    return { user, verb: String(na.verb ?? ''), resourceRequest: false, path: String(na.path ?? ''), apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
  }
  return {
    user,
    verb: String(ra.verb ?? ''),
    resourceRequest: true,
    path: '',
    apiGroup: String(ra.group ?? ''),
    apiVersion: String(ra.version ?? ''),
    resource: String(ra.resource ?? ''),
    subresource: String(ra.subresource ?? ''),
    namespace: String(ra.namespace ?? ''),
    name: String(ra.name ?? ''),
  };
}

async function decide(api: ApiServer, a: Attributes): Promise<Record<string, unknown>> {
  if (!api.authorizer) return { allowed: true };
  const answer = await api.authorizer.authorize(a);
  const status: Record<string, unknown> = { allowed: answer.decision === 'allow' };
  if (answer.decision === 'deny') status.denied = true;
  if (answer.reason) status.reason = answer.reason;
  return status;
}

const selfSubjectAccessReview: Answer = async (api, review, user, route) => {
  const a = specAttributes(route.kind, review.spec ?? {}, user);
  return { ...review, status: await decide(api, a) };
};

/** the user a SubjectAccessReview names */
function specUser(kind: AnyKindDef, spec: Record<string, any>): UserInfo {
  const name = String(spec.user ?? '');
  const groups = Array.isArray(spec.groups) ? spec.groups.map(String) : [];
  if (!name && !groups.length) invalid(kind, [field.invalid('spec.user', name, 'at least one of user or group must be specified')]);
  const user: UserInfo = { name, groups };
  if (spec.uid) user.uid = String(spec.uid);
  if (spec.extra && typeof spec.extra === 'object') user.extra = Object.fromEntries(Object.entries(spec.extra).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : []]));
  return user;
}

const subjectAccessReview: Answer = async (api, review, _user, route) => {
  const spec = review.spec ?? {};
  const subject = specUser(route.kind, spec);
  return { ...review, status: await decide(api, specAttributes(route.kind, spec, subject)) };
};

const localSubjectAccessReview: Answer = async (api, review, _user, route) => {
  const spec = review.spec ?? {};
  const namespace = route.namespace ?? '';
  if (review.metadata.namespace && review.metadata.namespace !== namespace) {
    throw errors.badRequest(`namespace of the object (${review.metadata.namespace}) does not match the namespace on the request (${namespace})`);
  }
  if (spec.resourceAttributes && (spec.resourceAttributes.namespace ?? '') !== namespace) {
    throw errors.badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
  }
  if (spec.nonResourceAttributes) throw errors.badRequest('disallowed on this kind of request');
  const subject = specUser(route.kind, spec);
  return { ...review, metadata: { ...review.metadata, namespace }, status: await decide(api, specAttributes(route.kind, spec, subject)) };
};

const selfSubjectRulesReview: Answer = async (api, review, user) => {
  const namespace = String(review.spec?.namespace ?? '');
  const held = api.authorizer ? await api.authorizer.rulesFor(user, namespace) : { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }], errors: [] };
  const resourceRules = held.rules
    .filter((r) => !r.nonResourceURLs?.length)
    .map((r) => ({ verbs: r.verbs ?? [], apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) }));
  const nonResourceRules = held.rules.filter((r) => r.nonResourceURLs?.length).map((r) => ({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs! }));
  const status: Record<string, unknown> = { resourceRules, nonResourceRules, incomplete: 'incomplete' in held ? held.incomplete === true : false };
  if (held.errors.length) status.evaluationError = held.errors.join(', ');
  return { ...review, status };
};

const selfSubjectReview: Answer = async (_api, review, user) => {
  const userInfo: Record<string, unknown> = { username: user.name };
  if (user.uid) userInfo.uid = user.uid;
  if (user.groups.length) userInfo.groups = user.groups;
  if (user.extra && Object.keys(user.extra).length) userInfo.extra = user.extra;
  return { ...review, status: { userInfo } };
};

const tokenReview: Answer = async (api, review) => {
  const spec = review.spec ?? {};
  const token = String(spec.token ?? '');
  const audiences = Array.isArray(spec.audiences) ? spec.audiences.map(String) : [];
  const status: Record<string, unknown> = { user: {} };
  const r = token && api.tokenReviewer ? await api.tokenReviewer(token, audiences) : { error: token ? 'token authentication is not configured' : 'token is empty' };
  if ('error' in r) {
    status.authenticated = false;
    status.error = r.error;
  } else {
    status.authenticated = true;
    const u: Record<string, unknown> = { username: r.user.name, groups: r.user.groups };
    if (r.user.uid) u.uid = r.user.uid;
    status.user = u;
    status.audiences = r.audiences;
  }
  return { ...review, status };
};

export const REVIEW_ENTRIES: Array<[string, KindEntry]> = [
  [entryKey('authorization.k8s.io', 'selfsubjectaccessreviews'), reviewEntry(selfSubjectAccessReview)],
  [entryKey('authorization.k8s.io', 'subjectaccessreviews'), reviewEntry(subjectAccessReview)],
  [entryKey('authorization.k8s.io', 'localsubjectaccessreviews'), reviewEntry(localSubjectAccessReview)],
  [entryKey('authorization.k8s.io', 'selfsubjectrulesreviews'), reviewEntry(selfSubjectRulesReview)],
  [entryKey('authentication.k8s.io', 'selfsubjectreviews'), reviewEntry(selfSubjectReview)],
  [entryKey('authentication.k8s.io', 'tokenreviews'), reviewEntry(tokenReview)],
];
