// Clients built on client-go ≥ 0.32 send protobuf for every typed call: kubectl 1.32+ and Helm 3.17.
// Each kubectl from 1.27 to 1.33 and Helm 3 run against `petset up`, doing what broke when only six
// kinds decoded: `helm uninstall` (DeleteOptions), `kubectl debug --copy-to` (Pod).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { eventually, repoRoot, startCluster, tempDir, type Cluster, type KubectlResult } from './harness.js';
import { findHelm } from '../support/helm.js';

const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';
const VERSIONS = [27, 28, 29, 30, 31, 32, 33];
const CHART = path.join(repoRoot, 'test', 'fixtures', 'charts', 'petset-demo');

function run(bin: string, args: string[], env: Record<string, string> = {}): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function ok(r: KubectlResult, what: string): string {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe('protobuf clients against petset up', () => {
  let c: Cluster;
  let cacheRoot: string;
  const dirs: string[] = [];

  before(async () => {
    c = await startCluster();
    dirs.push(c.dataDir);
    cacheRoot = tempDir('kubectl-cache-');
    dirs.push(cacheRoot);
    await c.kubectl(['run', 'src', '--image=busybox', '--restart=Never', '--', 'sleep', '3600']);
  });
  after(async () => {
    await c?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const v of VERSIONS) {
    const bin = path.join(KUBECTL_DIR, `kubectl.1.${v}`);
    const skip = fs.existsSync(bin) ? false : `${bin} is not installed`;
    const kubectl = (...args: string[]) => run(bin, ['--kubeconfig', c.kubeconfig, '--cache-dir', path.join(cacheRoot, String(v)), ...args]);

    it(`kubectl 1.${v}: debug --copy-to creates the copy pod`, { skip }, async () => {
      ok(await kubectl('debug', 'src', `--copy-to=src-copy-${v}`, '--image=busybox', '--container=debugger', '--', 'sleep', '100'), 'debug --copy-to');
      const copy = JSON.parse(ok(await kubectl('get', 'pod', `src-copy-${v}`, '-o', 'json'), 'get copy'));
      assert.deepEqual(
        copy.spec.containers.map((k: { name: string; image: string }) => `${k.name}=${k.image}`),
        ['src=busybox', 'debugger=busybox'],
      );
    });

    it(`kubectl 1.${v}: create configmap`, { skip }, async () => {
      assert.equal(ok(await kubectl('create', 'configmap', `cm-${v}`, '--from-literal=a=1'), 'create configmap'), `configmap/cm-${v} created\n`);
      assert.deepEqual(JSON.parse(ok(await kubectl('get', 'configmap', `cm-${v}`, '-o', 'json'), 'get cm')).data, { a: '1' });
    });

    it(`kubectl 1.${v}: delete --dry-run=server leaves the object`, { skip }, async () => {
      ok(await kubectl('create', 'configmap', `keep-${v}`, '--from-literal=a=1'), 'create configmap');
      assert.match(ok(await kubectl('delete', 'configmap', `keep-${v}`, '--dry-run=server'), 'delete --dry-run=server'), /deleted \(server dry run\)/);
      const still = await kubectl('get', 'configmap', `keep-${v}`, '-o', 'name');
      assert.equal(still.code, 0, `a server dry run deleted the configmap: ${still.stderr}`);
      assert.equal(still.stdout, `configmap/keep-${v}\n`);
    });
  }

  it('a path that does not exist is 404 whatever the body; an existing one refuses what it cannot read', async () => {
    const token = /token: (\S+)/.exec(fs.readFileSync(c.kubeconfig, 'utf8'))![1];
    const post = (p: string, contentType: string, body: Buffer) =>
      new Promise<{ status: number; reason: string }>((resolve, reject) => {
        const req = https.request(
          `${c.url}${p}`,
          { method: 'POST', rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType } },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode!, reason: JSON.parse(text).reason }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // runtime.Unknown of a batch/v1 Job posted where no resource is
    const typeMeta = Buffer.concat([Buffer.from([0x0a, 8]), Buffer.from('batch/v1'), Buffer.from([0x12, 3]), Buffer.from('Job')]);
    const job = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, typeMeta.length]), typeMeta, Buffer.from([0x12, 0])]);
    const PROTOBUF = 'application/vnd.kubernetes.protobuf';
    assert.deepEqual(await post('/apis/example.com/v1/namespaces/default/widgets', PROTOBUF, job), { status: 404, reason: 'NotFound' });
    assert.deepEqual(await post('/api/v1/namespaces/default/nosuchthings', PROTOBUF, job), { status: 404, reason: 'NotFound' });
    assert.deepEqual(await post('/api/v1/namespaces/default/pods/src/nosuch', PROTOBUF, job), { status: 404, reason: 'NotFound' });
    assert.deepEqual(await post('/api/v1/namespaces/default/nosuchthings', 'application/json', Buffer.from('{nope')), { status: 404, reason: 'NotFound' });
    // a served kind of another type is refused as the wrong object; a kind nobody serves cannot be read at all
    assert.deepEqual(await post('/api/v1/namespaces/default/configmaps', PROTOBUF, job), { status: 400, reason: 'BadRequest' });
    const widgetMeta = Buffer.concat([Buffer.from([0x0a, 14]), Buffer.from('example.com/v1'), Buffer.from([0x12, 6]), Buffer.from('Widget')]);
    const widget = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, widgetMeta.length]), widgetMeta, Buffer.from([0x12, 0])]);
    assert.deepEqual(await post('/api/v1/namespaces/default/configmaps', PROTOBUF, widget), { status: 415, reason: 'UnsupportedMediaType' });
    assert.deepEqual(await post('/api/v1/namespaces/default/configmaps', 'application/json', Buffer.from('{nope')), { status: 400, reason: 'BadRequest' });
  });

  const helm = findHelm();
  after(() => helm.cleanup());
  it('helm 3: install, upgrade, rollback, uninstall, and install again under the same name', { skip: helm.reason ?? false }, async () => {
    const home = tempDir('helm-home-');
    dirs.push(home);
    const env = {
      KUBECONFIG: c.kubeconfig,
      HELM_CACHE_HOME: path.join(home, 'cache'),
      HELM_CONFIG_HOME: path.join(home, 'config'),
      HELM_DATA_HOME: path.join(home, 'data'),
    };
    const h = (...args: string[]) => run(helm.bin!, args, env);
    const sts = async () => JSON.parse((await c.kubectl(['get', 'sts', 'demo', '-o', 'json'])).stdout);
    const history = async () =>
      (JSON.parse(ok(await h('history', 'demo', '-o', 'json'), 'history')) as Array<{ revision: number; status: string }>).map(
        (r) => `${r.revision}:${r.status}`,
      );

    assert.match(ok(await h('install', 'demo', CHART), 'install'), /STATUS: deployed/);
    const names = (await c.kubectl(['get', 'sts,svc,cm,secret,pdb', '-l', 'app.kubernetes.io/instance=demo', '-o', 'name'])).stdout;
    for (const o of ['statefulset.apps/demo', 'service/demo', 'configmap/demo-config', 'secret/demo-secret', 'poddisruptionbudget.policy/demo']) {
      assert.ok(names.split('\n').includes(o), `${o} missing from:\n${names}`);
    }
    assert.equal((await sts()).spec.replicas, 2);

    assert.match(ok(await h('upgrade', 'demo', CHART, '--set', 'replicas=3', '--set', 'greeting=hi'), 'upgrade'), /REVISION: 2/);
    assert.equal((await sts()).spec.replicas, 3);
    const cm = JSON.parse((await c.kubectl(['get', 'cm', 'demo-config', '-o', 'json'])).stdout);
    assert.equal(cm.data.greeting, 'hi');

    assert.match(ok(await h('rollback', 'demo', '1'), 'rollback'), /Rollback was a success/);
    assert.equal((await sts()).spec.replicas, 2);
    assert.deepEqual(await history(), ['1:superseded', '2:superseded', '3:deployed']);

    assert.match(ok(await h('uninstall', 'demo'), 'uninstall'), /release "demo" uninstalled/);
    // status filters both Helm 3 and Helm 4 know (Helm 4 dropped --all)
    const left = ok(await h('list', '-q', '--deployed', '--failed', '--pending', '--uninstalling', '--superseded'), 'list');
    assert.equal(left.trim(), '', 'no release is left, not even one stuck in uninstalling');
    await eventually(async () => (await c.kubectl(['get', 'sts,svc,cm,pdb', '-l', 'app.kubernetes.io/instance=demo', '-o', 'name'])).stdout === '', 30_000, 'the chart objects to go');

    assert.match(ok(await h('install', 'demo', CHART), 'second install'), /STATUS: deployed/);
    assert.deepEqual(await history(), ['1:deployed']);
    assert.equal((await sts()).spec.replicas, 2);
  });
});
