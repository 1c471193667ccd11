// `petset up --runtime process --nodes 1 --sim-nodes 2`: a real node beside simulated ones.
// up says which runtime each node uses; the Nodes report theirs; a pod on node-1 is a real
// process (exec answers from inside it), one on node-2 is simulated (Running, no process);
// restarting node-2's agent restarts its simulated pods (they cannot outlive it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { execFileSync } from 'node:child_process';
import { eventually, petsetBin, startCluster } from './harness.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the runtime mix test: ${why}`);

describe('petset up --nodes 1 --sim-nodes 2', { skip: why }, () => {
  it('runs node-1 on real processes and node-2, node-3 simulated', { timeout: 120_000 }, async () => {
    const c = await startCluster({ extraArgs: ['--runtime', 'process', '--nodes', '1', '--sim-nodes', '2'] });
    try {
      assert.match(c.output(), /Node runtimes: node-1=process, node-2=sim, node-3=sim/);
      const nodes = JSON.parse((await c.kubectl(['get', 'nodes', '-o', 'json'])).stdout).items;
      assert.deepEqual(
        nodes.map((n: any) => `${n.metadata.name}=${n.status.nodeInfo.containerRuntimeVersion}`).sort(),
        ['node-1=petset://0.1', 'node-2=petset-sim://0.1', 'node-3=petset-sim://0.1'],
      );
      const pod = (name: string, node: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] } });
      await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pod('real', 'node-1'), pod('simulated', 'node-2')] }) });
      await c.kubectl(['wait', '--for=condition=Ready', 'pod/real', 'pod/simulated', '--timeout=60s'], { timeoutMs: 70_000 });
      assert.equal((await c.kubectl(['exec', 'real', '--', 'hostname'])).stdout.trim(), 'real');
      const sim = await c.kubectl(['exec', 'simulated', '--', 'hostname'], { allowFail: true });
      assert.notEqual(sim.code, 0);
      assert.match(sim.stderr, /simulated runtime/);
      // an agent restart on a simulated node: its pods do not outlive the agent, they start again
      const said = execFileSync(process.execPath, [petsetBin, 'node', 'restart', 'node-2', '--data-dir', c.dataDir], { encoding: 'utf8' });
      assert.match(said, /simulated pods did not outlive it and start again/);
      await eventually(async () => {
        const s = JSON.parse((await c.kubectl(['get', 'pod', 'simulated', '-o', 'json'])).stdout).status?.containerStatuses?.[0];
        return s?.restartCount === 1 && s.ready;
      }, 30_000, 'the simulated pod running again');
    } finally {
      await c.stop();
    }
  });
});
