// policy/v1 PodDisruptionBudget: how many selected pods voluntary evictions may take down.
// The disruption controller keeps its status; the eviction subresource consumes it.
import type { KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { age, ageColumn, column, isSet, nameColumn, record, validateLabelSelector, validateNonnegative } from './support.js';

const EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'];
const PERCENT = /^[0-9]+%$/;
const PERCENT_MSG =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";
const STATUS_COUNTS = ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'];

/** ValidatePositiveIntOrPercent + IsNotMoreThan100Percent. */
function validateIntOrPercent(value: unknown, path: string): FieldError[] {
  if (typeof value === 'string') {
    if (!PERCENT.test(value)) return [field.invalid(path, value, PERCENT_MSG)];
    return Number(value.slice(0, -1)) > 100 ? [field.invalid(path, value, 'must not be greater than 100%')] : [];
  }
  if (typeof value === 'number') return validateNonnegative(value, path);
  return [field.invalid(path, value ?? null, "must be an integer or percentage (e.g '5%')")];
}

function intOrStringText(v: unknown): string {
  return isSet(v) ? String(v) : 'N/A';
}

export const podDisruptionBudgetKind: KindDef = {
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  namespaced: true,
  shortNames: ['pdb'],
  definition: 'io.k8s.api.policy.v1.PodDisruptionBudget',
  subresources: { status: true },
  tracksGeneration: true,
  allowUnconditionalUpdate: false,

  prepareForCreate(pdb) {
    pdb.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
  },

  validate(pdb: KubeObject) {
    const spec = record(pdb.spec);
    const errs: FieldError[] = [];
    if (isSet(spec.minAvailable) && isSet(spec.maxUnavailable)) {
      errs.push(field.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
    }
    if (isSet(spec.minAvailable)) errs.push(...validateIntOrPercent(spec.minAvailable, 'spec.minAvailable'));
    if (isSet(spec.maxUnavailable)) errs.push(...validateIntOrPercent(spec.maxUnavailable, 'spec.maxUnavailable'));
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (isSet(spec.unhealthyPodEvictionPolicy) && !EVICTION_POLICIES.includes(spec.unhealthyPodEvictionPolicy)) {
      errs.push(field.notSupported('spec.unhealthyPodEvictionPolicy', spec.unhealthyPodEvictionPolicy, EVICTION_POLICIES));
    }
    return errs;
  },

  validateStatusUpdate(pdb) {
    const status = record(pdb.status);
    return STATUS_COUNTS.flatMap((k) => validateNonnegative(status[k], `status.${k}`));
  },

  table: {
    columns: [
      nameColumn,
      column('Min Available', 'Fewest selected pods that must stay available.'),
      column('Max Unavailable', 'Most selected pods that may be unavailable.'),
      column('Allowed Disruptions', 'How many pods may be disrupted right now.', { type: 'integer' }),
      ageColumn,
    ],
    cells: (pdb, now) => [
      pdb.metadata.name,
      intOrStringText(pdb.spec?.minAvailable),
      intOrStringText(pdb.spec?.maxUnavailable),
      pdb.status?.disruptionsAllowed ?? 0,
      age(pdb, now),
    ],
  },
};
