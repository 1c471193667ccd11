// `petset why sts/NAME` against a running `petset up --runtime sim`: the text a user reads
// when web-1 fails its readiness probe and the set was scaled up.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { eventually, petsetBin, startCluster, type Cluster } from './harness.js';

const WEB_WITH_PROBE = `apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80, name: web}]
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1, failureThreshold: 1}
`;

function why(c: Cluster, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [petsetBin, 'why', ...args, '--kubeconfig', c.kubeconfig], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('petset why', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster();
  });
  after(async () => {
    await c?.stop();
  });

  it('says nothing blocks a Ready set, then names web-1 and its failing probe once it turns unready', async () => {
    await c.kubectl(['apply', '-f', '-'], { input: WEB_WITH_PROBE });
    await eventually(async () => (await c.kubectl(['get', 'sts', 'web', '-o', 'jsonpath={.status.readyReplicas}'])).stdout === '3', 30_000, '3 ready');
    const calm = await why(c, 'sts/web');
    assert.equal(calm.code, 0, calm.stderr);
    assert.match(calm.stdout, /^statefulset\/web: nothing blocks web: 3\/3 Ready, 3\/3 at the update revision web-[0-9a-z]+\n$/);

    await c.kubectl(['annotate', 'pod', 'web-1', 'petset.io/sim-ready=false', '--overwrite']);
    await eventually(async () => (await c.kubectl(['get', 'pod', 'web-1', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'False', 30_000, 'web-1 unready');
    await c.kubectl(['scale', 'sts', 'web', '--replicas=4']);
    const stuck = await eventually(async () => {
      const r = await why(c, 'statefulset/web', '-n', 'default');
      return r.stdout.includes('web-3') && r;
    }, 30_000, 'why names web-3');
    assert.equal(stuck.code, 3);
    assert.equal(stuck.stdout, 'statefulset/web: web-3 is not created: OrderedReady waits for web-1, which is not Ready (readiness probe failed: HTTP probe failed with statuscode: 503)\n');
  });

  it('answers a missing set and a bad argument with clear errors', async () => {
    const missing = await why(c, 'sts/nope');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error from server: statefulsets.apps "nope" not found\n');
    const bad = await why(c, 'deploy/web');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^petset why: expected one argument sts\/NAME, got "deploy\/web"/);
  });
});
