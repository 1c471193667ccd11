// Decoding values into each kind's shape: encoding/json's texts for what does not fit, null
// as absent, pruning of unknown fields.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { decodeTyped, goFormat, MAX_OBJECT_DEPTH } from '../../src/api/typed.js';

const registry = defaultRegistry();
const decode = (kindPlural: string, value: unknown, group = '') => {
  const kind = registry.kinds.find((k) => k.plural === kindPlural && k.group === group)!;
  return decodeTyped(value, registry.schema(kind), registry.definitions, { kindName: kind.kind });
};

const sts = (spec: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web' }, spec });

describe('decodeTyped', () => {
  it('refuses numbers outside int32 and int64 fields, and fractions, with the literal', () => {
    assert.equal(
      decode('statefulsets', sts({ replicas: 2147483648 }), 'apps').error,
      'json: cannot unmarshal number 2147483648 into Go struct field StatefulSetSpec.spec.replicas of type int32',
    );
    assert.equal(decode('statefulsets', sts({ replicas: 2147483647 }), 'apps').error, undefined);
    assert.equal(decode('statefulsets', sts({ replicas: -2147483648 }), 'apps').error, undefined);
    assert.equal(
      decode('statefulsets', sts({ replicas: 1.5 }), 'apps').error,
      'json: cannot unmarshal number 1.5 into Go struct field StatefulSetSpec.spec.replicas of type int32',
    );
    assert.equal(
      decode('pods', { metadata: { name: 'p', generation: 1e308 } }).error,
      'json: cannot unmarshal number 1e308 into Go struct field ObjectMeta.metadata.generation of type int64',
    );
  });

  it('names the JSON kind and the Go type for wrong types, the innermost struct and the field path without indices', () => {
    assert.equal(
      decode('statefulsets', sts({ replicas: '3' }), 'apps').error,
      'json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32',
    );
    assert.equal(
      decode('pods', { spec: { containers: [{ name: 'a', ports: [{ containerPort: 'x' }] }] } }).error,
      'json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
    );
    assert.equal(
      decode('pods', { spec: { containers: { name: 'a' } } }).error,
      'json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container',
    );
    assert.equal(decode('configmaps', { data: { a: 1 } }).error, 'json: cannot unmarshal number into Go struct field ConfigMap.data of type string');
    assert.equal(
      decode('pods', { metadata: { labels: { a: true } } }).error,
      'json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string',
    );
    assert.equal(decode('persistentvolumes', { spec: 'None' }).error, 'json: cannot unmarshal string into Go struct field PersistentVolume.spec of type v1.PersistentVolumeSpec');
  });

  it('treats null as absent, and as a zero value inside lists and maps', () => {
    const res = decode('pods', { metadata: { name: 'p', labels: { a: null } }, spec: { nodeName: null, containers: [null, { name: 'c', args: [null, 'x'] }] } });
    assert.equal(res.error, undefined);
    assert.deepEqual(res.value, { metadata: { name: 'p', labels: { a: '' } }, spec: { containers: [{}, { name: 'c', args: ['', 'x'] }] } });
    const node = decode('nodes', { status: { capacity: { cpu: null } } });
    assert.deepEqual(node.value, { status: { capacity: { cpu: '0' } } });
  });

  it('checks quantities, int-or-strings, times and base64 as their unmarshalers do', () => {
    const pvc = (storage: unknown) => ({ spec: { resources: { requests: { storage } } } });
    assert.equal(decode('persistentvolumeclaims', pvc('1Gx')).error, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    assert.equal(decode('persistentvolumeclaims', pvc(true)).error, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    assert.equal(decode('persistentvolumeclaims', pvc('1e99999999999')).error, "unable to parse quantity's suffix");
    assert.equal(decode('persistentvolumeclaims', pvc(5)).error, undefined);
    assert.equal(decode('persistentvolumeclaims', pvc(' 1Gi ')).error, undefined);
    const svc = (targetPort: unknown) => ({ spec: { ports: [{ port: 80, targetPort }] } });
    assert.equal(decode('services', svc('http')).error, undefined);
    assert.equal(decode('services', svc(2147483648)).error, 'json: cannot unmarshal number 2147483648 into Go value of type int32');
    assert.equal(decode('services', svc(false)).error, 'json: cannot unmarshal bool into Go value of type int32');
    assert.equal(decode('pods', { metadata: { creationTimestamp: 5 } }).error, 'json: cannot unmarshal number into Go value of type string');
    assert.match(decode('pods', { metadata: { creationTimestamp: 'yesterday' } }).error!, /^parsing time "yesterday" as "2006-01-02T15:04:05Z07:00"/);
    assert.equal(decode('secrets', { data: { a: 'Yg==' } }).error, undefined);
    assert.equal(decode('secrets', { data: { a: 'Yg=' } }).error, 'illegal base64 data at input byte 3');
    assert.equal(decode('secrets', { data: { a: 'a b' } }).error, 'illegal base64 data at input byte 1');
  });

  it('drops unknown fields and reports their paths with indices, without touching the input', () => {
    const input = { metadata: { name: 'p', bogus: 1 }, spec: { containers: [{ name: 'c', imagePullPolice: 'x' }] }, extra: { deep: {} } };
    const res = decode('pods', input);
    assert.deepEqual(res.unknown, ['metadata.bogus', 'spec.containers[0].imagePullPolice', 'extra']);
    assert.deepEqual(res.value, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } });
    assert.equal((input.metadata as any).bogus, 1);
  });

  it('takes top-level fields that hold the very object of an object decoded before as decoded (sharesWith), and only those', () => {
    const kind = registry.kinds.find((k) => k.plural === 'pods' && k.group === '')!;
    const current = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Pending' } };
    const patched = { metadata: { name: 'p' }, spec: current.spec, status: { phase: 'Running', bogus: 1 } };
    const res = decodeTyped(patched, registry.schema(kind), registry.definitions, { kindName: 'Pod', sharesWith: current });
    assert.deepEqual(res.unknown, ['status.bogus']);
    assert.deepEqual(res.value, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Running' } });
    // a different object in the same place is decoded
    const copied = { ...patched, spec: { containers: [{ name: 'c', imagePullPolice: 'x' }] }, status: { phase: 'Running' } };
    assert.deepEqual(decodeTyped(copied, registry.schema(kind), registry.definitions, { kindName: 'Pod', sharesWith: current }).unknown, ['spec.containers[0].imagePullPolice']);
  });

  it('keeps free-form content (RawExtension) and refuses values nested deeper than the limit', () => {
    const rev = { data: { any: { thing: [1, { x: null }] } }, revision: 1 };
    assert.deepEqual(decode('controllerrevisions', rev, 'apps').value, rev);
    let deep: unknown = 1;
    for (let i = 0; i < MAX_OBJECT_DEPTH + 5; i++) deep = { a: deep };
    assert.equal(decode('controllerrevisions', { data: deep }, 'apps').error, `json: exceeded max depth of ${MAX_OBJECT_DEPTH}`);
  });

  it('prints values as Go %+v does', () => {
    assert.equal(goFormat({ b: [1, 'x'], a: { c: null } }), 'map[a:map[c:<nil>] b:[1 x]]');
  });
});
