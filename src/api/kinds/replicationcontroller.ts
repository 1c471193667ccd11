// core/v1 ReplicationController: a ReplicaSet with an equality-only selector that defaults to
// the template's labels (SetDefaults_ReplicationController), served at /api/v1.
import { isPlainObject, type KubeObject } from '../object.js';
import { defaultPodTemplate } from '../pod-defaults.js';
import type { KindDef } from '../registry.js';
import { labelSelectorFromSet } from '../selectors.js';
import { field, isDNS1123Subdomain, validateLabels, type FieldError } from '../validation.js';
import { replicaTable, validateReplicaStatus } from './replicaset.js';
import { age, ageColumn, nameColumn, validateNonnegative, type Obj } from './support.js';
import { counter, validateTemplate, wideCells, wideColumns } from './workload-common.js';

function selectorString(rc: KubeObject): string {
  return labelSelectorFromSet(isPlainObject(rc.spec?.selector) ? rc.spec.selector : {}).toString();
}

export function defaultReplicationController(rc: KubeObject): void {
  if (!isPlainObject(rc.spec)) rc.spec = {};
  const spec = rc.spec;
  const templateLabels = spec.template?.metadata?.labels;
  if (isPlainObject(templateLabels) && Object.keys(templateLabels).length) {
    if (!isPlainObject(spec.selector) || !Object.keys(spec.selector).length) spec.selector = { ...templateLabels };
    if (!isPlainObject(rc.metadata.labels) || !Object.keys(rc.metadata.labels).length) rc.metadata.labels = { ...templateLabels };
  }
  spec.replicas ??= 1;
  if (isPlainObject(spec.template)) defaultPodTemplate(spec.template);
}

/** ValidateReplicationControllerSpec. */
function validateSpec(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  const selector = isPlainObject(spec.selector) ? spec.selector : {};
  if (!Object.keys(selector).length) errs.push(field.required('spec.selector'));
  else errs.push(...validateLabels(selector, 'spec.selector'));
  errs.push(...validateTemplate(spec.template, labelSelectorFromSet(selector), 'spec.template'));
  return errs;
}

export const replicationControllerKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  definition: 'io.k8s.api.core.v1.ReplicationController',
  subresources: {
    status: true,
    scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', selector: selectorString },
  },
  tracksGeneration: true,
  nameValidator: isDNS1123Subdomain,
  defaults: defaultReplicationController,
  prepareForCreate(rc) {
    rc.status = { replicas: 0 };
  },
  validate: (rc) => validateSpec(isPlainObject(rc.spec) ? rc.spec : {}),
  validateStatusUpdate: validateReplicaStatus,
  table: replicaTable((rc) => selectorString(rc) || '<none>'),
};
