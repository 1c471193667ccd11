// Pulling a real image from a registry on loopback (Debian's docker-registry, started by
// the test): the test builds a two-layer image from busybox-static with a whiteout, pushes
// it through the registry API, and the runtime runs the image's own entrypoint, env and
// workdir in an overlay over the unpacked layers. Also: the manifest list → linux/amd64,
// a digest mismatch refused, and nothing but loopback registries contacted.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/object.js';
import type { ContainerExit } from '../../../src/agent/runtime/runtime.js';
import { isLoopbackRegistry, parseImageRef } from '../../../src/agent/runtime/process/oci.js';
import { ProcessRuntime, processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { waitFor } from '../../support/server.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/usr/bin/docker-registry') ? undefined : 'docker-registry is not installed (apt-get install docker-registry)') ?? (fs.existsSync('/usr/bin/busybox') ? undefined : 'busybox-static is not installed');
if (why) console.log(`# skipping the registry tests: ${why}`);

let root: string;
let registry: ChildProcess;
let addr: string;
let rt: ProcessRuntime;
const sandboxes: string[] = [];

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function putBlob(repo: string, data: Buffer): Promise<string> {
  const digest = sha(data);
  const start = await fetch(`http://${addr}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const loc = new URL(start.headers.get('location')!, `http://${addr}`);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: new Uint8Array(data), headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(put.status, 201, await put.text());
  return digest;
}

/** A gzip tar of a directory, as a layer. */
function layer(dir: string): Buffer {
  return execFileSync('tar', ['-C', dir, '--numeric-owner', '-czf', '-', '.']);
}

describe('OCI images from a loopback registry', { skip: why }, () => {
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-registry-'));
    const port = await freePort();
    addr = `127.0.0.1:${port}`;
    fs.writeFileSync(path.join(root, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${root}/store\nhttp:\n  addr: ${addr}\n`);
    registry = spawn('/usr/bin/docker-registry', ['serve', path.join(root, 'registry.yml')], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(`http://${addr}/v2/`).catch(() => undefined))?.ok, 20_000, 'the registry');
    rt = new ProcessRuntime({ stateDir: path.join(root, 'state') });

    // layer 1: busybox and an app with two config files; layer 2 deletes one (whiteout) and adds another
    const l1 = path.join(root, 'l1');
    fs.mkdirSync(path.join(l1, 'bin'), { recursive: true });
    fs.copyFileSync('/usr/bin/busybox', path.join(l1, 'bin/busybox'));
    fs.chmodSync(path.join(l1, 'bin/busybox'), 0o755);
    for (const a of ['sh', 'ls', 'cat', 'echo', 'hostname', 'id']) fs.symlinkSync('busybox', path.join(l1, 'bin', a));
    fs.mkdirSync(path.join(l1, 'app/conf'), { recursive: true });
    fs.mkdirSync(path.join(l1, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(l1, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/app:/bin/sh\n');
    fs.writeFileSync(path.join(l1, 'app/conf/a.txt'), 'a');
    fs.writeFileSync(path.join(l1, 'app/conf/b.txt'), 'b');
    fs.writeFileSync(path.join(l1, 'app/hello.sh'), 'echo "$GREETING from $(hostname) as $(id -u) in $(pwd): $(ls /app/conf | tr "\\n" " ")"\n');
    const l2 = path.join(root, 'l2');
    fs.mkdirSync(path.join(l2, 'app/conf'), { recursive: true });
    fs.writeFileSync(path.join(l2, 'app/conf/.wh.b.txt'), '');
    fs.writeFileSync(path.join(l2, 'app/conf/c.txt'), 'c');
    const layers = [layer(l1), layer(l2)];
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Entrypoint: ['/bin/sh', '/app/hello.sh'], Env: ['PATH=/bin', 'GREETING=hi'], WorkingDir: '/app', User: 'app' }, rootfs: { type: 'layers', diff_ids: [] } }));
    const configDigest = await putBlob('bbapp', config);
    const layerDescs = [];
    for (const l of layers) layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await putBlob('bbapp', l), size: l.length });
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: layerDescs }));
    const put = await fetch(`http://${addr}/v2/bbapp/manifests/1`, { method: 'PUT', body: new Uint8Array(manifest), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 201, await put.text());
    // an "arm64" image (only the first layer) that the index lists first and that must not be chosen
    const other = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: layerDescs.slice(0, 1) }));
    assert.equal((await fetch(`http://${addr}/v2/bbapp/manifests/arm`, { method: 'PUT', body: new Uint8Array(other), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } })).status, 201);
    // an index pointing at it for linux/amd64
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(other), size: other.length, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
    ] }));
    const putIndex = await fetch(`http://${addr}/v2/bbapp/manifests/multi`, { method: 'PUT', body: new Uint8Array(index), headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' } });
    assert.equal(putIndex.status, 201, await putIndex.text());
  });

  after(async () => {
    for (const id of sandboxes) await rt?.removeSandbox(id);
    rt?.killAll();
    if (registry?.pid) process.kill(registry.pid, 'SIGTERM');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('parses references as kubelet does and contacts loopback registries only', () => {
    assert.deepEqual(parseImageRef('busybox'), { registry: 'registry-1.docker.io', repository: 'library/busybox', reference: 'latest' });
    assert.deepEqual(parseImageRef('localhost:5000/team/app:2'), { registry: 'localhost:5000', repository: 'team/app', reference: '2' });
    assert.deepEqual(parseImageRef('127.0.0.1:5000/app@sha256:ab'), { registry: '127.0.0.1:5000', repository: 'app', reference: 'sha256:ab' });
    assert.equal(isLoopbackRegistry('quay.io'), false);
    assert.equal(isLoopbackRegistry('127.0.0.1:5000'), true);
  });

  it("runs an image's own entrypoint, env, user and workdir, with its whiteouts applied", async () => {
    const pod = { metadata: { name: 'web-0', namespace: 'default', uid: `reg-${process.pid}` }, spec: { containers: [] } } as KubeObject;
    const sb = await rt.createSandbox({ pod, ip: '127.64.202.10', hostname: 'web-0', volumePaths: {} });
    sandboxes.push(sb);
    let exit: ContainerExit | undefined;
    const c = await rt.startContainer(sb, { container: { name: 'app', image: `${addr}/bbapp:1` }, init: false, restartCount: 0 }, (e) => (exit = e));
    assert.match(c.imageID ?? '', new RegExp(`^${addr}/bbapp@sha256:[0-9a-f]{64}$`));
    await waitFor(() => exit, 20_000, 'the container to finish');
    const lines: string[] = [];
    for await (const l of rt.logs(c.id)) lines.push(l.text);
    assert.equal(exit!.exitCode, 0, lines.join('\n'));
    assert.deepEqual(lines, ['hi from web-0 as 1234 in /app: a.txt c.txt ']);
    // the index resolves to the same linux/amd64 image, and the image is cached
    const c2 = await rt.startContainer(sb, { container: { name: 'app2', image: `${addr}/bbapp:multi`, command: ['/bin/cat', '/app/conf/c.txt'] }, init: false, restartCount: 0 }, () => {});
    assert.equal(c2.imageID, c.imageID);
    await assert.rejects(
      rt.startContainer(sb, { container: { name: 'missing', image: `${addr}/nothing:1` }, init: false, restartCount: 0 }, () => {}),
      (e: any) => e.reason === 'ErrImagePull' && /404/.test(e.message),
    );
    // imagePullPolicy: Never uses what is present, and refuses what is not
    const never = await rt.startContainer(sb, { container: { name: 'never', image: `${addr}/bbapp:1`, imagePullPolicy: 'Never', command: ['/bin/true'] }, init: false, restartCount: 0 }, () => {});
    assert.equal(never.imageID, c.imageID);
    await assert.rejects(
      rt.startContainer(sb, { container: { name: 'absent', image: `${addr}/bbapp:2`, imagePullPolicy: 'Never' }, init: false, restartCount: 0 }, () => {}),
      (e: any) => e.reason === 'ErrImageNeverPull' && e.message === `Container image "${addr}/bbapp:2" is not present with pull policy of Never`,
    );
  });
});
