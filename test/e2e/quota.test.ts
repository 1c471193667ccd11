// ResourceQuota, LimitRange and PriorityClass through `petset up` and the real kubectl: the
// system classes exist, pods get their priority and LimitRange defaults, out-of-bounds pods and
// pods past a quota are refused with upstream's texts, and the quota's status counts usage.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startCluster, type Cluster } from './harness.js';

const NS = 'quota';

const MANIFEST = `apiVersion: v1
kind: ResourceQuota
metadata: {name: compute}
spec:
  hard: {pods: "2", requests.cpu: "1", limits.memory: 1Gi, count/deployments.apps: "1"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 200m, memory: 128Mi}
    max: {cpu: "1"}
    min: {cpu: 100m}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high-${Math.random().toString(36).slice(2, 8)}}
value: 1000
`;

describe('ResourceQuota, LimitRange and PriorityClass against petset up', () => {
  let c: Cluster;
  const kubectl = (args: string[], opts: { input?: string; allowFail?: boolean } = {}) => c.kubectl(['-n', NS, ...args], { timeoutMs: 60_000, ...opts });
  const pcName = /name: (high-\w+)/.exec(MANIFEST)![1];

  before(async () => {
    c = await startCluster();
    await c.kubectl(['create', 'namespace', NS]);
    await kubectl(['apply', '-f', '-'], { input: MANIFEST });
  });
  after(async () => {
    await c?.stop();
  });

  it('serves the two system PriorityClasses and refuses reserved names and a second default', async () => {
    const out = (await c.kubectl(['get', 'priorityclasses'])).stdout;
    assert.match(out, /NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY/);
    assert.match(out, /system-cluster-critical\s+2000000000\s+false\s+\S+\s+PreemptLowerPriority/);
    assert.match(out, /system-node-critical\s+2000001000\s+false/);
    const reserved = await c.kubectl(['create', 'priorityclass', 'system-mine', '--value=5'], { allowFail: true });
    assert.match(reserved.stderr, /priority class names with 'system-' prefix are reserved for system use only/);
    const tooHigh = await c.kubectl(['create', 'priorityclass', 'too-high', '--value=1000000001'], { allowFail: true });
    assert.match(tooHigh.stderr, /maximum allowed value of a user defined priority is 1000000000/);
    await c.kubectl(['create', 'priorityclass', 'default-a', '--value=10', '--global-default']);
    const second = await c.kubectl(['create', 'priorityclass', 'default-b', '--value=20', '--global-default'], { allowFail: true });
    assert.match(second.stderr, /PriorityClass default-a is already marked as default. Only one default can exist/);
    await c.kubectl(['delete', 'priorityclass', 'default-a']);
  });

  it('fills LimitRange defaults and the class priority into pods, and refuses what is out of bounds', async () => {
    await kubectl(['run', 'a', '--image=nginx', `--overrides={"spec":{"priorityClassName":"${pcName}","containers":[{"name":"a","image":"nginx"}]}}`]);
    const pod = JSON.parse((await kubectl(['get', 'pod', 'a', '-o', 'json'])).stdout);
    assert.deepEqual(pod.spec.containers[0].resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '200m', memory: '128Mi' } });
    assert.equal(pod.spec.priority, 1000);
    assert.equal(pod.spec.preemptionPolicy, 'PreemptLowerPriority');
    const big = await kubectl(['run', 'big', '--image=nginx', '--overrides={"spec":{"containers":[{"name":"big","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}'], { allowFail: true });
    assert.match(big.stderr, /pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2/);
    const unknown = await kubectl(['run', 'u', '--image=nginx', '--overrides={"spec":{"priorityClassName":"nope","containers":[{"name":"u","image":"nginx"}]}}'], { allowFail: true });
    assert.match(unknown.stderr, /pods "u" is forbidden: no PriorityClass with name nope was found/);
  });

  it('counts usage in the quota status and refuses what would exceed it', async () => {
    await kubectl(['run', 'b', '--image=nginx']);
    const over = await kubectl(['run', 'c', '--image=nginx'], { allowFail: true });
    assert.match(over.stderr, /pods "c" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2/);
    await kubectl(['create', 'deployment', 'one', '--image=nginx', '--replicas=0']);
    const dep = await kubectl(['create', 'deployment', 'two', '--image=nginx', '--replicas=0'], { allowFail: true });
    assert.match(dep.stderr, /exceeded quota: compute, requested: count\/deployments.apps=1, used: count\/deployments.apps=1, limited: count\/deployments.apps=1/);
    const row = await eventually(async () => {
      const out = (await kubectl(['get', 'quota', 'compute', '--no-headers'])).stdout;
      return /count\/deployments.apps: 1\/1, pods: 2\/2, requests.cpu: 400m\/1\s+limits.memory: 512Mi\/1Gi/.test(out) ? out : undefined;
    }, 30_000, 'the quota status to count two pods and a deployment');
    assert.ok(row);
    const described = (await kubectl(['describe', 'quota', 'compute'])).stdout;
    assert.match(described, /limits\.memory\s+512Mi\s+1Gi/);
  });
});
