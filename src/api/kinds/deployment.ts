// apps/v1 Deployment: defaults (SetDefaults_Deployment), validation (ValidateDeployment),
// the scale subresource and kubectl's columns.
import { isPlainObject, type KubeObject } from '../object.js';
import { defaultPodTemplate } from '../pod-defaults.js';
import type { KindDef } from '../registry.js';
import { labelSelectorToString } from '../selectors.js';
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

const STRATEGY_TYPES = ['Recreate', 'RollingUpdate'];

export function defaultDeployment(d: KubeObject): void {
  if (!isPlainObject(d.spec)) d.spec = {};
  const spec = d.spec;
  spec.replicas ??= 1;
  if (!isPlainObject(spec.strategy)) spec.strategy = {};
  spec.strategy.type ||= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    if (!isPlainObject(spec.strategy.rollingUpdate)) spec.strategy.rollingUpdate = {};
    spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
    spec.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  if (!isPlainObject(spec.template)) spec.template = {};
  defaultPodTemplate(spec.template);
}

/** ValidateDeploymentStrategy / ValidateRollingUpdateDeployment. */
function validateStrategy(strategy: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const ru = strategy.rollingUpdate;
  if (strategy.type === 'Recreate') {
    if (ru != null) errs.push(field.forbidden(`${path}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'"));
  } else if (strategy.type === 'RollingUpdate') {
    if (!isPlainObject(ru)) errs.push(field.required(`${path}.rollingUpdate`, 'this should be defaulted and never be nil'));
    else {
      const p = `${path}.rollingUpdate`;
      errs.push(...validateIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validateIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge)) {
        errs.push(field.invalid(`${p}.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
      }
      errs.push(...percentOver100(ru.maxUnavailable, `${p}.maxUnavailable`));
    }
  } else if (strategy.type === undefined || strategy.type === '') {
    errs.push(field.required(`${path}.type`));
  } else {
    errs.push(field.notSupported(`${path}.type`, strategy.type, STRATEGY_TYPES));
  }
  return errs;
}

function isZero(v: unknown): boolean {
  return v === 0 || v === '0%' || v === '0';
}

function validateDeploymentSpec(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateRequiredSelector(spec.selector, 'spec.selector', 'deployment'));
  errs.push(...validateTemplate(spec.template, selectorOf(spec.selector), 'spec.template'));
  errs.push(...validateStrategy(isPlainObject(spec.strategy) ? spec.strategy : {}, 'spec.strategy'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (typeof spec.progressDeadlineSeconds === 'number') {
    errs.push(...validateNonnegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(field.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

function validateDeploymentStatus(d: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const status: Obj = isPlainObject(d.status) ? d.status : {};
  for (const key of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount']) {
    errs.push(...validateNonnegative(status[key], `status.${key}`));
  }
  const n = (k: string) => (typeof status[k] === 'number' ? status[k] : 0);
  if (n('updatedReplicas') > n('replicas')) errs.push(field.invalid('status.updatedReplicas', n('updatedReplicas'), 'cannot be greater than status.replicas'));
  if (n('readyReplicas') > n('replicas')) errs.push(field.invalid('status.readyReplicas', n('readyReplicas'), 'cannot be greater than status.replicas'));
  if (n('availableReplicas') > n('replicas')) errs.push(field.invalid('status.availableReplicas', n('availableReplicas'), 'cannot be greater than status.replicas'));
  if (n('availableReplicas') > n('readyReplicas')) errs.push(field.invalid('status.availableReplicas', n('availableReplicas'), 'cannot be greater than readyReplicas'));
  return errs;
}

export const deploymentKind: KindDef = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  definition: 'io.k8s.api.apps.v1.Deployment',
  subresources: {
    status: true,
    scale: {
      specReplicasPath: 'spec.replicas',
      statusReplicasPath: 'status.replicas',
      selector: (obj) => labelSelectorToString(obj.spec?.selector),
    },
  },
  tracksGeneration: true,
  nameValidator: isDNS1123Subdomain,
  defaults: defaultDeployment,
  prepareForCreate(d) {
    d.status = {};
  },
  validate: (d) => validateDeploymentSpec(isPlainObject(d.spec) ? d.spec : {}),
  validateUpdate: (d, old) => immutable('spec.selector', d.spec?.selector, old.spec?.selector),
  validateStatusUpdate: validateDeploymentStatus,
  table: {
    columns: [
      nameColumn,
      { name: 'Ready', type: 'string', description: 'Number of the pod with ready state' },
      { name: 'Up-to-date', type: 'integer', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.' },
      { name: 'Available', type: 'integer', description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.' },
      ageColumn,
      ...wideColumns,
    ],
    cells: (d, now) => [
      d.metadata.name,
      `${counter(d, 'readyReplicas')}/${d.spec?.replicas ?? 0}`,
      counter(d, 'updatedReplicas'),
      counter(d, 'availableReplicas'),
      age(d, now),
      ...wideCells(d.spec?.template, selectorCell(d.spec?.selector)),
    ],
  },
};
