// deploymentutil: the template hash and ReplicaSet naming, revisions and their annotations,
// maxSurge/maxUnavailable, and the Deployment conditions, with upstream's names and texts.
import type { KubeObject } from '../../api/object.js';
import { deepEqual, isPlainObject, timestamp } from '../../api/object.js';
import { isPodActive } from '../../api/podcontrol/pods.js';
import { computeHash, safeEncode, withoutNullFields } from '../../api/podcontrol/hash.js';

export { computeHash, safeEncode };

export const DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const ROLLBACK_TO = 'deprecated.deployment.rollback.to';

/* ---------- conditions (deployment_util.go) ---------- */

export const AVAILABLE = 'Available';
export const PROGRESSING = 'Progressing';
export const REPLICA_FAILURE = 'ReplicaFailure';

export const reasons = {
  NewReplicaSetCreated: 'NewReplicaSetCreated',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  DeploymentPaused: 'DeploymentPaused',
  DeploymentResumed: 'DeploymentResumed',
  FailedRSCreate: 'ReplicaSetCreateError',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

export interface DeploymentCondition {
  type: string;
  status: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function newCondition(type: string, status: string, reason: string, message: string, now: number): DeploymentCondition {
  const t = timestamp(new Date(now));
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(status: Record<string, any> | undefined, type: string): DeploymentCondition | undefined {
  return (status?.conditions as DeploymentCondition[] | undefined)?.find((c) => c?.type === type);
}

/** SetDeploymentCondition: same status and reason changes nothing; same status keeps the transition time. */
export function setCondition(status: Record<string, any>, c: DeploymentCondition): void {
  const current = getCondition(status, c.type);
  if (current && current.status === c.status && current.reason === c.reason) return;
  const next = { ...c };
  if (current && current.status === c.status) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...((status.conditions as DeploymentCondition[] | undefined) ?? []).filter((x) => x.type !== c.type), next];
}

export function removeCondition(status: Record<string, any>, type: string): void {
  if (!Array.isArray(status.conditions)) return;
  status.conditions = status.conditions.filter((c: DeploymentCondition) => c.type !== type);
  if (!status.conditions.length) delete status.conditions;
}

/* ---------- hash and naming ---------- */

/** EqualIgnoreHash: two pod templates equal but for the pod-template-hash label (a null field is one left out). */
export function equalIgnoreHash(a: any, b: any): boolean {
  const strip = (t: any) => {
    const c = withoutNullFields(t ?? {});
    if (isPlainObject(c.metadata?.labels)) {
      delete c.metadata.labels[DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY];
      if (!Object.keys(c.metadata.labels).length) delete c.metadata.labels;
    }
    return c;
  };
  return deepEqual(strip(a), strip(b));
}

/* ---------- replica sets ---------- */

export function replicasOf(rs: KubeObject | undefined): number {
  return rs?.spec?.replicas ?? 0;
}

export function statusCount(rs: KubeObject | undefined, key: string): number {
  const v = rs?.status?.[key];
  return typeof v === 'number' ? v : 0;
}

export function sum(rss: (KubeObject | undefined)[], f: (rs: KubeObject) => number): number {
  return rss.reduce((n, rs) => n + (rs ? f(rs) : 0), 0);
}

export function revisionOf(obj: KubeObject | undefined): number {
  const v = Number(obj?.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);
  return Number.isInteger(v) ? v : 0;
}

export function maxRevision(rss: KubeObject[]): number {
  return rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

export function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

/** FindNewReplicaSet: the oldest ReplicaSet whose template equals the deployment's. */
export function findNewReplicaSet(d: KubeObject, rss: KubeObject[]): KubeObject | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/* ---------- surge and unavailability ---------- */

function scaled(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[0-9]+%$/.test(v)) {
    const x = (Number(v.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v);
  return 0;
}

/** ResolveFenceposts: surge rounds up, unavailability down; both zero means one unavailable. */
export function resolveFenceposts(d: KubeObject): { maxSurge: number; maxUnavailable: number } {
  const replicas: number = d.spec?.replicas ?? 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const maxSurge = scaled(ru.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = scaled(ru.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export function isRollingUpdate(d: KubeObject): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

export function maxUnavailable(d: KubeObject): number {
  const replicas: number = d.spec?.replicas ?? 0;
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d).maxUnavailable, replicas);
}

export function maxSurge(d: KubeObject): number {
  return isRollingUpdate(d) ? resolveFenceposts(d).maxSurge : 0;
}

/* ---------- annotations ---------- */

function skipCopy(key: string): boolean {
  return [LAST_APPLIED, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, ROLLBACK_TO].includes(key);
}

/** copyDeploymentAnnotationsToReplicaSet; answers whether anything changed. */
export function copyAnnotations(d: KubeObject, rs: KubeObject): boolean {
  let changed = false;
  const target = (rs.metadata.annotations ??= {});
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (skipCopy(k) || target[k] === v) continue;
    target[k] = v as string;
    changed = true;
  }
  return changed;
}

/** SetReplicasAnnotations; answers whether anything changed. */
export function setReplicasAnnotations(rs: KubeObject, desired: number, max: number): boolean {
  const a = (rs.metadata.annotations ??= {});
  let changed = false;
  if (a[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    a[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (a[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    a[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

/** SetNewReplicaSetAnnotations; answers whether anything changed. */
export function setNewReplicaSetAnnotations(d: KubeObject, rs: KubeObject, newRevision: string, exists: boolean): boolean {
  let changed = copyAnnotations(d, rs);
  const a = (rs.metadata.annotations ??= {});
  const oldRevision = a[REVISION_ANNOTATION];
  if ((Number(oldRevision) || 0) < Number(newRevision)) {
    a[REVISION_ANNOTATION] = newRevision;
    changed = true;
    if (oldRevision && exists) {
      a[REVISION_HISTORY_ANNOTATION] = a[REVISION_HISTORY_ANNOTATION] ? `${a[REVISION_HISTORY_ANNOTATION]},${oldRevision}` : oldRevision;
    }
  }
  if (!exists && setReplicasAnnotations(rs, d.spec?.replicas ?? 0, (d.spec?.replicas ?? 0) + maxSurge(d))) changed = true;
  return changed;
}

/* ---------- completion and progress ---------- */

export function deploymentComplete(d: KubeObject, status: Record<string, any>): boolean {
  const replicas: number = d.spec?.replicas ?? 0;
  return (
    (status.updatedReplicas ?? 0) === replicas &&
    (status.replicas ?? 0) === replicas &&
    (status.availableReplicas ?? 0) === replicas &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** DeploymentProgressing: more updated, fewer old, more available or more ready pods than last time. */
export function deploymentProgressing(d: KubeObject, next: Record<string, any>): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

export function hasProgressDeadline(d: KubeObject): boolean {
  const v = d.spec?.progressDeadlineSeconds;
  return typeof v === 'number' && v !== 2147483647;
}

/** DeploymentTimedOut: no progress since the Progressing condition's last update, for the deadline. */
export function deploymentTimedOut(d: KubeObject, status: Record<string, any>, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(status, PROGRESSING);
  if (!c) return false;
  if (c.reason === reasons.NewReplicaSetAvailable) return false;
  if (c.reason === reasons.ProgressDeadlineExceeded) return true;
  const from = Date.parse(c.lastUpdateTime ?? '');
  if (Number.isNaN(from)) return false;
  return from + d.spec.progressDeadlineSeconds * 1000 < now;
}

export function activePodsOf(pods: KubeObject[]): KubeObject[] {
  return pods.filter(isPodActive);
}
