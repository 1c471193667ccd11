// `kubectl run -it --rm --restart=Never bb --image=busybox -- sh` as a person types it, in a
// real terminal: tmux (on a server socket of the test's own) runs kubectl against `petset up`
// with real pods; the test reads the screen and types keys. A prompt appears, `hostname`
// prints bb, `exit 3` ends kubectl with exit code 3, and the pod is gone.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, tempDir, type Cluster } from './harness.js';

const tmuxMissing = spawnSync('tmux', ['-V']).status === 0 ? undefined : 'tmux is not installed (apt-get install tmux)';
const skip = tmuxMissing ?? processRuntimeUnavailable() ?? false;

describe('kubectl run -it in a terminal (tmux)', { skip }, () => {
  let c: Cluster;
  const dir = tempDir('petset-tmux-');
  // a tmux server of this test's own: nothing else's sessions are seen or touched
  const socket = `petset-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const screen = () => {
    try {
      return tmux('capture-pane', '-p', '-t', 'run');
    } catch {
      return '';
    }
  };

  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process'] });
  });
  after(async () => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    await c?.stop();
  });

  it('shows a prompt, runs hostname, and ends with the shell exit code; the pod is gone', { timeout: 120_000 }, async () => {
    const exitFile = path.join(dir, 'exit-code');
    const kubectl = `kubectl --kubeconfig ${c.kubeconfig} run -it --rm --restart=Never bb --image=busybox -- sh`;
    // the pane stays after kubectl ends (remain-on-exit), so its last words can be read
    tmux('new-session', '-d', '-s', 'run', '-x', '100', '-y', '30', `${kubectl}; echo $? > ${exitFile}`);
    tmux('set-option', '-t', 'run', 'remain-on-exit', 'on');
    await eventually(() => /^\/ #\s*$/m.test(screen()) || undefined, 90_000, `a shell prompt on the screen:\n${screen()}`);
    tmux('send-keys', '-t', 'run', 'hostname', 'Enter');
    await eventually(() => /^bb$/m.test(screen()) || undefined, 20_000, `hostname's answer:\n${screen()}`);
    tmux('send-keys', '-t', 'run', 'exit 3', 'Enter');
    const code = await eventually(() => (fs.existsSync(exitFile) ? fs.readFileSync(exitFile, 'utf8').trim() : undefined) || undefined, 60_000, `kubectl to end:\n${screen()}`);
    assert.equal(code, '3', screen());
    assert.match(screen(), /pod "bb" deleted/);
    const gone = await c.kubectl(['get', 'pod', 'bb'], { allowFail: true });
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /pods "bb" not found/);
  });
});
