// autoscaling/v2 HorizontalPodAutoscaler: scales a workload through its scale subresource to keep
// metrics near their targets. The horizontalpodautoscaler controller keeps its status. Defaults,
// validation messages and table columns follow upstream's (pkg/apis/autoscaling).
import type { KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { age, ageColumn, checkQuantity, column, isSet, list, nameColumn, record, validateLabelSelector, type Obj } from './support.js';

const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const TARGET_TYPES = ['AverageValue', 'Utilization', 'Value'];
const SELECT_POLICIES = ['Disabled', 'Max', 'Min'];
const POLICY_TYPES = ['Percent', 'Pods'];
const MAX_STABILIZATION_SECONDS = 3600;
const MAX_PERIOD_SECONDS = 1800;

/** Upstream's defaults for the rules of each direction (GenerateHPAScaleUpRules / ScaleDownRules). */
export function defaultScalingRules(direction: 'scaleUp' | 'scaleDown'): Obj {
  return direction === 'scaleUp'
    ? { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] }
    : { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
}

function defaultRules(rules: Obj | undefined, direction: 'scaleUp' | 'scaleDown'): Obj {
  const d = defaultScalingRules(direction);
  const r = { ...(rules ?? {}) };
  r.stabilizationWindowSeconds ??= d.stabilizationWindowSeconds;
  r.selectPolicy ??= d.selectPolicy;
  if (!r.policies?.length) r.policies = d.policies;
  return r;
}

function validateTarget(t: Obj, path: string, resource: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!t.type) errs.push(field.required(`${path}.type`, 'must specify a metric target type'));
  else if (!TARGET_TYPES.includes(t.type)) errs.push(field.notSupported(`${path}.type`, t.type, TARGET_TYPES));
  if (!isSet(t.value) && !isSet(t.averageValue) && !isSet(t.averageUtilization)) {
    errs.push(field.required(path, 'must set either a target value or averageValue or averageUtilization'));
  }
  for (const k of ['value', 'averageValue']) {
    if (!isSet(t[k])) continue;
    const q = checkQuantity(t[k], `${path}.${k}`, errs);
    if (q && q.nanos <= 0n) errs.push(field.invalid(`${path}.${k}`, t[k], 'must be positive'));
  }
  if (isSet(t.averageUtilization)) {
    if (!resource) errs.push(field.forbidden(`${path}.averageUtilization`, 'may only be set for resource metrics'));
    else if (!(t.averageUtilization >= 1)) errs.push(field.invalid(`${path}.averageUtilization`, t.averageUtilization, 'must be greater than 0'));
  }
  return errs;
}

function validateMetric(m: Obj, path: string): FieldError[] {
  if (!m.type) return [field.required(`${path}.type`, 'must specify a metric source type')];
  if (!METRIC_TYPES.includes(m.type)) return [field.notSupported(`${path}.type`, m.type, METRIC_TYPES)];
  const key = m.type === 'ContainerResource' ? 'containerResource' : m.type.toLowerCase();
  const errs: FieldError[] = [];
  for (const other of ['object', 'pods', 'resource', 'containerResource', 'external']) {
    if (other !== key && isSet(m[other])) errs.push(field.forbidden(`${path}.${other}`, 'must populate the given metric source only'));
  }
  const src = m[key];
  if (!isSet(src)) return [...errs, field.required(`${path}.${key}`, `must populate information for the given metric source`)];
  const p = `${path}.${key}`;
  if (key === 'resource' || key === 'containerResource') {
    if (!src.name) errs.push(field.required(`${p}.name`, 'must specify a resource name'));
    if (key === 'containerResource' && !src.container) errs.push(field.required(`${p}.container`, 'must specify a container'));
    errs.push(...validateTarget(record(src.target), `${p}.target`, true));
  } else {
    if (!record(src.metric).name) errs.push(field.required(`${p}.metric.name`, 'must specify a metric name'));
    if (isSet(src.metric?.selector)) errs.push(...validateLabelSelector(src.metric.selector, `${p}.metric.selector`));
    if (key === 'object') {
      if (!record(src.describedObject).kind) errs.push(field.required(`${p}.describedObject.kind`));
      if (!record(src.describedObject).name) errs.push(field.required(`${p}.describedObject.name`));
    }
    errs.push(...validateTarget(record(src.target), `${p}.target`, false));
  }
  return errs;
}

