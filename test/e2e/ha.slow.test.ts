// A highly available control plane on one machine: a 3-member etcd (loopback addresses of its
// own), two `petset apiserver`s sharing one CA, two leader-elected controller managers, a
// scheduler and an agent. During a StatefulSet scale-up the etcd leader, an API server and the
// working controller manager are killed in turn; the set converges through the survivors, each
// ordinal exists once, and the standby controller manager holds the Lease.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runKubectl, tempDir, eventually } from './harness.js';
import { Processes, kubeconfigOf, webSet } from './processes.js';
import { startEtcdCluster, type TestEtcdCluster } from '../support/etcd.js';

const procs = new Processes();
const dirs: string[] = [];
const run = (args: string[]) => procs.run(args);
let etcd: TestEtcdCluster;

before(async () => {
  etcd = await startEtcdCluster(3);
});
after(async () => {
  await procs.stopAll();
  await etcd?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('highly available control plane over a 3-member etcd', () => {
  it('converges through the death of the etcd leader, an API server and the working controller manager', async () => {
    const servers = etcd.endpoints.join(',');
    const dirA = tempDir();
    const dirB = tempDir();
    dirs.push(dirA, dirB);
    const apiA = run(['apiserver', '--etcd-servers', servers, '--data-dir', dirA, '--secure-port', '0']);
    const kubeconfigA = await eventually(() => kubeconfigOf(apiA), 30_000, `apiserver A:\n${apiA.output()}`);
    // the second API server shares the first's CA and tokens (as upstream's share a CA and service-account keys)
    fs.cpSync(path.join(dirA, 'pki'), path.join(dirB, 'pki'), { recursive: true });
    const apiB = run(['apiserver', '--etcd-servers', servers, '--data-dir', dirB, '--secure-port', '0']);
    const kubeconfigB = await eventually(() => kubeconfigOf(apiB), 30_000, `apiserver B:\n${apiB.output()}`);
    const onA = (args: string[], input?: string) => runKubectl(['--kubeconfig', kubeconfigA, ...args], { input });
    const onB = (args: string[], input?: string) => runKubectl(['--kubeconfig', kubeconfigB, ...args], { input });
    const jsonB = async (...args: string[]) => JSON.parse((await onB([...args, '-o', 'json'])).stdout);

    const election = ['--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '500ms'];
    const managers = [0, 1].map(() => run(['controller-manager', '--kubeconfig', kubeconfigB, '--data-dir', dirB, ...election]));
    run(['scheduler', '--kubeconfig', kubeconfigB, ...election]);
    run(['agent', '--kubeconfig', kubeconfigB, '--node-name', 'machine-1']);

    // written through A, read through B: one cluster
    await onA(['apply', '-f', '-'], webSet(3));
    await eventually(async () => (await jsonB('get', 'statefulset', 'web')).status?.readyReplicas === 3, 60_000, 'web ready');

    const replicas = 30;
    await onA(['scale', 'statefulset', 'web', `--replicas=${replicas}`]);
    const ready = async () => (await jsonB('get', 'statefulset', 'web')).status?.readyReplicas ?? 0;

    await etcd.kill(etcd.leader());
    await eventually(async () => (await ready()) >= 10, 60_000, 'progress after the etcd leader died');
    await procs.kill(apiA);
    const lease = await jsonB('get', 'lease', 'kube-controller-manager', '-n', 'kube-system');
    const leader = managers.find((m) => m.output().includes(`identity ${lease.spec.holderIdentity};`))!;
    assert.ok(leader, 'one of the two holds the lease');
    await procs.kill(leader);

    const readyAtLastKill = await ready();
    await eventually(async () => (await ready()) === replicas, 120_000, 'all replicas ready');
    const pods: string[] = (await jsonB('get', 'pods', '-l', 'app=web')).items.map((p: { metadata: { name: string } }) => p.metadata.name);
    assert.equal(pods.length, replicas);
    assert.deepEqual(
      [...pods].sort(),
      Array.from({ length: replicas }, (_, i) => `web-${i}`).sort(),
      'each ordinal exactly once',
    );
    const standby = managers.find((m) => m !== leader)!;
    const after = await eventually(
      async () => {
        const l = await jsonB('get', 'lease', 'kube-controller-manager', '-n', 'kube-system');
        return l.spec.holderIdentity !== lease.spec.holderIdentity && l;
      },
      30_000,
      'the standby holds the lease',
    );
    assert.ok(standby.output().includes(`identity ${after.spec.holderIdentity};`));
    // ordered scale-up (one pod at a time) was still under way when the last part died
    process.stderr.write(`# ready replicas when the controller manager was killed: ${readyAtLastKill}/${replicas}\n`);
    assert.equal((await jsonB('get', 'statefulset', 'web')).spec.replicas, replicas, 'the acknowledged scale was kept');
  });
});
