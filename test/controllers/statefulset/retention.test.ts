import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject, OwnerReference } from '../../../src/api/object.js';
import {
  claimIsStale,
  claimOwnerRefsFor,
  hasUnexpectedController,
  isClaimOwnerUpToDate,
} from '../../../src/controllers/statefulset/retention.js';
import { newSet, type Policy } from './fake-cluster.js';

const setRef: OwnerReference = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  name: 'web',
  uid: 'uid-set-web',
  controller: true,
  blockOwnerDeletion: true,
};
const podRef = (ordinal: number, uid = `pod-uid-${ordinal}`): OwnerReference => ({
  apiVersion: 'v1',
  kind: 'Pod',
  name: `web-${ordinal}`,
  uid,
  controller: true,
  blockOwnerDeletion: true,
});
const configMapRef: OwnerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'cm-uid' };

function pod(ordinal: number): KubeObject {
  return { metadata: { name: `web-${ordinal}`, namespace: 'default', uid: `pod-uid-${ordinal}` } };
}

function claim(refs?: OwnerReference[]): KubeObject {
  return { metadata: { name: 'datadir-web-x', namespace: 'default', ...(refs ? { ownerReferences: refs } : {}) } };
}

/** Section 2.6's table: in range (ordinal 1 of 3) and scaled down (ordinal 5). */
const TABLE: Array<[Policy, OwnerReference[], OwnerReference[]]> = [
  ['Retain', [], []],
  ['SetDeleteOnly', [setRef], [setRef]],
  ['ScaleDownOnly', [], [podRef(5)]],
  ['Delete', [setRef], [podRef(5)]],
];

describe('statefulset PVC retention', () => {
  for (const [policy, inRange, scaledDown] of TABLE) {
    it(`${policy}: wanted refs in range and after scale-down`, () => {
      const set = newSet('web', { replicas: 3, policy });
      assert.deepEqual(claimOwnerRefsFor(claim(), set, pod(1)), inRange);
      assert.deepEqual(claimOwnerRefsFor(claim(), set, pod(5)), scaledDown);
      assert.ok(isClaimOwnerUpToDate(claim(inRange), set, pod(1)));
      assert.ok(isClaimOwnerUpToDate(claim(scaledDown), set, pod(5)));
      assert.equal(isClaimOwnerUpToDate(claim([setRef, podRef(1)]), set, pod(1)), false);
    });
  }

  it('keeps other owners first and appends its own controller ref', () => {
    const set = newSet('web', { policy: 'SetDeleteOnly' });
    assert.deepEqual(claimOwnerRefsFor(claim([configMapRef]), set, pod(1)), [configMapRef, setRef]);
  });

  it('replaces a non-controller ref to the set with a controller ref', () => {
    const set = newSet('web', { policy: 'Delete' });
    const weak = claim([{ ...setRef, controller: false }]);
    assert.equal(isClaimOwnerUpToDate(weak, set, pod(0)), false);
    assert.deepEqual(claimOwnerRefsFor(weak, set, pod(0)), [setRef]);
  });

  it('leaves claims of a previous incarnation alone', () => {
    const set = newSet('web', { policy: 'Delete' });
    const stale = claim([{ ...setRef, uid: 'old-set' }]);
    assert.ok(isClaimOwnerUpToDate(stale, set, pod(0)));
    const oldPod = claim([podRef(0, 'old-pod')]);
    assert.ok(isClaimOwnerUpToDate(oldPod, set, pod(0)));
  });

  it('does not add refs next to a foreign controller, and scrubs its own', () => {
    const set = newSet('web', { policy: 'SetDeleteOnly' });
    const foreign = { ...setRef, name: 'unknown', uid: '9d86d6ae' };
    assert.ok(hasUnexpectedController(claim([foreign]), set, pod(1)));
    assert.ok(isClaimOwnerUpToDate(claim([foreign]), set, pod(1)));
    assert.equal(isClaimOwnerUpToDate(claim([foreign, setRef]), set, pod(1)), false);
    assert.deepEqual(claimOwnerRefsFor(claim([foreign, setRef]), set, pod(1)), [foreign]);
    assert.equal(hasUnexpectedController(claim([foreign]), newSet('web'), pod(1)), false, 'Retain ignores other controllers');
  });

  it('finds claims still owned by an earlier pod of the same name (whenScaled: Delete only)', () => {
    const unborn: KubeObject = { metadata: { name: 'web-1', namespace: 'default' } };
    const old = claim([podRef(1, 'gone')]);
    assert.ok(claimIsStale(old, newSet('web', { policy: 'ScaleDownOnly' }), unborn));
    assert.equal(claimIsStale(old, newSet('web', { policy: 'SetDeleteOnly' }), unborn), false);
    assert.equal(claimIsStale(claim([setRef]), newSet('web', { policy: 'Delete' }), unborn), false);
  });
});
