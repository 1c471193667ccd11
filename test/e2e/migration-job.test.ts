// Seed 000's migration before a roll-out, on real processes (`petset up --runtime process`):
// each pet's init container waits, with the in-cluster kubectl and its ServiceAccount's Role,
// until the migration Job of its template's version is Complete. Rolling the StatefulSet to
// v2 replaces the highest ordinal first; that pet stays in its init container, and the rollout
// stops there with the lower pets on v1, until the v2 migration Job finishes. Then the rollout
// continues to the end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, type Cluster } from './harness.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the migration Job test: ${why}`);

const NS = 'shop';

const job = (version: string, gated: boolean) => `apiVersion: batch/v1
kind: Job
metadata: {name: migrate-${version}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: migrate
        image: busybox
        # ${gated ? 'runs until the test says the migration is done' : 'done at once'}
        command: [sh, -c, '${gated ? 'until [ -e /work/done ]; do sleep 0.2; done; ' : ''}echo schema now at ${version}']
        volumeMounts: [{name: work, mountPath: /work}]
      volumes: [{name: work, emptyDir: {}}]
`;

const statefulSet = (version: string) => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      serviceAccountName: deployer
      terminationGracePeriodSeconds: 1
      initContainers:
      - name: wait-for-migration
        image: busybox
        env: [{name: MIGRATION, value: migrate-${version}}]
        command: [sh, -c, 'kubectl wait --for=condition=complete job/$MIGRATION --timeout=600s']
      containers:
      - name: app
        image: busybox
        command: [sh, -c, 'echo serving ${version}; exec sleep 3600']
`;

describe('a migration Job gates a StatefulSet rollout (init container waiting on it)', { skip: why }, () => {
  let c: Cluster;
  const kubectl = (args: string[], input?: string) => c.kubectl(['-n', NS, ...args], { timeoutMs: 120_000, input });
  const out = async (args: string[]) => (await kubectl(args)).stdout.trim();

  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process'] });
    await c.kubectl(['create', 'namespace', NS]);
    await kubectl(['create', 'sa', 'deployer']);
    await kubectl(['create', 'role', 'job-watcher', '--verb=get,list,watch', '--resource=jobs']);
    await kubectl(['create', 'rolebinding', 'deployer-watches-jobs', '--role=job-watcher', '--serviceaccount=shop:deployer']);
  });
  after(async () => {
    await c?.stop();
  });

  it('holds the rollout at the first replaced pet until the Job is Complete, then finishes it', { timeout: 400_000 }, async () => {
    await kubectl(['apply', '-f', '-'], job('v1', false) + '---\n' + statefulSet('v1'));
    await kubectl(['rollout', 'status', 'sts/db', '--timeout=180s']);
    assert.equal(await out(['get', 'job', 'migrate-v1', '-o', 'jsonpath={.status.succeeded}']), '1');
    const v1 = await out(['get', 'sts', 'db', '-o', 'jsonpath={.status.currentRevision}']);

    // v2: its migration starts and is held; the rollout goes as far as db-1, which waits
    await kubectl(['apply', '-f', '-'], job('v2', true) + '---\n' + statefulSet('v2'));
    const v2 = await eventually(async () => {
      const r = await out(['get', 'sts', 'db', '-o', 'jsonpath={.status.updateRevision}']);
      return r && r !== v1 ? r : undefined;
    }, 30_000, 'the update revision');
    await eventually(
      async () => (await out(['get', 'pod', 'db-1', '-o', 'jsonpath={.metadata.labels.controller-revision-hash} {.status.initContainerStatuses[0].state.running.startedAt}'])).startsWith(`${v2} 2`),
      120_000,
      'db-1 on v2, in its init container',
    );
    const waiting = await out(['get', 'pod', 'db-1']);
    assert.match(waiting, /db-1\s+0\/1\s+Init:0\/1\s/, waiting);
    assert.equal(await out(['get', 'pod', 'db-0', '-o', 'jsonpath={.metadata.labels.controller-revision-hash}']), v1, 'db-0 is not touched while db-1 waits');
    const held = JSON.parse(await out(['get', 'sts', 'db', '-o', 'json'])).status;
    assert.deepEqual([held.updatedReplicas, held.readyReplicas ?? 0], [1, 1], 'one pet updated, not ready; one ready on v1');
    assert.equal(await out(['get', 'job', 'migrate-v2', '-o', 'jsonpath={.status.active}']), '1');

    // the migration finishes: the rollout carries on to the end
    const jobPod = await eventually(async () => {
      const p = await out(['get', 'pods', '-l', 'job-name=migrate-v2', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.name}']);
      return p || undefined;
    }, 60_000, 'the running migration pod');
    await kubectl(['exec', jobPod, '--', 'touch', '/work/done']);
    await kubectl(['wait', '--for=condition=Complete', 'job/migrate-v2', '--timeout=60s']);
    await kubectl(['rollout', 'status', 'sts/db', '--timeout=180s']);
    const done = JSON.parse(await out(['get', 'sts', 'db', '-o', 'json'])).status;
    assert.deepEqual([done.currentRevision, done.updatedReplicas, done.readyReplicas], [v2, 2, 2]);
    // each pet left its init container only once the Job had completed
    const completed = Date.parse(await out(['get', 'job', 'migrate-v2', '-o', 'jsonpath={.status.completionTime}']));
    for (const pet of ['db-0', 'db-1']) {
      const finished = Date.parse(await out(['get', 'pod', pet, '-o', 'jsonpath={.status.initContainerStatuses[0].state.terminated.finishedAt}']));
      assert.ok(finished >= completed - 1000, `${pet}'s init container finished at ${new Date(finished).toISOString()}, the Job at ${new Date(completed).toISOString()}`);
    }
    assert.match((await kubectl(['logs', 'db-1', '-c', 'wait-for-migration'])).stdout, /job\.batch\/migrate-v2 condition met/);
    assert.match((await kubectl(['logs', 'job/migrate-v2'])).stdout, /schema now at v2/);
  });
});
