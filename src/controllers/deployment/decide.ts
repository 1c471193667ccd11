// The Deployment controller's decisions, pure (deployment_controller.go syncDeployment and
// its rolling.go, recreate.go, sync.go, progress.go): from a Deployment and the ReplicaSets
// and pods of its namespace, the ordered API calls of one pass. Like upstream, a pass takes
// one step of a rollout (scale the new set up, or the old ones down) and then reports status;
// the ReplicaSet updates it causes wake the next pass.
import type { KubeObject } from '../../api/object.js';
import { clone, deepEqual, isPlainObject } from '../../api/object.js';
import { labelSelectorFromObject, type LabelSelector } from '../../api/selectors.js';
import { claimObjects, type ClaimPatch } from '../../api/podcontrol/claim.js';
import { controllerRefTo } from '../../api/podcontrol/pods.js';
import {
  AVAILABLE,
  byCreation,
  computeHash,
  DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
  DESIRED_REPLICAS_ANNOTATION,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  findNewReplicaSet,
  getCondition,
  hasProgressDeadline,
  isRollingUpdate,
  MAX_REPLICAS_ANNOTATION,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newCondition,
  PROGRESSING,
  reasons,
  removeCondition,
  REPLICA_FAILURE,
  replicasOf,
  REVISION_ANNOTATION,
  revisionOf,
  setCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  statusCount,
  sum,
} from './util.js';

export const DEPLOYMENT_API_VERSION = 'apps/v1';
export const DEPLOYMENT_KIND = 'Deployment';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type DeploymentAction =
  | { verb: 'verifyOwner' }
  | { verb: 'adoptReplicaSet' | 'releaseReplicaSet'; name: string; patch: Record<string, unknown> }
  | { verb: 'createReplicaSet'; rs: KubeObject; event?: EventSpec }
  | { verb: 'updateReplicaSet'; rs: KubeObject; event?: EventSpec }
  | { verb: 'deleteReplicaSet'; rs: KubeObject }
  | { verb: 'updateStatus'; deployment: KubeObject }
  | { verb: 'event'; event: EventSpec };

export interface DeploymentPlan {
  actions: DeploymentAction[];
  /** look again after this long even if nothing changes (progress deadline, stuck rollouts) */
  requeueAfterSeconds?: number;
}

export interface DeploymentInput {
  deployment: KubeObject;
  /** every ReplicaSet of the namespace */
  replicaSets: KubeObject[];
  /** every pod of the namespace (Recreate waits for the old ones to be gone) */
  pods: KubeObject[];
  now: number;
}

/** The state one pass works on: copies, changed as the planned calls would change them. */
class Pass {
  readonly actions: DeploymentAction[] = [];
  readonly d: KubeObject;
  rsList: KubeObject[];
  requeueAfterSeconds?: number;

  constructor(
    readonly original: KubeObject,
    rsList: KubeObject[],
    readonly pods: KubeObject[],
    readonly now: number,
  ) {
    this.d = clone(original);
    this.d.status = isPlainObject(this.d.status) ? this.d.status : {};
    this.rsList = rsList.map((rs) => clone(rs));
  }

  get replicas(): number {
    return this.d.spec?.replicas ?? 0;
  }

  event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.actions.push({ verb: 'event', event: { type, reason, message } });
  }

  replace(rs: KubeObject): void {
    this.rsList = this.rsList.map((x) => (x.metadata.uid === rs.metadata.uid && x.metadata.name === rs.metadata.name ? rs : x));
  }

  /** getAllReplicaSetsAndSyncRevision's split: the new set (the template's) and the others. */
  split(): { newRS?: KubeObject; oldRSs: KubeObject[] } {
    const newRS = findNewReplicaSet(this.d, this.rsList);
    return { newRS, oldRSs: this.rsList.filter((rs) => rs !== newRS) };
  }
}

