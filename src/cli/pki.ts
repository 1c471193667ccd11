// Certificates for `petset up`: a CA, the API server's serving certificate and client
// certificates. Node's crypto makes keys and signatures but cannot build X.509, so the
// certificates are assembled here in DER by hand; kubectl (Go's crypto/x509, strict DER)
// and Node's TLS both have to accept them.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface CertKeyPair {
  certPem: string;
  keyPem: string;
}

export interface ServingCertOptions {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  validityDays?: number;
}

export interface ClientCertOptions {
  commonName: string;
  /** become the user's groups in Kubernetes' client-certificate authentication */
  organizations?: string[];
  validityDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Tolerates clocks of other machines that lag a little behind ours. */
const BACKDATE_MS = 60 * 60 * 1000;

const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

/** Bit positions of RFC 5280's KeyUsage. */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };

export function createCA(commonName: string, validityDays = 3650): CertKeyPair {
  const { publicKey, privateKey } = newKeyPair();
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subject = name([[OID.commonName, commonName]]);
  const extensions = [
    extension(OID.basicConstraints, true, seq(bool(true))),
    extension(OID.keyUsage, true, keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
    extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(spki))),
  ];
  const cert = certificate({ issuer: subject, subject, spki, validityDays, extensions, signer: privateKey });
  return { certPem: pem('CERTIFICATE', cert), keyPem: privateKeyPem(privateKey) };
}

export function createServingCert(ca: CertKeyPair, opts: ServingCertOptions): CertKeyPair {
  const altNames = [
    ...(opts.dnsNames ?? []).map((d) => der(0x82, Buffer.from(d, 'ascii'))),
    ...(opts.ipAddresses ?? []).map((ip) => der(0x87, ipBytes(ip))),
  ];
  return leaf(ca, {
    rdns: [[OID.commonName, opts.commonName]],
    validityDays: opts.validityDays ?? 365,
    purpose: OID.serverAuth,
    extra: altNames.length ? [extension(OID.subjectAltName, false, seq(...altNames))] : [],
  });
}

export function createClientCert(ca: CertKeyPair, opts: ClientCertOptions): CertKeyPair {
  const orgs = (opts.organizations ?? []).map((o): [string, string] => [OID.organization, o]);
  return leaf(ca, {
    rdns: [...orgs, [OID.commonName, opts.commonName]],
    validityDays: opts.validityDays ?? 365,
    purpose: OID.clientAuth,
    extra: [],
  });
}

interface LeafParts {
  rdns: [string, string][];
  validityDays: number;
  /** the extended key usage */
  purpose: string;
  extra: Buffer[];
}

function leaf(ca: CertKeyPair, p: LeafParts): CertKeyPair {
  const { publicKey, privateKey } = newKeyPair();
  const issuer = readIssuer(ca.certPem);
  const extensions = [
    extension(OID.basicConstraints, true, seq()),
    extension(OID.keyUsage, true, keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment])),
    extension(OID.extKeyUsage, false, seq(oid(p.purpose))),
    extension(OID.authorityKeyIdentifier, false, seq(der(0x80, issuer.keyId))),
    ...p.extra,
  ];
  const cert = certificate({
    issuer: issuer.subject,
    subject: name(p.rdns),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    validityDays: p.validityDays,
    extensions,
    signer: createPrivateKey(ca.keyPem),
  });
  return { certPem: pem('CERTIFICATE', cert), keyPem: privateKeyPem(privateKey) };
}

function newKeyPair() {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'sec1', format: 'pem' }) as string;
}

interface CertificateParts {
  issuer: Buffer;
  subject: Buffer;
  spki: Buffer;
  validityDays: number;
  extensions: Buffer[];
  signer: KeyObject;
  /** how far before now notBefore lies (default an hour, for clocks a little behind) */
  backdateMs?: number;
}

function certificate(p: CertificateParts): Buffer {
  if (p.signer.asymmetricKeyType !== 'ec') throw new Error(`the CA key must be an EC key, not ${p.signer.asymmetricKeyType}`);
  const now = Date.now();
  const algorithm = seq(oid(OID.ecdsaWithSHA256));
  const tbs = seq(
    der(0xa0, integer(Buffer.from([2]))), // v3
    integer(serialNumber()),
    algorithm,
    p.issuer,
    seq(time(new Date(now - (p.backdateMs ?? BACKDATE_MS))), time(new Date(now + p.validityDays * DAY_MS))),
    p.subject,
    p.spki,
    der(0xa3, seq(...p.extensions)),
  );
  return seq(tbs, algorithm, bitString(sign('sha256', tbs, p.signer)));
}

