// A bad image halts an OrderedReady rolling update on real pods (`petset up --runtime process`),
// as upstream (statefulset.md): after `kubectl set image sts/web nginx=does-not-exist:1` web-2
// is recreated and stays in ErrImagePull / ImagePullBackOff with the kubelet's event texts,
// while web-0 and web-1 keep serving HTTP from real nginx on the old image and the roll-out goes
// no further. Fixing the image and deleting the stuck pod lets the set complete.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { Cgroups } from '../../src/agent/runtime/process/cgroups.js';
import { eventually, startCluster, tempDir, type Cluster } from './harness.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/usr/sbin/nginx') ? undefined : 'nginx is not installed');
if (why) console.log(`# skipping the bad-image test on real pods: ${why}`);

const NS = 'badimage';

const MANIFEST = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: ${NS}
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
`;

/** One GET on a new connection: status and the Server header. */
function get(url: string): Promise<{ status: number; server: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, server: String(res.headers.server ?? ''), body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

describe('a bad image during a rolling update on real pods (petset up --runtime process)', { skip: why }, () => {
  let c: Cluster;
  const kubectl = (...args: string[]) => c.kubectl(['-n', NS, ...args], { timeoutMs: 60_000 });
  const podsJson = async () => JSON.parse((await kubectl('get', 'pods', '-o', 'json')).stdout).items as any[];
  const ready = (p: any) => p?.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');

  before(async () => {
    // --pod-max-pids rides along: every pod's cgroup gets the kubelet's podPidsLimit as pids.max
    c = await startCluster({ extraArgs: ['--runtime', 'process', '--pod-max-pids', '256'] });
    await c.kubectl(['create', 'namespace', NS]);
  });
  after(async () => {
    await c?.stop('SIGINT');
  });

  it('stops at web-2 in ErrImagePull/ImagePullBackOff while web-0/1 serve; a fixed image completes the set', { timeout: 120_000 }, async () => {
    const dir = tempDir('manifests-');
    fs.writeFileSync(path.join(dir, 'web.yaml'), MANIFEST);
    await c.kubectl(['apply', '-f', path.join(dir, 'web.yaml')]);
    await kubectl('rollout', 'status', 'sts/web', '--timeout=90s');
    const first = await podsJson();
    const uids = Object.fromEntries(first.map((p) => [p.metadata.name, p.metadata.uid]));
    const ips = Object.fromEntries(first.map((p) => [p.metadata.name, p.status.podIP]));
    for (const p of first) assert.match(p.status.containerStatuses[0].imageID, /^petset-host:\/\/nginx@/);
    const { layout } = new Cgroups();
    const pidsRoot = layout.pids ?? (layout.unifiedControllers.includes('pids') ? layout.unified : undefined);
    if (pidsRoot) {
      const sandboxes = fs.readdirSync(path.join(c.dataDir, 'nodes', 'node-1', 'runtime', 'sandboxes'));
      assert.ok(sandboxes.length >= 3);
      for (const id of sandboxes) assert.equal(fs.readFileSync(path.join(pidsRoot, 'petset', id, 'pids.max'), 'utf8').trim(), '256');
    }

    await kubectl('set', 'image', 'sts/web', 'nginx=does-not-exist:1');
    await eventually(
      async () => {
        const web2 = (await podsJson()).find((p) => p.metadata.name === 'web-2');
        return web2 && web2.metadata.uid !== uids['web-2'] && web2.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff';
      },
      45_000,
      'web-2 recreated and in ImagePullBackOff',
    );
    const table = (await kubectl('get', 'pod', 'web-2')).stdout;
    assert.match(table, /web-2\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0\s+/);
    // the kubelet's event texts
    const described = (await kubectl('describe', 'pod', 'web-2')).stdout;
    assert.match(described, /Warning\s+Failed\s+.*Failed to pull image "does-not-exist:1": /);
    assert.match(described, /Warning\s+Failed\s+.*Error: ErrImagePull/);
    assert.match(described, /Normal\s+BackOff\s+.*Back-off pulling image "does-not-exist:1"/);
    assert.match(described, /Warning\s+Failed\s+.*Error: ImagePullBackOff/);

    // the roll-out halts: web-0 and web-1 are untouched and keep serving real HTTP on the old image
    const status = await c.kubectl(['-n', NS, 'rollout', 'status', 'sts/web', '--timeout=3s'], { allowFail: true, timeoutMs: 30_000 });
    assert.notEqual(status.code, 0);
    assert.match(status.stdout + status.stderr, /Waiting for 1 pods to be ready|timed out waiting for the condition/);
    const stuck = await podsJson();
    for (const name of ['web-0', 'web-1']) {
      const p = stuck.find((x) => x.metadata.name === name);
      assert.equal(p.metadata.uid, uids[name], `${name} untouched`);
      assert.equal(p.spec.containers[0].image, 'nginx:1.27');
      assert.ok(ready(p), `${name} still Ready`);
      const r = await get(`http://${ips[name]}/`);
      assert.equal(r.status, 200);
      assert.match(r.server, /^nginx/);
    }
    const inPod = (await kubectl('exec', 'web-0', '--', 'wget', '-qO-', `http://${ips['web-1']}/`)).stdout;
    assert.match(inPod, /Welcome to nginx/i);
    const set = JSON.parse((await kubectl('get', 'sts', 'web', '-o', 'json')).stdout);
    assert.equal(set.status.updatedReplicas, 1);
    assert.equal(set.status.readyReplicas, 2);

    // fixed: the image back, then the stuck pod deleted (upstream does not replace it on its own)
    await kubectl('set', 'image', 'sts/web', 'nginx=nginx:1.27');
    await kubectl('delete', 'pod', 'web-2', '--wait=false');
    await kubectl('rollout', 'status', 'sts/web', '--timeout=60s');
    const done = await podsJson();
    assert.deepEqual(done.map((p) => p.metadata.name).sort(), ['web-0', 'web-1', 'web-2']);
    for (const p of done) {
      assert.equal(p.spec.containers[0].image, 'nginx:1.27');
      assert.ok(ready(p), `${p.metadata.name} Ready`);
      assert.equal((await get(`http://${p.status.podIP}/`)).status, 200);
    }
    const final = JSON.parse((await kubectl('get', 'sts', 'web', '-o', 'json')).stdout);
    assert.equal(final.status.readyReplicas, 3);
    assert.equal(final.status.currentRevision, final.status.updateRevision);
  });
});
