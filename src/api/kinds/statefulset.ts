// apps/v1 StatefulSet: defaults, validation and the create/update strategy, with upstream's
// messages, plus the scale subresource and kubectl's columns.
import { MAX_UNAVAILABLE_STATEFULSET } from '../features.js';
import { GoValue } from '../errors.js';
import { humanAge, isPlainObject, type KubeObject } from '../object.js';
import { defaultPodTemplate } from '../pod-defaults.js';
import { tryParseQuantity } from '../quantity.js';
import type { KindDef } from '../registry.js';
import { labelSelectorFromObject, labelSelectorToString, type LabelSelector } from '../selectors.js';
import {
  field,
  isDNS1123Label,
  isQualifiedName,
  isValidLabelValue,
  nonNegative,
  validateAnnotations,
  validateLabels,
  type FieldError,
} from '../validation.js';
import { semanticEqual, validatePodSpec } from './pod.js';

type Obj = Record<string, any>;

const POD_MANAGEMENT_POLICIES = ['OrderedReady', 'Parallel'];
const UPDATE_STRATEGIES = ['RollingUpdate', 'OnDelete'];
const RETENTION_POLICIES = ['Retain', 'Delete'];
const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const VOLUME_MODES = ['Block', 'Filesystem'];
const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

const IMMUTABLE_SPEC_MSG =
  "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
const NEGATIVE_HISTORY_WARNING =
  'spec.revisionHistoryLimit: a negative value retains all historical revisions; a value >= 0 is recommended';

/* ---------- defaults (pkg/apis/apps/v1 SetDefaults_StatefulSet) ---------- */

/** Idempotent: revision hashes are computed from the defaulted template. */
export function defaultStatefulSet(sts: KubeObject): void {
  if (!isPlainObject(sts.spec)) sts.spec = {};
  const spec = sts.spec;
  spec.podManagementPolicy ||= 'OrderedReady';

  if (!isPlainObject(spec.updateStrategy)) spec.updateStrategy = {};
  const strategy = spec.updateStrategy;
  if (!strategy.type) {
    strategy.type = 'RollingUpdate';
    if (!isPlainObject(strategy.rollingUpdate)) strategy.rollingUpdate = {};
  }
  // {type: RollingUpdate} without a rollingUpdate block stays without a partition, as upstream
  if (strategy.type === 'RollingUpdate' && isPlainObject(strategy.rollingUpdate)) {
    strategy.rollingUpdate.partition ??= 0;
    if (MAX_UNAVAILABLE_STATEFULSET) strategy.rollingUpdate.maxUnavailable ??= 1;
  }

  if (!isPlainObject(spec.persistentVolumeClaimRetentionPolicy)) spec.persistentVolumeClaimRetentionPolicy = {};
  spec.persistentVolumeClaimRetentionPolicy.whenDeleted ||= 'Retain';
  spec.persistentVolumeClaimRetentionPolicy.whenScaled ||= 'Retain';
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;

  if (!isPlainObject(spec.template)) spec.template = {};
  defaultPodTemplate(spec.template);
  for (const claim of objects(spec.volumeClaimTemplates)) defaultClaimTemplate(claim);
}

/** PVC defaults; the API also fills in the claim's apiVersion and kind, as `kubectl get -o yaml` shows. */
function defaultClaimTemplate(claim: Obj): void {
  claim.apiVersion ||= 'v1';
  claim.kind ||= 'PersistentVolumeClaim';
  if (!isPlainObject(claim.spec)) claim.spec = {};
  claim.spec.volumeMode ||= 'Filesystem';
  if (!isPlainObject(claim.status)) claim.status = {};
  claim.status.phase ||= 'Pending';
}

/** maxUnavailable belongs to the MaxUnavailableStatefulSet gate (src/api/features.ts). */
function dropMaxUnavailable(sts: KubeObject, old?: KubeObject): void {
  const rollingUpdate = sts.spec?.updateStrategy?.rollingUpdate;
  if (!isPlainObject(rollingUpdate)) return;
  if (MAX_UNAVAILABLE_STATEFULSET) return; // defaulted with the rest of the strategy
  if (old?.spec?.updateStrategy?.rollingUpdate?.maxUnavailable != null) return;
  delete rollingUpdate.maxUnavailable;
}

