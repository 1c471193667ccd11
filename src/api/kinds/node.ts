// core/v1 Node: registered by node agents, which keep its status current.
import type { KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, isValidLabelValue, type FieldError } from '../validation.js';
import { age, ageColumn, column, list, nameColumn, record, validateQualifiedName, type Obj } from './support.js';

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const ROLE_PREFIX = 'node-role.kubernetes.io/';
const ROLE_LABEL = 'kubernetes.io/role';
const CHANGE_ONCE = (what: string) => `node updates may not change ${what} except from "" to valid`;

function validateTaints(taints: Obj[]): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  taints.forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    errs.push(...validateQualifiedName(t.key ?? '', `${p}.key`));
    const valueProblems = isValidLabelValue(t.value ?? '');
    if (valueProblems.length) errs.push(field.invalid(`${p}.value`, t.value, valueProblems.join(';')));
    if (!t.effect) errs.push(field.required(`${p}.effect`));
    else if (!TAINT_EFFECTS.includes(t.effect)) errs.push(field.notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    const key = `${t.effect}\u0000${t.key}`;
    if (seen.has(key)) errs.push({ ...field.duplicate(p, t), detail: 'taints must be unique by key and effect pair' });
    seen.add(key);
  });
  return errs;
}

/** The roles kubectl shows: node-role.kubernetes.io/<role> labels and the legacy kubernetes.io/role. */
export function nodeRoles(node: KubeObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX)) {
      const role = k.slice(ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === ROLE_LABEL && v) roles.add(v);
  }
  return [...roles].sort();
}

/** "Ready", "NotReady", "Unknown" (no Ready condition yet), plus ",SchedulingDisabled" when cordoned. */
export function nodeStatusText(node: KubeObject): string {
  const ready = list(node.status?.conditions).find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function address(node: KubeObject, type: string): string {
  return list(node.status?.addresses).find((a) => a.type === type)?.address ?? '<none>';
}

export const nodeKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  definition: 'io.k8s.api.core.v1.Node',
  subresources: { status: true },

  defaults(node) {
    const status = node.status;
    if (status?.capacity && !status.allocatable) status.allocatable = { ...status.capacity };
  },

  validate(node) {
    return validateTaints(list(node.spec?.taints));
  },

  validateUpdate(node, old) {
    const errs: FieldError[] = [];
    const oldCIDRs = list<string>(old.spec?.podCIDRs);
    if (oldCIDRs.length && JSON.stringify(oldCIDRs) !== JSON.stringify(list(node.spec?.podCIDRs))) {
      errs.push(field.forbidden('spec.podCIDRs', CHANGE_ONCE('podCIDR')));
    }
    if (old.spec?.providerID && old.spec.providerID !== node.spec?.providerID) {
      errs.push(field.forbidden('spec.providerID', CHANGE_ONCE('providerID')));
    }
    return errs;
  },

  validateStatusUpdate(node) {
    const errs: FieldError[] = [];
    const seen = new Set<string>();
    list(node.status?.addresses).forEach((a, i) => {
      const key = `${a.type}\u0000${a.address}`;
      if (seen.has(key)) errs.push(field.duplicate(`status.addresses[${i}]`, a));
      seen.add(key);
    });
    return errs;
  },

  fields: {
    'spec.unschedulable': (node) => String(node.spec?.unschedulable === true),
  },

  table: {
    columns: [
      nameColumn,
      column('Status', 'Whether the node is ready, and whether scheduling onto it is disabled.'),
      column('Roles', 'Roles from the node-role.kubernetes.io/ labels.'),
      ageColumn,
      column('Version', 'Version of the node agent.'),
      column('Internal-IP', 'First internal address of the node.', { priority: 1 }),
      column('External-IP', 'First external address of the node.', { priority: 1 }),
      column('OS-Image', 'Operating system image of the node.', { priority: 1 }),
      column('Kernel-Version', 'Kernel version of the node.', { priority: 1 }),
      column('Container-Runtime', 'Container runtime and its version.', { priority: 1 }),
    ],
    cells(node, now) {
      const info = record(node.status?.nodeInfo);
      return [
        node.metadata.name,
        nodeStatusText(node),
        nodeRoles(node).join(',') || '<none>',
        age(node, now),
        info.kubeletVersion ?? '',
        address(node, 'InternalIP'),
        address(node, 'ExternalIP'),
        info.osImage || '<unknown>',
        info.kernelVersion || '<unknown>',
        info.containerRuntimeVersion || '<unknown>',
      ];
    },
  },
};
