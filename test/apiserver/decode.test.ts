// Request bodies from bytes: media types, duplicate keys, nesting and YAML alias bombs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import { bodyDuplicates, decodeRequestBody, parseMediaType, scanJson } from '../../src/apiserver/decode.js';

const PATH = '/api/v1/namespaces/default/configmaps';
const decode = (text: string, ct: string, method = 'POST') => decodeRequestBody(Buffer.from(text), ct, method, PATH);
const failure = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    return e;
  }
  assert.fail('expected an error');
};

describe('decodeRequestBody', () => {
  it('answers 415 with upstream text for media types other than JSON, YAML and protobuf', () => {
    for (const ct of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '*/*', 'garbage', 'application/x-yaml']) {
      const e = failure(() => decode('{}', ct));
      assert.equal(e.code, 415, ct);
      assert.equal(e.message, 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf');
    }
    const p = failure(() => decode('{}', 'application/json', 'PATCH'));
    assert.equal(p.code, 415);
    assert.match(p.message, /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/strategic-merge-patch\+json, application\/apply-patch\+yaml$/);
    assert.deepEqual(decode('{"a":1}', ''), { a: 1 });
    assert.deepEqual(decode('{"a":1}', 'Application/JSON; charset=utf-8'), { a: 1 });
    assert.equal(parseMediaType('a b/c'), '');
  });

  it('reports JSON syntax errors in encoding/json words', () => {
    const e = failure(() => decode('{"a":x}', 'application/json'));
    assert.equal(e.code, 400);
    assert.equal(e.message, "couldn't get version/kind; json parse error: invalid character 'x' looking for beginning of value");
  });

  it('finds duplicate keys with their paths', () => {
    const body = decode('{"metadata":{"name":"a","name":"b"},"items":[{"x":1,"x":2}],"data":{"k":"1"},"data":{}}', 'application/json') as object;
    assert.deepEqual(bodyDuplicates.get(body), ['duplicate field "metadata.name"', 'duplicate field "items[0].x"', 'duplicate field "data"']);
    assert.deepEqual(scanJson('{"a":"x\\"y","b":{"a":1}}').duplicates, []);
    const yamlBody = decode('a: 1\nb: 2\na: 3\n', 'application/yaml') as object;
    assert.deepEqual(yamlBody, { a: 3, b: 2 });
    assert.deepEqual(bodyDuplicates.get(yamlBody), ['yaml: unmarshal errors:\n  line 3: key "a" already set in map']);
  });

  it('refuses nesting deeper than the server walks, for JSON, YAML and patches', () => {
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    assert.match(failure(() => decode(deep, 'application/json')).message, /exceeded max depth/);
    assert.match(failure(() => decode(deep, 'application/merge-patch+json', 'PATCH')).message, /exceeded max depth/);
    assert.match(failure(() => decode('['.repeat(20000), 'application/yaml')).message, /^error converting YAML to JSON/);
  });

  it('refuses YAML whose aliases expand far beyond its text, keeps ordinary anchors and merge keys, and no timestamps', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i <= 6; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`);
    }
    const e = failure(() => decode(levels.join('\n'), 'application/yaml'));
    assert.equal(e.message, 'error converting YAML to JSON: yaml: document contains excessive aliasing');
    assert.deepEqual(decode('base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\nwhen: 2026-01-01T00:00:00Z\n', 'application/yaml'), {
      base: { x: 1 },
      other: { x: 1, y: 2 },
      when: '2026-01-01T00:00:00Z',
    });
  });

  it('decodes DELETE bodies as DeleteOptions, and hands apply configurations over as checked text', () => {
    const e = failure(() => decode('{"gracePeriodSeconds":"x"}', 'application/json', 'DELETE'));
    assert.equal(e.message, 'DeleteOptions in version "v1" cannot be handled as a DeleteOptions: json: cannot unmarshal string into Go struct field DeleteOptions.gracePeriodSeconds of type int64');
    assert.deepEqual(decode('{"gracePeriodSeconds":0,"bogus":1}', 'application/json', 'DELETE'), { gracePeriodSeconds: 0 });
    assert.equal(decode('kind: ConfigMap\n', 'application/apply-patch+yaml', 'PATCH'), 'kind: ConfigMap\n');
    assert.match(failure(() => decode('a: &a [1,2,3,4,5,6,7,8,9,10]\n' + 'b: &b [' + '*a,'.repeat(200) + '*a]\n' + 'c: [' + '*b,'.repeat(200) + '*b]\n', 'application/apply-patch+yaml', 'PATCH')).message, /excessive aliasing/);
  });

  it('turns protobuf decoder failures into 400s', () => {
    const e = failure(() => decodeRequestBody(Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0xff, 0xff, 0xff, 0x01])]), 'application/vnd.kubernetes.protobuf', 'POST', PATH));
    assert.ok(e.code >= 400 && e.code < 500, String(e.code));
  });
});
