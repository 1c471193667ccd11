// Reading and changing pod status conditions the way every control-plane part does
// (podutil.UpdatePodCondition and friends), so writers agree on transition times.
import { timestamp, type KubeObject } from './object.js';

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export function podConditions(pod: KubeObject): PodCondition[] {
  return Array.isArray(pod.status?.conditions) ? pod.status.conditions : [];
}

export function podCondition(pod: KubeObject, type: string): PodCondition | undefined {
  return podConditions(pod).find((c) => c?.type === type);
}

export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

export function isPodTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * Sets a condition on a status object (mutating it). The transition time moves only when the
 * status changes. Answers whether anything changed.
 */
export function updatePodCondition(status: Record<string, any>, condition: PodCondition, now: Date = new Date()): boolean {
  const next: PodCondition = { ...condition, lastTransitionTime: timestamp(now) };
  const conditions: PodCondition[] = (status.conditions ??= []);
  const i = conditions.findIndex((c) => c?.type === condition.type);
  if (i < 0) {
    conditions.push(next);
    return true;
  }
  const old = conditions[i];
  if (old.status === next.status) next.lastTransitionTime = old.lastTransitionTime;
  const same =
    old.status === next.status &&
    (old.reason ?? '') === (next.reason ?? '') &&
    (old.message ?? '') === (next.message ?? '') &&
    (old.lastProbeTime ?? null) === (next.lastProbeTime ?? null) &&
    old.lastTransitionTime === next.lastTransitionTime;
  conditions[i] = next;
  return !same;
}
