// Swagger 2.0 for the whole API, from the same routes and definitions as the v3 documents.
// kubectl reads it only as a fallback and for validating `kind: List` manifests, and then only in
// gnostic's protobuf form (openapi_v2.Document in google/gnostic's OpenAPIv2.proto); a JSON body
// on that request fails to parse. kube-openapi then builds its models from the decoded message,
// and it is strict: a $ref must point into #/definitions and carry no type, an array must have
// exactly one items schema, vendor extensions and defaults are YAML text.
import type { Registry } from '../api/registry.js';
import {
  OPENAPI_INFO, V2_REF, allDefinitions, kindRoutes, publishSchema, reachableDefinitions,
  type Operation, type Param,
} from './openapi.js';

/** What kubectl puts in Accept for /openapi/v2. */
export const OPENAPI_V2_PROTOBUF_ACCEPT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/**
 * What to answer with: the same type with '.' for '@', as upstream does, because Go's
 * mime.ParseMediaType rejects '@' and client-go then fails before reading the body.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Json = Record<string, any>;

function v2Parameter(p: Param): Json {
  return {
    description: p.description,
    in: p.in,
    name: p.name,
    ...(p.required ? { required: true } : {}),
    type: p.type,
    uniqueItems: true,
  };
}

function v2Operation(op: Operation, tag: string): Json {
  const parameters = op.parameters.map(v2Parameter);
  if (op.requestBody) {
    parameters.push({
      in: 'body',
      name: 'body',
      ...(op.requestBody.required ? { required: true } : {}),
      schema: { $ref: V2_REF + op.requestBody.definition },
    });
  }
  return {
    consumes: op.requestBody?.mediaTypes ?? ['*/*'],
    description: op.description,
    operationId: op.operationId,
    ...(parameters.length ? { parameters } : {}),
    produces: op.produces,
    responses: Object.fromEntries(
      op.responses.map((r) => [
        r.code,
        r.definition ? { description: r.description, schema: { $ref: V2_REF + r.definition } } : { description: r.description },
      ]),
    ),
    schemes: ['https'],
    tags: [tag],
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': op.gvk,
  };
}

function v2Document(registry: Registry): Json {
  const defs = allDefinitions(registry);
  const routes = registry.kinds.flatMap(kindRoutes).sort((a, b) => (a.path < b.path ? -1 : 1));
  const paths: Json = {};
  for (const r of routes) {
    const item: Json = { parameters: r.parameters.map(v2Parameter) };
    for (const op of r.operations) item[op.method] = v2Operation(op, r.tag);
    paths[r.path] = item;
  }
  const definitions = Object.fromEntries(
    reachableDefinitions(defs, routes).map((name) => [name, publishSchema(defs[name], 2)]),
  );
  return { swagger: '2.0', info: OPENAPI_INFO, paths, definitions };
}

/* ------------------------------------------------------------------ protobuf */

/** A protobuf message under construction: only the wire types this document needs. */
class Message {
  private readonly parts: Buffer[] = [];

  private key(field: number, wireType: number): void {
    this.parts.push(varint(field * 8 + wireType));
  }

  bytes(field: number, value: Buffer): this {
    this.key(field, 2);
    this.parts.push(varint(value.length), value);
    return this;
  }

  /** proto3 leaves empty strings off the wire */
  string(field: number, value: string | undefined): this {
    return value ? this.bytes(field, Buffer.from(value, 'utf8')) : this;
  }

  strings(field: number, values: string[] | undefined): this {
    for (const v of values ?? []) this.bytes(field, Buffer.from(v, 'utf8'));
    return this;
  }

  /** false is written only inside a oneof, where presence matters */
  bool(field: number, value: boolean | undefined, inOneof = false): this {
    if (value || (inOneof && value === false)) {
      this.key(field, 0);
      this.parts.push(Buffer.of(value ? 1 : 0));
    }
    return this;
  }

