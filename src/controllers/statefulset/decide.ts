// One reconcile of one StatefulSet, decided from observed state only: claim pods and
// revisions, pick revisions, then walk the replicas the way upstream's controller does and
// return the writes it would attempt in this pass, in order, with the status it would write.
import { timestamp, type KubeObject } from '../../api/object.js';
import type { Action, Step, Unit } from './actions.js';
import { sequential } from './actions.js';
import { claimPods, claimRevisions, labelSelector } from './adoption.js';
import { PodControl, type ClaimSource, type SettledReplicas } from './control.js';
import {
  endOrdinal,
  isCreated,
  isFailed,
  isPending,
  isRunningAndAvailable,
  isRunningAndReady,
  isSucceeded,
  isTerminating,
  isUnavailable,
  newStatefulSetPod,
  ordinalOf,
  podRevision,
  replicaCount,
  startOrdinal,
} from './identity.js';
import type { RevisionChoice } from './revision.js';
import { chooseRevisions, revisionsToTruncate, sharedTemplateOf } from './revision.js';
import type { EventSpec } from './events.js';
import { explainPlan, type Why } from './why.js';

/** Upstream's slow-start batches never grow beyond this. */
export const MAX_BATCH_SIZE = 500;

/** The MaxUnavailableStatefulSet feature gate; see src/api/features.ts for why it is on. */
export { MAX_UNAVAILABLE_STATEFULSET } from '../../api/features.js';
import { MAX_UNAVAILABLE_STATEFULSET } from '../../api/features.js';

export interface Gates {
  maxUnavailableStatefulSet: boolean;
}

export interface SyncInput {
  set: KubeObject;
  /** every pod in the set's namespace (claiming happens here) */
  pods: KubeObject[];
  /** every ControllerRevision in the set's namespace */
  revisions: KubeObject[];
  /** every PersistentVolumeClaim in the set's namespace, or a lookup of one by name in it */
  claims: ClaimSource;
  /** milliseconds since the epoch */
  now: number;
  gates?: Partial<Gates>;
  /** the nodes, for the why text only: a pod Terminating on a NotReady node (absent: not looked at) */
  nodes?: KubeObject[];
  /** Unhealthy events of the namespace, for the why text only: a failing probe's message */
  events?: KubeObject[];
  /**
   * Whether a pod of this name exists in the set's namespace, whoever owns it (the why text's
   * "not created" list); absent, `pods` is searched. For callers that pass only the pods the
   * set may claim.
   */
  podExists?: (name: string) => boolean;
  /** the controller's memo of replicas needing no repair; only for objects never changed in place */
  settled?: SettledReplicas;
}

/**
 * The condition the controller keeps on each set: status True while the pass is stopped by
 * something (reason and message say what, as `petset why` does), False while it makes
 * progress or has nothing to do. Written only when its status, reason or message changes.
 */
export const BLOCKED_CONDITION = 'Blocked';

/** Blocks a person must resolve: recorded once as a Warning event when the condition turns to them. */
const EVENT_REASONS = new Set(['RolloutHalted', 'PodTerminatingOnLostNode']);

export interface SetCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  availableReplicas: number;
  conditions?: SetCondition[];
}

type Counters = Required<Omit<StatefulSetStatus, 'conditions'>>;

export interface Plan {
  /** claim, revision, pods, status, history (only claim and revision when the pass cannot go on) */
  steps: Step[];
  /** the status this pass computes when every action succeeds (before "write only if different") */
  status?: StatefulSetStatus;
  /** replaces the status step when the pods step failed: rolling-update deletions did not count */
  statusIfPodsFail?: Step;
  /** check again after this long: pods may become available by the clock alone */
  requeueAfterSeconds?: number;
  /** the pass cannot get past the steps given; retry says whether backing off and trying again can help */
  error?: { message: string; retry: boolean };
  /** where the pod walk stopped and on which pod, put into words by why.ts */
  blocked?: Blocked;
  /** the stop in words: the Blocked condition's message and `petset why`'s answer */
  why: Why;
}

/** The slot a pass stopped at: in the replica walk, the scale-down walk, or the rolling update. */
export interface Blocked {
  stage: 'replica' | 'condemned' | 'rollout';
  pod: KubeObject;
}

interface Counts {
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
}

function count(pods: KubeObject[], minReadySeconds: number, now: number, current: string, update: string): Counts {
  const c: Counts = { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 };
  for (const pod of pods) {
    if (isCreated(pod)) c.replicas++;
    if (isRunningAndReady(pod)) {
      c.readyReplicas++;
      if (isRunningAndAvailable(pod, minReadySeconds, now)) c.availableReplicas++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      if (podRevision(pod) === current) c.currentReplicas++;
      if (podRevision(pod) === update) c.updatedReplicas++;
    }
  }
  return c;
}