function validateRules(rules: Obj | undefined, path: string): FieldError[] {
  if (!rules) return [];
  const errs: FieldError[] = [];
  const w = rules.stabilizationWindowSeconds;
  if (isSet(w) && w < 0) errs.push(field.invalid(`${path}.stabilizationWindowSeconds`, w, 'must be greater than or equal to zero'));
  if (isSet(w) && w > MAX_STABILIZATION_SECONDS) errs.push(field.invalid(`${path}.stabilizationWindowSeconds`, w, `must be less than or equal to ${MAX_STABILIZATION_SECONDS}`));
  if (isSet(rules.selectPolicy) && !SELECT_POLICIES.includes(rules.selectPolicy)) errs.push(field.notSupported(`${path}.selectPolicy`, rules.selectPolicy, SELECT_POLICIES));
  const policies = list<Obj>(rules.policies);
  if (!policies.length && isSet(rules.policies)) errs.push(field.required(`${path}.policies`, 'must specify at least one Policy'));
  policies.forEach((p, i) => {
    const pp = `${path}.policies[${i}]`;
    if (!POLICY_TYPES.includes(p.type)) errs.push(field.notSupported(`${pp}.type`, p.type ?? '', POLICY_TYPES));
    if (!(p.value > 0)) errs.push(field.invalid(`${pp}.value`, p.value ?? 0, 'must be greater than zero'));
    if (!(p.periodSeconds > 0)) errs.push(field.invalid(`${pp}.periodSeconds`, p.periodSeconds ?? 0, 'must be greater than zero'));
    else if (p.periodSeconds > MAX_PERIOD_SECONDS) errs.push(field.invalid(`${pp}.periodSeconds`, p.periodSeconds, `must be less than or equal to ${MAX_PERIOD_SECONDS}`));
  });
  if (isSet(rules.tolerance)) {
    const q = checkQuantity(rules.tolerance, `${path}.tolerance`, errs);
    if (q && q.nanos < 0n) errs.push(field.invalid(`${path}.tolerance`, rules.tolerance, 'must be greater than or equal to zero'));
  }
  return errs;
}

/** The TARGETS column: "cpu: 42%/50%", as upstream's printer writes it. */
export function formatHPAMetrics(specs: Obj[], statuses: Obj[]): string {
  if (!specs.length) return '<none>';
  const out: string[] = [];
  const q = (v: unknown) => (isSet(v) ? String(v) : '<unknown>');
  specs.forEach((spec, i) => {
    const st = statuses[i];
    switch (spec.type) {
      case 'External':
      case 'Object': {
        const key = spec.type.toLowerCase();
        const t = record(spec[key]?.target);
        if (isSet(t.averageValue)) out.push(`${q(st?.[key]?.current?.averageValue)}/${t.averageValue} (avg)`);
        else out.push(`${q(st?.[key]?.current?.value)}/${t.value}`);
        break;
      }
      case 'Pods':
        out.push(`${q(st?.pods?.current?.averageValue)}/${spec.pods?.target?.averageValue}`);
        break;
      case 'Resource':
      case 'ContainerResource': {
        const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const src = record(spec[key]);
        const t = record(src.target);
        if (isSet(t.averageValue)) out.push(`${src.name}: ${q(st?.[key]?.current?.averageValue)}/${t.averageValue}`);
        else {
          const cur = st?.[key]?.current?.averageUtilization;
          out.push(`${src.name}: ${isSet(cur) ? `${cur}%` : '<unknown>'}/${isSet(t.averageUtilization) ? `${t.averageUtilization}%` : '<auto>'}`);
        }
        break;
      }
      default:
        out.push('<unknown type>');
    }
  });
  return out.length > 2 ? `${out.slice(0, 2).join(', ')} + ${out.length - 2} more...` : out.join(', ');
}

