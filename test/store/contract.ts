// The store contract, run against every backend (SQLite, etcd). Revisions are counted from the
// store's revision when the test starts: etcd starts at 1 and other tests' writes stay in its
// history, so only the distances between revisions are the contract.
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompactedError,
  ConflictError,
  KeyExistsError,
  KeyNotFoundError,
  type Store,
  type StoreEvent,
} from '../../src/store/store.js';

/** Collects watch events; `until(n)` waits for at least n of them. */
export function collector() {
  const events: StoreEvent[] = [];
  const batches: StoreEvent[][] = [];
  const errors: Error[] = [];
  const compactions: { compacted: number; requested: number }[] = [];
  let wake = () => {};
  return {
    events,
    batches,
    errors,
    compactions,
    handler: {
      onEvents(batch: StoreEvent[]) {
        batches.push(batch);
        events.push(...batch);
        wake();
      },
      onError(err: Error) {
        errors.push(err);
        wake();
      },
    },
    /** the same handler, also taking compaction as data */
    withCompaction() {
      return {
        ...this.handler,
        onCompacted(compacted: number, requested: number) {
          compactions.push({ compacted, requested });
          wake();
        },
      };
    },
    async until(n: number) {
      while (events.length < n) await new Promise<void>((r) => (wake = r));
    },
    async untilCompacted() {
      while (compactions.length === 0) await new Promise<void>((r) => (wake = r));
    },
  };
}

/** Five writes the watch tests replay; `expectedAfter1` is what a watch after the first sees. */
export async function history(store: Store): Promise<void> {
  await store.create('/w/a', 'a1'); // 1
  await store.create('/other/z', 'z1'); // 2
  await store.update('/w/a', 'a2'); // 3
  await store.create('/w/b', 'b1'); // 4
  await store.delete('/w/a'); // 5
}
export const expectedAfter1 = ['put /w/a=a2@3 prev=a1@1', 'put /w/b=b1@4', 'delete /w/a=a2@5 prev=a2@3'];

/**
 * Runs the contract. `open` gives an empty store (no keys; its revision may be anything), which
 * the suite closes after each test.
 */
