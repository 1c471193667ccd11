// A node agent's TLS bootstrap, as the kubelet's --bootstrap-kubeconfig: with the bootstrap
// token of that kubeconfig it posts a CertificateSigningRequest (signer
// kubernetes.io/kube-apiserver-client-kubelet, CN system:node:<name>, O system:nodes), waits
// for the controller manager to approve and sign it, and writes --kubeconfig with its own
// client certificate. A kubeconfig that already holds a live certificate for the node is kept.
// Also: `petset join`'s discovery of the cluster CA, pinned by its hash (kubeadm's
// --discovery-token-ca-cert-hash), before any token is sent.
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import yaml from 'js-yaml';
import { Client } from '../client/client.js';
import { fromKubeconfig } from '../client/http-transport.js';
import { isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { renderKubeconfig } from './kubeconfig.js';
import { caCertHash, createCertificateRequest } from './pki.js';

const CSRS = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', kind: 'CertificateSigningRequest', namespaced: false };
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';

interface KubeconfigParts {
  server: string;
  caPem: string;
}

/** The server and CA of a kubeconfig's current context. */
export function kubeconfigParts(file: string): KubeconfigParts {
  const cfg = (yaml.load(fs.readFileSync(file, 'utf8')) ?? {}) as any;
  const ctx = cfg.contexts?.find((c: any) => c.name === cfg['current-context'])?.context;
  const cluster = cfg.clusters?.find((c: any) => c.name === ctx?.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`kubeconfig ${file}: no server in its current context`);
  const caData = cluster['certificate-authority-data'];
  const caPem = caData ? Buffer.from(caData, 'base64').toString('utf8') : cluster['certificate-authority'] ? fs.readFileSync(path.resolve(path.dirname(file), cluster['certificate-authority']), 'utf8') : '';
  if (!caPem) throw new Error(`kubeconfig ${file}: no certificate authority for ${cluster.server}`);
  return { server: cluster.server, caPem };
}

export interface KubeconfigCert {
  cert: X509Certificate;
  notBefore: number;
  notAfter: number;
}

/** The client certificate of a kubeconfig's current context, if it holds one. */
export function kubeconfigCertificate(file: string): KubeconfigCert | undefined {
  try {
    const cfg = yaml.load(fs.readFileSync(file, 'utf8')) as any;
    const ctx = cfg.contexts?.find((c: any) => c.name === cfg['current-context'])?.context;
    const user = cfg.users?.find((u: any) => u.name === ctx?.user)?.user;
    const data = user?.['client-certificate-data'];
    if (!data) return undefined;
    const cert = new X509Certificate(Buffer.from(data, 'base64'));
    return { cert, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
  } catch {
    return undefined;
  }
}

/** Whether file is a kubeconfig whose client certificate is node's and still valid for a while. */
export function hasLiveNodeCredential(file: string, nodeName: string, now = Date.now()): boolean {
  const held = kubeconfigCertificate(file);
  if (!held || !/(^|\n)CN=system:node:(.*)$/m.test(held.cert.subject) || !held.cert.subject.includes(`CN=system:node:${nodeName}`)) return false;
  return held.notAfter > now + 60_000;
}

export interface BootstrapOptions {
  bootstrapKubeconfig: string;
  kubeconfig: string;
  nodeName: string;
  /** give up after this long without a certificate (default 15 min) */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Makes sure opts.kubeconfig holds the node's own client certificate; returns the CSR's name when it made one. */
export async function tlsBootstrap(opts: BootstrapOptions): Promise<string | undefined> {
  if (hasLiveNodeCredential(opts.kubeconfig, opts.nodeName)) return undefined;
  const log = opts.log ?? (() => {});
  const { server, caPem } = kubeconfigParts(opts.bootstrapKubeconfig);
  const client = new Client(fromKubeconfig(opts.bootstrapKubeconfig), { userAgent: `petset-agent/${opts.nodeName}` });
  const issued = await requestNodeCertificate(client, { nodeName: opts.nodeName, generateName: 'node-csr-', timeoutMs: opts.timeoutMs, log });
  writeNodeKubeconfig(opts.kubeconfig, { server, caPem, nodeName: opts.nodeName, certPem: issued.certPem, keyPem: issued.keyPem });
  log(`client certificate for system:node:${opts.nodeName} written to ${opts.kubeconfig}`);
  return issued.name;
}

export interface IssuedCertificate {
  /** the CertificateSigningRequest's name */
  name: string;
  certPem: string;
  keyPem: string;
}

/**
 * Posts a node client CertificateSigningRequest (a new key; CN system:node:<name>, O
 * system:nodes) with client's credential and waits until it is signed; throws when it is
 * denied, fails or takes longer than timeoutMs (default 15 min).
 */
export async function requestNodeCertificate(client: Client, opts: { nodeName: string; generateName: string; timeoutMs?: number; log?: (line: string) => void }): Promise<IssuedCertificate> {
  const log = opts.log ?? (() => {});
  const { csrPem, keyPem } = createCertificateRequest({ commonName: `system:node:${opts.nodeName}`, organizations: ['system:nodes'] });
  const created = (await client.resource(CSRS).create({
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { generateName: opts.generateName },
    spec: { request: Buffer.from(csrPem).toString('base64'), signerName: KUBELET_CLIENT_SIGNER, usages: ['digital signature', 'client auth'] },
  })) as KubeObject;
  const name = created.metadata.name!;
  log(`certificate signing request ${name} created; waiting for it to be approved and signed`);
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  for (;;) {
    let csr: KubeObject | undefined;
    try {
      csr = (await client.resource(CSRS).get(name)) as KubeObject;
    } catch (e) {
      // an API server restarting or a load balancer switching: keep asking
      if (isApiError(e, 'NotFound')) throw new Error(`certificate signing request ${name} was deleted before it was signed`);
    }
    const conditions = (csr?.status?.conditions ?? []) as KubeObject[];
    const bad = conditions.find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
    if (bad) throw new Error(`certificate signing request ${name} was ${bad.type.toLowerCase()}: ${bad.reason ?? ''} ${bad.message ?? ''}`.trim());
    if (csr?.status?.certificate) return { name, certPem: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), keyPem };
    if (Date.now() > deadline) throw new Error(`timed out waiting for certificate signing request ${name} to be signed (is a controller manager running with a signing CA?)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Writes (atomically: a reader never sees half a file) the node's kubeconfig with its client certificate. */
export function writeNodeKubeconfig(file: string, p: { server: string; caPem: string; nodeName: string; certPem: string; keyPem: string }): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, renderKubeconfig({ server: p.server, caPem: p.caPem, clientCertPem: p.certPem, clientKeyPem: p.keyPem, user: `system:node:${p.nodeName}`, context: 'default' }), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * kubeadm's token discovery, by pinning: connects to server without trusting it, takes the CA at
 * the end of the chain it presents, and accepts it only when its public key has the given
 * hash and it signed the server's certificate. Nothing secret is sent before that.
 */
export async function discoverCA(server: string, pin: string | undefined): Promise<string> {
  const url = new URL(server);
  const chain = await new Promise<X509Certificate[]>((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), rejectUnauthorized: false, servername: undefined }, () => {
      const certs: X509Certificate[] = [];
      let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (c?.raw && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        certs.push(new X509Certificate(c.raw));
        c = c.issuerCertificate;
      }
      socket.end();
      resolve(certs);
    });
    socket.on('error', (e) => reject(new Error(`cannot reach ${server}: ${e.message}`)));
  });
  const leaf = chain[0];
  if (!leaf) throw new Error(`${server} presented no certificate`);
  // without a pin (--discovery-token-unsafe-skip-ca-verification): the last certificate presented
  if (!pin) return chain[chain.length - 1].toString();
  for (const candidate of chain) {
    const pem = candidate.toString();
    if (caCertHash(pem) !== pin.toLowerCase()) continue;
    if (!leaf.checkIssued(candidate) || !leaf.verify(candidate.publicKey)) throw new Error(`the CA matching ${pin} did not sign ${server}'s certificate`);
    return pem;
  }
  throw new Error(`none of the certificates ${server} presented has the public key hash ${pin}; check --discovery-token-ca-cert-hash`);
}
