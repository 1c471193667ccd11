import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { Client } from '../../src/client/client.js';
import { EventRecorder } from '../../src/client/events.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { FakeApi } from './fake-api.js';
import { withWarnings } from '../support/warnings.js';

const set: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', namespace: 'prod', uid: 'u-1', resourceVersion: '42' },
};

function setup(host?: string) {
  const api = new FakeApi();
  const client = new Client(new InProcessTransport(api.handler));
  const rec = new EventRecorder(client, 'statefulset-controller', { host });
  const events = () => [...api.objects.values()].filter((o) => o.kind === 'Event');
  return { api, rec, events };
}

describe('EventRecorder', () => {
  it('creates Events shaped like client-go', async () => {
    const { rec, events } = setup();
    const before = Date.now();
    rec.event(set, 'Normal', 'SuccessfulCreate', 'create Pod web-0 in StatefulSet web successful');
    await rec.flush();
    const [ev] = events();
    assert.match(ev.metadata.name!, /^web\.[0-9a-f]{16}$/);
    const nanos = BigInt(`0x${ev.metadata.name!.slice(4)}`);
    assert.ok(nanos / 1_000_000n >= BigInt(before) - 1n && nanos / 1_000_000n <= BigInt(Date.now()), 'name carries wall-clock nanoseconds');
    assert.equal(ev.metadata.namespace, 'prod');
    assert.deepEqual(ev.involvedObject, { kind: 'StatefulSet', namespace: 'prod', name: 'web', uid: 'u-1', apiVersion: 'apps/v1', resourceVersion: '42' });
    assert.equal(ev.reason, 'SuccessfulCreate');
    assert.equal(ev.message, 'create Pod web-0 in StatefulSet web successful');
    assert.deepEqual(ev.source, { component: 'statefulset-controller' });
    assert.equal(ev.type, 'Normal');
    assert.equal(ev.count, 1);
    assert.equal(ev.reportingComponent, 'statefulset-controller');
    assert.equal(ev.reportingInstance, undefined);
    assert.match(ev.firstTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(ev.lastTimestamp, ev.firstTimestamp);
  });

  it('puts events about cluster-scoped objects in default', async () => {
    const { rec, events } = setup('node-1');
    rec.event({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', uid: 'n-1' } }, 'Warning', 'NodeNotReady', 'Node node-1 status is now: NodeNotReady');
    await rec.flush();
    const [ev] = events();
    assert.equal(ev.metadata.namespace, 'default');
    assert.equal(ev.involvedObject.namespace, undefined);
    assert.deepEqual(ev.source, { component: 'statefulset-controller', host: 'node-1' });
    assert.equal(ev.reportingInstance, 'node-1');
  });

  it('counts identical events on the first Event instead of making new ones', async () => {
    const { api, rec, events } = setup();
    rec.event(set, 'Warning', 'FailedCreate', 'quota exceeded');
    rec.event({ ...set, metadata: { ...set.metadata, resourceVersion: '43' } }, 'Warning', 'FailedCreate', 'quota exceeded');
    rec.event(set, 'Warning', 'FailedCreate', 'quota exceeded');
    rec.event(set, 'Warning', 'FailedCreate', 'something else');
    rec.event(set, 'Normal', 'FailedCreate', 'quota exceeded');
    await rec.flush();
    const evs = events();
    assert.equal(evs.length, 3);
    const first = evs.find((e) => e.message === 'quota exceeded' && e.type === 'Warning')!;
    assert.equal(first.count, 3);
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 2);
    assert.equal(patches[0].headers['content-type'], 'application/strategic-merge-patch+json');
    assert.equal(patches[0].path, `/api/v1/namespaces/prod/events/${first.metadata.name}`);
    assert.deepEqual(Object.keys(patches[1].body as object).sort(), ['count', 'lastTimestamp', 'message']);
    assert.equal((patches[1].body as any).count, 3);
  });

  it('starts a new Event when the counted one is gone', async () => {
    const { api, rec, events } = setup();
    rec.event(set, 'Normal', 'Scaled', 'up');
    await rec.flush();
    api.objects.clear();
    rec.event(set, 'Normal', 'Scaled', 'up');
    await rec.flush();
    assert.equal(events().length, 1);
    assert.equal(events()[0].count, 1);
  });

  it('never throws and logs failures', async () => {
    const { api, rec, events } = setup();
    await withWarnings(async (logged) => {
      api.canned.push(() => ({ status: 500, body: errors.internal('disk full').toStatus() }));
      rec.event(set, 'Normal', 'A', 'a');
      rec.event({ metadata: null } as unknown as KubeObject, 'Normal', 'B', 'b');
      rec.event(set, 'Normal', 'C', 'c');
      await rec.flush();
      assert.equal(events().length, 1);
      assert.equal(logged.length, 2);
      assert.ok(logged.some((m) => /could not record Normal A on StatefulSet prod\/web: Internal error occurred: disk full/.test(m)), logged.join('\n'));
      assert.ok(logged.some((m) => /could not record B/.test(m)));
    });
  });

  it('lets 25 events per object through, then throttles', async () => {
    const { rec, events } = setup();
    for (let i = 0; i < 30; i++) rec.event(set, 'Normal', `R${i}`, 'm');
    rec.event({ ...set, metadata: { ...set.metadata, name: 'db', uid: 'u-2' } }, 'Normal', 'R', 'm');
    await rec.flush();
    assert.equal(events().length, 26);
  });

  it('drops what waits without a word once stopped (a node agent going away)', async () => {
    const { rec, events } = setup();
    await withWarnings(async (logged) => {
      rec.event(set, 'Normal', 'Written', 'before the stop');
      await rec.flush();
      for (let i = 0; i < 5; i++) rec.event({ ...set, metadata: { ...set.metadata, name: `p-${i}`, uid: `u-p${i}` } }, 'Normal', 'Pending', 'queued');
      rec.stop();
      rec.event(set, 'Normal', 'Late', 'after the stop');
      await rec.flush();
      assert.deepEqual(events().map((e) => e.reason), ['Written']);
      assert.deepEqual(logged, []);
    });
  });

  it('keeps quiet about a write under way when it stopped, which then fails (the agent\'s transport is cut)', async () => {
    const { api, rec, events } = setup();
    await withWarnings(async (logged) => {
      api.canned.push(() => {
        rec.stop();
        return { status: 500, body: errors.internal('the API server cannot be reached').toStatus() };
      });
      rec.event(set, 'Normal', 'InFlight', 'written as the agent stops');
      await rec.flush();
      assert.equal(events().length, 0);
      assert.deepEqual(logged, []);
    });
  });
});