export function storeContract(backend: string, open: () => Promise<Store>): void {
  const opened: Store[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  /** a fresh store and `r(n)`: the revision n writes after its start */
  async function fresh() {
    const store = await open();
    opened.push(store);
    const base = await store.revision();
    return { store, base, r: (n: number) => base + n };
  }

  const summary = (events: StoreEvent[], base: number) =>
    events.map(
      (e) =>
        `${e.type} ${e.kv.key}=${e.kv.value}@${e.revision - base}${e.prev ? ` prev=${e.prev.value}@${e.prev.modRevision - base}` : ''}`,
    );

  describe(`${backend} store contract: reads and writes`, () => {
    test('create, get, update, delete and their errors', async () => {
      const { store, r } = await fresh();
      const a = await store.create('/a', 'one');
      assert.deepEqual(a, { key: '/a', value: 'one', createRevision: r(1), modRevision: r(1) });
      assert.deepEqual(await store.get('/a'), a);
      assert.equal(await store.get('/missing'), undefined);

      const exists = await store.create('/a', 'again').catch((e) => e);
      assert.ok(exists instanceof KeyExistsError);
      assert.deepEqual(exists.existing, a);

      const a2 = await store.update('/a', 'two', r(1));
      assert.deepEqual(a2, { key: '/a', value: 'two', createRevision: r(1), modRevision: r(2) });
      const conflict = await store.update('/a', 'stale', r(1)).catch((e) => e);
      assert.ok(conflict instanceof ConflictError);
      assert.deepEqual(conflict.current, a2);
      await assert.rejects(store.update('/nope', 'x'), KeyNotFoundError);
      await assert.rejects(store.update('/nope', 'x', r(1)), KeyNotFoundError);
      await assert.rejects(store.delete('/nope'), KeyNotFoundError);
      await assert.rejects(store.delete('/a', r(1)), ConflictError);
      // refused writes take no revision
      assert.equal(await store.revision(), r(2));

      const a3 = await store.update('/a', 'three');
      assert.equal(a3.modRevision, r(3));
      const gone = await store.delete('/a', r(3));
      assert.deepEqual(gone, { key: '/a', value: 'three', createRevision: r(1), modRevision: r(4) });
      assert.equal(await store.get('/a'), undefined);
      assert.equal(await store.revision(), r(4));

      const again = await store.create('/a', 'reborn');
      assert.deepEqual(again, { key: '/a', value: 'reborn', createRevision: r(5), modRevision: r(5) });
    });

    test('list: prefix, order, limit and continuation', async () => {
      const { store, r } = await fresh();
      for (const k of ['/p/c', '/p/a', '/q/x', '/p/b', '/p', '/pz', '/p/d']) await store.create(k, k);
      const all = await store.list('/p/');
      assert.deepEqual(all.items.map((i) => i.key), ['/p/a', '/p/b', '/p/c', '/p/d']);
      assert.equal(all.more, false);
      assert.equal(all.revision, r(7));

      const page1 = await store.list('/p/', { limit: 3 });
      assert.deepEqual(page1.items.map((i) => i.key), ['/p/a', '/p/b', '/p/c']);
      assert.equal(page1.more, true);
      assert.equal(page1.remaining, 1);
      const page2 = await store.list('/p/', { limit: 3, startKey: page1.items.at(-1)!.key + '\0' });
      assert.deepEqual(page2.items.map((i) => i.key), ['/p/d']);
      assert.equal(page2.more, false);
      assert.equal(page2.remaining, 0);

      assert.equal((await store.list('')).items.length, 7);
      assert.deepEqual((await store.list('/p/', { startKey: '/a' })).items.length, 4);
    });

    test('lists agree with a simple model under random writes, now and at past revisions', async () => {
      const { store } = await fresh();
      const model = new Map<string, string>();
      const snapshots: { rev: number; keys: string[] }[] = [];
      let seed = 42;
      const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
      const modelKeys = (prefix: string) => [...model.keys()].filter((k) => k.startsWith(prefix)).sort();
      for (let round = 0; round < 40; round++) {
        const writes = Array.from({ length: 1 + random(20) }, () => `/m/${random(5)}/${random(40)}`);
        for (const key of writes) {
          if (model.has(key)) {
            model.delete(key);
            await store.delete(key);
          } else {
            model.set(key, key);
            await store.create(key, key);
          }
        }
        const prefix = `/m/${random(5)}/`;
        assert.deepEqual((await store.list(prefix)).items.map((i) => i.key), modelKeys(prefix));
        snapshots.push({ rev: await store.revision(), keys: modelKeys('/m/') });
      }
      for (const { rev, keys } of snapshots) {
        assert.deepEqual((await store.list('/m/', { revision: rev })).items.map((i) => i.key), keys);
        const paged: string[] = [];
        let startKey: string | undefined;
        for (;;) {
          const page = await store.list('/m/', { revision: rev, limit: 7, startKey });
          paged.push(...page.items.map((i) => i.key));
          assert.equal(page.remaining, keys.length - paged.length);
          if (!page.more) break;
          startKey = page.items.at(-1)!.key + '\0';
        }
        assert.deepEqual(paged, keys);
      }
    });

    test('list at a past revision, paged, and its errors', async () => {
      const { store, base, r } = await fresh();
      await store.create('/r/a', 'a1'); // 1
      await store.create('/r/b', 'b1'); // 2
      await store.create('/r/c', 'c1'); // 3
      await store.update('/r/a', 'a2'); // 4
      await store.delete('/r/b'); // 5
      await store.create('/r/d', 'd1'); // 6
      await store.create('/s/x', 'x1'); // 7

      const view = async (rev: number) =>
        (await store.list('/r/', { revision: rev })).items.map((i) => `${i.key}=${i.value}@${i.modRevision - base}`);
      assert.deepEqual(await view(r(3)), ['/r/a=a1@1', '/r/b=b1@2', '/r/c=c1@3']);
      assert.deepEqual(await view(r(5)), ['/r/a=a2@4', '/r/c=c1@3']);
      assert.deepEqual(await view(r(7)), ['/r/a=a2@4', '/r/c=c1@3', '/r/d=d1@6']);

      const page1 = await store.list('/r/', { revision: r(3), limit: 2 });
      assert.equal(page1.revision, r(3));
      assert.deepEqual(page1.items.map((i) => i.key), ['/r/a', '/r/b']);
      assert.equal(page1.more, true);
      assert.equal(page1.remaining, 1);
      const page2 = await store.list('/r/', { revision: r(3), limit: 2, startKey: '/r/b\0' });
      assert.deepEqual(page2.items.map((i) => i.key), ['/r/c']);
      assert.equal(page2.more, false);

      // a revision the store has not reached is refused, not answered with the latest
      await assert.rejects(store.list('/r/', { revision: r(8) }), RangeError);

      await store.compact(r(5));
      assert.equal(await store.compactedRevision(), r(5));
      const compacted = await store.list('/r/', { revision: r(4) }).catch((e) => e);
      assert.ok(compacted instanceof CompactedError, String(compacted));
      assert.equal(compacted.compacted, r(5));
      // the compaction point itself and everything after stay readable
      assert.deepEqual(await view(r(5)), ['/r/a=a2@4', '/r/c=c1@3']);
      assert.deepEqual(await view(r(6)), ['/r/a=a2@4', '/r/c=c1@3', '/r/d=d1@6']);
      // compacting to an older revision does nothing; to a future one is refused
      await store.compact(r(2));
      assert.equal(await store.compactedRevision(), r(5));
      await assert.rejects(store.compact(r(9)), RangeError);
    });
  });

  describe(`${backend} store contract: watch`, () => {

    test('replays history after a revision, then delivers live events', async () => {
      const { store, base, r } = await fresh();
      await history(store);
      const w = collector();
      store.watch('/w/', r(1), w.handler);
      assert.equal(w.events.length, 0, 'nothing is delivered before watch() returns');
      await w.until(3);
      assert.deepEqual(summary(w.events, base), expectedAfter1);
      assert.deepEqual(w.events[2]!.kv, { key: '/w/a', value: 'a2', createRevision: r(1), modRevision: r(5) });

      await store.create('/w/c', 'c1');
      await store.create('/other/y', 'y');
      await store.update('/w/b', 'b2');
      await w.until(5);
      assert.deepEqual(summary(w.events.slice(3), base), ['put /w/c=c1@6', 'put /w/b=b2@8 prev=b1@4']);
    });

    test('events committed between watch() and the replay follow the replay in order', async () => {
      const { store, r } = await fresh();
      await history(store);
      const w = collector();
      store.watch('/w/', r(3), w.handler);
      await store.create('/w/late', 'l');
      await w.until(3);
      assert.deepEqual(
        w.events.map((e) => e.revision),
        [r(4), r(5), r(6)],
      );
    });

    test('a watch from the revision of a list gets exactly the changes after it', async () => {
      const { store } = await fresh();
      await history(store);
      const listed = await store.list('/w/');
      const w = collector();
      store.watch('/w/', listed.revision, w.handler);
      await store.update('/w/b', 'b2');
      await w.until(1);
      assert.deepEqual(w.events.map((e) => `${e.type} ${e.kv.key}=${e.kv.value}`), ['put /w/b=b2']);
    });

    test('stop, throwing handlers and compaction', async () => {
      const { store, r } = await fresh();
      await history(store);
      const stopped = collector();
      const watcher = store.watch('/', r(5), stopped.handler);
      watcher.stop();
      const healthy = collector();
      store.watch('/', r(5), healthy.handler);
      const errors: Error[] = [];
      store.watch('/', r(5), {
        onEvents() {
          throw new Error('handler broke');
        },
        onError: (e) => errors.push(e),
      });
      await store.create('/w/x', 'x');
      await store.create('/w/y', 'y');
      await healthy.until(2);
      assert.equal(stopped.events.length, 0);
      assert.deepEqual(errors.map((e) => e.message), ['handler broke']);

      await store.compact(r(4));
      assert.throws(() => store.watch('/', r(3), collector().handler), CompactedError);
      const atCompaction = collector();
      store.watch('/w/', r(4), atCompaction.handler);
      await atCompaction.until(3);
      assert.deepEqual(
        atCompaction.events.map((e) => e.revision),
        [r(5), r(6), r(7)],
      );
    });

    test('compaction is reported to a watcher that takes it as data, after watch() returns', async () => {
      const { store, r } = await fresh();
      await history(store);
      await store.compact(r(4));
      const w = collector();
      store.watch('/w/', r(2), w.withCompaction());
      assert.equal(w.compactions.length, 0);
      await w.untilCompacted();
      assert.deepEqual(w.compactions, [{ compacted: r(4), requested: r(2) }]);
      assert.equal(w.events.length, 0);
    });

    test('a write is acknowledged after every watcher was given it', async () => {
      const { store } = await fresh();
      const watchers = Array.from({ length: 100 }, () => collector());
      const start = await store.revision();
      for (const w of watchers) store.watch('/f/', start, w.handler);
      await new Promise((r) => setImmediate(r));
      await store.create('/f/a', 'v');
      assert.ok(watchers.every((w) => w.events.length === 1));
      // and revision() never runs ahead of what watchers were given (bookmarks rely on it)
      const rev = await store.revision();
      assert.ok(watchers.every((w) => w.events.at(-1)!.revision === rev));
    });
  });
}
