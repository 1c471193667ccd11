// The DaemonSet controller's decisions, pure (daemon_controller.go manage / rollingUpdate /
// updateDaemonSetStatus): which nodes should run a daemon pod (node selector, required node
// affinity, taints against the daemon tolerations), pods to create per node, pods to delete
// (surplus, failed, misplaced, and old ones as the rolling update allows), and the status.
import type { KubeObject } from '../../api/object.js';
import { clone, isPlainObject } from '../../api/object.js';
import { TAINT, taintsOf, tolerationsOf, tolerationsTolerate, type Toleration } from '../../api/taints.js';
import { isPodActive, isPodAvailable, isPodReady } from '../../api/podcontrol/pods.js';

export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
export const POD_TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

export interface DaemonInput {
  ds: KubeObject;
  nodes: KubeObject[];
  /** the pods the set controls */
  pods: KubeObject[];
  /** hash of the current template (its ControllerRevision) */
  hash: string;
  now: number;
}

export interface DaemonPlan {
  /** nodes that get a new pod */
  createOn: string[];
  delete: { pod: KubeObject; failed?: boolean }[];
  status: Record<string, any>;
  requeueAfterSeconds?: number;
}

/** AddOrUpdateDaemonPodTolerations: daemons stay through node conditions that drive other pods off. */
export function daemonTolerations(template: any): Toleration[] {
  const tolerations: Toleration[] = [...((template?.spec?.tolerations as Toleration[] | undefined) ?? [])];
  const add = (key: string, effect: string) => {
    if (!tolerations.some((t) => t.key === key && t.operator === 'Exists' && t.effect === effect)) tolerations.push({ key, operator: 'Exists', effect });
  };
  add(TAINT.notReady, 'NoExecute');
  add(TAINT.unreachable, 'NoExecute');
  add(TAINT.diskPressure, 'NoSchedule');
  add(TAINT.memoryPressure, 'NoSchedule');
  add(TAINT.pidPressure, 'NoSchedule');
  add(TAINT.unschedulable, 'NoSchedule');
  if (template?.spec?.hostNetwork) add(TAINT.networkUnavailable, 'NoSchedule');
  return tolerations;
}

function matchesExpression(expr: any, value: string | undefined): boolean {
  const values: string[] = expr?.values ?? [];
  switch (expr?.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

/** The node selector and required node affinity of the template. */
function nodeMatches(template: any, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  const selector = template?.spec?.nodeSelector;
  if (isPlainObject(selector)) for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  const terms: any[] | undefined = template?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!Array.isArray(terms) || !terms.length) return true;
  return terms.some(
    (term) =>
      (term.matchExpressions ?? []).every((e: any) => matchesExpression(e, labels[e.key])) &&
      (term.matchFields ?? []).every((e: any) => matchesExpression(e, e.key === 'metadata.name' ? node.metadata.name : undefined)),
  );
}

/** NodeShouldRunDaemonPod: should run, and may keep running (NoExecute taints tolerated). */
export function nodeShouldRun(ds: KubeObject, node: KubeObject): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const template = ds.spec?.template;
  if (!nodeMatches(template, node)) return { shouldRun: false, shouldContinueRunning: false };
  const tolerations = daemonTolerations(template);
  const taints = taintsOf(node);
  const untolerated = (effect: string) => taints.some((t) => t.effect === effect && !tolerationsTolerate(tolerations, t));
  if (untolerated('NoExecute')) return { shouldRun: false, shouldContinueRunning: false };
  if (untolerated('NoSchedule')) return { shouldRun: false, shouldContinueRunning: true };
  return { shouldRun: true, shouldContinueRunning: true };
}

