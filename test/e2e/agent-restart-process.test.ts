// An agent restart with real processes (`petset node restart`): the pod's program keeps
// running under the same host pid, its status keeps containerID, startedAt, restartCount and
// readiness, `kubectl exec` and `kubectl logs` keep working (the log continues), the new agent
// sees the adopted container's end and restarts it as any; the crash drill kills the pod's
// processes (heal restarts them), and deleting the pod stops it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { podNetworkUnavailable } from '../../src/agent/podnet/pod-network.js';
import { eventually, petsetBin, processAlive, shellPids, startCluster, tempDir } from './harness.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the agent restart e2e test: ${why}`);

type Obj = Record<string, any>;

describe('petset node restart (process runtime)', { skip: why }, () => {
  for (const network of ['host', 'root'] as const) {
    it(`re-adopts running pods (${network} pod network): same pid, same status, exec and logs keep working`, { timeout: 180_000 }, async (t) => {
      if (network === 'root') {
        const no = await podNetworkUnavailable();
        if (no) return t.skip(`the root pod network cannot run here: ${no}`);
      }
      const marker = `counter-${randomBytes(4).toString('hex')}`;
      const c = await startCluster({ dataDir: tempDir('petset-agent-restart-'), extraArgs: ['--runtime', 'process', '--pod-network', network] });
      try {
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'counter' },
          spec: {
            terminationGracePeriodSeconds: 5,
            initContainers: [{ name: 'setup', image: 'busybox', command: ['sh', '-c', 'echo set up'] }],
            containers: [
              {
                name: 'main',
                image: 'busybox',
                command: ['sh', '-c', `trap 'exit 0' TERM; i=0; while true; do echo "${marker} $i"; i=$((i+1)); sleep 0.2; done`],
                readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
              },
            ],
          },
        };
        await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
        const get = async (): Promise<Obj> => JSON.parse((await c.kubectl(['get', 'pod', 'counter', '-o', 'json'])).stdout);
        const before = await eventually(async () => {
          const p = await get();
          return p.status?.containerStatuses?.[0]?.ready ? p : undefined;
        }, 60_000, 'the counter pod Ready');
        const [pid] = await eventually(() => shellPids(marker).length === 1 && shellPids(marker), 10_000, 'the program on the host');
        const lastLine = async () => {
          const out = (await c.kubectl(['logs', 'counter', '--tail', '1'])).stdout.trim();
          return Number(out.split(' ')[1]);
        };
        const countBefore = await eventually(async () => (await lastLine()) > 2 && lastLine(), 20_000, 'a few lines of output');

        const out = execFileSync(process.execPath, [petsetBin, 'node', 'restart', 'node-1', '--data-dir', c.dataDir], { encoding: 'utf8' });
        assert.match(out, /node node-1's agent restarted/);
        assert.match(await eventually(() => /re-adopting 1 pod sandbox/.test(c.output()) && c.output(), 20_000, 'the new agent to re-adopt'), /re-adopting 1 pod sandbox/);

        // the same process runs on, and the API shows the same instance
        assert.deepEqual(shellPids(marker), [pid]);
        const after = await eventually(async () => {
          const p = await get();
          return p.status?.containerStatuses?.[0]?.ready ? p : undefined;
        }, 30_000, 'the counter pod Ready after the restart');
        const [b, a] = [before.status.containerStatuses[0], after.status.containerStatuses[0]];
        assert.equal(a.containerID, b.containerID);
        assert.deepEqual(a.state, b.state);
        assert.equal(a.restartCount, 0);
        assert.equal(after.status.podIP, before.status.podIP);
        assert.equal(after.status.initContainerStatuses[0].state.terminated?.reason, 'Completed');
        // exec reaches the same container; the log continues past what it held before
        assert.equal((await c.kubectl(['exec', 'counter', '--', 'hostname'])).stdout.trim(), 'counter');
        await eventually(async () => (await lastLine()) > countBefore + 5, 20_000, 'the log to continue');
        const all = (await c.kubectl(['logs', 'counter'])).stdout;
        assert.match(all, new RegExp(`^${marker} 0$`, 'm'));
        // exactly one sandbox of the pod on the node
        const held = execFileSync(process.execPath, [petsetBin, 'node', 'pods', 'node-1', '--data-dir', c.dataDir], { encoding: 'utf8' });
        assert.equal(held.split('\n').filter((l) => l.includes(before.metadata.uid)).length, 1);

        // the new agent sees the adopted container end, and restarts it
        process.kill(pid, 'SIGKILL');
        const restarted = await eventually(async () => {
          const p = await get();
          const s = p.status?.containerStatuses?.[0];
          return s?.restartCount === 1 && s.state?.running ? s : undefined;
        }, 60_000, 'the killed container restarted');
        assert.equal(restarted.lastState.terminated.exitCode, 137);
        assert.equal(restarted.lastState.terminated.containerID, b.containerID);
        assert.match((await c.kubectl(['logs', 'counter', '--previous', '--tail', '1'])).stdout, new RegExp(`^${marker} \\d+`));
        const [newPid] = await eventually(() => shellPids(marker).length === 1 && shellPids(marker), 20_000, 'the new instance');
        assert.notEqual(newPid, pid);

        // the crash drill, by contrast, kills the pod's processes with the agent; heal brings the node back and the pod restarts
        execFileSync(process.execPath, [petsetBin, 'node', 'crash', 'node-1', '--data-dir', c.dataDir]);
        await eventually(() => !processAlive(newPid) && shellPids(marker).length === 0, 10_000, 'the program killed by the crash');
        execFileSync(process.execPath, [petsetBin, 'node', 'heal', 'node-1', '--data-dir', c.dataDir]);
        await eventually(async () => {
          const s = (await get()).status?.containerStatuses?.[0];
          return s?.state?.running && s.restartCount === 2 && shellPids(marker).length === 1;
        }, 60_000, 'the pod running again after heal');

        // deletion stops it gracefully through the agent
        await c.kubectl(['delete', 'pod', 'counter', '--wait=true', '--timeout=60s']);
        await eventually(() => shellPids(marker).length === 0, 20_000, 'the program gone');
      } finally {
        await c.stop('SIGINT');
        for (const p of shellPids(marker)) process.kill(p, 'SIGKILL');
        fs.rmSync(c.dataDir, { recursive: true, force: true });
      }
    });
  }
});
