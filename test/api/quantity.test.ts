import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  QUANTITY_FORMAT_ERROR,
  QUANTITY_SUFFIX_ERROR,
  canonicalQuantity,
  compareQuantities,
  parseQuantity,
  quantityMilliValue,
  quantityValue,
  tryParseQuantity,
} from '../../src/api/quantity.js';

test('canonical forms match upstream Quantity.String()', () => {
  const cases: Array<[string | number, string]> = [
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['500Mi', '500Mi'],
    ['1000Mi', '1000Mi'],
    ['0.5', '500m'],
    ['1500m', '1500m'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['1.5e9', '1500e6'],
    ['1.5G', '1500M'],
    ['2G', '2G'],
    ['1e3', '1e3'],
    ['12e2', '1200'],
    ['0', '0'],
    ['0Gi', '0'],
    ['512', '512'],
    ['100Ki', '100Ki'],
    ['0.5Gi', '512Mi'],
    ['0.1Ki', '102400m'],
    ['-1Gi', '-1Gi'],
    ['1n', '1n'],
    ['0.0000000001', '1n'],
    [1, '1'],
    [1073741824, '1073741824'],
    ['1E', '1E'],
    ['1E3', '1e3'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, `canonical(${input})`);
});

test('comparison is exact across suffix families', () => {
  assert.equal(compareQuantities('1Gi', '500Mi'), 1);
  assert.equal(compareQuantities('500Mi', '1Gi'), -1);
  assert.equal(compareQuantities('1Gi', '1024Mi'), 0);
  assert.equal(compareQuantities('1G', '1Gi'), -1);
  assert.equal(compareQuantities('1', '1000m'), 0);
  assert.equal(compareQuantities('-1', '0'), -1);
});

test('values round up like Value() and MilliValue()', () => {
  assert.equal(quantityValue('1Gi'), 1073741824);
  assert.equal(quantityValue('1500m'), 2);
  assert.equal(quantityMilliValue('250m'), 250);
  assert.equal(quantityMilliValue('1'), 1000);
  assert.equal(quantityMilliValue('0.0001'), 1);
});

test('malformed quantities give upstream messages', () => {
  assert.throws(() => parseQuantity('abc'), { message: QUANTITY_FORMAT_ERROR });
  assert.throws(() => parseQuantity(''), { message: QUANTITY_FORMAT_ERROR });
  assert.throws(() => parseQuantity('1Gb'), { message: QUANTITY_FORMAT_ERROR });
  assert.throws(() => parseQuantity('1KiB'), { message: QUANTITY_FORMAT_ERROR });
  assert.throws(() => parseQuantity('1mi'), { message: QUANTITY_SUFFIX_ERROR });
  assert.equal(tryParseQuantity('10Xi'), undefined);
  assert.equal(tryParseQuantity({}), undefined);
  assert.deepEqual(parseQuantity('2Ki'), { nanos: 2048n * 10n ** 9n, format: 'BinarySI' });
});
