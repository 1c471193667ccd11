// Events expire after the TTL from their last recorded time (kube-apiserver's --event-ttl).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expiredEvents, lastRecorded, startEventExpiry, type EventExpiry } from '../../src/apiserver/event-ttl.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const event = (name: string, lastTimestamp: string) => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'default' },
  involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
  reason: 'Test',
  message: 'hello',
  type: 'Normal',
  firstTimestamp: lastTimestamp,
  lastTimestamp,
  count: 1,
  source: { component: 'test' },
});

describe('event expiry', () => {
  it('decides from the latest recorded time', () => {
    const now = Date.parse('2026-01-01T02:00:00Z');
    const old = { metadata: { name: 'a', creationTimestamp: '2026-01-01T00:00:00Z' }, lastTimestamp: '2026-01-01T00:30:00Z' } as any;
    const recent = { metadata: { name: 'b', creationTimestamp: '2026-01-01T00:00:00Z' }, series: { lastObservedTime: '2026-01-01T01:30:00.000000Z' } } as any;
    assert.equal(lastRecorded(old), Date.parse('2026-01-01T00:30:00Z'));
    assert.deepEqual(expiredEvents([old, recent], now, 60 * 60 * 1000).map((e) => e.metadata.name), ['a']);
  });

  describe('against the API server', () => {
    let srv: TestServer;
    let expiry: EventExpiry;
    before(async () => {
      srv = await startTestServer();
      expiry = startEventExpiry(srv.api.storage, { ttlMs: 1500, intervalMs: 100 });
    });
    after(async () => {
      expiry.stop();
      await srv.stop();
    });

    it('deletes an event once its TTL ran out and keeps one recorded again', async () => {
      const kind = srv.api.registry.resource('', 'v1', 'events')!;
      const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await srv.api.storage.create(kind, 'default', event('goes', now()));
      await srv.api.storage.create(kind, 'default', event('stays', new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, 'Z')));
      await waitFor(async () => !(await srv.api.storage.tryGet(kind, 'default', 'goes')), 10_000, 'the expired event to be deleted');
      assert.ok(await srv.api.storage.tryGet(kind, 'default', 'stays'));
    });
  });
});