export function decide(input: DeploymentInput): DeploymentPlan {
  const pass = new Pass(input.deployment, [], input.pods, input.now);
  const d = pass.d;
  let selector: LabelSelector;
  try {
    selector = labelSelectorFromObject(d.spec?.selector);
  } catch (e) {
    return { actions: [{ verb: 'event', event: { type: 'Warning', reason: 'SelectorParsingFailed', message: (e as Error).message } }] };
  }
  if (selector.empty) {
    pass.event('Warning', 'SelectorRequired', 'This deployment is selecting all pods. A non-empty selector is required.');
    if ((d.status.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
      d.status.observedGeneration = d.metadata.generation;
      pass.actions.push({ verb: 'updateStatus', deployment: d });
    }
    return { actions: pass.actions };
  }

  // getReplicaSetsForDeployment: adopt matching orphans, release owned sets that stopped matching
  const ref = controllerRefTo(d, DEPLOYMENT_API_VERSION, DEPLOYMENT_KIND);
  const claim = claimObjects(
    d,
    input.replicaSets.filter((rs) => rs.metadata.namespace === d.metadata.namespace),
    (rs) => selector.matches(rs.metadata.labels),
    ref,
  );
  if (claim.adopt.length) pass.actions.push({ verb: 'verifyOwner' });
  const patches = (verb: 'adoptReplicaSet' | 'releaseReplicaSet', list: ClaimPatch[]) =>
    list.forEach((p) => pass.actions.push({ verb, name: p.name, patch: p.patch }));
  patches('adoptReplicaSet', claim.adopt);
  patches('releaseReplicaSet', claim.release);
  pass.rsList = claim.claimed.map((rs) => clone(rs));

  if (d.metadata.deletionTimestamp) {
    const { newRS, oldRSs } = pass.split();
    syncDeploymentStatus(pass, [...oldRSs, ...(newRS ? [newRS] : [])], newRS);
    return finish(pass);
  }

  checkPausedConditions(pass);
  if (d.spec?.paused) {
    sync(pass);
    return finish(pass);
  }
  if (isScalingEvent(pass)) {
    sync(pass);
    return finish(pass);
  }
  if (d.spec?.strategy?.type === 'Recreate') rolloutRecreate(pass);
  else rolloutRolling(pass);
  return finish(pass);
}

function finish(pass: Pass): DeploymentPlan {
  return { actions: pass.actions, requeueAfterSeconds: pass.requeueAfterSeconds };
}

/* ---------- the new ReplicaSet ---------- */

/**
 * getNewReplicaSet: the set of the current template with its revision brought up to date, or
 * (when asked) a new one, named <deployment>-<hash of the template>.
 */
function getNewReplicaSet(pass: Pass, create: boolean): KubeObject | undefined {
  const d = pass.d;
  const { newRS: existing, oldRSs } = pass.split();
  const newRevision = String(maxRevision(oldRSs) + 1);
  if (existing) {
    const rs = clone(existing);
    const annotationsUpdated = setNewReplicaSetAnnotations(d, rs, newRevision, true);
    const minReadyNeedsUpdate = (rs.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
    if (annotationsUpdated || minReadyNeedsUpdate) {
      rs.spec.minReadySeconds = d.spec?.minReadySeconds ?? 0;
      if (!rs.spec.minReadySeconds) delete rs.spec.minReadySeconds;
      pass.actions.push({ verb: 'updateReplicaSet', rs });
      pass.replace(rs);
    }
    setDeploymentRevision(d, rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '');
    if (hasProgressDeadline(d) && !getCondition(d.status, PROGRESSING)) {
      setCondition(d.status, newCondition(PROGRESSING, 'True', reasons.FoundNewReplicaSet, `Found new replica set "${rs.metadata.name}"`, pass.now));
    }
    return rs;
  }
  if (!create) return undefined;

  const hash = computeHash(d.spec?.template, d.status.collisionCount);
  const template = clone(d.spec?.template ?? {});
  template.metadata ??= {};
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash };
  const selector = clone(d.spec?.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash };
  const rs: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...template.metadata.labels },
      ownerReferences: [controllerRefTo(d, DEPLOYMENT_API_VERSION, DEPLOYMENT_KIND)],
    },
    spec: { replicas: 0, selector, template },
  };
  if (d.spec?.minReadySeconds) rs.spec.minReadySeconds = d.spec.minReadySeconds;
  const all = [...oldRSs, rs];
  const replicas = newRSNewReplicas(d, all, rs);
  rs.spec.replicas = replicas;
  setNewReplicaSetAnnotations(d, rs, newRevision, false);
  pass.actions.push({
    verb: 'createReplicaSet',
    rs,
    event: replicas > 0 ? { type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${rs.metadata.name} from 0 to ${replicas}` } : undefined,
  });
  pass.rsList.push(rs);
  setDeploymentRevision(d, newRevision);
  if (hasProgressDeadline(d)) {
    setCondition(d.status, newCondition(PROGRESSING, 'True', reasons.NewReplicaSetCreated, `Created new replica set "${rs.metadata.name}"`, pass.now));
  }
  return rs;
}

function setDeploymentRevision(d: KubeObject, revision: string): void {
  if (!revision) return;
  d.metadata.annotations ??= {};
  if (d.metadata.annotations[REVISION_ANNOTATION] !== revision) d.metadata.annotations[REVISION_ANNOTATION] = revision;
}

/** NewRSNewReplicas: how big the new set may be now. */
export function newRSNewReplicas(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject): number {
  const replicas: number = d.spec?.replicas ?? 0;
  if (!isRollingUpdate(d)) return replicas;
  const current = sum(allRSs, replicasOf);
  const maxTotal = replicas + maxSurge(d);
  if (current >= maxTotal) return replicasOf(newRS);
  const scaleUp = Math.min(maxTotal - current, replicas - replicasOf(newRS));
  return replicasOf(newRS) + scaleUp;
}

/* ---------- scaling ---------- */

/** scaleReplicaSet: the size and the desired/max annotations, one update. */
function scaleReplicaSet(pass: Pass, rs: KubeObject, newScale: number, operation: 'up' | 'down'): KubeObject {
  const d = pass.d;
  const sizeNeedsUpdate = replicasOf(rs) !== newScale;
  const next = clone(rs);
  const annotationsChanged = setReplicasAnnotations(next, pass.replicas, pass.replicas + maxSurge(d));
  if (!sizeNeedsUpdate && !annotationsChanged) return rs;
  const old = replicasOf(rs);
  next.spec.replicas = newScale;
  pass.actions.push({
    verb: 'updateReplicaSet',
    rs: next,
    event: sizeNeedsUpdate
      ? { type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled ${operation} replica set ${rs.metadata.name} from ${old} to ${newScale}` }
      : undefined,
  });
  pass.replace(next);
  return next;
}

