// scheduling.k8s.io/v1 PriorityClass: a named pod priority. The two system classes exist from
// the start (bootstrap); priority admission resolves pods' priorityClassName to spec.priority.
import type { KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { age, ageColumn, column, nameColumn } from './support.js';

export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASS_PREFIX = 'system-';
const PREEMPTION_POLICIES = ['Never', 'PreemptLowerPriority'];

/** The classes every cluster has (scheduling.SystemPriorityClasses). */
export const SYSTEM_PRIORITY_CLASSES: KubeObject[] = [
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: 2_000_001_000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: 2_000_000_000,
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
];

function knownSystemClass(pc: KubeObject): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((c) => c.metadata.name === pc.metadata.name);
  if (!known) return `${pc.metadata.name} is not a known system priority class`;
  if (known.value !== pc.value) return `value of ${pc.metadata.name} PriorityClass must be ${known.value}`;
  if (pc.globalDefault) return `globalDefault of ${pc.metadata.name} PriorityClass must be false`;
  return undefined;
}

export const priorityClassKind: KindDef = {
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  singular: 'priorityclass',
  namespaced: false,
  shortNames: ['pc'],
  definition: 'io.k8s.api.scheduling.v1.PriorityClass',

  defaults(pc) {
    pc.preemptionPolicy ??= 'PreemptLowerPriority';
  },

  validate(pc: KubeObject) {
    const errs: FieldError[] = [];
    if (pc.metadata.name?.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
      const why = knownSystemClass(pc);
      if (why) errs.push(field.forbidden('metadata.name', `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${why}`));
    } else if (pc.value > HIGHEST_USER_DEFINABLE_PRIORITY) {
      errs.push(field.forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
    }
    if (pc.preemptionPolicy !== undefined && !PREEMPTION_POLICIES.includes(pc.preemptionPolicy)) {
      errs.push(field.notSupported('preemptionPolicy', pc.preemptionPolicy, PREEMPTION_POLICIES));
    }
    return errs;
  },

  validateUpdate(pc, old) {
    const errs: FieldError[] = [];
    if (pc.value !== old.value) errs.push(field.forbidden('value', 'may not be changed in an update.'));
    if (pc.preemptionPolicy !== old.preemptionPolicy) errs.push(field.invalid('preemptionPolicy', pc.preemptionPolicy, 'field is immutable'));
    return errs;
  },

  table: {
    columns: [
      nameColumn,
      column('Value', 'The priority pods of this class get.', { type: 'integer' }),
      column('Global-Default', 'Whether pods naming no class get this one.', { type: 'boolean' }),
      ageColumn,
      column('PreemptionPolicy', 'Whether pods of this class may preempt lower-priority pods.'),
    ],
    cells: (pc, now) => [pc.metadata.name, pc.value ?? 0, !!pc.globalDefault, age(pc, now), pc.preemptionPolicy ?? ''],
  },
};
