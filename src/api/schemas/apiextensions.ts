// apiextensions.k8s.io/v1: CustomResourceDefinition. Field names, required lists and list
// metadata follow upstream's published OpenAPI; descriptions are our own. JSONSchemaProps is
// published as upstream does (free-form JSON: the schema language is open-ended).
import { kindDefinition, s, type Definitions, type Schema } from '../schema.js';

export const APIEXT = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

const atomic = (items: Schema, description: string): Schema => s.list(items, description, { 'x-kubernetes-list-type': 'atomic' });

export const apiextensionsDefinitions: Definitions = {
  [`${APIEXT}CustomResourceDefinition`]: kindDefinition(
    { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' },
    'A new kind served by the API server: its names, versions and schema. The name must be <spec.names.plural>.<spec.group>.',
    {
      spec: s.ref(`${APIEXT}CustomResourceDefinitionSpec`, 'The kind to serve.'),
      status: s.ref(`${APIEXT}CustomResourceDefinitionStatus`, 'Whether the kind is served, under which names, and which versions objects were stored in.'),
    },
    { required: ['spec'] },
  ),
  [`${APIEXT}CustomResourceDefinitionSpec`]: s.obj(
    {
      group: s.str('The API group of the kind (/apis/<group>/...). Must contain a dot.', { default: '' }),
      names: s.ref(`${APIEXT}CustomResourceDefinitionNames`, 'The names of the kind and its resource.', { default: {} }),
      scope: s.str('Cluster or Namespaced.', { default: '' }),
      versions: atomic(s.ref(`${APIEXT}CustomResourceDefinitionVersion`, undefined, { default: {} }), 'The versions served; exactly one is the storage version.'),
      conversion: s.ref(`${APIEXT}CustomResourceConversion`, 'How objects are converted between versions.'),
      preserveUnknownFields: s.bool('Deprecated: must be false in v1. Unknown fields are pruned unless the schema preserves them.'),
    },
    'The kind a CustomResourceDefinition serves.',
    { required: ['group', 'names', 'scope', 'versions'] },
  ),
  [`${APIEXT}CustomResourceDefinitionNames`]: s.obj(
    {
      plural: s.str('The resource name in URLs, lowercase (e.g. crontabs).', { default: '' }),
      singular: s.str('The singular name, lowercase; defaults to the lowercased kind.'),
      shortNames: atomic({ type: 'string', default: '' }, 'Short aliases kubectl accepts (e.g. ct).'),
      kind: s.str('The serialized kind, CamelCase (e.g. CronTab).', { default: '' }),
      listKind: s.str('The kind of lists; defaults to <kind>List.'),
      categories: atomic({ type: 'string', default: '' }, 'Groups of resources this one belongs to (e.g. all), for `kubectl get <category>`.'),
    },
    'The names a custom resource is served under.',
    { required: ['plural', 'kind'] },
  ),
  [`${APIEXT}CustomResourceDefinitionVersion`]: s.obj(
    {
      name: s.str('The version name (e.g. v1, v2beta1), served at /apis/<group>/<name>.', { default: '' }),
      served: s.bool('Whether this version is served.'),
      storage: s.bool('Whether objects are stored in this version; exactly one version has it.'),
      deprecated: s.bool('Whether this version is deprecated; requests get a warning.'),
      deprecationWarning: s.str('The warning returned for a deprecated version, instead of the default.'),
      schema: s.ref(`${APIEXT}CustomResourceValidation`, 'The schema of this version.'),
      subresources: s.ref(`${APIEXT}CustomResourceSubresources`, 'The status and scale subresources of this version.'),
      additionalPrinterColumns: atomic(
        s.ref(`${APIEXT}CustomResourceColumnDefinition`, undefined, { default: {} }),
        'Columns `kubectl get` shows besides the name; when none are given an Age column is shown.',
      ),
      selectableFields: atomic(s.ref(`${APIEXT}SelectableField`, undefined, { default: {} }), 'Fields usable in field selectors.'),
    },
    'One version of a custom resource.',
    { required: ['name', 'served', 'storage'] },
  ),
  [`${APIEXT}SelectableField`]: s.obj({ jsonPath: s.str('The field, as a simple JSONPath.', { default: '' }) }, 'A field usable in field selectors.', {
    required: ['jsonPath'],
  }),
  [`${APIEXT}CustomResourceValidation`]: s.obj(
    { openAPIV3Schema: s.ref(`${APIEXT}JSONSchemaProps`, 'The structural OpenAPI v3 schema of objects of this version.') },
    'The schema of a custom resource version.',
  ),
  [`${APIEXT}JSONSchemaProps`]: {
    type: 'object',
    description: 'A JSON-Schema following the OpenAPI v3 schema object, with Kubernetes\' x-kubernetes- extensions.',
    'x-kubernetes-preserve-unknown-fields': true,
  },
  [`${APIEXT}CustomResourceSubresources`]: s.obj(
    {
      status: s.ref(`${APIEXT}CustomResourceSubresourceStatus`, 'Serve /status: the main resource then ignores status changes, /status ignores everything else.'),
      scale: s.ref(`${APIEXT}CustomResourceSubresourceScale`, 'Serve /scale, as an autoscaling/v1 Scale.'),
    },
    'The subresources of a custom resource version.',
  ),
  [`${APIEXT}CustomResourceSubresourceStatus`]: {
    type: 'object',
    description: 'Enables the status subresource (it has no settings).',
    'x-kubernetes-preserve-unknown-fields': true,
  },
  [`${APIEXT}CustomResourceSubresourceScale`]: s.obj(
    {
      specReplicasPath: s.str('JSON path of the desired replicas (.spec.replicas), under .spec.', { default: '' }),
      statusReplicasPath: s.str('JSON path of the observed replicas, under .status.', { default: '' }),
      labelSelectorPath: s.str('JSON path of the label selector in string form, under .status or .spec.'),
    },
    'How the scale subresource reads and writes replicas.',
    { required: ['specReplicasPath', 'statusReplicasPath'] },
  ),
  [`${APIEXT}CustomResourceColumnDefinition`]: s.obj(
    {
      name: s.str('The column header.', { default: '' }),
      type: s.str('integer, number, string, boolean or date.', { default: '' }),
      format: s.str('An optional OpenAPI format for the values.'),
      description: s.str('What the column shows.'),
      priority: s.int32('0 shows always; above 0 only with -o wide.'),
      jsonPath: s.str('A simple JSONPath of the value in each object.', { default: '' }),
    },
    'One column of `kubectl get` for a custom resource.',
    { required: ['name', 'type', 'jsonPath'] },
  ),
  [`${APIEXT}CustomResourceConversion`]: s.obj(
    {
      strategy: s.str('None (only apiVersion changes) or Webhook.', { default: '' }),
      webhook: s.ref(`${APIEXT}WebhookConversion`, 'The conversion webhook, for strategy Webhook.'),
    },
    'How custom objects are converted between versions.',
    { required: ['strategy'] },
  ),
  [`${APIEXT}WebhookConversion`]: {
    type: 'object',
    description: 'A conversion webhook (petset serves conversion None only).',
    'x-kubernetes-preserve-unknown-fields': true,
  },
  [`${APIEXT}CustomResourceDefinitionStatus`]: s.obj(
    {
      conditions: s.list(s.ref(`${APIEXT}CustomResourceDefinitionCondition`, undefined, { default: {} }), 'The current state: NamesAccepted, Established, Terminating.', {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
      acceptedNames: s.ref(`${APIEXT}CustomResourceDefinitionNames`, 'The names actually served (they may differ from spec.names while a change conflicts).', { default: {} }),
      storedVersions: atomic({ type: 'string', default: '' }, 'Every version objects have been stored in.'),
    },
    'The observed state of a CustomResourceDefinition.',
  ),
  [`${APIEXT}CustomResourceDefinitionCondition`]: s.obj(
    {
      type: s.str('Established, NamesAccepted or Terminating.', { default: '' }),
      status: s.str('True, False or Unknown.', { default: '' }),
      lastTransitionTime: s.ref(`${META}Time`, 'When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The transition in words.'),
    },
    'One condition of a CustomResourceDefinition.',
    { required: ['type', 'status'] },
  ),
};
