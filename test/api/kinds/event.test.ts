import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventKind } from '../../../src/api/kinds/event.js';
import type { KubeObject } from '../../../src/api/object.js';
import { create, created, row } from './pipeline.js';

function event(extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web-0.17a', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: 'u-1', apiVersion: 'v1', fieldPath: 'spec.containers{nginx}' },
    reason: 'Pulled',
    message: 'Container image "nginx" already present on machine ',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: '2025-01-01T00:00:00Z',
    lastTimestamp: '2025-01-01T00:04:00Z',
    count: 3,
    type: 'Normal',
    ...extra,
  };
}

describe('Event', () => {
  it('legacy events must be in the namespace of their object', () => {
    assert.deepEqual(create(eventKind, event()).errors, []);
    const { errors } = create(eventKind, event({ involvedObject: { kind: 'Pod', namespace: 'other', name: 'x' } }));
    assert.deepEqual(errors, ['involvedObject.namespace: Invalid value: "other": does not match event.namespace']);
    // cluster-scoped objects report into default
    assert.deepEqual(create(eventKind, event({ involvedObject: { kind: 'Node', name: 'node-1' } })).errors, []);
  });

  it('events with eventTime need the reporting fields', () => {
    const { errors } = create(eventKind, event({ eventTime: '2025-01-01T00:00:00.000001Z', reason: '' }));
    assert.deepEqual(errors, [
      'reportingComponent: Required value',
      'reportingComponent: Invalid value: "": name part must be non-empty',
      'reportingInstance: Required value',
      'action: Required value',
      'reason: Required value',
    ]);
  });

  it('supports the field selectors kubectl describe sends', () => {
    const obj = created(eventKind, event());
    const f = eventKind.fields!;
    assert.equal(f['involvedObject.name'](obj), 'web-0');
    assert.equal(f['involvedObject.uid'](obj), 'u-1');
    assert.equal(f['involvedObject.kind'](obj), 'Pod');
    assert.equal(f['source'](obj), 'kubelet');
    assert.equal(f['source'](created(eventKind, event({ source: {}, reportingComponent: 'petset/statefulset' }))), 'petset/statefulset');
    assert.equal(f['type'](obj), 'Normal');
  });

  it('prints upstream event columns', () => {
    const obj = created(eventKind, event());
    assert.deepEqual(row(eventKind, obj), {
      'Last Seen': '60s',
      Type: 'Normal',
      Reason: 'Pulled',
      Object: 'pod/web-0',
      Subobject: 'spec.containers{nginx}',
      Source: 'kubelet, node-1',
      Message: 'Container image "nginx" already present on machine',
      'First Seen': '5m',
      Count: 3,
      Name: 'web-0.17a',
    });
    assert.deepEqual(
      eventKind.table!.columns.filter((c) => !c.priority).map((c) => c.name),
      ['Last Seen', 'Type', 'Reason', 'Object', 'Message'],
    );
  });

  it('series and new-style events print from eventTime and series', () => {
    const obj = created(
      eventKind,
      event({
        firstTimestamp: undefined,
        lastTimestamp: undefined,
        count: undefined,
        eventTime: '2025-01-01T00:03:00.000000Z',
        reportingComponent: 'petset/statefulset',
        reportingInstance: 'petset-1',
        action: 'Create',
        series: { count: 7, lastObservedTime: '2025-01-01T00:04:30.000000Z' },
      }),
    );
    const r = row(eventKind, obj);
    assert.equal(r['First Seen'], '2m');
    assert.equal(r['Last Seen'], '30s');
    assert.equal(r.Count, 7);
  });
});
