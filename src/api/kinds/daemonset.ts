// apps/v1 DaemonSet: defaults (SetDefaults_DaemonSet), validation (ValidateDaemonSet) and
// kubectl's columns.
import { isPlainObject, type KubeObject } from '../object.js';
import { defaultPodTemplate } from '../pod-defaults.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { age, ageColumn, immutable, nameColumn, validateNonnegative, type Obj } from './support.js';
import {
  counter,
  percentOver100,
  selectorCell,
  selectorOf,
  validateIntOrPercent,
  validateRequiredSelector,
  validateTemplate,
  wideCells,
  wideColumns,
} from './workload-common.js';

const STRATEGY_TYPES = ['OnDelete', 'RollingUpdate'];

export function defaultDaemonSet(ds: KubeObject): void {
  if (!isPlainObject(ds.spec)) ds.spec = {};
  const spec = ds.spec;
  if (!isPlainObject(spec.updateStrategy)) spec.updateStrategy = {};
  spec.updateStrategy.type ||= 'RollingUpdate';
  if (spec.updateStrategy.type === 'RollingUpdate') {
    if (!isPlainObject(spec.updateStrategy.rollingUpdate)) spec.updateStrategy.rollingUpdate = {};
    spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  if (!isPlainObject(spec.template)) spec.template = {};
  defaultPodTemplate(spec.template);
}

const isZero = (v: unknown) => v === 0 || v === '0%' || v === '0' || v == null;

function validateSpec(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateRequiredSelector(spec.selector, 'spec.selector', 'daemonset'));
  errs.push(...validateTemplate(spec.template, selectorOf(spec.selector), 'spec.template'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  const strategy: Obj = isPlainObject(spec.updateStrategy) ? spec.updateStrategy : {};
  if (!STRATEGY_TYPES.includes(strategy.type)) {
    errs.push(field.notSupported('spec.updateStrategy.type', strategy.type ?? '', STRATEGY_TYPES));
  } else if (strategy.type === 'RollingUpdate') {
    const ru: Obj = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
    const p = 'spec.updateStrategy.rollingUpdate';
    errs.push(...validateIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
    errs.push(...validateIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
    errs.push(...percentOver100(ru.maxUnavailable, `${p}.maxUnavailable`));
    errs.push(...percentOver100(ru.maxSurge, `${p}.maxSurge`));
    if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge)) {
      errs.push(field.invalid(`${p}.maxUnavailable`, ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
    }
  }
  return errs;
}

/** labels.FormatLabels of the template's nodeSelector. */
function nodeSelectorCell(ds: KubeObject): string {
  const sel = ds.spec?.template?.spec?.nodeSelector;
  const entries = Object.entries(isPlainObject(sel) ? sel : {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

export const daemonSetKind: KindDef = {
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  namespaced: true,
  shortNames: ['ds'],
  categories: ['all'],
  definition: 'io.k8s.api.apps.v1.DaemonSet',
  subresources: { status: true },
  tracksGeneration: true,
  nameValidator: isDNS1123Subdomain,
  defaults: defaultDaemonSet,
  prepareForCreate(ds) {
    ds.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
  },
  validate: (ds) => validateSpec(isPlainObject(ds.spec) ? ds.spec : {}),
  validateUpdate: (ds, old) => immutable('spec.selector', ds.spec?.selector, old.spec?.selector),
  table: {
    columns: [
      nameColumn,
      { name: 'Desired', type: 'integer', description: 'The total number of nodes that should be running the daemon pod.' },
      { name: 'Current', type: 'integer', description: 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.' },
      { name: 'Ready', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.' },
      { name: 'Up-to-date', type: 'integer', description: 'The total number of nodes that are running updated daemon pod.' },
      { name: 'Available', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.' },
      { name: 'Node Selector', type: 'string', description: 'NodeSelector is a selector which must be true for the pod to fit on a node.' },
      ageColumn,
      ...wideColumns,
    ],
    cells: (ds, now) => [
      ds.metadata.name,
      counter(ds, 'desiredNumberScheduled'),
      counter(ds, 'currentNumberScheduled'),
      counter(ds, 'numberReady'),
      counter(ds, 'updatedNumberScheduled'),
      counter(ds, 'numberAvailable'),
      nodeSelectorCell(ds),
      age(ds, now),
      ...wideCells(ds.spec?.template, selectorCell(ds.spec?.selector)),
    ],
  },
};