function scaleAndRecord(pass: Pass, rs: KubeObject, newScale: number): boolean {
  if (replicasOf(rs) === newScale) return false;
  scaleReplicaSet(pass, rs, newScale, replicasOf(rs) < newScale ? 'up' : 'down');
  return true;
}

function current(pass: Pass, rs: KubeObject): KubeObject {
  return pass.rsList.find((x) => x.metadata.name === rs.metadata.name) ?? rs;
}

const active = (rss: (KubeObject | undefined)[]): KubeObject[] => rss.filter((rs): rs is KubeObject => !!rs && replicasOf(rs) > 0);

/** isScalingEvent: an active set was sized for another spec.replicas. */
function isScalingEvent(pass: Pass): boolean {
  const { newRS, oldRSs } = pass.split();
  for (const rs of active([...oldRSs, newRS])) {
    const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
    if (desired === undefined || !/^[0-9]+$/.test(desired)) continue;
    if (Number(desired) !== pass.replicas) return true;
  }
  return false;
}

/** FindActiveOrLatest: the only active set, or the newest when none is active. */
function findActiveOrLatest(newRS: KubeObject | undefined, oldRSs: KubeObject[]): KubeObject | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const all = active([...oldRSs, newRS]);
  if (all.length === 0) return newRS ?? newestFirst[0];
  if (all.length === 1) return all[0];
  return undefined;
}

function isSaturated(d: KubeObject, rs: KubeObject | undefined): boolean {
  if (!rs) return false;
  const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  const replicas = d.spec?.replicas ?? 0;
  return desired === String(replicas) && replicasOf(rs) === replicas && statusCount(rs, 'availableReplicas') === replicas;
}

