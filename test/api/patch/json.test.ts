import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError } from '../../../src/api/errors.js';
import { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from '../../../src/api/patch/json.js';

const pod = () => ({
  metadata: { name: 'web-0', labels: { app: 'web' }, annotations: { 'example.com/a~b': 'x', 'example.com/c': 'y' } },
  spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] },
});

/** Asserts the API server's opaque 422 for a patch that does not apply, with our reason in `cause`. */
function assertRejected(fn: () => unknown, cause: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.deepEqual(e.toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server rejected our request due to an error in our request',
      reason: 'Invalid',
      details: {},
      code: 422,
    });
    assert.match(String(e.cause), cause);
    return true;
  });
}

test('add sets a member, inserts into a list, and "-" appends', () => {
  const out = applyJsonPatch(pod(), [
    { op: 'add', path: '/metadata/labels/tier', value: 'db' },
    { op: 'add', path: '/spec/containers/1', value: { name: 'mid' } },
    { op: 'add', path: '/spec/containers/-', value: { name: 'last' } },
  ]) as any;
  assert.equal(out.metadata.labels.tier, 'db');
  assert.deepEqual(
    out.spec.containers.map((c: any) => c.name),
    ['a', 'mid', 'b', 'last'],
  );
});

test('remove, replace and the ~0 / ~1 escapes', () => {
  const out = applyJsonPatch(pod(), [
    { op: 'remove', path: '/metadata/annotations/example.com~1a~0b' },
    { op: 'replace', path: '/spec/containers/0/image', value: 'a:2' },
    { op: 'remove', path: '/spec/containers/1' },
  ]) as any;
  assert.deepEqual(out.metadata.annotations, { 'example.com/c': 'y' });
  assert.deepEqual(out.spec.containers, [{ name: 'a', image: 'a:2' }]);
});

test('move and copy', () => {
  const out = applyJsonPatch(pod(), [
    { op: 'copy', from: '/metadata/labels', path: '/spec/selector' },
    { op: 'move', from: '/spec/containers/1', path: '/spec/containers/0' },
    { op: 'move', from: '/metadata/annotations/example.com~1c', path: '/metadata/labels/c' },
  ]) as any;
  assert.deepEqual(out.spec.selector, { app: 'web' });
  out.spec.selector.app = 'changed';
  assert.equal(out.metadata.labels.app, 'web', 'copy must not alias');
  assert.deepEqual(
    out.spec.containers.map((c: any) => c.name),
    ['b', 'a'],
  );
  assert.deepEqual(out.metadata.labels, { app: 'web', c: 'y' });
  assert.deepEqual(out.metadata.annotations, { 'example.com/a~b': 'x' });
});

test('test passes on equal values (any key order) and fails with the opaque 422', () => {
  const doc = pod();
  assert.deepEqual(
    applyJsonPatch(doc, [{ op: 'test', path: '/spec/containers/0', value: { image: 'a:1', name: 'a' } }]),
    doc,
  );
  assertRejected(() => applyJsonPatch(doc, [{ op: 'test', path: '/metadata/labels/app', value: 'other' }]), /testing value \/metadata\/labels\/app failed/);
});

test('test for null passes on a missing member', () => {
  assert.doesNotThrow(() => applyJsonPatch(pod(), [{ op: 'test', path: '/metadata/labels/none', value: null }]));
});

test('the library leniencies: replace of a missing member adds it, negative indices, missing value is null', () => {
  const out = applyJsonPatch(pod(), [
    { op: 'replace', path: '/spec/replicas', value: 3 },
    { op: 'replace', path: '/spec/containers/-1/image', value: 'b:2' },
    { op: 'add', path: '/spec/containers/-1', value: { name: 'appended' } },
    { op: 'add', path: '/spec/containers/-4', value: { name: 'first' } },
    { op: 'add', path: '/metadata/labels/empty' },
  ]) as any;
  assert.equal(out.spec.replicas, 3);
  // For add, -1 is the slot after the last item.
  assert.deepEqual(
    out.spec.containers.map((c: any) => c.name),
    ['first', 'a', 'b', 'appended'],
  );
  assert.equal(out.spec.containers[2].image, 'b:2');
  assert.equal(out.metadata.labels.empty, null);
});

test('paths that do not resolve are rejected', () => {
  assertRejected(() => applyJsonPatch(pod(), [{ op: 'add', path: '/spec/nothing/here', value: 1 }]), /doc is missing path/);
  assertRejected(() => applyJsonPatch(pod(), [{ op: 'remove', path: '/metadata/labels/none' }]), /nonexistent key/);
  assertRejected(() => applyJsonPatch(pod(), [{ op: 'replace', path: '/spec/containers/5', value: {} }]), /invalid index/);
  assertRejected(() => applyJsonPatch(pod(), [{ op: 'add', path: '/spec/containers/3', value: {} }]), /invalid index/);
  assertRejected(() => applyJsonPatch(pod(), [{ op: 'add', path: '', value: {} }]), /doc is missing path/);
  assertRejected(() => applyJsonPatch(pod(), [{ op: 'move', from: '/spec/none', path: '/spec/x' }]), /nonexistent key/);
});

test('unknown operations and missing paths are rejected', () => {
  assertRejected(() => applyJsonPatch(pod(), [{ op: 'frobnicate', path: '/a' }]), /Unexpected kind: frobnicate/);
  assertRejected(() => applyJsonPatch(pod(), [{ path: '/a' }]), /Unexpected kind: unknown/);
  assertRejected(() => applyJsonPatch(pod(), [null]), /Unexpected kind: unknown/);
  assertRejected(() => applyJsonPatch(pod(), [{ op: 'add', value: 1 }]), /failed to decode path/);
});

test('an operation that is not an object is a 400 with the decoder text', () => {
  assert.throws(
    () => applyJsonPatch(pod(), [1]),
    (e: unknown) =>
      e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest' && e.message === 'json: cannot unmarshal number into Go value of type jsonpatch.Operation',
  );
});

test('too many operations is a 413', () => {
  const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/metadata/name', value: 'web-0' }));
  assert.throws(
    () => applyJsonPatch(pod(), ops),
    (e: unknown) =>
      e instanceof ApiError &&
      e.code === 413 &&
      e.message === 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
  );
});

test('a failing patch leaves the document untouched, and so does a successful one', () => {
  const doc = pod();
  const before = structuredClone(doc);
  assert.throws(() =>
    applyJsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/x', value: '1' },
      { op: 'test', path: '/metadata/name', value: 'other' },
    ]),
  );
  const value = { nested: { a: 1 } };
  const out = applyJsonPatch(doc, [{ op: 'add', path: '/spec/extra', value }]) as any;
  out.spec.extra.nested.a = 2;
  assert.deepEqual(doc, before);
  assert.equal(value.nested.a, 1);
});