/** Batches of 1, 2, 4 … (at most MAX_BATCH_SIZE) over all slots, as upstream's slowStartBatch. */
function slowStart(units: Unit[]): Unit[][] {
  const batches: Unit[][] = [];
  for (let i = 0, size = 1; i < units.length; i += size, size = Math.min(size * 2, MAX_BATCH_SIZE)) {
    const batch = units.slice(i, i + size).filter((u) => u.length);
    if (batch.length) batches.push(batch);
  }
  return batches;
}

function batchesFor(units: Unit[], monotonic: boolean): Unit[][] {
  return monotonic ? units.filter((u) => u.length).map((u) => [u]) : slowStart(units);
}

/** rollingUpdate.maxUnavailable against the replica count: percentages round down, never below 1. */
export function resolveMaxUnavailable(value: unknown, replicas: number): number {
  let n = 1;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^[0-9]+%$/.test(value)) n = Math.floor((parseInt(value, 10) * replicas) / 100);
  return Math.max(1, n);
}

/** The replica slots: claimed pods, and in-memory pods for empty slots built on first use. */
class Slots {
  constructor(
    private readonly pods: (KubeObject | undefined)[],
    private readonly build: (index: number) => KubeObject,
  ) {}

  at(i: number): KubeObject {
    return (this.pods[i] ??= this.build(i));
  }

  all(): KubeObject[] {
    return this.pods.map((_, i) => this.at(i));
  }
}

interface PodPass {
  batches: Unit[][];
  counts: Counts;
  /** deletions made by the rolling update (each lowers currentReplicas) */
  rollingDeletes: number;
  blocked?: Blocked;
}

class PodSync {
  private readonly minReadySeconds: number;
  private readonly monotonic: boolean;
  private readonly control: PodControl;
  private readonly updateSet: KubeObject;
  /** the unavailable pod the rolling update waits for */
  private rollWaitsFor?: KubeObject;

  constructor(
    private readonly set: KubeObject,
    private readonly revisions: RevisionChoice,
    private readonly templates: { current: any; update: any },
    claims: ClaimSource,
    private readonly now: number,
    private readonly gates: Gates,
    settled?: SettledReplicas,
  ) {
    this.minReadySeconds = set.spec?.minReadySeconds ?? 0;
    this.monotonic = set.spec?.podManagementPolicy !== 'Parallel';
    this.control = new PodControl(set, claims, settled);
    this.updateSet = { ...set, spec: { ...set.spec, template: templates.update } };
  }

  private unavailable(pod: KubeObject): boolean {
    return isUnavailable(pod, this.minReadySeconds, this.now);
  }

  private count(pods: KubeObject[]): Counts {
    const { current, update } = this.revisions;
    return count(pods, this.minReadySeconds, this.now, current.metadata.name ?? '', update.metadata.name ?? '');
  }

  /**
   * The pod for an empty slot: at the current revision below the partition (or, without a
   * rollingUpdate block, below status.currentReplicas), else at the update revision.
   */
  private newPod(ordinal: number): KubeObject {
    const strategy = this.set.spec?.updateStrategy ?? {};
    const start = startOrdinal(this.set);
    const ru = strategy.rollingUpdate;
    const useCurrent =
      (strategy.type === 'RollingUpdate' && !ru && ordinal < start + (this.set.status?.currentReplicas ?? 0)) ||
      (!!ru && ordinal < start + (ru.partition ?? 0));
    const revision = useCurrent ? this.revisions.current : this.revisions.update;
    const template = useCurrent ? this.templates.current : this.templates.update;
    return newStatefulSetPod(this.set, template, revision.metadata.name ?? '', ordinal);
  }

