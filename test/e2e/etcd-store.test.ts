// `petset up --etcd-servers`: the whole control plane over Debian's etcd, driven by the real
// kubectl; objects are readable with etcdctl and survive a restart of `up`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { startCluster, tempDir, eventually, petsetBin, DB_MANIFEST } from './harness.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';

let etcd: TestEtcd;
const dirs: string[] = [];
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const etcdctl = (...args: string[]) =>
  execFileSync('etcdctl', ['--endpoints', etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' });

describe('petset up --etcd-servers', () => {
  it('runs a StatefulSet to Ready with its objects in etcd, and keeps them across a restart of up', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    // a ConfigMap an earlier petset wrote in its own key layout (/registry/<group or core>/<plural>/...)
    etcdctl('put', '/registry/core/configmaps/default/legacy', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'legacy', namespace: 'default', uid: 'legacy-uid', creationTimestamp: '2026-12-01T00:00:00Z' }, data: { mode: 'old-layout' } }));
    const c1 = await startCluster({ dataDir, extraArgs: ['--etcd-servers', etcd.endpoint] });
    let uid: string;
    try {
      assert.match(c1.output(), /objects in etcd at http:\/\/127\.0\.0\.1:\d+/);
      // moved to upstream's layout at start, and served from there
      assert.match(c1.output(), /petset store: 1 key in etcd moved to the upstream layout/);
      assert.equal((await c1.kubectl(['get', 'configmap', 'legacy', '-o', 'jsonpath={.data.mode}'])).stdout, 'old-layout');
      assert.deepEqual(etcdctl('get', '--prefix', '--keys-only', '/registry/configmaps/default/legacy').split('\n').filter(Boolean), ['/registry/configmaps/default/legacy']);
      await c1.kubectl(['apply', '-f', '-'], { input: DB_MANIFEST });
      const sts = async () => JSON.parse((await c1.kubectl(['get', 'statefulset', 'db', '-o', 'json'])).stdout);
      await eventually(async () => (await sts()).status?.readyReplicas === 3, 60_000, 'db ready');
      uid = (await sts()).metadata.uid;
      // the state is in etcd, under upstream's /registry prefix, not in the data dir
      assert.equal(fs.existsSync(`${dataDir}/state.db`), false);
      // in upstream kube-apiserver's layout: /registry/<resource>/<namespace>/<name>, with its historical names
      assert.deepEqual(etcdctl('get', '--prefix', '--keys-only', '/registry/statefulsets').split('\n').filter(Boolean), ['/registry/statefulsets/default/db']);
      const keys = etcdctl('get', '--prefix', '--keys-only', '/registry/').split('\n').filter(Boolean);
      for (const i of [0, 1, 2]) assert.ok(keys.includes(`/registry/pods/default/db-${i}`), keys.join('\n'));
      for (const k of ['/registry/services/specs/default/kubernetes', '/registry/services/endpoints/default/kubernetes', '/registry/namespaces/default', '/registry/clusterroles/cluster-admin', '/registry/persistentvolumeclaims/default/data-db-0', '/registry/storageclasses/standard']) {
        assert.ok(keys.includes(k), `${k} in\n${keys.join('\n')}`);
      }
      assert.ok(keys.some((k) => k.startsWith('/registry/minions/')) && keys.some((k) => k.startsWith('/registry/leases/kube-node-lease/')));
      assert.ok(!keys.some((k) => k.startsWith('/registry/core/') || k.startsWith('/registry/apps/')), 'nothing in the old layout');
      const stored = JSON.parse(etcdctl('get', '/registry/statefulsets/default/db', '--print-value-only'));
      assert.equal(stored.metadata.name, 'db');
    } finally {
      assert.equal(await c1.stop('SIGTERM'), 0);
    }

    const c2 = await startCluster({ dataDir, extraArgs: ['--etcd-servers', etcd.endpoint] });
    try {
      const sts = JSON.parse((await c2.kubectl(['get', 'statefulset', 'db', '-o', 'json'])).stdout);
      assert.equal(sts.metadata.uid, uid);
      const pvcs = JSON.parse((await c2.kubectl(['get', 'pvc', '-o', 'json'])).stdout).items.map((p: { metadata: { name: string } }) => p.metadata.name);
      assert.deepEqual(pvcs.sort(), ['data-db-0', 'data-db-1', 'data-db-2']);
      // the set is still served and still reconciled: scaling works on the restarted control plane
      await c2.kubectl(['scale', 'statefulset', 'db', '--replicas=4']);
      await eventually(
        async () => JSON.parse((await c2.kubectl(['get', 'statefulset', 'db', '-o', 'json'])).stdout).status?.readyReplicas === 4,
        60_000,
        'db scaled to 4',
      );
    } finally {
      assert.equal(await c2.stop('SIGTERM'), 0);
    }
  });

  it('refuses bad etcd flags and an unreachable etcd with a clear message', () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [petsetBin, 'up', '--data-dir', dataDir, '--port', '0', '--runtime', 'sim', ...args], { encoding: 'utf8', timeout: 60_000 });
    const bad = run('--etcd-servers', 'etcd-1:2379');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--etcd-servers: "etcd-1:2379" must be http:\/\/HOST:PORT or https:\/\/HOST:PORT/);
    const noCa = run('--etcd-servers', 'https://127.0.0.1:2379');
    assert.notEqual(noCa.status, 0);
    assert.match(noCa.stderr, /--etcd-cafile is needed/);
    // a port nothing listens on (the etcd's own peer port would answer; port 1 is never etcd)
    const down = run('--etcd-servers', 'http://127.0.0.1:1');
    assert.notEqual(down.status, 0);
    assert.match(down.stderr, /cannot reach etcd at http:\/\/127\.0\.0\.1:1/);
  });

  it('a kubectl request made while etcd is down is retried (ServerTimeout, Retry-After) and succeeds once etcd is back', async () => {
    const dataDir = tempDir();
    const etcdData = tempDir('petset-etcd-data-');
    dirs.push(dataDir, etcdData);
    let own: TestEtcd | undefined = await startEtcd({ dataDir: etcdData });
    const port = Number(new URL(own.endpoint).port);
    const c = await startCluster({ dataDir, extraArgs: ['--etcd-servers', own.endpoint] });
    try {
      await c.kubectl(['create', 'configmap', 'before', '--from-literal=a=1']);
      await own.stop();
      own = undefined;
      // kubectl retries a 5xx that carries Retry-After: once it has met one, etcd comes back
      const kubectl = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'get', 'configmap', 'before', '-o', 'jsonpath={.data.a}', '-v=6'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      kubectl.stdout.on('data', (d) => (stdout += d));
      kubectl.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((r) => kubectl.once('exit', r));
      try {
        await eventually(() => /configmaps\/before 500 Internal Server Error/.test(stderr), 60_000, `kubectl meets the outage:\n${stderr}`);
        own = await startEtcd({ dataDir: etcdData, clientPort: port });
        assert.equal(await exited, 0, stderr);
      } finally {
        kubectl.kill();
      }
      assert.equal(stdout, '1');
    } finally {
      await c.stop();
      await own?.stop();
    }
  });
});
