// Bootstrap tokens (upstream's --enable-bootstrap-token-auth): a bearer token "<id>.<secret>"
// is valid while the Secret kube-system/bootstrap-token-<id> of type
// bootstrap.kubernetes.io/token holds that secret, allows authentication and has not expired.
// The caller is system:bootstrap:<id> in system:bootstrappers plus the token's extra groups:
// enough to post a CertificateSigningRequest for its node (TLS bootstrap), nothing more.
import { timingSafeEqual } from 'node:crypto';
import type { UserInfo } from '../../api/request.js';
import type { ApiServer } from '../handler.js';

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

/** Decides whether a token is a live bootstrap token, given the Secret its id names (data decoded). */
export function bootstrapTokenUser(token: string, secret: { type?: string; deleting?: boolean; data: Record<string, string> } | undefined, now = Date.now()): UserInfo | undefined {
  const m = TOKEN.exec(token);
  if (!m || !secret || secret.deleting || secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) return undefined;
  const [, id, tokenSecret] = m;
  const d = secret.data;
  if (d['token-id'] !== id) return undefined;
  const stored = Buffer.from(d['token-secret'] ?? '');
  const given = Buffer.from(tokenSecret);
  if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined;
  if (d.expiration) {
    const expires = Date.parse(d.expiration);
    if (!Number.isFinite(expires) || expires <= now) return undefined;
  }
  if (d['usage-bootstrap-authentication'] !== 'true') return undefined;
  const extra = (d['auth-extra-groups'] ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  // upstream ignores the whole token when an extra group is outside system:bootstrappers:
  if (extra.some((g) => !g.startsWith(`${BOOTSTRAPPERS_GROUP}:`))) return undefined;
  return { name: `system:bootstrap:${id}`, groups: [BOOTSTRAPPERS_GROUP, ...extra] };
}

/** A token authenticator over the API server's own storage. */
export function bootstrapTokenAuthenticator(api: ApiServer): (token: string) => Promise<UserInfo | undefined> {
  const secrets = api.registry.resource('', 'v1', 'secrets')!;
  return async (token) => {
    const m = TOKEN.exec(token);
    if (!m) return undefined;
    const obj = await api.storage.tryGet(secrets, 'kube-system', `${BOOTSTRAP_TOKEN_SECRET_PREFIX}${m[1]}`).catch(() => undefined);
    if (!obj) return undefined;
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) data[k] = Buffer.from(v, 'base64').toString('utf8');
    return bootstrapTokenUser(token, { type: obj.type, deleting: !!obj.metadata.deletionTimestamp, data });
  };
}
