// The output of a completed pod, as a user of a Job reads it: `kubectl logs` of a pod that
// ran to completion on real processes, still there after `petset up` restarts, and gone
// from the node once the pod is deleted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, tempDir } from './harness.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/bin/busybox') || fs.existsSync('/usr/bin/busybox') ? undefined : 'busybox is not installed');
if (why) console.log(`# skipping kubectl logs of completed pods: ${why}`);

/** Files under the data dir's retained-logs folders (<node>/runtime/logs/<pod uid>/...). */
function retainedLogDirs(dataDir: string, uid: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = `${dir}/${e.name}`;
      if (e.name === uid && dir.endsWith('/logs')) out.push(p);
      else if (depth < 5) walk(p, depth + 1);
    }
  };
  walk(dataDir, 0);
  return out;
}

describe('kubectl logs of a completed pod on real processes', { skip: why }, () => {
  it('shows its output after it completed, after petset up restarts, and the node forgets it once the pod is deleted', { timeout: 240_000 }, async () => {
    const dataDir = tempDir('petset-logs-e2e-');
    let c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process'] });
    try {
      await c.kubectl(['run', 'once', '--image=busybox', '--restart=Never', '--', 'sh', '-c', 'echo first line; echo second line']);
      const phase = async () => (await c.kubectl(['get', 'pod', 'once', '-o', 'jsonpath={.status.phase}'])).stdout;
      await eventually(async () => ((await phase()) === 'Succeeded' ? true : undefined), 90_000, 'the pod to succeed');
      // the sandbox is gone once the pod completed; its output is not
      await eventually(async () => ((await c.kubectl(['logs', 'once'])).stdout === 'first line\nsecond line\n' ? true : undefined), 30_000, 'the logs of the completed pod');
      const uid = (await c.kubectl(['get', 'pod', 'once', '-o', 'jsonpath={.metadata.uid}'])).stdout;

      await c.stop();
      c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process'] });
      assert.equal((await c.kubectl(['logs', 'once'])).stdout, 'first line\nsecond line\n');
      assert.equal(retainedLogDirs(dataDir, uid).length, 1);

      await c.kubectl(['delete', 'pod', 'once', '--wait=true']);
      await eventually(() => (retainedLogDirs(dataDir, uid).length === 0 ? true : undefined), 30_000, 'the retained output to go with the pod');
    } finally {
      await c.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
