import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Registry, type AnyKindDef } from '../../src/api/registry.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { kindDefinition, s, type Definitions } from '../../src/api/schema.js';
import { openApiV3Document, openApiV3DocumentJson, openApiV3Index } from '../../src/apiserver/openapi.js';
import { openApiV2Json, openApiV2Protobuf } from '../../src/apiserver/openapi-v2.js';
import { KIND_ENTRIES } from '../../src/apiserver/kinds/index.js';
import { entryKey } from '../../src/apiserver/resource-table.js';

/* ------------------------------------------------------------------ a small registry */

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const CORE = 'io.k8s.api.core.v1.';
const APPS = 'io.k8s.api.apps.v1.';

const definitions: Definitions = {
  [`${META}ObjectMeta`]: s.obj(
    { name: s.str('name'), namespace: s.str('namespace'), labels: s.stringMap('labels'), annotations: s.stringMap('annotations') },
    'ObjectMeta is metadata.',
  ),
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string', description: 'a number or a string' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { description: 'an amount', oneOf: [{ type: 'string' }, { type: 'number' }] },
  [`${CORE}Container`]: s.obj(
    {
      name: s.str('container name'),
      image: s.str('image'),
      ports: s.mergeList({ type: 'integer', format: 'int32' }, 'containerPort', 'ports'),
      limits: s.map(s.quantity('a limit'), 'limits'),
    },
    'A container.',
    { required: ['name'] },
  ),
  [`${CORE}PodSpec`]: s.obj({ containers: s.mergeList(s.ref(`${CORE}Container`, undefined, { default: {} }), 'name', 'containers') }, 'Pod spec.'),
  [`${CORE}PodTemplateSpec`]: s.obj({ metadata: s.meta(), spec: s.ref(`${CORE}PodSpec`, 'the pod spec', { default: {} }) }, 'A pod template.'),
  [`${CORE}Pod`]: kindDefinition({ group: '', version: 'v1', kind: 'Pod' }, 'Pod is a group of containers.', {
    spec: s.ref(`${CORE}PodSpec`, 'the pod spec', { default: {} }),
    status: s.obj({ phase: s.enumOf(['Pending', 'Running'], 'phase') }, 'status'),
  }),
  [`${CORE}Namespace`]: kindDefinition({ group: '', version: 'v1', kind: 'Namespace' }, 'A namespace.', {
    spec: s.obj({ finalizers: s.list(s.str('finalizer'), 'finalizers') }, 'spec'),
  }),
  [`${APPS}RollingUpdateStatefulSetStrategy`]: s.obj(
    {
      partition: s.int32('Ordinals at or above this are updated.'),
      maxUnavailable: s.intOrString('How many pods may be unavailable.'),
    },
    'Rolling update parameters.',
  ),
  [`${APPS}StatefulSetUpdateStrategy`]: s.obj(
    {
      type: s.enumOf(['OnDelete', 'RollingUpdate'], 'The strategy type.'),
      rollingUpdate: s.ref(`${APPS}RollingUpdateStatefulSetStrategy`, 'Used when type is RollingUpdate.'),
    },
    'How pods are replaced.',
  ),
  [`${APPS}StatefulSetSpec`]: s.obj(
    {
      replicas: s.int32('Desired pods.'),
      template: s.ref(`${CORE}PodTemplateSpec`, 'The pod template.', { default: {} }),
      updateStrategy: s.ref(`${APPS}StatefulSetUpdateStrategy`, 'Our update strategy text.', { default: {} }),
    },
    'StatefulSet spec.',
    { required: ['template'] },
  ),
  [`${APPS}StatefulSet`]: kindDefinition({ group: 'apps', version: 'v1', kind: 'StatefulSet' }, 'A set of pods with identities.', {
    spec: s.ref(`${APPS}StatefulSetSpec`, 'The desired state.', { default: {} }),
  }),
  [`${APPS}ControllerRevision`]: kindDefinition({ group: 'apps', version: 'v1', kind: 'ControllerRevision' }, 'A revision.', {
    data: s.any('the data'),
    revision: s.int64('the revision'),
  }),
  'io.k8s.api.autoscaling.v1.Scale': kindDefinition({ group: 'autoscaling', version: 'v1', kind: 'Scale' }, 'Scale of a resource.', {
    spec: s.obj({ replicas: s.int32('desired') }, 'spec'),
  }),
};

