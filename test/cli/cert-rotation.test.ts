// The pure rules of node client certificate rotation: when (70-90 % of the lifetime, as the
// kubelet's nextRotationDeadline) and how long to wait after a failed attempt.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelay, rotationDeadline } from '../../src/cli/cert-rotation.js';

describe('certificate rotation timing', () => {
  it('rotates between 70 % and 90 % of notBefore..notAfter', () => {
    const notBefore = Date.parse('2026-01-01T00:00:00Z');
    const notAfter = notBefore + 100_000;
    assert.equal(rotationDeadline(notBefore, notAfter, 0), notBefore + 70_000);
    assert.equal(rotationDeadline(notBefore, notAfter, 0.5), notBefore + 80_000);
    assert.ok(rotationDeadline(notBefore, notAfter, 0.999999) < notBefore + 90_000);
    // a year-long certificate: between 255.5 and 328.5 days
    const year = 365 * 86_400_000;
    assert.equal(rotationDeadline(0, year, 0) / 86_400_000, 255.5);
  });
  it('retries 2 s doubling up to 2 min, sooner when expiry is near, never under 1 s', () => {
    const far = 86_400_000;
    assert.deepEqual([1, 2, 3, 4, 7, 8, 20].map((n) => retryDelay(n, far)), [2_000, 4_000, 8_000, 16_000, 120_000, 120_000, 120_000]);
    assert.equal(retryDelay(5, 20_000), 5_000);
    assert.equal(retryDelay(1, -5_000), 1_000);
  });
});
