// The apimachinery types every kind shares: object and list metadata, owner references,
// label selectors, the Status and DeleteOptions envelopes, and the scalar wrappers
// (Time, Quantity, IntOrString, RawExtension) that other schemas reference by name.
import { s, type Definitions, type Schema } from '../schema.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

const strList = (description: string, extra: Partial<Schema> = {}): Schema =>
  s.list({ type: 'string' }, description, { 'x-kubernetes-list-type': 'atomic', ...extra });

export const metaDefinitions: Definitions = {
  [`${META}ObjectMeta`]: s.obj(
    {
      name: s.str('Unique name of the object within its namespace (or cluster-wide for cluster-scoped kinds). Fixed once created.'),
      generateName: s.str(
        'Prefix the server extends with a random suffix to build a unique name, used only when name is empty. A clash is answered with 409.',
      ),
      namespace: s.str('Namespace the object lives in; a DNS label. Empty for cluster-scoped kinds. Fixed once created.'),
      uid: s.str('Identifier assigned by the server at creation, never reused. Read-only.'),
      resourceVersion: s.str(
        'Opaque version of this object, changed on every write. Send it back unchanged for optimistic concurrency and watches. Read-only.',
      ),
      generation: s.int64('Number of the desired state, bumped by the server when the spec changes. Read-only.'),
      creationTimestamp: s.time('When the server stored the object for the first time (RFC 3339, UTC). Read-only.'),
      deletionTimestamp: s.time(
        'Set by the server when deletion was requested: the moment after which the object may be removed once no finalizers remain. Read-only.',
      ),
      deletionGracePeriodSeconds: s.int64('Seconds the object was given to terminate gracefully; only present together with deletionTimestamp. Read-only.'),
      labels: s.stringMap('Key/value pairs for organising and selecting objects.'),
      annotations: s.stringMap('Key/value pairs for tools and extensions; not used for selection.'),
      ownerReferences: s.mergeList(
        s.ref(`${META}OwnerReference`),
        'uid',
        'Objects this one depends on. When all owners are gone the garbage collector removes it; at most one owner may be the managing controller.',
      ),
      finalizers: s.setList(
        { type: 'string' },
        'Names of parties that must finish cleanup before the object is removed. Once deletion started entries can only be removed.',
      ),
      managedFields: s.list(
        s.ref(`${META}ManagedFieldsEntry`),
        'Which manager owns which fields, as recorded for server-side apply. Internal bookkeeping.',
        { 'x-kubernetes-list-type': 'atomic' },
      ),
      selfLink: s.str('Legacy field, no longer filled in by the server.'),
    },
    'Metadata that every persisted object carries.',
  ),

  [`${META}OwnerReference`]: s.obj(
    {
      apiVersion: s.str('API version of the owner.'),
      kind: s.str('Kind of the owner.'),
      name: s.str('Name of the owner.'),
      uid: s.str('UID of the owner; a reference to an older object with the same name does not count.'),
      controller: s.bool('True when the owner is the managing controller of this object.'),
      blockOwnerDeletion: s.bool(
        'When true and the owner is deleted in the foreground, the owner stays until this reference is gone. Setting it needs delete permission on the owner.',
      ),
    },
    'Points at an object that owns this one. Owners live in the same namespace or are cluster-scoped.',
    { required: ['apiVersion', 'kind', 'name', 'uid'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${META}ManagedFieldsEntry`]: s.obj(
    {
      manager: s.str('Name of the workflow that manages these fields.'),
      operation: s.str("Operation that recorded the entry: 'Apply' or 'Update'."),
      apiVersion: s.str('Group/version in which the field set is expressed.'),
      time: s.time('When the entry last changed.'),
      fieldsType: s.str('Format of the field set; only "FieldsV1" exists.'),
      fieldsV1: s.ref(`${META}FieldsV1`, 'The set of fields, in the FieldsV1 trie format.'),
      subresource: s.str('Subresource the write went through, empty for the main resource.'),
    },
    'One manager\'s claim on a set of fields.',
  ),

  [`${META}FieldsV1`]: {
    ...s.any("A set of field paths encoded as a JSON trie ('f:<name>', 'k:<keys>', 'v:<value>', 'i:<index>' keys)."),
  },

  [`${META}LabelSelector`]: s.obj(
    {
      matchLabels: s.stringMap('Labels that must all be present with these exact values.'),
      matchExpressions: s.list(s.ref(`${META}LabelSelectorRequirement`), 'Further requirements, all of which must hold.', {
        'x-kubernetes-list-type': 'atomic',
      }),
    },
    'A query over labels. All terms are ANDed; an empty selector matches everything, a missing one matches nothing.',
    { 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${META}LabelSelectorRequirement`]: s.obj(
    {
      key: s.str('The label key the requirement is about.'),
      operator: s.str('How the key relates to the values: In, NotIn, Exists or DoesNotExist.'),
      values: strList('Values for In and NotIn (must be non-empty); must be empty for Exists and DoesNotExist. Replaced whole by strategic merge patch.'),
    },
    'One term of a label selector: a key, an operator and values.',
    { required: ['key', 'operator'] },
  ),

  [`${META}Time`]: { type: 'string', format: 'date-time', description: 'A point in time, serialized as RFC 3339 with second precision.' },
  [`${META}MicroTime`]: {
    type: 'string',
    format: 'date-time',
    description: 'A point in time with microsecond precision, serialized as RFC 3339.',
  },

  [`${META}ListMeta`]: s.obj(
    {
      resourceVersion: s.str('Version of the collection at the time it was read; start a watch from here.'),
      continue: s.str('Token for the next page when the list was limited; opaque and short-lived.'),
      remainingItemCount: s.int64('Estimate of how many items remain after this page, when the server can tell.'),
      selfLink: s.str('Legacy field, no longer filled in by the server.'),
    },
    'Metadata of lists and other synthetic results.',
  ),

  [`${META}Status`]: {
    type: 'object',
    description: 'The result of an operation that does not return an object, and the shape of every error.',
    properties: {
      apiVersion: s.apiVersion(),
      kind: s.kind(),
      metadata: s.ref(`${META}ListMeta`, 'List metadata (usually empty).', { default: {} }),
      status: s.str('"Success" or "Failure".'),
      message: s.str('What happened, for humans.'),
      reason: s.str('A machine-readable CamelCase word for why the operation failed; empty when unknown.'),
      details: s.ref(`${META}StatusDetails`, 'More data about the reason; its content depends on the reason.'),
      code: s.int32('The HTTP status code of the answer, 0 if unset.'),
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
  },

  [`${META}StatusDetails`]: s.obj(
    {
      name: s.str('Name of the object the status is about, when there is one.'),
      group: s.str('API group of the resource the status is about.'),
      kind: s.str('Kind (or resource) the status is about.'),
      uid: s.str('UID of the object the status is about, when there is one.'),
      causes: s.list(s.ref(`${META}StatusCause`), 'Individual problems behind the failure, such as one per invalid field.', {
        'x-kubernetes-list-type': 'atomic',
      }),
      retryAfterSeconds: s.int32('Seconds the client should wait before retrying, when the server suggests it.'),
    },
    'Extra data attached to a Status. Clients must tolerate any field being absent.',
  ),

  [`${META}StatusCause`]: s.obj(
    {
      reason: s.str('A machine-readable word for the problem, e.g. FieldValueInvalid.'),
      message: s.str('The problem in words, fit to show to a user.'),
      field: s.str('JSON path of the offending field, e.g. "spec.containers[0].image".'),
    },
    'One reason behind a failed operation.',
  ),

  [`${META}Condition`]: s.obj(
    {
      type: s.str('Condition type in CamelCase, or prefixed with a domain.'),
      status: s.str('True, False or Unknown.'),
      observedGeneration: s.int64('The metadata.generation the condition was computed from.'),
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The transition in words; may be empty.'),
    },
    'One aspect of an object\'s current state, in the standard condition shape.',
    { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
  ),

  [`${META}Preconditions`]: s.obj(
    {
      uid: s.str('The object must have this UID.'),
      resourceVersion: s.str('The object must be at this resourceVersion.'),
    },
    'Conditions the stored object must meet for the operation to proceed.',
  ),

  [`${META}DeleteOptions`]: {
    type: 'object',
    description: 'Options for a DELETE request.',
    properties: {
      apiVersion: s.apiVersion(),
      kind: s.kind(),
      gracePeriodSeconds: s.int64(
        'Seconds to wait before the object is removed; 0 removes it at once. Unset uses the kind\'s default (the pod\'s terminationGracePeriodSeconds).',
      ),
      preconditions: s.ref(`${META}Preconditions`, 'Checks that must pass before deletion.'),
      orphanDependents: s.bool('Deprecated: use propagationPolicy. True orphans dependents, false deletes them in the background.'),
      propagationPolicy: s.str("How dependents are handled: 'Orphan', 'Background' or 'Foreground'."),
      dryRun: strList("When set to ['All'], the request is validated but nothing is stored."),
      ignoreStoreReadErrorWithClusterBreakingPotential: s.bool(
        'Delete even when the stored object cannot be read or decoded. Dangerous; needs extra permission.',
      ),
    },
    'x-kubernetes-group-version-kind': [
      { group: '', version: 'v1', kind: 'DeleteOptions' },
      { group: 'apps', version: 'v1', kind: 'DeleteOptions' },
      { group: 'autoscaling', version: 'v1', kind: 'DeleteOptions' },
    ],
  },

  // Upstream publishes Quantity as "string or number" so that `cpu: 1` and `memory: 1Gi` both validate.
  'io.k8s.apimachinery.pkg.api.resource.Quantity': {
    description:
      'A fixed-point amount: a number with an optional suffix, binary (Ki, Mi, Gi, Ti, Pi, Ei), decimal (m, k, M, G, T, P, E) or an exponent (e.g. 1e3). Plain numbers are accepted.',
    oneOf: [{ type: 'string' }, { type: 'number' }],
  },

  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': {
    description: 'Either a 32-bit integer or a string, e.g. a port number or a port name, or a count or a percentage.',
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
  },

  'io.k8s.apimachinery.pkg.runtime.RawExtension': {
    ...s.any('An embedded object of any kind, stored as given.'),
  },
};
