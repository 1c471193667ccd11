// The csrsigning controller: signs approved CertificateSigningRequests of the signers
// kubernetes.io/kube-apiserver-client-kubelet (node client certificates) and
// kubernetes.io/kube-apiserver-client with the cluster CA (kube-controller-manager's
// --cluster-signing-cert-file/--cluster-signing-key-file), for at most
// --cluster-signing-duration (1 year) or the spec's expirationSeconds, whichever is shorter. A request that fails
// the signer's checks gets the Failed condition instead, as upstream's.
import { timestamp, type KubeObject } from '../../api/object.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { signCertificateRequest, type CertKeyPair } from '../../cli/pki.js';
import { API_SERVER_CLIENT_SIGNER, CSRS, hasCondition, KUBELET_CLIENT_SIGNER, nodeClientProblem, parseRequest } from './node-client.js';

const YEAR_SECONDS = 365 * 24 * 3600;
/** upstream's signing policy: notBefore lies 5 minutes back, for clocks a little behind ... */
const BACKDATE_SECONDS = 5 * 60;
/** ... and a lifetime shorter than 8 hours is counted from now, a longer one from notBefore */
const SHORT_SECONDS = 8 * 3600;

export type SignDecision = { sign: { usages: string[]; validitySeconds: number; backdateMs: number } } | { fail: string } | undefined;

/** Pure: what the signer does with one CSR. */
export function decideSigning(csr: KubeObject, maxSeconds = YEAR_SECONDS): SignDecision {
  const signer = csr.spec?.signerName;
  if (signer !== KUBELET_CLIENT_SIGNER && signer !== API_SERVER_CLIENT_SIGNER) return undefined;
  if (!hasCondition(csr, 'Approved') || hasCondition(csr, 'Failed') || csr.status?.certificate) return undefined;
  const parsed = parseRequest(csr);
  if ('error' in parsed) return { fail: `unable to parse csr: ${parsed.error}` };
  const usages: string[] = csr.spec?.usages ?? [];
  if (signer === KUBELET_CLIENT_SIGNER) {
    const problem = nodeClientProblem(csr, parsed.csr);
    if (problem) return { fail: problem };
  } else if (!usages.includes('client auth') || usages.some((u) => !['client auth', 'digital signature', 'key encipherment'].includes(u))) {
    return { fail: 'invalid usage for client certificate' };
  }
  const asked = Number(csr.spec?.expirationSeconds);
  const ttl = Number.isFinite(asked) && asked > 0 ? Math.min(asked, maxSeconds) : maxSeconds;
  // petset backdates a lifetime shorter than 50 minutes by a tenth of it, not 5 minutes: a
  // client rotates at 70-90 % of notBefore..notAfter, and 5 minutes back would put the
  // rotation of a 1-minute certificate (--cluster-signing-duration 1m) in the past
  const backdate = Math.min(BACKDATE_SECONDS, ttl / 10);
  const validitySeconds = ttl < SHORT_SECONDS ? ttl : ttl - backdate;
  return { sign: { usages, validitySeconds, backdateMs: backdate * 1000 } };
}

export class CSRSigningController implements Controller {
  readonly name = 'csrsigning';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private csrs!: Informer;

  constructor(private readonly ca: CertKeyPair, private readonly maxSeconds = YEAR_SECONDS) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.csrs = ctx.informers.informerFor(CSRS);
    const add = (o: KubeObject) => this.queue.add(o.metadata.name!);
    this.csrs.addEventHandler({ onAdd: add, onUpdate: (_o, n) => add(n) });
    ctx.runWorkers(this.queue, 1, (name) => this.sync(name));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(name: string): Promise<void> {
    const csr = this.csrs.get(name);
    if (!csr) return;
    const decision = decideSigning(csr, this.maxSeconds);
    if (!decision) return;
    const status = { ...(csr.status ?? {}) };
    if ('fail' in decision) {
      const now = timestamp();
      status.conditions = [...(status.conditions ?? []), { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: decision.fail, lastUpdateTime: now, lastTransitionTime: now }];
    } else {
      const parsed = parseRequest(csr);
      if ('error' in parsed) return;
      const pem = signCertificateRequest(this.ca, parsed.csr, decision.sign);
      status.certificate = Buffer.from(pem).toString('base64');
    }
    await this.ctx.client.resource(CSRS).updateStatus({ ...csr, status });
  }
}