  run(claimed: KubeObject[]): PodPass {
    const set = this.set;
    const start = startOrdinal(set);
    const n = replicaCount(set);
    const replicas: (KubeObject | undefined)[] = new Array(n).fill(undefined);
    const condemned: KubeObject[] = [];
    for (const pod of claimed) {
      const ordinal = ordinalOf(pod);
      if (ordinal >= start && ordinal <= endOrdinal(set)) replicas[ordinal - start] = pod;
      else if (ordinal >= 0) condemned.push(pod);
    }
    // Empty slots get their in-memory pod only when a step looks at it: building all of them
    // on every pass made scaling up a large set quadratic. Not-created pods count for nothing
    // and are always unavailable, so counting and the first-unavailable search need none.
    const existing = replicas.filter((p): p is KubeObject => !!p);
    const anySlotUnavailable = existing.length < n || existing.some((p) => this.unavailable(p));
    const slots = new Slots([...replicas], (i) => this.newPod(start + i));
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
    // Only a condemned pod is ever compared against it, so a slot's identity is not needed.
    const firstUnavailable = anySlotUnavailable ? undefined : [...condemned].reverse().find((p) => this.unavailable(p));

    const pass: PodPass = { batches: [], counts: this.count([...existing, ...condemned]), rollingDeletes: 0 };
    if (set.metadata.deletionTimestamp) return { ...pass, counts: this.count(claimed) };

    // Replicas in ascending order; monotonic mode stops at the first slot that must wait.
    const replicaUnits: Unit[] = [];
    for (let i = 0; i < n; i++) {
      const { unit, stop } = this.processReplica(slots.at(i));
      replicaUnits.push(unit);
      if (stop && this.monotonic) {
        pass.batches.push(...batchesFor(replicaUnits, true));
        return { ...pass, blocked: { stage: 'replica', pod: slots.at(i) } };
      }
    }
    pass.batches.push(...batchesFor(replicaUnits, this.monotonic));

    // Scaled-down pods' claims get the scale-down ownerRefs before the pods go.
    const claimUnits = condemned.map((pod) =>
      this.control.claimsMatchRetention(this.updateSet, pod) ? [] : this.control.fixClaimOwners(this.updateSet, pod),
    );
    pass.batches.push(...batchesFor(claimUnits, this.monotonic));

    const condemnedUnits: Unit[] = [];
    for (const pod of condemned) {
      const { unit, stop } = this.processCondemned(pod, firstUnavailable);
      condemnedUnits.push(unit);
      if (stop && this.monotonic) {
        pass.batches.push(...batchesFor(condemnedUnits, true));
        return { ...pass, blocked: { stage: 'condemned', pod } };
      }
    }
    pass.batches.push(...batchesFor(condemnedUnits, this.monotonic));

    if (set.spec?.updateStrategy?.type === 'OnDelete') return pass;
    const all = slots.all();
    const deletes = this.gates.maxUnavailableStatefulSet ? this.rollWithMaxUnavailable(all) : this.roll(all);
    pass.batches.push(...deletes.map((a) => [[a]]));
    pass.rollingDeletes = deletes.length;
    if (this.rollWaitsFor) pass.blocked = { stage: 'rollout', pod: this.rollWaitsFor };
    return pass;
  }

  private processReplica(pod: KubeObject): { unit: Unit; stop: boolean } {
    if (isFailed(pod) || isSucceeded(pod)) {
      // Recreated on a later pass, once the old object is gone.
      return { unit: isTerminating(pod) ? [] : [this.control.deletePod(pod, 'deleteFailedPod')], stop: true };
    }
    if (!isCreated(pod)) {
      if (this.control.hasStaleClaim(pod)) return { unit: [], stop: true };
      // In burst mode a freshly built pod needs nothing more this pass.
      return { unit: this.control.createPod(pod), stop: true };
    }
    // A replica that needed nothing on an earlier pass, with nothing it was judged on changed since
    const settled = this.control.isSettled(this.updateSet, pod);
    const unit: Unit = isPending(pod) && !settled ? this.control.recoverPendingPod(pod) : [];
    // Monotonic mode waits here until the pod is Running, Ready, available and not terminating.
    if (this.monotonic && this.unavailable(pod)) return { unit, stop: true };
    if (settled) return { unit, stop: false };
    unit.push(...this.control.repairPod(this.updateSet, pod));
    if (!unit.length) this.control.markSettled(this.updateSet, pod);
    return { unit, stop: false };
  }

  private processCondemned(pod: KubeObject, firstUnavailable: KubeObject | undefined): { unit: Unit; stop: boolean } {
    if (isTerminating(pod)) return { unit: [], stop: true };
    if (this.monotonic && pod !== firstUnavailable && this.unavailable(pod)) {
      return { unit: [], stop: true };
    }
    return { unit: [this.control.deletePod(pod, 'deleteCondemnedPod')], stop: true };
  }

  private outdated(pod: KubeObject): boolean {
    return podRevision(pod) !== this.revisions.update.metadata.name && !isTerminating(pod);
  }

  private updateMin(): number {
    return this.set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  }

  /** One pod per pass, highest index first, waiting while any pod above it is unavailable. */
  private roll(slots: KubeObject[]): Action[] {
    for (let i = slots.length - 1; i >= this.updateMin(); i--) {
      if (this.outdated(slots[i])) return [this.control.deletePod(slots[i], 'deleteOutdatedPod', ['NotFound'])];
      if (this.unavailable(slots[i])) {
        this.rollWaitsFor = slots[i];
        return [];
      }
    }
    return [];
  }

