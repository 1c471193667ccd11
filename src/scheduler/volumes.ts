// Volume binding as the scheduler sees it: a pod's claims must exist; bound volumes pin the
// pod to the nodes their node affinity allows; claims of WaitForFirstConsumer classes are
// bound (to a matching volume) or provisioned (for the chosen node) only once the pod has
// a node.
import type { KubeObject } from '../api/object.js';
import { compareQuantities } from '../api/quantity.js';
import { labelSelectorFromObject } from '../api/selectors.js';
import { storageClassOf } from '../api/kinds/support.js';
import { nodeInTopologies, nodeMatchesSelectorTerms } from './node-selectors.js';

export const SELECTED_NODE_ANNOTATION = 'volume.kubernetes.io/selected-node';
const BIND_COMPLETED_ANNOTATION = 'pv.kubernetes.io/bind-completed';
const BOUND_BY_CONTROLLER_ANNOTATION = 'pv.kubernetes.io/bound-by-controller';
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

export const VOLUME_REASONS = {
  nodeConflict: 'node(s) had volume node affinity conflict',
  bindConflict: "node(s) didn't find available persistent volumes to bind",
  pvNotExist: 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)',
};

export interface VolumeCache {
  claim(namespace: string, name: string): KubeObject | undefined;
  volume(name: string): KubeObject | undefined;
  storageClass(name: string): KubeObject | undefined;
  volumes(): KubeObject[];
}

export interface PodClaims {
  bound: KubeObject[];
  /** unbound claims of WaitForFirstConsumer classes */
  delayed: KubeObject[];
}

/** What binding the pod's volumes on one node takes. */
export interface VolumePlan {
  /** volumes to reserve for claims (PV.spec.claimRef) */
  staticBindings: Array<{ claim: KubeObject; volume: KubeObject }>;
  /** claims to provision on the node (the selected-node annotation) */
  provisions: KubeObject[];
}

/**
 * The pod's claims, or the reason it cannot be scheduled anywhere yet (a claim missing,
 * being deleted, lost, or an Immediate claim not bound).
 */
export function podClaims(pod: KubeObject, cache: VolumeCache): { claims?: PodClaims; error?: string } {
  const claims: PodClaims = { bound: [], delayed: [] };
  let unboundImmediate = false;
  const ns = pod.metadata.namespace!;
  for (const vol of Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []) {
    let name: string;
    let ephemeral = false;
    if (vol?.persistentVolumeClaim?.claimName) name = vol.persistentVolumeClaim.claimName;
    else if (vol?.ephemeral) {
      name = `${pod.metadata.name}-${vol.name}`;
      ephemeral = true;
    } else continue;
    const claim = cache.claim(ns, name);
    if (!claim) {
      return {
        error: ephemeral
          ? `waiting for ephemeral volume controller to create the persistentvolumeclaim ${JSON.stringify(name)}`
          : `persistentvolumeclaim ${JSON.stringify(name)} not found`,
      };
    }
    if (claim.status?.phase === 'Lost') {
      return { error: `persistentvolumeclaim ${JSON.stringify(name)} bound to non-existent persistentvolume ${JSON.stringify(claim.spec?.volumeName ?? '')}` };
    }
    if (claim.metadata.deletionTimestamp) return { error: `persistentvolumeclaim ${JSON.stringify(name)} is being deleted` };
    if (isClaimBound(claim)) claims.bound.push(claim);
    else if (!claim.spec?.volumeName && isDelayedBinding(claim, cache)) claims.delayed.push(claim);
    else unboundImmediate = true;
  }
  if (unboundImmediate) return { error: 'pod has unbound immediate PersistentVolumeClaims' };
  return { claims };
}

/** The namespace/name keys of the claims a pod's volumes use (its generic ephemeral ones included). */
export function podClaimKeys(pod: KubeObject): string[] {
  const keys: string[] = [];
  for (const vol of Array.isArray(pod.spec?.volumes) ? pod.spec.volumes : []) {
    if (vol?.persistentVolumeClaim?.claimName) keys.push(`${pod.metadata.namespace}/${vol.persistentVolumeClaim.claimName}`);
    else if (vol?.ephemeral) keys.push(`${pod.metadata.namespace}/${pod.metadata.name}-${vol.name}`);
  }
  return keys;
}

export function isClaimBound(claim: KubeObject): boolean {
  return !!claim.spec?.volumeName && (claim.status?.phase === 'Bound' || !!claim.metadata.annotations?.[BIND_COMPLETED_ANNOTATION]);
}

function isDelayedBinding(claim: KubeObject, cache: VolumeCache): boolean {
  const className = storageClassOf(claim);
  return !!className && cache.storageClass(className)?.volumeBindingMode === 'WaitForFirstConsumer';
}