const scale = { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', selector: () => '' };
const kinds: AnyKindDef[] = [
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, definition: `${CORE}Pod`, subresources: { status: true }, returnDeletedObject: true },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, definition: `${CORE}Namespace`, subresources: { status: true } },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset', namespaced: true, definition: `${APPS}StatefulSet`, subresources: { status: true, scale } },
  { group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', singular: 'controllerrevision', namespaced: true, definition: `${APPS}ControllerRevision`, openapiStrategicMerge: false },
];
const registry = new Registry(kinds, definitions);

/* ------------------------------------------------------------------ helpers */

function allRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const v of node) allRefs(v, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') out.push(v as string);
      else allRefs(v, out);
    }
  }
  return out;
}

function assertV3Closed(doc: any): void {
  for (const ref of allRefs(doc)) {
    assert.match(ref, /^#\/components\/schemas\//);
    assert.ok(doc.components.schemas[ref.slice('#/components/schemas/'.length)], `dangling ${ref}`);
  }
}

/** The first path item + operation whose x-kubernetes-group-version-kind equals gvk, as kubectl searches. */
function findPatch(doc: any, gvk: { group: string; version: string; kind: string }) {
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    const op = item.patch;
    const g = op?.['x-kubernetes-group-version-kind'];
    if (g && g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind) return { path, op };
  }
  return undefined;
}

/* ------------------------------------------------------------------ v3 */

test('v3 index lists one document per group/version with upstream-style hashes', () => {
  const index = openApiV3Index(registry);
  assert.deepEqual(Object.keys(index.paths), ['api/v1', 'apis/apps/v1']);
  for (const [key, { serverRelativeURL }] of Object.entries(index.paths)) {
    const m = serverRelativeURL.match(/^\/openapi\/v3\/(.+)\?hash=([0-9A-F]{128})$/);
    assert.ok(m, serverRelativeURL);
    assert.equal(m[1], key);
    const json = openApiV3DocumentJson(registry, key)!;
    assert.equal(m[2], createHash('sha512').update(json).digest('hex').toUpperCase());
    assert.deepEqual(JSON.parse(json), openApiV3Document(registry, key));
  }
  assert.equal(openApiV3Index(registry), index, 'cached per registry');
  assert.equal(openApiV3Document(registry, 'apis/batch/v1'), undefined);
  // A new registry with the same content hashes the same.
  assert.deepEqual(openApiV3Index(new Registry(kinds, definitions)), index);
});

