// A highly available control plane on one machine: a 3-member etcd (loopback addresses of its
// own), two `petset apiserver`s sharing one CA behind a TCP load balancer (as upstream puts
// one in front of its API servers), two leader-elected controller managers, a scheduler and an
// agent. During a 100-replica StatefulSet scale-up the etcd leader, an API server and the
// working controller manager are killed in turn, while a user keeps writing with kubectl
// through the load balancer: every write kubectl acknowledged is there afterwards, the set
// converges through the survivors, each ordinal exists once, and the standby controller
// manager took the Lease within the lease duration of the leader's last renewal.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runKubectl, tempDir, eventually } from './harness.js';
import { Processes, kubeconfigOf, webSet } from './processes.js';
import { startEtcdCluster, type TestEtcdCluster } from '../support/etcd.js';

const procs = new Processes();
const dirs: string[] = [];
const balancers: net.Server[] = [];
const run = (args: string[]) => procs.run(args);
let etcd: TestEtcdCluster;

before(async () => {
  etcd = await startEtcdCluster(3);
});
after(async () => {
  for (const lb of balancers) lb.close();
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
    // the load balancer: each connection to the first API server that accepts it
    const port = (kubeconfig: string) => Number(/server: https:\/\/127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(kubeconfig, 'utf8'))![1]);
    const backends = [port(kubeconfigA), port(kubeconfigB)];
    const lb = net.createServer((client) => {
      client.pause();
      const tryBackend = (i: number) => {
        if (i >= backends.length) return client.destroy();
        const upstream = net.connect(backends[(turn + i) % backends.length], '127.0.0.1');
        let connected = false;
        upstream.once('connect', () => {
          connected = true;
          upstream.pipe(client).pipe(upstream);
          client.resume();
        });
        // refused (that server is down): the next one; broken later: the client sees it, as behind a real balancer
        upstream.once('error', () => (connected ? client.destroy() : tryBackend(i + 1)));
        client.once('error', () => upstream.destroy());
      };
      const turn = lbTurn++;
      tryBackend(0);
    });
    let lbTurn = 0;
    await new Promise<void>((r) => lb.listen(0, '127.0.0.1', () => r()));
    balancers.push(lb);
    const kubeconfigLB = path.join(dirB, 'kubeconfig-lb');
    fs.writeFileSync(kubeconfigLB, fs.readFileSync(kubeconfigB, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${(lb.address() as net.AddressInfo).port}`));

    // a user writing all along, through the load balancer: what kubectl acknowledged, and what it reported failed
    const acknowledged: string[] = [];
    const failed: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const create = () => runKubectl(['--kubeconfig', kubeconfigLB, 'create', 'configmap', `user-${i}`, `--from-literal=n=${i}`], { allowFail: true, timeoutMs: 120_000 });
        let r = await create();
        // a create in flight on the API server killed under it is reset (behind a TCP balancer, as
        // on a real cluster) and kubectl does not repeat a POST: the user runs it again, and
        // AlreadyExists then says the first one was stored
        if (r.code !== 0 && /connection reset by peer|EOF/.test(r.stderr)) {
          r = await create();
          if (r.code !== 0 && /AlreadyExists/.test(r.stderr)) r = { ...r, code: 0 };
        }
        if (r.code === 0) acknowledged.push(`user-${i}`);
        else failed.push(`user-${i}: ${r.stderr.trim()}`);
      }
    })();

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

    const replicas = 100;
    await onA(['scale', 'statefulset', 'web', `--replicas=${replicas}`]);
    const ready = async () => (await jsonB('get', 'statefulset', 'web')).status?.readyReplicas ?? 0;

    await etcd.kill(etcd.leader());
    await eventually(async () => (await ready()) >= 10, 60_000, 'progress after the etcd leader died');
    await procs.kill(apiA);
    await eventually(async () => (await ready()) >= 20, 120_000, 'progress after an API server died');
    const lease = await jsonB('get', 'lease', 'kube-controller-manager', '-n', 'kube-system');
    const leader = managers.find((m) => m.output().includes(`identity ${lease.spec.holderIdentity};`))!;
    assert.ok(leader, 'one of the two holds the lease');
    await procs.kill(leader);
    // its last renewal, as the Lease recorded it (it may have renewed once more after the read above)
    const lastRenewal = Date.parse((await jsonB('get', 'lease', 'kube-controller-manager', '-n', 'kube-system')).spec.renewTime);

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
    // the standby took over as soon as the lease ran out: within the lease duration (4 s) of the
    // last renewal, plus one retry period (0.5 s) and a second for a loaded machine
    const takeoverMs = Date.parse(after.spec.acquireTime) - lastRenewal;
    process.stderr.write(`# lease taken over ${takeoverMs} ms after the leader's last renewal\n`);
    assert.ok(takeoverMs <= 4_000 + 500 + 1_000, `taken over ${takeoverMs} ms after the last renewal`);

    // the user's writes: none failed (kubectl retried what was retryable, the user what was reset), none acknowledged was lost
    writing = false;
    await writer;
    assert.deepEqual(failed, [], 'no kubectl request failed');
    const stored = new Set((await jsonB('get', 'configmaps')).items.map((c: { metadata: { name: string } }) => c.metadata.name));
    assert.deepEqual(acknowledged.filter((n) => !stored.has(n)), [], 'every acknowledged write is stored');
    process.stderr.write(`# ${acknowledged.length} kubectl writes during the kills, all acknowledged and stored\n`);
    // ordered scale-up (one pod at a time) was still under way when the last part died
    process.stderr.write(`# ready replicas when the controller manager was killed: ${readyAtLastKill}/${replicas}\n`);
    assert.equal((await jsonB('get', 'statefulset', 'web')).spec.replicas, replicas, 'the acknowledged scale was kept');
  });
});
