// Impersonation (kubectl --as, --as-group, --as-uid): the Impersonate-* headers make a request
// act as another user, when the caller may `impersonate` users (or serviceaccounts), each group,
// the uid and each extra value — upstream's WithImpersonation filter, in its words.
import { errors } from '../../api/errors.js';
import type { UserInfo } from '../../api/request.js';
import { forbidden, type Attributes } from './attributes.js';
import type { Authorizer } from './authorizer.js';

const SA_PREFIX = 'system:serviceaccount:';

/** the headers' values (a header given several times arrives joined with ", " from Node's parser, except Impersonate-Group which we split) */
export interface ImpersonationHeaders {
  user?: string;
  groups: string[];
  uid?: string;
  extra: Record<string, string[]>;
}

export function impersonationHeaders(headers: Record<string, string | string[] | undefined>): ImpersonationHeaders | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const many = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : v.split(',').map((s) => s.trim()).filter(Boolean));
  const extra: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!k.startsWith('impersonate-extra-')) continue;
    let key: string;
    try {
      key = decodeURIComponent(k.slice('impersonate-extra-'.length));
    } catch {
      throw errors.badRequest(`invalid Impersonate-Extra header ${JSON.stringify(k)}: not percent-encoded`);
    }
    extra[key] = many(v);
  }
  const user = one(headers['impersonate-user']);
  const groups = many(headers['impersonate-group']);
  const uid = one(headers['impersonate-uid']);
  if (user === undefined && !groups.length && uid === undefined && !Object.keys(extra).length) return undefined;
  return { user, groups, uid, extra };
}

/** Checks each thing asked for and answers the user the request then acts as. */
export async function impersonate(authorizer: Authorizer, caller: UserInfo, h: ImpersonationHeaders): Promise<UserInfo> {
  if (!h.user) throw errors.badRequest(`requested impersonation of groups, uid or extra without impersonating a user`);
  const check = async (resource: string, name: string, namespace = '', apiGroup = '', subresource = '') => {
    const a: Attributes = { user: caller, verb: 'impersonate', resourceRequest: true, path: '', apiGroup, apiVersion: '', resource, subresource, namespace, name };
    const answer = await authorizer.authorize(a);
    if (answer.decision !== 'allow') throw forbidden(a, answer.reason);
  };
  let groups: string[] = [];
  if (h.user.startsWith(SA_PREFIX)) {
    const [ns, name] = h.user.slice(SA_PREFIX.length).split(':');
    if (!ns || !name) throw errors.badRequest(`invalid service account username ${JSON.stringify(h.user)}`);
    await check('serviceaccounts', name, ns);
    if (!h.groups.length) groups = ['system:serviceaccounts', `system:serviceaccounts:${ns}`];
  } else {
    await check('users', h.user);
  }
  for (const g of h.groups) await check('groups', g);
  groups.push(...h.groups);
  if (h.uid !== undefined) await check('uids', h.uid, '', 'authentication.k8s.io');
  for (const [key, values] of Object.entries(h.extra)) for (const v of values) await check('userextras', v, '', 'authentication.k8s.io', key);
  if (h.user !== 'system:anonymous' && !groups.includes('system:authenticated')) groups.push('system:authenticated');
  const out: UserInfo = { name: h.user, groups };
  if (h.uid !== undefined) out.uid = h.uid;
  if (Object.keys(h.extra).length) out.extra = h.extra;
  return out;
}
