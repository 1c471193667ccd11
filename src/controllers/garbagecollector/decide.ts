// What the garbage collector does with a dependent once its owners have been looked up
// live: keep it, strip the references that no longer hold, or delete it. Pure.
import type { OwnerReference } from '../../api/object.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from './graph.js';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface ClassifiedOwners {
  /** exist and are not waiting for their dependents */
  solid: OwnerReference[];
  /** gone: NotFound, or another uid under the referenced name */
  dangling: OwnerReference[];
  /** exist but are in foreground deletion, waiting for their dependents */
  waiting: OwnerReference[];
}

export interface DependentFacts {
  finalizers: string[];
  /** the dependent owns objects itself */
  hasDependents: boolean;
  /** one of those is itself in foreground deletion */
  hasDependentDeletingDependents: boolean;
}

export type DependentAction =
  | { type: 'none' }
  | { type: 'removeReferences'; uids: string[] }
  /** unblockFirst: clear blockOwnerDeletion on its references first, so that two foreground deletions cannot wait on each other */
  | { type: 'delete'; propagationPolicy: PropagationPolicy; unblockFirst: boolean };

export function decideDependent(owners: ClassifiedOwners, dependent: DependentFacts): DependentAction {
  if (owners.solid.length) {
    const stale = [...owners.dangling, ...owners.waiting];
    return stale.length ? { type: 'removeReferences', uids: stale.map((r) => r.uid) } : { type: 'none' };
  }
  if (owners.waiting.length && dependent.hasDependents) {
    return { type: 'delete', propagationPolicy: 'Foreground', unblockFirst: dependent.hasDependentDeletingDependents };
  }
  // no owner is left or waiting on it: a policy the dependent already carries is honoured
  const propagationPolicy = dependent.finalizers.includes(ORPHAN_FINALIZER)
    ? 'Orphan'
    : dependent.finalizers.includes(FOREGROUND_FINALIZER)
      ? 'Foreground'
      : 'Background';
  return { type: 'delete', propagationPolicy, unblockFirst: false };
}
