// The Job decisions: pods to run, completion, the failure reasons and the status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/object.js';
import { decide, formatIndexes, jobPod, matchPodFailurePolicy } from '../../../src/controllers/job/decide.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');

function job(spec: Record<string, any> = {}, status: Record<string, any> = { startTime: '2026-01-01T00:09:00Z' }): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'ns', uid: 'job-uid' },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      template: { metadata: { labels: { app: 'pi' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'perl' }] } },
      ...spec,
    },
    status,
  };
}

let n = 0;
function pod(phase: string, opts: { index?: number; exitCode?: number; finishedAt?: string } = {}): KubeObject {
  const p: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pi-${n++}`, namespace: 'ns', uid: `p${n}`, creationTimestamp: '2026-01-01T00:09:00Z', annotations: {} },
    status: { phase },
  };
  if (opts.index !== undefined) p.metadata.annotations!['batch.kubernetes.io/job-completion-index'] = String(opts.index);
  if (phase === 'Failed' || phase === 'Succeeded') {
    p.status.containerStatuses = [
      { name: 'c', restartCount: 0, state: { terminated: { exitCode: opts.exitCode ?? (phase === 'Failed' ? 1 : 0), finishedAt: opts.finishedAt ?? '2026-01-01T00:09:30Z' } } },
    ];
  }
  return p;
}

const reasonOf = (status: any, type: string) => status?.conditions?.find((c: any) => c.type === type && c.status === 'True')?.reason;

describe('job decisions', () => {
  it('starts min(parallelism, remaining completions) pods and records the start time', () => {
    const plan = decide({ job: job({ completions: 5, parallelism: 2 }, {}), pods: [pod('Succeeded'), pod('Succeeded'), pod('Succeeded'), pod('Succeeded')], now: NOW, expectationsSatisfied: true });
    assert.equal(plan.create.length, 1);
    assert.equal(plan.status!.startTime, '2026-01-01T00:10:00Z');
    assert.equal(plan.status!.succeeded, 4);
  });

  it('completes once enough pods succeeded, with upstream conditions and event', () => {
    const plan = decide({ job: job({ completions: 2, parallelism: 2 }), pods: [pod('Succeeded'), pod('Succeeded')], now: NOW, expectationsSatisfied: true });
    assert.equal(reasonOf(plan.status, 'Complete'), 'CompletionsReached');
    assert.equal(reasonOf(plan.status, 'SuccessCriteriaMet'), 'CompletionsReached');
    assert.equal(plan.status!.completionTime, '2026-01-01T00:10:00Z');
    assert.deepEqual(plan.events, [{ type: 'Normal', reason: 'Completed', message: 'Job completed' }]);
  });

  it('fails with BackoffLimitExceeded once failures pass backoffLimit, deleting active pods', () => {
    const running = pod('Running');
    const plan = decide({ job: job({ backoffLimit: 1, parallelism: 2, completions: 3 }), pods: [pod('Failed'), pod('Failed'), running], now: NOW, expectationsSatisfied: true });
    assert.equal(reasonOf(plan.status, 'Failed'), 'BackoffLimitExceeded');
    assert.deepEqual(plan.delete, [running]);
    assert.deepEqual(plan.events, [{ type: 'Warning', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }]);
    assert.equal(plan.status!.failed, 2);
  });

  it('waits 10s after a failure before creating the replacement, 20s after two', () => {
    const one = decide({ job: job(), pods: [pod('Failed', { finishedAt: '2026-01-01T00:09:55Z' })], now: NOW, expectationsSatisfied: true });
    assert.deepEqual([one.create.length, one.requeueAfterSeconds], [0, 5]);
    const later = decide({ job: job(), pods: [pod('Failed', { finishedAt: '2026-01-01T00:09:45Z' })], now: NOW, expectationsSatisfied: true });
    assert.equal(later.create.length, 1);
    const two = decide({ job: job(), pods: [pod('Failed', { finishedAt: '2026-01-01T00:09:45Z' }), pod('Failed', { finishedAt: '2026-01-01T00:09:45Z' })], now: NOW, expectationsSatisfied: true });
    assert.deepEqual([two.create.length, two.requeueAfterSeconds], [0, 5]);
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds', () => {
    const plan = decide({ job: job({ activeDeadlineSeconds: 30 }), pods: [pod('Running')], now: NOW, expectationsSatisfied: true });
    assert.equal(reasonOf(plan.status, 'Failed'), 'DeadlineExceeded');
    assert.equal(plan.status!.conditions.find((c: any) => c.type === 'Failed').message, 'Job was active longer than specified deadline');
  });

  it('applies the pod failure policy: Ignore does not count, FailJob fails at once', () => {
    const policy = {
      rules: [
        { action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ],
    };
    const disrupted = pod('Failed');
    disrupted.status.conditions = [{ type: 'DisruptionTarget', status: 'True' }];
    const ignored = decide({ job: job({ podFailurePolicy: policy, backoffLimit: 0 }), pods: [disrupted], now: NOW, expectationsSatisfied: true });
    assert.equal(reasonOf(ignored.status, 'Failed'), undefined);
    assert.equal(ignored.create.length, 1);

    const fatal = pod('Failed', { exitCode: 42 });
    assert.equal(matchPodFailurePolicy(job({ podFailurePolicy: policy }), fatal)?.action, 'FailJob');
    const failed = decide({ job: job({ podFailurePolicy: policy }), pods: [fatal], now: NOW, expectationsSatisfied: true });
    assert.equal(reasonOf(failed.status, 'Failed'), 'PodFailurePolicy');
    assert.match(failed.status!.conditions.find((c: any) => c.type === 'Failed').message, /^Container c for pod ns\/pi-\d+ failed with exit code 42 matching FailJob rule at index 0$/);
  });

  it('Indexed jobs create the missing indexes and report completedIndexes', () => {
    const spec = { completionMode: 'Indexed', completions: 5, parallelism: 5 };
    const plan = decide({ job: job(spec), pods: [pod('Succeeded', { index: 0 }), pod('Succeeded', { index: 1 }), pod('Running', { index: 3 })], now: NOW, expectationsSatisfied: true });
    assert.deepEqual(plan.create, [2, 4]);
    assert.equal(plan.status!.completedIndexes, '0-1');
    assert.equal(formatIndexes([7, 1, 3, 4, 5]), '1,3-5,7');
    const p = jobPod(job(spec), 2, { kind: 'Job' });
    assert.equal(p.metadata.generateName, 'pi-2-');
    assert.equal(p.spec!.hostname, 'pi-2');
    assert.equal(p.metadata.annotations!['batch.kubernetes.io/job-completion-index'], '2');
    assert.equal(p.spec!.containers[0].env[0].name, 'JOB_COMPLETION_INDEX');
  });

  it('backoffLimitPerIndex: an index fails alone and is not retried; the job fails with FailedIndexes once every index finished', () => {
    const spec = { completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimit: 2147483647, backoffLimitPerIndex: 1 };
    const old = '2026-01-01T00:00:00Z'; // long enough ago that no back-off applies
    // index 1 failed once: it is retried, its new pod says how often it failed
    let plan = decide({ job: job(spec), pods: [pod('Running', { index: 0 }), pod('Failed', { index: 1, finishedAt: old }), pod('Running', { index: 2 })], now: NOW, expectationsSatisfied: true });
    assert.deepEqual(plan.create, [1]);
    assert.deepEqual(plan.indexFailureCounts, { 1: 1 });
    assert.equal(plan.status!.failedIndexes, '');
    assert.equal(jobPod(job(spec), 1, { kind: 'Job' }, 1).metadata.annotations!['batch.kubernetes.io/job-index-failure-count'], '1');
    // twice: past the per-index limit, index 1 has failed; the others go on
    const twice = [pod('Failed', { index: 1, finishedAt: old }), pod('Failed', { index: 1, finishedAt: old })];
    plan = decide({ job: job(spec), pods: [pod('Running', { index: 0 }), ...twice, pod('Running', { index: 2 })], now: NOW, expectationsSatisfied: true });
    assert.deepEqual(plan.create, []);
    assert.equal(plan.status!.failedIndexes, '1');
    assert.equal(reasonOf(plan.status, 'Failed'), undefined, 'a failed index does not fail the job while others run');
    // the rest succeed: the job fails for its failed index
    plan = decide({ job: job(spec), pods: [pod('Succeeded', { index: 0 }), ...twice, pod('Succeeded', { index: 2 })], now: NOW, expectationsSatisfied: true });
    assert.equal(reasonOf(plan.status, 'Failed'), 'FailedIndexes');
    assert.equal(plan.status!.conditions.find((c: any) => c.type === 'Failed').message, 'Job has failed indexes');
    assert.equal(plan.status!.completedIndexes, '0,2');
    assert.equal(plan.status!.failedIndexes, '1');
  });

  it('maxFailedIndexes and FailIndex: the job fails as soon as more indexes failed than allowed', () => {
    const spec = {
      completionMode: 'Indexed',
      completions: 4,
      parallelism: 4,
      backoffLimit: 2147483647,
      backoffLimitPerIndex: 3,
      maxFailedIndexes: 1,
      podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [42] } }] },
    };
    let plan = decide({ job: job(spec), pods: [pod('Failed', { index: 0, exitCode: 42 }), pod('Running', { index: 1 }), pod('Running', { index: 2 }), pod('Running', { index: 3 })], now: NOW, expectationsSatisfied: true });
    assert.equal(plan.status!.failedIndexes, '0', 'FailIndex fails the index at its first failure');
    assert.deepEqual(plan.create, []);
    assert.equal(reasonOf(plan.status, 'Failed'), undefined);
    const running = pod('Running', { index: 2 });
    plan = decide({ job: job(spec), pods: [pod('Failed', { index: 0, exitCode: 42 }), pod('Failed', { index: 1, exitCode: 42 }), running, pod('Running', { index: 3 })], now: NOW, expectationsSatisfied: true });
    assert.equal(reasonOf(plan.status, 'Failed'), 'MaxFailedIndexesExceeded');
    assert.equal(plan.status!.conditions.find((c: any) => c.type === 'Failed').message, 'Job has exceeded the specified maximal number of failed indexes');
    assert.ok(plan.delete.includes(running), 'the running pods are deleted');
  });

  it('suspending deletes the active pods; a finished job is deleted after its TTL', () => {
    const running = pod('Running');
    const plan = decide({ job: job({ suspend: true }), pods: [running], now: NOW, expectationsSatisfied: true });
    assert.deepEqual(plan.delete, [running]);
    assert.equal(reasonOf(plan.status, 'Suspended'), 'JobSuspended');

    const done = job({ ttlSecondsAfterFinished: 30 }, { completionTime: '2026-01-01T00:09:50Z', conditions: [{ type: 'Complete', status: 'True' }] });
    assert.deepEqual(decide({ job: done, pods: [], now: NOW, expectationsSatisfied: true }).requeueAfterSeconds, 20);
    assert.equal(decide({ job: done, pods: [], now: NOW + 20_000, expectationsSatisfied: true }).deleteJob, true);
  });
});
