// A node agent's client certificate rotation, as the kubelet's --rotate-certificates: before
// the certificate of its kubeconfig expires (at a random point between 70 % and 90 % of its
// lifetime, so nodes joined together do not all ask at once), the agent posts a new
// CertificateSigningRequest with its own credential (system:node:<name>, approved as
// selfnodeclient), writes the signed certificate to its kubeconfig and switches its
// connections to it, without a restart. A failed attempt is tried again with backoff; when
// the certificate has already expired, the bootstrap kubeconfig (if any) asks instead.
import { X509Certificate } from 'node:crypto';
import { Client } from '../client/client.js';
import { fromKubeconfig, type HttpTransport } from '../client/http-transport.js';
import { kubeconfigCertificate, kubeconfigParts, requestNodeCertificate, writeNodeKubeconfig } from './tls-bootstrap.js';

/** upstream's nextRotationDeadline: notBefore + 70-90 % (by random in [0, 1)) of the lifetime. */
export function rotationDeadline(notBefore: number, notAfter: number, random: number): number {
  return notBefore + (notAfter - notBefore) * (0.7 + 0.2 * random);
}

/** The wait before retrying a failed rotation: 2 s doubling to 2 min, never past what is left before expiry (but at least 1 s). */
export function retryDelay(failures: number, msToExpiry: number): number {
  const backoff = Math.min(2_000 * 2 ** Math.max(0, failures - 1), 120_000);
  return Math.max(1_000, Math.min(backoff, msToExpiry / 4));
}

export interface RotationOptions {
  /** the node's kubeconfig, holding its client certificate; rewritten with each new one */
  kubeconfig: string;
  nodeName: string;
  /** the transport the agent talks through; it is switched to each new certificate */
  transport: HttpTransport;
  /** asks instead of the node's own credential once that has expired */
  bootstrapKubeconfig?: string;
  log: (line: string) => void;
  /** default Math.random */
  random?: () => number;
}

export interface CertificateRotation {
  stop(): void;
}

/** Starts rotating the node's client certificate; undefined when the kubeconfig holds none of this node's. */
export function startCertificateRotation(opts: RotationOptions): CertificateRotation | undefined {
  const first = kubeconfigCertificate(opts.kubeconfig);
  if (!first || !first.cert.subject.split('\n').includes(`CN=system:node:${opts.nodeName}`)) return undefined;
  const random = opts.random ?? Math.random;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let deadline = 0;

  const plan = () => {
    const current = kubeconfigCertificate(opts.kubeconfig);
    if (!current) return;
    deadline = rotationDeadline(current.notBefore, current.notAfter, random());
    opts.log(`certificate expiration is ${new Date(current.notAfter).toISOString()}, rotation deadline is ${new Date(deadline).toISOString()}`);
    wait();
  };
  // setTimeout takes at most 2^31-1 ms (24.8 days): a year-long certificate is waited for in steps
  const wait = () => {
    if (stopped) return;
    const left = deadline - Date.now();
    if (left > 0) {
      timer = setTimeout(wait, Math.min(left, 2 ** 31 - 1));
      return;
    }
    void rotate();
  };
  const rotate = async () => {
    if (stopped) return;
    const current = kubeconfigCertificate(opts.kubeconfig);
    const expired = !current || current.notAfter <= Date.now();
    try {
      opts.log('rotating the client certificate');
      const { server, caPem } = kubeconfigParts(opts.kubeconfig);
      const asker =
        expired && opts.bootstrapKubeconfig
          ? new Client(fromKubeconfig(opts.bootstrapKubeconfig), { userAgent: `petset-agent/${opts.nodeName}` })
          : new Client(opts.transport, { userAgent: `petset-agent/${opts.nodeName}` });
      const issued = await requestNodeCertificate(asker, { nodeName: opts.nodeName, generateName: 'csr-', timeoutMs: 5 * 60_000, log: opts.log });
      if (stopped) return;
      writeNodeKubeconfig(opts.kubeconfig, { server, caPem, nodeName: opts.nodeName, certPem: issued.certPem, keyPem: issued.keyPem });
      opts.transport.setClientCertificate(issued.certPem, issued.keyPem);
      failures = 0;
      const serial = new X509Certificate(issued.certPem).serialNumber;
      opts.log(`client certificate rotated (certificate signing request ${issued.name}, serial ${serial}); connections now use it`);
      plan();
    } catch (e) {
      failures++;
      const delay = retryDelay(failures, (current?.notAfter ?? 0) - Date.now());
      opts.log(`certificate rotation failed: ${(e as Error).message}; trying again in ${Math.round(delay / 1000)}s`);
      if (!stopped) timer = setTimeout(() => void rotate(), delay);
    }
  };

  plan();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
