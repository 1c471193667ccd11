// What makes a CertificateSigningRequest a node client request (upstream's
// IsKubeletClientCSR): signer kubernetes.io/kube-apiserver-client-kubelet, subject
// CN=system:node:<name>, O=[system:nodes], no extensions asked for, and usages client auth,
// digital signature and optionally key encipherment. Shared by the approver and the signer.
import type { KubeObject } from '../../api/object.js';
import type { ResourceType } from '../../client/client.js';
import { parseCertificateRequest, type ParsedCertificateRequest } from '../../cli/pki.js';

export const CSRS: ResourceType = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', kind: 'CertificateSigningRequest', namespaced: false };
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const API_SERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
const NODE_USAGES = new Set(['client auth', 'digital signature', 'key encipherment']);

export type Parsed = { csr: ParsedCertificateRequest } | { error: string };

/** The PKCS #10 request of a CSR, its signature checked. */
export function parseRequest(csr: KubeObject): Parsed {
  try {
    return { csr: parseCertificateRequest(Buffer.from(String(csr.spec?.request ?? ''), 'base64').toString('latin1')) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Why the request is not a valid node client request, or undefined when it is one. */
export function nodeClientProblem(csr: KubeObject, req: ParsedCertificateRequest): string | undefined {
  if (csr.spec?.signerName !== KUBELET_CLIENT_SIGNER) return `signerName must be ${KUBELET_CLIENT_SIGNER}`;
  if (req.organizations.length !== 1 || req.organizations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
  if (!req.commonName?.startsWith('system:node:') || req.commonName.length === 'system:node:'.length) return 'subject common name does not begin with system:node:';
  if (req.requestsExtensions) return 'DNS, email, IP or URI subjectAltNames are not allowed';
  const usages: string[] = csr.spec?.usages ?? [];
  if (usages.some((u) => !NODE_USAGES.has(u)) || !usages.includes('client auth') || !usages.includes('digital signature')) {
    return 'usages did not match [client auth digital signature] or [client auth digital signature key encipherment]';
  }
  return undefined;
}

export function hasCondition(csr: KubeObject, type: string): boolean {
  return ((csr.status?.conditions ?? []) as KubeObject[]).some((c) => c.type === type && c.status === 'True');
}
