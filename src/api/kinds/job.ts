// batch/v1 Job: defaults (SetDefaults_Job), the generated selector and labels (the job
// strategy's PrepareForCreate), validation (ValidateJob) and kubectl's columns.
import { humanDuration, isPlainObject, type KubeObject } from '../object.js';
import { defaultPodTemplate } from '../pod-defaults.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Subdomain, isValidLabelValue, type FieldError } from '../validation.js';
import { age, ageColumn, immutable, list, nameColumn, validateNonnegative, type Obj } from './support.js';
import { selectorCell, selectorOf, validateRequiredSelector, validateTemplate, wideCells, wideColumns } from './workload-common.js';

export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
const LEGACY_JOB_NAME_LABEL = 'job-name';
const COMPLETION_MODES = ['NonIndexed', 'Indexed'];
const POD_FAILURE_ACTIONS = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
const MAX_INT32 = 2147483647;

/** Shared with CronJob's job template. */
export function defaultJobSpec(spec: Obj): void {
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex != null ? MAX_INT32 : 6;
  spec.completionMode ||= 'NonIndexed';
  spec.suspend ??= false;
  for (const rule of list(spec.podFailurePolicy?.rules)) for (const c of list(rule.onPodConditions)) c.status ||= 'True';
  spec.podReplacementPolicy ||= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  if (!isPlainObject(spec.template)) spec.template = {};
  defaultPodTemplate(spec.template);
}

export function defaultJob(job: KubeObject): void {
  if (!isPlainObject(job.spec)) job.spec = {};
  const labels = job.spec.template?.metadata?.labels;
  if (isPlainObject(labels) && !Object.keys(job.metadata.labels ?? {}).length) job.metadata.labels = { ...labels };
  defaultJobSpec(job.spec);
}

/** generateSelector: unless manualSelector, the job's pods are selected by its uid. */
function generateSelector(job: KubeObject): void {
  const spec = job.spec;
  if (!isPlainObject(spec) || spec.manualSelector === true) return;
  const uid = job.metadata.uid ?? '';
  spec.template ??= {};
  spec.template.metadata ??= {};
  const labels = (spec.template.metadata.labels ??= {});
  labels[CONTROLLER_UID_LABEL] ??= uid;
  labels[LEGACY_CONTROLLER_UID_LABEL] ??= uid;
  const name = job.metadata.name ?? '';
  if (!isValidLabelValue(name).length) {
    labels[JOB_NAME_LABEL] ??= name;
    labels[LEGACY_JOB_NAME_LABEL] ??= name;
  }
  spec.selector ??= { matchLabels: { [CONTROLLER_UID_LABEL]: uid } };
}