/** A valid maxUnavailable: a positive integer, or a percentage from 1% to 100%. */
function validateMaxUnavailable(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'number') {
    if (v < 0) return [field.invalid(path, v, 'must be greater than or equal to 0')];
    if (v === 0) return [field.invalid(path, v, 'cannot be 0')];
    return [];
  }
  if (typeof v === 'string') {
    const m = /^([0-9]+)%$/.exec(v);
    if (!m) {
      return [
        field.invalid(
          path,
          v,
          "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
      ];
    }
    const pct = Number(m[1]);
    if (pct === 0) return [field.invalid(path, v, 'cannot be 0')];
    if (pct > 100) return [field.invalid(path, v, 'must not be greater than 100%')];
    return [];
  }
  return [field.invalid(path, v, 'must be an integer or percentage (e.g \'5%\')')];
}

/* ---------- validation (pkg/apis/apps/validation ValidateStatefulSet) ---------- */

function validateStatefulSetSpec(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];

  const policy = spec.podManagementPolicy;
  if (!policy) errs.push(field.required('spec.podManagementPolicy'));
  else if (!POD_MANAGEMENT_POLICIES.includes(policy)) {
    errs.push(field.invalid('spec.podManagementPolicy', policy, "must be 'OrderedReady' or 'Parallel'"));
  }

  const strategy: Obj = isPlainObject(spec.updateStrategy) ? spec.updateStrategy : {};
  const rollingUpdate = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : undefined;
  if (!strategy.type) errs.push(field.required('spec.updateStrategy'));
  else if (!UPDATE_STRATEGIES.includes(strategy.type)) {
    errs.push(field.invalid('spec.updateStrategy', goUpdateStrategy(strategy.type, rollingUpdate), "must be 'RollingUpdate' or 'OnDelete'"));
  } else if (rollingUpdate && strategy.type === 'OnDelete') {
    errs.push(field.invalid('spec.updateStrategy.rollingUpdate', goRollingUpdate(rollingUpdate), "only allowed for updateStrategy 'RollingUpdate'"));
  } else if (rollingUpdate) {
    errs.push(...nonNegative(rollingUpdate.partition, 'spec.updateStrategy.rollingUpdate.partition'));
    errs.push(...validateMaxUnavailable(rollingUpdate.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable'));
  }

  const retention = spec.persistentVolumeClaimRetentionPolicy;
  if (isPlainObject(retention)) {
    for (const key of ['whenDeleted', 'whenScaled']) {
      if (!RETENTION_POLICIES.includes(retention[key])) {
        errs.push(field.notSupported(`spec.persistentVolumeClaimRetentionPolicy.${key}`, retention[key] ?? '', RETENTION_POLICIES));
      }
    }
  }
  if (spec.serviceName) for (const m of isDNS1123Label(spec.serviceName)) errs.push(field.invalid('spec.serviceName', spec.serviceName, m));
  errs.push(...nonNegative(spec.replicas, 'spec.replicas'));
  errs.push(...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  if (isPlainObject(spec.ordinals)) errs.push(...nonNegative(spec.ordinals.start, 'spec.ordinals.start'));

  if (!isPlainObject(spec.selector)) errs.push(field.required('spec.selector'));
  else {
    errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    if (!Object.keys(spec.selector.matchLabels ?? {}).length && !(spec.selector.matchExpressions ?? []).length) {
      errs.push(field.invalid('spec.selector', goLabelSelector(spec.selector), 'empty selector is invalid for statefulset'));
    }
  }
  const selector = selectorOrUndefined(spec.selector);
  if (!selector) errs.push(field.invalid('spec.selector', goLabelSelector(spec.selector), ''));
  else errs.push(...validateTemplate(spec, selector));

  const templateSpec: Obj = spec.template?.spec ?? {};
  if (templateSpec.restartPolicy !== 'Always') {
    errs.push(field.notSupported('spec.template.spec.restartPolicy', templateSpec.restartPolicy ?? '', ['Always']));
  }
  if (templateSpec.activeDeadlineSeconds != null) {
    errs.push(field.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in StatefulSet is not Supported'));
  }
  objects(spec.volumeClaimTemplates).forEach((claim, i) => errs.push(...validateClaimSpec(claim.spec, `spec.volumeClaimTemplates[${i}].spec`)));
  return errs;
}

function selectorOrUndefined(sel: unknown): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(isPlainObject(sel) ? sel : null);
  } catch {
    return undefined;
  }
}

/** ValidatePodTemplateSpecForStatefulSet: the selector must pick the template's pods. */
function validateTemplate(spec: Obj, selector: LabelSelector): FieldError[] {
  const errs: FieldError[] = [];
  const template: Obj = isPlainObject(spec.template) ? spec.template : {};
  const labels = template.metadata?.labels;
  if (!selector.empty && !selector.matches(labels)) {
    errs.push(field.invalid('spec.template.metadata.labels', goStringMap(labels), '`selector` does not match template `labels`'));
  }
  errs.push(...validateLabels(labels, 'spec.template.labels'));
  errs.push(...validateAnnotations(template.metadata?.annotations, 'spec.template.annotations'));
  // each claim template acts as a volume of the pod
  const claimNames = objects(spec.volumeClaimTemplates)
    .map((c) => c.metadata?.name)
    .filter((n): n is string => typeof n === 'string' && n !== '');
  errs.push(...validatePodSpec(isPlainObject(template.spec) ? template.spec : {}, 'spec.template.spec', { requireImage: false, implicitVolumes: claimNames }));
  return errs;
}

/** The parts of ValidatePersistentVolumeClaimSpec a claim template can get wrong. */
function validateClaimSpec(spec: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const s: Obj = isPlainObject(spec) ? spec : {};
  const modes: unknown[] = Array.isArray(s.accessModes) ? s.accessModes : [];
  if (!modes.length) errs.push(field.required(`${path}.accessModes`, 'at least 1 access mode is required'));
  for (const m of modes) if (!ACCESS_MODES.includes(m as string)) errs.push(field.notSupported(`${path}.accessModes`, m, ACCESS_MODES));
  const storage = s.resources?.requests?.storage;
  if (storage === undefined) errs.push(field.required(`${path}.resources[storage]`));
  else {
    const nanos = tryParseQuantity(storage)?.nanos;
    if (nanos === undefined || nanos <= 0n) errs.push(field.invalid(`${path}.resources[storage]`, String(storage), 'must be greater than zero'));
  }
  if (s.volumeMode && !VOLUME_MODES.includes(s.volumeMode)) errs.push(field.notSupported(`${path}.volumeMode`, s.volumeMode, VOLUME_MODES));
  return errs;
}

/** metav1validation.ValidateLabelSelector, with invalid label values rejected. */
export function validateLabelSelector(sel: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  objects(sel.matchExpressions).forEach((expr, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values: unknown[] = Array.isArray(expr.values) ? expr.values : [];
    if (!SELECTOR_OPERATORS.includes(expr.operator)) {
      errs.push(field.invalid(`${p}.operator`, expr.operator ?? '', 'not a valid selector operator'));
    } else if ((expr.operator === 'In' || expr.operator === 'NotIn') && !values.length) {
      errs.push(field.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if ((expr.operator === 'Exists' || expr.operator === 'DoesNotExist') && values.length) {
      errs.push(field.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    }
    for (const m of isQualifiedName(String(expr.key ?? ''))) errs.push(field.invalid(`${p}.key`, expr.key ?? '', m));
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(String(v))) errs.push(field.invalid(`${p}.values[${j}]`, v, m));
    });
  });
  errs.push(...validateLabels(isPlainObject(sel.matchLabels) ? sel.matchLabels : undefined, `${path}.matchLabels`));
  return errs;
}

function validateStatefulSetUpdate(sts: KubeObject, old: KubeObject): FieldError[] {
  const spec: Obj = { ...(sts.spec ?? {}) };
  const oldSpec: Obj = old.spec ?? {};
  for (const key of ['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy']) {
    spec[key] = oldSpec[key];
  }
  return semanticEqual(spec, oldSpec) ? [] : [field.forbidden('spec', IMMUTABLE_SPEC_MSG)];
}

const STATUS_COUNTERS = ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas'];

function validateStatefulSetStatusUpdate(sts: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const status: Obj = isPlainObject(sts.status) ? sts.status : {};
  const count = (key: string): number => (typeof status[key] === 'number' ? status[key] : 0);
  for (const key of [...STATUS_COUNTERS, 'observedGeneration', 'collisionCount']) errs.push(...nonNegative(status[key], `status.${key}`));
  for (const key of STATUS_COUNTERS.slice(1)) {
    if (count(key) > count('replicas')) errs.push(field.invalid(`status.${key}`, count(key), 'cannot be greater than status.replicas'));
  }
  if (count('availableReplicas') > count('readyReplicas')) {
    errs.push(field.invalid('status.availableReplicas', count('availableReplicas'), 'cannot be greater than status.readyReplicas'));
  }
  const collisions = status.collisionCount;
  const oldCollisions = old.status?.collisionCount;
  if (oldCollisions != null && (collisions == null || collisions < oldCollisions)) {
    errs.push(field.invalid('status.collisionCount', collisions ?? 0, 'cannot be decremented'));
  }
  return errs;
}

/* ---------- Go's %#v of the values upstream reports ---------- */

/** map[string]string as %#v prints it: keys sorted, nil when absent. */
export function goStringMap(m: unknown): GoValue {
  if (!isPlainObject(m)) return new GoValue('map[string]string(nil)');
  const entries = Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(m[k]))}`);
  return new GoValue(`map[string]string{${entries.join(', ')}}`);
}

function goLabelSelector(sel: unknown): GoValue {
  if (!isPlainObject(sel)) return new GoValue('null');
  const exprs = Array.isArray(sel.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${objects(sel.matchExpressions)
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${JSON.stringify(String(e.key ?? ''))}, Operator:${JSON.stringify(String(e.operator ?? ''))}, Values:${goStringSlice(e.values)}}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return new GoValue(`v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels).text}, MatchExpressions:${exprs}}`);
}

function goStringSlice(v: unknown): string {
  return Array.isArray(v) ? `[]string{${v.map((x) => JSON.stringify(String(x))).join(', ')}}` : '[]string(nil)';
}

// Pointers print as addresses in Go; a fixed stand-in keeps our messages deterministic.
const GO_POINTER = '0xc000000000';

function goRollingUpdateFields(ru: Obj): string {
  const maxUnavailable = ru.maxUnavailable == null ? '(*intstr.IntOrString)(nil)' : `(*intstr.IntOrString)(${GO_POINTER})`;
  return `Partition:${typeof ru.partition === 'number' ? ru.partition : 0}, MaxUnavailable:${maxUnavailable}`;
}

function goRollingUpdate(ru: Obj): GoValue {
  return new GoValue(`apps.RollingUpdateStatefulSetStrategy{${goRollingUpdateFields(ru)}}`);
}

function goUpdateStrategy(type: unknown, ru: Obj | undefined): GoValue {
  const pointer = ru ? GO_POINTER : 'nil';
  return new GoValue(`apps.StatefulSetUpdateStrategy{Type:${JSON.stringify(String(type))}, RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(${pointer})}`);
}

/* ---------- printing ---------- */

function containerCells(sts: KubeObject): [string, string] {
  const containers = objects(sts.spec?.template?.spec?.containers);
  return [containers.map((c) => c.name).join(','), containers.map((c) => c.image).join(',')];
}

function objects(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isPlainObject) : [];
}

/* ---------- the kind ---------- */

export const statefulSetKind: KindDef = {
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  plural: 'statefulsets',
  singular: 'statefulset',
  namespaced: true,
  shortNames: ['sts'],
  categories: ['all'],
  definition: 'io.k8s.api.apps.v1.StatefulSet',
  subresources: {
    status: true,
    scale: {
      specReplicasPath: 'spec.replicas',
      statusReplicasPath: 'status.replicas',
      selector: (obj) => labelSelectorToString(obj.spec?.selector),
    },
  },
  tracksGeneration: true,
  nameValidator: isDNS1123Label,

  defaults: defaultStatefulSet,

  prepareForCreate(sts) {
    // upstream always serializes these two counters, even at zero
    sts.status = { replicas: 0, availableReplicas: 0 };
    dropMaxUnavailable(sts);
  },

  prepareForUpdate(sts, old) {
    dropMaxUnavailable(sts, old);
  },

  validate(sts) {
    return validateStatefulSetSpec(isPlainObject(sts.spec) ? sts.spec : {});
  },

  validateUpdate: validateStatefulSetUpdate,
  validateStatusUpdate: validateStatefulSetStatusUpdate,

  warnings(sts) {
    return typeof sts.spec?.revisionHistoryLimit === 'number' && sts.spec.revisionHistoryLimit < 0 ? [NEGATIVE_HISTORY_WARNING] : [];
  },

  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name', description: 'Unique name of the set in its namespace.' },
      { name: 'Ready', type: 'string', description: 'Ready pods out of the desired replicas.' },
      { name: 'Age', type: 'string', description: 'Time since the set was created.' },
      { name: 'Containers', type: 'string', priority: 1, description: 'Container names of the pod template.' },
      { name: 'Images', type: 'string', priority: 1, description: 'Container images of the pod template.' },
    ],
    cells(sts, now) {
      return [
        sts.metadata.name,
        `${sts.status?.readyReplicas ?? 0}/${sts.spec?.replicas ?? 0}`,
        humanAge(sts.metadata.creationTimestamp, now),
        ...containerCells(sts),
      ];
    },
  },
};
