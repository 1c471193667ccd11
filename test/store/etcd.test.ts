// The etcd store against Debian's etcd: the shared store contract, plus what only etcd has
// (keys readable by etcdctl, one etcd watch for many watchers, a feed that survives a compaction).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/server.js';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { collector, storeContract } from './contract.js';
import { StoreUnavailableError } from '../../src/store/store.js';
import { storeErrorToApi } from '../../src/apiserver/resource-storage.js';

let etcd: TestEtcd;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

async function emptyStore(): Promise<EtcdStore> {
  const store = await openEtcdStore({ endpoints: [etcd.endpoint], autoCompact: false, log: () => {} });
  // one etcd serves every test: each starts from an empty keyspace (its history stays)
  await store.client.delete().all();
  return store;
}

storeContract('etcd', emptyStore);

/** etcd's own count of watchers on its server (from its /metrics on the client port). */
async function etcdWatchers(): Promise<number> {
  const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  const m = /^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text);
  assert.ok(m, 'etcd reports its watcher count');
  return Number(m[1]);
}

describe('etcd store: what only etcd has', () => {
  test('keys are laid out as the API server names them and etcdctl reads them', async () => {
    const store = await emptyStore();
    try {
      await store.create('/registry/configmaps/default/one', '{"kind":"ConfigMap"}');
      const out = execFileSync('etcdctl', ['--endpoints', etcd.endpoint, 'get', '--prefix', '/registry/'], {
        env: { ...process.env, ETCDCTL_API: '3' },
        encoding: 'utf8',
      });
      assert.equal(out, '/registry/configmaps/default/one\n{"kind":"ConfigMap"}\n');
    } finally {
      await store.close();
    }
  });

  test('a hundred watchers share one etcd watch', async () => {
    const store = await emptyStore();
    try {
      // (watches of stores closed by earlier tests may still be ending on etcd's side, so the
      // count can only drop meanwhile: a hundred more etcd watches could not hide)
      const withFeed = await etcdWatchers();
      assert.ok(withFeed >= 1, 'the store holds its feed');
      const start = await store.revision();
      const watchers = Array.from({ length: 100 }, () => collector());
      for (const [i, w] of watchers.entries()) store.watch(i % 2 ? '/x/' : '/', start, w.handler);
      await store.create('/x/a', 'v');
      assert.ok(watchers.every((w) => w.events.length === 1));
      assert.ok((await etcdWatchers()) <= withFeed, 'no etcd watch per store watcher');
    } finally {
      await store.close();
    }
  });

  test('two stores on one etcd see each other\'s writes (two API servers)', async () => {
    const one = await emptyStore();
    const two = await openEtcdStore({ endpoints: [etcd.endpoint], autoCompact: false, log: () => {} });
    try {
      const w = collector();
      two.watch('/shared/', await two.revision(), w.handler);
      const made = await one.create('/shared/a', 'from one');
      await w.until(1);
      assert.deepEqual(w.events[0]!.kv, made);
      // the second sees the first's write as a conflict, not as a stale success
      await assert.rejects(two.update('/shared/a', 'from two', made.modRevision - 1), /revision conflict/);
      assert.equal((await two.update('/shared/a', 'from two', made.modRevision)).value, 'from two');
      assert.equal((await one.get('/shared/a'))!.value, 'from two');
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('a list at a revision compacted by another server is reported as compacted', async () => {
    const one = await emptyStore();
    const two = await openEtcdStore({ endpoints: [etcd.endpoint], autoCompact: false, log: () => {} });
    try {
      const a = await one.create('/c/a', '1');
      await one.update('/c/a', '2');
      await two.compact(await two.revision());
      const err = await one.list('/c/', { revision: a.modRevision }).catch((e) => e);
      assert.equal(err.constructor.name, 'CompactedError');
      assert.equal(err.compacted, a.modRevision + 1);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('a watch carries on across a restart of etcd without losing an event; writes meanwhile fail', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'petset-etcd-restart-'));
    let first: TestEtcd | undefined = await startEtcd({ dataDir });
    const port = Number(new URL(first.endpoint).port);
    let second: TestEtcd | undefined;
    const store = await openEtcdStore({ endpoints: [first.endpoint], autoCompact: false, requestTimeoutMs: 2000, log: () => {} });
    try {
      const w = collector();
      store.watch('/r/', await store.revision(), w.handler);
      await store.create('/r/before', '1');
      await first.stop();
      first = undefined;
      // refused as "unavailable", which the API server answers with a 500 ServerTimeout and
      // Retry-After, as upstream does for an unreachable etcd (clients retry)
      const down = await store.create('/r/while-down', 'x').catch((e) => e);
      assert.ok(down instanceof StoreUnavailableError, String(down));
      const status = storeErrorToApi(down)!.toStatus();
      assert.equal(status.code, 500);
      assert.equal(status.reason, 'ServerTimeout');
      assert.equal(status.details?.retryAfterSeconds, 2);
      second = await startEtcd({ dataDir, clientPort: port });
      // another client writes before this store's feed is back: the feed resumes where it was
      const other = await openEtcdStore({ endpoints: [second.endpoint], autoCompact: false, log: () => {} });
      await other.create('/r/by-other', '2');
      await other.close();
      await waitFor(() => store.create('/r/after', '3').then(() => true, () => false), 30_000, 'writes work again', 200);
      await w.until(3);
      assert.deepEqual(w.events.map((e) => e.kv.key), ['/r/before', '/r/by-other', '/r/after']);
      assert.deepEqual(w.errors, []);
    } finally {
      await store.close();
      await first?.stop();
      await second?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a feed cut off until its history was compacted ends every watch as compacted, then serves new watches', async () => {
    // the store reaches etcd through a TCP relay the test can cut, as a network partition would
    const target = new URL(etcd.endpoint);
    const sockets = new Set<net.Socket>();
    let open = true;
    const relay = net.createServer((client) => {
      if (!open) return client.destroy();
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const relayUrl = `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
    const store = await openEtcdStore({ endpoints: [relayUrl], autoCompact: false, requestTimeoutMs: 2000, log: () => {} });
    const direct = await emptyStore();
    try {
      const w = collector();
      const from = await store.revision();
      store.watch('/cut/', from, w.withCompaction());
      await store.create('/cut/a', '1');
      await w.until(1);

      open = false;
      for (const s of sockets) s.destroy();
      // meanwhile the cluster moves on and compacts the history the feed has not read
      // (etcd keeps the compaction revision itself readable: two writes put the feed's next one behind it)
      await direct.create('/cut/b', '2');
      await direct.create('/cut/b2', '2');
      await direct.compact(await direct.revision());
      open = true;

      await w.untilCompacted();
      assert.equal(w.compactions[0]!.requested, from + 1, 'the watch had been given the first write');
      assert.deepEqual(w.errors, []);
      // watches started now see new writes
      const next = collector();
      await waitFor(() => store.revision().then(() => true, () => false), 30_000, 'the store reaches etcd again', 200);
      store.watch('/cut/', await store.revision(), next.handler);
      await direct.create('/cut/c', '3');
      await next.until(1);
      assert.deepEqual(next.events.map((e) => e.kv.key), ['/cut/c']);
    } finally {
      await store.close();
      await direct.close();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });
});
