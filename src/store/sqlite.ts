// The embedded store: a kine-like revision log in SQLite plus an in-memory copy of the current
// state. Every write appends one row to `log` (the row's rowid is the global revision); the
// latest row of a key is its current value, or a delete marker. Reads of the latest state and
// live watch events never touch SQLite; only historical lists and old watch replays do.
//
// Writes are group-committed: everything requested before the event loop next reaches its
// check phase shares one transaction and therefore one fsync.
//
// Compaction to C follows etcd: the state at C and later stays listable, watches may start
// after C; anything older fails with CompactedError.

import fs from 'node:fs';
import nodePath from 'node:path';
import Database from 'better-sqlite3';
import { WatchFanOut } from './watch-fanout.js';
import { legacyToUpstreamKey } from './registry-keys.js';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  NoSpaceError,
  prefixEnd,
  type KeyValue,
  type QuarantinedValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type WatchHandler,
  type Watcher,
} from './store.js';

export interface AutoCompactOptions {
  /** How often to compact (default 5 minutes). */
  intervalMinutes?: number;
  /**
   * The newest this many revisions are never compacted away (default 0: as upstream, history
   * is kept for one to two intervals, whatever the number of revisions in it).
   */
  minRetainedRevisions?: number;
}

export interface SqliteStoreOptions {
  /**
   * Periodic compaction (on by default). Each run compacts up to the revision that was current
   * at the previous run, but never into the newest `minRetainedRevisions`: history stays
   * readable for at least one interval and at least that many revisions.
   */
  autoCompact?: false | AutoCompactOptions;
  /** Recent events kept in memory so most watches replay without reading the log (default 10,000). */
  eventCacheSize?: number;
  /**
   * Bytes kept reserved on the store's disk (a file beside it, default 8 MiB; 0 for none). When
   * the disk fills up the reserve is given back, so deletes can still commit and free space.
   */
  spaceReserveBytes?: number;
  /** How often a full disk is checked for room again (default 1 s). */
  spaceCheckIntervalMs?: number;
  /** Where the store's notices go (space alarm, values set aside at start); default stderr. */
  log?: (line: string) => void;
  /**
   * false: commits are not fsync'd (etcd's --unsafe-no-fsync). A crash of petset loses nothing
   * (the commit is in the OS's cache); a crash of the machine may lose the last commits, though
   * the file stays consistent (WAL with synchronous=NORMAL). Default true.
   */
  fsync?: boolean;
}

export interface SqliteStoreStats {
  /** write transactions committed (one per batch) */
  transactions: number;
  /** revisions written */
  writes: number;
}

/** 2: keys in upstream's layout (registry-keys.ts); 1 had /registry/<group|core>/<plural>/... */
const SCHEMA_VERSION = 2;
const DEFAULT_SPACE_RESERVE = 8 << 20;
/** Rows examined per garbage-removal transaction, small enough not to stall the event loop. */
const SWEEP_ROWS = 500;

type WriteOp =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; value: string; expected?: number }
  | { kind: 'delete'; key: string; expected?: number };

interface QueuedWrite {
  op: WriteOp;
  resolve(kv: KeyValue): void;
  reject(err: Error): void;
}

interface LogRow {
  rev: number;
  key: string;
  created: number;
  deleted: number;
  value: string;
}

interface EventRow extends LogRow {
  prev_rev: number | null;
  prev_value: string | null;
  prev_created: number | null;
}


export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(path, opts);
}

export class SqliteStore implements Store {
  readonly stats: SqliteStoreStats = { transactions: 0, writes: 0 };
  /** The underlying connection, for diagnostics and fault-injection in tests. */
  readonly database: Database.Database;

