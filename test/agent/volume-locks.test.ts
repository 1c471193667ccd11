// Machine-wide volume locks: one node's sandboxes share a directory, another node's are
// refused while a holder lives, and what dead processes left behind is cleared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { acquireVolumeLocks, isVolumeFree, lockHolders, pruneStaleVolumeLocks, releaseVolumeLocks, VolumeLockedError } from '../../src/agent/runtime/volume-locks.js';

test('a node shares its lock; another node is refused until the holder is gone', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-lock-'));
  try {
    acquireVolumeLocks([dir], { node: 'node-1', sandboxId: 'a', pod: 'default/web-0', pid: process.pid });
    acquireVolumeLocks([dir], { node: 'node-1', sandboxId: 'b', pod: 'default/web-0b', pid: process.pid });
    assert.throws(() => acquireVolumeLocks([dir], { node: 'node-2', sandboxId: 'c', pod: 'default/web-0', pid: process.pid }), (e: unknown) => e instanceof VolumeLockedError && /pod default\/web-0 on node node-1/.test((e as Error).message));
    releaseVolumeLocks([dir], 'a');
    releaseVolumeLocks([dir], 'b');
    assert.ok(isVolumeFree(dir));
    acquireVolumeLocks([dir], { node: 'node-2', sandboxId: 'c', pod: 'default/web-0', pid: process.pid });
    releaseVolumeLocks([dir], 'c');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock held by a process that died holds nothing, and its file is pruned once old', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-lock-'));
  const child = spawn('sleep', ['30']);
  try {
    await new Promise((r) => child.once('spawn', r));
    acquireVolumeLocks([dir], { node: 'node-1', sandboxId: 'gone', pod: 'default/db-0', pid: child.pid! });
    assert.equal(lockHolders(dir).length, 1);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(isVolumeFree(dir), 'a dead holder holds nothing');
    // an hour later, the stale file goes
    assert.ok(pruneStaleVolumeLocks(Date.now() + 3_600_000) >= 1);
    assert.ok(isVolumeFree(dir));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