  /** Up to maxUnavailable pods at once, counting every unavailable slot against the budget. */
  private rollWithMaxUnavailable(slots: KubeObject[]): Action[] {
    const min = this.updateMin();
    const max = resolveMaxUnavailable(this.set.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, replicaCount(this.set));
    let unavailable = slots.filter((p) => this.unavailable(p)).length;
    if (!this.monotonic) {
      // Stale pods that never became available are what the update replaces; they must not block it.
      unavailable -= slots.filter((p, i) => i >= min && this.outdated(p) && this.unavailable(p)).length;
    }
    const deletes: Action[] = [];
    for (let i = slots.length - 1; i >= min && deletes.length < max - unavailable; i--) {
      if (this.outdated(slots[i])) deletes.push(this.control.deletePod(slots[i], 'deleteOutdatedPod', ['NotFound']));
    }
    if (unavailable >= max && slots.some((p, i) => i >= min && this.outdated(p))) {
      this.rollWaitsFor = slots.find((p) => this.unavailable(p) && !this.outdated(p)) ?? slots.find((p) => this.unavailable(p));
    }
    return deletes;
  }
}

/** The status as written: the whole object, zero counters omitted as Go's omitempty does. */
function encodeStatus(s: Counters, conditions?: SetCondition[]): StatefulSetStatus {
  const out: StatefulSetStatus = { replicas: s.replicas, availableReplicas: s.availableReplicas, collisionCount: s.collisionCount };
  if (s.observedGeneration) out.observedGeneration = s.observedGeneration;
  if (s.readyReplicas) out.readyReplicas = s.readyReplicas;
  if (s.currentReplicas) out.currentReplicas = s.currentReplicas;
  if (s.updatedReplicas) out.updatedReplicas = s.updatedReplicas;
  if (s.currentRevision) out.currentRevision = s.currentRevision;
  if (s.updateRevision) out.updateRevision = s.updateRevision;
  if (conditions?.length) out.conditions = conditions;
  return out;
}

function blockedConditionOf(set: KubeObject): SetCondition | undefined {
  return (set.status?.conditions as SetCondition[] | undefined)?.find((c) => c?.type === BLOCKED_CONDITION);
}

/** The set's conditions with the Blocked one set from `why`; its transition time moves only with its status. */
function conditionsWith(set: KubeObject, why: Why, now: number): SetCondition[] {
  const others = ((set.status?.conditions as SetCondition[] | undefined) ?? []).filter((c) => c?.type !== BLOCKED_CONDITION);
  const old = blockedConditionOf(set);
  const status = why.blocked ? 'True' : 'False';
  const lastTransitionTime = old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : timestamp(new Date(now));
  return [...others, { type: BLOCKED_CONDITION, status, lastTransitionTime, reason: why.reason, message: why.text }];
}

function blockedChanged(set: KubeObject, why: Why): boolean {
  const old = blockedConditionOf(set);
  return !old || old.status !== (why.blocked ? 'True' : 'False') || old.reason !== why.reason || old.message !== why.text;
}

/** A finished roll-out makes the update revision current (every strategy, as upstream now does). */
function completeRollout(set: KubeObject, s: Counters): Counters {
  const want = replicaCount(set);
  if (s.updatedReplicas === want && s.readyReplicas === want && s.replicas === want) {
    return { ...s, currentRevision: s.updateRevision, currentReplicas: s.updatedReplicas };
  }
  return s;
}

/** Only these fields and the Blocked condition justify a write; collisionCount and other conditions alone never do. */
function statusChanged(set: KubeObject, s: Counters): boolean {
  const old = set.status ?? {};
  return (
    s.observedGeneration > (old.observedGeneration ?? 0) ||
    s.replicas !== (old.replicas ?? 0) ||
    s.currentReplicas !== (old.currentReplicas ?? 0) ||
    s.readyReplicas !== (old.readyReplicas ?? 0) ||
    s.updatedReplicas !== (old.updatedReplicas ?? 0) ||
    s.availableReplicas !== (old.availableReplicas ?? 0) ||
    s.currentRevision !== (old.currentRevision ?? '') ||
    s.updateRevision !== (old.updateRevision ?? '')
  );
}

