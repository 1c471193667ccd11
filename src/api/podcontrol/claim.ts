// ClaimObjects (controller_ref_manager.go): an owner adopts matching orphans and releases
// objects it controls that stopped matching. Pure: answers the claimed set and the patches.
import type { KubeObject, OwnerReference } from '../object.js';
import { controllerRef } from '../object.js';

export interface ClaimPatch {
  name: string;
  patch: Record<string, unknown>;
}

export interface Claim {
  /** the objects the owner controls after the adoptions and releases */
  claimed: KubeObject[];
  adopt: ClaimPatch[];
  release: ClaimPatch[];
}

export function claimObjects(
  owner: KubeObject,
  objects: KubeObject[],
  matches: (obj: KubeObject) => boolean,
  ref: OwnerReference,
): Claim {
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  const result: Claim = { claimed: [], adopt: [], release: [] };
  for (const obj of objects) {
    const cref = controllerRef(obj);
    const name = obj.metadata.name ?? '';
    if (cref) {
      if (cref.uid !== owner.metadata.uid) continue;
      if (matches(obj)) result.claimed.push(obj);
      else if (!ownerDeleting) {
        result.release.push({
          name,
          patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: owner.metadata.uid }], uid: obj.metadata.uid } },
        });
      }
      continue;
    }
    if (ownerDeleting || obj.metadata.deletionTimestamp || !matches(obj)) continue;
    result.adopt.push({ name, patch: { metadata: { ownerReferences: [ref], uid: obj.metadata.uid } } });
    result.claimed.push({ ...obj, metadata: { ...obj.metadata, ownerReferences: [...(obj.metadata.ownerReferences ?? []), ref] } });
  }
  return result;
}
