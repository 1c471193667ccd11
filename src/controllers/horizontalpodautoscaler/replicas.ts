// The replica calculator: how many replicas a resource metric asks for, from the pods' usage
// and requests, as upstream's (pkg/controller/podautoscaler/replica_calculator.go) decides it:
// a tolerance around the target, pods without metrics counted as at target (or idle) so they
// never cause the scale they would argue against, unready pods counted as idle when scaling
// up, pods starting or failing ignored. Pure: pods, metrics and the clock come in.
import type { KubeObject } from '../../api/object.js';
import { quantityMilliValue, tryParseQuantity } from '../../api/quantity.js';

/** Upstream's --horizontal-pod-autoscaler-cpu-initialization-period. */
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
/** Upstream's --horizontal-pod-autoscaler-initial-readiness-delay. */
export const DELAY_OF_INITIAL_READINESS_STATUS_MS = 30_000;
/** Upstream's --horizontal-pod-autoscaler-tolerance. */
export const DEFAULT_TOLERANCE = 0.1;

/** One pod's reading, in milli-units (millicores, or bytes × 1000). */
export interface PodMetric {
  timestamp: number;
  windowMs: number;
  value: number;
}

export type PodMetrics = Map<string, PodMetric>;

export interface Tolerances {
  /** applies when the ratio is above 1 */
  up: number;
  /** applies when the ratio is below 1 */
  down: number;
}

export interface ReplicaResult {
  replicas: number;
  /** the average utilization of the requests, percent (Utilization targets) */
  utilization?: number;
  /** the average usage per pod, milli-units */
  rawAverage: number;
  timestamp: number;
}

export class MetricError extends Error {}

function withinTolerance(ratio: number, tol: Tolerances): boolean {
  if (ratio === 1) return true;
  return ratio > 1 ? ratio - 1 <= tol.up : 1 - ratio <= tol.down;
}

function readyCondition(pod: KubeObject): { status: string; lastTransitionTime?: string } | undefined {
  return (pod.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
}

/** groupPods: which pods count, which are unready (cpu), which lack metrics, which are ignored. */
export function groupPods(pods: KubeObject[], metrics: PodMetrics, resource: string, now: number) {
  let readyPodCount = 0;
  const unready = new Set<string>();
  const missing = new Set<string>();
  const ignored = new Set<string>();
  for (const pod of pods) {
    const name = pod.metadata.name!;
    if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Failed' || pod.status?.phase === 'Pending' || !pod.status?.phase) {
      ignored.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const cond = readyCondition(pod);
      const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : undefined;
      let isUnready: boolean;
      if (!cond || start === undefined) isUnready = true;
      else {
        const transition = cond.lastTransitionTime ? Date.parse(cond.lastTransitionTime) : 0;
        if (start + CPU_INITIALIZATION_PERIOD_MS > now) {
          // still starting: a sample counts once a whole window of it follows the last readiness change
          isUnready = cond.status === 'False' || metric.timestamp < transition + metric.windowMs;
        } else {
          // past start-up: ignored only if unready and never ready since shortly after start
          isUnready = cond.status === 'False' && start + DELAY_OF_INITIAL_READINESS_STATUS_MS > transition;
        }
      }
      if (isUnready) {
        unready.add(name);
        continue;
      }
    }
    readyPodCount++;
  }
  return { readyPodCount, unready, missing, ignored };
}

