// The HorizontalPodAutoscaler's decisions: upstream's replica calculator (tolerance, missing
// and unready pods), the default and behavior-driven stabilization and rate limits, min/max,
// and the conditions and events it writes; plus the autoscaling/v1 conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { decide, emptyHistory, scaleDownLimit, scaleUpLimit, type DecideInput, type History } from '../../src/controllers/horizontalpodautoscaler/decide.js';
import { resourceReplicas, type PodMetrics } from '../../src/controllers/horizontalpodautoscaler/replicas.js';
import { hpaV1ToV2, hpaV2ToV1 } from '../../src/api/kinds/horizontalpodautoscaler-v1.js';
import { formatHPAMetrics, horizontalPodAutoscalerKind } from '../../src/api/kinds/horizontalpodautoscaler.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const LONG_AGO = new Date(NOW - 3600_000).toISOString();

function pod(name: string, opts: { cpu?: string; ready?: boolean; phase?: string; started?: string; transition?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', resources: { requests: { cpu: opts.cpu ?? '100m' } } }] },
    status: {
      phase: opts.phase ?? 'Running',
      startTime: opts.started ?? LONG_AGO,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: opts.transition ?? LONG_AGO }],
    },
  };
}

function podMetrics(usage: Record<string, string>): KubeObject[] {
  return Object.entries(usage).map(([name, cpu]) => ({
    apiVersion: 'metrics.k8s.io/v1beta1',
    kind: 'PodMetrics',
    metadata: { name, namespace: 'ns' },
    timestamp: new Date(NOW - 1000).toISOString(),
    window: '10s',
    containers: [{ name: 'app', usage: { cpu, memory: '10Mi' } }],
  }));
}

function hpa(spec: Record<string, unknown> = {}): KubeObject {
  const obj: KubeObject = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'ns', generation: 1 },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 10, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }], ...spec },
  };
  horizontalPodAutoscalerKind.defaults!(obj);
  return obj;
}

function input(h: KubeObject, replicas: number, pods: KubeObject[], usage: Record<string, string>, history: History = emptyHistory(), now = NOW): DecideInput {
  return { hpa: h, scale: { replicas, selector: 'app=web' }, pods, podMetrics: podMetrics(usage), history, now };
}

const metricsMap = (usage: Record<string, number>): PodMetrics => new Map(Object.entries(usage).map(([k, v]) => [k, { timestamp: NOW - 1000, windowMs: 10_000, value: v }]));
const TOL = { up: 0.1, down: 0.1 };

test('replica calculator: ratio of average utilization to target, ceil; within tolerance nothing changes', () => {
  const pods = [pod('a'), pod('b')];
  // 150% of requests against a 50% target: 3x the 2 pods
  assert.equal(resourceReplicas(2, { resource: 'cpu', utilization: 50 }, pods, metricsMap({ a: 150, b: 150 }), TOL, NOW).replicas, 6);
  // 54% vs 50%: ratio 1.08, inside the 0.1 tolerance
  const r = resourceReplicas(2, { resource: 'cpu', utilization: 50 }, pods, metricsMap({ a: 54, b: 54 }), TOL, NOW);
  assert.equal(r.replicas, 2);
  assert.equal(r.utilization, 54);
  assert.equal(r.rawAverage, 54);
  // 10% vs 50%: down to 1 (ceil(0.2 * 2))
  assert.equal(resourceReplicas(2, { resource: 'cpu', utilization: 50 }, pods, metricsMap({ a: 10, b: 10 }), TOL, NOW).replicas, 1);
  // an average value target (millicores per pod)
  assert.equal(resourceReplicas(2, { resource: 'cpu', averageValue: 100 }, pods, metricsMap({ a: 300, b: 300 }), TOL, NOW).replicas, 6);
});

