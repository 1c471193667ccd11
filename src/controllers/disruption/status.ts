// The disruption controller's arithmetic, pure: how many pods a budget expects and wants
// healthy, which recent evictions still count as pending, and the status that follows.
import type { KubeObject } from '../../api/object.js';
import { isPodReady } from '../../api/pod-status.js';
import { updateDisruptionAllowedCondition } from '../../api/pdb.js';

/** An approved eviction whose pod is still there after this long no longer counts (DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** intstr.GetScaledValueFromIntOrPercent with rounding up. */
export function scaledValue(value: number | string, total: number): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(value)}`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** Whether expectedPods comes from the controllers' scale (a percentage, or maxUnavailable) rather than the pods found. */
export function needsControllerScale(pdb: KubeObject): boolean {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) return true;
  return typeof spec.minAvailable === 'string';
}

/** expectedPods and desiredHealthy; scale is the controllers' replica total (only read when needed). */
export function expectedAndDesired(pdb: KubeObject, podCount: number, scale: number): { expected: number; desired: number } {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    return { expected: scale, desired: Math.max(0, scale - scaledValue(spec.maxUnavailable, scale)) };
  }
  if (typeof spec.minAvailable === 'number') return { expected: podCount, desired: spec.minAvailable };
  if (typeof spec.minAvailable === 'string') return { expected: scale, desired: scaledValue(spec.minAvailable, scale) };
  return { expected: 0, desired: 0 };
}

/**
 * The evictions still expected to happen (approved less than DeletionTimeout ago, pod not
 * yet going), the pods whose eviction never happened, and when the oldest pending one expires.
 */
export function pendingDisruptions(
  pdb: KubeObject,
  pods: KubeObject[],
  now: number,
): { pending: Record<string, string>; overdue: KubeObject[]; recheckAt?: number } {
  const recorded: Record<string, string> = pdb.status?.disruptedPods ?? {};
  const pending: Record<string, string> = {};
  const overdue: KubeObject[] = [];
  let recheckAt: number | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const at = recorded[pod.metadata.name!];
    if (at === undefined) continue;
    const expires = Date.parse(at) + DELETION_TIMEOUT_MS;
    if (expires < now) overdue.push(pod);
    else {
      pending[pod.metadata.name!] = at;
      recheckAt = Math.min(recheckAt ?? Infinity, expires);
    }
  }
  return { pending, overdue, recheckAt };
}

/** Ready pods that are neither going nor about to be evicted. */
export function countHealthy(pods: KubeObject[], pending: Record<string, string>, now: number): number {
  return pods.filter((p) => {
    if (p.metadata.deletionTimestamp) return false;
    const at = pending[p.metadata.name!];
    if (at !== undefined && Date.parse(at) + DELETION_TIMEOUT_MS > now) return false;
    return isPodReady(p);
  }).length;
}

/** The new status, or undefined when the current one already says all this. */
export function nextStatus(
  pdb: KubeObject,
  counts: { currentHealthy: number; desiredHealthy: number; expectedPods: number },
  pending: Record<string, string>,
  now: Date,
): Record<string, any> | undefined {
  const { currentHealthy, desiredHealthy, expectedPods } = counts;
  const allowed = expectedPods <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
  const status = pdb.status ?? {};
  const generation = pdb.metadata.generation ?? 0;
  const next: Record<string, any> = {
    observedGeneration: generation,
    disruptionsAllowed: allowed,
    currentHealthy,
    desiredHealthy,
    expectedPods,
    conditions: structuredClone(status.conditions ?? []),
  };
  if (Object.keys(pending).length) next.disruptedPods = pending;
  updateDisruptionAllowedCondition(next, now);
  const same =
    status.currentHealthy === currentHealthy &&
    status.desiredHealthy === desiredHealthy &&
    status.expectedPods === expectedPods &&
    status.disruptionsAllowed === allowed &&
    JSON.stringify(status.disruptedPods ?? {}) === JSON.stringify(pending) &&
    status.observedGeneration === generation &&
    JSON.stringify(status.conditions ?? []) === JSON.stringify(next.conditions);
  return same ? undefined : next;
}
