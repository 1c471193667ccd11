// core/v1 ResourceQuota and LimitRange, and scheduling.k8s.io/v1 PriorityClass: the per-namespace
// limits and the pod priorities admission applies. Field names, formats, required lists and
// patch metadata follow upstream's published OpenAPI; descriptions are our own.
import { kindDefinition, s, type Definitions, type Schema } from '../schema.js';

const CORE = 'io.k8s.api.core.v1.';
const SCHEDULING = 'io.k8s.api.scheduling.v1.';

const atomic = (items: Schema, description: string): Schema => s.list(items, description, { 'x-kubernetes-list-type': 'atomic' });
const resourceList = (description: string): Schema => s.map({ $ref: 'io.k8s.apimachinery.pkg.api.resource.Quantity' }, description);

export const quotaDefinitions: Definitions = {
  [`${CORE}ResourceQuota`]: kindDefinition(
    { group: '', version: 'v1', kind: 'ResourceQuota' },
    'Caps what a namespace may hold: object counts and the sum of its pods\' requests and limits.',
    {
      spec: s.ref(`${CORE}ResourceQuotaSpec`, 'The caps.', { default: {} }),
      status: s.ref(`${CORE}ResourceQuotaStatus`, 'The caps as enforced and what is used of them.', { default: {} }),
    },
  ),

  [`${CORE}ResourceQuotaSpec`]: s.obj(
    {
      hard: resourceList('The cap of each resource, e.g. pods, requests.cpu, limits.memory, count/deployments.apps.'),
      scopes: atomic({ type: 'string' }, 'Only objects in all these scopes count (Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass ...).'),
      scopeSelector: s.ref(`${CORE}ScopeSelector`, 'Scopes as expressions, e.g. the PriorityClass scope with the classes named.'),
    },
    'The caps of a ResourceQuota.',
  ),

  [`${CORE}ScopeSelector`]: s.obj(
    { matchExpressions: atomic(s.ref(`${CORE}ScopedResourceSelectorRequirement`, '', { default: {} }), 'All must hold.') },
    'Scopes as expressions.',
    { 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}ScopedResourceSelectorRequirement`]: s.obj(
    {
      scopeName: s.str('The scope.', { default: '' }),
      operator: s.str('In, NotIn, Exists or DoesNotExist.', { default: '' }),
      values: atomic({ type: 'string' }, 'The values for In and NotIn.'),
    },
    'One scope expression.',
    { required: ['scopeName', 'operator'] },
  ),

  [`${CORE}ResourceQuotaStatus`]: s.obj(
    {
      hard: resourceList('The caps as last enforced.'),
      used: resourceList('What the namespace uses of each capped resource.'),
    },
    'What a ResourceQuota observed.',
  ),

  [`${CORE}LimitRange`]: kindDefinition(
    { group: '', version: 'v1', kind: 'LimitRange' },
    "Per-container, per-pod and per-claim bounds in a namespace, and the defaults filled into containers that set no requests or limits.",
    { spec: s.ref(`${CORE}LimitRangeSpec`, 'The bounds.', { default: {} }) },
  ),

  [`${CORE}LimitRangeSpec`]: s.obj(
    { limits: atomic(s.ref(`${CORE}LimitRangeItem`, '', { default: {} }), 'The bounds, one item per kind of object.') },
    'The bounds of a LimitRange.',
    { required: ['limits'] },
  ),

  [`${CORE}LimitRangeItem`]: s.obj(
    {
      type: s.str('Container, Pod or PersistentVolumeClaim.', { default: '' }),
      max: resourceList('The largest limit (or request) allowed.'),
      min: resourceList('The smallest request (or limit) allowed.'),
      default: resourceList('The limit filled into containers that set none.'),
      defaultRequest: resourceList('The request filled into containers that set none.'),
      maxLimitRequestRatio: resourceList('The largest limit-to-request ratio allowed.'),
    },
    'The bounds for one kind of object.',
    { required: ['type'] },
  ),

  [`${SCHEDULING}PriorityClass`]: kindDefinition(
    { group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass' },
    'A named pod priority: pods naming the class get its value as spec.priority.',
    {
      value: s.int32('The priority; user classes up to 1000000000, higher values are reserved for the system classes.', { default: 0 }),
      globalDefault: s.bool('The priority of pods that name no class; at most one class may be the default.'),
      description: s.str('When to use this class.'),
      preemptionPolicy: s.str('PreemptLowerPriority (default) or Never.'),
    },
    { required: ['value'] },
  ),
};
