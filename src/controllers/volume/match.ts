// Choosing a PersistentVolume for a claim, as upstream's binder does: pure functions over
// the cached objects, so the rules are tested without a server.
import { labelSelectorFromObject } from '../../api/selectors.js';
import type { KubeObject } from '../../api/object.js';
import { compareQuantities } from '../../api/quantity.js';
import {
  accessModesSatisfied,
  claimClass,
  isVolumeBoundToClaim,
  nodeAffinityFits,
  requestedStorage,
  volumeCapacity,
  volumeClass,
  volumeModeOf,
  type NodeView,
} from './helpers.js';

/** Why a volume the claim asked for by name cannot serve it (upstream's texts), or undefined. */
export function volumeMismatch(pv: KubeObject, claim: KubeObject): string | undefined {
  if (pv.metadata.deletionTimestamp) return `the volume is marked for deletion "${pv.metadata.name}"`;
  if (compareQuantities(volumeCapacity(pv), requestedStorage(claim)) < 0) return 'requested PV is too small';
  if (volumeClass(pv) !== claimClass(claim)) return 'storageClassName does not match';
  if (volumeModeOf(pv) !== volumeModeOf(claim)) return 'incompatible volumeMode';
  if (!accessModesSatisfied(claim, pv)) return 'incompatible accessMode';
  return undefined;
}

export interface MatchOptions {
  /** the class binds WaitForFirstConsumer */
  delayBinding: boolean;
  /** the node chosen for the claim's first consumer, when there is one */
  node?: NodeView;
}

/**
 * The best volume for a claim, or undefined. A volume pre-bound to the claim wins outright
 * (unless it cannot reach the node). Otherwise candidates are Available, in the claim's
 * class, big enough, of the same volumeMode, matching the claim's selector and reaching the
 * node; among them the fewest extra access modes, then the smallest capacity, win. With
 * delayed binding and no node yet, only pre-bound volumes count.
 */
export function findBestMatch(claim: KubeObject, volumes: readonly KubeObject[], opts: MatchOptions): KubeObject | undefined {
  const requested = requestedStorage(claim);
  const selector = claim.spec?.selector ? labelSelectorFromObject(claim.spec.selector) : undefined;
  const wantedModes: string[] = claim.spec?.accessModes ?? [];
  let best: KubeObject | undefined;
  let bestModes = Infinity;
  for (const pv of volumes) {
    if (pv.spec?.claimRef && !isVolumeBoundToClaim(pv, claim)) continue;
    if (!accessModesSatisfied(claim, pv)) continue;
    if (compareQuantities(volumeCapacity(pv), requested) < 0) continue;
    if (volumeModeOf(pv) !== volumeModeOf(claim)) continue;
    if (pv.metadata.deletionTimestamp) continue;
    const reachable = !opts.node || nodeAffinityFits(pv, opts.node);
    if (isVolumeBoundToClaim(pv, claim)) return reachable ? pv : undefined;
    if (opts.delayBinding && !opts.node) continue;
    if (pv.status?.phase !== 'Available') continue;
    if (selector && !selector.matches(pv.metadata.labels)) continue;
    if (volumeClass(pv) !== claimClass(claim)) continue;
    if (!reachable) continue;
    const modes = (pv.spec?.accessModes ?? []).length - wantedModes.length;
    if (!best || modes < bestModes || (modes === bestModes && compareQuantities(volumeCapacity(pv), volumeCapacity(best)) < 0)) {
      best = pv;
      bestModes = modes;
    }
  }
  return best;
}
