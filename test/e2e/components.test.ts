// The control plane as separate processes, as upstream runs it: etcd, `petset apiserver`,
// two `petset controller-manager`s and a `petset scheduler` (leader-elected through Leases),
// and a `petset agent`, each on its own credential. A StatefulSet becomes Ready; killing the working controller manager
// hands the Lease to the standby, which carries on (the set scales).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { petsetBin, runKubectl, tempDir, eventually } from './harness.js';
import { Processes, kubeconfigOf, webSet } from './processes.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';

const procs = new Processes();
const dirs: string[] = [];
const run = (args: string[]) => procs.run(args);
let etcd: TestEtcd;

before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await procs.stopAll();
  await etcd?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('separate components over etcd', () => {
  it('a StatefulSet runs; the standby controller manager takes over when the leader dies', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const api = run(['apiserver', '--etcd-servers', etcd.endpoint, '--data-dir', dataDir, '--secure-port', '0']);
    const kubeconfig = await eventually(() => kubeconfigOf(api), 20_000, `apiserver up:\n${api.output()}`);
    const kubectl = (args: string[], input?: string) => runKubectl(['--kubeconfig', kubeconfig, ...args], { input });
    const json = async (...args: string[]) => JSON.parse((await kubectl([...args, '-o', 'json'])).stdout);

    // short lease timings, as the flags allow, so the take-over happens within the test
    const election = ['--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '500ms'];
    // each component on its own credential, with only its role's rights: the controller
    // manager's (its controllers on their ServiceAccounts' tokens), the scheduler's, the node's
    const managers = [0, 1].map(() => run(['controller-manager', '--kubeconfig', path.join(dataDir, 'controller-manager.conf'), '--use-service-account-credentials', '--data-dir', dataDir, ...election]));
    run(['scheduler', '--kubeconfig', path.join(dataDir, 'scheduler.conf'), ...election]);
    const nodeKubeconfig = path.join(dataDir, 'machine-1.conf');
    fs.writeFileSync(nodeKubeconfig, execFileSync(process.execPath, [petsetBin, 'node', 'kubeconfig', 'machine-1', '--data-dir', dataDir], { encoding: 'utf8' }), { mode: 0o600 });
    run(['agent', '--kubeconfig', nodeKubeconfig, '--node-name', 'machine-1']);

    await kubectl(['apply', '-f', '-'], webSet(2));
    await eventually(async () => (await json('get', 'statefulset', 'web')).status?.readyReplicas === 2, 60_000, 'web ready');

    // exactly one controller manager works: the Lease's holder
    const lease = await json('get', 'lease', 'kube-controller-manager', '-n', 'kube-system');
    const holder: string = lease.spec.holderIdentity;
    const leader = managers.find((m) => m.output().includes(`identity ${holder};`));
    const standby = managers.find((m) => m !== leader)!;
    assert.ok(leader, `the holder ${holder} is one of the two`);
    assert.match(leader.output(), /working/);
    assert.doesNotMatch(standby.output(), /working/);
    assert.equal((await json('get', 'lease', 'kube-scheduler', '-n', 'kube-system')).spec.leaseDurationSeconds, 3);

    await procs.kill(leader);
    const taken = await eventually(
      async () => {
        const l = await json('get', 'lease', 'kube-controller-manager', '-n', 'kube-system');
        return l.spec.holderIdentity !== holder && l;
      },
      30_000,
      'the standby holds the lease',
    );
    assert.ok(standby.output().includes(`identity ${taken.spec.holderIdentity};`));
    assert.equal(taken.spec.leaseTransitions, (lease.spec.leaseTransitions ?? 0) + 1);
    await eventually(() => /working/.test(standby.output()), 10_000, 'the standby works');

    await kubectl(['scale', 'statefulset', 'web', '--replicas=3']);
    await eventually(async () => (await json('get', 'statefulset', 'web')).status?.readyReplicas === 3, 60_000, 'web scaled by the new leader');
    // each pod's claim was provisioned and bound by the controller managers' volume controllers
    const claims = (await json('get', 'pvc')).items.map((c: { metadata: { name: string }; status: { phase: string } }) => `${c.metadata.name} ${c.status.phase}`);
    assert.deepEqual(claims.sort(), ['www-web-0 Bound', 'www-web-1 Bound', 'www-web-2 Bound']);
  });
});
