// What an authorizer is asked: upstream's RequestInfo (verb, API group, resource,
// subresource, namespace, name, or a non-resource path) read from a request's method, path and
// query, and the 403 Forbidden answer in upstream's words.
import { ApiError } from '../../api/errors.js';
import type { UserInfo } from '../../api/request.js';

export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** non-resource requests */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export type Decision = 'allow' | 'deny' | 'no-opinion';

export interface AuthorizerAnswer {
  decision: Decision;
  /** why, in upstream's words ("" when there is nothing to say) */
  reason: string;
}

/** Namespace subresources that are not resources in their own right (/namespaces/x/status). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * upstream's RequestInfoFactory: /api/v1/... and /apis/<group>/<version>/... with at least a
 * resource are resource requests; everything else (/api, /apis/apps, /healthz) is a
 * non-resource request whose verb is the lower-cased method.
 */
export function requestAttributes(user: UserInfo, method: string, path: string, query: URLSearchParams): Attributes {
  const base: Attributes = { user, verb: method.toLowerCase(), resourceRequest: false, path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
  let parts: string[];
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return base;
  }
  let group = '';
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) [version, rest] = [parts[1], parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
  else return base;

  let verb = '';
  switch (method.toUpperCase()) {
    case 'POST':
      verb = 'create';
      break;
    case 'GET':
    case 'HEAD':
      verb = 'get';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = 'delete';
      break;
    default:
      verb = '';
  }
  if (rest[0] === 'watch') {
    rest = rest.slice(1);
    if (verb === 'get') verb = 'watch';
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) rest = rest.slice(2);
  }
  const attrs: Attributes = {
    ...base,
    resourceRequest: true,
    apiGroup: group,
    apiVersion: version,
    namespace,
    resource: rest[0] ?? '',
    name: rest[1] ?? '',
    subresource: rest.length >= 3 ? rest[2] : '',
    verb,
  };
  if (!attrs.name && verb === 'get') attrs.verb = ['true', '1'].includes((query.get('watch') ?? '').toLowerCase()) ? 'watch' : 'list';
  if (!attrs.name && verb === 'delete') attrs.verb = 'deletecollection';
  // a list or watch limited to one name by field selector is asked about that name, as upstream does
  if ((attrs.verb === 'list' || attrs.verb === 'watch') && !attrs.name) {
    const m = /(?:^|,)metadata\.name==?([^,]+)(?:,|$)/.exec(query.get('fieldSelector') ?? '');
    if (m) attrs.name = m[1];
  }
  return attrs;
}

/** upstream's forbiddenMessage */
export function forbiddenMessage(a: Attributes): string {
  const user = a.user.name;
  if (!a.resourceRequest) return `User ${JSON.stringify(user)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (a.namespace) return `User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} in the namespace ${JSON.stringify(a.namespace)}`;
  return `User ${JSON.stringify(user)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} at the cluster scope`;
}

/** upstream's responsewriters.Forbidden: NewForbidden(group-resource, name, message[: reason]) */
export function forbidden(a: Attributes, reason: string): ApiError {
  const msg = reason ? `${forbiddenMessage(a)}: ${reason}` : forbiddenMessage(a);
  const qualified = a.resource ? (a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource) : '';
  const message = !qualified ? `forbidden: ${msg}` : a.name ? `${qualified} ${JSON.stringify(a.name)} is forbidden: ${msg}` : `${qualified} is forbidden: ${msg}`;
  const details: Record<string, string> = {};
  if (a.name) details.name = a.name;
  if (a.apiGroup) details.group = a.apiGroup;
  if (a.resource) details.kind = a.resource;
  return new ApiError(403, 'Forbidden', message, details as never);
}
