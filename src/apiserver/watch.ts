// Watch streams over the store: initial state for resourceVersion "" / "0", replay from a
// revision, selector transitions (ADDED/DELETED when an object starts/stops matching),
// bookmarks, timeouts, and 410 as an in-stream ERROR event.
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { kindApiVersion, type AnyKindDef } from '../api/registry.js';
import type { ApiStream, WatchEvent } from '../api/request.js';
import { CompactedError, type StoreEvent, type Watcher } from '../store/store.js';
import { resourcePrefix } from './keys.js';
import { parseRV, type ResourceStorage } from './resource-storage.js';
import type { CompiledSelectors } from './filter.js';

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

interface Decoded {
  obj: KubeObject;
  prev?: KubeObject;
}

// One decode per store event, shared by every watcher of it.
const decodedCache = new WeakMap<StoreEvent, Decoded>();

function decodeEvent(storage: ResourceStorage, ev: StoreEvent): Decoded {
  let d = decodedCache.get(ev);
  if (!d) {
    d = { obj: storage.decode(ev.kv), prev: ev.prev ? storage.decode(ev.prev) : undefined };
    decodedCache.set(ev, d);
  }
  return d;
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
      const onEvents = (events: StoreEvent[]) => {
        if (stopped) return;
        for (const ev of events) {
          const { obj, prev } = decodeEvent(storage, ev);
          if (ev.type === 'delete') {
            if (sel.matches(obj)) emit('DELETED', obj);
            continue;
          }
          const now = sel.matches(obj);
          const before = prev ? sel.matches(prev) : false;
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
        try {
          watcher = storage.store.watch(prefix, after, { onEvents, onError });
        } catch (e) {
          if (e instanceof CompactedError) {
            send({
              type: 'ERROR',
              object: {
                kind: 'Status',
                apiVersion: 'v1',
                metadata: {},
                status: 'Failure',
                message: `too old resource version: ${e.requested} (${e.compacted + 1})`,
                reason: 'Expired',
                code: 410,
              },
            });
            finish();
            return;
          }
          throw e;
        }
        if (opts.allowWatchBookmarks) {
          const every = opts.bookmarkIntervalMs ?? 60_000;
          const tick = () => {
            void bookmark();
            timers.push(setTimeout(tick, every).unref());
          };
          timers.push(setTimeout(tick, every).unref());
        }
        const timeoutMs = opts.timeoutSeconds && opts.timeoutSeconds > 0 ? opts.timeoutSeconds * 1000 : (1800 + Math.random() * 1800) * 1000;
        timers.push(
          setTimeout(() => {
            if (opts.allowWatchBookmarks) void bookmark().finally(finish);
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
