// Watch streams over the store: initial state for resourceVersion "" / "0", replay from a
// revision, selector transitions (ADDED/DELETED when an object starts/stops matching),
// bookmarks, timeouts, and 410 as an in-stream ERROR event.
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { kindApiVersion, type AnyKindDef } from '../api/registry.js';
import type { ApiStream, WatchEvent } from '../api/request.js';
import { CompactedError, type KeyValue, type StoreEvent, type Watcher } from '../store/store.js';
import { resourcePrefix } from './keys.js';
import { parseRV, servedAs, type ResourceStorage } from './resource-storage.js';
import type { CompiledSelectors, FieldGetter } from './filter.js';

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
  resourceVersionMatch?: string;
  /** how often to send bookmarks (ms) */
  bookmarkIntervalMs?: number;
}

/** Turns an object into what the client asked for (the object itself, or a one-row Table). */
export type EventFormatter = (obj: KubeObject, first: boolean) => unknown;

/**
 * A store event's objects, decoded once for every watcher of it and shared by them, so
 * deep-frozen: no watcher can change what another is given.
 */
class DecodedEvent {
  readonly obj: KubeObject;
  private prevObj?: KubeObject;

  constructor(
    private readonly storage: ResourceStorage,
    private readonly ev: StoreEvent,
  ) {
    this.obj = storage.decodeShared(ev.kv);
  }

  /** Decoded on first use: only watchers with selectors look at it. */
  get prev(): KubeObject | undefined {
    if (!this.prevObj && this.ev.prev) this.prevObj = this.storage.decodeShared(this.ev.prev);
    return this.prevObj;
  }
}

// The store delivers a commit to all its watchers in one go, so the decoded objects are
// dropped once that delivery is over rather than kept alive as long as the store keeps the
// event in its history.
const decodedNow = new Map<StoreEvent, DecodedEvent>();

function decodeEvent(storage: ResourceStorage, ev: StoreEvent): DecodedEvent {
  let d = decodedNow.get(ev);
  if (!d) {
    if (decodedNow.size === 0) queueMicrotask(() => decodedNow.clear());
    decodedNow.set(ev, (d = new DecodedEvent(storage, ev)));
  }
  return d;
}

// Field values by (immutable) KeyValue. An update's previous KeyValue is the one the last
// event on its key carried, so its value is usually known without decoding it again.
const fieldsByKeyValue = new WeakMap<FieldGetter, WeakMap<KeyValue, string>>();

function fieldOf(get: FieldGetter, kv: KeyValue, decoded: () => KubeObject): string {
  let values = fieldsByKeyValue.get(get);
  if (!values) fieldsByKeyValue.set(get, (values = new WeakMap()));
  let value = values.get(kv);
  if (value === undefined) values.set(kv, (value = get(decoded())));
  return value;
}

// Per delivered batch and field getter: field value → the batch's events whose object has
// that value now or had it before. A watcher that pins the field to one value (each node's
// agent watches spec.nodeName=<node>) looks only at those instead of testing every event.
const batchIndexes = new WeakMap<StoreEvent[], Map<FieldGetter, Map<string, StoreEvent[]>>>();

function eventsCarrying(storage: ResourceStorage, batch: StoreEvent[], field: { value: string; get: FieldGetter }): StoreEvent[] {
  let byGetter = batchIndexes.get(batch);
  if (!byGetter) batchIndexes.set(batch, (byGetter = new Map()));
  let index = byGetter.get(field.get);
  if (!index) {
    index = new Map();
    const add = (value: string, ev: StoreEvent) => {
      const list = index!.get(value);
      if (list) list.push(ev);
      else index!.set(value, [ev]);
    };
    for (const ev of batch) {
      const d = decodeEvent(storage, ev);
      const now = fieldOf(field.get, ev.kv, () => d.obj);
      add(now, ev);
      if (ev.type === 'put' && ev.prev) {
        const before = fieldOf(field.get, ev.prev, () => d.prev!);
        if (before !== now) add(before, ev);
      }
    }
    byGetter.set(field.get, index);
  }
  return index.get(field.value) ?? [];
}

