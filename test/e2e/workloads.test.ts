// The workload kinds beside StatefulSet, through `petset up` with simulated nodes and the
// real kubectl: ReplicaSets, ReplicationControllers and PodTemplates in `kubectl get all`,
// the seed 000 "0-dep" Deployment rolled out with maxSurge 1 / maxUnavailable 0 and rolled
// back, and Jobs that complete and that fail.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { Client, type Watch } from '../../src/client/client.js';
import { fromKubeconfig } from '../../src/client/http-transport.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { eventually, petsetBin, startCluster, type Cluster } from './harness.js';

const NS = 'workloads';

function isReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

describe('workload kinds against petset up --nodes 2', () => {
  let c: Cluster;
  let client: Client;
  let watch: Watch | undefined;
  const kubectl = (args: string[], input?: string) => c.kubectl(['-n', NS, ...args], { timeoutMs: 90_000, input });
  const json = async (...args: string[]) => JSON.parse((await kubectl([...args, '-o', 'json'])).stdout);

  before(async () => {
    c = await startCluster({ extraArgs: ['--nodes', '2'] });
    client = new Client(fromKubeconfig(c.kubeconfig));
    await c.kubectl(['create', 'namespace', NS]);
  });
  after(async () => {
    watch?.stop();
    await c?.stop();
  });

  it('runs ReplicaSets and ReplicationControllers, lists them with PodTemplates in get all, and scales them', async () => {
    const manifest = `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: frontend}
spec:
  replicas: 3
  selector: {matchLabels: {tier: frontend}}
  template:
    metadata: {labels: {tier: frontend}}
    spec:
      containers: [{name: php, image: php:8}]
---
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tpl}
template:
  metadata: {labels: {a: b}}
  spec:
    containers: [{name: c, image: busybox}]
`;
    const applied = await kubectl(['apply', '-f', '-'], manifest);
    assert.match(applied.stdout, /replicaset.apps\/frontend created\nreplicationcontroller\/legacy created\npodtemplate\/tpl created/);
    await eventually(async () => (await json('get', 'rs', 'frontend')).status?.readyReplicas === 3, 30_000, 'frontend ready');
    await eventually(async () => (await json('get', 'rc', 'legacy')).status?.readyReplicas === 2, 30_000, 'legacy ready');

    const all = (await kubectl(['get', 'all'])).stdout;
    assert.match(all, /replicaset\.apps\/frontend\s+3\s+3\s+3\s/);
    assert.match(all, /replicationcontroller\/legacy\s+2\s+2\s+2\s/);
    assert.equal((all.match(/pod\/frontend-[a-z0-9]{5}\s+1\/1\s+Running/g) ?? []).length, 3);
    const rc = await json('get', 'rc', 'legacy');
    assert.deepEqual(rc.spec.selector, { app: 'legacy' }, 'the selector defaults to the template labels');
    const pt = (await kubectl(['get', 'podtemplates'])).stdout;
    assert.match(pt, /NAME\s+CONTAINERS\s+IMAGES\s+POD LABELS\ntpl\s+c\s+busybox\s+a=b/);

    const scaled = await kubectl(['scale', 'rs/frontend', '--replicas=1']);
    assert.match(scaled.stdout, /replicaset.apps\/frontend scaled/);
    await eventually(async () => {
      const pods = (await client.pods(NS).list({ labelSelector: 'tier=frontend' })).items.filter((p) => !p.metadata.deletionTimestamp);
      return pods.length === 1;
    }, 30_000, 'scaled down to one pod');
    const events = (await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=frontend', '-o', 'custom-columns=R:.reason,M:.message'])).stdout;
    assert.match(events, /SuccessfulCreate\s+Created pod: frontend-[a-z0-9]{5}/);
    assert.match(events, /SuccessfulDelete\s+Deleted pod: frontend-[a-z0-9]{5}/);

    // an orphaned pod is adopted by a new set with the same selector
    await kubectl(['delete', 'rs', 'frontend', '--cascade=orphan']);
    await kubectl(['apply', '-f', '-'], manifest);
    await eventually(async () => {
      const pods = (await client.pods(NS).list({ labelSelector: 'tier=frontend' })).items.filter((p) => !p.metadata.deletionTimestamp);
      const owners = new Set(pods.map((p) => p.metadata.ownerReferences?.[0]?.uid));
      const rs = await client.resource({ group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true }, NS).get('frontend');
      return pods.length === 3 && owners.size === 1 && owners.has(rs.metadata.uid);
    }, 30_000, 'adopted and scaled back to three');

    await kubectl(['delete', 'rs', 'frontend']);
    await kubectl(['delete', 'rc', 'legacy']);
    await eventually(async () => (await client.pods(NS).list()).items.length === 0, 30_000, 'pods collected');
  });

  it('seed 000 "0-dep": rolls out a new image without ever going below 3 ready pods, and rollout undo brings the old one back', async () => {
    const ready = new Map<string, boolean>();
    const counts: number[] = [];
    watch = await client.pods(NS).watch({ resourceVersion: '0' });
    void (async () => {
      for await (const ev of watch!) {
        if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED') continue;
        const pod = ev.object as KubeObject;
        if (!pod.metadata.name?.startsWith('dep-')) continue;
        if (ev.type === 'DELETED' || pod.metadata.deletionTimestamp) ready.delete(pod.metadata.name);
        else ready.set(pod.metadata.name, isReady(pod));
        counts.push([...ready.values()].filter(Boolean).length);
      }
    })();

    const created = await kubectl(['create', 'deployment', 'dep', '--image=nginx:1.27', '--replicas=3', '--port=80']);
    assert.match(created.stdout, /deployment.apps\/dep created/);
    await kubectl(['patch', 'deploy/dep', '--type=merge', '-p', '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}']);
    const first = await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=60s']);
    assert.match(first.stdout, /deployment "dep" successfully rolled out\n$/);
    const table = (await kubectl(['get', 'deploy', 'dep'])).stdout;
    assert.match(table, /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ndep\s+3\/3\s+3\s+3\s/);
    await eventually(() => counts.at(-1) === 3, 10_000, 'three ready pods seen');
    const startAt = counts.length;

    const set = await kubectl(['set', 'image', 'deploy/dep', 'nginx=nginx:1.28']);
    assert.match(set.stdout, /deployment.apps\/dep image updated/);
    const rolled = await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=60s']);
    assert.match(rolled.stdout, /deployment "dep" successfully rolled out\n$/);
    const pods = async () => (await client.pods(NS).list({ labelSelector: 'app=dep' })).items.filter((p) => !p.metadata.deletionTimestamp);
    await eventually(async () => {
      const p = await pods();
      return p.length === 3 && p.every((x) => x.spec?.containers[0].image === 'nginx:1.28' && isReady(x));
    }, 30_000, 'three new pods');
    const during = counts.slice(startAt);
    assert.ok(during.length > 0 && Math.min(...during) >= 3, `ready pods during the rollout: ${during.join(',')}`);
    assert.ok(Math.max(...during) <= 4, `at most one surge pod: ${during.join(',')}`);

    const rss = (await json('get', 'rs', '-l', 'app=dep')).items;
    assert.equal(rss.length, 2);
    for (const rs of rss) {
      assert.equal(rs.metadata.name, `dep-${rs.metadata.labels['pod-template-hash']}`);
      assert.equal(rs.spec.selector.matchLabels['pod-template-hash'], rs.metadata.labels['pod-template-hash']);
    }
    const history = (await kubectl(['rollout', 'history', 'deploy/dep'])).stdout;
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
    const d = await json('get', 'deploy', 'dep');
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '2');
    const progressing = d.status.conditions.find((x: any) => x.type === 'Progressing');
    assert.equal(progressing.reason, 'NewReplicaSetAvailable');
    assert.match(progressing.message, /^ReplicaSet "dep-[a-z0-9]+" has successfully progressed\.$/);
    const available = d.status.conditions.find((x: any) => x.type === 'Available');
    assert.deepEqual([available.status, available.reason], ['True', 'MinimumReplicasAvailable']);

    const undo = await kubectl(['rollout', 'undo', 'deploy/dep']);
    assert.match(undo.stdout, /deployment.apps\/dep rolled back/);
    await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=60s']);
    await eventually(async () => {
      const p = await pods();
      return p.length === 3 && p.every((x) => x.spec?.containers[0].image === 'nginx:1.27' && isReady(x));
    }, 30_000, 'old image back');
    const back = await json('get', 'deploy', 'dep');
    assert.equal(back.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.equal(back.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    assert.ok(Math.min(...counts.slice(startAt)) >= 3, `ready pods during the rollback: ${counts.slice(startAt).join(',')}`);
    const events = (await kubectl(['get', 'events', '--field-selector', 'involvedObject.kind=Deployment', '-o', 'custom-columns=R:.reason,M:.message'])).stdout;
    assert.match(events, /ScalingReplicaSet\s+Scaled up replica set dep-[a-z0-9]+ from 0 to 1/);
    assert.match(events, /ScalingReplicaSet\s+Scaled down replica set dep-[a-z0-9]+ from 3 to 2/);
  });

  it('pauses, scales, resumes and restarts a Deployment', async () => {
    await kubectl(['rollout', 'pause', 'deploy/dep']);
    await kubectl(['set', 'image', 'deploy/dep', 'nginx=nginx:1.29']);
    await eventually(async () => {
      const d = await json('get', 'deploy', 'dep');
      return d.status.conditions.find((x: any) => x.type === 'Progressing')?.reason === 'DeploymentPaused';
    }, 20_000, 'paused condition');
    await kubectl(['scale', 'deploy/dep', '--replicas=4']);
    await eventually(async () => (await json('get', 'deploy', 'dep')).status.readyReplicas === 4, 30_000, 'four ready while paused');
    assert.equal((await json('get', 'rs', '-l', 'app=dep')).items.length, 2, 'no new ReplicaSet while paused');
    await kubectl(['rollout', 'resume', 'deploy/dep']);
    await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=60s']);
    await kubectl(['rollout', 'restart', 'deploy/dep']);
    const done = await kubectl(['rollout', 'status', 'deploy/dep', '--timeout=60s']);
    assert.match(done.stdout, /successfully rolled out/);
    const d = await json('get', 'deploy', 'dep');
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '5');
    assert.ok(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']);
    assert.equal(d.status.updatedReplicas, 4);
  });

  it('reports ProgressDeadlineExceeded when pods never become ready', async () => {
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 2
  progressDeadlineSeconds: 2
  selector: {matchLabels: {app: stuck}}
  template:
    metadata:
      labels: {app: stuck}
      annotations: {petset.io/sim-ready: "false"}
    spec:
      containers:
      - name: c
        image: busybox:1
        readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
`;
    await kubectl(['apply', '-f', '-'], manifest);
    const status = await c.kubectl(['-n', NS, 'rollout', 'status', 'deploy/stuck', '--timeout=60s'], { allowFail: true, timeoutMs: 90_000 });
    assert.notEqual(status.code, 0);
    assert.match(status.stderr, /error: deployment "stuck" exceeded its progress deadline/);
    const d = await json('get', 'deploy', 'stuck');
    const progressing = d.status.conditions.find((x: any) => x.type === 'Progressing');
    assert.deepEqual([progressing.status, progressing.reason], ['False', 'ProgressDeadlineExceeded']);
    assert.match(progressing.message, /^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/);
  });
  it('runs a Job to completion and fails one whose pods keep failing with BackoffLimitExceeded', async () => {
    const manifest = `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  completions: 3
  parallelism: 2
  template:
    metadata:
      annotations: {petset.io/sim-crash-after: "300ms", petset.io/sim-exit-code: "0"}
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: busybox, command: ["sh", "-c", "true"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: broken}
spec:
  backoffLimit: 1
  template:
    metadata:
      annotations: {petset.io/sim-crash-after: "100ms", petset.io/sim-exit-code: "3"}
    spec:
      restartPolicy: Never
      containers: [{name: broken, image: busybox}]
`;
    await kubectl(['apply', '-f', '-'], manifest);
    const done = await kubectl(['wait', '--for=condition=Complete', 'job/migrate', '--timeout=60s']);
    assert.match(done.stdout, /job.batch\/migrate condition met/);
    const table = (await kubectl(['get', 'job', 'migrate'])).stdout;
    assert.match(table, /NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nmigrate\s+Complete\s+3\/3\s/);
    const migrate = await json('get', 'job', 'migrate');
    assert.equal(migrate.status.succeeded, 3);
    assert.ok(migrate.status.completionTime);
    assert.equal(migrate.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], migrate.metadata.uid);
    const pods = (await client.pods(NS).list({ labelSelector: 'job-name=migrate' })).items;
    assert.equal(pods.filter((p) => p.status?.phase === 'Succeeded').length, 3);

    const failed = await kubectl(['wait', '--for=condition=Failed', 'job/broken', '--timeout=90s']);
    assert.match(failed.stdout, /job.batch\/broken condition met/);
    const broken = await json('get', 'job', 'broken');
    const cond = broken.status.conditions.find((c: any) => c.type === 'Failed');
    assert.deepEqual([cond.reason, cond.message], ['BackoffLimitExceeded', 'Job has reached the specified backoff limit']);
    assert.equal(broken.status.failed, 2, 'the first try and one retry');
    assert.match((await kubectl(['get', 'job', 'broken'])).stdout, /broken\s+Failed\s+0\/1\s/);
    const events = (await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=broken', '-o', 'custom-columns=R:.reason,M:.message'])).stdout;
    assert.match(events, /BackoffLimitExceeded\s+Job has reached the specified backoff limit/);
  });
  it('creates CronJobs with kubectl and a Job from one with create job --from=cronjob/…', async () => {
    const created = await kubectl(['create', 'cronjob', 'nightly', '--image=busybox', '--schedule=0 3 * * *', '--', 'true']);
    assert.match(created.stdout, /cronjob.batch\/nightly created/);
    await kubectl(['patch', 'cronjob/nightly', '--type=merge', '-p', '{"spec":{"timeZone":"Europe/Paris","jobTemplate":{"spec":{"template":{"metadata":{"annotations":{"petset.io/sim-crash-after":"200ms","petset.io/sim-exit-code":"0"}}}}}}}']);
    const table = (await kubectl(['get', 'cronjobs'])).stdout;
    assert.match(table, /NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\nnightly\s+0 3 \* \* \*\s+Europe\/Paris\s+False\s+0\s+<none>\s/);
    const bad = await c.kubectl(['-n', NS, 'create', 'cronjob', 'broken', '--image=busybox', '--schedule=61 * * * *'], { allowFail: true });
    assert.match(bad.stderr, /spec.schedule: Invalid value: "61 \* \* \* \*": end of range \(61\) above maximum \(59\): 61/);

    const manual = await kubectl(['create', 'job', 'nightly-manual', '--from=cronjob/nightly']);
    assert.match(manual.stdout, /job.batch\/nightly-manual created/);
    await kubectl(['wait', '--for=condition=Complete', 'job/nightly-manual', '--timeout=60s']);
    const job = await json('get', 'job', 'nightly-manual');
    assert.equal(job.metadata.annotations['cronjob.kubernetes.io/instantiate'], 'manual');
    assert.equal(job.metadata.ownerReferences[0].kind, 'CronJob');
    // deleting the cron job collects the job it owns
    await kubectl(['delete', 'cronjob', 'nightly']);
    await eventually(async () => !(await kubectl(['get', 'jobs', '-o', 'name'])).stdout.includes('nightly-manual'), 30_000, 'job collected');
  });
  it('runs a DaemonSet pod on every node, follows a node that joins, and rolls out a new image', async () => {
    const manifest = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logs}
spec:
  selector: {matchLabels: {app: logs}}
  template:
    metadata: {labels: {app: logs}}
    spec:
      containers: [{name: fluentd, image: fluentd:1}]
`;
    await kubectl(['apply', '-f', '-'], manifest);
    await eventually(async () => (await json('get', 'ds', 'logs')).status?.numberReady === 2, 30_000, 'a ready pod on both nodes');
    const podNodes = async () =>
      (await client.pods(NS).list({ labelSelector: 'app=logs' })).items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.spec?.nodeName).sort();
    assert.deepEqual(await podNodes(), ['node-1', 'node-2']);

    // a third node joins: a separate agent process registering itself
    const name = `extra-${randomBytes(3).toString('hex')}`;
    let agent: ChildProcess | undefined = spawn(process.execPath, [petsetBin, 'agent', '--kubeconfig', c.kubeconfig, '--node-name', name], { stdio: 'ignore' });
    try {
      await eventually(async () => (await json('get', 'ds', 'logs')).status?.numberReady === 3, 30_000, 'a pod on the new node');
      assert.deepEqual(await podNodes(), [name, 'node-1', 'node-2'].sort());
      const table = (await kubectl(['get', 'ds', 'logs'])).stdout;
      assert.match(table, /NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\nlogs\s+3\s+3\s+3\s+3\s+3\s+<none>\s/);

      await kubectl(['set', 'image', 'ds/logs', 'fluentd=fluentd:2']);
      const rolled = await kubectl(['rollout', 'status', 'ds/logs', '--timeout=60s']);
      assert.match(rolled.stdout, /daemon set "logs" successfully rolled out\n$/);
      const pods = (await client.pods(NS).list({ labelSelector: 'app=logs' })).items.filter((p) => !p.metadata.deletionTimestamp);
      assert.equal(pods.length, 3);
      assert.ok(pods.every((p) => p.spec?.containers[0].image === 'fluentd:2'));
      const history = (await kubectl(['rollout', 'history', 'ds/logs'])).stdout;
      assert.match(history, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);

      // the node leaves: its pod goes with it
      agent.kill('SIGTERM');
      await new Promise((r) => agent!.once('exit', r));
      agent = undefined;
      await c.kubectl(['delete', 'node', name]);
      await eventually(async () => (await json('get', 'ds', 'logs')).status?.desiredNumberScheduled === 2, 30_000, 'two nodes again');
    } finally {
      if (agent && agent.exitCode === null) {
        agent.kill('SIGKILL');
        await new Promise((r) => agent!.once('exit', r));
      }
    }
  });
});
