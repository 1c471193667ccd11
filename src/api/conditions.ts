// metav1.Condition lists (the newer, typed conditions in status.conditions of PDBs and
// others), kept the way apimeta.SetStatusCondition keeps them.
import { timestamp } from './object.js';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Adds or updates a condition in place; lastTransitionTime moves only when the status changes. */
export function setStatusCondition(conditions: Condition[], next: Condition, now: Date = new Date()): void {
  const existing = conditions.find((c) => c.type === next.type);
  if (!existing) {
    conditions.push({ ...next, lastTransitionTime: next.lastTransitionTime ?? timestamp(now) });
    return;
  }
  if (existing.status !== next.status) {
    existing.status = next.status;
    existing.lastTransitionTime = next.lastTransitionTime ?? timestamp(now);
  }
  existing.reason = next.reason;
  existing.message = next.message;
  if (next.observedGeneration === undefined) delete existing.observedGeneration;
  else existing.observedGeneration = next.observedGeneration;
}
