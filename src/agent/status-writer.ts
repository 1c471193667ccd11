// Pod status writes for one node, coalesced: a worker that changes marks itself dirty,
// and its status is computed only when a write slot frees up, so a burst of changes to
// one pod costs one PATCH. A write is skipped when the API already shows what the agent
// wants, and repeated when someone else changed the agent's fields. Writes go to
// pods/<name>/status as strategic merge patches carrying metadata.uid, so a pod that was
// replaced by a namesake is never written with the old one's state.
import { isApiError } from '../api/errors.js';
import { deepEqual, type KubeObject } from '../api/object.js';
import type { Client } from '../client/client.js';
import { ownedStatus } from './pod-status.js';
import type { PodWorker } from './pod-worker.js';
import type { TimerQueue } from './timers.js';

const RETRY_MS = 1000;

export interface StatusWriterOptions {
  /** writes in flight at once (default 4) */
  concurrency?: number;
  /** how long a change waits for others to join it (default 0: the next timer tick) */
  batchMs?: number;
}

export class PodStatusWriter {
  private readonly dirty = new Set<PodWorker>();
  private readonly inflight = new Map<PodWorker, Promise<void>>();
  /** what was last written for each worker, and the resourceVersion it produced */
  private readonly written = new WeakMap<PodWorker, { json: string; resourceVersion?: string }>();
  private scheduled = false;
  private readonly concurrency: number;
  private readonly batchMs: number;

  constructor(
    private readonly client: Client,
    private readonly timers: TimerQueue,
    private readonly online: () => boolean,
    opts: StatusWriterOptions = {},
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.batchMs = opts.batchMs ?? 0;
  }

  mark(w: PodWorker): void {
    if (w.apiGone) return;
    this.dirty.add(w);
    this.schedule(this.batchMs);
  }

  /** Starts writing again (after the API became reachable). */
  resume(): void {
    this.schedule(0);
  }

  /** Writes w's status now, after any write of it in flight; throws when the API cannot take it. */
  async flush(w: PodWorker): Promise<void> {
    await this.inflight.get(w);
    this.dirty.delete(w);
    await this.write(w);
  }

  private schedule(ms: number): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.timers.after(ms, () => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.online()) return;
    for (const w of this.dirty) {
      if (this.inflight.size >= this.concurrency) return;
      if (this.inflight.has(w)) continue;
      this.dirty.delete(w);
      const p = this.write(w)
        .catch((e: unknown) => {
          if (w.apiGone) return;
          // unreachable or overloaded API: keep the change and try again later
          if (!isApiError(e) || e.code >= 500 || e.code === 429) {
            this.dirty.add(w);
            this.timers.after(RETRY_MS, () => this.schedule(0));
          } else console.warn(`[agent] status of pod ${w.namespace}/${w.name} rejected: ${e.message}`);
        })
        .finally(() => {
          this.inflight.delete(w);
          this.pump();
        });
      this.inflight.set(w, p);
    }
  }

  private async write(w: PodWorker): Promise<void> {
    const desired = w.desiredStatus();
    if (!desired || w.apiGone) return;
    const wanted = ownedStatus(desired);
    if (deepEqual(wanted, ownedStatus(w.pod.status))) return;
    // the API normalizes some value differently: writing it again would not help
    const json = JSON.stringify(wanted);
    const last = this.written.get(w);
    if (last && last.json === json && last.resourceVersion === w.pod.metadata.resourceVersion) return;
    try {
      const updated = await this.client
        .pods<KubeObject>(w.namespace)
        .patch(w.name, { metadata: { uid: w.uid }, status: desired }, 'strategic', { subresource: 'status' });
      this.written.set(w, { json, resourceVersion: updated.metadata.resourceVersion });
      // the worker keeps it until the pod's next change: without managedFields, as the informer
      // hands pods over (the answer is this request's own, so it can be changed)
      if (!Object.isFrozen(updated.metadata)) delete updated.metadata.managedFields;
      w.update(updated);
    } catch (e) {
      // gone, or a namesake with another uid (the uid in the patch cannot change)
      if (isApiError(e) && (e.code === 404 || e.code === 409 || (e.code === 422 && /uid/.test(e.message)))) return;
      throw e;
    }
  }
}
