import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration, TimerQueue } from '../../src/agent/timers.js';
import { withWarnings } from '../support/warnings.js';

describe('durations', () => {
  it('parses Go-style durations and bare milliseconds', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('2s'), 2000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('400'), 400);
    assert.equal(parseDuration(' 3s '), 3000);
    for (const bad of ['', 'soon', '3 s', '2sx', '-1s', undefined]) assert.equal(parseDuration(bad), undefined, String(bad));
  });

  it('formats like time.Duration', () => {
    assert.equal(formatDuration(800), '800ms');
    assert.equal(formatDuration(10_000), '10s');
    assert.equal(formatDuration(80_000), '1m20s');
    assert.equal(formatDuration(300_000), '5m0s');
    assert.equal(formatDuration(3_600_000), '1h0m0s');
    assert.equal(formatDuration(1500), '1.5s');
  });
});

describe('TimerQueue', () => {
  it('waits for a deadline beyond what one Node timer holds (2^31 ms) instead of firing at once', async () => {
    const q = new TimerQueue();
    let farFired = false;
    q.after(2 ** 32, () => (farFired = true));
    await q.sleep(30);
    assert.equal(farFired, false);
    q.close();
  });

  it('runs callbacks in time order, skips cancelled ones, and stops when closed', async () => {
    const q = new TimerQueue();
    const ran: string[] = [];
    q.after(30, () => ran.push('c'));
    q.after(10, () => ran.push('a'));
    const cancel = q.after(20, () => ran.push('cancelled'));
    q.after(10, () => ran.push('b'));
    cancel();
    await q.sleep(50);
    assert.deepEqual(ran, ['a', 'b', 'c']);
    q.after(5, () => ran.push('late'));
    q.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(ran, ['a', 'b', 'c']);
    assert.equal(q.size, 0);
  });

  it('keeps working when a callback throws', async () => {
    const q = new TimerQueue();
    await withWarnings(async () => {
      q.after(1, () => {
        throw new Error('boom');
      });
      await q.sleep(5);
    });
  });
});

describe('TimerQueue when idle', () => {
  it('drops its Node timer once everything pending is cancelled', () => {
    const q = new TimerQueue();
    const cancel = q.after(3_600_000, () => assert.fail('cancelled'));
    assert.equal(q.size, 1);
    cancel();
    cancel();
    assert.equal(q.size, 0);
  });
});