test('replica calculator: missing pods dampen the change, unready pods count as idle on scale-up, pending and deleted pods are ignored', () => {
  // scale-up with a pod lacking metrics: it counts as idle, so 3 pods at avg 100% -> ceil(2 * 3) = 6 would be 2x; with b idle: (150+150+0)/300 = 100% -> ratio 2 -> 6
  const pods = [pod('a'), pod('b'), pod('c')];
  assert.equal(resourceReplicas(3, { resource: 'cpu', utilization: 50 }, pods, metricsMap({ a: 150, b: 150 }), TOL, NOW).replicas, 6);
  // scale-down with a missing pod: it counts as using 100% of its request, so fewer pods go
  assert.equal(resourceReplicas(3, { resource: 'cpu', utilization: 50 }, pods, metricsMap({ a: 10, b: 10 }), TOL, NOW).replicas, 3);
  // an unready pod (never ready since start-up) is idle when scaling up
  const unready = [pod('a'), pod('b', { ready: false, started: new Date(NOW - 60_000).toISOString(), transition: new Date(NOW - 60_000).toISOString() })];
  assert.equal(resourceReplicas(2, { resource: 'cpu', utilization: 50 }, unready, metricsMap({ a: 200, b: 200 }), TOL, NOW).replicas, 4);
  // pending and terminating pods are left out entirely
  const odd = [pod('a'), pod('p', { phase: 'Pending' }), { ...pod('d'), metadata: { ...pod('d').metadata, deletionTimestamp: LONG_AGO } }];
  assert.equal(resourceReplicas(1, { resource: 'cpu', utilization: 50 }, odd, metricsMap({ a: 100, p: 900, d: 900 }), TOL, NOW).replicas, 2);
  assert.throws(() => resourceReplicas(1, { resource: 'cpu', utilization: 50 }, [], metricsMap({}), TOL, NOW), /no pods returned by selector while calculating replica count/);
  assert.throws(() => resourceReplicas(1, { resource: 'cpu', utilization: 50 }, [{ ...pod('a'), spec: { containers: [{ name: 'app' }] } }], metricsMap({ a: 1 }), TOL, NOW), /missing request for cpu in container app of Pod a/);
});

test('decide: scales up with upstream reason, conditions and ScalingLimited at max', () => {
  const d = decide(input(hpa({ maxReplicas: 5 }), 3, [pod('a'), pod('b'), pod('c')], { a: '150m', b: '150m', c: '150m' }));
  assert.equal(d.rescaleTo, 5);
  assert.equal(d.rescaleReason, 'cpu resource utilization (percentage of request) above target');
  const byType = Object.fromEntries(d.conditions.map((c) => [c.type, c]));
  assert.equal(byType.ScalingActive.reason, 'ValidMetricFound');
  assert.equal(byType.ScalingActive.message, 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)');
  assert.equal(byType.ScalingLimited.status, 'True');
  assert.equal(byType.ScalingLimited.reason, 'TooManyReplicas');
  assert.deepEqual(d.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: '150m', averageUtilization: 150 } } }]);
});

test('decide: without behavior, scale-up is limited to max(2x, 4) and scale-down waits for five minutes of lower recommendations', () => {
  const pods = Array.from({ length: 5 }, (_, i) => pod(`p${i}`));
  const hot = Object.fromEntries(pods.map((p) => [p.metadata.name!, '500m']));
  const up = decide(input(hpa({ maxReplicas: 100 }), 5, pods, hot));
  assert.equal(up.rescaleTo, 10);
  assert.equal(up.conditions.find((c) => c.type === 'ScalingLimited')!.reason, 'ScaleUpLimit');
  const cold = Object.fromEntries(pods.map((p) => [p.metadata.name!, '5m']));
  const history: History = { ...emptyHistory(), recommendations: [{ replicas: 5, at: NOW - 60_000 }] };
  const held = decide(input(hpa(), 5, pods, cold, history));
  assert.equal(held.rescaleTo, undefined);
  assert.equal(held.conditions.find((c) => c.type === 'AbleToScale')!.reason, 'ScaleDownStabilized');
  const later = decide(input(hpa(), 5, pods, cold, { ...emptyHistory(), recommendations: [{ replicas: 5, at: NOW - 301_000 }] }));
  assert.equal(later.rescaleTo, 1);
  assert.equal(later.rescaleReason, 'All metrics below target');
});

test('decide: behavior sets the stabilization window and the rate policies', () => {
  const pods = Array.from({ length: 4 }, (_, i) => pod(`p${i}`));
  const cold = Object.fromEntries(pods.map((p) => [p.metadata.name!, '5m']));
  const quick = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } });
  const d = decide(input(quick, 4, pods, cold));
  assert.equal(d.rescaleTo, 3);
  assert.equal(d.conditions.find((c) => c.type === 'ScalingLimited')!.reason, 'ScaleDownLimit');
  assert.deepEqual(d.history.scaleDownEvents, [{ change: 1, at: NOW }]);
  // the event is spent within the policy's period: no further scale-down yet
  const again = decide(input(quick, 3, pods.slice(0, 3), cold, d.history, NOW + 10_000));
  assert.equal(again.rescaleTo, undefined);
  // limits computed from the events of the period
  const h: History = { ...emptyHistory(), scaleUpEvents: [{ change: 2, at: NOW - 5000 }] };
  assert.equal(scaleUpLimit(6, h, { selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] }, NOW), 8);
  assert.equal(scaleDownLimit(10, emptyHistory(), { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 50, periodSeconds: 15 }, { type: 'Pods', value: 2, periodSeconds: 15 }] }, NOW), 5);
  assert.equal(scaleDownLimit(10, emptyHistory(), { selectPolicy: 'Disabled', policies: [{ type: 'Pods', value: 2, periodSeconds: 15 }] }, NOW), 10);
});