/** scale: spec.replicas changed, or the deployment is paused; proportional scaling mid-rollout. */
function scale(pass: Pass, newRS: KubeObject | undefined, oldRSs: KubeObject[]): void {
  const d = pass.d;
  const target = findActiveOrLatest(newRS, oldRSs);
  if (target) {
    if (replicasOf(target) !== pass.replicas) scaleAndRecord(pass, target, pass.replicas);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of active(oldRSs)) scaleAndRecord(pass, old, 0);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const all = active([...oldRSs, newRS]);
  const allReplicas = sum(all, replicasOf);
  const allowed = pass.replicas > 0 ? pass.replicas + maxSurge(d) : 0;
  const toAdd = allowed - allReplicas;
  if (toAdd === 0) return;
  const created = (rs: KubeObject) => Date.parse(rs.metadata.creationTimestamp ?? '') || Number.MAX_SAFE_INTEGER;
  // larger first; on a tie the newer first when growing, the older first when shrinking
  all.sort((a, b) => replicasOf(b) - replicasOf(a) || (toAdd > 0 ? created(b) - created(a) : created(a) - created(b)));
  let added = 0;
  const sizes = new Map<KubeObject, number>();
  for (const rs of all) {
    const proportion = getProportion(pass, rs, toAdd, added);
    sizes.set(rs, replicasOf(rs) + proportion);
    added += proportion;
  }
  if (all.length) sizes.set(all[0], Math.max(0, (sizes.get(all[0]) ?? 0) + toAdd - added));
  for (const rs of all) scaleReplicaSet(pass, rs, sizes.get(rs) ?? replicasOf(rs), toAdd > 0 ? 'up' : 'down');
}

function getProportion(pass: Pass, rs: KubeObject, toAdd: number, added: number): number {
  if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(pass, rs);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(pass: Pass, rs: KubeObject): number {
  if (pass.replicas === 0) return -replicasOf(rs);
  const deploymentReplicas = pass.replicas + maxSurge(pass.d);
  const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION]);
  const base = Number.isInteger(annotated) && annotated > 0 ? annotated : pass.d.status.replicas || 1;
  return Math.round((replicasOf(rs) * deploymentReplicas) / base) - replicasOf(rs);
}

/* ---------- strategies ---------- */

function rolloutRolling(pass: Pass): void {
  const newRS = getNewReplicaSet(pass, true)!;
  const { oldRSs } = pass.split();
  if (reconcileNewReplicaSet(pass, [...oldRSs, newRS], newRS)) return syncRolloutStatus(pass);
  if (reconcileOldReplicaSets(pass, newRS)) return syncRolloutStatus(pass);
  if (deploymentComplete(pass.d, pass.d.status)) cleanupDeployment(pass);
  syncRolloutStatus(pass);
}

function reconcileNewReplicaSet(pass: Pass, allRSs: KubeObject[], newRS: KubeObject): boolean {
  if (replicasOf(newRS) === pass.replicas) return false;
  if (replicasOf(newRS) > pass.replicas) return scaleAndRecord(pass, newRS, pass.replicas);
  return scaleAndRecord(pass, newRS, newRSNewReplicas(pass.d, allRSs, newRS));
}

function reconcileOldReplicaSets(pass: Pass, newRSIn: KubeObject): boolean {
  const newRS = current(pass, newRSIn);
  let oldRSs = active(pass.split().oldRSs);
  if (sum(oldRSs, replicasOf) === 0) return false;
  const allPods = sum([...oldRSs, newRS], replicasOf);
  const minAvailable = pass.replicas - maxUnavailable(pass.d);
  const newRSUnavailable = replicasOf(newRS) - statusCount(newRS, 'availableReplicas');
  const maxScaledDown = allPods - minAvailable - newRSUnavailable;
  if (maxScaledDown <= 0) return false;

  // cleanupUnhealthyReplicas: old pods that are not available go first, they serve nobody
  let cleaned = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (cleaned >= maxScaledDown) break;
    if (replicasOf(rs) === 0 || replicasOf(rs) === statusCount(rs, 'availableReplicas')) continue;
    const count = Math.min(maxScaledDown - cleaned, replicasOf(rs) - statusCount(rs, 'availableReplicas'));
    scaleAndRecord(pass, rs, replicasOf(rs) - count);
    cleaned += count;
  }
  oldRSs = oldRSs.map((rs) => current(pass, rs));

  // scaleDownOldReplicaSetsForRollingUpdate: never below minAvailable available pods
  let scaledDown = 0;
  const available = sum([...oldRSs, newRS], (rs) => statusCount(rs, 'availableReplicas'));
  if (available > minAvailable) {
    const total = available - minAvailable;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (scaledDown >= total) break;
      if (replicasOf(rs) === 0) continue;
      const count = Math.min(replicasOf(rs), total - scaledDown);
      scaleAndRecord(pass, rs, replicasOf(rs) - count);
      scaledDown += count;
    }
  }
  return cleaned + scaledDown > 0;
}