/** Whether the pod's volumes can be had on this node: the failure reasons, or how. */
export function planVolumes(claims: PodClaims, node: KubeObject, cache: VolumeCache): { reasons: string[]; plan?: VolumePlan } {
  let nodeConflict = false;
  let pvMissing = false;
  for (const claim of claims.bound) {
    const pv = cache.volume(claim.spec.volumeName);
    if (!pv) pvMissing = true;
    else if (!volumeFitsNode(pv, node)) nodeConflict = true;
  }
  const plan: VolumePlan = { staticBindings: [], provisions: [] };
  let unboundOk = true;
  const taken = new Set<string>();
  for (const claim of claims.delayed) {
    const volume = matchingVolume(claim, node, cache, taken);
    if (volume) {
      taken.add(volume.metadata.name!);
      plan.staticBindings.push({ claim, volume });
      continue;
    }
    const cls = cache.storageClass(storageClassOf(claim));
    if (!cls?.provisioner || cls.provisioner === NO_PROVISIONER || !nodeInTopologies(node, cls.allowedTopologies)) unboundOk = false;
    else plan.provisions.push(claim);
  }
  const reasons: string[] = [];
  if (nodeConflict) reasons.push(VOLUME_REASONS.nodeConflict);
  if (!unboundOk) reasons.push(VOLUME_REASONS.bindConflict);
  if (pvMissing) reasons.push(VOLUME_REASONS.pvNotExist);
  return reasons.length ? { reasons } : { reasons, plan };
}

function volumeFitsNode(pv: KubeObject, node: KubeObject): boolean {
  const required = pv.spec?.nodeAffinity?.required;
  return !required || nodeMatchesSelectorTerms(node, required.nodeSelectorTerms);
}

function boundToClaim(pv: KubeObject, claim: KubeObject): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref || ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

/** The smallest Available volume that satisfies the claim on this node (or one already reserved for it). */
function matchingVolume(claim: KubeObject, node: KubeObject, cache: VolumeCache, taken: Set<string>): KubeObject | undefined {
  const requested = claim.spec?.resources?.requests?.storage ?? 0;
  const className = storageClassOf(claim);
  const wantModes: string[] = claim.spec?.accessModes ?? [];
  let selector;
  try {
    selector = claim.spec?.selector ? labelSelectorFromObject(claim.spec.selector) : undefined;
  } catch {
    return undefined;
  }
  let best: KubeObject | undefined;
  for (const pv of cache.volumes()) {
    if (taken.has(pv.metadata.name!) || pv.metadata.deletionTimestamp) continue;
    if (pv.spec?.claimRef && !boundToClaim(pv, claim)) continue;
    const capacity = pv.spec?.capacity?.storage ?? 0;
    if (compareQuantities(capacity, requested) < 0) continue;
    if ((pv.spec?.volumeMode ?? 'Filesystem') !== (claim.spec?.volumeMode ?? 'Filesystem')) continue;
    const fits = volumeFitsNode(pv, node);
    if (boundToClaim(pv, claim)) return fits ? pv : undefined;
    if (pv.status?.phase !== 'Available') continue;
    if (selector && !selector.matches(pv.metadata.labels)) continue;
    if (storageClassOf(pv) !== className || !fits) continue;
    const modes: string[] = pv.spec?.accessModes ?? [];
    if (!wantModes.every((m) => modes.includes(m))) continue;
    if (!best || compareQuantities(best.spec.capacity.storage, capacity) > 0) best = pv;
  }
  return best;
}

/** The volume with its claimRef set to the claim, as the scheduler reserves it. */
export function reservedVolume(volume: KubeObject, claim: KubeObject): KubeObject {
  const pv = structuredClone(volume);
  pv.spec.claimRef = {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: claim.metadata.namespace,
    name: claim.metadata.name,
    uid: claim.metadata.uid,
    resourceVersion: claim.metadata.resourceVersion,
  };
  pv.metadata.annotations = { ...(pv.metadata.annotations ?? {}), [BOUND_BY_CONTROLLER_ANNOTATION]: 'yes' };
  return pv;
}

/**
 * Progress of the pod's claims after PreBind: done when every claim is bound to a volume
 * that names it; an error when a claim went away or its provisioning was given up.
 */
export function bindingProgress(plan: VolumePlan, cache: VolumeCache): { done: boolean; error?: string } {
  const claims = [...plan.staticBindings.map((b) => b.claim), ...plan.provisions];
  for (const c of claims) {
    const claim = cache.claim(c.metadata.namespace!, c.metadata.name!);
    if (!claim || claim.metadata.uid !== c.metadata.uid) return { done: false, error: `persistentvolumeclaim ${JSON.stringify(c.metadata.name)} not found` };
    if (isClaimBound(claim)) {
      const pv = cache.volume(claim.spec.volumeName);
      if (!pv || !boundToClaim(pv, claim)) return { done: false };
      continue;
    }
    if (plan.provisions.includes(c) && !claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION]) {
      return { done: false, error: `provisioning failed for PVC ${JSON.stringify(claim.metadata.name)}` };
    }
    return { done: false };
  }
  return { done: true };
}
