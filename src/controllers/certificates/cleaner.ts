// The csrcleaner controller: CertificateSigningRequests do not pile up (every node renewing
// its certificate leaves one). As upstream's, once at start and then every hour it deletes a
// request that was issued or approved over an hour ago, denied or failed over an hour ago,
// pending for over a day, or whose certificate has expired.
import { X509Certificate } from 'node:crypto';
import type { KubeObject } from '../../api/object.js';
import { isApiError } from '../../api/errors.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import type { Informer } from '../../client/informer.js';
import { CSRS } from './node-client.js';

const HOUR_MS = 3600_000;
export const CLEANER_POLLING_MS = HOUR_MS;
const APPROVED_EXPIRATION_MS = HOUR_MS;
const DENIED_EXPIRATION_MS = HOUR_MS;
const PENDING_EXPIRATION_MS = 24 * HOUR_MS;

const conditionsOf = (csr: KubeObject): KubeObject[] => (Array.isArray(csr.status?.conditions) ? csr.status.conditions : []);
const olderThan = (time: unknown, ms: number, now: number) => typeof time === 'string' && Date.parse(time) + ms < now;

/** Pure: why this request is to be deleted now, or undefined to keep it. */
export function cleanupReason(csr: KubeObject, now: number): string | undefined {
  const conditions = conditionsOf(csr);
  const issued = typeof csr.status?.certificate === 'string' && csr.status.certificate !== '';
  if (issued) {
    if (conditions.some((c) => c.type === 'Approved' && olderThan(c.lastUpdateTime, APPROVED_EXPIRATION_MS, now))) return 'issued more than an hour ago';
    if (certificateExpired(csr.status.certificate, now)) return 'its certificate has expired';
  }
  if (conditions.some((c) => c.type === 'Denied' && olderThan(c.lastUpdateTime, DENIED_EXPIRATION_MS, now))) return 'denied more than an hour ago';
  if (conditions.some((c) => c.type === 'Failed' && olderThan(c.lastUpdateTime, DENIED_EXPIRATION_MS, now))) return 'failed more than an hour ago';
  if (!conditions.length && !issued && olderThan(csr.metadata.creationTimestamp, PENDING_EXPIRATION_MS, now)) return 'pending for more than a day';
  return undefined;
}

/** Whether any certificate of the PEM bundle (base64, as in status.certificate) is past its notAfter. */
function certificateExpired(base64: string, now: number): boolean {
  const text = Buffer.from(base64, 'base64').toString('latin1');
  for (const block of text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
    try {
      if (Date.parse(new X509Certificate(block).validTo) < now) return true;
    } catch {
      // unreadable: the signer's business, not the cleaner's
    }
  }
  return false;
}

export class CSRCleanerController implements Controller {
  readonly name = 'csrcleaner';
  private ctx!: ControllerContext;
  private csrs!: Informer;

  constructor(private readonly pollingMs = CLEANER_POLLING_MS) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.csrs = ctx.informers.informerFor(CSRS);
    void ctx.synced().then((ok) => (ok ? this.sweep() : undefined)).catch((e: Error) => console.warn(`[csrcleaner] ${e.message}`));
    ctx.every(this.pollingMs, async () => {
      await this.sweep();
    });
  }

  stop(): void {}

  async sweep(now = Date.now()): Promise<string[]> {
    const deleted: string[] = [];
    for (const csr of this.csrs.list()) {
      if (!cleanupReason(csr, now)) continue;
      try {
        await this.ctx.client.resource(CSRS).delete(csr.metadata.name!, { preconditions: { uid: csr.metadata.uid } });
        deleted.push(csr.metadata.name!);
      } catch (e) {
        if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
      }
    }
    return deleted;
  }
}
