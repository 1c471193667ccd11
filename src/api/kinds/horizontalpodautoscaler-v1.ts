// autoscaling/v1 HorizontalPodAutoscaler: the autoscaling/v2 objects seen through the older
// version (`kubectl autoscale` writes it). v1 knows only a CPU utilization target; as upstream,
// whatever else a v2 object holds travels in annotations, so a v1 round trip loses nothing:
//   autoscaling.alpha.kubernetes.io/metrics          the other metrics (v2 MetricSpec JSON)
//   autoscaling.alpha.kubernetes.io/current-metrics  their readings (v2 MetricStatus JSON)
//   autoscaling.alpha.kubernetes.io/conditions       status.conditions
//   autoscaling.alpha.kubernetes.io/behavior         spec.behavior
import { clone, isPlainObject, type KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { horizontalPodAutoscalerKind } from './horizontalpodautoscaler.js';

type Obj = Record<string, any>;

export const METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';
export const CURRENT_METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';
export const BEHAVIOR_ANNOTATION = 'autoscaling.alpha.kubernetes.io/behavior';
const ANNOTATIONS = [METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION];

const isCpuUtilization = (m: Obj) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization';

function parseJson(text: string | undefined): any {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** metadata, spec or status of a type no conversion can read: left for the decoder to refuse (400) as upstream's would */
function untyped(obj: KubeObject): boolean {
  return (['metadata', 'spec', 'status'] as const).some((k) => obj[k] !== undefined && obj[k] !== null && !isPlainObject(obj[k]));
}

/** v1 → v2 (the stored version). */
export function hpaV1ToV2(obj: KubeObject): KubeObject {
  if (untyped(obj)) return { ...obj, apiVersion: 'autoscaling/v2' };
  const v1 = clone(obj);
  const annotations: Record<string, string> = { ...(v1.metadata?.annotations ?? {}) };
  const spec: Obj = v1.spec ?? {};
  const metrics: Obj[] = [];
  if (spec.targetCPUUtilizationPercentage !== undefined && spec.targetCPUUtilizationPercentage !== null) {
    metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } });
  }
  const others = parseJson(annotations[METRICS_ANNOTATION]);
  if (Array.isArray(others)) metrics.push(...others.filter((m) => !isCpuUtilization(m)));
  const behavior = parseJson(annotations[BEHAVIOR_ANNOTATION]);
  const conditions = parseJson(annotations[CONDITIONS_ANNOTATION]);
  const current = parseJson(annotations[CURRENT_METRICS_ANNOTATION]);
  for (const a of ANNOTATIONS) delete annotations[a];
  const st: Obj = v1.status ?? {};
  const currentMetrics: Obj[] = [];
  if (st.currentCPUUtilizationPercentage !== undefined && st.currentCPUUtilizationPercentage !== null) {
    currentMetrics.push({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: st.currentCPUUtilizationPercentage } } });
  }
  if (Array.isArray(current)) currentMetrics.push(...current);
  const out: KubeObject = {
    ...v1,
    apiVersion: 'autoscaling/v2',
    metadata: { ...v1.metadata, annotations: Object.keys(annotations).length ? annotations : undefined },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      ...(metrics.length ? { metrics } : {}),
      ...(behavior ? { behavior } : {}),
    },
  };
  if (!out.metadata.annotations) delete out.metadata.annotations;
  // fields the v1 object left out stay out (`kubectl autoscale` without --min sends no
  // minReplicas; the v2 defaults give it 1), rather than reaching the typed check as undefined
  for (const k of Object.keys(out.spec)) if (out.spec[k] === undefined) delete out.spec[k];
  if (v1.status) {
    out.status = {
      observedGeneration: st.observedGeneration,
      lastScaleTime: st.lastScaleTime,
      currentReplicas: st.currentReplicas,
      desiredReplicas: st.desiredReplicas ?? 0,
      currentMetrics: currentMetrics.length ? currentMetrics : null,
      ...(Array.isArray(conditions) ? { conditions } : {}),
    };
    for (const k of Object.keys(out.status)) if (out.status[k] === undefined) delete out.status[k];
  }
  return out;
}

/** v2 (stored) → v1. */
export function hpaV2ToV1(obj: KubeObject): KubeObject {
  if (untyped(obj)) return { ...obj, apiVersion: 'autoscaling/v1' };
  const v2 = clone(obj);
  const annotations: Record<string, string> = { ...(v2.metadata?.annotations ?? {}) };
  const spec: Obj = v2.spec ?? {};
  const metrics: Obj[] = spec.metrics ?? [];
  const cpu = metrics.find(isCpuUtilization);
  const others = metrics.filter((m) => m !== cpu);
  if (others.length) annotations[METRICS_ANNOTATION] = JSON.stringify(others);
  if (spec.behavior) annotations[BEHAVIOR_ANNOTATION] = JSON.stringify(spec.behavior);
  const st: Obj = v2.status ?? {};
  const currentMetrics: Obj[] = st.currentMetrics ?? [];
  const cpuIndex = cpu ? metrics.indexOf(cpu) : -1;
  const currentCpu = cpuIndex >= 0 ? currentMetrics[cpuIndex]?.resource?.current?.averageUtilization : undefined;
  const otherCurrent = currentMetrics.filter((_, i) => i !== cpuIndex);
  if (otherCurrent.length) annotations[CURRENT_METRICS_ANNOTATION] = JSON.stringify(otherCurrent);
  if (st.conditions?.length) annotations[CONDITIONS_ANNOTATION] = JSON.stringify(st.conditions);
  const out: KubeObject = {
    ...v2,
    apiVersion: 'autoscaling/v1',
    metadata: { ...v2.metadata, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      ...(cpu ? { targetCPUUtilizationPercentage: cpu.resource.target.averageUtilization } : {}),
    },
    status: {
      ...(st.observedGeneration !== undefined ? { observedGeneration: st.observedGeneration } : {}),
      ...(st.lastScaleTime ? { lastScaleTime: st.lastScaleTime } : {}),
      currentReplicas: st.currentReplicas ?? 0,
      desiredReplicas: st.desiredReplicas ?? 0,
      ...(currentCpu !== undefined ? { currentCPUUtilizationPercentage: currentCpu } : {}),
    },
  };
  return out;
}

export const horizontalPodAutoscalerV1Kind: KindDef = {
  ...horizontalPodAutoscalerKind,
  version: 'v1',
  definition: 'io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler',
  conversion: { storedVersion: 'v2', toStored: hpaV1ToV2, fromStored: hpaV2ToV1 },
  table: horizontalPodAutoscalerKind.table && {
    columns: horizontalPodAutoscalerKind.table.columns,
    // rows from the v1 view: the printer reads the metrics the annotation carries as well
    cells: (hpa, now) => horizontalPodAutoscalerKind.table!.cells(hpaV1ToV2(hpa), now),
  },
};