/** ValidateJobSpec, the parts users meet. */
export function validateJobSpec(spec: Obj, path: string, generated: boolean): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of ['parallelism', 'completions', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex', 'maxFailedIndexes']) {
    errs.push(...validateNonnegative(spec[key], `${path}.${key}`));
  }
  if (spec.activeDeadlineSeconds != null && !(spec.activeDeadlineSeconds > 0)) {
    errs.push(field.invalid(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be greater than 0'));
  }
  if (generated) {
    errs.push(...validateRequiredSelector(spec.selector, `${path}.selector`, 'job'));
  }
  const restartPolicies = ['OnFailure', 'Never'];
  errs.push(...validateTemplate(spec.template, generated ? selectorOf(spec.selector) : undefined, `${path}.template`, restartPolicies));
  if (!COMPLETION_MODES.includes(spec.completionMode)) {
    errs.push(field.notSupported(`${path}.completionMode`, spec.completionMode ?? '', COMPLETION_MODES));
  } else if (spec.completionMode === 'Indexed') {
    if (spec.completions == null) errs.push(field.required(`${path}.completions`, 'when completion mode is Indexed'));
    if (typeof spec.completions === 'number' && typeof spec.parallelism === 'number' && spec.parallelism > 100000) {
      errs.push(field.invalid(`${path}.parallelism`, spec.parallelism, 'must be less than or equal to 100000 when completion mode is Indexed'));
    }
  } else if (spec.backoffLimitPerIndex != null) {
    errs.push(field.forbidden(`${path}.backoffLimitPerIndex`, 'requires indexed completion mode'));
  }
  if (isPlainObject(spec.podFailurePolicy)) {
    if (spec.template?.spec?.restartPolicy !== 'Never') {
      errs.push(field.invalid(`${path}.template.spec.restartPolicy`, spec.template?.spec?.restartPolicy ?? '', 'only "Never" is supported when podFailurePolicy is specified'));
    }
    list(spec.podFailurePolicy.rules).forEach((rule, i) => {
      const p = `${path}.podFailurePolicy.rules[${i}]`;
      if (!POD_FAILURE_ACTIONS.includes(rule.action)) errs.push(field.notSupported(`${p}.action`, rule.action ?? '', POD_FAILURE_ACTIONS));
      const hasCodes = isPlainObject(rule.onExitCodes);
      const hasConds = Array.isArray(rule.onPodConditions) && rule.onPodConditions.length > 0;
      if (hasCodes === hasConds) errs.push(field.invalid(p, '', 'specifying one of OnExitCodes and OnPodConditions is required'));
      if (hasCodes) {
        const op = rule.onExitCodes.operator;
        if (op !== 'In' && op !== 'NotIn') errs.push(field.notSupported(`${p}.onExitCodes.operator`, op ?? '', ['In', 'NotIn']));
        const values = list<number>(rule.onExitCodes.values);
        if (!values.length) errs.push(field.invalid(`${p}.onExitCodes.values`, values, 'at least one value is required'));
        if (op === 'In' && values.includes(0)) errs.push(field.invalid(`${p}.onExitCodes.values`, 0, 'must not be 0 for the In operator'));
      }
    });
  }
  return errs;
}

function validateJobUpdate(job: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...immutable('spec.selector', job.spec?.selector, old.spec?.selector));
  errs.push(...immutable('spec.completionMode', job.spec?.completionMode, old.spec?.completionMode));
  errs.push(...immutable('spec.podFailurePolicy', job.spec?.podFailurePolicy, old.spec?.podFailurePolicy));
  // the template may change only while the job is suspended and has not started
  if (!(old.spec?.suspend && !old.status?.startTime)) {
    errs.push(...immutable('spec.template', job.spec?.template, old.spec?.template));
  }
  if (job.spec?.completionMode !== 'Indexed' || job.spec?.completions !== job.spec?.parallelism) {
    errs.push(...immutable('spec.completions', job.spec?.completions, old.spec?.completions));
  }
  return errs;
}

function hasCondition(job: KubeObject, type: string): boolean {
  return list(job.status?.conditions).some((c) => c.type === type && c.status === 'True');
}

/** printJob's STATUS column. */
export function jobStatusCell(job: KubeObject): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (hasCondition(job, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (hasCondition(job, 'Suspended')) return 'Suspended';
  if (hasCondition(job, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

function completionsCell(job: KubeObject): string {
  const succeeded = job.status?.succeeded ?? 0;
  if (job.spec?.completions != null) return `${succeeded}/${job.spec.completions}`;
  return `${succeeded}/1 of ${job.spec?.parallelism ?? 1}`;
}

function durationCell(job: KubeObject, now: number): string {
  const start = Date.parse(job.status?.startTime ?? '');
  if (Number.isNaN(start)) return '';
  const end = Date.parse(job.status?.completionTime ?? '');
  return humanDuration(Math.floor(((Number.isNaN(end) ? now : end) - start) / 1000));
}

export const jobKind: KindDef = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  namespaced: true,
  categories: ['all'],
  definition: 'io.k8s.api.batch.v1.Job',
  subresources: { status: true },
  tracksGeneration: true,
  nameValidator: isDNS1123Subdomain,
  // batch/v1 jobs orphan their pods unless told otherwise (kubectl asks for Background)
  defaultPropagation: 'Orphan',
  defaults: defaultJob,
  prepareForCreate(job) {
    job.status = {};
    generateSelector(job);
  },
  validate: (job) => validateJobSpec(isPlainObject(job.spec) ? job.spec : {}, 'spec', true),
  validateUpdate: validateJobUpdate,
  table: {
    columns: [
      nameColumn,
      { name: 'Status', type: 'string', description: 'Status of the job.' },
      { name: 'Completions', type: 'string', description: 'The desired number of successfully finished pods the job should be run with.' },
      { name: 'Duration', type: 'string', description: 'Time required to complete the job.' },
      ageColumn,
      ...wideColumns,
    ],
    cells: (job, now) => [
      job.metadata.name,
      jobStatusCell(job),
      completionsCell(job),
      durationCell(job, now),
      age(job, now),
      ...wideCells(job.spec?.template, selectorCell(job.spec?.selector)),
    ],
  },
};
