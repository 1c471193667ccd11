// The CronJob controller's decisions, pure (cronjob_controllerv2.go syncCronJob): the active
// list brought up to date, whether a job is due now, what the concurrency policy allows, the
// history to trim, the status and events, and when to look again.
import { isValidTimeZone, nextActivation, parseSchedule, wallClock, type Schedule } from '../../api/cron.js';
import type { KubeObject } from '../../api/object.js';
import { clone, isPlainObject, timestamp } from '../../api/object.js';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** missed start times counted before giving up (upstream's 100) */
const MAX_MISSED = 100;

export interface CronEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface CronPlan {
  /** jobs to delete (Replace, history), with their events */
  deleteJobs: KubeObject[];
  createJob?: KubeObject;
  status?: Record<string, any>;
  events: CronEvent[];
  requeueAfterSeconds?: number;
}

export interface CronInput {
  cronJob: KubeObject;
  /** the jobs the cron job controls */
  jobs: KubeObject[];
  now: number;
}

function jobCondition(job: KubeObject): 'Complete' | 'Failed' | undefined {
  for (const c of (job.status?.conditions as any[] | undefined) ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

/** Go's time.RFC1123Z, as MissSchedule prints the time. */
function rfc1123z(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  const offsetMin = Math.round((Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(ms / 60000) * 60000) / 60000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const sec = pad(new Date(ms).getUTCSeconds());
  return `${days[w.weekday]}, ${pad(w.day)} ${months[w.month - 1]} ${w.year} ${pad(w.hour)}:${pad(w.minute)}:${sec} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

/** RFC 3339 with the zone's offset, as the scheduled-timestamp annotation carries it. */
function rfc3339In(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  const offsetMin = Math.round((Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - Math.floor(ms / 60000) * 60000) / 60000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const zone = offsetMin === 0 ? 'Z' : `${offsetMin < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offsetMin) / 60))}:${pad(Math.abs(offsetMin) % 60)}`;
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:00${zone}`;
}

/** mostRecentScheduleTime: the latest start time in (earliest, now], and how many were missed. */
export function mostRecentScheduleTime(cj: KubeObject, sched: Schedule, tz: string, now: number): { time?: number; missed: number; tooMany: boolean } {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '');
  if (Number.isNaN(earliest)) earliest = now;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (typeof sds === 'number' && now - sds * 1000 > earliest) earliest = now - sds * 1000;
  let t = nextActivation(sched, earliest, tz);
  let last: number | undefined;
  let missed = 0;
  while (t !== undefined && t <= now) {
    last = t;
    missed++;
    if (missed > MAX_MISSED) return { time: last, missed, tooMany: true };
    t = nextActivation(sched, t, tz);
  }
  return { time: last, missed, tooMany: false };
}

