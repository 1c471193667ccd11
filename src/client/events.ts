// Recording core/v1 Events the way client-go's recorder does: one Event per occurrence,
// named <object>.<nanotime hex>; an identical occurrence soon after bumps the existing
// Event's count instead; a per-object token bucket keeps a noisy object from flooding
// the API. Recording never fails the caller: problems are logged and the event dropped.
import { isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { timestamp } from '../api/object.js';
import type { Client } from './client.js';

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EventRecorderOptions {
  /** source.host and reportingInstance, e.g. the node name */
  host?: string;
}

/** Identical events within this window update the first one's count. */
const AGGREGATE_WINDOW_MS = 10 * 60 * 1000;
const SEEN_CACHE_SIZE = 4096;
/** client-go's spam filter: a burst of 25 per object, then one per 5 minutes. */
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 300_000;
/** Writes waiting beyond this are dropped, as client-go's full broadcaster channel does. */
const MAX_PENDING = 1000;
/** how long one warning about dropped events covers */
const DROP_REPORT_MS = 10_000;

interface Seen {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

export class EventRecorder {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private dropped = 0;
  private dropReport?: NodeJS.Timeout;
  /** insertion-ordered, oldest first: an LRU by re-insertion */
  private readonly seen = new Map<string, Seen>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private stopped = false;

  constructor(
    private readonly client: Client,
    readonly component: string,
    private readonly options: EventRecorderOptions = {},
  ) {}

  /** Records an event about obj. Returns at once; the write happens in the background. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    if (this.stopped) return;
    try {
      const ref = referenceTo(obj);
      if (!this.allow(ref)) return;
      if (this.pending >= MAX_PENDING) {
        this.reportDropped(reason, ref);
        return;
      }
      this.pending++;
      const when = new Date();
      this.chain = this.chain
        .then(() => (this.stopped ? undefined : this.write(ref, type, reason, message, when)))
        .catch((e: unknown) => {
          // a write under way when the recorder stopped fails with its owner's transport: not news
          if (!this.stopped) console.warn(`[events] could not record ${type} ${reason} on ${ref.kind} ${ref.namespace ?? ''}/${ref.name}: ${e instanceof Error ? e.message : String(e)}`);
        })
        .finally(() => this.pending--);
    } catch (e) {
      console.warn(`[events] could not record ${reason}: ${String(e)}`);
    }
  }

  /**
   * One warning per burst of drops, not one per event: under a burst (a thousand replicas
   * starting) a line per dropped event cost more than the events themselves.
   */
  private reportDropped(reason: string, ref: ObjectReference): void {
    this.dropped++;
    if (this.dropReport) return;
    console.warn(`[events] ${this.component}: too many events pending, dropping some (first: ${reason} on ${ref.kind} ${ref.name})`);
    this.dropReport = setTimeout(() => {
      this.dropReport = undefined;
      if (this.dropped > 1) console.warn(`[events] ${this.component}: dropped ${this.dropped} events in ${DROP_REPORT_MS / 1000} s`);
      this.dropped = 0;
    }, DROP_REPORT_MS);
    this.dropReport.unref?.();
  }

  /**
   * Records nothing more: what waits to be written is dropped without a word, as a component
   * that dies loses its queue (a node agent that stops or crashes while a thousand events
   * wait would otherwise print a failure line for each).
   */
  stop(): void {
    this.stopped = true;
  }

  /** Resolves when every event recorded so far has been written (or dropped). */
  flush(): Promise<void> {
    return this.chain;
  }

  private allow(ref: ObjectReference): boolean {
    const key = JSON.stringify([this.component, this.options.host, ref.kind, ref.namespace, ref.name, ref.uid, ref.apiVersion]);
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: SPAM_BURST, at: now };
    b.tokens = Math.min(SPAM_BURST, b.tokens + (now - b.at) / SPAM_REFILL_MS);
    b.at = now;
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > SEEN_CACHE_SIZE) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async write(ref: ObjectReference, type: EventType, reason: string, message: string, when: Date): Promise<void> {
    const key = JSON.stringify([this.component, this.options.host, ref.kind, ref.namespace, ref.name, ref.uid, ref.apiVersion, type, reason, message]);
    const ts = timestamp(when);
    const prev = this.seen.get(key);
    if (prev && when.getTime() - prev.lastSeen < AGGREGATE_WINDOW_MS) {
      try {
        await this.client.events(prev.namespace).patch(prev.name, { count: prev.count + 1, lastTimestamp: ts, message }, 'strategic');
        prev.count++;
        prev.lastSeen = when.getTime();
        this.remember(key, prev);
        return;
      } catch (e) {
        // The Event expired or was deleted: start a new one.
        if (!isApiError(e, 'NotFound')) throw e;
      }
    }
    const namespace = ref.namespace || 'default';
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${ref.name}.${nanotime().toString(16).padStart(16, '0')}`, namespace },
      involvedObject: ref,
      reason,
      message,
      source: this.options.host ? { component: this.component, host: this.options.host } : { component: this.component },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      type,
      reportingComponent: this.component,
    };
    if (this.options.host) event.reportingInstance = this.options.host;
    const created = await this.client.events(namespace).create(event);
    this.remember(key, { name: created.metadata.name ?? event.metadata.name!, namespace, count: 1, lastSeen: when.getTime() });
  }

  private remember(key: string, s: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, s);
    if (this.seen.size > SEEN_CACHE_SIZE) this.seen.delete(this.seen.keys().next().value!);
  }
}

export function referenceTo(obj: KubeObject): ObjectReference {
  const m = obj.metadata;
  const ref: ObjectReference = { kind: obj.kind, name: m.name };
  if (m.namespace) ref.namespace = m.namespace;
  if (m.uid) ref.uid = m.uid;
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (m.resourceVersion) ref.resourceVersion = m.resourceVersion;
  return ref;
}

// Wall-clock nanoseconds, strictly increasing so that names never collide in one process.
const epochOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
let lastNs = 0n;
function nanotime(): bigint {
  let t = epochOffsetNs + process.hrtime.bigint();
  if (t <= lastNs) t = lastNs + 1n;
  lastNs = t;
  return t;
}
