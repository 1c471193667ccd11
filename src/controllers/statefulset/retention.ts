// persistentVolumeClaimRetentionPolicy: which ownerReferences a pod's PVCs should carry so that
// the garbage collector removes them when the set (whenDeleted) or the scaled-down pod
// (whenScaled) goes away. The controller itself never deletes a PVC.
import type { KubeObject, OwnerReference } from '../../api/object.js';
import { controllerRefTo, inOrdinalRange, SET_API_VERSION, SET_KIND } from './identity.js';

export type RetentionType = 'Retain' | 'Delete';

export interface RetentionPolicy {
  whenDeleted: RetentionType;
  whenScaled: RetentionType;
}

export function retentionPolicy(set: KubeObject): RetentionPolicy {
  const p = set.spec?.persistentVolumeClaimRetentionPolicy;
  return {
    whenDeleted: p?.whenDeleted === 'Delete' ? 'Delete' : 'Retain',
    whenScaled: p?.whenScaled === 'Delete' ? 'Delete' : 'Retain',
  };
}

function isRetainRetain(p: RetentionPolicy): boolean {
  return p.whenDeleted === 'Retain' && p.whenScaled === 'Retain';
}

function refsOf(obj: KubeObject): OwnerReference[] {
  return obj.metadata.ownerReferences ?? [];
}

function namesSet(ref: OwnerReference, set: KubeObject): boolean {
  return ref.apiVersion === SET_API_VERSION && ref.kind === SET_KIND && ref.name === set.metadata.name;
}

function namesPod(ref: OwnerReference, pod: KubeObject): boolean {
  return ref.apiVersion === 'v1' && ref.kind === 'Pod' && ref.name === pod.metadata.name;
}

/** A ref by name to a previous incarnation of the owner (the first name match decides). */
function hasStaleRef(claim: KubeObject, matches: (r: OwnerReference) => boolean, uid: string | undefined): boolean {
  const ref = refsOf(claim).find(matches);
  return !!ref && ref.uid !== (uid ?? '');
}

function hasRefByUid(claim: KubeObject, uid: string | undefined): boolean {
  return !!uid && refsOf(claim).some((r) => r.uid === uid);
}

function hasNonControllerRef(claim: KubeObject, uids: Array<string | undefined>): boolean {
  return uids.some((uid) => !!uid && refsOf(claim).some((r) => r.uid === uid && r.controller !== true));
}

/**
 * Under a non-Retain policy, a claim controlled by something other than this set or this pod
 * (including an older incarnation of either) is left to its controller.
 */
export function hasUnexpectedController(claim: KubeObject, set: KubeObject, pod: KubeObject): boolean {
  if (isRetainRetain(retentionPolicy(set))) return false;
  for (const ref of refsOf(claim)) {
    if (namesSet(ref, set)) {
      if (ref.uid !== set.metadata.uid) return true;
      continue;
    }
    if (namesPod(ref, pod)) {
      if (ref.uid !== (pod.metadata.uid ?? '')) return true;
      continue;
    }
    if (ref.controller === true) return true;
  }
  return false;
}

/** Which controller refs the policy asks for on this pod's claims. */
function wantedOwners(set: KubeObject, pod: KubeObject): { set: boolean; pod: boolean } {
  const p = retentionPolicy(set);
  const scaledDown = !inOrdinalRange(set, pod);
  return {
    set: p.whenDeleted === 'Delete' && !(p.whenScaled === 'Delete' && scaledDown),
    pod: p.whenScaled === 'Delete' && scaledDown,
  };
}

export function isClaimOwnerUpToDate(claim: KubeObject, set: KubeObject, pod: KubeObject): boolean {
  const setStale = hasStaleRef(claim, (r) => namesSet(r, set), set.metadata.uid);
  const podStale = hasStaleRef(claim, (r) => namesPod(r, pod), pod.metadata.uid);
  // A previous incarnation's claim is the garbage collector's business, not ours.
  if (setStale || podStale) return true;
  const hasSet = hasRefByUid(claim, set.metadata.uid);
  const hasPod = hasRefByUid(claim, pod.metadata.uid);
  if (hasUnexpectedController(claim, set, pod)) return !hasSet && !hasPod;
  if (hasNonControllerRef(claim, [set.metadata.uid, pod.metadata.uid])) return false;
  const want = wantedOwners(set, pod);
  return want.set === hasSet && want.pod === hasPod;
}

/**
 * The claim's ownerReferences after applying the policy: this set's and pod's refs are
 * scrubbed, then the wanted controller refs are appended after everyone else's.
 */
export function claimOwnerRefsFor(claim: KubeObject, set: KubeObject, pod: KubeObject): OwnerReference[] {
  const refs = refsOf(claim).filter((r) => !namesSet(r, set) && !namesPod(r, pod));
  if (hasUnexpectedController(claim, set, pod)) return refs;
  const want = wantedOwners(set, pod);
  if (want.pod) refs.push(controllerRefTo(pod, 'v1', 'Pod'));
  if (want.set) refs.push(controllerRefTo(set, SET_API_VERSION, SET_KIND));
  return refs;
}

/**
 * With whenScaled: Delete, a claim still owned by an earlier pod of the same name is about to
 * be garbage-collected; a new pod must wait rather than bind to it.
 */
export function claimIsStale(claim: KubeObject, set: KubeObject, pod: KubeObject): boolean {
  if (retentionPolicy(set).whenScaled === 'Retain') return false;
  return hasStaleRef(claim, (r) => namesPod(r, pod), pod.metadata.uid);
}
