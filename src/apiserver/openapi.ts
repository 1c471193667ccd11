// OpenAPI v3 generated from the kinds registry: one document per group/version plus the index
// that points at them. kubectl reads these to validate (`fieldValidation` on each kind's patch
// operation), to compute client-side apply patches (the schemas' patch extensions, when the patch
// operation accepts strategic merge patch), and for `explain`. The route model built here is
// rendered again as Swagger 2.0 by openapi-v2.ts.
import { KIND_ENTRIES } from './kinds/index.js';
import { entryKey } from './resource-table.js';
import { createHash } from 'node:crypto';
import type { AnyKindDef, Registry } from '../api/registry.js';
import { s } from '../api/schema.js';
import type { Definition, Definitions, Schema } from '../api/schema.js';

export const OPENAPI_INFO = { title: 'Kubernetes', version: 'v1.32.0' };

export interface Gvk {
  group: string;
  version: string;
  kind: string;
}

export interface Param {
  name: string;
  in: 'path' | 'query';
  type: 'string' | 'integer' | 'boolean';
  description: string;
  required?: boolean;
}

export interface Operation {
  method: 'get' | 'put' | 'post' | 'delete' | 'patch';
  operationId: string;
  description: string;
  /** upstream's x-kubernetes-action: get, list, post, put, patch, delete, deletecollection, watch, watchlist */
  action: string;
  gvk: Gvk;
  parameters: Param[];
  requestBody?: { definition: string; mediaTypes: string[]; required: boolean };
  responses: Array<{ code: string; description: string; definition?: string }>;
  /** media types of the response bodies */
  produces: string[];
}

export interface Route {
  path: string;
  tag: string;
  /** shared by every operation of the path */
  parameters: Param[];
  operations: Operation[];
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const RAW_EXTENSION = 'io.k8s.apimachinery.pkg.runtime.RawExtension';
const SCALE = 'io.k8s.api.autoscaling.v1.Scale';
const V3_REF = '#/components/schemas/';
export const V2_REF = '#/definitions/';

const OBJECT_MEDIA = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const STREAM_MEDIA = [...OBJECT_MEDIA, 'application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch'];
const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
const PATCH_MEDIA = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json'];

/* ------------------------------------------------------------------ parameters */

const query = (name: string, type: Param['type'], description: string): Param => ({ name, in: 'query', type, description });
const pathParam = (name: string, description: string): Param => ({ name, in: 'path', type: 'string', description, required: true });

const P = {
  allowWatchBookmarks: query('allowWatchBookmarks', 'boolean', 'Ask for BOOKMARK watch events, which carry only a newer resourceVersion. Servers may ignore it.'),
  continue: query('continue', 'string', 'The continue token of the previous page of a chunked list; the server answers 410 when it has expired.'),
  dryRun: query('dryRun', 'string', 'When present, the request goes through every stage but nothing is persisted. The only valid value is All.'),
  fieldManager: query('fieldManager', 'string', 'Name of the actor making the change, at most 128 printable characters. Required for apply patches.'),
  fieldSelector: query('fieldSelector', 'string', 'Only objects whose fields match this selector. Defaults to everything.'),
  fieldValidation: query('fieldValidation', 'string', 'How to treat unknown or duplicate fields in the body: Ignore drops them, Warn (the default) drops them and adds a warning, Strict fails the request.'),
  force: query('force', 'boolean', 'Apply patches only: take over the fields other managers own instead of failing with a conflict. Must be unset for other patch types.'),
  gracePeriodSeconds: query('gracePeriodSeconds', 'integer', 'Seconds to wait before the object is deleted; 0 deletes at once. Defaults to the per-kind value.'),
  labelSelector: query('labelSelector', 'string', 'Only objects whose labels match this selector. Defaults to everything.'),
  limit: query('limit', 'integer', 'The largest number of items to return; the list metadata then carries a continue token when more are left. Servers may return everything.'),
  orphanDependents: query('orphanDependents', 'boolean', 'Deprecated, use propagationPolicy. Whether dependents are orphaned rather than garbage collected.'),
  pretty: query('pretty', 'string', "If 'true', the response is indented."),
  propagationPolicy: query('propagationPolicy', 'string', 'How dependents are garbage collected: Orphan, Background or Foreground.'),
  resourceVersion: query('resourceVersion', 'string', 'Which version of the data to serve a list or a watch from; see resourceVersionMatch. Unset means the most recent.'),
  resourceVersionMatch: query('resourceVersionMatch', 'string', 'How resourceVersion applies to a list: Exact or NotOlderThan.'),
  sendInitialEvents: query('sendInitialEvents', 'boolean', 'With watch=true, start the watch with synthetic ADDED events for the current state, ended by a BOOKMARK.'),
  timeoutSeconds: query('timeoutSeconds', 'integer', 'Ends a list or watch call after this many seconds.'),
  watch: query('watch', 'boolean', 'Stream add, update and delete events instead of answering with a list.'),
  namespace: pathParam('namespace', 'the namespace of the object, a scope for names and permissions'),
};

const LIST_PARAMS = [
  P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit,
  P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch,
];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];
const DELETE_COLLECTION_PARAMS = [
  P.continue, P.dryRun, P.fieldSelector, P.gracePeriodSeconds, P.labelSelector, P.limit, P.orphanDependents,
  P.propagationPolicy, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds,
];

