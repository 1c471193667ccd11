// The store over etcd v3, the store Kubernetes itself uses. Keys are stored verbatim
// (`/registry/...`), so `etcdctl get --prefix /registry/` reads what the API server wrote.
//
// Semantics follow the SQLite store, which is the reference:
// - etcd's revision is the resourceVersion; a write's revision is its response header's.
// - create/update/delete are one etcd transaction each, guarded by the key's create or mod
//   revision, with the current value read in the failure branch (so a refused write says why).
// - Watches are fed by ONE etcd watch over the whole keyspace (the watch cache: 100 watchers are
//   not 100 etcd watches), kept in a ring of recent events and fanned out by prefix. A write is
//   acknowledged only after the feed delivered its revision to every watcher, as SQLite's commit
//   does, so a caller that wrote something finds it in every watch it holds.
// - A watch from before the ring's window, or before a compaction, is reported as compacted
//   (the API server answers 410 Gone and clients relist), as upstream's watch cache does.

import { Etcd3, type IOptions } from 'etcd3';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  NoSpaceError,
  StoreUnavailableError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type WatchHandler,
  type Watcher,
} from './store.js';
import { WatchFanOut } from './watch-fanout.js';
import { migrateEtcdKeysToUpstreamLayout } from './etcd-layout-migration.js';

