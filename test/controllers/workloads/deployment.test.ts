// The Deployment decisions: one pass at a time through a rolling update with maxSurge 1 /
// maxUnavailable 0, Recreate, scaling, pausing, history cleanup and the conditions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/object.js';
import { decide, newRSNewReplicas, type DeploymentAction } from '../../../src/controllers/deployment/decide.js';
import { computeHash, equalIgnoreHash, resolveFenceposts, safeEncode } from '../../../src/controllers/deployment/util.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');

function deployment(spec: Record<string, any> = {}, status: Record<string, any> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'dep', namespace: 'ns', uid: 'd-uid', generation: 1, annotations: {} },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'dep' } },
      template: { metadata: { labels: { app: 'dep' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      ...spec,
    },
    status,
  };
}

let created = 0;
/** The ReplicaSet the controller would have created for this template, as the API returns it. */
function rsFor(d: KubeObject, image: string, replicas: number, available: number, revision: string): KubeObject {
  const template = structuredClone(d.spec.template);
  template.spec.containers[0].image = image;
  const hash = computeHash(template);
  template.metadata.labels['pod-template-hash'] = hash;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `dep-${hash}`,
      namespace: 'ns',
      uid: `rs-${image}`,
      labels: { ...template.metadata.labels },
      creationTimestamp: new Date(Date.parse('2026-01-01T00:00:00Z') + created++ * 1000).toISOString(),
      annotations: {
        'deployment.kubernetes.io/revision': revision,
        'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas),
        'deployment.kubernetes.io/max-replicas': String(d.spec.replicas + 1),
      },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'dep', uid: 'd-uid', controller: true, blockOwnerDeletion: true }],
      generation: 1,
    },
    spec: { replicas, selector: { matchLabels: { app: 'dep', 'pod-template-hash': hash } }, template },
    status: { replicas, readyReplicas: available, availableReplicas: available, observedGeneration: 1 },
  };
}

const scalings = (actions: DeploymentAction[]) =>
  actions.flatMap((a) => (a.verb === 'createReplicaSet' || a.verb === 'updateReplicaSet') && a.event ? [a.event.message] : []);
const statusOf = (actions: DeploymentAction[]) => actions.filter((a) => a.verb === 'updateStatus').at(-1) as Extract<DeploymentAction, { verb: 'updateStatus' }> | undefined;

