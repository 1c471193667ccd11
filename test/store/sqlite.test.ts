import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite.js';
import { type StoreEvent } from '../../src/store/store.js';
import { collector, expectedAfter1, history, storeContract } from './contract.js';

const opened: SqliteStore[] = [];
const dirs: string[] = [];

function memStore(opts: SqliteStoreOptions = {}): SqliteStore {
  const store = openSqliteStore(':memory:', { autoCompact: false, ...opts });
  opened.push(store);
  return store;
}

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'petset-store-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}

function fileStore(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
  const store = openSqliteStore(path, { autoCompact: false, ...opts });
  opened.push(store);
  return store;
}

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const summary = (events: StoreEvent[]) =>
  events.map((e) => `${e.type} ${e.kv.key}=${e.kv.value}@${e.revision}${e.prev ? ` prev=${e.prev.value}@${e.prev.modRevision}` : ''}`);

storeContract('sqlite', async () => openSqliteStore(':memory:', { autoCompact: false }));

describe('sqlite store: reads and writes', () => {
  test('compaction drops superseded history and delete markers, keeps live keys', async () => {
    const store = memStore();
    await store.create('/k/live', 'v1'); // 1
    await store.update('/k/live', 'v2'); // 2
    await store.create('/k/dead', 'x'); // 3
    await store.delete('/k/dead'); // 4
    await store.update('/k/live', 'v3'); // 5
    const rows = () => (store.database.prepare('SELECT rev FROM log ORDER BY rev').all() as { rev: number }[]).map((r) => r.rev);
    await store.compact(4);
    assert.deepEqual(rows(), [2, 5]);
    assert.deepEqual(await store.get('/k/live'), { key: '/k/live', value: 'v3', createRevision: 1, modRevision: 5 });
    await store.compact(2); // older than the current compaction: nothing to do
    assert.equal(await store.compactedRevision(), 4);
    await assert.rejects(store.compact(6), RangeError);

    await store.update('/k/live', 'v4'); // 6: the row kept at 5 is now superseded
    await store.compact(6);
    assert.deepEqual(rows(), [6]);
  });

  test('removal of compacted history resumes after a restart', async () => {
    const path = tempFile();
    const first = fileStore(path);
    const keys = Array.from({ length: 1500 }, (_, i) => `/big/${i}`);
    await Promise.all(keys.map((k) => first.create(k, 'v1')));
    await Promise.all(keys.map((k) => first.update(k, 'v2')));
    const rowCount = (s: SqliteStore) =>
      (s.database.prepare('SELECT COUNT(*) AS n FROM log').get() as { n: number }).n;
    const compacting = first.compact(await first.revision());
    await first.close(); // cuts the removal short after its first slice
    await compacting;
    const second = fileStore(path);
    assert.equal(await second.compactedRevision(), 3000);
    assert.ok(rowCount(second) > 1500, 'the first run was interrupted');
    while (rowCount(second) > 1500) await new Promise((r) => setTimeout(r, 5));
    assert.equal((await second.list('/big/')).items.length, 1500);
  });

  test('auto-compaction keeps one interval and the newest revisions', async () => {
    const store = memStore({ autoCompact: { intervalMinutes: 0.0005, minRetainedRevisions: 5 } });
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.create(`/ac/${i}`, 'v')));
    // the first run only marks revision 30; the next compacts to min(30, 30 - 5)
    while ((await store.compactedRevision()) === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await store.compactedRevision(), 25);
    assert.equal((await store.list('/ac/')).items.length, 30);
  });

  test('revision and data survive reopening, even after compacting a trailing delete', async () => {
    const path = tempFile();
    const first = fileStore(path);
    assert.equal(first.database.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(first.database.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL');
    await first.create('/a', '1');
    await first.create('/b', '2');
    await first.update('/a', '3');
    await first.delete('/b'); // 4: the newest row is a delete marker
    await first.compact(4); // ...which compaction removes
    await first.close();

    const second = fileStore(path);
    assert.equal(await second.revision(), 4);
    assert.equal(await second.compactedRevision(), 4);
    assert.deepEqual(await second.get('/a'), { key: '/a', value: '3', createRevision: 1, modRevision: 3 });
    assert.equal(await second.get('/b'), undefined);
    assert.equal((await second.create('/c', '4')).modRevision, 5);
    await second.close();

    const third = fileStore(path);
    assert.equal(await third.revision(), 5);
    assert.deepEqual((await third.list('/')).items.map((i) => i.key), ['/a', '/c']);
  });

  test('a second process-level opener of the same file is refused', async () => {
    const path = tempFile();
    fileStore(path);
    assert.throws(() => openSqliteStore(path, { autoCompact: false }), /in use by another process/);
  });

  test('close commits writes still queued', async () => {
    const path = tempFile();
    const store = fileStore(path);
    const pending = [store.create('/x', '1'), store.create('/y', '2')];
    await store.close();
    await Promise.all(pending);
    await assert.rejects(store.create('/z', '3'), /closed/);
    const reopened = fileStore(path);
    assert.deepEqual((await reopened.list('/')).items.map((i) => i.key), ['/x', '/y']);
  });
});

