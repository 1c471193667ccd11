// What the workload kinds (ReplicaSet, ReplicationController, Deployment, DaemonSet, Job,
// CronJob) validate and print alike: the pod template against the selector, int-or-percent
// fields, and the CONTAINERS/IMAGES/SELECTOR wide columns.
import { isPlainObject, type KubeObject } from '../object.js';
import { formatLabelSelector, labelSelectorFromObject, type LabelSelector } from '../selectors.js';
import { field, validateAnnotations, validateLabels, type FieldError } from '../validation.js';
import { validatePodSpec } from './pod.js';
import { goStringMap } from './statefulset.js';
import { list, validateLabelSelector, type Obj } from './support.js';

export { goStringMap };

export function selectorOf(sel: unknown): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(isPlainObject(sel) ? sel : null);
  } catch {
    return undefined;
  }
}

/** A required, non-empty label selector (ValidateLabelSelector plus the "empty" rule). */
export function validateRequiredSelector(sel: unknown, path: string, what: string): FieldError[] {
  if (!isPlainObject(sel)) return [field.required(path)];
  const errs = validateLabelSelector(sel, path);
  if (!Object.keys(sel.matchLabels ?? {}).length && !list(sel.matchExpressions).length) {
    errs.push(field.invalid(path, goSelector(sel), `empty selector is invalid for ${what}`));
  }
  return errs;
}

function goSelector(sel: Obj): unknown {
  return { matchLabels: sel.matchLabels, matchExpressions: sel.matchExpressions };
}

/**
 * ValidatePodTemplateSpecForReplicaSet and friends: the template must exist, its labels match
 * the selector, its spec be a valid pod spec with one of the allowed restart policies.
 */
export function validateTemplate(
  template: unknown,
  selector: LabelSelector | undefined,
  path: string,
  restartPolicies: string[] = ['Always'],
): FieldError[] {
  if (!isPlainObject(template)) return [field.required(path)];
  const errs: FieldError[] = [];
  const labels = template.metadata?.labels;
  if (selector && !selector.empty && !selector.matches(labels)) {
    errs.push(field.invalid(`${path}.metadata.labels`, goStringMap(labels), '`selector` does not match template `labels`'));
  }
  errs.push(...validateLabels(labels, `${path}.labels`));
  errs.push(...validateAnnotations(template.metadata?.annotations, `${path}.annotations`));
  const spec: Obj = isPlainObject(template.spec) ? template.spec : {};
  errs.push(...validatePodSpec(spec, `${path}.spec`, { requireImage: false }));
  if (!restartPolicies.includes(spec.restartPolicy)) {
    errs.push(field.notSupported(`${path}.spec.restartPolicy`, spec.restartPolicy ?? '', restartPolicies));
  }
  if (spec.activeDeadlineSeconds != null && restartPolicies.includes('Always')) {
    errs.push(field.forbidden(`${path}.spec.activeDeadlineSeconds`, 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  }
  return errs;
}

const PERCENT_MSG =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/** ValidatePositiveIntOrPercent; answers the value as a number or percentage if valid. */
export function validateIntOrPercent(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'number') return v < 0 ? [field.invalid(path, v, 'must be greater than or equal to 0')] : [];
  if (typeof v === 'string') {
    if (!/^[0-9]+%$/.test(v)) return [field.invalid(path, v, PERCENT_MSG)];
    return [];
  }
  return [field.invalid(path, v, "must be an integer or percentage (e.g '5%')")];
}

/** intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[0-9]+%$/.test(v)) {
    const x = (Number(v.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v);
  return 0;
}

export function percentOver100(v: unknown, path: string): FieldError[] {
  if (typeof v === 'string' && /^[0-9]+%$/.test(v) && Number(v.slice(0, -1)) > 100) return [field.invalid(path, v, 'must not be greater than 100%')];
  return [];
}

/** The CONTAINERS, IMAGES and SELECTOR cells of `-o wide`. */
export function wideCells(template: unknown, selector: string): [string, string, string] {
  const containers = list(isPlainObject(template) ? template.spec?.containers : undefined);
  return [containers.map((c) => c.name).join(','), containers.map((c) => c.image).join(','), selector];
}

export function selectorCell(sel: unknown): string {
  return formatLabelSelector(isPlainObject(sel) ? sel : null);
}

export const wideColumns = [
  { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.' },
  { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.' },
  { name: 'Selector', type: 'string', priority: 1, description: 'Label selector of the pods.' },
] as const;

export function counter(obj: KubeObject, key: string): number {
  const v = obj.status?.[key];
  return typeof v === 'number' ? v : 0;
}