/** 16 random bytes, positive and without a leading zero byte, as RFC 5280 and Go want. */
function serialNumber(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x40;
  return b;
}

/** The issuer's subject exactly as encoded (chains are matched byte for byte) and its key identifier. */
function readIssuer(certPem: string): { subject: Buffer; keyId: Buffer } {
  const raw = new X509Certificate(certPem).raw;
  const tbs = children(raw, children(raw, node(raw, 0))[0]);
  const skip = tbs[0].tag === 0xa0 ? 1 : 0;
  const subject = tbs[skip + 4];
  const spki = tbs[skip + 5];
  const exts = tbs.find((n) => n.tag === 0xa3);
  let keyId: Buffer | undefined;
  if (exts) {
    for (const ext of children(raw, children(raw, exts)[0])) {
      const parts = children(raw, ext);
      const id = parts[0];
      if (raw.subarray(id.start, id.end).equals(oid(OID.subjectKeyIdentifier))) {
        const inner = node(raw, parts[parts.length - 1].contentStart);
        keyId = raw.subarray(inner.contentStart, inner.end);
      }
    }
  }
  return {
    subject: raw.subarray(subject.start, subject.end),
    keyId: keyId ?? keyIdentifier(raw.subarray(spki.start, spki.end)),
  };
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spkiDer: Buffer): Buffer {
  const bits = children(spkiDer, node(spkiDer, 0))[1];
  return createHash('sha1').update(spkiDer.subarray(bits.contentStart + 1, bits.end)).digest();
}