describe('sqlite store: group commit', () => {
  test('concurrent writes share one transaction', async () => {
    const store = memStore();
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => store.create(`/n/${i}`, 'v')));
    assert.equal(store.stats.transactions, 1);
    assert.equal(store.stats.writes, 1000);
    assert.deepEqual(
      results.map((r) => r.modRevision),
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    await store.create('/n/after', 'v');
    assert.equal(store.stats.transactions, 2);
  });

  test('conflicting writes in one batch behave as if sequential', async () => {
    const store = memStore();
    const base = await store.create('/c', 'base'); // rev 1
    const outcomes = await Promise.allSettled([
      store.create('/c', 'dup'), // exists
      store.update('/c', 'first', base.modRevision), // ok, rev 2
      store.update('/c', 'second', base.modRevision), // stale now
      store.create('/d', 'd'), // rev 3
      store.delete('/d'), // rev 4, sees the create above
      store.create('/d', 'd again'), // rev 5
      store.update('/c', 'third', 2), // rev 6, sees 'first'
    ]);
    assert.equal(store.stats.transactions, 2);
    const shown = outcomes.map((o) =>
      o.status === 'fulfilled' ? `${o.value.value}@${o.value.modRevision}` : o.reason.constructor.name,
    );
    assert.deepEqual(shown, [
      'KeyExistsError',
      'first@2',
      'ConflictError',
      'd@3',
      'd@4',
      'd again@5',
      'third@6',
    ]);
    assert.equal(await store.revision(), 6);
  });

  test('a failed transaction rejects the whole batch and changes nothing', async () => {
    const store = memStore();
    await store.create('/ok', '1');
    const w = collector();
    store.watch('/', 1, w.handler);
    store.database.exec(
      `CREATE TRIGGER refuse BEFORE INSERT ON log WHEN NEW.key = '/bad' BEGIN SELECT RAISE(ABORT, 'refused'); END`,
    );
    const outcomes = await Promise.allSettled([
      store.update('/ok', '2'),
      store.create('/bad', 'x'),
      store.create('/ok', 'dup'),
    ]);
    assert.ok(outcomes.every((o) => o.status === 'rejected' && /refused/.test(String(o.reason))));
    assert.equal(await store.revision(), 1);
    assert.equal((await store.get('/ok'))!.value, '1');
    assert.equal(await store.get('/bad'), undefined);

    const next = await store.update('/ok', '3');
    assert.equal(next.modRevision, 2);
    await w.until(1);
    assert.deepEqual(summary(w.events), ['put /ok=3@2 prev=1@1']);
  });
});

describe('sqlite store: watch', () => {
  test('replay from the log matches replay from memory, including after reopening', async () => {
    const path = tempFile();
    const first = fileStore(path, { eventCacheSize: 2 });
    await history(first);
    const fromLog = collector();
    first.watch('/w/', 1, fromLog.handler);
    await fromLog.until(3);
    assert.deepEqual(summary(fromLog.events), expectedAfter1);
    await first.close();

    const second = fileStore(path);
    const afterReopen = collector();
    second.watch('/w/', 1, afterReopen.handler);
    await afterReopen.until(3);
    assert.deepEqual(summary(afterReopen.events), expectedAfter1);
  });
});

describe('sqlite store: durability', () => {
  test('every acknowledged write survives SIGKILL of the writing process', async () => {
    const path = tempFile();
    const moduleUrl = new URL('../../src/store/sqlite.js', import.meta.url).href;
    const child = `
      const { openSqliteStore } = await import(${JSON.stringify(moduleUrl)});
      const store = openSqliteStore(${JSON.stringify(path)}, { autoCompact: false });
      let n = 0;
      async function writer(w) {
        for (;;) {
          const kv = await store.create('/d/' + w + '/' + n++, 'v');
          process.stdout.write(kv.key + ' ' + kv.modRevision + '\\n');
        }
      }
      for (let w = 0; w < 16; w++) writer(w);
    `;
    const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('close', (_code, sig) => resolve(sig)));
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.length > 20_000 && !proc.killed) proc.kill('SIGKILL');
    });
    const signal = await exited;
    assert.equal(signal, 'SIGKILL', `child ended on its own: ${stderr}`);

    const acknowledged = out.split('\n').slice(0, -1).map((line) => line.split(' '));
    assert.ok(acknowledged.length > 500, `only ${acknowledged.length} writes acknowledged`);
    const store = fileStore(path);
    let maxRev = 0;
    for (const [key, rev] of acknowledged) {
      const kv = await store.get(key!);
      assert.equal(kv?.modRevision, Number(rev), `acknowledged ${key} at ${rev} was lost`);
      maxRev = Math.max(maxRev, Number(rev));
    }
    assert.ok((await store.revision()) >= maxRev);
    assert.ok((await store.create('/d/next', 'v')).modRevision > maxRev);
  });
});
