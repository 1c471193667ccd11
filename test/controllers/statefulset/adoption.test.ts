import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/object.js';
import { claimPods, claimRevisions, labelSelector, type Selector } from '../../../src/controllers/statefulset/adoption.js';
import { newSet } from './fake-cluster.js';

const set = newSet('web');
const selector = labelSelector(set.spec.selector) as Selector;
const ownRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-set-web', controller: true, blockOwnerDeletion: true };

function pod(name: string, labels: Record<string, string> | undefined, refs?: object[], extra: object = {}): KubeObject {
  return { metadata: { name, namespace: 'default', uid: `uid-${name}`, labels, ownerReferences: refs as any, ...extra } };
}

describe('statefulset adoption', () => {
  it('keeps owned matching pods, releases owned non-matching ones, adopts matching orphans', () => {
    const pods = [
      pod('web-0', { app: 'web' }, [ownRef]),
      pod('web-1', {}, [ownRef]),
      pod('web-2', { app: 'web' }),
      pod('other-0', { app: 'web' }),
      pod('web-3', { app: 'web' }, [{ ...ownRef, uid: 'someone-else' }]),
      pod('web-4', { app: 'web' }, undefined, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
      pod('web-x', { app: 'web' }, [ownRef]),
    ];
    const { claimed, actions } = claimPods(set, pods, selector);
    assert.deepEqual(
      claimed.map((p) => p.metadata.name),
      ['web-0', 'web-2'],
    );
    assert.deepEqual(claimed[1].metadata.ownerReferences, [ownRef]);
    assert.deepEqual(
      actions.map((a) => [a.purpose, 'name' in a ? a.name : '']),
      [
        ['releasePod', 'web-1'],
        ['releasePod', 'web-x'],
        ['verifyOwner', 'web'],
        ['adoptPod', 'web-2'],
      ],
    );
    const release = actions[0] as any;
    assert.deepEqual(release.patch, { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'uid-set-web' }], uid: 'uid-web-1' } });
    assert.deepEqual(release.tolerate, ['NotFound', 'Invalid']);
    const adopt = actions[3] as any;
    assert.equal(adopt.patchType, 'strategic');
    assert.deepEqual(adopt.patch, { metadata: { ownerReferences: [ownRef], uid: 'uid-web-2' } });
  });

  it('neither adopts nor releases while the set is being deleted', () => {
    const deleting = { ...set, metadata: { ...set.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    const { claimed, actions } = claimPods(deleting, [pod('web-0', { app: 'web' }, [ownRef]), pod('web-1', {}, [ownRef]), pod('web-2', { app: 'web' })], selector);
    assert.deepEqual(claimed.map((p) => p.metadata.name), ['web-0']);
    assert.deepEqual(actions, []);
  });

  it('lists owned and orphan revisions matching the selector and adopts the orphans', () => {
    const rev = (name: string, labels: Record<string, string>, refs?: object[]) => pod(name, labels, refs);
    const { claimed, actions } = claimRevisions(
      set,
      [rev('web-a', { app: 'web' }, [ownRef]), rev('web-b', { app: 'web' }), rev('web-c', { app: 'other' }), rev('x-d', { app: 'web' }, [{ ...ownRef, uid: 'x' }])],
      selector,
    );
    assert.deepEqual(claimed.map((r) => r.metadata.name), ['web-a', 'web-b']);
    assert.deepEqual(actions.map((a) => a.purpose), ['verifyOwner', 'adoptRevision']);
  });

  it('reports selectors that cannot be used', () => {
    const bad = labelSelector({ matchExpressions: [{ key: 'a', operator: 'Near' }] });
    assert.equal(typeof bad, 'object');
  });
});
