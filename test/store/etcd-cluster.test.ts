// The etcd store over a 3-member etcd on loopback addresses: killing the leader during a burst
// of writes loses no acknowledged write, every write either succeeds or is refused as
// unavailable (retryable), and a watch sees every acknowledged write exactly once.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openEtcdStore } from '../../src/store/etcd.js';
import { StoreUnavailableError } from '../../src/store/store.js';
import { startEtcdCluster, type TestEtcdCluster } from '../support/etcd.js';
import { collector } from './contract.js';
import { waitFor } from '../support/server.js';

let cluster: TestEtcdCluster;
before(async () => {
  cluster = await startEtcdCluster(3);
});
after(async () => {
  await cluster?.stop();
});

describe('etcd store on a 3-member etcd', () => {
  test('killing the leader during writes loses no acknowledged write; failures are retryable', async () => {
    const store = await openEtcdStore({ endpoints: cluster.endpoints, autoCompact: false, requestTimeoutMs: 5000, log: () => {} });
    try {
      const w = collector();
      store.watch('/burst/', await store.revision(), w.handler);
      const acknowledged = new Map<string, number>();
      const refused: Error[] = [];
      let stop = false;
      const writer = async (id: number) => {
        for (let n = 0; !stop; n++) {
          const key = `/burst/${id}/${n}`;
          try {
            acknowledged.set(key, (await store.create(key, 'v')).modRevision);
          } catch (e) {
            refused.push(e as Error);
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      };
      const writers = Array.from({ length: 8 }, (_, i) => writer(i));
      await waitFor(() => acknowledged.size >= 100, 30_000, 'writes before the kill');
      const killed = cluster.leader();
      await cluster.kill(killed);
      const atKill = acknowledged.size;
      // the two left elect a leader and writes go on
      await waitFor(() => acknowledged.size >= atKill + 100, 60_000, 'writes after the kill');
      stop = true;
      await Promise.all(writers);

      for (const e of refused) assert.ok(e instanceof StoreUnavailableError || /exists/.test(e.message), `not retryable: ${e.message}`);
      // every acknowledged write is there, at the revision it was acknowledged with
      const listed = new Map((await store.list('/burst/')).items.map((kv) => [kv.key, kv.modRevision]));
      for (const [key, rev] of acknowledged) assert.equal(listed.get(key), rev, `acknowledged ${key} was lost`);
      // the watch saw each acknowledged write exactly once (a refused write that was in fact
      // applied shows up too, as it is in the store)
      await waitFor(() => [...acknowledged.keys()].every((k) => w.events.some((e) => e.kv.key === k)), 30_000, 'the watch caught up');
      const seen = w.events.map((e) => e.kv.key);
      assert.equal(new Set(seen).size, seen.length, 'no event twice');
      assert.deepEqual(w.errors, []);
    } finally {
      await store.close();
    }
  });
});