/** GetTargetNodeName: the node a pod is on, or the one its affinity pins it to. */
export function targetNode(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms: any[] = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

/** A daemon pod for one node: pinned by node affinity (the scheduler binds it), with the daemon tolerations. */
export function daemonPod(ds: KubeObject, node: string, hash: string, ref: any): KubeObject {
  const template = clone(ds.spec?.template ?? {});
  const meta = isPlainObject(template.metadata) ? template.metadata : {};
  const spec = template.spec ?? {};
  spec.affinity = {
    ...(spec.affinity ?? {}),
    nodeAffinity: {
      ...(spec.affinity?.nodeAffinity ?? {}),
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] },
    },
  };
  spec.tolerations = daemonTolerations(ds.spec?.template);
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels: {
        ...(meta.labels ?? {}),
        [CONTROLLER_REVISION_HASH_LABEL]: hash,
        [POD_TEMPLATE_GENERATION_LABEL]: String(ds.metadata.generation ?? 1),
      },
      ownerReferences: [ref],
    },
    spec,
  };
  if (isPlainObject(meta.annotations)) pod.metadata.annotations = { ...meta.annotations };
  return pod;
}

function scaled(v: unknown, total: number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[0-9]+%$/.test(v)) return Math.ceil((Number(v.slice(0, -1)) * total) / 100);
  return 0;
}

const isCurrent = (pod: KubeObject, hash: string) => pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash;
const byAge = (a: KubeObject, b: KubeObject) => (Date.parse(a.metadata.creationTimestamp ?? '') || 0) - (Date.parse(b.metadata.creationTimestamp ?? '') || 0);

export function decide(input: DaemonInput): DaemonPlan {
  const { ds, nodes, hash, now } = input;
  const minReady: number = ds.spec?.minReadySeconds ?? 0;
  const byNode = new Map<string, KubeObject[]>();
  for (const pod of input.pods) {
    const node = targetNode(pod);
    if (!node) continue;
    byNode.set(node, [...(byNode.get(node) ?? []), pod]);
  }
  const plan: DaemonPlan = { createOn: [], delete: [], status: {} };
  const deleting = !!ds.metadata.deletionTimestamp;
  const nodeNames = new Set(nodes.map((n) => n.metadata.name));

  // podsShouldBeOnNode, for every node
  const running = new Map<string, KubeObject[]>(); // nodes that should run, and their live pods
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const { shouldRun, shouldContinueRunning } = nodeShouldRun(ds, node);
    const pods = (byNode.get(name) ?? []).filter((p) => !p.metadata.deletionTimestamp);
    if (shouldRun || (shouldContinueRunning && pods.length)) {
      const live: KubeObject[] = [];
      for (const p of pods) {
        if (p.status?.phase === 'Failed') plan.delete.push({ pod: p, failed: true });
        else live.push(p);
      }
      if (shouldRun && !live.length && !plan.delete.some((d) => targetNode(d.pod) === name)) plan.createOn.push(name);
      // more than one daemon pod: keep the oldest current one (or the oldest), delete the rest
      const keep = live.filter((p) => isCurrent(p, hash)).sort(byAge)[0] ?? [...live].sort(byAge)[0];
      const surplus = live.filter((p) => p !== keep && (isCurrent(p, hash) || !isSurging(ds)));
      for (const p of surplus) plan.delete.push({ pod: p });
      running.set(name, live.filter((p) => !surplus.includes(p)));
    } else {
      for (const p of pods) plan.delete.push({ pod: p });
    }
  }
  // pods on nodes that no longer exist
  for (const [node, pods] of byNode) if (!nodeNames.has(node)) for (const p of pods) if (!p.metadata.deletionTimestamp) plan.delete.push({ pod: p });
  if (deleting) {
    plan.createOn = [];
    plan.delete = [];
  }

  // rollingUpdate: replace old pods, never more unavailable nodes than maxUnavailable
  if (!deleting && ds.spec?.updateStrategy?.type !== 'OnDelete') rollingUpdate(ds, running, hash, now, plan);

  // updateDaemonSetStatus
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const { shouldRun } = nodeShouldRun(ds, node);
    const pods = (byNode.get(name) ?? []).filter((p) => !p.metadata.deletionTimestamp);
    if (shouldRun) {
      desired++;
      if (pods.length) {
        current++;
        const oldest = [...pods].sort(byAge)[0];
        if (isPodReady(oldest)) ready++;
        if (isPodAvailable(oldest, minReady, now)) available++;
        if (pods.some((p) => isCurrent(p, hash))) updated++;
      }
    } else if (pods.some((p) => p.spec?.nodeName)) misscheduled++;
  }
  plan.status = {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: ds.metadata.generation ?? 0,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
  };
  if (ds.status?.collisionCount != null) plan.status.collisionCount = ds.status.collisionCount;
  for (const key of ['updatedNumberScheduled', 'numberAvailable', 'numberUnavailable']) if (!plan.status[key]) delete plan.status[key];
  if (minReady > 0 && ready > available) plan.requeueAfterSeconds = minReady;
  return plan;
}