describe('deployment helpers', () => {
  it('hashes templates into safe names and compares templates ignoring the hash label', () => {
    // digits map into 4-9 and b, c, d, f, as upstream's hashes look
    assert.equal(safeEncode('0123456789'), '456789bcdf');
    const t = { metadata: { labels: { a: 'b' } }, spec: {} };
    assert.match(computeHash(t), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.notEqual(computeHash(t), computeHash(t, 1), 'the collision count changes the hash');
    assert.ok(equalIgnoreHash(t, { metadata: { labels: { a: 'b', 'pod-template-hash': 'x' } }, spec: {} }));
    // kubectl rollout undo sends the ReplicaSet's template back with a null creationTimestamp
    const undone = { metadata: { creationTimestamp: null, labels: { a: 'b' } }, spec: {} };
    assert.equal(computeHash(undone), computeHash(t), 'a null field hashes as one left out');
    assert.ok(equalIgnoreHash(undone, { metadata: { labels: { a: 'b', 'pod-template-hash': 'x' } }, spec: {} }));
  });

  it('resolves maxSurge up and maxUnavailable down, never both zero', () => {
    const d = deployment({ replicas: 10, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
    assert.deepEqual(resolveFenceposts(d), { maxSurge: 3, maxUnavailable: 2 });
    const zero = deployment({ replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: '10%' } } });
    assert.deepEqual(resolveFenceposts(zero), { maxSurge: 0, maxUnavailable: 1 });
  });
});

describe('rolling update with maxSurge 1 / maxUnavailable 0', () => {
  it('creates the first ReplicaSet at full size, revision 1, with NewReplicaSetCreated', () => {
    const d = deployment();
    const plan = decide({ deployment: d, replicaSets: [], pods: [], now: NOW });
    const create = plan.actions.find((a) => a.verb === 'createReplicaSet') as any;
    const hash = computeHash(d.spec.template);
    assert.equal(create.rs.metadata.name, `dep-${hash}`);
    assert.equal(create.rs.spec.replicas, 3);
    assert.equal(create.rs.spec.template.metadata.labels['pod-template-hash'], hash);
    assert.equal(create.rs.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    assert.deepEqual(scalings(plan.actions), [`Scaled up replica set dep-${hash} from 0 to 3`]);
    const status = statusOf(plan.actions)!.deployment;
    assert.equal(status.metadata.annotations!['deployment.kubernetes.io/revision'], '1');
    const progressing = status.status.conditions.find((c: any) => c.type === 'Progressing');
    assert.deepEqual([progressing.status, progressing.reason, progressing.message], ['True', 'NewReplicaSetCreated', `Created new replica set "dep-${hash}"`]);
  });

  it('surges one new pod, then scales the old set down only as new pods become available', () => {
    const d = deployment();
    const old = rsFor(d, 'nginx:1.27', 3, 3, '1');
    d.spec.template.spec.containers[0].image = 'nginx:1.28';
    d.metadata.generation = 2;
    // pass 1: the new set is created with one pod (3 + 1 surge)
    let plan = decide({ deployment: d, replicaSets: [old], pods: [], now: NOW });
    const create = plan.actions.find((a) => a.verb === 'createReplicaSet') as any;
    assert.equal(create.rs.spec.replicas, 1);
    assert.equal(create.rs.metadata.annotations['deployment.kubernetes.io/revision'], '2');
    assert.equal(scalings(plan.actions).length, 1, 'no old pod goes before the new one is available');

    // pass 2: the new pod is not available yet: nothing to do
    const fresh = rsFor(d, 'nginx:1.28', 1, 0, '2');
    plan = decide({ deployment: d, replicaSets: [old, fresh], pods: [], now: NOW });
    assert.deepEqual(scalings(plan.actions), []);

    // pass 3: it is available: one old pod goes
    fresh.status = { replicas: 1, readyReplicas: 1, availableReplicas: 1 };
    plan = decide({ deployment: d, replicaSets: [old, fresh], pods: [], now: NOW });
    assert.deepEqual(scalings(plan.actions), [`Scaled down replica set ${old.metadata.name} from 3 to 2`]);

    // pass 4: the old set shrank: the new one grows by one
    old.spec.replicas = 2;
    old.status = { replicas: 2, readyReplicas: 2, availableReplicas: 2 };
    plan = decide({ deployment: d, replicaSets: [old, fresh], pods: [], now: NOW });
    assert.deepEqual(scalings(plan.actions), [`Scaled up replica set ${fresh.metadata.name} from 1 to 2`]);
  });

  it('reports NewReplicaSetAvailable once complete', () => {
    const d = deployment({}, { observedGeneration: 1 });
    const rs = rsFor(d, 'nginx:1.27', 3, 3, '1');
    const plan = decide({ deployment: d, replicaSets: [rs], pods: [], now: NOW });
    const status = statusOf(plan.actions)!.deployment.status;
    assert.deepEqual(
      status.conditions.map((c: any) => [c.type, c.status, c.reason, c.message]),
      [
        ['Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.'],
        ['Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rs.metadata.name}" has successfully progressed.`],
      ],
    );
    assert.deepEqual([status.replicas, status.updatedReplicas, status.readyReplicas, status.availableReplicas], [3, 3, 3, 3]);
  });

  it('reports ProgressDeadlineExceeded when no progress was made within the deadline', () => {
    const d = deployment({ progressDeadlineSeconds: 60 });
    const rs = rsFor(d, 'nginx:1.27', 3, 0, '1');
    rs.status.replicas = 3;
    d.status = {
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', lastUpdateTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    };
    const plan = decide({ deployment: d, replicaSets: [rs], pods: [], now: NOW });
    const c = statusOf(plan.actions)!.deployment.status.conditions.find((x: any) => x.type === 'Progressing');
    assert.deepEqual([c.status, c.reason, c.message], ['False', 'ProgressDeadlineExceeded', `ReplicaSet "${rs.metadata.name}" has timed out progressing.`]);
  });
});

describe('other paths', () => {
  it('Recreate scales every old set to zero first and waits for their pods to go', () => {
    const d = deployment({ strategy: { type: 'Recreate' } });
    const old = rsFor(d, 'nginx:1.27', 3, 3, '1');
    d.spec.template.spec.containers[0].image = 'nginx:1.28';
    let plan = decide({ deployment: d, replicaSets: [old], pods: [], now: NOW });
    assert.deepEqual(scalings(plan.actions), [`Scaled down replica set ${old.metadata.name} from 3 to 0`]);
    assert.ok(!plan.actions.some((a) => a.verb === 'createReplicaSet'));
    old.spec.replicas = 0;
    old.status = { replicas: 0 };
    const lingering: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: old.metadata.name!, uid: old.metadata.uid!, controller: true }] },
      status: { phase: 'Running' },
    };
    plan = decide({ deployment: d, replicaSets: [old], pods: [lingering], now: NOW });
    assert.ok(!plan.actions.some((a) => a.verb === 'createReplicaSet'), 'old pods still running');
    plan = decide({ deployment: d, replicaSets: [old], pods: [], now: NOW });
    const create = plan.actions.find((a) => a.verb === 'createReplicaSet') as any;
    assert.equal(create.rs.spec.replicas, 3);
  });

  it('a scaling event resizes the only active set; a paused deployment gets DeploymentPaused and no new set', () => {
    const d = deployment({ replicas: 5 });
    const rs = rsFor(deployment(), 'nginx:1.27', 3, 3, '1');
    let plan = decide({ deployment: d, replicaSets: [rs], pods: [], now: NOW });
    assert.deepEqual(scalings(plan.actions), [`Scaled up replica set ${rs.metadata.name} from 3 to 5`]);

    const paused = deployment({ paused: true });
    paused.spec.template.spec.containers[0].image = 'nginx:1.29';
    plan = decide({ deployment: paused, replicaSets: [rs], pods: [], now: NOW });
    assert.ok(!plan.actions.some((a) => a.verb === 'createReplicaSet'));
    const c = statusOf(plan.actions)!.deployment.status.conditions.find((x: any) => x.type === 'Progressing');
    assert.deepEqual([c.status, c.reason, c.message], ['Unknown', 'DeploymentPaused', 'Deployment is paused']);
  });

  it('rolling back to an old template reuses its set with the next revision and records the history', () => {
    const d = deployment({}, { observedGeneration: 1 });
    const first = rsFor(d, 'nginx:1.27', 0, 0, '1');
    const second = rsFor(d, 'nginx:1.28', 3, 3, '2');
    const plan = decide({ deployment: d, replicaSets: [first, second], pods: [], now: NOW });
    const update = plan.actions.find((a) => a.verb === 'updateReplicaSet' && a.rs.metadata.name === first.metadata.name) as any;
    assert.equal(update.rs.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    assert.equal(update.rs.metadata.annotations['deployment.kubernetes.io/revision-history'], '1');
  });

  it('deletes the oldest empty sets beyond revisionHistoryLimit', () => {
    const d = deployment({ revisionHistoryLimit: 1 }, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    const sets = [rsFor(d, 'a:1', 0, 0, '1'), rsFor(d, 'a:2', 0, 0, '2'), rsFor(d, 'nginx:1.27', 3, 3, '3')];
    const plan = decide({ deployment: d, replicaSets: sets, pods: [], now: NOW });
    const deleted = plan.actions.filter((a) => a.verb === 'deleteReplicaSet').map((a: any) => a.rs.metadata.name);
    assert.deepEqual(deleted, [sets[0].metadata.name]);
  });

  it('NewRSNewReplicas never exceeds replicas + maxSurge in total', () => {
    const d = deployment({ replicas: 10, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } } });
    const old = rsFor(d, 'a:1', 10, 10, '1');
    const fresh = rsFor(d, 'a:2', 0, 0, '2');
    assert.equal(newRSNewReplicas(d, [old, fresh], fresh), 2);
    old.spec.replicas = 9;
    fresh.spec.replicas = 2;
    assert.equal(newRSNewReplicas(d, [old, fresh], fresh), 3);
  });
});
