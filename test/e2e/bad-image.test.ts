// A bad image halts an OrderedReady rolling update, as upstream (statefulset.md: `kubectl
// set image statefulset/web nginx=does-not-exist:1` → web-2 is recreated and stays in
// ErrImagePull / ImagePullBackOff; web-0 and web-1 are untouched). Real kubectl against
// `petset up --nodes 1`; the node's simulated runtime treats does-not-exist* images as missing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { eventually, startCluster, tempDir, type Cluster } from './harness.js';

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
`;

describe('a bad image during a rolling update (petset up --nodes 1)', () => {
  let c: Cluster;
  const kubectl = (...args: string[]) => c.kubectl(['-n', NS, ...args], { timeoutMs: 60_000 });
  const podsJson = async () => JSON.parse((await kubectl('get', 'pods', '-o', 'json')).stdout).items as any[];

  before(async () => {
    c = await startCluster({ extraArgs: ['--nodes', '1'] });
    await c.kubectl(['create', 'namespace', NS]);
  });
  after(async () => {
    await c?.stop();
  });

  it('stays in ErrImagePull/ImagePullBackOff on the highest ordinal and goes no further', async () => {
    const dir = tempDir('manifests-');
    fs.writeFileSync(path.join(dir, 'web.yaml'), MANIFEST);
    await c.kubectl(['apply', '-f', path.join(dir, 'web.yaml')]);
    await kubectl('rollout', 'status', 'sts/web', '--timeout=60s');
    const before = Object.fromEntries((await podsJson()).map((p) => [p.metadata.name, p.metadata.uid]));

    await kubectl('set', 'image', 'sts/web', 'nginx=does-not-exist:1');
    const stuck = await eventually(
      async () => {
        const pods = await podsJson();
        const web2 = pods.find((p) => p.metadata.name === 'web-2');
        const reason = web2?.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        return web2 && web2.metadata.uid !== before['web-2'] && reason === 'ImagePullBackOff' ? pods : undefined;
      },
      30_000,
      'web-2 recreated and in ImagePullBackOff',
    );
    const web2 = stuck.find((p) => p.metadata.name === 'web-2');
    assert.equal(web2.spec.containers[0].image, 'does-not-exist:1');
    assert.equal(web2.status.phase, 'Pending');

    // what kubectl shows
    const table = (await kubectl('get', 'pod', 'web-2')).stdout;
    assert.match(table, /web-2\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0\s+/);
    const described = (await kubectl('describe', 'pod', 'web-2')).stdout;
    assert.match(described, /Normal\s+BackOff\s+.*Back-off pulling image "does-not-exist:1"/);
    assert.match(described, /Warning\s+Failed\s+.*Error: ErrImagePull/);

    // the roll-out halts: web-0 and web-1 keep their pods and their image, rollout status does not finish
    const status = await c.kubectl(['-n', NS, 'rollout', 'status', 'sts/web', '--timeout=3s'], { allowFail: true, timeoutMs: 30_000 });
    assert.notEqual(status.code, 0);
    assert.match(status.stdout + status.stderr, /Waiting for 1 pods to be ready|timed out waiting for the condition/);
    const now = await podsJson();
    for (const name of ['web-0', 'web-1']) {
      const p = now.find((x) => x.metadata.name === name);
      assert.equal(p.metadata.uid, before[name], `${name} untouched`);
      assert.equal(p.spec.containers[0].image, 'nginx:1.27');
    }
    const set = JSON.parse((await kubectl('get', 'sts', 'web', '-o', 'json')).stdout);
    assert.equal(set.status.updatedReplicas, 1);
    assert.equal(set.status.readyReplicas, 2);
  });
});
