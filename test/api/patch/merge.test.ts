import assert from 'node:assert/strict';
import { test } from 'node:test';

import { mergePatch } from '../../../src/api/patch/merge.js';

// RFC 7386 appendix A, in order: [target, patch, result].
const rfcExamples: Array<[unknown, unknown, unknown]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

test('RFC 7386 appendix A examples', () => {
  for (const [target, patch, result] of rfcExamples) {
    assert.deepEqual(mergePatch(target, patch), result, `${JSON.stringify(target)} + ${JSON.stringify(patch)}`);
  }
});

test('labels merge and a null removes one, as kubectl label/annotate send', () => {
  const sts = { metadata: { name: 'web', labels: { app: 'web', tier: 'db' } }, spec: { replicas: 1 } };
  const out = mergePatch(sts, { metadata: { labels: { tier: null, env: 'prod' } }, spec: { replicas: 3 } });
  assert.deepEqual(out, { metadata: { name: 'web', labels: { app: 'web', env: 'prod' } }, spec: { replicas: 3 } });
});

test('lists are replaced, not merged', () => {
  const out = mergePatch({ spec: { containers: [{ name: 'a' }, { name: 'b' }] } }, { spec: { containers: [{ name: 'c' }] } });
  assert.deepEqual(out, { spec: { containers: [{ name: 'c' }] } });
});

test('neither argument is modified and the result shares nothing with them', () => {
  const target = { metadata: { labels: { a: '1' } }, spec: { list: [1] } };
  const patch = { metadata: { labels: { b: '2' } }, spec: { other: { x: 1 } } };
  const before = structuredClone({ target, patch });
  const out = mergePatch(target, patch) as any;
  assert.deepEqual({ target, patch }, before);
  out.spec.list.push(2);
  out.spec.other.x = 2;
  assert.deepEqual({ target, patch }, before);
});
