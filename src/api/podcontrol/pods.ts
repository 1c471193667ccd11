// Helpers the replica-managing controllers (ReplicaSet, ReplicationController, Job,
// DaemonSet) share, after upstream's pkg/controller (controller_utils.go): which pods count,
// pods from templates, the order in which surplus pods are deleted, and the controller ref.
// A library, not a controller: it holds no state and imports no controller.
import type { KubeObject, OwnerReference } from '../object.js';
import { clone, controllerRef, isPlainObject } from '../object.js';
import { podCondition } from '../pod-status.js';

/** Not finished and not being deleted (controller.IsPodActive). */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Ready for minReadySeconds (podutil.IsPodAvailable): strictly after, measured from the Ready transition. */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  const ready = podCondition(pod, 'Ready');
  if (ready?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = Date.parse(ready.lastTransitionTime ?? '');
  return !Number.isNaN(since) && since + minReadySeconds * 1000 < now;
}

/** Seconds until a ready pod becomes available, or undefined if it is not ready or already is. */
export function secondsUntilAvailable(pod: KubeObject, minReadySeconds: number, now: number): number | undefined {
  const ready = podCondition(pod, 'Ready');
  if (ready?.status !== 'True' || !minReadySeconds) return undefined;
  const since = Date.parse(ready.lastTransitionTime ?? '');
  if (Number.isNaN(since)) return undefined;
  const left = since + minReadySeconds * 1000 - now;
  return left >= 0 ? Math.ceil(left / 1000) + 1 : undefined;
}

export function controllerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** getPodsPrefix: pods are named <owner>-<random>. */
export function podNamePrefix(ownerName: string): string {
  return `${ownerName}-`;
}

/** GetPodFromTemplate: labels, annotations, finalizers and spec of the template, owned by the controller. */
export function podFromTemplate(template: any, namespace: string, ref: OwnerReference, generateName: string): KubeObject {
  const meta = isPlainObject(template?.metadata) ? template.metadata : {};
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName, namespace, ownerReferences: [ref] },
    spec: clone(template?.spec ?? {}),
  };
  if (isPlainObject(meta.labels)) pod.metadata.labels = { ...meta.labels };
  if (isPlainObject(meta.annotations)) pod.metadata.annotations = { ...meta.annotations };
  if (Array.isArray(meta.finalizers)) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}

/** Pods under the owner's control: its controller ref names the owner's uid. */
export function ownedBy(owner: KubeObject, pod: KubeObject): boolean {
  return controllerRef(pod)?.uid === owner.metadata.uid;
}

/* ---------- which surplus pods go first (controller.ActivePodsWithRanks) ---------- */

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

function deletionCost(pod: KubeObject): number {
  const v = Number(pod.metadata.annotations?.[POD_DELETION_COST]);
  return Number.isFinite(v) ? v : 0;
}

function readyTime(pod: KubeObject): number {
  const t = Date.parse(podCondition(pod, 'Ready')?.lastTransitionTime ?? '');
  return Number.isNaN(t) ? 0 : t;
}

function restarts(pod: KubeObject): number {
  let max = 0;
  for (const c of (pod.status?.containerStatuses as any[] | undefined) ?? []) max = Math.max(max, c?.restartCount ?? 0);
  return max;
}

/**
 * Orders pods so the ones to delete first come first: unscheduled before scheduled, pending
 * before unknown before running, not ready before ready, lower deletion cost first, more pods
 * of the same owner on the node first, ready for less time first, more restarts first, newer
 * first. `rank` counts related pods on each pod's node.
 */
export function compareForDeletion(a: KubeObject, b: KubeObject, rank: (p: KubeObject) => number): number {
  const assigned = (p: KubeObject) => (p.spec?.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const phase = (p: KubeObject) => PHASE_ORDER[p.status?.phase ?? 'Pending'] ?? 0;
  if (phase(a) !== phase(b)) return phase(a) - phase(b);
  const ready = (p: KubeObject) => (isPodReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  if (deletionCost(a) !== deletionCost(b)) return deletionCost(a) - deletionCost(b);
  if (rank(a) !== rank(b)) return rank(b) - rank(a);
  if (isPodReady(a) && isPodReady(b) && readyTime(a) !== readyTime(b)) return readyTime(b) - readyTime(a);
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  const created = (p: KubeObject) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;
  if (created(a) !== created(b)) return created(b) - created(a);
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

/** The `count` pods to delete among `pods`, ranked against `related` (pods of the same owner family). */
export function podsToDelete(pods: KubeObject[], related: KubeObject[], count: number): KubeObject[] {
  if (count <= 0) return [];
  const perNode = new Map<string, number>();
  for (const p of related) {
    const node = p.spec?.nodeName;
    if (node && isPodActive(p)) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const rank = (p: KubeObject) => (p.spec?.nodeName ? perNode.get(p.spec.nodeName) ?? 0 : 0);
  return [...pods].sort((a, b) => compareForDeletion(a, b, rank)).slice(0, count);
}

/** Upstream's slowStartBatch sizes: 1, 2, 4, ... until count is reached. */
export function slowStartBatches(count: number, initial = 1): number[] {
  const batches: number[] = [];
  let size = Math.min(count, initial);
  let left = count;
  while (left > 0) {
    batches.push(size);
    left -= size;
    size = Math.min(2 * size, left);
  }
  return batches;
}
