// clone() copies JSON-shaped data directly instead of through a JSON round trip; what it gives
// must be exactly what the round trip gave (stored objects and responses are built from it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clone, deepEqual } from '../../src/api/object.js';

const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));

function same(v: unknown) {
  const c = clone(v);
  assert.deepStrictEqual(c, roundTrip(v));
  assert.equal(JSON.stringify(c), JSON.stringify(v));
  return c;
}

test('clone gives what a JSON round trip gives, key order included', () => {
  same({ b: 1, a: { z: [1, 'x', true, null, { y: 2 }], c: 'd' }, '2': 'two', '1': 'one' });
  same([1, [2, [3]], { a: [] }, {}]);
  same('text');
  same(42);
  same(null);
  assert.equal(clone(undefined), undefined);
});

test('members a round trip drops or changes are dropped or changed the same way', () => {
  // undefined and functions disappear from objects and become null inside arrays
  same({ a: undefined, b: () => 1, c: Symbol('s'), d: 1 });
  same([undefined, () => 1, Symbol('s'), 2]);
  // holes become null, -0 becomes 0, non-finite numbers become null
  // eslint-disable-next-line no-sparse-arrays
  same([1, , 3]);
  assert.ok(Object.is(clone({ z: -0 }).z, 0));
  same({ n: NaN, i: Infinity, m: -Infinity, l: [NaN] });
  // toJSON and class instances go through toJSON / their enumerable fields
  same({ when: new Date(0), buf: Buffer.from('hi'), map: new Map([[1, 2]]) });
  class Thing {
    x = 1;
  }
  same({ t: new Thing() });
  same({ own: { toJSON: () => 'replaced' } });
  // a "__proto__" key stays a plain key, never a prototype
  const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
  const c = same(parsed) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.ok(Object.hasOwn(c, '__proto__'));
  // a prototype-less object is copied as a plain one
  const bare = Object.assign(Object.create(null), { a: 1 });
  same(bare);
});

test('what a round trip refuses is refused with its error', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.throws(() => clone(cyclic), TypeError);
  assert.throws(() => clone({ big: 1n }), TypeError);
  assert.throws(() => clone(() => 1), SyntaxError);
});

test('the copy shares nothing with the original', () => {
  const original = { metadata: { labels: { a: 'b' } }, spec: { list: [{ n: 1 }] } };
  const c = clone(original);
  c.metadata.labels.a = 'changed';
  c.spec.list[0]!.n = 2;
  c.spec.list.push({ n: 3 });
  assert.deepEqual(original, { metadata: { labels: { a: 'b' } }, spec: { list: [{ n: 1 }] } });
});

test('deepEqual is JSON equality: a key holding undefined is absent, key order does not count', () => {
  assert.ok(deepEqual({ a: 1, b: { c: [1, { d: 'x' }] } }, { b: { c: [1, { d: 'x' }] }, a: 1 }));
  assert.ok(deepEqual({ a: 1, u: undefined }, { a: 1 }));
  assert.ok(deepEqual({ a: 1 }, { u: undefined, a: 1 }));
  assert.ok(!deepEqual({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!deepEqual({ a: 1, b: 2 }, { a: 1 }));
  assert.ok(!deepEqual({ a: undefined, b: 1 }, { a: 1 }));
  assert.ok(!deepEqual({ a: [1, 2] }, { a: [1, 2, 3] }));
  assert.ok(!deepEqual({ a: [] }, { a: {} }));
  assert.ok(!deepEqual({ a: null }, { a: {} }));
  // an inherited property is not the other object's own key
  assert.ok(!deepEqual({ toString: 'x' }, {}));
  assert.ok(!deepEqual({}, { toString: 'x' }));
});