  message(field: number, value: Message | undefined): this {
    return value ? this.bytes(field, value.finish()) : this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

/** gnostic's Any: the value as YAML text. JSON is valid YAML, and kube-openapi reads it back with a YAML parser. */
function any(value: unknown): Message {
  return new Message().string(2, JSON.stringify(value));
}

function named<T>(entries: Record<string, T>, encode: (v: T) => Message): Message[] {
  return Object.entries(entries).map(([name, value]) => new Message().string(1, name).message(2, encode(value)));
}

function vendorExtensions(m: Message, field: number, obj: Json): Message {
  for (const [name, value] of Object.entries(obj)) {
    if (name.startsWith('x-')) m.message(field, new Message().string(1, name).message(2, any(value)));
  }
  return m;
}

// Field numbers below are those of openapi.v2 in OpenAPIv2.proto.

function schema(s: Json): Message {
  const m = new Message().string(1, s.$ref).string(2, s.format).string(3, s.title).string(4, s.description);
  if (s.default !== undefined) m.message(5, any(s.default));
  m.strings(19, s.required);
  for (const e of s.enum ?? []) m.message(20, any(e));
  if (s.additionalProperties !== undefined) {
    const ap = s.additionalProperties;
    m.message(21, typeof ap === 'object' ? new Message().message(1, schema(ap)) : new Message().bool(2, ap, true));
  }
  if (s.type) m.message(22, new Message().strings(1, [s.type]));
  if (s.items) m.message(23, new Message().message(1, schema(s.items)));
  if (s.properties) {
    const props = new Message();
    for (const p of named(s.properties as Record<string, Json>, schema)) props.message(1, p);
    m.message(25, props);
  }
  return vendorExtensions(m, 31, s);
}

function parameter(p: Json): Message {
  let param: Message;
  if (p.in === 'body') {
    param = new Message().message(
      1,
      new Message().string(1, p.description).string(2, p.name).string(3, p.in).bool(4, p.required).message(5, schema(p.schema)),
    );
  } else {
    // QueryParameterSubSchema and PathParameterSubSchema differ in field numbers after name.
    const isPath = p.in === 'path';
    const sub = new Message().bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name)
      .string(isPath ? 5 : 6, p.type).bool(isPath ? 19 : 20, p.uniqueItems);
    param = new Message().message(2, new Message().message(isPath ? 4 : 3, sub));
  }
  return new Message().message(1, param);
}

function operation(op: Json): Message {
  const m = new Message().strings(1, op.tags).string(3, op.description).string(5, op.operationId)
    .strings(6, op.produces).strings(7, op.consumes);
  for (const p of op.parameters ?? []) m.message(8, parameter(p));
  const responses = new Message();
  for (const [code, r] of Object.entries(op.responses as Record<string, Json>)) {
    const response = new Message().string(1, r.description);
    if (r.schema) response.message(2, new Message().message(1, schema(r.schema)));
    responses.message(1, new Message().string(1, code).message(2, new Message().message(1, response)));
  }
  m.message(9, responses).strings(10, op.schemes);
  return vendorExtensions(m, 13, op);
}

const PATH_ITEM_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function pathItem(item: Json): Message {
  const m = new Message();
  for (const [method, field] of Object.entries(PATH_ITEM_FIELDS)) if (item[method]) m.message(field, operation(item[method]));
  for (const p of item.parameters ?? []) m.message(9, parameter(p));
  return m;
}

function encodeDocument(doc: Json): Buffer {
  const paths = new Message();
  for (const p of named(doc.paths as Record<string, Json>, pathItem)) paths.message(2, p);
  const definitions = new Message();
  for (const d of named(doc.definitions as Record<string, Json>, schema)) definitions.message(1, d);
  return new Message()
    .string(1, doc.swagger)
    .message(2, new Message().string(1, doc.info.title).string(2, doc.info.version))
    .message(8, paths)
    .message(9, definitions)
    .finish();
}

/* ------------------------------------------------------------------ entry points */

const cache = new WeakMap<Registry, { json: Json; protobuf?: Buffer }>();

/** GET /openapi/v2 with Accept: application/json */
export function openApiV2Json(registry: Registry): Json {
  let entry = cache.get(registry);
  if (!entry) cache.set(registry, (entry = { json: v2Document(registry) }));
  return entry.json;
}

/** GET /openapi/v2 with Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf */
export function openApiV2Protobuf(registry: Registry): Buffer {
  const json = openApiV2Json(registry);
  const entry = cache.get(registry)!;
  return (entry.protobuf ??= encodeDocument(json));
}
