// Seed 000's "0-dep" on real processes (`petset up --runtime process`): the kubia app (the
// book's pet server, which keeps what is POSTed to it in /var/data) as a Deployment of 3 behind
// a ClusterIP Service. Through the Service, requests land on different pods; the data one pod
// stored is only on that pod, and goes with it when the pod is replaced, the contrast with a
// StatefulSet's claims. A new template rolls out with maxSurge 1 / maxUnavailable 0 without the
// Deployment ever reporting fewer than 3 available pods, and rollout undo brings the old one back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, type Cluster } from './harness.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the Deployment-on-real-pods test: ${why}`);

const NS = 'zero';

const MANIFEST = (version: string) => `apiVersion: v1
kind: Service
metadata: {name: dep}
spec:
  selector: {app: dep}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dep}
spec:
  replicas: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: dep}}
  template:
    metadata: {labels: {app: dep}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kubia
        image: luksa/kubia-pet
        env: [{name: VERSION, value: "${version}"}]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /data, port: 8080}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /var/data}]
      volumes: [{name: data, emptyDir: {}}]
`;

function request(url: string, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // a new connection each time, so each request is balanced on its own
    const req = http.request(url, { method: body === undefined ? 'GET' : 'POST', agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

describe('seed 000 "0-dep": a Deployment of real pods behind a Service', { skip: why }, () => {
  let c: Cluster;
  const kubectl = (args: string[], input?: string) => c.kubectl(['-n', NS, ...args], { timeoutMs: 120_000, input });
  const out = async (args: string[]) => (await kubectl(args)).stdout.trim();

  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process'] });
    await c.kubectl(['create', 'namespace', NS]);
  });
  after(async () => {
    await c?.stop();
  });

  it('answers from different pods, keeps data per pod only, rolls out without dropping below 3 and rolls back', { timeout: 300_000 }, async () => {
    await kubectl(['apply', '-f', '-'], MANIFEST('1'));
    await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=120s']);
    const base = `http://${await out(['get', 'svc', 'dep', '-o', 'jsonpath={.spec.clusterIP}'])}`;
    const pods = (await out(['get', 'pods', '-l', 'app=dep', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ');
    assert.equal(pods.length, 3);

    // load-balanced: the Service's answers come from every pod
    const seen = new Set<string>();
    await eventually(async () => {
      const m = /You've hit (\S+)/.exec(await request(`${base}/`));
      if (m) seen.add(m[1]);
      return seen.size === 3;
    }, 30_000, 'answers from all three pods');
    assert.deepEqual([...seen].sort(), [...pods].sort());

    // no stable data: what one pod stored is on that pod alone, and goes with it
    const stored = /Data stored on pod (\S+)/.exec(await request(`${base}/`, 'precious'))![1];
    assert.ok(pods.includes(stored));
    for (const p of pods) {
      const data = (await kubectl(['exec', p, '--', 'cat', '/var/data/kubia.txt'], undefined).catch(() => ({ stdout: 'none' }))).stdout;
      assert.equal(data, p === stored ? 'precious' : 'none', p);
    }
    await kubectl(['delete', 'pod', stored, '--wait=true']);
    await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=120s']);
    const after = (await out(['get', 'pods', '-l', 'app=dep', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ');
    const replacement = after.filter((p) => !pods.includes(p));
    assert.equal(replacement.length, 1, `one new pod in ${after.join(' ')}`);
    assert.notEqual(replacement[0], stored, 'a replacement has a new name');
    await eventually(async () => {
      const answers = await Promise.all(after.map((p) => out(['exec', p, '--', 'sh', '-c', 'cat /var/data/kubia.txt 2>/dev/null || echo none'])));
      return answers.every((a) => a === 'none');
    }, 30_000, 'the stored data to be gone from every pod');

    // a new template: maxSurge 1 / maxUnavailable 0 keeps 3 available throughout
    const available: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const s = JSON.parse(await out(['get', 'deploy', 'dep', '-o', 'jsonpath={.status}']));
        available.push(s.availableReplicas ?? 0);
      }
    })();
    try {
      await kubectl(['apply', '-f', '-'], MANIFEST('2'));
      await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=120s']);
    } finally {
      watching = false;
      await watcher;
    }
    assert.ok(available.length > 0 && Math.min(...available) >= 3, `available pods seen during the rollout: ${available.join(',')}`);
    await eventually(async () => (await out(['get', 'pods', '-l', 'app=dep', '-o', 'jsonpath={.items[*].spec.containers[0].env[0].value}'])) === '2 2 2', 30_000, 'only the new pods left');
    await kubectl(['rollout', 'undo', 'deploy/dep']);
    await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=120s']);
    assert.equal(await out(['get', 'deploy', 'dep', '-o', 'jsonpath={.spec.template.spec.containers[0].env[0].value}']), '1');
    // two ReplicaSets, the first one back at 3
    await eventually(async () => (await out(['get', 'rs', '-l', 'app=dep', '-o', 'jsonpath={.items[*].status.replicas}'])).split(' ').sort().join(' ') === '0 3', 30_000, 'the first ReplicaSet back at 3');
    assert.match(await request(`${base}/`), /You've hit dep-/);
  });
});