/* ------------------------------------------------------------------ routes */

const capitalize = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

/** "" → Core, apps → Apps, rbac.authorization.k8s.io → RbacAuthorization, as upstream names operations. */
function groupWord(group: string): string {
  return group === '' ? 'Core' : group.replace(/\.k8s\.io$/, '').split(/[.-]/).map(capitalize).join('');
}

/** The index key of a group/version: api/v1, apis/apps/v1. */
export function groupVersionKey(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function listDefinitionName(k: AnyKindDef): string {
  return `${k.definition}List`;
}

const ok = (definition: string) => ({ code: '200', description: 'OK', definition });
const created = (definition: string) => ({ code: '201', description: 'Created', definition });
const accepted = (definition: string) => ({ code: '202', description: 'Accepted', definition });
const unauthorized = { code: '401', description: 'Unauthorized' };

/** Every path upstream declares for a kind: collection, item, status/scale, all-namespaces list and the watch paths. */
export function kindRoutes(k: AnyKindDef): Route[] {
  const prefix = '/' + groupVersionKey(k.group, k.version);
  const tag = `${groupWord(k.group).replace(/^./, (c) => c.toLowerCase())}_${k.version}`;
  const idStem = groupWord(k.group) + capitalize(k.version);
  const scoped = (k.namespaced ? 'Namespaced' : '') + k.kind;
  const gvk: Gvk = { group: k.group, version: k.version, kind: k.kind };
  const scope = k.namespaced ? '/namespaces/{namespace}' : '';
  const scopeParams = k.namespaced ? [P.namespace] : [];
  const collection = `${prefix}${scope}/${k.plural}`;
  const itemParams = [pathParam('name', `name of the ${k.kind}`), ...scopeParams, P.pretty];
  const patchMedia = k.openapiStrategicMerge === false ? PATCH_MEDIA : [...PATCH_MEDIA, STRATEGIC_MERGE_PATCH].sort();
  const deleted = k.returnDeletedObject ? k.definition : `${META}Status`;

  const read = (id: string, description: string, def: string, opGvk: Gvk): Operation => ({
    method: 'get', operationId: `read${idStem}${id}`, description, action: 'get', gvk: opGvk,
    parameters: [], responses: [ok(def), unauthorized], produces: OBJECT_MEDIA,
  });
  const replace = (id: string, description: string, def: string, opGvk: Gvk): Operation => ({
    method: 'put', operationId: `replace${idStem}${id}`, description, action: 'put', gvk: opGvk,
    parameters: WRITE_PARAMS, requestBody: { definition: def, mediaTypes: ['*/*'], required: true },
    responses: [ok(def), created(def), unauthorized], produces: OBJECT_MEDIA,
  });
  const patch = (id: string, description: string, def: string, opGvk: Gvk): Operation => ({
    method: 'patch', operationId: `patch${idStem}${id}`, description, action: 'patch', gvk: opGvk,
    parameters: [...WRITE_PARAMS, P.force], requestBody: { definition: `${META}Patch`, mediaTypes: patchMedia, required: true },
    responses: [ok(def), created(def), unauthorized], produces: OBJECT_MEDIA,
  });
  const watch = (id: string, description: string, action: string): Operation => ({
    method: 'get', operationId: `watch${idStem}${id}`, description, action, gvk,
    parameters: [], responses: [ok(`${META}WatchEvent`), unauthorized], produces: STREAM_MEDIA,
  });

  const routes: Route[] = [
    {
      path: collection, tag, parameters: [...scopeParams, P.pretty],
      operations: [
        {
          method: 'get', operationId: `list${idStem}${scoped}`, description: `list or watch objects of kind ${k.kind}`,
          action: 'list', gvk, parameters: LIST_PARAMS, responses: [ok(listDefinitionName(k)), unauthorized], produces: STREAM_MEDIA,
        },
        {
          method: 'post', operationId: `create${idStem}${scoped}`, description: `create a ${k.kind}`, action: 'post', gvk,
          parameters: WRITE_PARAMS, requestBody: { definition: k.definition, mediaTypes: ['*/*'], required: true },
          responses: [ok(k.definition), created(k.definition), accepted(k.definition), unauthorized], produces: OBJECT_MEDIA,
        },
        {
          method: 'delete', operationId: `delete${idStem}Collection${scoped}`, description: `delete a collection of ${k.kind}`,
          action: 'deletecollection', gvk, parameters: DELETE_COLLECTION_PARAMS,
          requestBody: { definition: `${META}DeleteOptions`, mediaTypes: ['*/*'], required: false },
          responses: [ok(`${META}Status`), unauthorized], produces: OBJECT_MEDIA,
        },
      ],
    },
    {
      path: `${collection}/{name}`, tag, parameters: itemParams,
      operations: [
        read(scoped, `read the specified ${k.kind}`, k.definition, gvk),
        replace(scoped, `replace the specified ${k.kind}`, k.definition, gvk),
        {
          method: 'delete', operationId: `delete${idStem}${scoped}`, description: `delete a ${k.kind}`, action: 'delete', gvk,
          parameters: DELETE_PARAMS, requestBody: { definition: `${META}DeleteOptions`, mediaTypes: ['*/*'], required: false },
          responses: [ok(deleted), accepted(deleted), unauthorized], produces: OBJECT_MEDIA,
        },
        patch(scoped, `partially update the specified ${k.kind}`, k.definition, gvk),
      ],
    },
  ];
  // a verb the resource's entry refuses (namespaces: deletecollection) is not documented either
  const refused = KIND_ENTRIES.get(entryKey(k.group, k.plural))?.unsupportedVerbs ?? [];
  for (const r of routes) r.operations = r.operations.filter((o) => !refused.includes(o.action as never));
  if (k.subresources?.status) {
    const id = `${scoped}Status`;
    routes.push({
      path: `${collection}/{name}/status`, tag, parameters: itemParams,
      operations: [
        read(id, `read status of the specified ${k.kind}`, k.definition, gvk),
        replace(id, `replace status of the specified ${k.kind}`, k.definition, gvk),
        patch(id, `partially update status of the specified ${k.kind}`, k.definition, gvk),
      ],
    });
  }
  if (k.subresources?.scale) {
    const id = `${scoped}Scale`;
    const scaleGvk = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    routes.push({
      path: `${collection}/{name}/scale`, tag, parameters: itemParams,
      operations: [
        read(id, `read scale of the specified ${k.kind}`, SCALE, scaleGvk),
        replace(id, `replace scale of the specified ${k.kind}`, SCALE, scaleGvk),
        patch(id, `partially update scale of the specified ${k.kind}`, SCALE, scaleGvk),
      ],
    });
  }
  const deprecated = 'Deprecated: list with watch=true instead';
  if (k.namespaced) {
    routes.push(
      {
        path: `${prefix}/${k.plural}`, tag, parameters: [...LIST_PARAMS, P.pretty],
        operations: [{
          method: 'get', operationId: `list${idStem}${k.kind}ForAllNamespaces`, description: `list or watch objects of kind ${k.kind}`,
          action: 'list', gvk, parameters: [], responses: [ok(listDefinitionName(k)), unauthorized], produces: STREAM_MEDIA,
        }],
      },
      {
        path: `${prefix}/watch/${k.plural}`, tag, parameters: [...LIST_PARAMS, P.pretty],
        operations: [watch(`${k.kind}ListForAllNamespaces`, `watch changes to ${k.kind} objects in every namespace. ${deprecated}.`, 'watchlist')],
      },
    );
  }
  routes.push(
    {
      path: `${prefix}/watch${scope}/${k.plural}`, tag, parameters: [...LIST_PARAMS, ...scopeParams, P.pretty],
      operations: [watch(`${scoped}List`, `watch changes to ${k.kind} objects. ${deprecated}.`, 'watchlist')],
    },
    {
      path: `${prefix}/watch${scope}/${k.plural}/{name}`, tag, parameters: [...LIST_PARAMS, ...itemParams],
      operations: [watch(scoped, `watch changes to one ${k.kind}. ${deprecated}, selecting the object by metadata.name.`, 'watch')],
    },
  );
  // custom resources are JSON (and YAML) only, as upstream publishes them
  if (k.custom) {
    const noProtobuf = (media: string[]) => media.filter((m) => !m.includes('protobuf'));
    for (const r of routes) {
      for (const op of r.operations) {
        op.produces = noProtobuf(op.produces);
        if (op.requestBody) op.requestBody = { ...op.requestBody, mediaTypes: noProtobuf(op.requestBody.mediaTypes) };
      }
    }
  }
  return routes;
}

/* ------------------------------------------------------------------ definitions */

/**
 * The request and response types of the operations themselves. Used when the registry's schemas
 * do not define them; the registry's own definitions always win.
 */
const OPERATION_DEFINITIONS: Definitions = {
  [`${META}Patch`]: { type: 'object', description: 'The body of a PATCH request; its shape depends on the patch media type.' },
  [`${META}Preconditions`]: {
    type: 'object',
    description: 'Conditions the object must still meet for a deletion to go ahead.',
    properties: {
      resourceVersion: s.str('The object must still be at this resourceVersion.'),
      uid: s.str('The object must still have this uid.'),
    },
  },
  [`${META}DeleteOptions`]: {
    type: 'object',
    description: 'Options of a DELETE request.',
    properties: {
      apiVersion: s.apiVersion(),
      dryRun: s.list({ type: 'string', default: '' }, 'When present, nothing is persisted. The only valid value is All.', { 'x-kubernetes-list-type': 'atomic' }),
      gracePeriodSeconds: s.int64('Seconds to wait before the object is deleted; 0 deletes at once.'),
      kind: s.kind(),
      orphanDependents: s.bool('Deprecated, use propagationPolicy. Whether dependents are orphaned.'),
      preconditions: s.ref(`${META}Preconditions`, 'Conditions that must still hold for the deletion to go ahead.'),
      propagationPolicy: s.str('How dependents are garbage collected: Orphan, Background or Foreground.'),
    },
  },
  [`${META}ListMeta`]: {
    type: 'object',
    description: 'Metadata of a list response.',
    properties: {
      continue: s.str('Token to fetch the next page of a chunked list; empty on the last page.'),
      remainingItemCount: s.int64('How many items are left after this page, when the server knows.'),
      resourceVersion: s.str('The version of the data this list was read at; start a watch from it.'),
      selfLink: s.str('Deprecated and always empty.'),
    },
  },
  [`${META}StatusCause`]: {
    type: 'object',
    description: 'One reason a request failed, often tied to a field.',
    properties: {
      field: s.str('The field the cause is about, as a JSON path such as spec.replicas.'),
      message: s.str('A human readable explanation.'),
      reason: s.str('A machine readable reason, such as FieldValueInvalid.'),
    },
  },
  [`${META}StatusDetails`]: {
    type: 'object',
    description: 'What a Status is about.',
    properties: {
      causes: s.list(s.ref(`${META}StatusCause`, undefined, { default: {} }), 'The individual causes of the failure.', { 'x-kubernetes-list-type': 'atomic' }),
      group: s.str('The group of the resource.'),
      kind: s.str('The kind, or resource, the Status is about.'),
      name: s.str('The name of the object the Status is about.'),
      retryAfterSeconds: s.int32('Seconds the client should wait before retrying.'),
      uid: s.str('The uid of the object.'),
    },
  },
  [`${META}Status`]: {
    type: 'object',
    description: 'The result of a call that does not return an object, and every error.',
    properties: {
      apiVersion: s.apiVersion(),
      code: s.int32('The HTTP status code.'),
      details: s.ref(`${META}StatusDetails`, 'Extra data about the outcome, depending on the reason.'),
      kind: s.kind(),
      message: s.str('A human readable description of the outcome.'),
      metadata: s.ref(`${META}ListMeta`, 'Standard list metadata.', { default: {} }),
      reason: s.str('A machine readable reason such as NotFound or Conflict; empty when nothing more is known.'),
      status: s.str('Success or Failure.'),
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
  },
  [RAW_EXTENSION]: { type: 'object', description: 'An embedded object in its serialized form.' },
  [`${META}WatchEvent`]: {
    type: 'object',
    description: 'One event of a watch stream.',
    properties: {
      object: s.ref(RAW_EXTENSION, 'The object: the new state for ADDED and MODIFIED, the last state for DELETED, a Status for ERROR, an object with only metadata.resourceVersion for BOOKMARK.'),
      type: s.str('ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.', { default: '' }),
    },
    required: ['type', 'object'],
  },
};

function listDefinition(k: AnyKindDef): Definition {
  return {
    type: 'object',
    description: `${k.kind}List is a list of ${k.kind} objects.`,
    properties: {
      apiVersion: s.apiVersion(),
      items: s.list(s.ref(k.definition, undefined, { default: {} }), `The ${k.plural}.`),
      kind: s.kind(),
      metadata: s.ref(`${META}ListMeta`, 'Standard list metadata.', { default: {} }),
    },
    required: ['items'],
    'x-kubernetes-group-version-kind': [{ group: k.group, version: k.version, kind: `${k.kind}List` }],
  };
}

/** The registry's definitions plus what the operations need: list kinds and the request/response types. */
export function allDefinitions(registry: Registry): Definitions {
  const defs: Definitions = { ...OPERATION_DEFINITIONS };
  for (const k of registry.kinds) defs[listDefinitionName(k)] = listDefinition(k);
  Object.assign(defs, registry.definitions);
  for (const k of registry.kinds) {
    const def = defs[k.definition];
    if (!def['x-kubernetes-group-version-kind']) {
      defs[k.definition] = { ...def, 'x-kubernetes-group-version-kind': [{ group: k.group, version: k.version, kind: k.kind }] };
    }
  }
  return defs;
}

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

function collectRefs(schema: Schema, out: string[]): void {
  if (schema.$ref) out.push(refName(schema.$ref));
  for (const p of Object.values(schema.properties ?? {})) collectRefs(p, out);
  if (schema.items) collectRefs(schema.items, out);
  if (typeof schema.additionalProperties === 'object') collectRefs(schema.additionalProperties, out);
  for (const alternative of schema.oneOf ?? []) collectRefs(alternative, out);
}

/** Names of the definitions the routes use, directly or through $refs, sorted. Throws on a dangling $ref. */
export function reachableDefinitions(defs: Definitions, routes: Route[]): string[] {
  const pending: Array<[name: string, from: string]> = [];
  for (const r of routes) {
    for (const op of r.operations) {
      if (op.requestBody) pending.push([op.requestBody.definition, op.operationId]);
      for (const res of op.responses) if (res.definition) pending.push([res.definition, op.operationId]);
    }
  }
  const seen = new Set<string>();
  while (pending.length) {
    const [name, from] = pending.pop()!;
    if (seen.has(name)) continue;
    const def = defs[name];
    if (!def) throw new Error(`OpenAPI: ${from} refers to ${name}, which has no schema definition`);
    seen.add(name);
    const refs: string[] = [];
    collectRefs(def, refs);
    for (const ref of refs) pending.push([ref, name]);
  }
  return [...seen].sort();
}

/**
 * A schema as published in OpenAPI v3 or Swagger 2.0, $refs pointing into the document.
 * v3 cannot put siblings (a field's description or default) next to $ref, so like upstream it
 * wraps such refs in a one-element allOf; Swagger 2.0 keeps them side by side. Swagger 2.0 has no
 * oneOf either: like upstream (Quantity, IntOrString) it publishes the string alternative, which
 * kubectl's v2 validation accepts any value for.
 */
export function publishSchema(schema: Schema, openapi: 2 | 3): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Swagger 2.0 cannot say "these fields, and any others": like upstream for custom resources, a
  // schema that preserves unknown fields is published without its properties, so kubectl's v2
  // validation accepts whatever it holds
  const openEnded = openapi === 2 && schema['x-kubernetes-preserve-unknown-fields'] === true && !!schema.properties;
  for (const [key, value] of Object.entries(schema)) {
    if (value === undefined || key === '$ref') continue;
    if (openEnded && (key === 'properties' || key === 'required')) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([name, p]) => [name, publishSchema(p, openapi)]),
      );
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = publishSchema(value as Schema, openapi);
    } else if (key === 'oneOf') {
      if (openapi === 3) out.oneOf = (value as Schema[]).map((alternative) => publishSchema(alternative, openapi));
      else if (!schema.type && (value as Schema[]).some((alternative) => alternative.type === 'string')) out.type = 'string';
    } else {
      out[key] = value;
    }
  }
  if (!schema.$ref) return out;
  const ref = { $ref: (openapi === 3 ? V3_REF : V2_REF) + refName(schema.$ref) };
  if (Object.keys(out).length === 0) return ref;
  return openapi === 3 ? { allOf: [ref], ...out } : { ...ref, ...out };
}