function ipBytes(ip: string): Buffer {
  const addr = ip.replace(/%.*$/, '');
  const family = isIP(addr);
  if (family === 4) return Buffer.from(addr.split('.').map(Number));
  if (family !== 6) throw new Error(`not an IP address: ${ip}`);
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = addr.indexOf('::');
  const head = groups(gap < 0 ? addr : addr.slice(0, gap));
  const tail = gap < 0 ? [] : groups(addr.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/* ---------- DER ---------- */

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const seq = (...content: Buffer[]) => der(0x30, ...content);
const bool = (v: boolean) => der(0x01, Buffer.from([v ? 0xff : 0x00]));
const octets = (b: Buffer) => der(0x04, b);
const bitString = (b: Buffer) => der(0x03, Buffer.from([0]), b);

/** A non-negative INTEGER from its big-endian magnitude, in minimal form. */
function integer(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  return der(0x02, trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [];
  for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/** UTCTime through 2049, GeneralizedTime after, both to the second in UTC, as RFC 5280 demands. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? der(0x17, Buffer.from(iso.slice(2), 'ascii')) : der(0x18, Buffer.from(iso, 'ascii'));
}

function name(rdns: [string, string][]): Buffer {
  return seq(...rdns.map(([type, value]) => der(0x31, seq(oid(type), der(0x0c, Buffer.from(value, 'utf8'))))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

/** A BIT STRING with trailing zero bits dropped, as DER requires for named bit lists. */
function keyUsage(bits: number[]): Buffer {
  const last = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1);
  for (const b of bits) bytes[b >> 3] |= 0x80 >> (b & 7);
  return der(0x03, Buffer.from([7 - (last & 7)]), bytes);
}

interface DerNode {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function node(buf: Buffer, start: number): DerNode {
  let len = buf[start + 1];
  let p = start + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
  }
  return { tag: buf[start], start, contentStart: p, end: p + len };
}

function children(buf: Buffer, parent: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let p = parent.contentStart; p < parent.end; ) {
    const n = node(buf, p);
    out.push(n);
    p = n.end;
  }
  return out;
}

/* ---------- certificate signing requests (PKCS #10), for node bootstrap ---------- */

const CSR_OID = {
  extensionRequest: '1.2.840.113549.1.9.14',
};

/** A new key and a PKCS #10 request for it, with this subject (what a kubelet sends when it bootstraps). */
export function createCertificateRequest(subject: { commonName: string; organizations?: string[] }): { csrPem: string; keyPem: string } {
  const { publicKey, privateKey } = newKeyPair();
  const orgs = (subject.organizations ?? []).map((o): [string, string] => [OID.organization, o]);
  const info = seq(
    integer(Buffer.from([0])),
    name([...orgs, [OID.commonName, subject.commonName]]),
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa0), // no attributes
  );
  const csr = seq(info, seq(oid(OID.ecdsaWithSHA256)), bitString(sign('sha256', info, privateKey)));
  return { csrPem: pem('CERTIFICATE REQUEST', csr), keyPem: privateKeyPem(privateKey) };
}

export interface ParsedCertificateRequest {
  /** the subject exactly as encoded, copied into the certificate */
  subjectDer: Buffer;
  spkiDer: Buffer;
  commonName?: string;
  organizations: string[];
  /** the request asks for extensions (SANs and the like), which a node client certificate must not have */
  requestsExtensions: boolean;
}

/**
 * Reads a PEM CERTIFICATE REQUEST and checks its signature against its own key (proof that the
 * requester holds the private key); throws with a reason for anything else.
 */
export function parseCertificateRequest(pemText: string): ParsedCertificateRequest {
  const m = /-----BEGIN CERTIFICATE REQUEST-----([\s\S]*?)-----END CERTIFICATE REQUEST-----/.exec(pemText);
  if (!m) throw new Error('PEM block type must be CERTIFICATE REQUEST');
  const raw = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  let parts: DerNode[];
  let info: DerNode[];
  try {
    const top = node(raw, 0);
    if (top.tag !== 0x30 || top.end !== raw.length) throw new Error();
    parts = children(raw, top);
    info = children(raw, parts[0]);
    if (parts.length !== 3 || info.length < 3 || parts[2].tag !== 0x03) throw new Error();
  } catch {
    throw new Error('asn1: structure error: not a PKCS #10 certificate request');
  }
  const spkiDer = raw.subarray(info[2].start, info[2].end);
  const signature = raw.subarray(parts[2].contentStart + 1, parts[2].end);
  let ok = false;
  try {
    const key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
    ok = verify('sha256', raw.subarray(parts[0].start, parts[0].end), key, signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error('x509: ECDSA verification failure');
  const organizations: string[] = [];
  let commonName: string | undefined;
  for (const rdn of children(raw, info[1])) {
    for (const atv of children(raw, rdn)) {
      const [type, value] = children(raw, atv);
      const id = raw.subarray(type.start, type.end);
      const text = raw.subarray(value.contentStart, value.end).toString('utf8');
      if (id.equals(oid(OID.commonName))) commonName = text;
      else if (id.equals(oid(OID.organization))) organizations.push(text);
    }
  }
  const attrs = info[3] ? raw.subarray(info[3].start, info[3].end) : Buffer.alloc(0);
  return {
    subjectDer: raw.subarray(info[1].start, info[1].end),
    spkiDer,
    commonName,
    organizations,
    requestsExtensions: attrs.includes(oid(CSR_OID.extensionRequest)),
  };
}

/** certificates.k8s.io key usages petset's signer can put in a certificate. */
const USAGE_BITS: Record<string, number> = { 'digital signature': KEY_USAGE.digitalSignature, 'key encipherment': KEY_USAGE.keyEncipherment };
const USAGE_EKUS: Record<string, string> = { 'client auth': OID.clientAuth, 'server auth': OID.serverAuth };

/** Issues the certificate a request asks for, signed by ca, for the given CSR usages and lifetime. */
export function signCertificateRequest(ca: CertKeyPair, csr: ParsedCertificateRequest, opts: { usages: string[]; validitySeconds: number; backdateMs?: number }): string {
  const issuer = readIssuer(ca.certPem);
  const bits = opts.usages.flatMap((u) => (u in USAGE_BITS ? [USAGE_BITS[u]] : []));
  const ekus = opts.usages.flatMap((u) => (u in USAGE_EKUS ? [USAGE_EKUS[u]] : []));
  const extensions = [
    extension(OID.basicConstraints, true, seq()),
    ...(bits.length ? [extension(OID.keyUsage, true, keyUsage(bits))] : []),
    ...(ekus.length ? [extension(OID.extKeyUsage, false, seq(...ekus.map(oid)))] : []),
    extension(OID.authorityKeyIdentifier, false, seq(der(0x80, issuer.keyId))),
  ];
  const cert = certificate({
    issuer: issuer.subject,
    subject: csr.subjectDer,
    spki: csr.spkiDer,
    validityDays: opts.validitySeconds / 86400,
    backdateMs: opts.backdateMs,
    extensions,
    signer: createPrivateKey(ca.keyPem),
  });
  return pem('CERTIFICATE', cert);
}

/** upstream's --discovery-token-ca-cert-hash: sha256 of the CA certificate's SubjectPublicKeyInfo. */
export function caCertHash(caPem: string): string {
  const raw = new X509Certificate(caPem).raw;
  const tbs = children(raw, children(raw, node(raw, 0))[0]);
  const skip = tbs[0].tag === 0xa0 ? 1 : 0;
  const spki = tbs[skip + 5];
  return 'sha256:' + createHash('sha256').update(raw.subarray(spki.start, spki.end)).digest('hex');
}
