// The HorizontalPodAutoscaler's decision, as upstream's horizontal.go makes it: replicas each
// metric asks for (the largest wins), then the behaviour — stabilization windows over recent
// recommendations and rate policies over recent scale events — then min/max; with the
// conditions (AbleToScale, ScalingActive, ScalingLimited) and events upstream writes, in its
// words. Pure: the scale, pods, metrics, remembered history and the clock come in; what to
// write and what to remember go out.
import type { KubeObject } from '../../api/object.js';
import { quantityMilliValue, tryParseQuantity } from '../../api/quantity.js';
import { DEFAULT_TOLERANCE, MetricError, resourceReplicas, type PodMetrics, type Tolerances } from './replicas.js';

type Obj = Record<string, any>;

/** Upstream's --horizontal-pod-autoscaler-downscale-stabilization (HPAs without behavior). */
export const DOWNSCALE_STABILIZATION_MS = 5 * 60_000;
/** Upstream's defaults for the rules of each direction (GenerateHPAScaleUpRules / ScaleDownRules). */
export const DEFAULT_SCALE_UP: Obj = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
export const DEFAULT_SCALE_DOWN: Obj = { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

export interface Recommendation {
  replicas: number;
  at: number;
}

export interface ScaleEvent {
  change: number;
  at: number;
}

/** What the controller remembers of an autoscaler between syncs (upstream keeps it in memory too). */
export interface History {
  recommendations: Recommendation[];
  scaleUpEvents: ScaleEvent[];
  scaleDownEvents: ScaleEvent[];
}

export const emptyHistory = (): History => ({ recommendations: [], scaleUpEvents: [], scaleDownEvents: [] });

export interface Condition {
  type: 'AbleToScale' | 'ScalingActive' | 'ScalingLimited';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface HpaEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface DecideInput {
  hpa: KubeObject;
  /** the target's scale, or why it could not be read */
  scale: { replicas: number; selector: string } | { error: string };
  /** pods the scale's selector picks */
  pods: KubeObject[];
  /** metrics.k8s.io PodMetrics of those pods, or why they could not be read */
  podMetrics: KubeObject[] | { error: string };
  history: History;
  now: number;
}

export interface Decision {
  /** set spec.replicas of the scale to this (undefined: leave it) */
  rescaleTo?: number;
  rescaleReason?: string;
  currentReplicas: number;
  desiredReplicas: number;
  currentMetrics: Obj[] | null;
  conditions: Condition[];
  events: HpaEvent[];
  history: History;
}

const cond = (type: Condition['type'], status: Condition['status'], reason: string, message: string): Condition => ({ type, status, reason, message });

function milli(v: unknown): number | undefined {
  const q = tryParseQuantity(v);
  return q ? quantityMilliValue(q) : undefined;
}

/** Milli-units as the quantity upstream writes: "250m" below a whole unit's precision, whole units otherwise. */
export function milliQuantity(m: number): string {
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

function parseDurationMs(text: unknown): number {
  const m = /^([0-9.]+)s$/.exec(String(text ?? ''));
  return m ? Number(m[1]) * 1000 : 0;
}

/** One resource's readings from PodMetrics (every container, or one), in milli-units. */
export function metricsFor(podMetrics: KubeObject[], resource: string, container?: string): PodMetrics {
  const out: PodMetrics = new Map();
  for (const pm of podMetrics) {
    let value = 0;
    let found = false;
    for (const c of pm.containers ?? []) {
      if (container && c.name !== container) continue;
      const v = milli(c.usage?.[resource]);
      if (v === undefined) continue;
      value += v;
      found = true;
    }
    if (found) out.set(pm.metadata.name!, { timestamp: Date.parse(pm.timestamp), windowMs: parseDurationMs(pm.window), value });
  }
  return out;
}

function tolerances(hpa: KubeObject): Tolerances {
  const t = (rules: Obj | undefined) => {
    const q = tryParseQuantity(rules?.tolerance);
    return q ? quantityMilliValue(q) / 1000 : DEFAULT_TOLERANCE;
  };
  return { up: t(hpa.spec?.behavior?.scaleUp), down: t(hpa.spec?.behavior?.scaleDown) };
}

interface MetricOutcome {
  replicas: number;
  status?: Obj;
  /** how the ScalingActive condition names the source */
  description?: string;
  error?: { reason: string; message: string };
}

/** computeReplicasForMetric for one spec. */
function replicasForMetric(spec: Obj, currentReplicas: number, input: DecideInput, tol: Tolerances): MetricOutcome {
  switch (spec.type) {
    case 'Resource':
    case 'ContainerResource': {
      const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
      const src: Obj = spec[key] ?? {};
      const name = String(src.name);
      const failReason = spec.type === 'Resource' ? 'FailedGetResourceMetric' : 'FailedGetContainerResourceMetric';
      const t: Obj = src.target ?? {};
      const utilization = t.averageUtilization;
      const averageValue = milli(t.averageValue);
      if (utilization === undefined && averageValue === undefined) {
        return { replicas: 0, error: { reason: failReason, message: `invalid resource metric source: neither a utilization target nor a value target was set` } };
      }
      try {
        if ('error' in input.podMetrics) throw new MetricError(`unable to get metrics for resource ${name}: ${input.podMetrics.error}`);
        const metrics = metricsFor(input.podMetrics, name, src.container);
        if (!metrics.size) throw new MetricError(`unable to get metrics for resource ${name}: no metrics returned from resource metrics API`);
        const r = resourceReplicas(currentReplicas, { resource: name, container: src.container, utilization, averageValue }, input.pods, metrics, tol, input.now);
        const current: Obj = { averageValue: milliQuantity(r.rawAverage) };
        if (utilization !== undefined) current.averageUtilization = r.utilization;
        const status = spec.type === 'Resource' ? { type: 'Resource', resource: { name, current } } : { type: 'ContainerResource', containerResource: { name, container: src.container, current } };
        const what = spec.type === 'Resource' ? `${name} resource` : `${name} container resource`;
        return { replicas: r.replicas, status, description: utilization !== undefined ? `${what} utilization (percentage of request)` : what };
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        return { replicas: 0, error: { reason: failReason, message: `failed to get ${name} utilization: ${msg}` } };
      }
    }
    case 'Pods':
    case 'Object':
    case 'External': {
      // petset serves resource metrics only: no custom.metrics.k8s.io or external.metrics.k8s.io
      const key = spec.type.toLowerCase();
      const metricName = spec[key]?.metric?.name ?? '';
      const api = spec.type === 'External' ? 'external.metrics.k8s.io' : 'custom.metrics.k8s.io';
      return {
        replicas: 0,
        error: { reason: `FailedGet${spec.type}Metric`, message: `unable to get metric ${metricName}: no ${api} API is served by this cluster` },
      };
    }
    default:
      return { replicas: 0, error: { reason: 'InvalidMetricSourceType', message: `unknown metric source type "${spec.type}"` } };
  }
}

/** stabilizeRecommendation (no behavior): the highest recommendation of the last five minutes. */
function stabilize(history: History, desired: number, now: number): { replicas: number; history: History } {
  let max = desired;
  const kept = history.recommendations.filter((r) => r.at > now - DOWNSCALE_STABILIZATION_MS);
  for (const r of kept) max = Math.max(max, r.replicas);
  return { replicas: max, history: { ...history, recommendations: [...kept, { replicas: desired, at: now }] } };
}

/** convertDesiredReplicasWithRules (no behavior): min/max and the fixed scale-up rate. */
function withRules(current: number, desired: number, min: number, max: number): { replicas: number; reason: string; message: string } {
  const scaleUpLimit = Math.max(2 * current, 4);
  if (desired < min) return { replicas: min, reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
  const maxAllowed = Math.min(scaleUpLimit, max);
  if (desired > maxAllowed) {
    return max > scaleUpLimit
      ? { replicas: maxAllowed, reason: 'ScaleUpLimit', message: 'the desired replica count is increasing faster than the maximum scale rate' }
      : { replicas: maxAllowed, reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' };
  }
  return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
}

function changeInPeriod(events: ScaleEvent[], periodSeconds: number, now: number): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.at > cutoff).reduce((sum, e) => sum + e.change, 0);
}

/** calculateScaleUpLimitWithScalingRules. */
export function scaleUpLimit(current: number, history: History, rules: Obj, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pickMin = rules.selectPolicy === 'Min';
  let result = pickMin ? Infinity : -Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(history.scaleUpEvents, p.periodSeconds, now) + changeInPeriod(history.scaleDownEvents, p.periodSeconds, now);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = pickMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

/** calculateScaleDownLimitWithBehaviors. */
export function scaleDownLimit(current: number, history: History, rules: Obj, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  // "Max" means the largest change, so the fewest replicas
  const pickMax = rules.selectPolicy === 'Min';
  let result = pickMax ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const start = current - changeInPeriod(history.scaleUpEvents, p.periodSeconds, now) + changeInPeriod(history.scaleDownEvents, p.periodSeconds, now);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = pickMax ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

/** stabilizeRecommendationWithBehaviors + convertDesiredReplicasWithBehaviorRate. */
function withBehavior(hpa: KubeObject, history: History, current: number, desired: number, min: number, max: number, now: number) {
  const up: Obj = { ...DEFAULT_SCALE_UP, ...(hpa.spec.behavior.scaleUp ?? {}) };
  const down: Obj = { ...DEFAULT_SCALE_DOWN, ...(hpa.spec.behavior.scaleDown ?? {}) };
  const upCutoff = now - (up.stabilizationWindowSeconds ?? 0) * 1000;
  const downCutoff = now - (down.stabilizationWindowSeconds ?? 0) * 1000;
  let upRec = desired;
  let downRec = desired;
  for (const r of history.recommendations) {
    if (r.at > upCutoff) upRec = Math.min(upRec, r.replicas);
    if (r.at > downCutoff) downRec = Math.max(downRec, r.replicas);
  }
  let stabilized = current;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;
  const keepFrom = Math.min(upCutoff, downCutoff);
  const recommendations = [...history.recommendations.filter((r) => r.at > keepFrom), { replicas: desired, at: now }];
  let able: Condition;
  if (stabilized === desired) able = cond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size');
  else if (stabilized > desired) able = cond('AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation');
  else able = cond('AbleToScale', 'True', 'ScaleUpStabilized', 'recent recommendations were lower than current one, applying the lowest recent recommendation');

  let out = { replicas: stabilized, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
  if (stabilized > current) {
    const limit = Math.max(scaleUpLimit(current, history, up, now), current);
    const [maxAllowed, reason, message] =
      max > limit ? [limit, 'ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate'] : [max, 'TooManyReplicas', 'the desired replica count is more than the maximum replica count'];
    if (stabilized > maxAllowed) out = { replicas: maxAllowed, reason, message };
  } else if (stabilized < current) {
    const limit = Math.min(scaleDownLimit(current, history, down, now), current);
    const [minAllowed, reason, message] =
      min < limit ? [limit, 'ScaleDownLimit', 'the desired replica count is decreasing faster than the maximum scale rate'] : [min, 'TooFewReplicas', 'the desired replica count is less than the minimum replica count'];
    if (stabilized < minAllowed) out = { replicas: minAllowed, reason, message };
  }
  return { stabilized, out, able, history: { ...history, recommendations } };
}

/** Remembers a scale change for the rate policies; events older than the longest period are dropped. */
function recordScale(hpa: KubeObject, history: History, from: number, to: number, now: number): History {
  const behavior = hpa.spec?.behavior;
  if (!behavior) return history;
  const longest = (rules: Obj | undefined, d: Obj) => Math.max(0, ...((rules?.policies ?? d.policies) as Obj[]).map((p) => p.periodSeconds)) * 1000;
  const ups = history.scaleUpEvents.filter((e) => e.at > now - longest(behavior.scaleUp, DEFAULT_SCALE_UP));
  const downs = history.scaleDownEvents.filter((e) => e.at > now - longest(behavior.scaleDown, DEFAULT_SCALE_DOWN));
  if (to > from) ups.push({ change: to - from, at: now });
  else if (to < from) downs.push({ change: from - to, at: now });
  return { ...history, scaleUpEvents: ups, scaleDownEvents: downs };
}

/** reconcileAutoscaler's decision. */
export function decide(input: DecideInput): Decision {
  const { hpa, now } = input;
  const spec: Obj = hpa.spec ?? {};
  const minReplicas: number = spec.minReplicas ?? 1;
  const maxReplicas: number = spec.maxReplicas;
  const conditions: Condition[] = [];
  const events: HpaEvent[] = [];
  let history = input.history;
  const base = { conditions, events };

  if ('error' in input.scale) {
    const message = input.scale.error;
    events.push({ type: 'Warning', reason: 'FailedGetScale', message });
    conditions.push(cond('AbleToScale', 'False', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${message}`));
    return { ...base, currentReplicas: hpa.status?.currentReplicas ?? 0, desiredReplicas: hpa.status?.desiredReplicas ?? 0, currentMetrics: hpa.status?.currentMetrics ?? null, history };
  }
  conditions.push(cond('AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale"));
  const current = input.scale.replicas;
  let desired = 0;
  let reason = '';
  let rescale = true;
  let currentMetrics: Obj[] | null = null;

  if (current === 0 && minReplicas !== 0) {
    // a target scaled to zero by hand is left alone
    desired = 0;
    rescale = false;
    conditions.push(cond('ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero'));
  } else if (current > maxReplicas) {
    reason = 'Current number of replicas above Spec.MaxReplicas';
    desired = maxReplicas;
  } else if (current < minReplicas) {
    reason = 'Current number of replicas below Spec.MinReplicas';
    desired = minReplicas;
  } else {
    if (!input.scale.selector) {
      events.push({ type: 'Warning', reason: 'SelectorRequired', message: 'selector is required' });
      conditions.push(cond('ScalingActive', 'False', 'InvalidSelector', "the HPA target's scale is missing a selector"));
      return { ...base, currentReplicas: current, desiredReplicas: hpa.status?.desiredReplicas ?? 0, currentMetrics: null, history };
    }
    const tol = tolerances(hpa);
    const specs: Obj[] = spec.metrics ?? [];
    let best = -1;
    let bestDescription = '';
    let invalid = 0;
    let firstError: { reason: string; message: string } | undefined;
    const statuses: Obj[] = [];
    for (const m of specs) {
      const r = replicasForMetric(m, current, input, tol);
      if (r.error) {
        invalid++;
        firstError ??= r.error;
        events.push({ type: 'Warning', reason: r.error.reason, message: r.error.message });
        statuses.push({ type: '' });
        continue;
      }
      statuses.push(r.status!);
      if (best === -1 || r.replicas > best) {
        best = r.replicas;
        bestDescription = r.description!;
      }
    }
    currentMetrics = statuses;
    // all metrics invalid, or some invalid while the rest would scale down: no change, as upstream
    if (invalid >= specs.length || (invalid > 0 && best < current)) {
      conditions.push(cond('ScalingActive', 'False', firstError!.reason, `the HPA was unable to compute the replica count: ${firstError!.message}`));
      const message = `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${firstError!.message}`;
      events.push({ type: 'Warning', reason: 'FailedComputeMetricsReplicas', message });
      return { ...base, conditions: dedupe(conditions), currentReplicas: current, desiredReplicas: hpa.status?.desiredReplicas ?? 0, currentMetrics, history };
    }
    conditions.push(cond('ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${bestDescription}`));
    desired = best;
    if (desired > current) reason = `${bestDescription} above target`;
    if (desired < current) reason = 'All metrics below target';
    if (spec.behavior) {
      const b = withBehavior(hpa, history, current, desired, minReplicas, maxReplicas, now);
      history = b.history;
      conditions.push(b.able);
      conditions.push(cond('ScalingLimited', b.out.replicas === b.stabilized ? 'False' : 'True', b.out.reason, b.out.message));
      desired = b.out.replicas;
    } else {
      const s = stabilize(history, desired, now);
      history = s.history;
      conditions.push(
        s.replicas !== desired
          ? cond('AbleToScale', 'True', 'ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation')
          : cond('AbleToScale', 'True', 'ReadyForNewScale', 'recommended size matches current size'),
      );
      const r = withRules(current, s.replicas, minReplicas, maxReplicas);
      conditions.push(cond('ScalingLimited', r.replicas === s.replicas ? 'False' : 'True', r.reason, r.message));
      desired = r.replicas;
    }
    rescale = desired !== current;
  }

  const decision: Decision = { ...base, conditions: dedupe(conditions), currentReplicas: current, desiredReplicas: desired, currentMetrics, history };
  if (rescale) {
    decision.rescaleTo = desired;
    decision.rescaleReason = reason;
    decision.history = recordScale(hpa, history, current, desired, now);
  }
  return decision;
}

/** The last condition of each type wins (later steps refine earlier ones). */
function dedupe(conditions: Condition[]): Condition[] {
  const byType = new Map<string, Condition>();
  for (const c of conditions) byType.set(c.type, c);
  return [...byType.values()];
}