test('v3 apps/v1: the statefulset patch operation kubectl looks for', () => {
  const doc: any = openApiV3Document(registry, 'apis/apps/v1');
  assert.equal(doc.openapi, '3.0.0');
  assert.deepEqual(doc.info, { title: 'Kubernetes', version: 'v1.32.0' });
  const found = findPatch(doc, { group: 'apps', version: 'v1', kind: 'StatefulSet' });
  assert.ok(found);
  const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}'];
  const op = item.patch;
  assert.equal(op.operationId, 'patchAppsV1NamespacedStatefulSet');
  assert.equal(op['x-kubernetes-action'], 'patch');
  assert.deepEqual(op['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'StatefulSet' });
  assert.deepEqual(op.parameters.map((p: any) => p.name), ['dryRun', 'fieldManager', 'fieldValidation', 'force']);
  assert.deepEqual(op.parameters[2], { description: op.parameters[2].description, in: 'query', name: 'fieldValidation', schema: { type: 'string', uniqueItems: true } });
  assert.deepEqual(Object.keys(op.requestBody.content), [
    'application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json',
  ]);
  assert.equal(op.requestBody.content['application/json-patch+json'].schema.$ref, `#/components/schemas/${META}Patch`);
  assert.equal(op.responses['200'].content['application/json'].schema.$ref, `#/components/schemas/${APPS}StatefulSet`);
  assert.deepEqual(item.parameters.map((p: any) => [p.name, p.in, p.required ?? false]), [
    ['name', 'path', true], ['namespace', 'path', true], ['pretty', 'query', false],
  ]);
  assert.deepEqual(
    Object.fromEntries(['get', 'put', 'delete'].map((m) => [m, [item[m].operationId, item[m]['x-kubernetes-action']]])),
    {
      get: ['readAppsV1NamespacedStatefulSet', 'get'],
      put: ['replaceAppsV1NamespacedStatefulSet', 'put'],
      delete: ['deleteAppsV1NamespacedStatefulSet', 'delete'],
    },
  );
  assert.equal(item.delete.responses['200'].content['application/json'].schema.$ref, `#/components/schemas/${META}Status`);
});

test('v3 apps/v1: collection, all-namespaces, watch, status and scale paths', () => {
  const doc: any = openApiV3Document(registry, 'apis/apps/v1');
  const ops = (path: string) =>
    Object.fromEntries(
      Object.entries<any>(doc.paths[path]).filter(([k]) => k !== 'parameters').map(([m, op]) => [m, `${op.operationId}/${op['x-kubernetes-action']}`]),
    );
  assert.deepEqual(ops('/apis/apps/v1/namespaces/{namespace}/statefulsets'), {
    get: 'listAppsV1NamespacedStatefulSet/list',
    post: 'createAppsV1NamespacedStatefulSet/post',
    delete: 'deleteAppsV1CollectionNamespacedStatefulSet/deletecollection',
  });
  assert.deepEqual(ops('/apis/apps/v1/statefulsets'), { get: 'listAppsV1StatefulSetForAllNamespaces/list' });
  assert.deepEqual(ops('/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}/status'), {
    get: 'readAppsV1NamespacedStatefulSetStatus/get',
    put: 'replaceAppsV1NamespacedStatefulSetStatus/put',
    patch: 'patchAppsV1NamespacedStatefulSetStatus/patch',
  });
  assert.deepEqual(ops('/apis/apps/v1/watch/namespaces/{namespace}/statefulsets/{name}'), { get: 'watchAppsV1NamespacedStatefulSet/watch' });
  assert.deepEqual(ops('/apis/apps/v1/watch/statefulsets'), { get: 'watchAppsV1StatefulSetListForAllNamespaces/watchlist' });

  const list = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets'].get;
  assert.ok(list.parameters.some((p: any) => p.name === 'labelSelector'));
  assert.ok(list.responses['200'].content['application/json;stream=watch']);
  assert.equal(list.responses['200'].content['application/json'].schema.$ref, `#/components/schemas/${APPS}StatefulSetList`);

  const scalePatch = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}/scale'].patch;
  assert.equal(scalePatch.operationId, 'patchAppsV1NamespacedStatefulSetScale');
  assert.deepEqual(scalePatch['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  assert.equal(scalePatch.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/io.k8s.api.autoscaling.v1.Scale');
  assert.ok(doc.components.schemas['io.k8s.api.autoscaling.v1.Scale']);
});

test('v3: strategic merge patch is advertised only for kinds that allow it', () => {
  const doc: any = openApiV3Document(registry, 'apis/apps/v1');
  const op = findPatch(doc, { group: 'apps', version: 'v1', kind: 'ControllerRevision' })!.op;
  assert.deepEqual(Object.keys(op.requestBody.content), ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json']);
  assert.ok(op.parameters.some((p: any) => p.name === 'fieldValidation'), 'validation still works');
});

test('v3 components: reachable closure, GVK arrays, allOf-wrapped refs, generated lists', () => {
  const doc: any = openApiV3Document(registry, 'apis/apps/v1');
  const schemas = doc.components.schemas;
  assertV3Closed(doc);
  for (const name of [`${CORE}PodTemplateSpec`, `${CORE}Container`, `${META}ObjectMeta`, `${META}ListMeta`, `${META}DeleteOptions`, `${META}Status`, `${META}WatchEvent`, 'io.k8s.apimachinery.pkg.util.intstr.IntOrString']) {
    assert.ok(schemas[name], name);
  }
  assert.equal(schemas[`${CORE}Pod`], undefined, 'core Pod is not reachable from apps/v1');

  const sts = schemas[`${APPS}StatefulSet`];
  assert.deepEqual(sts['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'StatefulSet' }]);
  assert.deepEqual(sts.properties.spec, {
    allOf: [{ $ref: `#/components/schemas/${APPS}StatefulSetSpec` }],
    default: {},
    description: 'The desired state.',
  });
  const containers = schemas[`${CORE}PodSpec`].properties.containers;
  assert.deepEqual(containers.items, { allOf: [{ $ref: `#/components/schemas/${CORE}Container` }], default: {} });
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');

  const list = schemas[`${APPS}StatefulSetList`];
  assert.deepEqual(list['x-kubernetes-group-version-kind'], [{ group: 'apps', version: 'v1', kind: 'StatefulSetList' }]);
  assert.deepEqual(Object.keys(list.properties).sort(), ['apiVersion', 'items', 'kind', 'metadata']);
  assert.deepEqual(list.properties.items.items.allOf, [{ $ref: `#/components/schemas/${APPS}StatefulSet` }]);
  assert.deepEqual(list.properties.metadata.allOf, [{ $ref: `#/components/schemas/${META}ListMeta` }]);
  assert.deepEqual(list.required, ['items']);

  assert.deepEqual(schemas['io.k8s.apimachinery.pkg.api.resource.Quantity'].oneOf, [{ type: 'string' }, { type: 'number' }]);
  // The registry's own definitions are published, not replaced by the built-in fallbacks.
  assert.equal(schemas[`${APPS}StatefulSetSpec`].properties.updateStrategy.description, 'Our update strategy text.');
});

test('v3 core/v1: namespaced and cluster-scoped paths', () => {
  const doc: any = openApiV3Document(registry, 'api/v1');
  assertV3Closed(doc);
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods'].get.operationId, 'listCoreV1NamespacedPod');
  assert.equal(doc.paths['/api/v1/pods'].get.operationId, 'listCoreV1PodForAllNamespaces');
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'].get.tags[0], 'core_v1');
  // Pods answer DELETE with the pod.
  assert.equal(
    doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'].delete.responses['200'].content['application/json'].schema.$ref,
    `#/components/schemas/${CORE}Pod`,
  );
  const ns = doc.paths['/api/v1/namespaces/{name}'];
  assert.equal(ns.patch.operationId, 'patchCoreV1Namespace');
  assert.deepEqual(ns.parameters.map((p: any) => p.name), ['name', 'pretty']);
  assert.equal(doc.paths['/api/v1/namespaces'].get.operationId, 'listCoreV1Namespace');
  assert.equal(doc.paths['/api/v1/namespaces/{name}/status'].put.operationId, 'replaceCoreV1NamespaceStatus');
  assert.equal(doc.paths['/api/v1/watch/namespaces/{name}'].get.operationId, 'watchCoreV1Namespace');
  assert.equal(doc.paths['/api/v1/watch/namespaces'].get.operationId, 'watchCoreV1NamespaceList');
  assert.ok(!JSON.stringify(doc).includes('NamespaceForAllNamespaces'), 'cluster-scoped kinds have no all-namespaces list');
});

test('a dangling $ref names the definition and who refers to it', () => {
  const broken = new Registry([kinds[2]], { ...definitions, [`${APPS}StatefulSetSpec`]: s.obj({ x: s.ref('io.example.Missing') }, 'x') });
  assert.throws(() => openApiV3Index(broken), /io\.k8s\.api\.apps\.v1\.StatefulSetSpec refers to io\.example\.Missing/);
});

/* ------------------------------------------------------------------ v2 and its protobuf form */

test('v2 JSON: Swagger 2.0 with #/definitions refs and siblings beside $ref', () => {
  const doc = openApiV2Json(registry);
  assert.equal(doc.swagger, '2.0');
  for (const ref of allRefs(doc)) {
    assert.match(ref, /^#\/definitions\//);
    assert.ok(doc.definitions[ref.slice('#/definitions/'.length)], `dangling ${ref}`);
  }
  assert.equal(JSON.stringify(doc).includes('allOf'), false);
  assert.equal(JSON.stringify(doc).includes('oneOf'), false, 'Swagger 2.0 has no oneOf');
  assert.deepEqual(doc.definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'], { description: 'an amount', type: 'string' });
  assert.deepEqual(doc.definitions[`${APPS}StatefulSet`].properties.spec, {
    $ref: `#/definitions/${APPS}StatefulSetSpec`, default: {}, description: 'The desired state.',
  });
  const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}'].patch;
  assert.ok(patch.consumes.includes('application/strategic-merge-patch+json'));
  assert.deepEqual(patch.parameters.at(-1), { in: 'body', name: 'body', required: true, schema: { $ref: `#/definitions/${META}Patch` } });
  const crPatch = doc.paths['/apis/apps/v1/namespaces/{namespace}/controllerrevisions/{name}'].patch;
  assert.ok(!crPatch.consumes.includes('application/strategic-merge-patch+json'));
  assert.ok(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'], 'every group/version in one document');
});

// A protobuf reader driven by the field numbers of openapi.v2 in gnostic's OpenAPIv2.proto,
// written from the .proto independently of the encoder. An unexpected field fails the test.
type FieldSpec = [name: string, type: string, repeated?: 'repeated'];
const R = 'repeated' as const;
const PROTO: Record<string, Record<number, FieldSpec>> = {
  Document: { 1: ['swagger', 'string'], 2: ['info', 'Info'], 8: ['paths', 'Paths'], 9: ['definitions', 'Definitions'] },
  Info: { 1: ['title', 'string'], 2: ['version', 'string'] },
  Paths: { 1: ['vendor_extension', 'NamedAny', R], 2: ['path', 'NamedPathItem', R] },
  NamedPathItem: { 1: ['name', 'string'], 2: ['value', 'PathItem'] },
  PathItem: {
    2: ['get', 'Operation'], 3: ['put', 'Operation'], 4: ['post', 'Operation'], 5: ['delete', 'Operation'],
    8: ['patch', 'Operation'], 9: ['parameters', 'ParametersItem', R],
  },
  Operation: {
    1: ['tags', 'string', R], 3: ['description', 'string'], 5: ['operation_id', 'string'], 6: ['produces', 'string', R],
    7: ['consumes', 'string', R], 8: ['parameters', 'ParametersItem', R], 9: ['responses', 'Responses'],
    10: ['schemes', 'string', R], 13: ['vendor_extension', 'NamedAny', R],
  },
  ParametersItem: { 1: ['parameter', 'Parameter'] },
  Parameter: { 1: ['body_parameter', 'BodyParameter'], 2: ['non_body_parameter', 'NonBodyParameter'] },
  BodyParameter: { 1: ['description', 'string'], 2: ['name', 'string'], 3: ['in', 'string'], 4: ['required', 'bool'], 5: ['schema', 'Schema'] },
  NonBodyParameter: { 3: ['query_parameter_sub_schema', 'QueryParameterSubSchema'], 4: ['path_parameter_sub_schema', 'PathParameterSubSchema'] },
  QueryParameterSubSchema: {
    1: ['required', 'bool'], 2: ['in', 'string'], 3: ['description', 'string'], 4: ['name', 'string'], 6: ['type', 'string'], 20: ['unique_items', 'bool'],
  },
  PathParameterSubSchema: {
    1: ['required', 'bool'], 2: ['in', 'string'], 3: ['description', 'string'], 4: ['name', 'string'], 5: ['type', 'string'], 19: ['unique_items', 'bool'],
  },
  Responses: { 1: ['response_code', 'NamedResponseValue', R] },
  NamedResponseValue: { 1: ['name', 'string'], 2: ['value', 'ResponseValue'] },
  ResponseValue: { 1: ['response', 'Response'] },
  Response: { 1: ['description', 'string'], 2: ['schema', 'SchemaItem'] },
  SchemaItem: { 1: ['schema', 'Schema'] },
  Definitions: { 1: ['additional_properties', 'NamedSchema', R] },
  NamedSchema: { 1: ['name', 'string'], 2: ['value', 'Schema'] },
  Schema: {
    1: ['_ref', 'string'], 2: ['format', 'string'], 3: ['title', 'string'], 4: ['description', 'string'], 5: ['default', 'Any'],
    19: ['required', 'string', R], 20: ['enum', 'Any', R], 21: ['additional_properties', 'AdditionalPropertiesItem'],
    22: ['type', 'TypeItem'], 23: ['items', 'ItemsItem'], 25: ['properties', 'Properties'], 31: ['vendor_extension', 'NamedAny', R],
  },
  AdditionalPropertiesItem: { 1: ['schema', 'Schema'], 2: ['boolean', 'bool'] },
  TypeItem: { 1: ['value', 'string', R] },
  ItemsItem: { 1: ['schema', 'Schema', R] },
  Properties: { 1: ['additional_properties', 'NamedSchema', R] },
  NamedAny: { 1: ['name', 'string'], 2: ['value', 'Any'] },
  Any: { 2: ['yaml', 'string'] },
};

function decode(buf: Buffer, type: string): any {
  const spec = PROTO[type];
  const out: any = {};
  let pos = 0;
  const readVarint = () => {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    const fs = spec[field];
    assert.ok(fs, `${type}: unexpected field ${field}`);
    const [name, ftype, repeated] = fs;
    let value: unknown;
    if (ftype === 'bool') {
      assert.equal(wire, 0, `${type}.${name} wire type`);
      value = readVarint() !== 0;
    } else {
      assert.equal(wire, 2, `${type}.${name} wire type`);
      const len = readVarint();
      const bytes = buf.subarray(pos, pos + len);
      pos += len;
      value = ftype === 'string' ? bytes.toString('utf8') : decode(bytes, ftype);
    }
    if (repeated) (out[name] ??= []).push(value);
    else out[name] = value;
  }
  assert.equal(pos, buf.length);
  return out;
}

/** Back from gnostic's shapes to Swagger JSON, so the protobuf can be compared with openApiV2Json. */
const yaml = (a: any) => JSON.parse(a.yaml);
function extensions(list: any[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((na) => [na.name, yaml(na.value)]));
}
function clean(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
function schemaJson(p: any): any {
  return clean({
    $ref: p._ref,
    format: p.format,
    title: p.title,
    description: p.description,
    default: p.default && yaml(p.default),
    required: p.required,
    enum: p.enum?.map(yaml),
    additionalProperties: p.additional_properties && (p.additional_properties.schema ? schemaJson(p.additional_properties.schema) : p.additional_properties.boolean ?? false),
    type: p.type?.value[0],
    items: p.items && schemaJson(p.items.schema[0]),
    properties: p.properties && Object.fromEntries((p.properties.additional_properties ?? []).map((ns: any) => [ns.name, schemaJson(ns.value)])),
    ...extensions(p.vendor_extension),
  });
}
function parameterJson(p: any): any {
  const body = p.parameter.body_parameter;
  if (body) return clean({ description: body.description, in: body.in, name: body.name, required: body.required, schema: schemaJson(body.schema) });
  const sub = p.parameter.non_body_parameter.query_parameter_sub_schema ?? p.parameter.non_body_parameter.path_parameter_sub_schema;
  return clean({ description: sub.description, in: sub.in, name: sub.name, required: sub.required, type: sub.type, uniqueItems: sub.unique_items });
}
function operationJson(op: any): any {
  return clean({
    consumes: op.consumes,
    description: op.description,
    operationId: op.operation_id,
    parameters: op.parameters?.map(parameterJson),
    produces: op.produces,
    responses: Object.fromEntries(
      op.responses.response_code.map((nr: any) => {
        const r = nr.value.response;
        return [nr.name, clean({ description: r.description, schema: r.schema && schemaJson(r.schema.schema) })];
      }),
    ),
    schemes: op.schemes,
    tags: op.tags,
    ...extensions(op.vendor_extension),
  });
}
function documentJson(d: any): any {
  const paths: any = {};
  for (const np of d.paths.path) {
    const item: any = { parameters: (np.value.parameters ?? []).map(parameterJson) };
    for (const m of ['get', 'put', 'post', 'delete', 'patch']) if (np.value[m]) item[m] = operationJson(np.value[m]);
    paths[np.name] = item;
  }
  return {
    swagger: d.swagger,
    info: d.info,
    paths,
    definitions: Object.fromEntries(d.definitions.additional_properties.map((ns: any) => [ns.name, schemaJson(ns.value)])),
  };
}

/**
 * The checks kube-openapi's proto.NewOpenAPIData makes while building kubectl's models: any
 * failure there makes kubectl's v2 path (kind: List validation) fail as a whole.
 */
function checkModels(doc: any): Map<string, string> {
  const names = new Set(doc.definitions.additional_properties.map((ns: any) => ns.name));
  const check = (p: any, path: string): void => {
    if (p.default) yaml(p.default);
    for (const na of p.vendor_extension ?? []) yaml(na.value);
    if (p._ref) {
      assert.ok(!p.properties?.additional_properties?.length, `${path}: properties beside $ref`);
      assert.ok(!p.type?.value?.length, `${path}: type beside $ref`);
      assert.ok(p._ref.startsWith('#/definitions/') && names.has(p._ref.slice(14)), `${path}: bad $ref ${p._ref}`);
      return;
    }
    const types: string[] = p.type?.value ?? [];
    assert.ok(types.length <= 1, `${path}: several types`);
    const props = p.properties?.additional_properties ?? [];
    if (types[0] === 'array') {
      assert.equal(p.items?.schema?.length, 1, `${path}: an array needs exactly one items schema`);
      check(p.items.schema[0], `${path}[]`);
    } else if (p.properties) {
      assert.ok(!types.length || types[0] === 'object', `${path}: properties on a ${types[0]}`);
      for (const ns of props) check(ns.value, `${path}.${ns.name}`);
    } else if (types[0] === 'object') {
      if (p.additional_properties?.schema) check(p.additional_properties.schema, `${path}{}`);
    } else if (types.length) {
      assert.ok(['string', 'number', 'integer', 'boolean'].includes(types[0]), `${path}: unknown type ${types[0]}`);
    }
  };
  const gvks = new Map<string, string>();
  for (const ns of doc.definitions.additional_properties) {
    check(ns.value, ns.name);
    const ext = ns.value.vendor_extension?.find((na: any) => na.name === 'x-kubernetes-group-version-kind');
    for (const gvk of ext ? yaml(ext.value) : []) gvks.set(`${gvk.group}/${gvk.version}/${gvk.kind}`, ns.name);
  }
  return gvks;
}

test('v2 protobuf decodes as openapi.v2.Document and round-trips to the JSON form', () => {
  const buf = openApiV2Protobuf(registry);
  assert.equal(openApiV2Protobuf(registry), buf, 'cached per registry');
  const decoded = decode(buf, 'Document');
  assert.deepEqual(documentJson(decoded), openApiV2Json(registry));

  const gvks = checkModels(decoded);
  assert.equal(gvks.get('apps/v1/StatefulSet'), `${APPS}StatefulSet`);
  assert.equal(gvks.get('/v1/Pod'), `${CORE}Pod`);
  assert.equal(gvks.get('apps/v1/StatefulSetList'), `${APPS}StatefulSetList`);

  // kubectl's v2 checks: the patch operation's GVK extension (a single map) and its consumes.
  const item = decoded.paths.path.find((np: any) => np.name === '/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}').value;
  const ext = item.patch.vendor_extension.find((na: any) => na.name === 'x-kubernetes-group-version-kind');
  assert.deepEqual(yaml(ext.value), { group: 'apps', version: 'v1', kind: 'StatefulSet' });
  assert.ok(item.patch.consumes.includes('application/strategic-merge-patch+json'));
  assert.ok(item.patch.parameters.some((p: any) => p.parameter.non_body_parameter?.query_parameter_sub_schema?.name === 'fieldValidation'));
});

test('varints above 127 and long strings survive the round trip', () => {
  const long = 'x'.repeat(70000);
  const big = new Registry([kinds[2]], {
    ...definitions,
    [`${APPS}StatefulSetSpec`]: s.obj({ replicas: s.int32(long) }, 'spec', { 'x-kubernetes-map-type': 'atomic' }),
  });
  const decoded = decode(openApiV2Protobuf(big), 'Document');
  const spec = decoded.definitions.additional_properties.find((ns: any) => ns.name === `${APPS}StatefulSetSpec`).value;
  assert.equal(spec.properties.additional_properties[0].value.description, long);
  assert.deepEqual(extensions(spec.vendor_extension), { 'x-kubernetes-map-type': 'atomic' });
});

/* ------------------------------------------------------------------ the real kinds */

test('the real registry publishes complete documents', () => {
  const real = defaultRegistry();
  const index = openApiV3Index(real);
  for (const key of Object.keys(index.paths)) {
    const doc: any = openApiV3Document(real, key);
    assertV3Closed(doc);
  }
  for (const k of real.kinds) {
    const doc: any = openApiV3Document(real, k.group ? `apis/${k.group}/${k.version}` : `api/${k.version}`);
    // computed, read-only resources (metrics.k8s.io) have no patch operation, as upstream
    if (KIND_ENTRIES.get(entryKey(k.group, k.plural))?.unsupportedVerbs?.includes('patch')) continue;
    const found = findPatch(doc, k);
    assert.ok(found?.op.parameters.some((p: any) => p.name === 'fieldValidation'), `${k.kind}: patch operation with fieldValidation`);
    assert.ok(doc.components.schemas[k.definition]['x-kubernetes-group-version-kind'], `${k.kind}: GVK on its schema`);
  }
  const decoded = decode(openApiV2Protobuf(real), 'Document');
  assert.deepEqual(documentJson(decoded), openApiV2Json(real));
  const gvks = checkModels(decoded);
  for (const k of real.kinds) assert.equal(gvks.get(`${k.group}/${k.version}/${k.kind}`), k.definition);
});
