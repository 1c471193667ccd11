// Events expire as upstream's do: kube-apiserver stores each Event with an etcd lease of
// --event-ttl (1 h), renewed by every write, so an event disappears an hour after it was
// last recorded. The store has no leases, so a sweeper deletes the events whose last
// recorded time is older than the TTL.
import { ApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import type { ResourceStorage } from './resource-storage.js';

/** kube-apiserver's --event-ttl default. */
export const DEFAULT_EVENT_TTL_MS = 60 * 60 * 1000;

function millis(t: unknown): number {
  if (typeof t !== 'string' || !t) return 0;
  const n = Date.parse(t);
  return Number.isFinite(n) ? n : 0;
}

/** When an event was last written: the latest of the times its recorder sets on each write. */
export function lastRecorded(ev: KubeObject): number {
  const e = ev as any;
  let t = Math.max(millis(ev.metadata.creationTimestamp), millis(e.firstTimestamp), millis(e.lastTimestamp), millis(e.eventTime), millis(e.series?.lastObservedTime));
  for (const m of Array.isArray(ev.metadata.managedFields) ? ev.metadata.managedFields : []) t = Math.max(t, millis((m as any)?.time));
  return t;
}

/** The events whose lease would have run out by `now`. */
export function expiredEvents(events: KubeObject[], now: number, ttlMs: number): KubeObject[] {
  return events.filter((ev) => now - lastRecorded(ev) >= ttlMs);
}

export interface EventExpiry {
  /** one sweep now (tests, and the timer) */
  sweep(): Promise<number>;
  stop(): void;
}

/** Deletes expired events every `intervalMs` (a tenth of the TTL, at most a minute, by default). */
export function startEventExpiry(storage: ResourceStorage, opts: { ttlMs?: number; intervalMs?: number } = {}): EventExpiry {
  const ttlMs = opts.ttlMs ?? DEFAULT_EVENT_TTL_MS;
  const intervalMs = opts.intervalMs ?? Math.max(1000, Math.min(60_000, Math.floor(ttlMs / 10)));
  const kinds = storage.registry.kinds.filter((k) => k.plural === 'events');
  let running: Promise<number> | undefined;
  const sweepOnce = async (): Promise<number> => {
    let removed = 0;
    for (const kind of kinds) {
      const list = await storage.list(kind, undefined);
      for (const ev of expiredEvents(list.items, Date.now(), ttlMs)) {
        try {
          // only the version that expired: an event recorded again meanwhile lives on
          await storage.delete(kind, ev.metadata.namespace, ev.metadata.name!, {
            preconditions: { uid: ev.metadata.uid, resourceVersion: ev.metadata.resourceVersion },
          });
          removed++;
        } catch (e) {
          if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) throw e;
        }
      }
    }
    return removed;
  };
  const sweep = () => (running ??= sweepOnce().finally(() => (running = undefined)));
  const timer = setInterval(() => {
    sweep().catch((e) => console.error('petset: event expiry failed:', (e as Error).message));
  }, intervalMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