export interface EtcdTlsOptions {
  /** PEM of the CA that signed etcd's serving certificate */
  ca: Buffer;
  /** client certificate and key (PEM), when etcd requires client certificates */
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdStoreOptions {
  /** client URLs (http:// or https://host:port), as kube-apiserver's --etcd-servers */
  endpoints: string[];
  tls?: EtcdTlsOptions;
  /** Periodic compaction as upstream's --etcd-compaction-interval (default 5 minutes); false for none. */
  autoCompact?: false | { intervalMinutes?: number };
  /** Recent events kept for watches that start in the past (default 10,000). */
  eventCacheSize?: number;
  /** Deadline of each request to etcd (default 10 s). */
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

interface RawKv {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
}

interface RawEvent {
  type: string | number;
  kv: RawKv;
  prev_kv?: RawKv | null;
}

interface RawWatchResponse {
  header: { revision: string };
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  events: RawEvent[];
}

interface DuplexStream {
  write(req: unknown): boolean;
  on(event: 'data', fn: (res: RawWatchResponse) => void): DuplexStream;
  on(event: 'error', fn: (err: Error) => void): DuplexStream;
  on(event: 'end', fn: () => void): DuplexStream;
  cancel(): void;
  removeAllListeners(): void;
}


const FEED_WATCH_ID = 1;

export async function openEtcdStore(opts: EtcdStoreOptions): Promise<EtcdStore> {
  const store = new EtcdStore(opts);
  try {
    await store.start();
  } catch (err) {
    await store.close();
    throw new Error(`cannot reach etcd at ${opts.endpoints.join(',')}: ${(err as Error).message}`, { cause: err });
  }
  return store;
}

export class EtcdStore implements Store {
  readonly client: Etcd3;
  /** the revision up to which the feed has delivered every event */
  private rev = 0;
  /** the newest compaction known (ours, or reported by etcd) */
  private compacted = 0;
  private readonly ring: EventRing;
  private readonly watches = new WatchFanOut();
  /** writes waiting for the feed to deliver their revision */
  private waiters: { rev: number; resolve(): void }[] = [];
  private stream: DuplexStream | undefined;
  private feedReady: { resolve(): void; reject(err: Error): void } | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = 100;
  private compactTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: EtcdStoreOptions) {
    if (!opts.endpoints.length) throw new Error('no etcd servers given');
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
    const timeout = opts.requestTimeoutMs ?? 10_000;
    const options: IOptions = {
      hosts: opts.endpoints,
      // lists of many objects are large messages; etcd itself caps nothing on its side
      grpcOptions: { 'grpc.max_receive_message_length': 1 << 30 },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    };
    if (opts.tls) options.credentials = { rootCertificate: opts.tls.ca, privateKey: opts.tls.key, certChain: opts.tls.cert };
    this.client = new Etcd3(options);
    this.ring = new EventRing(opts.eventCacheSize ?? 10_000);
  }

  /** Reads the current revision and starts the feed there; resolves once etcd accepted the watch. */
  async start(): Promise<void> {
    // keys of petset's earlier layout move before anything is read or watched (a no-op once done)
    await this.call(() => migrateEtcdKeysToUpstreamLayout(this.client, this.log));
    this.rev = await this.currentRevision();
    this.ring.reset(this.rev);
    this.compacted = await this.findCompacted(this.rev);
    await this.connectFeed();
    const auto = this.opts.autoCompact;
    if (auto !== false) this.startAutoCompact(auto?.intervalMinutes ?? 5);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    const res = await this.call(() => this.client.kv.range({ key: Buffer.from(key) }));
    const raw = res.kvs[0] as RawKv | undefined;
    return raw ? toKv(raw) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    const from = opts.startKey !== undefined && opts.startKey > prefix ? opts.startKey : prefix;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const at = opts.revision && opts.revision > 0 ? opts.revision : 0;
    let res;
    try {
      res = await this.client.kv.range({ key: keyStart(from), range_end: rangeEnd(prefix), limit, revision: at });
    } catch (err) {
      throw await this.translateRevisionError(err, at);
    }
    const items = (res.kvs as RawKv[]).map(toKv);
    const count = Number(res.count);
    const remaining = Math.max(0, count - items.length);
    return { items, revision: at || Number(res.header.revision), more: res.more, remaining };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.assertOpen();
    const k = Buffer.from(key);
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    const rev = Number(res.header.revision);
    if (!res.succeeded) {
      const existing = res.responses[0]?.response_range.kvs[0] as RawKv | undefined;
      throw new KeyExistsError(key, existing ? toKv(existing) : undefined);
    }
    await this.delivered(rev);
    return kv(key, value, rev, rev);
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    const res = await this.guardedWrite(key, expectedModRevision, { request_put: { key: Buffer.from(key), value: Buffer.from(value), prev_kv: true } });
    const prev = res.responses[0]!.response_put.prev_kv as RawKv;
    const rev = Number(res.header.revision);
    await this.delivered(rev);
    return kv(key, value, Number(prev.create_revision), rev);
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const res = await this.guardedWrite(key, expectedModRevision, { request_delete_range: { key: Buffer.from(key), prev_kv: true } });
    const prev = res.responses[0]!.response_delete_range.prev_kvs[0] as RawKv;
    const rev = Number(res.header.revision);
    await this.delivered(rev);
    return kv(key, prev.value.toString(), Number(prev.create_revision), rev);
  }

  watch(prefix: string, afterRevision: number, handler: WatchHandler): Watcher {
    this.assertOpen();
    const floor = Math.max(this.compacted, this.ring.floor);
    if (afterRevision < floor) {
      return this.watches.compacted(afterRevision, floor, handler);
    }
    // as SQLite's: the caller has its Watcher before the first callback, and events the feed
    // brings meanwhile queue up behind the replay
    return this.watches.add(prefix, afterRevision, handler, this.ring.since(afterRevision));
  }

  /** etcd's current revision, once the feed has delivered it (so bookmarks never run ahead of events). */
  async revision(): Promise<number> {
    this.assertOpen();
    const current = await this.currentRevision();
    await this.delivered(current);
    return Math.max(current, this.rev);
  }

  async compactedRevision(): Promise<number> {
    this.assertOpen();
    this.compacted = await this.findCompacted(await this.currentRevision());
    return this.compacted;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    const current = await this.currentRevision();
    if (revision > current) throw new RangeError(`cannot compact to ${revision}: latest revision is ${current}`);
    if (revision <= this.compacted) return;
    try {
      await this.call(() => this.client.kv.compact({ revision, physical: true }));
    } catch (err) {
      // another API server compacted further already
      if (!/compacted/.test((err as Error).message)) throw err;
    }
    this.compacted = Math.max(this.compacted, revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.compactTimer);
    clearTimeout(this.reconnectTimer);
    this.watches.stopAll();
    this.dropStream();
    this.feedReady?.reject(new Error('store is closed'));
    for (const w of this.waiters.splice(0)) w.resolve();
    this.client.close();
  }

  /* ---------- writes ---------- */

  private async guardedWrite(key: string, expected: number | undefined, op: object) {
    this.assertOpen();
    const k = Buffer.from(key);
    const compare =
      expected === undefined
        ? { key: k, target: 'Create' as const, result: 'Greater' as const, create_revision: 0 }
        : { key: k, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expected };
    const res = await this.call(() => this.client.kv.txn({ compare: [compare], success: [op], failure: [{ request_range: { key: k } }] }));
    if (!res.succeeded) {
      const current = res.responses[0]?.response_range.kvs[0] as RawKv | undefined;
      if (!current) throw new KeyNotFoundError(key);
      throw new ConflictError(key, toKv(current));
    }
    return res;
  }

  /** Resolves once the feed has delivered revision `rev` to every watch. */
  private delivered(rev: number): Promise<void> {
    if (rev <= this.rev || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ rev, resolve });
    });
  }

  private async currentRevision(): Promise<number> {
    const res = await this.call(() => this.client.kv.range({ key: Buffer.from([0]), range_end: Buffer.from([0]), count_only: true, limit: 1 }));
    return Number(res.header.revision);
  }

  /**
   * etcd does not say how far it has compacted; a read at a revision does say whether that
   * revision is gone. The first readable revision is found by bisection (about 20 reads).
   */
  private async findCompacted(current: number): Promise<number> {
    const readable = async (rev: number) => {
      try {
        await this.client.kv.range({ key: Buffer.from([0]), count_only: true, revision: rev });
        return true;
      } catch (err) {
        if (/compacted/.test((err as Error).message)) return false;
        throw err;
      }
    };
    let lo = Math.max(1, this.compacted);
    if (await readable(lo)) return this.compacted;
    let hi = current; // always readable
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await readable(mid)) hi = mid;
      else lo = mid;
    }
    // etcd's compaction at C keeps C readable
    return hi;
  }

  private async translateRevisionError(err: unknown, at: number): Promise<Error> {
    const message = (err as Error).message ?? '';
    if (/future revision/.test(message)) return new FutureRevisionError(at, await this.currentRevision());
    if (/compacted/.test(message)) {
      this.compacted = await this.findCompacted(await this.currentRevision());
      return new CompactedError(at, this.compacted);
    }
    return storeError(err);
  }

  /** One request to etcd, its failures stated in the store's terms. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw storeError(err);
    }
  }

  private startAutoCompact(intervalMinutes: number): void {
    // as upstream's compactor: each run compacts to the revision seen at the previous run, so
    // history stays for one to two intervals
    let previous = this.rev;
    this.compactTimer = setInterval(() => {
      const target = previous;
      previous = this.rev;
      if (target > this.compacted) {
        this.compact(target).catch((err: Error) => process.emitWarning(`petset store: etcd compaction failed: ${err.message}`));
      }
    }, intervalMinutes * 60_000);
    this.compactTimer.unref();
  }

  /* ---------- the feed ---------- */

  private async connectFeed(): Promise<void> {
    const stream = (await this.client.watchClient.watch()) as unknown as DuplexStream;
    if (this.closed) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    const ready = new Promise<void>((resolve, reject) => (this.feedReady = { resolve, reject }));
    stream.on('data', (res) => this.onFeed(res));
    stream.on('error', (err) => this.feedLost(err));
    stream.on('end', () => this.feedLost(new Error('the etcd watch stream ended')));
    stream.write({
      create_request: {
        key: Buffer.from([0]),
        range_end: Buffer.from([0]),
        start_revision: this.rev + 1,
        prev_kv: true,
        progress_notify: true,
        watch_id: FEED_WATCH_ID,
      },
    });
    await ready;
  }

  private onFeed(res: RawWatchResponse): void {
    if (this.closed) return;
    if (res.created && !res.canceled) {
      this.reconnectDelayMs = 100;
      this.feedReady?.resolve();
      this.feedReady = undefined;
    }
    if (res.canceled) {
      const compactRev = Number(res.compact_revision);
      if (compactRev > 0) return void this.resync(compactRev);
      return this.feedLost(new Error(`etcd canceled the watch: ${res.cancel_reason}`));
    }
    if (res.events.length) {
      const events = res.events.map(toEvent);
      const last = events[events.length - 1]!.revision;
      for (const e of events) this.ring.push(e);
      this.rev = Math.max(this.rev, last);
      this.publish(events);
    } else if (!res.created) {
      // a progress notification: nothing happened on any key up to this revision
      this.rev = Math.max(this.rev, Number(res.header.revision));
    }
    this.wake();
  }

  private wake(): void {
    if (!this.waiters.length) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.rev <= this.rev ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  private publish(events: StoreEvent[]): void {
    this.watches.publish(events);
  }

  private dropStream(): void {
    const s = this.stream;
    this.stream = undefined;
    if (!s) return;
    s.removeAllListeners();
    s.on('error', () => {});
    s.cancel();
  }

  /** The stream broke (etcd restarted, a network fault): resume from the last delivered revision. */
  private feedLost(err: Error): void {
    this.dropStream();
    if (this.closed) return;
    if (this.feedReady) {
      this.feedReady.reject(err);
      this.feedReady = undefined;
      return;
    }
    this.log(`petset store: the etcd watch was lost (${err.message}); reconnecting`);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.connectFeed().catch((e: Error) => this.feedLost(e));
    }, this.reconnectDelayMs);
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5000);
  }

  /**
   * The feed fell behind a compaction (etcd was unreachable longer than the history it keeps):
   * events are lost, so every watch ends as compacted (410, clients relist) and the feed starts
   * again at the current revision.
   */
  private async resync(compactRev: number): Promise<void> {
    this.dropStream();
    this.compacted = Math.max(this.compacted, compactRev - 1);
    for (const w of this.watches.stopAll()) {
      if (w.handler.onCompacted) w.handler.onCompacted(this.compacted, w.after);
      else w.handler.onError?.(new CompactedError(w.after, this.compacted));
    }
    try {
      this.rev = await this.currentRevision();
      this.ring.reset(this.rev);
      this.wake();
      await this.connectFeed();
    } catch (err) {
      this.feedLost(err as Error);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}

/** Recent events in revision order, and the revision below which they are no longer known. */
class EventRing {
  private events: StoreEvent[] = [];
  private start = 0;
  /** events with revision > floor are all here */
  floor = 0;

  constructor(private readonly capacity: number) {}

  reset(revision: number): void {
    this.events = [];
    this.start = 0;
    this.floor = revision;
  }

  push(e: StoreEvent): void {
    this.events.push(e);
    if (this.events.length - this.start > this.capacity) {
      this.floor = this.events[this.start]!.revision;
      this.start++;
      // drop the consumed head now and then rather than shifting every time
      if (this.start > this.capacity) {
        this.events = this.events.slice(this.start);
        this.start = 0;
      }
    }
  }

  /** Events after `after` (the caller checked after >= floor). */
  since(after: number): StoreEvent[] {
    let lo = this.start;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.revision <= after) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo);
  }
}