function rolloutRecreate(pass: Pass): void {
  let newRS = getNewReplicaSet(pass, false);
  const { oldRSs } = pass.split();
  let scaledDown = false;
  for (const rs of active(oldRSs)) if (scaleAndRecord(pass, rs, 0)) scaledDown = true;
  if (scaledDown) return syncRolloutStatus(pass);
  if (oldPodsRunning(pass, newRS, oldRSs)) return syncRolloutStatus(pass);
  if (!newRS) newRS = getNewReplicaSet(pass, true)!;
  scaleAndRecord(pass, current(pass, newRS), pass.replicas);
  if (deploymentComplete(pass.d, pass.d.status)) cleanupDeployment(pass);
  syncRolloutStatus(pass);
}

/** oldPodsRunning: Recreate starts new pods only once no old pod runs. */
function oldPodsRunning(pass: Pass, newRS: KubeObject | undefined, oldRSs: KubeObject[]): boolean {
  if (sum(oldRSs, (rs) => statusCount(rs, 'replicas')) > 0) return true;
  const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
  for (const pod of pass.pods) {
    const owner = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (!owner || !oldUids.has(owner.uid) || owner.uid === newRS?.metadata.uid) continue;
    const phase = pod.status?.phase;
    if (phase === 'Failed' || phase === 'Succeeded') continue;
    return true;
  }
  return false;
}

/** sync: scaling and paused deployments: sizes only, no rollout. */
function sync(pass: Pass): void {
  const newRS = getNewReplicaSet(pass, false);
  const { oldRSs } = pass.split();
  scale(pass, newRS, oldRSs);
  if (pass.d.spec?.paused) cleanupDeployment(pass);
  syncDeploymentStatus(pass);
}

/** cleanupDeployment: old sets beyond revisionHistoryLimit, oldest revision first, if empty. */
function cleanupDeployment(pass: Pass): void {
  const limit = pass.d.spec?.revisionHistoryLimit;
  if (typeof limit !== 'number') return;
  const { oldRSs } = pass.split();
  const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
  const diff = cleanable.length - limit;
  if (diff <= 0) return;
  const byRevision = [...cleanable].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (const rs of byRevision.slice(0, diff)) {
    if (statusCount(rs, 'replicas') !== 0 || replicasOf(rs) !== 0) continue;
    if ((rs.metadata.generation ?? 0) > statusCount(rs, 'observedGeneration')) continue;
    pass.actions.push({ verb: 'deleteReplicaSet', rs });
  }
}

/* ---------- status ---------- */

function checkPausedConditions(pass: Pass): void {
  const d = pass.d;
  if (!hasProgressDeadline(d)) return;
  const cond = getCondition(d.status, PROGRESSING);
  if (cond?.reason === reasons.ProgressDeadlineExceeded) return;
  const pausedCondExists = cond?.reason === reasons.DeploymentPaused;
  if (d.spec?.paused && !pausedCondExists) {
    setCondition(d.status, newCondition(PROGRESSING, 'Unknown', reasons.DeploymentPaused, 'Deployment is paused', pass.now));
  } else if (!d.spec?.paused && pausedCondExists) {
    setCondition(d.status, newCondition(PROGRESSING, 'Unknown', reasons.DeploymentResumed, 'Deployment is resumed', pass.now));
  }
}

