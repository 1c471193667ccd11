import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone, type KubeObject } from '../../../src/api/object.js';
import { defaultPodTemplate } from '../../../src/api/pod-defaults.js';
import {
  chooseRevisions,
  encodeSorted,
  fnv1_32,
  goTemplate,
  newRevision,
  revisionData,
  revisionHash,
  revisionName,
  revisionsToTruncate,
  safeEncode,
  templateOf,
} from '../../../src/controllers/statefulset/revision.js';
import { newSet } from './fake-cluster.js';

const VECTOR =
  '{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null,"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}';

function vectorSet(): KubeObject {
  const template: any = {
    metadata: { labels: { app: 'foo' }, annotations: { test: 'value' } },
    spec: { containers: [{ name: 'test', image: 'test' }] },
  };
  defaultPodTemplate(template);
  return { metadata: { name: 'test', namespace: 'default', uid: 'u1' }, spec: { template } };
}

/** Stores a revision as the API server would (uid, creation time). */
function stored(r: KubeObject, i: number): KubeObject {
  return { ...clone(r), metadata: { ...clone(r.metadata), uid: `rev-${i}`, creationTimestamp: `2026-01-01T00:00:0${i}Z` } };
}

describe('statefulset revisions', () => {
  it('serializes the defaulted template exactly like upstream and reproduces test-c77f6d978', () => {
    const data = revisionData(vectorSet());
    assert.equal(data, VECTOR);
    assert.equal(fnv1_32(Buffer.from(data + '0')), 733928534);
    assert.equal(revisionHash(data, 0), 'c77f6d978');
    assert.equal(revisionName('test', revisionHash(data, 0)), 'test-c77f6d978');
    assert.equal(safeEncode(String(fnv1_32(Buffer.from(data)))), '6b48d6f566', 'without the collision count');
  });

  it('maps digits through the safe alphabet', () => {
    assert.equal(safeEncode('0123456789'), '456789bcdf');
  });

  it('encodes like Go: sorted keys, HTML-safe escapes', () => {
    assert.equal(encodeSorted({ b: 1, a: { d: [true, null], c: 'x' } }), '{"a":{"c":"x","d":[true,null]},"b":1}');
    assert.equal(encodeSorted('<a & b>'), '"\\u003ca \\u0026 b\\u003e"');
    assert.equal(encodeSorted('tab\there\nline\u2028\u0001'), '"tab\\there\\nline\\u2028\\u0001"');
    assert.equal(encodeSorted({ Z: 1, $p: 2, a: 3 }), '{"$p":2,"Z":1,"a":3}');
  });

  it('normalizes the template the way the typed Go object would encode it', () => {
    const t = goTemplate({
      metadata: { labels: {}, name: '' },
      spec: {
        containers: [{ name: 'c', args: [], env: null, securityContext: {}, resources: { limits: {} } }],
        nodeSelector: {},
        hostNetwork: false,
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
      },
    });
    assert.deepEqual(t, {
      metadata: { creationTimestamp: null },
      spec: {
        containers: [{ name: 'c', securityContext: {}, resources: {} }],
        hostNetwork: false,
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
      },
    });
  });

  it('builds the revision object: labels, hash label, annotations, owner, number', () => {
    const set = vectorSet();
    set.metadata.annotations = { 'kubernetes.io/change-cause': 'first' };
    const r = newRevision(set, 3, 0);
    assert.equal(r.metadata.name, 'test-c77f6d978');
    assert.deepEqual(r.metadata.labels, { app: 'foo', 'controller.kubernetes.io/hash': 'c77f6d978' });
    assert.deepEqual(r.metadata.annotations, { 'kubernetes.io/change-cause': 'first' });
    assert.deepEqual(r.metadata.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'test', uid: 'u1', controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(r.revision, 3);
    assert.equal(encodeSorted(r.data), VECTOR);
    assert.deepEqual(templateOf(r)?.spec, set.spec.template.spec);
  });

  it('truncates long set names to 223 characters in revision names', () => {
    assert.equal(revisionName('a'.repeat(300), 'h'), `${'a'.repeat(223)}-h`);
  });

  describe('choosing revisions (TestStatefulSetControl_getSetRevisions)', () => {
    const set = newSet('web');
    const rev0 = stored(newRevision(set, 1, 0), 1);
    const updated = clone(set);
    updated.spec.template.spec.containers[0].image = 'nginx:2';
    const rev1 = stored(newRevision(updated, 2, 0), 2);

    it('creates the initial revision', () => {
      const c = chooseRevisions(set, [], []);
      assert.equal(c.create?.metadata.name, rev0.metadata.name);
      assert.equal(c.create?.revision, 1);
      assert.equal(c.current, c.update);
      assert.equal(c.collisionCount, 0);
    });

    it('creates a revision on update; current stays', () => {
      const s = { ...updated, status: { currentRevision: rev0.metadata.name } };
      const c = chooseRevisions(s, [rev0], [rev0]);
      assert.equal(c.create?.metadata.name, rev1.metadata.name);
      assert.equal(c.create?.revision, 2);
      assert.equal(c.current.metadata.name, rev0.metadata.name);
      assert.equal(c.update.metadata.name, rev1.metadata.name);
    });

    it('does not recreate a revision of the same set', () => {
      const s = { ...updated, status: { currentRevision: rev0.metadata.name } };
      const c = chooseRevisions(s, [rev0, rev1], [rev0, rev1]);
      assert.equal(c.create, undefined);
      assert.equal(c.bump, undefined);
      assert.equal(c.update, rev1);
    });

    it('rolls back to an earlier revision by bumping its number', () => {
      const s = { ...set, status: { currentRevision: rev1.metadata.name } };
      const c = chooseRevisions(s, [rev1, rev0], [rev0, rev1]);
      assert.equal(c.create, undefined);
      assert.equal(c.bump?.metadata.name, rev0.metadata.name);
      assert.equal(c.bump?.revision, 3);
      assert.equal(c.update.revision, 3);
      assert.equal(c.current.metadata.name, rev1.metadata.name);
    });

    it('falls back to the update revision when the current one is gone', () => {
      const s = { ...updated, status: { currentRevision: 'web-deleted' } };
      const c = chooseRevisions(s, [rev1], [rev1]);
      assert.equal(c.current, c.update);
    });

    it('bumps collisionCount when another object holds the name', () => {
      const foreign = { ...clone(rev0), data: { spec: { template: { $patch: 'replace', metadata: {}, spec: {} } } } };
      foreign.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'x', uid: 'other', controller: true }];
      const c = chooseRevisions(set, [], [foreign]);
      assert.equal(c.collisionCount, 1);
      assert.equal(c.create?.metadata.name, revisionName('web', revisionHash(revisionData(set), 1)));
      assert.notEqual(c.create?.metadata.name, rev0.metadata.name);
    });

    it('reuses an identical revision found under the candidate name', () => {
      const c = chooseRevisions(set, [], [rev0]);
      assert.equal(c.create, undefined);
      assert.equal(c.update, rev0);
    });

    it('treats a newest revision that differs only in encoding as unchanged', () => {
      const old = clone(rev0);
      old.data.spec.template.spec.containers[0].args = [];
      delete old.data.spec.template.spec.containers[0].resources;
      const c = chooseRevisions(set, [old], [old]);
      assert.equal(c.create, undefined);
      assert.equal(c.update, old);
    });
  });

  describe('history truncation', () => {
    const revs = [1, 2, 3, 4, 5].map((i) => ({ metadata: { name: `r${i}` }, revision: i }) as KubeObject);
    const live = new Set(['r5', 'r2']);
    it('keeps at most revisionHistoryLimit non-live revisions, deleting the oldest', () => {
      const set = newSet('web', { revisionHistoryLimit: 1 });
      assert.deepEqual(
        revisionsToTruncate(set, revs, live).map((r) => r.metadata.name),
        ['r1', 'r3'],
      );
    });
    it('zero keeps only live revisions; negative disables truncation', () => {
      assert.deepEqual(
        revisionsToTruncate(newSet('web', { revisionHistoryLimit: 0 }), revs, live).map((r) => r.metadata.name),
        ['r1', 'r3', 'r4'],
      );
      assert.deepEqual(revisionsToTruncate(newSet('web', { revisionHistoryLimit: -1 }), revs, live), []);
    });
  });
});
