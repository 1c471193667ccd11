// Cron schedules and the CronJob decisions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextActivation, parseSchedule } from '../../../src/api/cron.js';
import type { KubeObject } from '../../../src/api/object.js';
import { decide, mostRecentScheduleTime } from '../../../src/controllers/cronjob/decide.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('cron schedules', () => {
  it('parses lists, ranges, steps, names and descriptors, and refuses bad ones with robfig/cron messages', () => {
    const s = parseSchedule('*/15 9-17 * JAN,jul mon-fri');
    assert.deepEqual([...s.minutes], [0, 15, 30, 45]);
    assert.deepEqual([...s.months], [1, 7]);
    assert.deepEqual([...s.weekdays], [1, 2, 3, 4, 5]);
    assert.deepEqual([...parseSchedule('@hourly').minutes], [0]);
    assert.throws(() => parseSchedule('* * * *'), /^Error: expected exactly 5 fields, found 4: \* \* \* \*$/);
    assert.throws(() => parseSchedule('61 * * * *'), /end of range \(61\) above maximum \(59\): 61/);
    assert.throws(() => parseSchedule('TZ=UTC * * * * *'), /cannot use TZ or CRON_TZ in schedule, use timeZone field instead/);
  });

  it('finds the next activation, in a time zone too', () => {
    const s = parseSchedule('30 2 * * *');
    assert.equal(iso(nextActivation(s, at('2026-03-01T00:00:00Z'))), '2026-03-01T02:30:00.000Z');
    // 02:30 in New York (UTC-5 in winter)
    assert.equal(iso(nextActivation(s, at('2026-01-10T00:00:00Z'), 'America/New_York')), '2026-01-10T07:30:00.000Z');
    // day-of-month OR day-of-week when both are restricted
    const either = parseSchedule('0 0 13 * 5');
    assert.equal(iso(nextActivation(either, at('2026-02-01T00:00:00Z'))), '2026-02-06T00:00:00.000Z');
  });
});

function cronJob(spec: Record<string, any> = {}, status: Record<string, any> = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'ns', uid: 'cj-uid', creationTimestamp: '2026-01-01T00:00:30Z' },
    spec: {
      schedule: '*/5 * * * *',
      concurrencyPolicy: 'Allow',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: { metadata: { labels: { a: 'b' } }, spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } } },
      ...spec,
    },
    status,
  };
}

function job(name: string, condition?: 'Complete' | 'Failed', start = '2026-01-01T00:00:00Z'): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: 'cj-uid', controller: true }] },
    spec: {},
    status: { startTime: start, ...(condition ? { conditions: [{ type: condition, status: 'True' }], completionTime: start } : {}) },
  };
}

describe('cron job decisions', () => {
  it('creates <name>-<minutes since the epoch> at the scheduled time and records lastScheduleTime', () => {
    const now = at('2026-01-01T00:05:10Z');
    const plan = decide({ cronJob: cronJob(), jobs: [], now });
    assert.equal(plan.createJob!.metadata.name, `tick-${at('2026-01-01T00:05:00Z') / 60000}`);
    assert.deepEqual(plan.createJob!.metadata.labels, { a: 'b' });
    assert.equal(plan.createJob!.metadata.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2026-01-01T00:05:00Z');
    assert.equal(plan.status!.lastScheduleTime, '2026-01-01T00:05:00Z');
    assert.equal(plan.requeueAfterSeconds, 291, 'the next start at 00:10');
  });

  it('does nothing before the first start time', () => {
    const plan = decide({ cronJob: cronJob(), jobs: [], now: at('2026-01-01T00:04:00Z') });
    assert.equal(plan.createJob, undefined);
  });

  it('Forbid skips a start while a job runs; Replace deletes the running one', () => {
    const running = job('tick-1');
    const status = { active: [{ kind: 'Job', name: 'tick-1', namespace: 'ns', uid: 'uid-tick-1', apiVersion: 'batch/v1' }] };
    const now = at('2026-01-01T00:05:10Z');
    const forbid = decide({ cronJob: cronJob({ concurrencyPolicy: 'Forbid' }, status), jobs: [running], now });
    assert.equal(forbid.createJob, undefined);
    assert.deepEqual(forbid.events, [{ type: 'Normal', reason: 'JobAlreadyActive', message: 'Not starting job because prior execution is running and concurrency policy is Forbid' }]);
    const replace = decide({ cronJob: cronJob({ concurrencyPolicy: 'Replace' }, status), jobs: [running], now });
    assert.deepEqual(replace.deleteJobs, [running]);
    assert.ok(replace.createJob);
  });

  it('misses a start older than startingDeadlineSeconds', () => {
    const plan = decide({ cronJob: cronJob({ startingDeadlineSeconds: 5 }), jobs: [], now: at('2026-01-01T00:05:30Z') });
    assert.equal(plan.createJob, undefined);
    const { time } = mostRecentScheduleTime(cronJob(), parseSchedule('*/5 * * * *'), 'UTC', at('2026-01-01T00:12:00Z'));
    assert.equal(iso(time), '2026-01-01T00:10:00.000Z');
  });

  it('drops finished jobs from the active list and trims history beyond the limits', () => {
    const status = { active: [{ kind: 'Job', name: 'ok-4', uid: 'uid-ok-4' }] };
    const jobs = [
      job('ok-1', 'Complete', '2026-01-01T00:01:00Z'),
      job('ok-2', 'Complete', '2026-01-01T00:02:00Z'),
      job('ok-3', 'Complete', '2026-01-01T00:03:00Z'),
      job('ok-4', 'Complete', '2026-01-01T00:04:00Z'),
      job('bad-1', 'Failed', '2026-01-01T00:01:00Z'),
      job('bad-2', 'Failed', '2026-01-01T00:02:00Z'),
    ];
    const plan = decide({ cronJob: cronJob({ suspend: true }, status), jobs, now: at('2026-01-01T00:05:10Z') });
    assert.deepEqual(plan.deleteJobs.map((j) => j.metadata.name), ['ok-1', 'bad-1']);
    assert.deepEqual(plan.events, [{ type: 'Normal', reason: 'SawCompletedJob', message: 'Saw completed job: ok-4, condition: Complete' }]);
    assert.equal(plan.status!.active, undefined);
    assert.equal(plan.status!.lastSuccessfulTime, '2026-01-01T00:04:00Z');
    assert.equal(plan.createJob, undefined, 'suspended');
  });
});
