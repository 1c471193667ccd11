// The Job controller's decisions, pure (job_controller.go syncJob): from a Job and its pods,
// whether it finished (Complete, or Failed with BackoffLimitExceeded, DeadlineExceeded or
// PodFailurePolicy), which pods to create or delete, the status and the events.
import type { KubeObject } from '../../api/object.js';
import { clone, isPlainObject, timestamp } from '../../api/object.js';
import { isPodActive, isPodReady, podsToDelete } from '../../api/podcontrol/pods.js';

export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const JOB_INDEX_LABEL = 'batch.kubernetes.io/job-completion-index';
/** On a pod of a Job with backoffLimitPerIndex: how many pods of its index failed before it. */
export const INDEX_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-failure-count';
/** DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff */
const BACKOFF_BASE_SECONDS = 10;
const BACKOFF_MAX_SECONDS = 360;

export interface JobCondition {
  type: string;
  status: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface JobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface JobPlan {
  /** pods to create: their completion index (Indexed) or undefined */
  create: (number | undefined)[];
  /** with backoffLimitPerIndex: the failures so far of each index a pod is created for */
  indexFailureCounts?: Record<number, number>;
  delete: KubeObject[];
  /** the whole status to write, or undefined when it did not change */
  status?: Record<string, any>;
  events: JobEvent[];
  /** the job's ttlSecondsAfterFinished has run out */
  deleteJob?: boolean;
  requeueAfterSeconds?: number;
}

export interface JobInput {
  job: KubeObject;
  /** the pods the job controls */
  pods: KubeObject[];
  now: number;
  expectationsSatisfied: boolean;
}

export function isFinished(job: KubeObject): boolean {
  return conditions(job).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

function conditions(job: KubeObject): JobCondition[] {
  return Array.isArray(job.status?.conditions) ? job.status.conditions : [];
}

function finishedAt(job: KubeObject): number | undefined {
  const c = conditions(job).find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  const t = Date.parse(job.status?.completionTime ?? c?.lastTransitionTime ?? '');
  return Number.isNaN(t) ? undefined : t;
}

export function podIndex(pod: KubeObject): number | undefined {
  const v = pod.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION] ?? pod.metadata.labels?.[JOB_INDEX_LABEL];
  return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : undefined;
}

/** "1,3-5,7": succeeded indexes as upstream formats them. */
export function formatIndexes(indexes: number[]): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The exit code and container of a failed pod's first failed container. */
function failedContainer(pod: KubeObject): { name: string; exitCode: number } | undefined {
  for (const s of [...((pod.status?.initContainerStatuses as any[]) ?? []), ...((pod.status?.containerStatuses as any[]) ?? [])]) {
    const code = s?.state?.terminated?.exitCode;
    if (typeof code === 'number' && code !== 0) return { name: s.name, exitCode: code };
  }
  return undefined;
}

interface RuleMatch {
  action: string;
  index: number;
  message: string;
}

/** matchPodFailurePolicy: the first rule that matches a failed pod. */
export function matchPodFailurePolicy(job: KubeObject, pod: KubeObject): RuleMatch | undefined {
  const rules: any[] = job.spec?.podFailurePolicy?.rules ?? [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (isPlainObject(rule.onExitCodes)) {
      const { containerName, operator, values } = rule.onExitCodes;
      const statuses: any[] = [...((pod.status?.initContainerStatuses as any[]) ?? []), ...((pod.status?.containerStatuses as any[]) ?? [])];
      for (const s of statuses) {
        const code = s?.state?.terminated?.exitCode;
        if (typeof code !== 'number' || code === 0) continue;
        if (containerName && s.name !== containerName) continue;
        const inValues = (values as number[]).includes(code);
        if ((operator === 'In' && inValues) || (operator === 'NotIn' && !inValues)) {
          return {
            action: rule.action,
            index: i,
            message: `Container ${s.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${code} matching ${rule.action} rule at index ${i}`,
          };
        }
      }
    }
    for (const pattern of (rule.onPodConditions as any[]) ?? []) {
      const c = (pod.status?.conditions as any[] | undefined)?.find((x) => x.type === pattern.type);
      if (c && c.status === (pattern.status ?? 'True')) {
        return {
          action: rule.action,
          index: i,
          message: `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${pattern.type} matching ${rule.action} rule at index ${i}`,
        };
      }
    }
  }
  return undefined;
}

function restarts(pod: KubeObject): number {
  let n = 0;
  for (const s of [...((pod.status?.initContainerStatuses as any[]) ?? []), ...((pod.status?.containerStatuses as any[]) ?? [])]) n += s?.restartCount ?? 0;
  return n;
}

function setCondition(list: JobCondition[], c: JobCondition, now: number): JobCondition[] {
  const existing = list.find((x) => x.type === c.type);
  const t = timestamp(new Date(now));
  if (existing) {
    if (existing.status === c.status && existing.reason === c.reason && existing.message === c.message) return list;
    return list.map((x) => (x.type === c.type ? { ...c, lastProbeTime: t, lastTransitionTime: x.status === c.status ? x.lastTransitionTime : t } : x));
  }
  return [...list, { ...c, lastProbeTime: t, lastTransitionTime: t }];
}

function podFinishedAt(pod: KubeObject): number {
  let latest = 0;
  for (const s of (pod.status?.containerStatuses as any[]) ?? []) {
    const t = Date.parse(s?.state?.terminated?.finishedAt ?? '');
    if (!Number.isNaN(t)) latest = Math.max(latest, t);
  }
  return latest || Date.parse(pod.metadata.creationTimestamp ?? '') || 0;
}

export function decide(input: JobInput): JobPlan {
  const { job, now } = input;
  const plan: JobPlan = { create: [], delete: [], events: [] };
  const spec = job.spec ?? {};

  if (isFinished(job)) {
    // the TTL-after-finished controller's part: delete the job once its time is up
    const ttl = spec.ttlSecondsAfterFinished;
    const at = finishedAt(job);
    if (typeof ttl === 'number' && at !== undefined && !job.metadata.deletionTimestamp) {
      const left = at + ttl * 1000 - now;
      if (left <= 0) plan.deleteJob = true;
      else plan.requeueAfterSeconds = Math.ceil(left / 1000);
    }
    return plan;
  }

  const status: Record<string, any> = clone(job.status ?? {});
  let conds: JobCondition[] = conditions(job).map((c) => ({ ...c }));
  const pods = input.pods;
  const active = pods.filter(isPodActive);
  const terminating = pods.filter((p) => p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase));
  const succeededPods = pods.filter((p) => p.status?.phase === 'Succeeded');
  let failedPods = pods.filter((p) => p.status?.phase === 'Failed');
  const indexed = spec.completionMode === 'Indexed';

