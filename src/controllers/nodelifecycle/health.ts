// Pure rules of node health: conditions turned Unknown when a node goes silent, the
// NoSchedule taints that mirror conditions, and the disruption state of a zone.
import { timestamp, type KubeObject } from '../../api/object.js';
import { TAINT, type Taint } from '../../api/taints.js';

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

/** The conditions the kubelet owns; NetworkUnavailable belongs to the network plugin and is left alone. */
const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export function nodeConditions(node: KubeObject): NodeCondition[] {
  return Array.isArray(node.status?.conditions) ? node.status.conditions : [];
}

export function readyCondition(node: KubeObject): NodeCondition | undefined {
  return nodeConditions(node).find((c) => c.type === 'Ready');
}

export function isNodeReady(node: KubeObject): boolean {
  return readyCondition(node)?.status === 'True';
}

/** Marks the kubelet's conditions Unknown on a node object (mutating it), as for a node that stopped reporting. */
export function markConditionsUnknown(node: KubeObject, now: Date): void {
  node.status ??= {};
  const conditions: NodeCondition[] = (node.status.conditions ??= []);
  for (const type of KUBELET_CONDITIONS) {
    const c = conditions.find((x) => x.type === type);
    if (!c) {
      conditions.push({
        type,
        status: 'Unknown',
        lastHeartbeatTime: node.metadata.creationTimestamp ?? undefined,
        lastTransitionTime: timestamp(now),
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
      });
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = 'NodeStatusUnknown';
      c.message = 'Kubelet stopped posting node status.';
      c.lastTransitionTime = timestamp(now);
    }
  }
}

/** Condition type → status → the taint key that mirrors it. */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT.notReady, Unknown: TAINT.unreachable },
  MemoryPressure: { True: TAINT.memoryPressure },
  DiskPressure: { True: TAINT.diskPressure },
  NetworkUnavailable: { True: TAINT.networkUnavailable },
  PIDPressure: { True: TAINT.pidPressure },
};
const CONDITION_TAINT_KEYS = new Set<string>(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

export function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

/**
 * The NoSchedule taints the node's conditions (and cordon) call for, compared with the ones
 * it has: what to add and what to remove. Other taints are not this controller's business.
 */
export function noScheduleTaintChanges(node: KubeObject): { add: Taint[]; remove: Taint[] } {
  const wanted: Taint[] = [];
  for (const c of nodeConditions(node)) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) wanted.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable) wanted.push({ key: TAINT.unschedulable, effect: 'NoSchedule' });
  const have = ((node.spec?.taints ?? []) as Taint[]).filter(
    (t) => t.effect === 'NoSchedule' && (t.key === TAINT.unschedulable || CONDITION_TAINT_KEYS.has(t.key)),
  );
  return {
    add: wanted.filter((w) => !have.some((h) => sameTaint(h, w))),
    remove: have.filter((h) => !wanted.some((w) => sameTaint(h, w))),
  };
}

export const NOT_READY_NO_EXECUTE: Taint = { key: TAINT.notReady, effect: 'NoExecute' };
export const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT.unreachable, effect: 'NoExecute' };

export function hasTaint(node: KubeObject, taint: Taint): boolean {
  return ((node.spec?.taints ?? []) as Taint[]).some((t) => sameTaint(t, taint));
}

/** The taints with these added (timeAdded now) and those removed; undefined when nothing changes. */
export function swappedTaints(node: KubeObject, add: Taint[], remove: Taint[], now: Date): Taint[] | undefined {
  const current = (node.spec?.taints ?? []) as Taint[];
  const kept = current.filter((t) => !remove.some((r) => sameTaint(t, r)));
  const added = add.filter((a) => !kept.some((t) => sameTaint(t, a))).map((a) => ({ ...a, timeAdded: timestamp(now) }));
  if (kept.length === current.length && !added.length) return undefined;
  return [...kept, ...added];
}

const REGION_LABELS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];
const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];

export function zoneKey(node: KubeObject): string {
  const labels = node.metadata.labels ?? {};
  const region = REGION_LABELS.map((l) => labels[l]).find(Boolean) ?? '';
  const zone = ZONE_LABELS.map((l) => labels[l]).find(Boolean) ?? '';
  return region || zone ? `${region}:\u0000:${zone}` : '';
}

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** No Ready node at all: full disruption; more than two and at least the threshold share not Ready: partial. */
export function zoneState(readyStatuses: Array<string | undefined>, unhealthyThreshold: number): ZoneState {
  const ready = readyStatuses.filter((s) => s === 'True').length;
  const notReady = readyStatuses.length - ready;
  if (ready === 0 && notReady > 0) return 'FullDisruption';
  if (notReady > 2 && notReady / readyStatuses.length >= unhealthyThreshold) return 'PartialDisruption';
  return 'Normal';
}