test('decide: out-of-range and disabled targets, and failures with upstream texts', () => {
  assert.equal(decide(input(hpa({ minReplicas: 3 }), 1, [pod('a')], { a: '1m' })).rescaleReason, 'Current number of replicas below Spec.MinReplicas');
  assert.equal(decide(input(hpa({ maxReplicas: 2 }), 4, [pod('a')], { a: '1m' })).rescaleReason, 'Current number of replicas above Spec.MaxReplicas');
  const zero = decide(input(hpa(), 0, [], {}));
  assert.equal(zero.rescaleTo, undefined);
  assert.equal(zero.conditions.find((c) => c.type === 'ScalingActive')!.message, 'scaling is disabled since the replica count of the target is zero');
  const noMetrics = decide({ ...input(hpa(), 2, [pod('a'), pod('b')], {}) });
  assert.equal(noMetrics.rescaleTo, undefined);
  assert.deepEqual(
    noMetrics.events.map((e) => `${e.reason}: ${e.message}`),
    [
      'FailedGetResourceMetric: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API',
      'FailedComputeMetricsReplicas: invalid metrics (1 invalid out of 1), first error is: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API',
    ],
  );
  assert.equal(noMetrics.conditions.find((c) => c.type === 'ScalingActive')!.reason, 'FailedGetResourceMetric');
  const noScale = decide({ ...input(hpa(), 2, [], {}), scale: { error: 'deployments.apps "web" not found' } });
  assert.deepEqual(noScale.events, [{ type: 'Warning', reason: 'FailedGetScale', message: 'deployments.apps "web" not found' }]);
  assert.equal(noScale.conditions[0].message, 'the HPA controller was unable to get the target\'s current scale: deployments.apps "web" not found');
});

test('kind: defaults, validation messages and the TARGETS column as upstream', () => {
  const h: KubeObject = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 10 } } } };
  horizontalPodAutoscalerKind.defaults!(h);
  assert.equal(h.spec.minReplicas, 1);
  assert.deepEqual(h.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  assert.equal(h.spec.behavior.scaleDown.stabilizationWindowSeconds, 10);
  assert.equal(h.spec.behavior.scaleUp.policies.length, 2);
  const bad = { ...h, spec: { ...h.spec, minReplicas: 0, maxReplicas: 0, behavior: { scaleUp: { stabilizationWindowSeconds: 4000 } } } };
  const msgs = horizontalPodAutoscalerKind.validate!(bad).map((e) => `${e.field}: ${e.detail}`);
  assert.deepEqual(msgs, ['spec.minReplicas: must be greater than or equal to 1', 'spec.maxReplicas: must be greater than 0', 'spec.behavior.scaleUp.stabilizationWindowSeconds: must be less than or equal to 3600']);
  assert.equal(formatHPAMetrics(h.spec.metrics, []), 'cpu: <unknown>/80%');
  assert.equal(formatHPAMetrics(h.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42 } } }]), 'cpu: 42%/80%');
});

test('autoscaling/v1 round trip keeps v2-only fields in annotations', () => {
  const v2 = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 5 } }, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }, { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } }] });
  v2.status = { currentReplicas: 2, desiredReplicas: 3, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 70 } } }, { type: 'Resource', resource: { name: 'memory', current: { averageValue: '50Mi' } } }], conditions: [{ type: 'AbleToScale', status: 'True', reason: 'x', message: 'y' }] };
  const v1 = hpaV2ToV1(v2);
  assert.equal(v1.apiVersion, 'autoscaling/v1');
  assert.equal(v1.spec.targetCPUUtilizationPercentage, 60);
  assert.equal(v1.status.currentCPUUtilizationPercentage, 70);
  assert.ok(v1.metadata.annotations!['autoscaling.alpha.kubernetes.io/metrics'].includes('memory'));
  const back = hpaV1ToV2(v1);
  assert.deepEqual(back.spec, v2.spec);
  assert.deepEqual(back.status.conditions, v2.status.conditions);
  assert.equal(back.metadata.annotations, undefined);
});

test('autoscaling/v1 to v2: fields left out stay out, and a body of the wrong shape is left for the decoder to refuse', () => {
  // kubectl autoscale without --min sends no minReplicas: nothing undefined reaches the v2 decoder
  const v2 = hpaV1ToV2({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 3 } });
  assert.deepEqual(Object.keys(v2.spec).sort(), ['maxReplicas', 'scaleTargetRef']);
  // a string where metadata belongs is not spread into thousands of keys
  const odd = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: 'y'.repeat(5000), spec: 'x' } as any;
  assert.deepEqual(hpaV1ToV2(odd), { ...odd, apiVersion: 'autoscaling/v2' });
  assert.deepEqual(hpaV2ToV1({ ...odd, apiVersion: 'autoscaling/v2' }), odd);
});
