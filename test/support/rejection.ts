// The API error a request is expected to end with (a test fails when it succeeds instead).
import assert from 'node:assert/strict';
import { ApiError } from '../../src/api/errors.js';

export async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail('expected the request to fail');
}
