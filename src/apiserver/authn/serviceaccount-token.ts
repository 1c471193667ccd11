// ServiceAccount tokens as upstream issues them: ES256 JWTs signed by a key in the data dir,
// bound to an audience list, an expiry and optionally a pod or secret, with the
// `kubernetes.io` private claims. Validation checks the signature, issuer, times and audience,
// then that the account (and the bound object) still exist with the uid the token names.
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { KubeObject } from '../../api/object.js';
import type { UserInfo } from '../../api/request.js';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** tokens stay valid a little past exp and before nbf, for clocks that differ (upstream: 60 s) */
const LEEWAY_S = 60;

export interface BoundObject {
  kind: 'Pod' | 'Secret' | 'Node';
  name: string;
  uid: string;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
    node?: { name: string; uid: string };
  };
}

/** Reads what a token's validation needs to know is still there. */
export interface TokenObjectGetter {
  serviceAccount(namespace: string, name: string): Promise<KubeObject | undefined>;
  pod(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class ServiceAccountTokens {
  private readonly key: KeyObject;
  readonly publicKey: KeyObject;
  /** the key's id: base64url of the SHA-256 of its DER public key, as upstream */
  readonly keyId: string;

  constructor(
    keyPem: string,
    readonly issuer = DEFAULT_ISSUER,
    /** what a token must be meant for to reach this API server (kube-apiserver's --api-audiences) */
    readonly apiAudiences: string[] = [issuer],
  ) {
    this.key = createPrivateKey(keyPem);
    this.publicKey = createPublicKey(this.key);
    this.keyId = b64url(createHash('sha256').update(this.publicKey.export({ type: 'spki', format: 'der' })).digest());
  }

  issue(sa: KubeObject, opts: { audiences?: string[]; expirationSeconds: number; bound?: BoundObject; node?: { name: string; uid: string }; now?: number }): { token: string; claims: TokenClaims } {
    const now = Math.floor((opts.now ?? Date.now()) / 1000);
    const ns = sa.metadata.namespace!;
    const priv: TokenClaims['kubernetes.io'] = { namespace: ns, serviceaccount: { name: sa.metadata.name!, uid: sa.metadata.uid! } };
    if (opts.bound?.kind === 'Pod') priv.pod = { name: opts.bound.name, uid: opts.bound.uid };
    if (opts.bound?.kind === 'Secret') priv.secret = { name: opts.bound.name, uid: opts.bound.uid };
    if (opts.node) priv.node = opts.node;
    const claims: TokenClaims = {
      aud: opts.audiences?.length ? opts.audiences : this.apiAudiences,
      exp: now + opts.expirationSeconds,
      iat: now,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': priv,
      nbf: now,
      sub: `system:serviceaccount:${ns}:${sa.metadata.name}`,
    };
    const signingInput = `${b64url(JSON.stringify({ alg: 'ES256', kid: this.keyId }))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(signingInput), { key: this.key, dsaEncoding: 'ieee-p1363' });
    return { token: `${signingInput}.${b64url(sig)}`, claims };
  }

  /** The claims of a token this server signed and that is still valid, or why not. */
  verifySignature(token: string, now = Date.now()): { claims: TokenClaims } | { error: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { error: 'not a JWT' };
    let header: any;
    let claims: any;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return { error: 'malformed token' };
    }
    if (header?.alg !== 'ES256' || claims?.iss !== this.issuer) return { error: 'not issued by this server' };
    const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
    if (!ok) return { error: 'invalid signature' };
    const t = Math.floor(now / 1000);
    if (typeof claims.exp !== 'number' || t > claims.exp + LEEWAY_S) return { error: 'service account token has expired' };
    if (typeof claims.nbf === 'number' && t < claims.nbf - LEEWAY_S) return { error: 'service account token is not valid yet' };
    if (!claims['kubernetes.io']?.serviceaccount?.name || !claims['kubernetes.io']?.namespace) return { error: 'service account token claims are incomplete' };
    return { claims: claims as TokenClaims };
  }

  /**
   * The user a token stands for, when it is valid for one of the audiences and everything it is
   * bound to still exists with the same uid (upstream's validator, lookup on).
   */
  async authenticate(token: string, objects: TokenObjectGetter, audiences = this.apiAudiences, now = Date.now()): Promise<{ user: UserInfo; audiences: string[] } | { error: string }> {
    const v = this.verifySignature(token, now);
    if ('error' in v) return v;
    const c = v.claims;
    const aud = Array.isArray(c.aud) ? c.aud : [c.aud as unknown as string];
    const matched = aud.filter((a) => audiences.includes(a));
    if (!matched.length) return { error: 'token audiences do not match' };
    const k = c['kubernetes.io'];
    const ns = k.namespace;
    const sa = await objects.serviceAccount(ns, k.serviceaccount.name);
    if (!sa || sa.metadata.deletionTimestamp) return { error: `service account ${ns}/${k.serviceaccount.name} has been deleted` };
    if (sa.metadata.uid !== k.serviceaccount.uid) return { error: `service account UID (${sa.metadata.uid}) does not match claim (${k.serviceaccount.uid})` };
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${c.jti}`] };
    if (k.pod) {
      const pod = await objects.pod(ns, k.pod.name);
      if (!pod || pod.metadata.deletionTimestamp) return { error: `pod ${ns}/${k.pod.name} has been deleted` };
      if (pod.metadata.uid !== k.pod.uid) return { error: `pod UID (${pod.metadata.uid}) does not match claim (${k.pod.uid})` };
      extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
    }
    if (k.secret) {
      const secret = await objects.secret(ns, k.secret.name);
      if (!secret || secret.metadata.deletionTimestamp) return { error: `secret ${ns}/${k.secret.name} has been deleted` };
      if (secret.metadata.uid !== k.secret.uid) return { error: `secret UID (${secret.metadata.uid}) does not match claim (${k.secret.uid})` };
    }
    if (k.node) {
      extra['authentication.kubernetes.io/node-name'] = [k.node.name];
      extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
    }
    return {
      user: { name: c.sub, uid: k.serviceaccount.uid, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'], extra },
      audiences: matched,
    };
  }

  /** OIDC discovery's key set (/openid/v1/jwks) */
  jwks(): { keys: unknown[] } {
    const jwk = this.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    return { keys: [{ use: 'sig', kty: jwk.kty, kid: this.keyId, crv: jwk.crv, alg: 'ES256', x: jwk.x, y: jwk.y }] };
  }
}
