import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ItemExponentialRateLimiter, runWorkers, WorkQueue } from '../../src/client/workqueue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('holds a waiting key once and hands keys out in order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('c');
    q.add('b');
    assert.equal(q.len(), 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
    assert.equal(q.len(), 0);
  });

  it('re-queues a key added while processing only after done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    assert.equal(key, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not queued while a worker holds it');
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await sleep(1);
    assert.equal(second, undefined, 'no second worker gets it');
    q.done('a');
    await sleep(0);
    assert.equal(second, 'a');
    q.done('a');
    assert.equal(q.len(), 0, 'the two re-adds were one');
  });

  it('wakes a waiting worker on add', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add('x');
    assert.equal(await got, 'x');
  });

  it('delays addAfter, keeping the earliest time per key', async () => {
    const q = new WorkQueue();
    const t0 = Date.now();
    q.addAfter('a', 40);
    q.addAfter('a', 200);
    q.addAfter('b', 60);
    q.addAfter('b', 20);
    q.addAfter('c', 0);
    assert.equal(await q.get(), 'c');
    assert.equal(await q.get(), 'b');
    assert.ok(Date.now() - t0 >= 18);
    assert.equal(await q.get(), 'a');
    const waited = Date.now() - t0;
    assert.ok(waited >= 38 && waited < 190, `a came after ${waited}ms`);
    q.shutDown();
  });

  it('backs off per key exponentially from 5 ms to 1000 s, until forgotten', () => {
    const limiter = new ItemExponentialRateLimiter<string>();
    assert.deepEqual([1, 2, 3, 4, 5].map(() => limiter.when('a')), [5, 10, 20, 40, 80]);
    assert.equal(limiter.when('b'), 5, 'per key');
    assert.equal(limiter.numRequeues('a'), 5);
    for (let i = 0; i < 40; i++) limiter.when('a');
    assert.equal(limiter.when('a'), 1_000_000);
    limiter.forget('a');
    assert.equal(limiter.numRequeues('a'), 0);
    assert.equal(limiter.when('a'), 5);
  });

  it('adds rate-limited keys after their back-off', async () => {
    const q = new WorkQueue<string>(new ItemExponentialRateLimiter(10, 1000));
    const t0 = Date.now();
    q.addRateLimited('a');
    assert.equal(q.len(), 0);
    assert.equal(await q.get(), 'a');
    assert.ok(Date.now() - t0 >= 8);
    q.done('a');
    q.addRateLimited('a');
    assert.equal(q.numRequeues('a'), 2);
    const t1 = Date.now();
    await q.get();
    assert.ok(Date.now() - t1 >= 18, 'second retry waits twice as long');
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.shutDown();
  });

  it('drains on shutDown, then answers undefined and refuses new keys', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('a');
    assert.equal(await waiting, 'a');
    q.add('b');
    q.addAfter('c', 5);
    q.shutDown();
    q.add('d');
    assert.equal(await q.get(), 'b');
    assert.equal(await q.get(), undefined);
    await sleep(10);
    assert.equal(q.len(), 0, 'delayed keys are dropped');
    const q2 = new WorkQueue();
    const blocked = q2.get();
    q2.shutDown();
    assert.equal(await blocked, undefined);
    assert.equal(q2.isShuttingDown(), true);
  });
});

describe('runWorkers', () => {
  it('never runs one key on two workers, and processes re-adds after done', async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    const runs = new Map<string, number>();
    let maxParallel = 0;
    const workers = runWorkers(q, 4, async (key) => {
      assert.ok(!active.has(key), `${key} is processed twice at once`);
      active.add(key);
      maxParallel = Math.max(maxParallel, active.size);
      runs.set(key, (runs.get(key) ?? 0) + 1);
      await sleep(3);
      active.delete(key);
    });
    for (let round = 0; round < 5; round++) {
      for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) q.add(k);
      await sleep(2);
    }
    while (q.len() > 0 || active.size > 0) await sleep(2);
    q.shutDown();
    await workers;
    assert.ok(maxParallel > 1 && maxParallel <= 4, `parallelism ${maxParallel}`);
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) assert.ok((runs.get(k) ?? 0) >= 2, `${k} ran ${runs.get(k)} times`);
  });

  it('retries failures with back-off and forgets on success', async () => {
    const q = new WorkQueue<string>(new ItemExponentialRateLimiter(2, 100));
    const attempts: number[] = [];
    const errs: string[] = [];
    const t0 = Date.now();
    const workers = runWorkers(
      q,
      2,
      async () => {
        attempts.push(Date.now() - t0);
        if (attempts.length < 4) throw new Error(`fail ${attempts.length}`);
      },
      { onError: (key, e) => errs.push(`${key}: ${(e as Error).message}`) },
    );
    q.add('k');
    while (attempts.length < 4) await sleep(2);
    await sleep(5);
    assert.deepEqual(errs, ['k: fail 1', 'k: fail 2', 'k: fail 3']);
    assert.equal(q.numRequeues('k'), 0, 'forgotten after success');
    assert.ok(attempts[3] - attempts[0] >= 2 + 4 + 8 - 2, `back-off grew: ${attempts}`);
    q.shutDown();
    await workers;
  });

  it('honours requeueAfter and requeue', async () => {
    const q = new WorkQueue<string>(new ItemExponentialRateLimiter(1, 10));
    const seen: string[] = [];
    let t: number | undefined;
    const workers = runWorkers(q, 1, async (key) => {
      seen.push(key);
      if (key === 'later' && seen.filter((k) => k === 'later').length === 1) {
        t = Date.now();
        return { requeueAfter: 30 };
      }
      if (key === 'again' && seen.filter((k) => k === 'again').length === 1) return { requeue: true };
    });
    q.add('later');
    q.add('again');
    while (seen.length < 4) await sleep(2);
    assert.deepEqual(seen, ['later', 'again', 'again', 'later']);
    assert.ok(Date.now() - t! >= 28);
    q.shutDown();
    await workers;
  });
});