function isSurging(ds: KubeObject): boolean {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  return ds.spec?.updateStrategy?.type !== 'OnDelete' && !!ru && ru.maxSurge !== 0 && ru.maxSurge !== '0%' && ru.maxSurge != null;
}

function rollingUpdate(ds: KubeObject, running: Map<string, KubeObject[]>, hash: string, now: number, plan: DaemonPlan): void {
  const minReady: number = ds.spec?.minReadySeconds ?? 0;
  const desired = running.size;
  const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
  const maxUnavailable = scaled(ru.maxUnavailable ?? 1, desired);
  const maxSurge = scaled(ru.maxSurge ?? 0, desired);
  const deleted = new Set(plan.delete.map((d) => d.pod));
  if (maxSurge === 0) {
    let unavailable = 0;
    const candidates: KubeObject[] = [];
    for (const [, pods] of running) {
      const live = pods.filter((p) => !deleted.has(p));
      const old = live.find((p) => !isCurrent(p, hash));
      const fresh = live.find((p) => isCurrent(p, hash));
      const availableNow = live.some((p) => isPodActive(p) && isPodAvailable(p, minReady, now));
      if (!availableNow) unavailable++;
      if (old && !fresh) {
        // an old pod that is not available anyway can go at once
        if (!isPodAvailable(old, minReady, now)) plan.delete.push({ pod: old });
        else candidates.push(old);
      }
    }
    for (const pod of candidates.sort(byAge)) {
      if (unavailable >= maxUnavailable) break;
      plan.delete.push({ pod });
      unavailable++;
    }
    return;
  }
  // surge: start the new pod beside the old, delete the old once the new one is available
  let surged = 0;
  for (const [node, pods] of running) {
    const old = pods.find((p) => !isCurrent(p, hash));
    const fresh = pods.find((p) => isCurrent(p, hash));
    if (!old) continue;
    if (fresh) {
      if (isPodAvailable(fresh, minReady, now)) plan.delete.push({ pod: old });
      else surged++;
    } else if (surged < maxSurge && !plan.createOn.includes(node)) {
      plan.createOn.push(node);
      surged++;
    }
  }
}

export interface HistoryPlan {
  /** no ControllerRevision has the current template: create one with this revision number */
  create?: number;
  /** the current template's ControllerRevision is not the newest (a rollback to it): raise it to this number */
  bump?: { revision: KubeObject; to: number };
  /** old ControllerRevisions beyond spec.revisionHistoryLimit, oldest first */
  delete: KubeObject[];
}

/**
 * constructHistory and cleanupHistory: the current template's revision is always the highest
 * (going back to an older template makes its revision the newest, so `rollout undo` without
 * --to-revision finds the one before it), and old revisions beyond revisionHistoryLimit go,
 * oldest first, unless a live pod still runs their template.
 */
export function decideHistory(ds: KubeObject, owned: KubeObject[], hash: string, pods: KubeObject[]): HistoryPlan {
  const revisionOf = (r: KubeObject) => Number((r as any).revision) || 0;
  const current = owned.find((r) => r.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash);
  const old = owned.filter((r) => r !== current);
  const next = old.reduce((m, r) => Math.max(m, revisionOf(r)), 0) + 1;
  const plan: HistoryPlan = { delete: [] };
  if (!current) plan.create = next;
  else if (revisionOf(current) < next) plan.bump = { revision: current, to: next };
  const limit: number = typeof ds.spec?.revisionHistoryLimit === 'number' ? ds.spec.revisionHistoryLimit : 10;
  let excess = old.length - limit;
  if (excess <= 0) return plan;
  const live = new Set(pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]));
  for (const r of [...old].sort((a, b) => revisionOf(a) - revisionOf(b))) {
    if (excess <= 0) break;
    if (live.has(r.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL])) continue;
    plan.delete.push(r);
    excess--;
  }
  return plan;
}