  // pod failure policy: Ignore'd failures do not count; FailJob ends the job
  let failure: { reason: string; message: string } | undefined;
  // backoffLimitPerIndex: an index fails alone, once its own failures pass the limit (or a
  // FailIndex rule matches); it is not retried, and the others go on
  const perIndex = indexed && typeof spec.backoffLimitPerIndex === 'number';
  const failedIndexes = new Set<number>();
  if (isPlainObject(spec.podFailurePolicy)) {
    const counted: KubeObject[] = [];
    for (const pod of failedPods) {
      const m = matchPodFailurePolicy(job, pod);
      if (m?.action === 'Ignore') continue;
      if (m?.action === 'FailJob' && !failure) failure = { reason: 'PodFailurePolicy', message: m.message };
      if (m?.action === 'FailIndex' && perIndex && podIndex(pod) !== undefined) failedIndexes.add(podIndex(pod)!);
      counted.push(pod);
    }
    failedPods = counted;
  }
  const indexFailures = new Map<number, KubeObject[]>();
  if (perIndex) {
    for (const pod of failedPods) {
      const i = podIndex(pod);
      if (i === undefined || i >= (spec.completions ?? 0)) continue;
      indexFailures.set(i, [...(indexFailures.get(i) ?? []), pod]);
    }
    for (const [i, pods] of indexFailures) if (pods.length > spec.backoffLimitPerIndex) failedIndexes.add(i);
  }
  const succeeded = indexed
    ? new Set(succeededPods.map(podIndex).filter((i): i is number => i !== undefined && i < (spec.completions ?? 0))).size
    : succeededPods.length;
  const failed = failedPods.length;
  const backoffLimit: number = spec.backoffLimit ?? 6;
  const succeededIndexes = indexed ? new Set(succeededPods.map(podIndex).filter((i): i is number => i !== undefined && i < (spec.completions ?? 0))) : new Set<number>();
  for (const i of succeededIndexes) failedIndexes.delete(i);
  if (perIndex && !failure) {
    if (typeof spec.maxFailedIndexes === 'number' && failedIndexes.size > spec.maxFailedIndexes) {
      failure = { reason: 'MaxFailedIndexesExceeded', message: 'Job has exceeded the specified maximal number of failed indexes' };
    } else if (failedIndexes.size && succeededIndexes.size + failedIndexes.size >= (spec.completions ?? 0)) {
      failure = { reason: 'FailedIndexes', message: 'Job has failed indexes' };
    }
  }