/** etcd's failures as the store contract names them; others unchanged. */
function storeError(err: unknown): Error {
  const e = err as Error;
  const message = e?.message ?? String(err);
  // etcd's NOSPACE alarm: writes refused until an operator frees space (and disarms the alarm)
  if (/database space exceeded/.test(message)) return new NoSpaceError('etcd', err);
  const name = e?.constructor?.name ?? '';
  if (
    name === 'GRPCUnavailableError' ||
    name === 'GRPCDeadlineExceededError' ||
    name === 'ClientClosedError' ||
    // the client's circuit breaker refusing a member that just failed (others are tried next)
    name === 'BrokenCircuitError' ||
    /circuit breaker is open|request timed out|no leader|leader changed|too many requests|UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED/.test(message)
  ) {
    return new StoreUnavailableError(`etcd is unreachable: ${message}`, err);
  }
  return e;
}

function toKv(raw: RawKv): KeyValue {
  return kv(raw.key.toString(), raw.value.toString(), Number(raw.create_revision), Number(raw.mod_revision));
}

function toEvent(raw: RawEvent): StoreEvent {
  const isDelete = raw.type === 'DELETE' || raw.type === 1 || raw.type === 'Delete';
  const prev = raw.prev_kv ? toKv(raw.prev_kv) : undefined;
  const revision = Number(raw.kv.mod_revision);
  const value = isDelete
    ? // etcd's delete event carries only the key; the contract gives the last value
      kv(raw.kv.key.toString(), prev?.value ?? '', prev?.createRevision ?? 0, revision)
    : toKv(raw.kv);
  return Object.freeze(prev ? { type: isDelete ? 'delete' : 'put', kv: value, prev, revision } : { type: isDelete ? 'delete' : 'put', kv: value, revision });
}

function kv(key: string, value: string, createRevision: number, modRevision: number): KeyValue {
  return Object.freeze({ key, value, createRevision, modRevision });
}

function keyStart(from: string): Buffer {
  // the empty key is not a key in etcd: the whole keyspace starts at \0
  return from === '' ? Buffer.from([0]) : Buffer.from(from);
}

/** The first key after every key with this prefix, byte-wise (etcd's range_end). */
function rangeEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = b[i]! + 1;
      return end;
    }
  }
  // no end: every key from the start (etcd's "\0" range_end)
  return Buffer.from([0]);
}
