import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lockDataDir, pidAlive, secureDataDir } from '../../src/cli/datadir.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-datadir-'));
  dirs.push(d);
  return d;
};

describe('data directory', () => {
  it('makes an existing shared directory and its files private, with a warning', () => {
    const dir = path.join(tmp(), 'd');
    fs.mkdirSync(path.join(dir, 'pki'), { recursive: true });
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'pki'), 0o755);
    for (const f of ['state.db', 'state.db-wal', 'kubeconfig', 'pki/ca.key', 'pki/ca.crt']) fs.writeFileSync(path.join(dir, f), 'x', { mode: 0o644 });
    const warnings = secureDataDir(dir);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /was accessible to other users \(mode 0755\)/);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dir, 'pki')).mode & 0o777, 0o700);
    for (const f of ['state.db', 'state.db-wal', 'kubeconfig', 'pki/ca.key', 'pki/ca.crt']) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
    assert.deepEqual(secureDataDir(dir), [], 'no warning once private');
  });

  it('creates a missing directory 0700 without a warning', () => {
    const dir = path.join(tmp(), 'new');
    assert.deepEqual(secureDataDir(dir), []);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  });

  it('takes over from a petset killed with -9 even before its parent reaped it (a zombie)', async () => {
    const dir = tmp();
    // the shell execs into a sleep that never waits for its child: the child stays a zombie
    const sh = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    sh.stdout!.on('data', (d) => (out += d));
    try {
      const pid = await new Promise<number>((resolve) => sh.stdout!.once('data', () => setTimeout(() => resolve(Number(out.trim())), 300)));
      assert.match(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'), /\) Z /, 'the child is a zombie');
      assert.equal(pidAlive(pid), false);
      fs.writeFileSync(path.join(dir, 'petset.pid'), String(pid));
      lockDataDir(dir).release();
    } finally {
      sh.kill('SIGKILL');
    }
  });

  it('refuses a directory a live petset holds', async () => {
    const dir = tmp();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => other.once('spawn', r));
      fs.writeFileSync(path.join(dir, 'petset.pid'), String(other.pid));
      assert.throws(() => lockDataDir(dir), /in use by another petset \(pid \d+\)/);
    } finally {
      other.kill('SIGKILL');
    }
  });
});
