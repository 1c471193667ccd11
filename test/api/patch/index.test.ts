import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError } from '../../../src/api/errors.js';
import type { KubeObject } from '../../../src/api/object.js';
import { applyPatch, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH } from '../../../src/api/patch/index.js';
import { s, type Definitions, type Schema } from '../../../src/api/schema.js';

const defs: Definitions = {
  Pod: s.obj({ spec: s.obj({ containers: s.mergeList(s.obj({ name: s.str(''), image: s.str('') }, ''), 'name', '') }, '') }, ''),
};
const schema: Schema = { $ref: 'Pod' };

const pod = (): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { a: '1' } },
  spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] },
});

function status(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    return e.toStatus();
  }
  assert.fail('expected an error');
}

test('dispatches on the content type, ignoring parameters', () => {
  const body = '{"spec":{"containers":[{"name":"b","image":"b:2"}]}}';
  const smp = applyPatch(`${STRATEGIC_MERGE_PATCH}; charset=utf-8`, pod(), body, schema, defs);
  assert.deepEqual(smp.spec.containers, [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:2' }]);
  const merge = applyPatch(MERGE_PATCH, pod(), new TextEncoder().encode(body), schema, defs);
  assert.deepEqual(merge.spec.containers, [{ name: 'b', image: 'b:2' }]);
  const json = applyPatch(JSON_PATCH, pod(), '[{"op":"replace","path":"/spec/containers/1/image","value":"b:3"}]', schema, defs);
  assert.equal(json.spec.containers[1].image, 'b:3');
});

test('an already decoded body is accepted; a missing one is an empty body', () => {
  const smp = applyPatch(STRATEGIC_MERGE_PATCH, pod(), { metadata: { labels: { b: '2' } } }, schema, defs);
  assert.deepEqual(smp.metadata.labels, { a: '1', b: '2' });
  const json = applyPatch(JSON_PATCH, pod(), [{ op: 'remove', path: '/metadata/labels' }], schema, defs);
  assert.equal(json.metadata.labels, undefined);
  assert.equal(status(() => applyPatch(STRATEGIC_MERGE_PATCH, pod(), undefined, schema, defs)).message, 'unexpected end of JSON input');
  assert.equal(status(() => applyPatch(MERGE_PATCH, pod(), undefined, schema, defs)).message, 'Invalid JSON Patch');
  assert.equal(status(() => applyPatch(MERGE_PATCH, pod(), null, schema, defs)).message, 'Invalid JSON Patch');
});

test('the original is left alone', () => {
  const original = pod();
  const before = structuredClone(original);
  for (const [type, body] of [
    [STRATEGIC_MERGE_PATCH, '{"metadata":{"labels":{"b":"2"}}}'],
    [MERGE_PATCH, '{"metadata":{"labels":{"b":"2"}}}'],
    [JSON_PATCH, '[{"op":"add","path":"/metadata/labels/b","value":"2"}]'],
  ]) {
    const out = applyPatch(type, original, body, schema, defs);
    assert.equal(out.metadata.labels?.b, '2');
    out.spec.containers[0].image = 'mutated';
  }
  assert.deepEqual(original, before);
});

test('malformed bodies are 400 with encoding/json texts', () => {
  const cases: Array<[string, string]> = [
    ['', 'unexpected end of JSON input'],
    ['{"a":', 'unexpected end of JSON input'],
    ['{a:1}', "invalid character 'a' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a":1}x', "invalid character 'x' after top-level value"],
    ['{"a":"\\x"}', "invalid character 'x' in string escape code"],
    ['{"a":"\n"}', "invalid character '\\n' in string literal"],
    ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"a":-x}', "invalid character 'x' in numeric literal"],
    ['{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
  ];
  for (const [body, message] of cases) {
    assert.deepEqual(status(() => applyPatch(STRATEGIC_MERGE_PATCH, pod(), body, schema, defs)), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason: 'BadRequest',
      code: 400,
    });
    assert.equal(status(() => applyPatch(JSON_PATCH, pod(), body, schema, defs)).message, message);
    // The merge-patch library has a single text for all of them.
    assert.equal(status(() => applyPatch(MERGE_PATCH, pod(), body, schema, defs)).message, 'Invalid JSON Patch');
  }
});

test('bodies of the wrong JSON type', () => {
  assert.equal(
    status(() => applyPatch(STRATEGIC_MERGE_PATCH, pod(), '[]', schema, defs)).message,
    'json: cannot unmarshal array into Go value of type map[string]interface {}',
  );
  assert.equal(
    status(() => applyPatch(JSON_PATCH, pod(), '{"op":"add"}', schema, defs)).message,
    'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
  );
  assert.equal(status(() => applyPatch(MERGE_PATCH, pod(), 'null', schema, defs)).message, 'Invalid JSON Patch');
  // null is no patch at all for the other two formats.
  assert.deepEqual(applyPatch(STRATEGIC_MERGE_PATCH, pod(), 'null', schema, defs), pod());
  assert.deepEqual(applyPatch(JSON_PATCH, pod(), 'null', schema, defs), pod());
});

test('a merge patch that is not an object replaces the object and cannot be decoded', () => {
  const st = status(() => applyPatch(MERGE_PATCH, pod(), '[1]', schema, defs));
  assert.equal(st.code, 422);
  assert.equal(st.reason, 'Invalid');
  assert.equal(
    st.message,
    ' "" is invalid: patch: Invalid value: "[1]": couldn\'t get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }',
  );
  assert.equal(st.details?.causes?.[0].field, 'patch');
});

test('a JSON patch that does not apply is the opaque 422', () => {
  const st = status(() => applyPatch(JSON_PATCH, pod(), '[{"op":"test","path":"/metadata/name","value":"q"}]', schema, defs));
  assert.deepEqual(st, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server rejected our request due to an error in our request',
    reason: 'Invalid',
    details: {},
    code: 422,
  });
});

test('other content types are 415', () => {
  const st = status(() => applyPatch('application/json', pod(), '{}', schema, defs));
  assert.equal(st.code, 415);
  assert.equal(st.reason, 'UnsupportedMediaType');
  assert.equal(
    st.message,
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
  );
});
