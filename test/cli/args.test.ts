import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { flagDuration, parseArgs } from '../../src/cli/args.js';

describe('flagDuration', () => {
  const parse = (...argv: string[]) => parseArgs(argv);

  it('reads Go-style durations in milliseconds', () => {
    assert.equal(flagDuration(parse('--d', '500ms'), 'd', 1), 500);
    assert.equal(flagDuration(parse('--d=5s'), 'd', 1), 5000);
    assert.equal(flagDuration(parse('--d', '1m30s'), 'd', 1), 90_000);
    assert.equal(flagDuration(parse('--d', '1.5s'), 'd', 1), 1500);
    assert.equal(flagDuration(parse('--d', '0'), 'd', 1), 0);
  });

  it('answers the default when the flag is absent', () => {
    assert.equal(flagDuration(parse(), 'd', 50_000), 50_000);
  });

  it('refuses numbers without a unit and anything else', () => {
    for (const bad of ['5', '5x', 's', '', '5s garbage']) {
      assert.throws(() => flagDuration(parse('--d', bad), 'd', 1), /--d must be a duration such as 500ms, 5s or 1m30s/);
    }
  });
});