  if (!failure && failed > backoffLimit) failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  if (!failure && spec.template?.spec?.restartPolicy === 'OnFailure' && backoffLimit >= 0) {
    const total = active.reduce((n, p) => n + restarts(p), 0);
    if ((backoffLimit === 0 && total > 0) || (backoffLimit > 0 && total >= backoffLimit)) {
      failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    }
  }
  const suspended = spec.suspend === true;
  if (!suspended && !status.startTime) status.startTime = timestamp(new Date(now));
  const started = Date.parse(status.startTime ?? '');
  if (!failure && !suspended && typeof spec.activeDeadlineSeconds === 'number' && !Number.isNaN(started)) {
    const left = started + spec.activeDeadlineSeconds * 1000 - now;
    if (left <= 0) failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    else plan.requeueAfterSeconds = Math.ceil(left / 1000);
  }

  let complete = false;
  if (!failure) {
    if (indexed) complete = succeeded >= (spec.completions ?? 0);
    else if (spec.completions == null) complete = succeeded > 0 && active.length === 0;
    else complete = succeeded >= spec.completions;
  }

  if (failure) {
    plan.delete = active;
    conds = setCondition(conds, { type: 'FailureTarget', status: 'True', reason: failure.reason, message: failure.message }, now);
    conds = setCondition(conds, { type: 'Failed', status: 'True', reason: failure.reason, message: failure.message }, now);
    plan.events.push({ type: 'Warning', reason: failure.reason, message: failure.message });
    plan.requeueAfterSeconds = spec.ttlSecondsAfterFinished ?? undefined;
  } else if (complete) {
    plan.delete = active;
    conds = setCondition(conds, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, now);
    conds = setCondition(conds, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, now);
    status.completionTime = timestamp(new Date(now));
    plan.events.push({ type: 'Normal', reason: 'Completed', message: 'Job completed' });
    plan.requeueAfterSeconds = spec.ttlSecondsAfterFinished ?? undefined;
  } else if (suspended) {
    plan.delete = active;
    if (!conds.some((c) => c.type === 'Suspended' && c.status === 'True')) {
      conds = setCondition(conds, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, now);
      plan.events.push({ type: 'Normal', reason: 'Suspended', message: 'Job suspended' });
    }
  } else {
    if (conds.some((c) => c.type === 'Suspended' && c.status === 'True')) {
      conds = setCondition(conds, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, now);
      status.startTime = timestamp(new Date(now));
      plan.events.push({ type: 'Normal', reason: 'Resumed', message: 'Job resumed' });
    }
    if (input.expectationsSatisfied) manage(job, active, succeededPods, failedPods, terminating, succeeded, now, plan, perIndex ? { failed: failedIndexes, failures: indexFailures } : undefined);
  }
  if (perIndex) {
    // the active pods of an index that failed are not waited for
    if (!failure && !complete) for (const p of active) if (failedIndexes.has(podIndex(p)!) && !plan.delete.includes(p)) plan.delete.push(p);
    status.failedIndexes = formatIndexes([...failedIndexes]);
  }

  status.active = active.length - plan.delete.length;
  status.ready = active.filter((p) => isPodReady(p) && !plan.delete.includes(p)).length;
  status.succeeded = succeeded;
  status.failed = failed;
  status.terminating = terminating.length + plan.delete.length;
  if (indexed) {
    const done = formatIndexes(succeededPods.map(podIndex).filter((i): i is number => i !== undefined && i < (spec.completions ?? 0)));
    if (done) status.completedIndexes = done;
    else delete status.completedIndexes;
  }
  for (const key of ['active', 'succeeded', 'failed']) if (!status[key]) delete status[key];
  if (conds.length) status.conditions = conds;
  status.uncountedTerminatedPods ??= {};
  if (JSON.stringify(status) !== JSON.stringify(job.status ?? {})) plan.status = status;
  return plan;
}

