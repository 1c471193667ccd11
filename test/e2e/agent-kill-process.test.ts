// `petset agent --runtime process` as a process of its own, killed with -9 and started again:
// the pod's program (no longer the agent's child) runs on under the same pid, the new agent
// re-adopts it (same containerID, startedAt, restartCount; exec and logs through the API
// server), sees it end by itself and restarts it as any, and stops it when the pod is deleted.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, petsetBin, processAlive, randomLoopbackPodRange, shellPids, startCluster, tempDir } from './harness.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the agent kill -9 test: ${why}`);

type Obj = Record<string, any>;

/** Kills every process in the cgroups of the sandboxes recorded under dir. */
function killSandboxes(dir: string): void {
  let ids: string[] = [];
  try {
    ids = fs.readdirSync(dir);
  } catch {
    return;
  }
  if (!ids.length) return;
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cg = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (ids.some((id) => cg.includes(`/petset/${id}`))) process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

describe('petset agent --runtime process, killed and started again', { skip: why }, () => {
  it('re-adopts the pods its killed predecessor left running', { timeout: 180_000 }, async () => {
    const marker = `ext-${randomBytes(4).toString('hex')}`;
    // no node of petset up's own: the pod can only go to the agent of this test, which takes a /24 of the cluster's range
    const podCidr = randomLoopbackPodRange(2);
    const c = await startCluster({ dataDir: tempDir('petset-agent-kill-'), extraArgs: ['--runtime', 'process', '--nodes', '0', '--pod-cidr', podCidr] });
    const agentDir = tempDir('petset-ext-agent-');
    const kubeconfig = path.join(agentDir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, execFileSync(process.execPath, [petsetBin, 'node', 'kubeconfig', 'ext-1', '--data-dir', c.dataDir]));
    let out = '';
    const startAgent = (): ChildProcess => {
      const a = spawn(process.execPath, [petsetBin, 'agent', '--kubeconfig', kubeconfig, '--node-name', 'ext-1', '--runtime', 'process', '--data-dir', path.join(agentDir, 'data'), '--pod-cidr', podCidr, '--server-token-file', path.join(c.dataDir, 'pki', 'node-connection.token')], { stdio: ['ignore', 'pipe', 'pipe'] });
      a.stdout!.on('data', (d) => (out += d));
      a.stderr!.on('data', (d) => (out += d));
      return a;
    };
    let agent = startAgent();
    try {
      await eventually(() => /registered with the API server/.test(out) && out, 20_000, 'the agent to register');
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ext' }, spec: { terminationGracePeriodSeconds: 3, containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', `trap 'exit 0' TERM; i=0; while true; do echo "${marker} $i"; i=$((i+1)); sleep 0.2; done`] }] } };
      await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
      await c.kubectl(['wait', '--for=condition=Ready', 'pod/ext', '--timeout=60s'], { timeoutMs: 70_000 });
      // the standalone agent names the cluster DNS (the kube-dns Service's cluster IP) in its pods' resolv.conf, and names resolve
      const dnsIP = JSON.parse((await c.kubectl(['get', 'service', '-n', 'kube-system', 'kube-dns', '-o', 'json'])).stdout).spec.clusterIP;
      assert.match(out, new RegExp(`cluster DNS ${dnsIP.replace(/\./g, '\\.')}`));
      assert.match((await c.kubectl(['exec', 'ext', '--', 'cat', '/etc/resolv.conf'])).stdout, new RegExp(`^nameserver ${dnsIP.replace(/\./g, '\\.')}$`, 'm'));
      assert.match((await c.kubectl(['exec', 'ext', '--', 'getent', 'hosts', 'kube-dns.kube-system'])).stdout, new RegExp(`^${dnsIP.replace(/\./g, '\\.')}\\s+kube-dns\\.kube-system\\.svc\\.cluster\\.local`));
      const get = async (): Promise<Obj> => JSON.parse((await c.kubectl(['get', 'pod', 'ext', '-o', 'json'])).stdout);
      const before = (await get()).status.containerStatuses[0];
      const [pid] = await eventually(() => shellPids(marker).length === 1 && shellPids(marker), 10_000, 'the program');

      agent.kill('SIGKILL');
      await eventually(() => agent.exitCode !== null || agent.signalCode !== null, 10_000, 'the agent to die');
      assert.ok(processAlive(pid), 'the program outlives its agent');
      out = '';
      agent = startAgent();
      await eventually(() => /re-adopting 1 pod sandbox/.test(out), 30_000, `the new agent to re-adopt:\n${out}`);
      assert.deepEqual(shellPids(marker), [pid]);
      const after = await eventually(async () => {
        const s = (await get()).status?.containerStatuses?.[0];
        return s?.ready ? s : undefined;
      }, 30_000, 'Ready under the new agent');
      assert.deepEqual([after.containerID, after.state, after.restartCount], [before.containerID, before.state, 0]);
      assert.equal((await c.kubectl(['exec', 'ext', '--', 'hostname'])).stdout.trim(), 'ext');
      const logs = (await c.kubectl(['logs', 'ext'])).stdout;
      assert.match(logs, new RegExp(`^${marker} 0$`, 'm'));

      // the adopted program is not this agent's child: its end is still seen
      process.kill(pid, 'SIGKILL');
      const restarted = await eventually(async () => {
        const s = (await get()).status?.containerStatuses?.[0];
        return s?.restartCount === 1 && s.state?.running ? s : undefined;
      }, 60_000, 'the container restarted');
      assert.equal(restarted.lastState.terminated.exitCode, 137);

      await c.kubectl(['delete', 'pod', 'ext', '--wait=true', '--timeout=60s']);
      await eventually(() => shellPids(marker).length === 0, 20_000, 'the program stopped');
    } finally {
      agent.kill('SIGTERM');
      await c.stop('SIGINT');
      for (const p of shellPids(marker)) process.kill(p, 'SIGKILL');
      // sandboxes outlive the agent by design: after a failure, what this test's agent left is killed by cgroup
      killSandboxes(path.join(agentDir, 'data', 'runtime', 'sandboxes'));
      fs.rmSync(agentDir, { recursive: true, force: true });
      fs.rmSync(c.dataDir, { recursive: true, force: true });
    }
  });
});