/* ------------------------------------------------------------------ v3 documents */


function v3Parameter(p: Param): Record<string, unknown> {
  return {
    description: p.description,
    in: p.in,
    name: p.name,
    ...(p.required ? { required: true } : {}),
    schema: { type: p.type, uniqueItems: true },
  };
}

function v3Operation(op: Operation, tag: string): Record<string, unknown> {
  const content = (mediaTypes: string[], definition: string) =>
    Object.fromEntries(mediaTypes.map((t) => [t, { schema: { $ref: V3_REF + definition } }]));
  return {
    description: op.description,
    operationId: op.operationId,
    ...(op.parameters.length ? { parameters: op.parameters.map(v3Parameter) } : {}),
    ...(op.requestBody
      ? {
          requestBody: {
            content: content(op.requestBody.mediaTypes, op.requestBody.definition),
            ...(op.requestBody.required ? { required: true } : {}),
          },
        }
      : {}),
    responses: Object.fromEntries(
      op.responses.map((r) => [
        r.code,
        r.definition ? { content: content(op.produces, r.definition), description: r.description } : { description: r.description },
      ]),
    ),
    tags: [tag],
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': op.gvk,
  };
}

function v3Document(defs: Definitions, kinds: AnyKindDef[]): Record<string, unknown> {
  const routes = kinds.flatMap(kindRoutes).sort((a, b) => (a.path < b.path ? -1 : 1));
  const paths: Record<string, unknown> = {};
  for (const r of routes) {
    const item: Record<string, unknown> = { parameters: r.parameters.map(v3Parameter) };
    for (const op of r.operations) item[op.method] = v3Operation(op, r.tag);
    paths[r.path] = item;
  }
  const schemas = Object.fromEntries(
    reachableDefinitions(defs, routes).map((name) => [name, publishSchema(defs[name], 3)]),
  );
  return { openapi: '3.0.0', info: OPENAPI_INFO, paths, components: { schemas } };
}