/** manageJob: create or delete pods so that min(parallelism, remaining completions) run. */
function manage(
  job: KubeObject,
  active: KubeObject[],
  succeededPods: KubeObject[],
  failedPods: KubeObject[],
  terminating: KubeObject[],
  succeeded: number,
  now: number,
  plan: JobPlan,
  perIndex?: { failed: Set<number>; failures: Map<number, KubeObject[]> },
): void {
  const spec = job.spec ?? {};
  const parallelism: number = spec.parallelism ?? 1;
  let wantActive: number;
  if (spec.completions == null) wantActive = succeeded > 0 ? active.length : parallelism;
  else wantActive = Math.max(0, Math.min(spec.completions - succeeded, parallelism));

  // podReplacementPolicy Failed: a replacement waits until the old pod is fully gone
  const blocked = spec.podReplacementPolicy === 'Failed' ? terminating.length : 0;
  if (active.length > wantActive) {
    plan.delete = podsToDelete(active, active, active.length - wantActive);
    return;
  }
  let toCreate = wantActive - active.length - blocked;
  if (toCreate <= 0) return;

  // back off after failures: 10s doubled for each further failure, at most 6 minutes (with
  // backoffLimitPerIndex, each index by its own failures)
  const backoffLeft = (failures: KubeObject[]): number => {
    if (!failures.length) return 0;
    const last = Math.max(...failures.map(podFinishedAt));
    return last + Math.min(BACKOFF_BASE_SECONDS * 2 ** (failures.length - 1), BACKOFF_MAX_SECONDS) * 1000 - now;
  };
  const requeue = (left: number) => {
    const secs = Math.ceil(left / 1000);
    plan.requeueAfterSeconds = plan.requeueAfterSeconds ? Math.min(plan.requeueAfterSeconds, secs) : secs;
  };
  if (!perIndex) {
    const left = backoffLeft(failedPods);
    if (left > 0) return requeue(left);
  }
  if (spec.completionMode === 'Indexed') {
    const taken = new Set<number>(perIndex?.failed ?? []);
    for (const p of [...active, ...succeededPods]) {
      const i = podIndex(p);
      if (i !== undefined) taken.add(i);
    }
    for (let i = 0; i < (spec.completions ?? 0) && toCreate > 0; i++) {
      if (taken.has(i)) continue;
      if (perIndex) {
        const failures = perIndex.failures.get(i) ?? [];
        const left = backoffLeft(failures);
        if (left > 0) {
          requeue(left);
          continue;
        }
        if (failures.length) (plan.indexFailureCounts ??= {})[i] = failures.length;
      }
      plan.create.push(i);
      toCreate--;
    }
    return;
  }
  plan.create = Array.from({ length: toCreate }, () => undefined);
}

/** A job's pod for one completion index (Indexed) or none; with backoffLimitPerIndex, the index's failures so far. */
export function jobPod(job: KubeObject, index: number | undefined, ref: any, indexFailureCount?: number): KubeObject {
  const template = job.spec?.template ?? {};
  const meta = isPlainObject(template.metadata) ? template.metadata : {};
  const name = job.metadata.name ?? '';
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: index === undefined ? `${name}-` : `${name}-${index}-`,
      namespace: job.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ownerReferences: [ref],
    },
    spec: clone(template.spec ?? {}),
  };
  if (isPlainObject(meta.annotations)) pod.metadata.annotations = { ...meta.annotations };
  if (Array.isArray(meta.finalizers)) pod.metadata.finalizers = [...meta.finalizers];
  if (index !== undefined) {
    pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [COMPLETION_INDEX_ANNOTATION]: String(index) };
    if (typeof job.spec?.backoffLimitPerIndex === 'number') pod.metadata.annotations[INDEX_FAILURE_COUNT_ANNOTATION] = String(indexFailureCount ?? 0);
    pod.metadata.labels![JOB_INDEX_LABEL] = String(index);
    pod.spec.hostname = `${name}-${index}`;
    // JOB_COMPLETION_INDEX from the downward API, in every container
    const env = { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.labels['${JOB_INDEX_LABEL}']` } } };
    for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
      if (!(c.env ?? []).some((e: any) => e.name === 'JOB_COMPLETION_INDEX')) c.env = [...(c.env ?? []), env];
    }
  }
  return pod;
}

export { failedContainer };