export const horizontalPodAutoscalerKind: KindDef = {
  group: 'autoscaling',
  version: 'v2',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  shortNames: ['hpa'],
  categories: ['all'],
  definition: 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
  subresources: { status: true },
  tracksGeneration: true,

  defaults(hpa: KubeObject) {
    const spec = (hpa.spec ??= {});
    spec.minReplicas ??= 1;
    if (!list(spec.metrics).length) {
      spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
    }
    // upstream fills both directions' rules once behavior is given at all
    if (spec.behavior) {
      spec.behavior.scaleUp = defaultRules(spec.behavior.scaleUp, 'scaleUp');
      spec.behavior.scaleDown = defaultRules(spec.behavior.scaleDown, 'scaleDown');
    }
  },

  prepareForCreate(hpa) {
    hpa.status = { currentReplicas: 0, desiredReplicas: 0, currentMetrics: null };
  },

  validate(hpa: KubeObject) {
    const spec = record(hpa.spec);
    const errs: FieldError[] = [];
    const ref = record(spec.scaleTargetRef);
    if (!ref.kind) errs.push(field.required('spec.scaleTargetRef.kind'));
    else if (ref.kind.includes('/') || ref.kind.includes('%')) errs.push(field.invalid('spec.scaleTargetRef.kind', ref.kind, `may not contain '${ref.kind.includes('/') ? '/' : '%'}'`));
    if (!ref.name) errs.push(field.required('spec.scaleTargetRef.name'));
    else if (ref.name.includes('/') || ref.name.includes('%')) errs.push(field.invalid('spec.scaleTargetRef.name', ref.name, `may not contain '${ref.name.includes('/') ? '/' : '%'}'`));
    const min = spec.minReplicas;
    if (isSet(min) && min < 1) errs.push(field.invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
    if (!(spec.maxReplicas >= 1)) errs.push(field.invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than 0'));
    else if (isSet(min) && spec.maxReplicas < min) errs.push(field.invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
    list<Obj>(spec.metrics).forEach((m, i) => errs.push(...validateMetric(m, `spec.metrics[${i}]`)));
    if (spec.behavior) {
      errs.push(...validateRules(spec.behavior.scaleUp, 'spec.behavior.scaleUp'));
      errs.push(...validateRules(spec.behavior.scaleDown, 'spec.behavior.scaleDown'));
    }
    return errs;
  },

  validateStatusUpdate(hpa) {
    const st = record(hpa.status);
    const errs: FieldError[] = [];
    if (isSet(st.currentReplicas) && st.currentReplicas < 0) errs.push(field.invalid('status.currentReplicas', st.currentReplicas, 'must be greater than or equal to 0'));
    if (isSet(st.desiredReplicas) && st.desiredReplicas < 0) errs.push(field.invalid('status.desiredReplicas', st.desiredReplicas, 'must be greater than or equal to 0'));
    return errs;
  },

  table: {
    columns: [
      nameColumn,
      column('Reference', 'The workload scaled (kind/name).'),
      column('Targets', 'Current and target value of each metric.'),
      column('MinPods', 'The fewest replicas the autoscaler sets.'),
      column('MaxPods', 'The most replicas the autoscaler sets.', { type: 'integer' }),
      column('Replicas', 'Replicas the workload had when last seen.', { type: 'integer' }),
      ageColumn,
    ],
    cells: (hpa, now) => [
      hpa.metadata.name,
      `${hpa.spec?.scaleTargetRef?.kind ?? ''}/${hpa.spec?.scaleTargetRef?.name ?? ''}`,
      formatHPAMetrics(list(hpa.spec?.metrics), list(hpa.status?.currentMetrics)),
      isSet(hpa.spec?.minReplicas) ? String(hpa.spec.minReplicas) : '<unset>',
      hpa.spec?.maxReplicas ?? 0,
      hpa.status?.currentReplicas ?? 0,
      age(hpa, now),
    ],
  },
};
