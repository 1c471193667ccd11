// The store's answers for what can go wrong with stored data: values that cannot be read,
// revisions in the future, starts older than the retained history.
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite.js';
import { FutureRevisionError, type StoreEvent } from '../../src/store/store.js';

const opened: SqliteStore[] = [];
const dirs: string[] = [];

function fileStore(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
  const store = openSqliteStore(path, { autoCompact: false, spaceReserveBytes: 0, log: () => {}, ...opts });
  opened.push(store);
  return store;
}

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'petset-store-hard-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('sqlite store: hardening', () => {
  test('the database file is private to its owner from the start', async () => {
    const path = tempFile();
    const store = fileStore(path);
    await store.create('/s', 'secret');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
  });

  test('a row that is not text is set aside when the store opens; the rest loads and revisions never repeat', async () => {
    const path = tempFile();
    const first = fileStore(path);
    await first.create('/ok', 'fine');
    await first.close();
    const db = new Database(path);
    db.prepare('INSERT INTO log (rev, key, created, deleted, value) VALUES (2, ?, 2, 0, ?)').run('/blob', Buffer.from([0xff, 0x00]));
    db.close();

    const second = fileStore(path);
    assert.deepEqual(second.setAsideWhileLoading().map((q) => q.key), ['/blob']);
    assert.equal(await second.get('/blob'), undefined);
    assert.equal((await second.get('/ok'))?.value, 'fine');
    assert.equal(await second.revision(), 2, 'the set-aside revision stays used');
    const next = await second.create('/after', 'x');
    assert.equal(next.modRevision, 3);
    const q = await second.quarantined();
    assert.equal(q.length, 1);
    assert.match(q[0]!.reason, /not a text value \(value is binary\)/);
  });

  test('quarantine moves a key and its history aside without a new revision, and survives reopening', async () => {
    const path = tempFile();
    const store = fileStore(path);
    await store.create('/a', '1');
    await store.update('/a', '{broken');
    await store.create('/b', '2');
    assert.equal(await store.quarantine!('/a', 'not JSON'), true);
    assert.equal(await store.quarantine!('/missing', 'x'), false);
    assert.equal(await store.get('/a'), undefined);
    assert.deepEqual((await store.list('/')).items.map((kv) => kv.key), ['/b']);
    assert.equal(await store.revision(), 3);
    await store.close();
    const again = fileStore(path);
    assert.equal(await again.revision(), 3);
    assert.equal(await again.get('/a'), undefined);
    assert.deepEqual(
      (await again.quarantined!()).map((q) => [q.key, q.revision, q.reason]),
      [['/a', 2, 'not JSON']],
    );
    assert.equal((await again.create('/c', '3')).modRevision, 4);
  });

  test('a list at a revision the store has not reached fails with FutureRevisionError', async () => {
    const store = fileStore(tempFile());
    await store.create('/a', '1');
    await assert.rejects(store.list('/', { revision: 5 }), (e: unknown) => e instanceof FutureRevisionError && e.requested === 5 && e.current === 1);
  });

  test('a watch from a compacted revision is told so as data, and a watch from the compacted revision on works', async () => {
    const store = fileStore(tempFile());
    for (let i = 0; i < 5; i++) await store.create(`/w/${i}`, 'v');
    await store.compact(4);
    const told = await new Promise<[number, number]>((resolve) => {
      store.watch('/w/', 2, { onEvents: () => assert.fail('no events after compaction'), onCompacted: (c, r) => resolve([c, r]) });
    });
    assert.deepEqual(told, [4, 2]);
    const events: StoreEvent[] = [];
    const w = store.watch('/w/', 4, { onEvents: (e) => events.push(...e), onCompacted: () => assert.fail('not compacted') });
    await store.create('/w/5', 'v');
    while (events.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(events.map((e) => e.revision), [5, 6]);
    w.stop();
  });

  test('scheduled compaction keeps one interval of history by default', async () => {
    const store = fileStore(tempFile(), { autoCompact: { intervalMinutes: 0.0005 } });
    for (let i = 0; i < 10; i++) await store.create(`/ac/${i}`, 'v');
    // the first run marks revision 10; a later one compacts to it
    while ((await store.compactedRevision()) < 10) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await store.list('/ac/')).items.length, 10);
  });
});

describe('start-up quarantine decisions', () => {
  test('whyUnservable names what is wrong with a stored value, and passes a good one', async () => {
    const { whyUnservable } = await import('../../src/cli/quarantine.js');
    const { defaultRegistry } = await import('../../src/api/kinds/index.js');
    const registry = defaultRegistry();
    const cm = registry.kind('', 'v1', 'ConfigMap')!;
    const key = '/registry/configmaps/default/a';
    const good = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default', uid: 'u' }, data: { k: 'v' } });
    assert.equal(whyUnservable(cm, key, good), undefined);
    assert.match(whyUnservable(cm, key, '{"metadata":')!, /not JSON/);
    assert.match(whyUnservable(cm, key, '[1]')!, /not a JSON object/);
    assert.match(whyUnservable(cm, key, '{"metadata":7}')!, /no metadata/);
    assert.match(whyUnservable(cm, key, JSON.stringify({ metadata: { name: 'b', namespace: 'default' } }))!, /metadata\.name "b" is not its key's "a"/);
    assert.match(whyUnservable(cm, key, JSON.stringify({ metadata: { name: 'a', namespace: 'other' } }))!, /metadata\.namespace "other"/);
    assert.match(whyUnservable(cm, key, JSON.stringify({ kind: 'Secret', metadata: { name: 'a', namespace: 'default' } }))!, /kind "Secret" is not ConfigMap/);
  });
});
