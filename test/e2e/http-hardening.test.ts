// The real kubectl (every installed 1.27-1.33) against `petset up` for the HTTP front end and
// the API defects of issues 18 and 8: large bodies without resets, dry-run deletes, cluster
// IPs of dry runs, watches with --request-timeout, /metrics, event expiry, plain HTTP on the
// TLS port, and watches ended cleanly by SIGTERM.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import yaml from 'js-yaml';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startCluster, tempDir, type Cluster } from './harness.js';

const VERSIONED = '/usr/lib/google-cloud-sdk/bin';
const versions = ['27', '28', '29', '30', '31', '32', '33'].filter((v) => fs.existsSync(path.join(VERSIONED, `kubectl.1.${v}`)));

function kubectlAt(bin: string, c: Cluster, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(bin, ['--kubeconfig', c.kubeconfig, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end(input ?? '');
  });
}

describe('HTTP hardening and API defects with the real kubectl', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ extraArgs: ['--event-ttl', '3s'] });
  });
  after(async () => {
    await c?.stop();
  });

  it('creates 40 ConfigMaps of 100 KB in one kubectl call without a connection reset', async () => {
    const docs = Array.from({ length: 40 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big-${i}\ndata:\n  blob: "${'x'.repeat(100 * 1024)}"\n`).join('---\n');
    const r = await c.kubectl(['create', '-f', '-'], { input: docs, timeoutMs: 120_000 });
    assert.equal((r.stdout.match(/created/g) ?? []).length, 40, r.stderr);
    assert.doesNotMatch(r.stderr, /reset/);
  });

  it('keeps the object on delete --dry-run=server, with every kubectl version', async () => {
    if (!versions.length) console.log('skipped versioned kubectl: none installed under', VERSIONED);
    await c.kubectl(['create', 'configmap', 'survivor', '--from-literal=a=b']);
    for (const v of versions) {
      const r = await kubectlAt(path.join(VERSIONED, `kubectl.1.${v}`), c, ['delete', 'configmap', 'survivor', '--dry-run=server']);
      assert.equal(r.code, 0, `kubectl 1.${v}: ${r.stderr}`);
      assert.match(r.stdout, /configmap "survivor" deleted \(server dry run\)/);
      const still = await c.kubectl(['get', 'configmap', 'survivor', '-o', 'name']);
      assert.equal(still.stdout.trim(), 'configmap/survivor', `kubectl 1.${v} deleted it`);
    }
    await c.kubectl(['delete', 'configmap', 'survivor']);
    const gone = await c.kubectl(['get', 'configmap', 'survivor'], { allowFail: true });
    assert.match(gone.stderr, /NotFound/);
  });

  it('leaves a fixed cluster IP free after a server-side dry run', async () => {
    // an address of this cluster's service range (the kubernetes service holds its first one)
    const first = (await c.kubectl(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    const fixed = first.replace(/\.\d+$/, '.20');
    const r = await c.kubectl(['create', 'service', 'clusterip', 'dry', '--tcp=80:80', `--clusterip=${fixed}`, '--dry-run=server', '-o', 'jsonpath={.spec.clusterIP}']);
    assert.equal(r.stdout, fixed);
    const real = await c.kubectl(['create', 'service', 'clusterip', 'real', '--tcp=80:80', `--clusterip=${fixed}`, '-o', 'jsonpath={.spec.clusterIP}']);
    assert.equal(real.stdout, fixed);
  });

  it('prints the rows and ends a watch with --request-timeout=1 as upstream does', async () => {
    const started = Date.now();
    const r = await c.kubectl(['get', 'configmaps', '--watch', '--request-timeout=1'], { timeoutMs: 30_000 });
    assert.match(r.stdout, /^NAME\s+DATA\s+AGE/);
    assert.match(r.stdout, /big-0\s/);
    assert.ok(Date.now() - started < 20_000);
  });

  it('serves /metrics to kubectl get --raw', async () => {
    const r = await c.kubectl(['get', '--raw', '/metrics']);
    assert.match(r.stdout, /^apiserver_request_total\{.*code="201".*resource="configmaps".*verb="POST".*\} \d+$/m);
    assert.match(r.stdout, /^# TYPE apiserver_request_duration_seconds histogram$/m);
    assert.match(r.stdout, /^etcd_request_duration_seconds_count\{operation="create",type="configmaps"\} \d+$/m);
    assert.match(r.stdout, /^apiserver_registered_watchers\{/m);
  });

  it('expires events after --event-ttl', async () => {
    const ev = `apiVersion: v1\nkind: Event\nmetadata:\n  name: short-lived\n  namespace: default\ninvolvedObject:\n  kind: ConfigMap\n  name: big-0\n  namespace: default\nreason: Test\nmessage: expires soon\ntype: Normal\nsource:\n  component: test\n`;
    await c.kubectl(['create', '-f', '-'], { input: ev });
    await eventually(async () => (await c.kubectl(['get', 'events', '-o', 'name'])).stdout.includes('short-lived'), 10_000, 'the event to be listed');
    await eventually(async () => !(await c.kubectl(['get', 'events', '-o', 'name'])).stdout.includes('short-lived'), 30_000, 'the event to expire');
  });

  it('get all, apply --prune and cluster-info dump work with every kubectl version', async () => {
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels: {app: prune}\ndata: {a: b}\n`;
    const both = await c.kubectl(['apply', '--prune', '-l', 'app=prune', '-f', '-'], { input: cm('prune-a') + '---\n' + cm('prune-b') });
    assert.match(both.stdout, /configmap\/prune-b created/);
    const pruned = await c.kubectl(['apply', '--prune', '-l', 'app=prune', '-f', '-'], { input: cm('prune-a') });
    assert.match(pruned.stdout, /configmap\/prune-b pruned/);
    for (const v of versions) {
      const bin = path.join(VERSIONED, `kubectl.1.${v}`);
      const all = await kubectlAt(bin, c, ['get', 'all']);
      assert.equal(all.code, 0, `kubectl 1.${v} get all: ${all.stderr}`);
      assert.match(all.stdout, /service\/kubernetes/);
      const prune = await kubectlAt(bin, c, ['apply', '--prune', '-l', 'app=prune', '-f', '-'], cm('prune-a'));
      assert.equal(prune.code, 0, `kubectl 1.${v} apply --prune: ${prune.stderr}`);
      const dumpDir = tempDir('dump-');
      const dump = await kubectlAt(bin, c, ['cluster-info', 'dump', '--output-directory', dumpDir]);
      assert.equal(dump.code, 0, `kubectl 1.${v} cluster-info dump: ${dump.stderr}`);
      assert.ok(fs.existsSync(path.join(dumpDir, 'default', 'replication-controllers.json')));
      fs.rmSync(dumpDir, { recursive: true, force: true });
    }
    // a kind listed but not run (Ingress) refuses writes with a reason instead of storing what nothing would act on
    const ingress = await c.kubectl(['create', '-f', '-'], {
      input: 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n  defaultBackend:\n    service: {name: web, port: {number: 80}}\n',
      allowFail: true,
    });
    assert.notEqual(ingress.code, 0);
    assert.match(ingress.stderr, /petset lists this kind but runs no controller for it/);
  });

  it('streams a watch for the Python client (watch=True)', async (t) => {
    const python = '/usr/bin/python3';
    const probe = await new Promise<number>((resolve) => execFile(python, ['-c', 'import kubernetes'], (err) => resolve(err ? 1 : 0)));
    if (probe !== 0) {
      t.skip('the Python client is not installed (Debian package python3-kubernetes)');
      return;
    }
    const script = [
      'import sys',
      'from kubernetes import client, config, watch',
      'config.load_kube_config(config_file=sys.argv[1])',
      'names = [e["object"].metadata.name for e in watch.Watch().stream(client.CoreV1Api().list_namespace, timeout_seconds=2)]',
      'print(" ".join(sorted(names)))',
    ].join('\n');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(python, ['-c', script, c.kubeconfig], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(String(stderr))) : resolve(String(stdout)))),
    );
    for (const ns of ['default', 'kube-node-lease', 'kube-public', 'kube-system']) assert.ok(out.split(/\s+/).includes(ns), out);
  });

  it('answers plain HTTP on the HTTPS port as Go does', async () => {
    const port = Number(new URL(c.url).port);
    const text = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /version HTTP/1.1\r\nHost: x\r\n\r\n'));
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
      s.on('error', reject);
    });
    assert.equal(text, 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
  });

  it('ends a running kubectl watch cleanly on SIGTERM (no connection reset)', async () => {
    const watch = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'get', 'namespaces', '--watch', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    watch.stdout.on('data', (d) => (out += d));
    watch.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => watch.once('exit', resolve));
    // and a watch on the wire, to see how its stream ends
    const kc = yaml.load(fs.readFileSync(c.kubeconfig, 'utf8')) as any;
    const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8');
    const token = kc.users[0].user.token as string;
    const wire = tls.connect({ host: '127.0.0.1', port: Number(new URL(c.url).port), ca, servername: '127.0.0.1' });
    let wireText = '';
    let wireError: string | undefined;
    wire.on('data', (d) => (wireText += d.toString('latin1')));
    wire.on('error', (e: NodeJS.ErrnoException) => (wireError = e.code ?? e.message));
    const wireClosed = new Promise<void>((resolve) => wire.on('close', () => resolve()));
    wire.write(`GET /api/v1/namespaces?watch=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    try {
      await eventually(() => out.includes('namespace/default'), 20_000, 'the watch to list');
      await eventually(() => wireText.includes('"ADDED"'), 20_000, 'the wire watch to stream');
      await c.stop('SIGTERM');
      await wireClosed;
      assert.equal(wireError, undefined);
      assert.ok(wireText.endsWith('0\r\n\r\n'), `the stream ended with ${JSON.stringify(wireText.slice(-20))}`);
      const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000).unref())]);
      assert.notEqual(code, 'still running');
      assert.doesNotMatch(err, /reset by peer|unexpected EOF/, err);
    } finally {
      if (watch.exitCode === null) watch.kill();
    }
  });
});
