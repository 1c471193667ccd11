// kubectl rollout status / set image / restart / history / undo and describe, with the real
// kubectl against `petset up`. Pods nobody schedules never start, so the test reports them
// Running and Ready through pods/status as a kubelet would; pods a scheduler placed are left
// to their node agent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../../src/api/object.js';
import { timestamp } from '../../src/api/object.js';
import { Client, type Watch } from '../../src/client/client.js';
import { fromKubeconfig } from '../../src/client/http-transport.js';
import { eventually, startCluster, tempDir, type Cluster } from './harness.js';

const NS = 'rollout';

const MANIFEST = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${NS}
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 80
    name: http
---
apiVersion: apps/v1
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
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
          name: http
`;

const READY_PATCH = '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}';

function isReady(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

// Once with the node agents running the pods, once with no nodes so that readiness comes
// only through the API.
for (const nodes of ['1', '0']) describe(`kubectl rollout against petset up --nodes ${nodes}`, () => {
  let c: Cluster;
  let client: Client;
  let watch: Watch | undefined;
  /** pod events in the namespace, in order */
  const seen: { type: string; name: string }[] = [];
  let marking = false;

  const deletions = () => seen.filter((e) => e.type === 'DELETED').map((e) => e.name);
  const kubectl = (...args: string[]) => c.kubectl(['-n', NS, ...args], { timeoutMs: 90_000 });
  const setJson = async () => JSON.parse((await kubectl('get', 'sts', 'web', '-o', 'json')).stdout);

  /** Reports an unscheduled pod Ready (nothing else would); scheduled pods are their agent's. */
  async function markIfUnattended(pod: KubeObject): Promise<void> {
    if (!marking || pod.spec?.nodeName || pod.metadata.deletionTimestamp || isReady(pod)) return;
    const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: timestamp() }] };
    await client.pods(NS).patch(pod.metadata.name!, { status }, 'strategic', { subresource: 'status' }).catch(() => {});
  }

  async function watchPods(): Promise<void> {
    watch = await client.pods(NS).watch({ resourceVersion: '0' });
    void (async () => {
      for await (const ev of watch!) {
        if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') continue;
        const pod = ev.object as KubeObject;
        seen.push({ type: ev.type, name: pod.metadata.name! });
        if (ev.type !== 'DELETED') await markIfUnattended(pod);
      }
    })();
  }

  /** Until every pod carries the set's update revision and the set says it is done. */
  async function rolledOut(): Promise<any> {
    return eventually(
      async () => {
        const set = await setJson();
        const s = set.status ?? {};
        return s.observedGeneration === set.metadata.generation && s.readyReplicas === 3 && s.updatedReplicas === 3 && s.currentRevision === s.updateRevision
          ? set
          : undefined;
      },
      60_000,
      'roll-out complete',
    );
  }

  before(async () => {
    c = await startCluster({ extraArgs: ['--nodes', nodes] });
    client = new Client(fromKubeconfig(c.kubeconfig));
    await c.kubectl(['create', 'namespace', NS]);
    await watchPods();
  });
  after(async () => {
    watch?.stop();
    await c?.stop();
  });

  it('reports progress with rollout status until the pods are ready', async () => {
    const dir = tempDir('manifests-');
    fs.writeFileSync(path.join(dir, 'web.yaml'), MANIFEST);
    const applied = await c.kubectl(['apply', '-f', path.join(dir, 'web.yaml')]);
    assert.match(applied.stdout, /statefulset.apps\/web created/);

    await eventually(async () => (await kubectl('get', 'pod', 'web-0', '--ignore-not-found', '-o', 'name')).stdout.trim() === 'pod/web-0', 20_000, 'web-0');
    const once = await kubectl('rollout', 'status', 'sts/web', '--watch=false');
    // Waiting for 3 (or, if something already started web-0, 2) pods; or done if agents run them all.
    assert.match(once.stdout, /^(Waiting for statefulset spec update to be observed\.\.\.|Waiting for [1-3] pods to be ready\.\.\.|partitioned roll out complete: 3 new pods have been updated\.\.\.)\n$/);

    const status = kubectl('rollout', 'status', 'sts/web', '--timeout=60s');
    if (nodes === '0') {
      // Nothing runs the pods: kubectl waits until they are reported ready.
      await eventually(async () => (await kubectl('rollout', 'status', 'sts/web', '--watch=false')).stdout === 'Waiting for 3 pods to be ready...\n', 10_000, 'waiting message');
      const patched = await kubectl('patch', 'pod', 'web-0', '--subresource=status', '--type=merge', '-p', READY_PATCH);
      assert.match(patched.stdout, /pod\/web-0 patched/);
    }
    marking = true;
    for (const pod of (await client.pods(NS).list()).items) await markIfUnattended(pod);

    const done = await status;
    assert.match(done.stdout, /partitioned roll out complete: 3 new pods have been updated\.\.\.\n$/);
    if (nodes === '0') assert.match(done.stdout, /^Waiting for 3 pods to be ready\.\.\.\n/);
    assert.equal(seen.filter((e) => e.type === 'ADDED').map((e) => e.name).slice(0, 3).join(), 'web-0,web-1,web-2');
    const set = await rolledOut();
    assert.match(set.status.currentRevision, /^web-[4-9bcdf]+$/);
  });

  it('shows the controller events in describe', async () => {
    const out = (await kubectl('describe', 'sts', 'web')).stdout;
    assert.match(out, /Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed/);
    for (const pod of ['web-0', 'web-1', 'web-2']) {
      assert.match(out, new RegExp(`Normal\\s+SuccessfulCreate\\s+\\S+\\s+statefulset-controller\\s+create Pod ${pod} in StatefulSet web successful`));
    }
  });

  it('rolls a new image out from the highest ordinal with set image', async () => {
    const before = deletions().length;
    const first = await setJson();
    await kubectl('annotate', 'sts', 'web', 'kubernetes.io/change-cause=nginx 1.28');
    const set = await kubectl('set', 'image', 'sts/web', 'nginx=nginx:1.28');
    assert.match(set.stdout, /statefulset.apps\/web image updated/);
    const status = await kubectl('rollout', 'status', 'sts/web', '--timeout=60s');
    assert.match(status.stdout, /partitioned roll out complete: 3 new pods have been updated\.\.\.\n$/);
    const done = await rolledOut();
    assert.notEqual(done.status.updateRevision, first.status.updateRevision);
    await eventually(() => deletions().length - before >= 3, 10_000, 'three replacements');
    assert.deepEqual(deletions().slice(before), ['web-2', 'web-1', 'web-0']);
    const images = JSON.parse((await kubectl('get', 'pods', '-o', 'json')).stdout).items.map((p: any) => p.spec.containers[0].image);
    assert.deepEqual(images, ['nginx:1.28', 'nginx:1.28', 'nginx:1.28']);
  });

  it('rolls the pods again with rollout restart', async () => {
    const before = deletions().length;
    const restarted = await kubectl('rollout', 'restart', 'sts/web');
    assert.match(restarted.stdout, /statefulset.apps\/web restarted/);
    await kubectl('rollout', 'status', 'sts/web', '--timeout=60s');
    await rolledOut();
    await eventually(() => deletions().length - before >= 3, 10_000, 'three replacements');
    assert.deepEqual(deletions().slice(before), ['web-2', 'web-1', 'web-0']);
    const pods = JSON.parse((await kubectl('get', 'pods', '-o', 'json')).stdout).items;
    assert.ok(pods.every((p: any) => p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']));
  });

  it('lists the revisions with rollout history', async () => {
    const out = (await kubectl('rollout', 'history', 'sts/web')).stdout;
    assert.match(out, /^statefulset.apps\/web ?\nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+nginx 1.28\n3\s+nginx 1.28\n/);
    const two = (await kubectl('rollout', 'history', 'sts/web', '--revision=2')).stdout;
    assert.match(two, /Image:\s+nginx:1.28/);
    assert.doesNotMatch(two, /restartedAt/);
  });

  it('returns to the previous template with rollout undo, reusing its revision', async () => {
    const revisions = async () => {
      const items = JSON.parse((await kubectl('get', 'controllerrevisions', '-o', 'json')).stdout).items;
      return Object.fromEntries(items.map((r: any) => [r.revision, r.metadata.name]));
    };
    const byNumber = await revisions();
    const before = deletions().length;
    const undone = await kubectl('rollout', 'undo', 'sts/web');
    assert.match(undone.stdout, /statefulset.apps\/web rolled back/);
    await kubectl('rollout', 'status', 'sts/web', '--timeout=60s');
    const set = await rolledOut();
    assert.equal(set.status.updateRevision, byNumber[2], 'revision 2 is reused, not copied');
    assert.equal(set.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'], undefined);
    assert.equal(set.spec.template.spec.containers[0].image, 'nginx:1.28');
    await eventually(() => deletions().length - before >= 3, 10_000, 'three replacements');
    assert.deepEqual(deletions().slice(before), ['web-2', 'web-1', 'web-0']);
    const after = await revisions();
    assert.deepEqual(Object.keys(after).map(Number).sort(), [1, 3, 4]);
    assert.equal(after[4], byNumber[2]);

    await kubectl('rollout', 'undo', 'sts/web', '--to-revision=1');
    const original = await rolledOut();
    assert.equal(original.status.currentRevision, byNumber[1]);
    assert.equal(original.spec.template.spec.containers[0].image, 'nginx:1.27');
    const history = (await kubectl('rollout', 'history', 'sts/web')).stdout;
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n3\s+nginx 1.28\n4\s+nginx 1.28\n5\s+<none>\n/);
  });
});
