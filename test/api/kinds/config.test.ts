import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configMapKind } from '../../../src/api/kinds/configmap.js';
import { secretKind } from '../../../src/api/kinds/secret.js';
import { serviceAccountKind } from '../../../src/api/kinds/serviceaccount.js';
import type { KubeObject } from '../../../src/api/object.js';
import { create, created, row, update } from './pipeline.js';

const cm = (extra: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, ...extra });
const secret = (extra: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, ...extra });
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('ConfigMap', () => {
  it('checks keys the way upstream words it', () => {
    const { errors } = create(configMapKind, cm({ data: { 'my key': 'x', '..dots': 'y', ok: 'z' }, binaryData: { ok: b64('z') } }));
    assert.deepEqual(errors, [
      "data[my key]: Invalid value: \"my key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
      "data[..dots]: Invalid value: \"..dots\": must not start with '..'",
      'data[ok]: Invalid value: "ok": duplicate of key present in binaryData',
      'binaryData[ok]: Invalid value: "ok": duplicate of key present in data',
    ]);
  });

  it('an immutable ConfigMap keeps its data and its flag', () => {
    const current = created(configMapKind, cm({ data: { a: '1' }, immutable: true }));
    const { errors } = update(configMapKind, cm({ data: { a: '2' } }), current);
    assert.deepEqual(errors, ['immutable: Forbidden: field is immutable when `immutable` is set', 'data: Forbidden: field is immutable when `immutable` is set']);
    assert.deepEqual(update(configMapKind, cm({ data: { a: '1' }, immutable: true, metadata: { name: 'cfg', namespace: 'default', labels: { x: 'y' } } }), current).errors, []);
  });

  it('counts text and binary keys', () => {
    assert.deepEqual(row(configMapKind, created(configMapKind, cm({ data: { a: '1', b: '2' }, binaryData: { c: b64('3') } }))), { Name: 'cfg', Data: 3, Age: '5m' });
  });

  it('rejects more than 1 MiB of data', () => {
    const { errors } = create(configMapKind, cm({ data: { big: 'x'.repeat(1024 * 1024 + 1) } }));
    assert.deepEqual(errors, ['Too long: must have at most 1048576 bytes']);
  });
});

describe('Secret', () => {
  it('defaults to Opaque and folds stringData into data', () => {
    const obj = created(secretKind, secret({ data: { a: b64('old'), keep: b64('k') }, stringData: { a: 'new', b: 'pässword' } }));
    assert.equal(obj.type, 'Opaque');
    assert.equal(obj.stringData, undefined);
    assert.deepEqual(obj.data, { a: b64('new'), keep: b64('k'), b: b64('pässword') });
  });

  it('requires the keys of well-known types', () => {
    assert.deepEqual(create(secretKind, secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c') } })).errors, ['data[tls.key]: Required value']);
    assert.deepEqual(create(secretKind, secret({ type: 'kubernetes.io/basic-auth' })).errors, ['data[username]: Required value', 'data[password]: Required value']);
    assert.deepEqual(create(secretKind, secret({ type: 'kubernetes.io/service-account-token' })).errors, [
      'metadata.annotations[kubernetes.io/service-account.name]: Required value',
    ]);
  });

  it('rejects values that are not base64', () => {
    assert.deepEqual(create(secretKind, secret({ data: { a: 'not base64!' } })).errors, [
      'data[a]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 3',
    ]);
  });

  it('type is fixed; immutable secrets keep their data', () => {
    const current = created(secretKind, secret({ data: { a: b64('1') }, immutable: true }));
    const { errors } = update(secretKind, secret({ type: 'kubernetes.io/tls', stringData: { a: '2' } }), current);
    assert.deepEqual(errors, [
      'data[tls.crt]: Required value',
      'data[tls.key]: Required value',
      'type: Invalid value: "kubernetes.io/tls": field is immutable',
      'immutable: Forbidden: field is immutable when `immutable` is set',
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);
  });

  it('selects on type and prints Name, Type, Data, Age', () => {
    const obj = created(secretKind, secret({ stringData: { user: 'u', pass: 'p' } }));
    assert.equal(secretKind.fields!.type(obj), 'Opaque');
    assert.deepEqual(row(secretKind, obj), { Name: 's', Type: 'Opaque', Data: 2, Age: '5m' });
  });
});

describe('ServiceAccount', () => {
  it('prints the number of secrets', () => {
    const sa = created(serviceAccountKind, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: 'default' },
      secrets: [{ name: 'token-a' }],
    });
    assert.deepEqual(row(serviceAccountKind, sa), { Name: 'default', Secrets: 1, Age: '5m' });
  });
});