export function validateWatchOptions(o: WatchOptions): void {
  if (o.sendInitialEvents !== undefined) {
    if (o.resourceVersionMatch !== 'NotOlderThan') {
      throw errors.invalid({ group: '', resource: 'ListOptions', kind: 'ListOptions' }, '', [
        { type: 'FieldValueForbidden', field: 'sendInitialEvents', detail: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' },
      ]);
    }
  } else if (o.resourceVersionMatch) {
    throw errors.invalid({ group: '', resource: 'ListOptions', kind: 'ListOptions' }, '', [
      { type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided' },
    ]);
  }
}

/**
 * Upstream's answer to a watch from a resourceVersion newer than the store's: wait a little
 * for it (another server may simply be ahead), then 504 "Too large resource version" with
 * cause ResourceVersionTooLarge, which clients answer by retrying or relisting.
 */
export async function awaitWatchRevision(storage: ResourceStorage, opts: WatchOptions): Promise<void> {
  const rv = opts.resourceVersion ?? '';
  if (rv === '' || rv === '0') return;
  await storage.awaitRevision(parseRV(rv));
}

export function watchResource(
  storage: ResourceStorage,
  kind: AnyKindDef,
  namespace: string | undefined,
  opts: WatchOptions,
  format: EventFormatter,
): ApiStream {
  validateWatchOptions(opts);
  const sel: CompiledSelectors = storage.compile(kind, opts.labelSelector, opts.fieldSelector);
  const prefix = resourcePrefix(kind, namespace);
  const rv = opts.resourceVersion ?? '';
  const fromRev = rv === '' || rv === '0' ? undefined : parseRV(rv);
  const initial = opts.sendInitialEvents ?? fromRev === undefined;

  let watcher: Watcher | undefined;
  let timers: NodeJS.Timeout[] = [];
  let stopped = false;
  let first = true;

  const stop = () => {
    if (stopped) return;
    stopped = true;
    watcher?.stop();
    for (const t of timers) clearTimeout(t);
    timers = [];
  };

  return {
    stop,
    start(send, end) {
      const finish = () => {
        if (stopped) return;
        stop();
        end();
      };
      const emit = (type: WatchEvent['type'], obj: KubeObject) => {
        const object = format(obj, first) as KubeObject;
        first = false;
        send({ type, object });
      };
      const bookmark = async (annotations?: Record<string, string>) => {
        const rev = await storage.store.revision();
        if (stopped) return;
        const metadata: Record<string, unknown> = { resourceVersion: String(rev) };
        if (annotations) metadata.annotations = annotations;
        send({ type: 'BOOKMARK', object: { kind: kind.kind, apiVersion: kindApiVersion(kind), metadata } as KubeObject });
      };
      // a selector of one field value is answered from the values the fan-out index computed
      const sole = sel.exactField?.sole ? sel.exactField : undefined;
      const matches = (kv: KeyValue, decoded: () => KubeObject) => (sole ? fieldOf(sole.get, kv, decoded) === sole.value : sel.matches(decoded()));
      const onEvents = (events: StoreEvent[]) => {
        if (stopped) return;
        for (const ev of sel.exactField ? eventsCarrying(storage, events, sel.exactField) : events) {
          const d = decodeEvent(storage, ev);
          // watchers of other versions of a custom kind share the decoded event: each gets its own copy in its version
          const obj = kind.custom ? servedAs(kind, structuredClone(d.obj)) : d.obj;
          if (ev.type === 'delete') {
            if (matches(ev.kv, () => obj)) emit('DELETED', obj);
            continue;
          }
          const now = matches(ev.kv, () => obj);
          const before = !!ev.prev && (sel.empty || matches(ev.prev, () => d.prev!));
          if (now && before) emit('MODIFIED', obj);
          else if (now) emit('ADDED', obj);
          else if (before) emit('DELETED', obj);
        }
      };
      const onError = (err: Error) => {
        if (stopped) return;
        send({ type: 'ERROR', object: errors.internal(err).toStatus() });
        finish();
      };

      const begin = async () => {
        let after: number;
        if (initial && fromRev === undefined) {
          const list = await storage.list(kind, namespace, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
          if (stopped) return;
          for (const o of list.items) emit('ADDED', o);
          after = Number(list.metadata.resourceVersion);
          if (opts.sendInitialEvents) await bookmark({ 'k8s.io/initial-events-end': 'true' });
        } else {
          after = fromRev ?? (await storage.store.revision());
        }
        if (stopped) return;
        const expired = (requested: number, compacted: number) => {
          if (stopped) return;
          send({
            type: 'ERROR',
            object: {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              message: `too old resource version: ${requested} (${compacted + 1})`,
              reason: 'Expired',
              code: 410,
            },
          });
          finish();
        };
        try {
          // the store reports a start older than its history as data: a 410 in the stream
          watcher = storage.store.watch(prefix, after, { onEvents, onError, onCompacted: (compacted, requested) => expired(requested, compacted) });
        } catch (e) {
          if (e instanceof CompactedError) return expired(e.requested, e.compacted);
          throw e;
        }
        if (opts.allowWatchBookmarks) {
          const every = opts.bookmarkIntervalMs ?? 60_000;
          const tick = () => {
            // a store that cannot answer now (etcd overloaded or electing) only costs this bookmark
            bookmark().catch(() => {});
            timers.push(setTimeout(tick, every).unref());
          };
          timers.push(setTimeout(tick, every).unref());
        }
        const timeoutMs = opts.timeoutSeconds && opts.timeoutSeconds > 0 ? opts.timeoutSeconds * 1000 : (1800 + Math.random() * 1800) * 1000;
        timers.push(
          setTimeout(() => {
            if (opts.allowWatchBookmarks) void bookmark().catch(() => {}).finally(finish);
            else finish();
          }, timeoutMs).unref(),
        );
      };
      begin().catch((e) => {
        if (stopped) return;
        send({ type: 'ERROR', object: (e?.toStatus ? e : errors.internal(e)).toStatus() });
        finish();
      });
    },
  };
}
