// Store figures: what one durable SQLite write costs on this machine, and what the store does
// with group commit on top of it. Run alone with `npx tsx bench/store.ts [dir]`.

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';

/** The cost of one fsync'd, un-batched commit (the same settings the store uses). */
export async function measureDurableWrite(dir: string, writes = 200): Promise<{ microsPerWrite: number }> {
  const work = mkdtempSync(join(dir, 'petset-fsync-'));
  const db = new Database(join(work, 'probe.db'));
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const value = 'x'.repeat(1024);
    insert.run(value); // the first commit also creates the WAL file
    const start = performance.now();
    for (let i = 0; i < writes; i++) insert.run(value); // autocommit: one transaction each
    return { microsPerWrite: ((performance.now() - start) * 1000) / writes };
  } finally {
    db.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export interface StoreBenchResult {
  writesPerSecond: number;
  writesPerTransaction: number;
  /** from create() to a watcher's handler, across all watchers */
  watchP50Ms: number;
  watchP99Ms: number;
}

/**
 * `clients` writers each creating keys back to back for `seconds`, while `watchers` watches
 * observe every write.
 */
export async function benchStore(dir: string, opts: StoreBenchOptions = {}): Promise<StoreBenchResult> {
  const work = mkdtempSync(join(dir, 'petset-store-bench-'));
  const store = openSqliteStore(join(work, 'state.db'), { autoCompact: false });
  try {
    const r = await benchAnyStore(store, opts);
    return { ...r, writesPerTransaction: store.stats.writes / store.stats.transactions };
  } finally {
    await store.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export interface StoreBenchOptions {
  clients?: number;
  seconds?: number;
  watchers?: number;
  valueBytes?: number;
}

/** The same load on any store (SQLite, etcd): creates/s and the create-to-watcher latency. */
export async function benchAnyStore(
  store: Store,
  { clients = 16, seconds = 2, watchers = 100, valueBytes = 1024 }: StoreBenchOptions = {},
): Promise<Omit<StoreBenchResult, 'writesPerTransaction'>> {
  const prefix = `/bench/${Date.now()}/`;
  const stops: (() => void)[] = [];
  try {
    const from = await store.revision();
    const requestedAt = new Map<string, number>();
    const latencies: number[] = [];
    for (let i = 0; i < watchers; i++) {
      const w = store.watch(prefix, from, {
        onEvents(events) {
          const now = performance.now();
          for (const e of events) latencies.push(now - requestedAt.get(e.kv.key)!);
        },
      });
      stops.push(() => w.stop());
    }
    const value = 'x'.repeat(valueBytes);
    const deadline = performance.now() + seconds * 1000;
    let written = 0;
    const client = async (id: number) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const key = `${prefix}${id}/${n}`;
        requestedAt.set(key, performance.now());
        await store.create(key, value);
        written++;
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
    const elapsed = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    return { writesPerSecond: written / elapsed, watchP50Ms: at(0.5), watchP99Ms: at(0.99) };
  } finally {
    for (const stop of stops) stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? tmpdir();
  const durable = await measureDurableWrite(dir);
  console.log(`durable single write: ${durable.microsPerWrite.toFixed(0)} µs (${(1e6 / durable.microsPerWrite).toFixed(0)}/s un-batched)`);
  for (const clients of [1, 16, 64]) {
    const r = await benchStore(dir, { clients });
    console.log(
      `${clients} clients: ${r.writesPerSecond.toFixed(0)} creates/s, ${r.writesPerTransaction.toFixed(1)} writes/transaction, ` +
        `watch (100 watchers) p50 ${r.watchP50Ms.toFixed(2)} ms p99 ${r.watchP99Ms.toFixed(2)} ms`,
    );
  }
}
