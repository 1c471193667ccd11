// The DaemonSet decisions: eligible nodes, one pod per node, rolling update limits, status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/object.js';
import { daemonPod, decide, decideHistory, nodeShouldRun } from '../../../src/controllers/daemon/decide.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');

function ds(spec: Record<string, any> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'ns', uid: 'ds-uid', generation: 2 },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'fluentd' }] } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      ...spec,
    },
  };
}

function node(name: string, labels: Record<string, string> = {}, taints: any[] = []): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: { taints } };
}

let n = 0;
function pod(nodeName: string, hash: string, ready = true): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `agent-${n++}`, namespace: 'ns', labels: { app: 'agent', 'controller-revision-hash': hash }, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { nodeName },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  };
}

describe('daemon set decisions', () => {
  it('runs on nodes matching the node selector whose taints it tolerates', () => {
    const set = ds();
    set.spec.template.spec.nodeSelector = { disk: 'ssd' };
    assert.equal(nodeShouldRun(set, node('a', { disk: 'ssd' })).shouldRun, true);
    assert.equal(nodeShouldRun(set, node('b', { disk: 'hdd' })).shouldRun, false);
    const tainted = node('c', { disk: 'ssd' }, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
    assert.deepEqual(nodeShouldRun(set, tainted), { shouldRun: false, shouldContinueRunning: true });
    // the daemon tolerations cover unschedulable and not-ready nodes
    const cordoned = node('d', { disk: 'ssd' }, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]);
    assert.equal(nodeShouldRun(set, cordoned).shouldRun, true);
  });

  it('creates one pod on each node lacking one and deletes pods on nodes that should not run it', () => {
    const set = ds();
    set.spec.template.spec.nodeSelector = { role: 'edge' };
    const nodes = [node('a', { role: 'edge' }), node('b', { role: 'edge' }), node('c')];
    const stray = pod('c', 'h1');
    const plan = decide({ ds: set, nodes, pods: [pod('a', 'h1'), stray], hash: 'h1', now: NOW });
    assert.deepEqual(plan.createOn, ['b']);
    assert.deepEqual(plan.delete.map((d) => d.pod), [stray]);
    assert.deepEqual(plan.status, {
      currentNumberScheduled: 1,
      numberMisscheduled: 1,
      desiredNumberScheduled: 2,
      numberReady: 1,
      observedGeneration: 2,
      updatedNumberScheduled: 1,
      numberAvailable: 1,
      numberUnavailable: 1,
    });
  });

  it('pins pods to their node with node affinity and adds the daemon tolerations', () => {
    const p = daemonPod(ds(), 'a', 'h1', { kind: 'DaemonSet' });
    assert.deepEqual(p.spec!.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] },
    ]);
    assert.ok(p.spec!.tolerations.some((t: any) => t.key === 'node.kubernetes.io/not-ready' && t.effect === 'NoExecute'));
    assert.equal(p.metadata.labels!['controller-revision-hash'], 'h1');
    assert.equal(p.metadata.labels!['pod-template-generation'], '2');
  });

  it('rolls out with maxUnavailable 1: one old pod at a time, old unavailable pods first', () => {
    const nodes = [node('a'), node('b'), node('c')];
    const plan = decide({ ds: ds(), nodes, pods: [pod('a', 'old'), pod('b', 'old'), pod('c', 'old')], hash: 'new', now: NOW });
    assert.equal(plan.delete.length, 1);
    const broken = pod('b', 'old', false);
    const again = decide({ ds: ds(), nodes, pods: [pod('a', 'old'), broken, pod('c', 'old')], hash: 'new', now: NOW });
    assert.deepEqual(again.delete.map((d) => d.pod), [broken], 'the unavailable node already uses up maxUnavailable');
  });

  it('with maxSurge starts the new pod beside the old and deletes the old once the new is available', () => {
    const set = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
    const old = pod('a', 'old');
    let plan = decide({ ds: set, nodes: [node('a')], pods: [old], hash: 'new', now: NOW });
    assert.deepEqual([plan.createOn, plan.delete], [['a'], []]);
    plan = decide({ ds: set, nodes: [node('a')], pods: [old, pod('a', 'new')], hash: 'new', now: NOW });
    assert.deepEqual(plan.delete.map((d) => d.pod), [old]);
  });
});

describe('daemon set history (ControllerRevisions)', () => {
  const rev = (hash: string, revision: number): KubeObject => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: `agent-${hash}`, namespace: 'ns', labels: { 'controller-revision-hash': hash } }, revision }) as KubeObject;

  it('creates the current template revision after the newest, and makes an older one the newest when the template goes back to it', () => {
    assert.deepEqual(decideHistory(ds(), [], 'h1', []), { create: 1, delete: [] });
    assert.deepEqual(decideHistory(ds(), [rev('h1', 1)], 'h2', []), { create: 2, delete: [] });
    assert.deepEqual(decideHistory(ds(), [rev('h1', 1), rev('h2', 2)], 'h2', []), { delete: [] });
    const back = decideHistory(ds(), [rev('h1', 1), rev('h2', 2)], 'h1', []);
    assert.equal(back.bump?.to, 3, 'a rollback to revision 1 makes it revision 3, so undo finds revision 2 before it');
    assert.equal(back.bump?.revision.metadata.name, 'agent-h1');
  });

  it('deletes old revisions beyond revisionHistoryLimit, oldest first, but not one a live pod still runs', () => {
    const owned = [rev('h1', 1), rev('h2', 2), rev('h3', 3), rev('h4', 4)];
    const plan = decideHistory(ds({ revisionHistoryLimit: 1 }), owned, 'h4', [pod('a', 'h1')]);
    assert.deepEqual(plan.delete.map((r) => r.metadata.name), ['agent-h2', 'agent-h3'], 'three old ones, one kept: h1 stays for its pod');
    assert.deepEqual(decideHistory(ds(), owned, 'h4', []).delete, [], 'the default limit is 10');
  });
});