  private readonly current = new Map<string, KeyValue>();
  /**
   * The keys of `current` as of the last range scan, sorted. Writes only note which keys
   * appeared or vanished (`reshaped`); the next scan merges them in, so a create costs O(1)
   * rather than an O(n) array insert.
   */
  private sortedKeys: string[] = [];
  private readonly reshaped = new Set<string>();
  private rev = 0;
  private compacted = 0;
  private readonly recent: EventRing;
  private readonly watches = new WatchFanOut();
  private queue: QueuedWrite[] = [];
  private flushHandle: NodeJS.Immediate | undefined;
  private compactTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private readonly insertRow: Database.Statement;
  private readonly selectLiveAt: Database.Statement;
  private readonly countLiveAt: Database.Statement;
  private readonly selectEventsAfter: Database.Statement;
  private readonly commitRows: (events: StoreEvent[]) => void;
  private readonly recordCompaction: (revision: number) => void;
  private readonly sweepBoundary: Database.Statement;
  private readonly dropSuperseded: Database.Statement;
  /** the compaction whose garbage has been fully removed */
  private swept = 0;
  private sweeping: Promise<void> | undefined;
  /** etcd's NOSPACE alarm: set when the disk filled up, cleared once the reserve is back */
  private spaceAlarm = false;
  private spaceTimer: NodeJS.Timeout | undefined;
  private readonly reserveFile: string | undefined;
  private readonly reserveBytes: number;
  private readonly location: string;
  private readonly log: (line: string) => void;
  /** values set aside while loading (not even text) */
  private readonly setAsideAtLoad: QuarantinedValue[] = [];

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    const inMemory = path === ':memory:' || path === '';
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
    this.location = inMemory ? 'memory' : nodePath.dirname(nodePath.resolve(path));
    this.reserveFile = inMemory ? undefined : `${path}.reserve`;
    this.reserveBytes = inMemory ? 0 : (opts.spaceReserveBytes ?? DEFAULT_SPACE_RESERVE);
    this.spaceCheckMs = opts.spaceCheckIntervalMs ?? 1000;
    // The file holds every Secret: private from its first byte (SQLite gives its WAL the same mode).
    if (!inMemory) fs.closeSync(fs.openSync(path, 'a', 0o600));
    // A short busy wait only: the file is either free or held by another live petset.
    const db = new Database(path, { timeout: 500 });
    this.database = db;
    try {
      if (path !== ':memory:' && path !== '') {
        // One process owns the file: a second store on it would serve a stale in-memory copy.
        // Exclusive locking also lets WAL run without the shared-memory index.
        db.pragma('locking_mode = EXCLUSIVE');
        db.pragma('journal_mode = WAL');
      }
      // FULL: a commit is on disk (WAL fsync'd) before the write is acknowledged. NORMAL (asked
      // for by --unsafe-no-fsync): the WAL is fsync'd only before a checkpoint.
      db.pragma(opts.fsync === false ? 'synchronous = NORMAL' : 'synchronous = FULL');
      this.initSchema();
      this.loadState();
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new Error(`store ${path} is in use by another process`, { cause: err });
      }
      throw err;
    }

    this.insertRow = db.prepare(
      'INSERT INTO log (rev, key, created, deleted, value, prev_rev) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.commitRows = db.transaction((events: StoreEvent[]) => {
      for (const e of events) {
        this.insertRow.run(
          e.revision,
          e.kv.key,
          e.kv.createRevision,
          e.type === 'delete' ? 1 : 0,
          e.kv.value,
          e.prev?.modRevision ?? null,
        );
      }
    });
    // Walks the key index in order and stops at the limit, so a page costs O(page).
    this.selectLiveAt = db.prepare(
      `SELECT key, value, created, rev FROM log AS l
       WHERE key >= @from AND key < @end AND deleted = 0
         AND rev = (SELECT MAX(x.rev) FROM log AS x WHERE x.key = l.key AND x.rev <= @at)
       ORDER BY key LIMIT @limit`,
    );
    // SQLite takes a bare column beside MAX() from the row holding the maximum.
    this.countLiveAt = db.prepare(
      `SELECT COUNT(*) AS n FROM (SELECT deleted, MAX(rev) FROM log
         WHERE key >= @from AND key < @end AND rev <= @at GROUP BY key)
       WHERE deleted = 0`,
    );
    this.selectEventsAfter = db.prepare(
      `SELECT l.rev, l.key, l.created, l.deleted, l.value,
              l.prev_rev, p.value AS prev_value, p.created AS prev_created
       FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
       WHERE l.rev > ? AND l.key >= ? AND l.key < ? ORDER BY l.rev`,
    );
    this.sweepBoundary = db.prepare('SELECT rev FROM log WHERE rev > ? ORDER BY rev LIMIT 1 OFFSET ?');
    this.dropSuperseded = db.prepare(
      `DELETE FROM log WHERE rev > @lo AND rev <= @hi AND (deleted = 1 OR rev <
         (SELECT MAX(newer.rev) FROM log AS newer WHERE newer.key = log.key AND newer.rev <= @c))`,
    );
    const setMeta = db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)');
    this.recordCompaction = db.transaction((revision: number) => {
      setMeta.run('compacted', revision);
      // The newest row may be a delete marker the sweep will remove.
      setMeta.run('revision', this.rev);
    });

    this.recent = new EventRing(opts.eventCacheSize ?? 10_000);
    this.ensureReserveAtStart();
    if (opts.autoCompact !== false) this.startAutoCompact(opts.autoCompact ?? {});
    // A sweep cut short by a restart carries on.
    if (this.compacted > 0) this.sweepHistory().catch(warnCompactionFailed);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    return this.current.get(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    const at = opts.revision ?? 0;
    if (at > this.rev) throw new FutureRevisionError(at, this.rev);
    if (at > 0 && at < this.rev) return this.listAt(prefix, at, opts);

    const from = opts.startKey !== undefined && opts.startKey > prefix ? opts.startKey : prefix;
    const keys = this.keysInOrder();
    const begin = lowerBound(keys, from);
    const end = lowerBound(keys, prefixEnd(prefix));
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const stop = Math.min(end, begin + limit);
    const items: KeyValue[] = [];
    for (let i = begin; i < stop; i++) items.push(this.current.get(keys[i]!)!);
    const remaining = Math.max(0, end - stop);
    return { items, revision: this.rev, more: remaining > 0, remaining };
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.enqueue({ kind: 'create', key, value });
  }

  update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.enqueue({ kind: 'update', key, value, expected: expectedModRevision });
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.enqueue({ kind: 'delete', key, expected: expectedModRevision });
  }

  watch(prefix: string, afterRevision: number, handler: WatchHandler): Watcher {
    this.assertOpen();
    if (afterRevision < this.compacted) {
      return this.watches.compacted(afterRevision, this.compacted, handler);
    }
    const backlog = this.recent.since(afterRevision, this.rev) ?? this.readEvents(prefix, afterRevision);
    return this.watches.add(prefix, afterRevision, handler, backlog);
  }

  async revision(): Promise<number> {
    this.assertOpen();
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    this.assertOpen();
    return this.compacted;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision > this.rev) {
      throw new RangeError(`cannot compact to ${revision}: latest revision is ${this.rev}`);
    }
    if (revision > this.compacted) {
      this.recordCompaction(revision);
      this.compacted = revision;
    }
    await this.sweepHistory();
  }

  async quarantine(key: string, reason: string): Promise<boolean> {
    this.assertOpen();
    this.flush();
    const current = this.current.get(key);
    const moved = this.moveAside(key, current?.modRevision ?? 0, reason);
    if (!moved) return false;
    this.current.delete(key);
    this.reshaped.add(key);
    return true;
  }

  async quarantined(): Promise<QuarantinedValue[]> {
    this.assertOpen();
    return this.database.prepare('SELECT key, rev AS revision, reason, at FROM quarantine ORDER BY id DESC').all() as QuarantinedValue[];
  }

  /** Values set aside while opening the store (not text at all); the caller reports them. */
  setAsideWhileLoading(): QuarantinedValue[] {
    return [...this.setAsideAtLoad];
  }

  /** Whether the space alarm is raised (the disk was found full and has not got room again). */
  get spaceAlarmRaised(): boolean {
    return this.spaceAlarm;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearInterval(this.compactTimer);
    clearInterval(this.spaceTimer);
    this.watches.stopAll();
    this.database.close();
  }

  private initSchema(): void {
    const db = this.database;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`store schema version ${version} is newer than this program supports`);
    }
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
    // Nothing to write on a store already set up, so opening needs no disk space.
    if (version === SCHEMA_VERSION && tables.has('log') && tables.has('meta') && tables.has('quarantine')) return;
    if (version === 1 && tables.has('log')) this.migrateKeysToUpstreamLayout(tables.has('quarantine'));
    db.exec(`
      CREATE TABLE IF NOT EXISTS log (
        rev INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        created INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        value TEXT NOT NULL,
        prev_rev INTEGER
      );
      -- covers "which revision of each key is live at R", so counting needs no row reads
      CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev, deleted);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      -- values set aside because they could not be read or served; kept for a person to inspect
      CREATE TABLE IF NOT EXISTS quarantine (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        rev INTEGER NOT NULL,
        value,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
      );
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
  }

  /**
   * Schema 1 → 2: every key, in the log (history included) and the quarantine, moves to
   * upstream's layout in one transaction, with its revisions unchanged; a crash midway leaves
   * schema 1 as it was, and the next start migrates again.
   */
  private migrateKeysToUpstreamLayout(hasQuarantine: boolean): void {
    const db = this.database;
    db.transaction(() => {
      for (const table of hasQuarantine ? ['log', 'quarantine'] : ['log']) {
        const keys = db.prepare(`SELECT DISTINCT key FROM ${table}`).pluck().all() as unknown[];
        const rename = db.prepare(`UPDATE ${table} SET key = ? WHERE key = ?`);
        let moved = 0;
        for (const key of keys) {
          if (typeof key !== 'string') continue;
          const next = legacyToUpstreamKey(key);
          if (next !== key) {
            rename.run(next, key);
            moved++;
          }
        }
        if (table === 'log' && moved) this.log(`petset store: ${moved} keys moved to the upstream layout (/registry/<resource>/...)`);
      }
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    })();
  }

  private loadState(): void {
    const db = this.database;
    const meta = new Map(
      (db.prepare('SELECT name, value FROM meta').all() as { name: string; value: number }[]).map(
        (m) => [m.name, m.value],
      ),
    );
    const maxRev = (db.prepare('SELECT MAX(rev) AS rev FROM log').get() as { rev: number | null }).rev;
    this.rev = Math.max(maxRev ?? 0, meta.get('revision') ?? 0);
    this.compacted = meta.get('compacted') ?? 0;

    const rows = db
      .prepare(
        `SELECT key, value, created, rev FROM log
         WHERE rev IN (SELECT MAX(rev) FROM log GROUP BY key) AND deleted = 0`,
      )
      .all() as LogRow[];
    for (const r of rows) {
      if (typeof r.value !== 'string' || typeof r.key !== 'string' || !Number.isSafeInteger(r.created) || !Number.isSafeInteger(r.rev)) {
        const reason = `the stored row is not a text value (value is ${r.value === null ? 'null' : Buffer.isBuffer(r.value) ? 'binary' : typeof r.value})`;
        try {
          if (this.moveAside(String(r.key), r.rev, reason)) {
            this.setAsideAtLoad.push({ key: String(r.key), revision: r.rev, reason, at: new Date().toISOString() });
          }
        } catch (err) {
          this.log(`petset store: could not set aside ${String(r.key)}: ${(err as Error).message}; it is skipped`);
        }
        continue;
      }
      this.current.set(r.key, kv(r.key, r.value, r.created, r.rev));
      this.sortedKeys.push(r.key);
    }
    this.sortedKeys.sort(compareKeys);
  }

  private listAt(prefix: string, at: number, opts: ListOptions): ListResult {
    if (at < this.compacted) throw new CompactedError(at, this.compacted);
    const from = opts.startKey !== undefined && opts.startKey > prefix ? opts.startKey : prefix;
    const range = { from, end: prefixEnd(prefix), at };
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const rows = this.selectLiveAt.all({ ...range, limit }) as LogRow[];
    const items = rows.map((r) => kv(r.key, r.value, r.created, r.rev));
    if (limit < 0 || items.length < limit) return { items, revision: at, more: false, remaining: 0 };
    const total = (this.countLiveAt.get(range) as { n: number }).n;
    const remaining = total - items.length;
    return { items, revision: at, more: remaining > 0, remaining };
  }

  private readEvents(prefix: string, afterRevision: number): StoreEvent[] {
    const rows = this.selectEventsAfter.all(afterRevision, prefix, prefixEnd(prefix)) as EventRow[];
    return rows.map((r) => {
      const prev =
        r.prev_rev !== null && r.prev_value !== null
          ? kv(r.key, r.prev_value, r.prev_created!, r.prev_rev)
          : undefined;
      return event(r.deleted ? 'delete' : 'put', kv(r.key, r.value, r.created, r.rev), prev);
    });
  }

  /** Moves a key's rows into the quarantine table; the revision counter never goes back. */
  private moveAside(key: string, revision: number, reason: string): boolean {
    const db = this.database;
    return db.transaction(() => {
      const latest = db.prepare('SELECT rev, value FROM log WHERE key = ? ORDER BY rev DESC LIMIT 1').get(key) as
        | { rev: number; value: unknown }
        | undefined;
      if (!latest) return false;
      db.prepare('INSERT INTO quarantine (key, rev, value, reason, at) VALUES (?, ?, ?, ?, ?)').run(
        key,
        revision || latest.rev,
        latest.value as string,
        reason,
        new Date().toISOString(),
      );
      db.prepare('DELETE FROM log WHERE key = ?').run(key);
      // the removed row may have been the newest: remember the counter so no revision repeats
      db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)').run('revision', this.rev);
      return true;
    })();
  }

  private enqueue(op: WriteOp): Promise<KeyValue> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.flushHandle ??= setImmediate(() => this.flush());
    });
  }

  /** Commits every queued write in one transaction, then tells watchers and callers. */
  private flush(reserveReleases = 0): void {
    clearImmediate(this.flushHandle);
    this.flushHandle = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;

    // Preconditions see the batch's own earlier writes, exactly as if run one by one.
    const staged = new Map<string, KeyValue | null>();
    const lookup = (key: string) =>
      staged.has(key) ? (staged.get(key) ?? undefined) : this.current.get(key);
    const outcomes: (KeyValue | Error)[] = [];
    const events: StoreEvent[] = [];
    let rev = this.rev;
    for (const { op } of batch) {
      const existing = lookup(op.key);
      const refused = checkPrecondition(op, existing);
      if (refused) {
        outcomes.push(refused);
        continue;
      }
      // etcd's space alarm: only deletes (which make room) are let through
      if (this.spaceAlarm && op.kind !== 'delete') {
        outcomes.push(new NoSpaceError(this.location));
        continue;
      }
      rev++;
      const e =
        op.kind === 'create'
          ? event('put', kv(op.key, op.value, rev, rev))
          : op.kind === 'update'
            ? event('put', kv(op.key, op.value, existing!.createRevision, rev), existing)
            : event('delete', kv(op.key, existing!.value, existing!.createRevision, rev), existing);
      events.push(e);
      staged.set(op.key, e.type === 'put' ? e.kv : null);
      outcomes.push(e.kv);
    }

    if (events.length > 0) {
      try {
        this.commitRows(events);
      } catch (err) {
        if (this.isDiskFull(err)) {
          // raise the alarm (which gives back part of the reserve), or give back the rest, then
          // let this batch's deletes through
          if (reserveReleases < 2 && (!this.spaceAlarm || this.reserveSize() > 0)) {
            if (!this.spaceAlarm) this.raiseSpaceAlarm(err as Error);
            else fs.rmSync(this.reserveFile!, { force: true });
            this.queue = [...batch, ...this.queue];
            this.flush(reserveReleases + 1);
            return;
          }
          for (const w of batch) w.reject(new NoSpaceError(this.location, err));
          return;
        }
        for (const w of batch) w.reject(err as Error);
        return;
      }
      this.stats.transactions++;
      this.stats.writes += events.length;
      this.rev = rev;
      this.applyToMemory(staged);
      for (const e of events) this.recent.push(e);
      this.publish(events);
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) w.reject(outcome);
      else w.resolve(outcome);
    });
  }

  private applyToMemory(staged: Map<string, KeyValue | null>): void {
    for (const [key, value] of staged) {
      if (this.current.has(key) !== (value !== null)) this.reshaped.add(key);
      if (value) this.current.set(key, value);
      else this.current.delete(key);
    }
  }

  private keysInOrder(): string[] {
    if (this.reshaped.size === 0) return this.sortedKeys;
    const old = this.sortedKeys;
    const dropped = new Set<number>();
    for (const key of this.reshaped) {
      const i = lowerBound(old, key);
      if (old[i] === key) dropped.add(i);
    }
    const added = [...this.reshaped].filter((k) => this.current.has(k)).sort(compareKeys);
    this.reshaped.clear();
    const merged: string[] = [];
    let a = 0;
    for (let i = 0; i < old.length; i++) {
      if (dropped.has(i)) continue;
      const key = old[i]!;
      while (a < added.length && added[a]! < key) merged.push(added[a++]!);
      merged.push(key);
    }
    while (a < added.length) merged.push(added[a++]!);
    this.sortedKeys = merged;
    return merged;
  }

  private publish(events: StoreEvent[]): void {
    this.watches.publish(events);
  }

  private startAutoCompact(opts: AutoCompactOptions): void {
    const keep = opts.minRetainedRevisions ?? 0;
    let previousRun = this.rev;
    this.compactTimer = setInterval(
      () => {
        const target = Math.min(previousRun, this.rev - keep);
        previousRun = this.rev;
        if (target > this.compacted) this.compact(target).catch(warnCompactionFailed);
      },
      (opts.intervalMinutes ?? 5) * 60_000,
    );
    this.compactTimer.unref();
  }

  /**
   * Removes the rows compaction made unreadable: superseded values and delete markers at or
   * below the compacted revision. Reads below it are refused from the moment it is recorded,
   * so the removal can trail behind in small transactions while writes and watches go on.
   */
  private sweepHistory(): Promise<void> {
    this.sweeping ??= (async () => {
      while (!this.closed && this.swept < this.compacted) {
        // Each pass starts from the oldest row: a row kept by an earlier compaction (the live
        // value then) may be superseded by now.
        const target = this.compacted;
        let lo = 0;
        while (!this.closed && lo < target) {
          const next = this.sweepBoundary.get(lo, SWEEP_ROWS - 1) as { rev: number } | undefined;
          const hi = Math.min(target, next?.rev ?? target);
          this.dropSuperseded.run({ lo, hi, c: target });
          lo = hi;
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (!this.closed) this.swept = target;
      }
    })().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private readonly spaceCheckMs: number;

  private isDiskFull(err: unknown): boolean {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return true;
    // some write paths report a full disk as a plain I/O error
    return code.startsWith('SQLITE_IOERR') && this.freeBytes() < 1 << 20;
  }

  private freeBytes(): number {
    if (this.location === 'memory') return Infinity;
    try {
      const st = fs.statfsSync(this.location);
      return st.bavail * st.bsize;
    } catch {
      return Infinity;
    }
  }

  private raiseSpaceAlarm(cause: Error): void {
    if (this.spaceAlarm) return;
    this.spaceAlarm = true;
    // Half the reserve goes now, so deletes can commit; the other half stays for a restart on
    // a disk that something else fills meanwhile (or goes when deletes need it too).
    const size = this.reserveSize();
    if (size > this.reserveBytes / 2) fs.truncateSync(this.reserveFile!, Math.floor(this.reserveBytes / 2));
    else if (this.reserveFile) fs.rmSync(this.reserveFile, { force: true });
    this.log(
      `petset store: space alarm: the disk holding ${this.location} is full (${cause.message}); writes are refused, reads and deletes go on; writes resume once space is freed`,
    );
    this.spaceTimer = setInterval(() => this.checkSpace(), this.spaceCheckMs);
    this.spaceTimer.unref();
  }

  /** Clears the alarm once the reserve fits again with as much room to spare. */
  private checkSpace(): void {
    if (!this.spaceAlarm || this.closed) return;
    if (this.freeBytes() < 2 * this.reserveBytes + (1 << 20)) return;
    if (!this.writeReserve()) return;
    this.spaceAlarm = false;
    clearInterval(this.spaceTimer);
    this.spaceTimer = undefined;
    this.log(`petset store: space alarm cleared: there is room on the disk holding ${this.location} again; writes resume`);
  }

  private reserveSize(): number {
    if (!this.reserveFile) return 0;
    return fs.statSync(this.reserveFile, { throwIfNoEntry: false })?.size ?? 0;
  }

  /**
   * Fills the reserve file up to its size (written, so the blocks are really taken); false when
   * the disk has no room for it, with whatever part was reserved before still reserved.
   * The write takes the blocks (a full disk fails it with ENOSPC); the fsync that puts them on
   * disk runs in the thread pool: waiting for it held up every start by ~10 ms.
   */
  private writeReserve(): boolean {
    if (!this.reserveFile || this.reserveBytes <= 0) return true;
    const had = this.reserveSize();
    if (had >= this.reserveBytes) return true;
    const fd = fs.openSync(this.reserveFile, had > 0 ? 'r+' : 'w', 0o600);
    try {
      const chunk = Buffer.alloc(Math.min(this.reserveBytes, 1 << 20));
      for (let done = had; done < this.reserveBytes; ) {
        done += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, this.reserveBytes - done), done);
      }
    } catch (err) {
      try {
        fs.ftruncateSync(fd, had);
      } finally {
        fs.closeSync(fd);
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') return false;
      throw err;
    }
    // a failed fsync loses nothing the next start does not write again
    fs.fsync(fd, () => fs.close(fd, () => {}));
    return true;
  }

  /** A store opened on a full disk starts with the alarm raised rather than not at all. */
  private ensureReserveAtStart(): void {
    if (!this.writeReserve()) this.raiseSpaceAlarm(new Error('no room for the space reserve'));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}

function warnCompactionFailed(err: Error): void {
  // Not fatal: history just grows until a later compaction succeeds.
  process.emitWarning(`petset store: compaction failed: ${err.message}`);
}

function checkPrecondition(op: WriteOp, existing: KeyValue | undefined): Error | undefined {
  if (op.kind === 'create') return existing ? new KeyExistsError(op.key, existing) : undefined;
  if (!existing) return new KeyNotFoundError(op.key);
  if (op.expected !== undefined && op.expected !== existing.modRevision) {
    return new ConflictError(op.key, existing);
  }
  return undefined;
}

/** Recent events, one per revision with no gaps, in a fixed-size circular buffer. */
class EventRing {
  private readonly slots: StoreEvent[] = [];
  private head = 0;

  constructor(private readonly capacity: number) {}

  push(e: StoreEvent): void {
    if (this.capacity <= 0) return;
    if (this.slots.length < this.capacity) {
      this.slots.push(e);
    } else {
      this.slots[this.head] = e;
      this.head = (this.head + 1) % this.capacity;
    }
  }

  /** Events after `after`, or undefined when some of them are older than the buffer. */
  since(after: number, latest: number): StoreEvent[] | undefined {
    if (after >= latest) return [];
    const count = this.slots.length;
    if (count === 0) return undefined;
    const oldest = this.slots[this.head]!.revision;
    if (after + 1 < oldest) return undefined;
    const out: StoreEvent[] = [];
    for (let i = after + 1 - oldest; i < count; i++) out.push(this.slots[(this.head + i) % count]!);
    return out;
  }
}

function kv(key: string, value: string, createRevision: number, modRevision: number): KeyValue {
  return Object.freeze({ key, value, createRevision, modRevision });
}

function event(type: StoreEvent['type'], value: KeyValue, prev?: KeyValue): StoreEvent {
  const revision = value.modRevision;
  return Object.freeze(prev ? { type, kv: value, prev, revision } : { type, kv: value, revision });
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** index of the first key >= target */
function lowerBound(keys: string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
