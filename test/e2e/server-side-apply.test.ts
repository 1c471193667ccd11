// Server-side apply with the real kubectl (1.27 and 1.33 by default; KUBECTL_VERSIONS=1.27,1.28,…
// for more) against `petset up` over HTTPS: conflicts refused with upstream's text,
// --force-conflicts, pruning of a dropped key, --show-managed-fields with kubectl's and the
// controller's status entries, and the client-side → server-side apply upgrade.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startCluster, tempDir, type Cluster, type KubectlResult } from './harness.js';

const versions = (process.env.KUBECTL_VERSIONS ?? '1.27,1.33').split(',').map((v) => v.trim());
const binary = (v: string) => `/usr/lib/google-cloud-sdk/bin/kubectl.${v}`;

describe('kubectl apply --server-side against petset up', () => {
  let cluster: Cluster;
  const work = tempDir('petset-ssa-');
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
    if (cluster) fs.rmSync(cluster.dataDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  for (const v of versions) {
    const present = fs.existsSync(binary(v));
    it(`kubectl ${v}`, { skip: present ? false : `kubectl ${v} is not installed at ${binary(v)}` }, async () => {
      const ns = `ssa-${v.replace('.', '-')}`;
      const cacheDir = tempDir('kubectl-cache-');
      const kubectl = (args: string[], opts: { input?: string; allowFail?: boolean } = {}) =>
        run(binary(v), ['--kubeconfig', cluster.kubeconfig, '--cache-dir', cacheDir, '-n', ns, ...args], opts);
      const file = (name: string, text: string) => {
        const p = path.join(work, `${ns}-${name}.yaml`);
        fs.writeFileSync(p, text);
        return p;
      };
      await kubectl(['create', 'namespace', ns]);

      // a StatefulSet applied server-side; the controller writes its status
      const stsFile = file('sts', statefulSet(2));
      assert.match((await kubectl(['apply', '--server-side', '-f', stsFile])).stdout, /statefulset.apps\/web serverside-applied/);
      const managed = await eventually(async () => {
        const o = JSON.parse((await kubectl(['get', 'sts', 'web', '--show-managed-fields', '-o', 'json'])).stdout);
        const entries = o.metadata.managedFields as any[];
        return entries.some((e) => e.subresource === 'status') ? entries : undefined;
      }, 30_000, 'a status entry from the controller');
      const applied = managed.find((e) => e.manager === 'kubectl');
      assert.equal(applied.operation, 'Apply');
      assert.equal(applied.apiVersion, 'apps/v1');
      assert.equal(applied.fieldsType, 'FieldsV1');
      assert.deepEqual(applied.fieldsV1['f:spec']['f:replicas'], {});
      assert.deepEqual(applied.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}']['.'], {});
      const status = managed.find((e) => e.subresource === 'status');
      assert.equal(status.operation, 'Update');
      assert.ok(status.fieldsV1['f:status'], 'the controller owns status fields');
      const yamlOut = (await kubectl(['get', 'sts', 'web', '--show-managed-fields', '-o', 'yaml'])).stdout;
      assert.match(yamlOut, /managedFields:\n  - apiVersion: apps\/v1\n    fieldsType: FieldsV1\n    fieldsV1:\n      f:spec:/);
      assert.doesNotMatch((await kubectl(['get', 'sts', 'web', '-o', 'yaml'])).stdout, /managedFields/, 'hidden without the flag');

      // another manager changed replicas: kubectl's apply of a different value is refused
      await kubectl(['patch', 'sts', 'web', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
      const refused = await kubectl(['apply', '--server-side', '-f', file('sts4', statefulSet(4))], { allowFail: true });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /error: Apply failed with 1 conflict: conflict with "kubectl-patch" using apps\/v1: \.spec\.replicas/);
      assert.match(refused.stderr, /--force-conflicts/);
      // a second applier with its own manager name conflicts with kubectl's applied fields
      const other = await kubectl(['apply', '--server-side', '--field-manager=other', '-f', file('sts-image', statefulSet(3, 'nginx:1.27'))], { allowFail: true });
      assert.equal(other.code, 1);
      assert.match(other.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.template\.spec\.containers\[name="nginx"\]\.image/);

      // --force-conflicts wins and takes the field over
      assert.match((await kubectl(['apply', '--server-side', '--force-conflicts', '-f', file('sts4', statefulSet(4))])).stdout, /serverside-applied/);
      const forced = JSON.parse((await kubectl(['get', 'sts', 'web', '--show-managed-fields', '-o', 'json'])).stdout);
      assert.equal(forced.spec.replicas, 4);
      assert.equal(forced.metadata.managedFields.find((e: any) => e.manager === 'kubectl-patch'), undefined, 'kubectl-patch owned only replicas');

      // re-applying without a key removes it
      const cm = (keys: Record<string, string>) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  labels:\n    app: web\ndata:\n${Object.entries(keys)
          .map(([k, val]) => `  ${k}: "${val}"`)
          .join('\n')}\n`;
      await kubectl(['apply', '--server-side', '-f', file('cm', cm({ a: '1', b: '2' }))]);
      await kubectl(['apply', '--server-side', '-f', file('cm', cm({ a: '1' }))]);
      const pruned = JSON.parse((await kubectl(['get', 'cm', 'settings', '-o', 'json'])).stdout);
      assert.deepEqual(pruned.data, { a: '1' });

      // client-side apply, then --server-side: kubectl takes over its own fields without conflict
      const csaFile = file('csa', cm({ x: '1' }).replace('name: settings', 'name: upgraded'));
      await kubectl(['apply', '-f', csaFile]);
      const csa = JSON.parse((await kubectl(['get', 'cm', 'upgraded', '--show-managed-fields', '-o', 'json'])).stdout);
      assert.deepEqual(csa.metadata.managedFields.map((e: any) => [e.manager, e.operation]), [['kubectl-client-side-apply', 'Update']]);
      fs.writeFileSync(csaFile, cm({ x: '2' }).replace('name: settings', 'name: upgraded'));
      assert.match((await kubectl(['apply', '--server-side', '-f', csaFile])).stdout, /serverside-applied/);
      const upgraded = JSON.parse((await kubectl(['get', 'cm', 'upgraded', '--show-managed-fields', '-o', 'json'])).stdout);
      assert.equal(upgraded.data.x, '2');
      const managers = upgraded.metadata.managedFields.map((e: any) => `${e.manager}/${e.operation}`).sort();
      assert.deepEqual(managers, ['kubectl-last-applied/Apply', 'kubectl/Apply']);
      const last = JSON.parse(upgraded.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
      assert.equal(last.data.x, '2', 'the last-applied annotation follows server-side applies');

      // dry run changes nothing
      fs.writeFileSync(csaFile, cm({ x: '3' }).replace('name: settings', 'name: upgraded'));
      await kubectl(['apply', '--server-side', '--dry-run=server', '-f', csaFile]);
      assert.equal(JSON.parse((await kubectl(['get', 'cm', 'upgraded', '-o', 'json'])).stdout).data.x, '2');

      // strict validation of an unknown field
      const bad = await kubectl(['apply', '--server-side', '-f', file('bad', cm({ a: '1' }).replace('\ndata:', '\nbogus: 1\ndata:'))], { allowFail: true });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /bogus/);
      fs.rmSync(cacheDir, { recursive: true, force: true });
    });
  }
});

// Upstream's test/cmd/apply.sh run_kubectl_server_side_apply_tests, step by step.
describe('upstream test/cmd server-side apply assertions', () => {
  let cluster: Cluster;
  const work = tempDir('petset-ssa-cmd-');
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
    if (cluster) fs.rmSync(cluster.dataDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });
  const pod = (name: string, label: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n    name: ${label}\nspec:\n  containers:\n  - name: kubernetes-pause\n    image: registry.k8s.io/pause:3.10\n`;

  for (const v of versions) {
    const present = fs.existsSync(binary(v));
    it(`kubectl ${v}`, { skip: present ? false : `kubectl ${v} is not installed at ${binary(v)}` }, async () => {
      const ns = `cmd-${v.replace('.', '-')}`;
      const cacheDir = tempDir('kubectl-cache-');
      const kubectl = (args: string[], opts: { input?: string; allowFail?: boolean } = {}) =>
        run(binary(v), ['--kubeconfig', cluster.kubeconfig, '--cache-dir', cacheDir, '-n', ns, ...args], opts);
      const file = (name: string, text: string) => {
        const p = path.join(work, `${ns}-${name}.yaml`);
        fs.writeFileSync(p, text);
        return p;
      };
      await kubectl(['create', 'namespace', ns]);
      const labelOf = async (name: string) => (await kubectl(['get', 'pod', name, '-o', 'jsonpath={.metadata.labels.name}'])).stdout;

      // apply creates the pod, with kubectl as its manager; a custom manager with --force-conflicts
      const p1 = file('p1', pod('test-pod', 'test-pod-label'));
      await kubectl(['apply', '--server-side', '-f', p1]);
      assert.equal(await labelOf('test-pod'), 'test-pod-label');
      assert.match((await kubectl(['get', '--show-managed-fields', '-f', p1, '-o=jsonpath={.metadata.managedFields[*].manager}'])).stdout, /kubectl/);
      await kubectl(['apply', '--server-side', '--field-manager=my-field-manager', '--force-conflicts', '-f', p1]);
      assert.match((await kubectl(['get', '-f', p1, '-o=jsonpath={.metadata.managedFields[*].manager}'])).stdout, /my-field-manager/);

      // --dry-run=server creates nothing and changes nothing
      const p2 = file('p2', pod('dry-pod', 'test-pod-label'));
      await kubectl(['apply', '--server-side', '--dry-run=server', '-f', p2]);
      assert.equal((await kubectl(['get', 'pods', '-o', 'name'])).stdout.includes('dry-pod'), false);
      await kubectl(['apply', '--server-side', '-f', p2]);
      const rv = (await kubectl(['get', '-f', p2, '-o', 'go-template={{ .metadata.resourceVersion }}'])).stdout;
      await kubectl(['apply', '--server-side', '--dry-run=server', '-f', file('p2-apply', pod('dry-pod', 'test-pod-applied'))]);
      assert.equal(await labelOf('dry-pod'), 'test-pod-label');
      const rvNow = (await kubectl(['get', '-f', p2, '-o', 'go-template={{ .metadata.resourceVersion }}'])).stdout;
      // the controller may have written status meanwhile; the dry run itself never bumps it past that
      assert.ok(Number(rvNow) >= Number(rv));

      // upgrade client-side apply → server-side apply, and back
      const p3 = file('p3', pod('up-pod', 'test-pod-label'));
      const p3apply = file('p3-apply', pod('up-pod', 'test-pod-applied'));
      await kubectl(['apply', '-f', p3]);
      const notKubectl = await kubectl(['apply', '--server-side', '--field-manager=not-kubectl', '-f', p3apply], { allowFail: true });
      assert.notEqual(notKubectl.code, 0, 'only the kubectl manager upgrades without conflicts');
      await kubectl(['apply', '--server-side', '-f', p3apply]);
      assert.match((await kubectl(['get', 'pods', 'up-pod', '-o', 'yaml'])).stdout, /kubectl.kubernetes.io\/last-applied-configuration/);
      assert.match((await kubectl(['apply', 'view-last-applied', 'pod/up-pod', '-o', 'json'])).stdout, /"name": "test-pod-applied"/);
      await kubectl(['apply', '--server-side', '-f', p3]);
      assert.match((await kubectl(['apply', 'view-last-applied', 'pod/up-pod', '-o', 'json'])).stdout, /"name": "test-pod-label"/);
      await kubectl(['apply', '-f', p3apply]);
      assert.equal(await labelOf('up-pod'), 'test-pod-applied');

      // a key kept across the upgrade, then dropped by a server-side apply, is removed
      const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: test\ndata:\n${data}`;
      await kubectl(['apply', '-f', '-'], { input: cm('  key: value\n  legacy: unused\n') });
      assert.match((await kubectl(['get', 'configmap', 'test', '-o', 'yaml'])).stdout, /legacy: unused/);
      await kubectl(['apply', '--server-side', '-f', '-'], { input: cm('  key: value\n  legacy: unused\n') });
      assert.match((await kubectl(['get', 'configmap', 'test', '-o', 'yaml'])).stdout, /legacy: unused/);
      await kubectl(['apply', '--server-side', '-f', '-'], { input: cm('  key: value\n') });
      assert.doesNotMatch((await kubectl(['get', 'configmap', 'test', '-o', 'yaml'])).stdout, /legacy: unused/);
      fs.rmSync(cacheDir, { recursive: true, force: true });
    });
  }
});

function statefulSet(replicas: number, image = 'nginx:1.25'): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: ${replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: ${image}
`;
}

function run(bin: string, args: string[], opts: { input?: string; allowFail?: boolean }): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
      const r = { code, stdout: String(stdout), stderr: String(stderr) };
      if (code !== 0 && !opts.allowFail) reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed (${code}):\n${r.stderr}\n${r.stdout}`));
      else resolve(r);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin?.end();
  });
}