/** calculateStatus: counts from the ReplicaSets, and the Available condition. */
export function calculateStatus(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject | undefined, now: number): Record<string, any> {
  const available = sum(allRSs, (rs) => statusCount(rs, 'availableReplicas'));
  const total = sum(allRSs, replicasOf);
  const status: Record<string, any> = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: sum(allRSs, (rs) => statusCount(rs, 'replicas')),
    updatedReplicas: statusCount(newRS, 'replicas'),
    readyReplicas: sum(allRSs, (rs) => statusCount(rs, 'readyReplicas')),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
  };
  if (d.status?.collisionCount != null) status.collisionCount = d.status.collisionCount;
  if (Array.isArray(d.status?.conditions)) status.conditions = clone(d.status.conditions);
  if (available >= (d.spec?.replicas ?? 0) - maxUnavailable(d)) {
    setCondition(status, newCondition(AVAILABLE, 'True', reasons.MinimumReplicasAvailable, 'Deployment has minimum availability.', now));
  } else {
    setCondition(status, newCondition(AVAILABLE, 'False', reasons.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', now));
  }
  return status;
}

function allOf(pass: Pass): { allRSs: KubeObject[]; newRS?: KubeObject } {
  const { newRS, oldRSs } = pass.split();
  return { allRSs: [...oldRSs, ...(newRS ? [newRS] : [])], newRS };
}

function syncDeploymentStatus(pass: Pass, allRSsIn?: KubeObject[], newRSIn?: KubeObject): void {
  const { allRSs, newRS } = allRSsIn ? { allRSs: allRSsIn, newRS: newRSIn } : allOf(pass);
  writeStatus(pass, calculateStatus(pass.d, allRSs, newRS, pass.now));
}

/** syncRolloutStatus: counts plus the Progressing and ReplicaFailure conditions. */
function syncRolloutStatus(pass: Pass): void {
  const d = pass.d;
  const { allRSs, newRS } = allOf(pass);
  const next = calculateStatus(d, allRSs, newRS, pass.now);
  if (!hasProgressDeadline(d)) removeCondition(next, PROGRESSING);
  const cond = getCondition(d.status, PROGRESSING);
  const isComplete = next.replicas === next.updatedReplicas && cond?.reason === reasons.NewReplicaSetAvailable;
  if (hasProgressDeadline(d) && !isComplete) {
    const name = newRS?.metadata.name;
    if (deploymentComplete(d, next)) {
      const msg = name ? `ReplicaSet "${name}" has successfully progressed.` : 'Deployment has successfully progressed.';
      setCondition(next, newCondition(PROGRESSING, 'True', reasons.NewReplicaSetAvailable, msg, pass.now));
    } else if (deploymentProgressing(d, next)) {
      const msg = name ? `ReplicaSet "${name}" is progressing.` : 'Deployment is progressing.';
      const c = newCondition(PROGRESSING, 'True', reasons.ReplicaSetUpdated, msg, pass.now);
      // progress moves lastUpdateTime (the deadline counts from it), not the transition time
      if (cond?.status === 'True') c.lastTransitionTime = cond.lastTransitionTime;
      removeCondition(next, PROGRESSING);
      setCondition(next, c);
    } else if (deploymentTimedOut(d, next, pass.now)) {
      const msg = name ? `ReplicaSet "${name}" has timed out progressing.` : `Deployment "${d.metadata.name}" has timed out progressing.`;
      setCondition(next, newCondition(PROGRESSING, 'False', reasons.ProgressDeadlineExceeded, msg, pass.now));
    }
  }
  const failure = allRSs
    .flatMap((rs) => (Array.isArray(rs.status?.conditions) ? rs.status.conditions : []))
    .find((c: any) => c?.type === 'ReplicaFailure');
  if (failure) {
    setCondition(next, {
      type: REPLICA_FAILURE,
      status: failure.status,
      lastUpdateTime: failure.lastTransitionTime,
      lastTransitionTime: failure.lastTransitionTime,
      reason: failure.reason,
      message: failure.message,
    });
  } else removeCondition(next, REPLICA_FAILURE);
  writeStatus(pass, next);
  pass.requeueAfterSeconds = requeueStuck(d, next, pass.now);
}

/** requeueStuckDeployment: look again when the progress deadline would pass. */
function requeueStuck(d: KubeObject, status: Record<string, any>, now: number): number | undefined {
  const cond = getCondition(status, PROGRESSING);
  if (!hasProgressDeadline(d) || !cond) return undefined;
  if (deploymentComplete(d, status) || cond.reason === reasons.ProgressDeadlineExceeded) return undefined;
  const from = Date.parse(cond.lastUpdateTime ?? '');
  if (Number.isNaN(from)) return undefined;
  const after = from + d.spec.progressDeadlineSeconds * 1000 - now;
  return Math.max(1, Math.ceil(after / 1000) + 1);
}

/** One status write at the end of the pass, if the status or the revision annotation moved. */
function writeStatus(pass: Pass, next: Record<string, any>): void {
  for (const key of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']) if (!next[key]) delete next[key];
  if (!next.observedGeneration) delete next.observedGeneration;
  const d = pass.d;
  d.status = next;
  const same = deepEqual(pass.original.status ?? {}, next) && deepEqual(pass.original.metadata.annotations ?? {}, d.metadata.annotations ?? {});
  if (!same) pass.actions.push({ verb: 'updateStatus', deployment: d });
}