interface V3Cache {
  index: { paths: Record<string, { serverRelativeURL: string }> };
  documents: Map<string, { doc: Record<string, unknown>; json: string }>;
}

const v3Caches = new WeakMap<Registry, V3Cache>();

function v3Cache(registry: Registry): V3Cache {
  let cache = v3Caches.get(registry);
  if (cache) return cache;
  const defs = allDefinitions(registry);
  cache = { index: { paths: {} }, documents: new Map() };
  for (const { group, versions } of registry.groups()) {
    for (const version of versions) {
      const key = groupVersionKey(group, version);
      const doc = v3Document(defs, registry.kindsIn(group, version));
      const json = JSON.stringify(doc);
      // Upstream's hash: sha512 of the served JSON, uppercase hex. Clients may cache a document
      // for as long as the index keeps pointing at the same URL.
      const hash = createHash('sha512').update(json).digest('hex').toUpperCase();
      cache.documents.set(key, { doc, json });
      cache.index.paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
  }
  v3Caches.set(registry, cache);
  return cache;
}

/** GET /openapi/v3 */
export function openApiV3Index(registry: Registry): { paths: Record<string, { serverRelativeURL: string }> } {
  return v3Cache(registry).index;
}

/** GET /openapi/v3/<key>, key like "api/v1" or "apis/apps/v1"; undefined for an unknown group/version. */
export function openApiV3Document(registry: Registry, groupVersionKey: string): Record<string, unknown> | undefined {
  return v3Cache(registry).documents.get(groupVersionKey)?.doc;
}

/** The same document already serialized: exactly the bytes the index's hash was computed over. */
export function openApiV3DocumentJson(registry: Registry, groupVersionKey: string): string | undefined {
  return v3Cache(registry).documents.get(groupVersionKey)?.json;
}