function statusStep(set: KubeObject, s: Counters, why: Why, now: number): Step {
  const actions: Action[] = [];
  const whyChanged = blockedChanged(set, why);
  if (statusChanged(set, s) || whyChanged) {
    // A block a person must resolve is also told as an event, once per change of the text (an
    // identical repeat would only raise the count of the same Event).
    const onSuccess: EventSpec[] = whyChanged && EVENT_REASONS.has(why.reason) ? [{ type: 'Warning', reason: why.reason, message: why.text }] : [];
    actions.push({
      verb: 'updateStatus',
      purpose: 'writeStatus',
      resource: 'statefulsets',
      apiVersion: 'apps/v1',
      namespace: set.metadata.namespace ?? '',
      name: set.metadata.name ?? '',
      // The transport copies what it sends, so the cached set is not at risk.
      body: { ...set, status: encodeStatus(s, conditionsWith(set, why, now)) },
      ...(onSuccess.length ? { onSuccess } : {}),
    });
  }
  return sequential('status', 'continue', actions);
}

function revisionAction(set: KubeObject, choice: RevisionChoice): Action[] {
  const body = choice.create ?? choice.bump;
  if (!body) return [];
  return [
    {
      verb: choice.create ? 'create' : 'update',
      purpose: choice.create ? 'createRevision' : 'bumpRevision',
      resource: 'controllerrevisions',
      apiVersion: 'apps/v1',
      namespace: set.metadata.namespace ?? '',
      name: body.metadata.name ?? '',
      body,
    },
  ];
}

export function decide(input: SyncInput): Plan {
  const { set, now } = input;
  const gates: Gates = { maxUnavailableStatefulSet: MAX_UNAVAILABLE_STATEFULSET, ...input.gates };
  const selector = labelSelector(set.spec?.selector);
  if (typeof selector !== 'function') {
    const error = { message: `invalid label selector: ${selector.error}`, retry: false };
    return { steps: [], error, why: explainPlan(input, { error }) };
  }

  const revisionClaim = claimRevisions(set, input.revisions, selector);
  const podClaim = claimPods(set, input.pods, selector);
  const choice = chooseRevisions(set, revisionClaim.claimed, input.revisions);
  const templates = { current: sharedTemplateOf(choice.current), update: sharedTemplateOf(choice.update) };
  const claimStep = sequential('claim', 'abort', [...revisionClaim.actions, ...podClaim.actions]);
  const revisionStep = sequential('revision', 'abort', revisionAction(set, choice));
  if (!templates.current || !templates.update) {
    const message = `a ControllerRevision of StatefulSet ${set.metadata.namespace}/${set.metadata.name} holds no pod template`;
    const error = { message, retry: true };
    return { steps: [claimStep, revisionStep], error, why: explainPlan(input, { error }) };
  }

  const pass = new PodSync(set, choice, templates, input.claims, now, gates, input.settled).run(podClaim.claimed);
  const base: Counters = {
    observedGeneration: set.metadata.generation ?? 0,
    currentRevision: choice.current.metadata.name ?? '',
    updateRevision: choice.update.metadata.name ?? '',
    collisionCount: choice.collisionCount,
    ...pass.counts,
  };
  const final = completeRollout(set, { ...base, currentReplicas: base.currentReplicas - pass.rollingDeletes });

  const live = new Set([choice.current.metadata.name ?? '', choice.update.metadata.name ?? '']);
  for (const pod of podClaim.claimed) live.add(podRevision(pod));
  const history = revisionsToTruncate(set, revisionClaim.claimed, live).map(
    (r): Action => ({
      verb: 'delete',
      purpose: 'deleteRevision',
      resource: 'controllerrevisions',
      apiVersion: 'apps/v1',
      namespace: r.metadata.namespace ?? '',
      name: r.metadata.name ?? '',
    }),
  );

  const minReadySeconds: number = set.spec?.minReadySeconds ?? 0;
  const why = explainPlan(input, { status: encodeStatus(final), blocked: pass.blocked });
  const plan: Plan = {
    steps: [
      claimStep,
      revisionStep,
      { name: 'pods', onFailure: 'continue', batches: pass.batches },
      statusStep(set, final, why, now),
      sequential('history', 'continue', history),
    ],
    status: encodeStatus(final, conditionsWith(set, why, now)),
    blocked: pass.blocked,
    why,
  };
  if (pass.rollingDeletes) plan.statusIfPodsFail = statusStep(set, completeRollout(set, base), why, now);
  if (minReadySeconds > 0 && final.availableReplicas !== replicaCount(set)) plan.requeueAfterSeconds = minReadySeconds;
  return plan;
}

/** "Why is web-2 not there?": the controller's decision on these objects, in words. */
export function whyStatefulSet(input: SyncInput): Why {
  return decide(input).why;
}