/** getJobFromTemplate2: <cronjob>-<minutes since the epoch>, owned by the cron job. */
export function jobFromTemplate(cj: KubeObject, scheduled: number, tz: string): KubeObject {
  const template = cj.spec?.jobTemplate ?? {};
  const meta = isPlainObject(template.metadata) ? template.metadata : {};
  const job: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${cj.metadata.name}-${Math.floor(scheduled / 60000)}`,
      namespace: cj.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      annotations: { ...(meta.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: rfc3339In(scheduled, tz) },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name ?? '', uid: cj.metadata.uid ?? '', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: clone(template.spec ?? {}),
  };
  if (!Object.keys(job.metadata.labels!).length) delete job.metadata.labels;
  return job;
}

function byStart(a: KubeObject, b: KubeObject): number {
  const t = (j: KubeObject) => Date.parse(j.status?.startTime ?? j.metadata.creationTimestamp ?? '') || 0;
  return t(a) - t(b) || ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1);
}

export function decide(input: CronInput): CronPlan {
  const { cronJob: cj, jobs, now } = input;
  const plan: CronPlan = { deleteJobs: [], events: [] };
  const status: Record<string, any> = clone(cj.status ?? {});
  const byUid = new Map(jobs.map((j) => [j.metadata.uid, j]));

  // the active list: drop jobs that finished or are gone, add running children it lacks
  const active: Record<string, any>[] = [];
  for (const r of (status.active as any[] | undefined) ?? []) {
    const job = byUid.get(r.uid);
    if (!job) continue; // upstream also checks the API; the informer is authoritative enough here
    const cond = jobCondition(job);
    if (cond) {
      plan.events.push({ type: 'Normal', reason: 'SawCompletedJob', message: `Saw completed job: ${job.metadata.name}, condition: ${cond}` });
      continue;
    }
    active.push(r);
  }
  // an unfinished child missing from the list: created by someone else, or its status write lost
  for (const job of jobs) {
    if (jobCondition(job) || active.some((r) => r.uid === job.metadata.uid) || job.metadata.deletionTimestamp) continue;
    plan.events.push({ type: 'Warning', reason: 'UnexpectedJob', message: `Saw a job that the controller did not create or forgot: ${job.metadata.name}` });
  }
  for (const job of jobs) {
    if (jobCondition(job) !== 'Complete') continue;
    const done = job.status?.completionTime;
    if (done && (!status.lastSuccessfulTime || Date.parse(done) > Date.parse(status.lastSuccessfulTime))) status.lastSuccessfulTime = done;
  }

  // history limits: oldest finished jobs beyond the limits go
  const trim = (kind: 'Complete' | 'Failed', limit: unknown) => {
    if (typeof limit !== 'number') return;
    const finished = jobs.filter((j) => jobCondition(j) === kind && !j.metadata.deletionTimestamp).sort(byStart);
    for (const j of finished.slice(0, Math.max(0, finished.length - limit))) plan.deleteJobs.push(j);
  };
  trim('Complete', cj.spec?.successfulJobsHistoryLimit);
  trim('Failed', cj.spec?.failedJobsHistoryLimit);

  const finish = (): CronPlan => {
    if (active.length) status.active = active;
    else delete status.active;
    if (JSON.stringify(status) !== JSON.stringify(cj.status ?? {})) plan.status = status;
    return plan;
  };
  if (cj.metadata.deletionTimestamp) return finish();

  const tz: string = cj.spec?.timeZone ?? 'UTC';
  if (!isValidTimeZone(tz)) {
    plan.events.push({ type: 'Warning', reason: 'UnknownTimeZone', message: `invalid timeZone: "${tz}": unknown time zone ${tz}` });
    return finish();
  }
  if (cj.spec?.suspend) return finish();
  let sched: Schedule;
  try {
    sched = parseSchedule(String(cj.spec?.schedule ?? ''));
  } catch (e) {
    plan.events.push({ type: 'Warning', reason: 'UnparseableSchedule', message: `unparseable schedule: "${cj.spec?.schedule}" : ${(e as Error).message}` });
    return finish();
  }
  const next = nextActivation(sched, now, tz);
  if (next !== undefined) plan.requeueAfterSeconds = Math.max(1, Math.ceil((next - now) / 1000) + 1);

  const recent = mostRecentScheduleTime(cj, sched, tz, now);
  if (recent.tooMany) {
    plan.events.push({
      type: 'Warning',
      reason: 'TooManyMissedTimes',
      message: 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
    });
  }
  if (recent.time === undefined) return finish();
  const scheduled = recent.time;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (typeof sds === 'number' && scheduled + sds * 1000 < now) {
    plan.events.push({ type: 'Warning', reason: 'MissSchedule', message: `Missed scheduled time to start a job: ${rfc1123z(scheduled, tz)}` });
    return finish();
  }
  const jobName = `${cj.metadata.name}-${Math.floor(scheduled / 60000)}`;
  if (jobs.some((j) => j.metadata.name === jobName)) return finish();
  if (cj.spec?.concurrencyPolicy === 'Forbid' && active.length) {
    plan.events.push({ type: 'Normal', reason: 'JobAlreadyActive', message: 'Not starting job because prior execution is running and concurrency policy is Forbid' });
    return finish();
  }
  if (cj.spec?.concurrencyPolicy === 'Replace') {
    for (const r of active.splice(0)) {
      const job = byUid.get(r.uid);
      if (job) plan.deleteJobs.push(job);
    }
  }
  plan.createJob = jobFromTemplate(cj, scheduled, tz);
  status.lastScheduleTime = timestamp(new Date(scheduled));
  return finish();
}
