// batch/v1 CronJob: defaults (SetDefaults_CronJob), validation (ValidateCronJob: the
// schedule, the time zone, the job template) and kubectl's columns.
import { isValidTimeZone, parseSchedule } from '../cron.js';
import { humanDuration, isPlainObject, type KubeObject } from '../object.js';
import { defaultPodTemplate } from '../pod-defaults.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { validateJobSpec } from './job.js';
import { age, ageColumn, list, nameColumn, validateNonnegative, type Obj } from './support.js';
import { selectorCell, wideCells, wideColumns } from './workload-common.js';

const CONCURRENCY_POLICIES = ['Allow', 'Forbid', 'Replace'];
/** job names are <cronjob>-<minutes since the epoch>, and must stay within 63 characters */
const MAX_NAME_LENGTH = 52;

export function defaultCronJob(cj: KubeObject): void {
  if (!isPlainObject(cj.spec)) cj.spec = {};
  const spec = cj.spec;
  spec.concurrencyPolicy ||= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  if (!isPlainObject(spec.jobTemplate)) spec.jobTemplate = {};
  if (!isPlainObject(spec.jobTemplate.spec)) spec.jobTemplate.spec = {};
  if (!isPlainObject(spec.jobTemplate.spec.template)) spec.jobTemplate.spec.template = {};
  defaultPodTemplate(spec.jobTemplate.spec.template);
}

function validateCronJob(cj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if ((cj.metadata.name ?? '').length > MAX_NAME_LENGTH) {
    errs.push(field.invalid('metadata.name', cj.metadata.name, `must be no more than ${MAX_NAME_LENGTH} characters`));
  }
  const spec: Obj = isPlainObject(cj.spec) ? cj.spec : {};
  if (!spec.schedule) errs.push(field.required('spec.schedule'));
  else {
    try {
      parseSchedule(String(spec.schedule));
    } catch (e) {
      errs.push(field.invalid('spec.schedule', spec.schedule, (e as Error).message));
    }
  }
  if (spec.timeZone != null) {
    if (spec.timeZone === '' || !isValidTimeZone(spec.timeZone) || /^[Ll]ocal$/.test(spec.timeZone)) {
      errs.push(field.invalid('spec.timeZone', spec.timeZone, 'unknown time zone ' + spec.timeZone));
    }
  }
  errs.push(...validateNonnegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
  errs.push(...validateNonnegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
  errs.push(...validateNonnegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
  if (!CONCURRENCY_POLICIES.includes(spec.concurrencyPolicy)) {
    errs.push(field.notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy ?? '', CONCURRENCY_POLICIES));
  }
  const jobSpec: Obj = isPlainObject(spec.jobTemplate?.spec) ? spec.jobTemplate.spec : {};
  errs.push(...validateJobSpec({ completionMode: 'NonIndexed', ...jobSpec }, 'spec.jobTemplate.spec', false));
  return errs;
}

export const cronJobKind: KindDef = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  namespaced: true,
  shortNames: ['cj'],
  categories: ['all'],
  definition: 'io.k8s.api.batch.v1.CronJob',
  subresources: { status: true },
  tracksGeneration: true,
  nameValidator: isDNS1123Subdomain,
  defaults: defaultCronJob,
  prepareForCreate(cj) {
    cj.status = {};
  },
  validate: validateCronJob,
  validateUpdate: validateCronJob,
  table: {
    columns: [
      nameColumn,
      { name: 'Schedule', type: 'string', description: 'The schedule in Cron format.' },
      { name: 'Timezone', type: 'string', description: 'The time zone name for the given schedule.' },
      { name: 'Suspend', type: 'boolean', description: 'Whether subsequent executions are suspended.' },
      { name: 'Active', type: 'integer', description: 'A list of pointers to currently running jobs.' },
      { name: 'Last Schedule', type: 'string', description: 'Information when was the last time the job was successfully scheduled.' },
      ageColumn,
      ...wideColumns,
    ],
    cells: (cj, now) => {
      const last = Date.parse(cj.status?.lastScheduleTime ?? '');
      return [
        cj.metadata.name,
        cj.spec?.schedule ?? '',
        cj.spec?.timeZone ?? '<none>',
        // printBoolPtr
        cj.spec?.suspend == null ? '<unset>' : cj.spec.suspend ? 'True' : 'False',
        list(cj.status?.active).length,
        Number.isNaN(last) ? '<none>' : humanDuration(Math.floor((now - last) / 1000)),
        age(cj, now),
        ...wideCells(cj.spec?.jobTemplate?.spec?.template, selectorCell(cj.spec?.jobTemplate?.spec?.selector)),
      ];
    },
  },
};
