// The ReplicaSet (and ReplicationController) decisions, pure: how many pods to create, which
// to delete, and the status to report (replica_set.go manageReplicas / calculateStatus).
import type { KubeObject } from '../../api/object.js';
import { timestamp } from '../../api/object.js';
import type { LabelSelector } from '../../api/selectors.js';
import { labelSelectorFromSet } from '../../api/selectors.js';
import { isPodActive, isPodAvailable, isPodReady, podsToDelete, secondsUntilAvailable } from '../../api/podcontrol/pods.js';

/** --replicaset-burst / BurstReplicas: the most pods created or deleted in one pass. */
export const BURST_REPLICAS = 500;

export interface ReplicaDecisionInput {
  owner: KubeObject;
  /** the pods the owner controls after claiming (any state) */
  pods: KubeObject[];
  now: number;
  /** the informer has seen the effects of the previous pass (ControllerExpectations) */
  expectationsSatisfied: boolean;
  /** the error of this pass's pod creations, if any, for the ReplicaFailure condition */
  createError?: string;
  deleteError?: string;
}

export interface ReplicaPlan {
  create: number;
  /** pods to delete, in order */
  delete: KubeObject[];
}

/** manageReplicas: the difference between active pods and spec.replicas. */
export function manageReplicas(input: Pick<ReplicaDecisionInput, 'owner' | 'pods' | 'expectationsSatisfied'>): ReplicaPlan {
  const none: ReplicaPlan = { create: 0, delete: [] };
  if (!input.expectationsSatisfied || input.owner.metadata.deletionTimestamp) return none;
  const active = input.pods.filter(isPodActive);
  const want: number = input.owner.spec?.replicas ?? 1;
  const diff = active.length - want;
  if (diff < 0) return { create: Math.min(-diff, BURST_REPLICAS), delete: [] };
  if (diff > 0) return { create: 0, delete: podsToDelete(active, active, Math.min(diff, BURST_REPLICAS)) };
  return none;
}

export interface ReplicaCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** calculateStatus; the ReplicaFailure condition tracks failed pod creations and deletions. */
export function calculateStatus(input: ReplicaDecisionInput, templateLabels: Record<string, string> | undefined): Record<string, any> {
  const { owner, now } = input;
  const minReadySeconds: number = owner.spec?.minReadySeconds ?? 0;
  const active = input.pods.filter(isPodActive);
  const labelled: LabelSelector = labelSelectorFromSet(templateLabels ?? {});
  const status: Record<string, any> = {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => labelled.matches(p.metadata.labels)).length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReadySeconds, now)).length,
    observedGeneration: owner.metadata.generation ?? 0,
  };
  const conditions: ReplicaCondition[] = ((owner.status?.conditions as ReplicaCondition[] | undefined) ?? []).map((c) => ({ ...c }));
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  const error = input.createError ?? input.deleteError;
  if (error) {
    const reason = input.createError ? 'FailedCreate' : 'FailedDelete';
    if (failure) Object.assign(failure, { status: 'True', reason, message: error });
    else conditions.push({ type: 'ReplicaFailure', status: 'True', lastTransitionTime: timestamp(new Date(now)), reason, message: error });
  }
  const kept = error ? conditions : conditions.filter((c) => c.type !== 'ReplicaFailure');
  if (kept.length) status.conditions = kept;
  // upstream omits zero counters (omitempty), except replicas
  for (const key of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas']) if (!status[key]) delete status[key];
  return status;
}

/** When availability can change by the clock alone: the soonest ready pod reaching minReadySeconds. */
export function requeueAfterSeconds(owner: KubeObject, pods: KubeObject[], now: number): number | undefined {
  const minReadySeconds: number = owner.spec?.minReadySeconds ?? 0;
  let soonest: number | undefined;
  for (const p of pods.filter(isPodActive)) {
    const s = secondsUntilAvailable(p, minReadySeconds, now);
    if (s !== undefined && (soonest === undefined || s < soonest)) soonest = s;
  }
  return soonest;
}

/** Only the status fields this controller owns are compared, so unrelated writes do not loop. */
export function statusChanged(old: Record<string, any> | undefined, next: Record<string, any>): boolean {
  const keys = ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration', 'conditions'];
  return keys.some((k) => JSON.stringify(old?.[k] ?? null) !== JSON.stringify(next[k] ?? null));
}