/** The pods' requests of the resource (milli-units), summed over their containers (or the one container named). */
export function podRequests(pods: KubeObject[], resource: string, container?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let total = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const q = tryParseQuantity(c.resources?.requests?.[resource]);
      if (!q) throw new MetricError(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`);
      total += quantityMilliValue(q);
    }
    out.set(pod.metadata.name!, total);
  }
  return out;
}

/** GetResourceUtilizationRatio: usage over requests of the pods with both, against the target percentage. */
export function utilizationRatio(metrics: PodMetrics, requests: Map<string, number>, target: number) {
  let metricsTotal = 0;
  let requestsTotal = 0;
  let n = 0;
  for (const [name, m] of metrics) {
    const r = requests.get(name);
    if (r === undefined) continue;
    metricsTotal += m.value;
    requestsTotal += r;
    n++;
  }
  if (requestsTotal === 0) throw new MetricError('no metrics returned matched known pods');
  const utilization = Math.trunc((metricsTotal * 100) / requestsTotal);
  return { ratio: utilization / target, utilization, rawAverage: Math.trunc(metricsTotal / n) };
}

/** GetMetricUsageRatio: the average per pod against a target average (milli-units). */
function usageRatio(metrics: PodMetrics, targetAverage: number) {
  let total = 0;
  for (const m of metrics.values()) total += m.value;
  const rawAverage = Math.trunc(total / metrics.size);
  return { ratio: rawAverage / targetAverage, utilization: undefined, rawAverage };
}

export interface ResourceTarget {
  resource: string;
  container?: string;
  /** percent of the requests */
  utilization?: number;
  /** milli-units per pod */
  averageValue?: number;
}

/** GetResourceReplicas / GetRawResourceReplicas. Throws MetricError with upstream's texts. */
export function resourceReplicas(currentReplicas: number, target: ResourceTarget, pods: KubeObject[], allMetrics: PodMetrics, tol: Tolerances, now: number): ReplicaResult {
  if (!pods.length) throw new MetricError('no pods returned by selector while calculating replica count');
  const metrics: PodMetrics = new Map(allMetrics);
  const timestamp = Math.max(0, ...[...metrics.values()].map((m) => m.timestamp));
  const { readyPodCount, unready, missing, ignored } = groupPods(pods, metrics, target.resource, now);
  for (const n of [...ignored, ...unready]) metrics.delete(n);
  // only pods that exist count (metrics may name pods gone since)
  const known = new Set(pods.map((p) => p.metadata.name!));
  for (const n of [...metrics.keys()]) if (!known.has(n)) metrics.delete(n);
  if (!metrics.size) throw new MetricError('did not receive metrics for targeted pods (pods might be unready)');

  const requests = target.utilization !== undefined ? podRequests(pods, target.resource, target.container) : undefined;
  const ratioOf = (m: PodMetrics) => (requests ? utilizationRatio(m, requests, target.utilization!) : usageRatio(m, target.averageValue!));
  const first = ratioOf(metrics);
  const scaleUpWithUnready = unready.size > 0 && first.ratio > 1;
  const result = (replicas: number): ReplicaResult => ({ replicas, utilization: first.utilization, rawAverage: first.rawAverage, timestamp });

  if (!scaleUpWithUnready && !missing.size) {
    if (withinTolerance(first.ratio, tol)) return result(currentReplicas);
    // the ready pods' count, as upstream: pods that have no say do not scale the result
    return result(Math.ceil(first.ratio * readyPodCount));
  }
  // pods without metrics: fully used (100% of their requests, or the target if higher) when
  // scaling down, idle when scaling up, so they can only dampen the change
  const fallback = Math.max(100, target.utilization ?? 0);
  for (const n of missing) {
    if (first.ratio < 1) metrics.set(n, { timestamp, windowMs: 0, value: requests ? (requests.get(n)! * fallback) / 100 : target.averageValue! });
    else if (first.ratio > 1) metrics.set(n, { timestamp, windowMs: 0, value: 0 });
  }
  if (scaleUpWithUnready) for (const n of unready) metrics.set(n, { timestamp, windowMs: 0, value: 0 });
  const second = ratioOf(metrics);
  if (withinTolerance(second.ratio, tol) || (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)) return result(currentReplicas);
  const replicas = Math.ceil(second.ratio * metrics.size);
  if ((second.ratio < 1 && replicas > currentReplicas) || (second.ratio > 1 && replicas < currentReplicas)) return result(currentReplicas);
  return result(replicas);
}
