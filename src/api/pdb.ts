// PodDisruptionBudget rules shared by the eviction subresource and the disruption
// controller: which pods a budget covers and how its DisruptionAllowed condition reads.
import { findCondition, setStatusCondition, type Condition } from './conditions.js';
import type { KubeObject } from './object.js';
import { labelSelectorFromObject } from './selectors.js';

export const DISRUPTION_ALLOWED = 'DisruptionAllowed';

/** A nil selector covers nothing, {} every pod of the namespace; an invalid one covers nothing. */
export function pdbSelectsPod(pdb: KubeObject, pod: KubeObject): boolean {
  if (pdb.metadata.namespace !== pod.metadata.namespace) return false;
  try {
    return labelSelectorFromObject(pdb.spec?.selector).matches(pod.metadata.labels);
  } catch {
    return false;
  }
}

/** SufficientPods (True) while disruptions are allowed, InsufficientPods (False) otherwise. */
export function updateDisruptionAllowedCondition(status: Record<string, any>, now: Date = new Date()): void {
  const conditions: Condition[] = (status.conditions ??= []);
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  setStatusCondition(
    conditions,
    {
      type: DISRUPTION_ALLOWED,
      status: allowed ? 'True' : 'False',
      reason: allowed ? 'SufficientPods' : 'InsufficientPods',
      message: '',
      observedGeneration: status.observedGeneration,
    },
    now,
  );
}

export function disruptionConditionUpToDate(pdb: KubeObject): boolean {
  const status = pdb.status ?? {};
  const cond = findCondition(status.conditions, DISRUPTION_ALLOWED);
  if (!cond || status.observedGeneration !== pdb.metadata.generation) return false;
  return (status.disruptionsAllowed ?? 0) > 0
    ? cond.status === 'True' && cond.reason === 'SufficientPods'
    : cond.status === 'False' && cond.reason === 'InsufficientPods';
}
