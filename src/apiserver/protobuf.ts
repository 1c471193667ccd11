// Request bodies in Kubernetes protobuf (application/vnd.kubernetes.protobuf). client-go's typed
// clients send them for every typed call (kubectl ≥ 1.32 and client-go ≥ 0.32 tools such as Helm):
// creates and updates of any kind, and the DeleteOptions of every delete. We turn them into the
// exact JSON the same object would have, so the rest of the server only ever sees JSON.
//
// Wire layout: the magic "k8s\0", then a runtime.Unknown {1: typeMeta {1: apiVersion, 2: kind},
// 2: raw (the object's own message), 3: contentEncoding, 4: contentType}.
//
// Nothing here is written per kind: a message is read by walking the kind's schema (the one that
// drives OpenAPI) with the field numbers of protobuf-fields.ts, generated from upstream's Go types.
// Go writes every non-pointer field, even when empty, and pointer fields only when set; its JSON
// drops zero values of `omitempty` fields but always prints non-pointer structs. The table records
// which case applies to each field, so that decoding reproduces Go's JSON field for field.
import { ApiError, errors } from '../api/errors.js';
import { defaultRegistry } from '../api/kinds/index.js';
import type { Registry } from '../api/registry.js';
import type { Definitions, Schema } from '../api/schema.js';
import { allDefinitions } from './openapi.js';
import { PROTOBUF_FIELDS } from './protobuf-fields.js';

const MAGIC = Buffer.from('k8s\0', 'latin1');
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

/**
 * Kinds every group version carries (upstream registers them with metav1.AddToGroupVersion), so
 * client-go sends them under the apiVersion of the resource it talks to: `v1, Kind=DeleteOptions`,
 * `apps/v1, Kind=DeleteOptions`, `meta.k8s.io/v1, Kind=DeleteOptions`.
 */
const OPTION_KINDS = ['DeleteOptions', 'CreateOptions', 'UpdateOptions', 'PatchOptions', 'ListOptions', 'GetOptions', 'Status'];

/** Decodes a Kubernetes protobuf request body into the object's JSON form. */
export function decodeKubernetesProtobuf(body: Buffer, registry: Registry = defaultRegistry()): unknown {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw malformed(`provided data does not appear to be a protobuf message, expected prefix [${[...MAGIC].join(' ')}]`);
  }
  const unknown = readUnknown(body.subarray(MAGIC.length));
  if (unknown.contentEncoding) {
    throw unsupported(`protobuf bodies with content encoding "${unknown.contentEncoding}" are not supported`);
  }
  if (!unknown.kind) throw malformed("Object 'Kind' is missing in protobuf body");
  const codecs = codecsFor(registry);
  const type = codecs.topLevel(unknown.apiVersion, unknown.kind);
  if (!type) {
    const gvk = `${unknown.apiVersion || '(no apiVersion)'}, Kind=${unknown.kind}`;
    throw unsupported(`protobuf request bodies are not supported for ${gvk}`);
  }
  return { apiVersion: unknown.apiVersion, kind: unknown.kind, ...decodeMessage(type, unknown.raw, unknown.kind) };
}

function malformed(detail: string): ApiError {
  return errors.badRequest(`unable to decode protobuf body: ${detail}`);
}

function unsupported(detail: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `${detail} - accepted media types include: application/json, application/yaml`);
}

/* ------------------------------------------------------------------ wire reader */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    // the common case, up to 4 bytes, without BigInt arithmetic on every byte
    const buf = this.buf;
    let small = 0;
    for (let i = 0; i < 4 && this.pos + i < buf.length; i++) {
      const b = buf[this.pos + i];
      small |= (b & 0x7f) << (7 * i);
      if (b < 0x80) {
        this.pos += i + 1;
        return BigInt(small >>> 0);
      }
    }
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw malformed('truncated varint');
      const b = this.buf[this.pos++];
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return value;
    }
    throw malformed('varint longer than 10 bytes');
  }

  bytes(): Buffer {
    const length = this.varint();
    if (length > BigInt(this.buf.length - this.pos)) throw malformed('length-delimited field runs past the end of its message');
    const start = this.pos;
    this.pos += Number(length);
    return this.buf.subarray(start, this.pos);
  }

  /** The value of a field of this wire type: a varint as bigint, anything else as its bytes. */
  value(wireType: number): bigint | Buffer {
    if (wireType === VARINT) return this.varint();
    if (wireType === LENGTH_DELIMITED) return this.bytes();
    if (wireType !== FIXED64 && wireType !== FIXED32) throw malformed(`unsupported wire type ${wireType}`);
    const width = wireType === FIXED64 ? 8 : 4;
    if (this.pos + width > this.buf.length) throw malformed('truncated fixed-width field');
    this.pos += width;
    return this.buf.subarray(this.pos - width, this.pos);
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === LENGTH_DELIMITED) this.bytes();
    else if (wireType === FIXED64 || wireType === FIXED32) {
      const width = wireType === FIXED64 ? 8 : 4;
      if (this.pos + width > this.buf.length) throw malformed('truncated fixed-width field');
      this.pos += width;
    } else throw malformed(`unsupported wire type ${wireType}`);
  }

  /** The next field's (number << 3 | wire type), or -1 at the end; cheaper than fields() in hot loops. */
  key(): number {
    if (this.done) return -1;
    const key = this.varint();
    if (key >> 3n === 0n) throw malformed('field number 0');
    if (key > 0x7fffffffn) throw malformed('field number out of range');
    return Number(key);
  }

  /** Yields (field number, wire type) and leaves the reader at the field's value. */
  *fields(): Generator<[number, number]> {
    while (!this.done) {
      const key = this.varint();
      const field = Number(key >> 3n);
      if (field === 0) throw malformed('field number 0');
      yield [field, Number(key & 7n)];
    }
  }
}

interface UnknownEnvelope {
  apiVersion: string;
  kind: string;
  raw: Buffer;
  contentEncoding: string;
}

function readUnknown(buf: Buffer): UnknownEnvelope {
  const out: UnknownEnvelope = { apiVersion: '', kind: '', raw: Buffer.alloc(0), contentEncoding: '' };
  const r = new Reader(buf);
  for (const [field, wire] of r.fields()) {
    if (wire !== LENGTH_DELIMITED) r.skip(wire);
    else if (field === 1) {
      const tm = new Reader(r.bytes());
      for (const [f, w] of tm.fields()) {
        if (w !== LENGTH_DELIMITED) tm.skip(w);
        else if (f === 1) out.apiVersion = utf8(tm.bytes());
        else if (f === 2) out.kind = utf8(tm.bytes());
        else tm.skip(w);
      }
    } else if (field === 2) out.raw = r.bytes();
    else if (field === 3) out.contentEncoding = utf8(r.bytes());
    else r.skip(wire);
  }
  return out;
}

function utf8(b: Buffer): string {
  return b.toString('utf8');
}

/* ------------------------------------------------------------------ value types */

interface ValueType {
  wire: number;
  read(value: bigint | Buffer, path: string): unknown;
  /** What Go's JSON shows for a field that holds the zero value. */
  zero(): unknown;
}

const string: ValueType = { wire: LENGTH_DELIMITED, read: (b) => utf8(b as Buffer), zero: () => '' };
/** []byte: base64 in JSON */
const bytes: ValueType = { wire: LENGTH_DELIMITED, read: (b) => (b as Buffer).toString('base64'), zero: () => '' };
const bool: ValueType = { wire: VARINT, read: (v) => v !== 0n, zero: () => false };
const int32: ValueType = { wire: VARINT, read: (v) => Number(BigInt.asIntN(32, v as bigint)), zero: () => 0 };
const int64: ValueType = { wire: VARINT, read: (v) => Number(BigInt.asIntN(64, v as bigint)), zero: () => 0 };

/**
 * metav1.Time: {1: seconds, 2: nanos}. An empty message is the zero time (JSON null); nanos are
 * dropped, as the Go decoder does, because the JSON form has whole seconds.
 */
const time: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b, path) {
    const buf = b as Buffer;
    if (buf.length === 0) return null;
    let seconds = 0;
    const r = new Reader(buf);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === VARINT) seconds = Number(BigInt.asIntN(64, r.varint()));
      else r.skip(wire);
    }
    const date = new Date(seconds * 1000);
    const year = date.getUTCFullYear();
    // RFC 3339 has four-digit years; Go's JSON encoder refuses the rest too.
    if (!(year >= 0 && year <= 9999)) throw malformed(`${path}: timestamp ${seconds} is out of range`);
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  },
  zero: () => null,
};

/** authentication's ExtraValue {1: repeated string items}: JSON is the bare list. */
const extraValue: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b) {
    const items: string[] = [];
    const r = new Reader(b as Buffer);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === LENGTH_DELIMITED) items.push(utf8(r.bytes()));
      else r.skip(wire);
    }
    return items;
  },
  zero: () => null,
};

/** intstr.IntOrString: {1: type (0 int, 1 string), 2: intVal, 3: strVal}; JSON is the bare number or string. */
const intOrString: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b, path) {
    let type = 0n;
    let intVal = 0;
    let strVal = '';
    const r = new Reader(b as Buffer);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === VARINT) type = r.varint();
      else if (field === 2 && wire === VARINT) intVal = Number(BigInt.asIntN(32, r.varint()));
      else if (field === 3 && wire === LENGTH_DELIMITED) strVal = utf8(r.bytes());
      else r.skip(wire);
    }
    if (type === 0n) return intVal;
    if (type === 1n) return strVal;
    throw malformed(`${path}: impossible IntOrString.Type ${type}`);
  },
  zero: () => 0,
};

/** metav1.FieldsV1 {1: Raw}: the raw bytes are the JSON itself. */
const fieldsV1: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b, path) {
    let raw: Buffer | undefined;
    const r = new Reader(b as Buffer);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === LENGTH_DELIMITED) raw = r.bytes();
      else r.skip(wire);
    }
    if (raw === undefined) return null;
    try {
      return JSON.parse(utf8(raw));
    } catch (e) {
      throw malformed(`${path}: ${(e as Error).message}`);
    }
  },
  zero: () => null,
};

/** metav1.MicroTime: like Time, with microseconds in JSON. */
const microTime: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b, path) {
    const buf = b as Buffer;
    if (buf.length === 0) return null;
    let seconds = 0;
    let nanos = 0;
    const r = new Reader(buf);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === VARINT) seconds = Number(BigInt.asIntN(64, r.varint()));
      else if (field === 2 && wire === VARINT) nanos = Number(BigInt.asIntN(32, r.varint()));
      else r.skip(wire);
    }
    const whole = time.read(encodeSeconds(seconds), path) as string;
    const micros = String(Math.floor(Math.max(0, nanos) / 1000)).padStart(6, '0');
    return whole.replace(/Z$/, `.${micros}Z`);
  },
  zero: () => null,
};

function encodeSeconds(seconds: number): Buffer {
  let v = BigInt.asUintN(64, BigInt(seconds));
  const out: number[] = [0x08];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** resource.Quantity {1: string}: JSON is the string. */
/** metav1.Duration: { duration (int64 nanoseconds) = 1 }, shown as Go prints it, in seconds. */
const duration: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b) {
    let nanos = 0n;
    const r = new Reader(b as Buffer);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === VARINT) nanos = BigInt.asIntN(64, r.varint());
      else r.skip(wire);
    }
    return `${Number(nanos) / 1e9}s`;
  },
  zero: () => '0s',
};

const quantity: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b) {
    let value = '0';
    const r = new Reader(b as Buffer);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === LENGTH_DELIMITED) value = utf8(r.bytes());
      else r.skip(wire);
    }
    return value;
  },
  zero: () => '0',
};

/** How deep objects may sit inside RawExtensions inside objects: a bound on recursion, not on real use. */
const MAX_EMBEDDED = 8;
let embedded = 0;

/**
 * runtime.RawExtension {1: raw}: the embedded object's JSON, or, when a protobuf client encoded a
 * typed object into it, that object's own protobuf envelope.
 */
const rawExtension: ValueType = {
  wire: LENGTH_DELIMITED,
  read(b, path) {
    const r = new Reader(b as Buffer);
    for (const [field, wire] of r.fields()) {
      if (field !== 1 || wire !== LENGTH_DELIMITED) {
        r.skip(wire);
        continue;
      }
      const raw = r.bytes();
      if (raw.subarray(0, MAGIC.length).equals(MAGIC)) {
        if (++embedded > MAX_EMBEDDED) throw malformed(`${path}: objects embedded more than ${MAX_EMBEDDED} deep`);
        try {
          return decodeKubernetesProtobuf(raw);
        } finally {
          embedded--;
        }
      }
      return fieldsV1.read(b, path);
    }
    return null;
  },
  zero: () => null,
};

const double: ValueType = { wire: FIXED64, read: (b) => (b as Buffer).readDoubleLE(0), zero: () => 0 };
const float: ValueType = { wire: FIXED32, read: (b) => (b as Buffer).readFloatLE(0), zero: () => 0 };

/** Definitions whose wire form is not their JSON shape. */
const SPECIAL: Record<string, ValueType> = {
  [`${META}Time`]: time,
  [`${META}MicroTime`]: microTime,
  [`${META}FieldsV1`]: fieldsV1,
  [`${META}Duration`]: duration,
  'io.k8s.apimachinery.pkg.api.resource.Quantity': quantity,
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': intOrString,
  'io.k8s.apimachinery.pkg.runtime.RawExtension': rawExtension,
};

/* ------------------------------------------------------------------ messages */

type Shape = 'single' | 'list' | 'map';

/**
 * always:    JSON always shows it (non-pointer structs, Time included, and untagged scalars);
 * omitempty: a non-pointer scalar left out of JSON when zero (lists and maps: when empty);
 * pointer:   shown exactly when it was on the wire, whatever its value.
 */
type Presence = 'omitempty' | 'always' | 'pointer';

interface FieldSpec {
  number: number;
  /** the JSON name; empty for a struct JSON shows inline */
  name: string;
  /** resolved lazily: a message's fields may refer back to it */
  type: () => ValueType;
  shape: Shape;
  presence: Presence;
}

interface MessageType extends ValueType {
  spec: FieldSpec[];
  byNumber: Map<number, FieldSpec>;
}

interface Codecs {
  topLevel(apiVersion: string, kind: string): MessageType | undefined;
  message(definition: string): MessageType;
}

const codecCache = new WeakMap<Registry, Codecs>();

function codecsFor(registry: Registry): Codecs {
  let codecs = codecCache.get(registry);
  if (!codecs) codecCache.set(registry, (codecs = buildCodecs(allDefinitions(registry))));
  return codecs;
}

function buildCodecs(defs: Definitions): Codecs {
  const messages = new Map<string, MessageType>();
  const kinds = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      kinds.set(`${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`, name);
    }
  }

  /** The fields of `fieldsOf` (a Go struct), typed from the JSON schema `schema` (its own, or the struct that inlines it). */
  function compile(fieldsOf: string, schema: Schema, inlinedFrom = ''): FieldSpec[] {
    const table = PROTOBUF_FIELDS[fieldsOf];
    if (table === undefined) throw new Error(`protobuf: no field numbers for ${fieldsOf}; run scripts/protobuf-fields.mjs`);
    const specs: FieldSpec[] = [];
    for (const entry of table.split(' ')) {
      const inline = /^~(\d+)=(.+)$/.exec(entry);
      if (inline) {
        const target = inline[2];
        const nested = lazyMessage(() => compile(target, schema, target));
        specs.push({ number: Number(inline[1]), name: '', type: () => nested, shape: 'single', presence: 'always' });
        continue;
      }
      const m = /^(\w+)=(\d+)(\*?)(\??)$/.exec(entry);
      if (!m) throw new Error(`protobuf: bad field entry "${entry}" of ${fieldsOf}`);
      const [, name, number, pointer, omitempty] = m;
      const property = schema.properties?.[name];
      // Upstream fields our schema leaves out are skipped, as unknown JSON fields are dropped.
      if (!property) continue;
      specs.push(fieldSpec(Number(number), name, property, pointer === '*', omitempty === '?', `${inlinedFrom || fieldsOf}.${name}`));
    }
    return specs;
  }

  function fieldSpec(number: number, name: string, property: Schema, pointer: boolean, omitempty: boolean, where: string): FieldSpec {
    const resolved = property.$ref ? defs[property.$ref] : property;
    if (!resolved) throw new Error(`protobuf: ${where} refers to ${property.$ref}, which has no definition`);
    if (!property.$ref && resolved.type === 'array') {
      const items = resolved.items ?? {};
      return { number, name, type: once(() => valueType(items, `${where}[]`)), shape: 'list', presence: 'omitempty' };
    }
    if (!property.$ref && resolved.type === 'object' && typeof resolved.additionalProperties === 'object') {
      const values = resolved.additionalProperties;
      // map[string]ExtraValue (a user's extra attributes): each value a message of repeated strings
      if (values.type === 'array') return { number, name, type: () => extraValue, shape: 'map', presence: 'omitempty' };
      return { number, name, type: once(() => valueType(values, `${where}{}`)), shape: 'map', presence: 'omitempty' };
    }
    const opaque = !property.$ref && !resolved.properties && resolved['x-kubernetes-preserve-unknown-fields'] === true;
    const struct = opaque || property.$ref !== undefined || resolved.type === 'object';
    const presence: Presence = pointer ? 'pointer' : struct || !omitempty ? 'always' : 'omitempty';
    return { number, name, type: once(() => valueType(property, where)), shape: 'single', presence };
  }

  function valueType(schema: Schema, where: string): ValueType {
    if (schema.$ref) return SPECIAL[schema.$ref] ?? message(schema.$ref);
    switch (schema.type) {
      case 'string':
        return schema.format === 'byte' ? bytes : string;
      case 'boolean':
        return bool;
      case 'integer':
        return schema.format === 'int32' ? int32 : int64;
      case 'number':
        return schema.format === 'float' ? float : double;
      case 'object':
        if (schema.properties) throw new Error(`protobuf: ${where} is an object without a named definition`);
        return opaqueType(where);
      default:
        throw new Error(`protobuf: ${where} has no type protobuf can carry`);
    }
  }

  function message(definition: string): MessageType {
    let m = messages.get(definition);
    if (!m) {
      const def = defs[definition];
      if (!def) throw new Error(`protobuf: no definition ${definition}`);
      m = lazyMessage(() => compile(definition, def));
      messages.set(definition, m);
    }
    return m;
  }

  return {
    topLevel(apiVersion, kind) {
      const name = kinds.get(`${apiVersion}/${kind}`) ?? (OPTION_KINDS.includes(kind) && defs[META + kind] ? META + kind : undefined);
      return name ? message(name) : undefined;
    },
    message,
  };
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** A message whose field list is compiled on first use (schemas refer to themselves: JSONSchemaProps-like). */
function lazyMessage(compileFields: () => FieldSpec[]): MessageType {
  let spec: FieldSpec[] | undefined;
  let byNumber: Map<number, FieldSpec> | undefined;
  const type: MessageType = {
    get spec() {
      return (spec ??= compileFields());
    },
    get byNumber() {
      return (byNumber ??= new Map(type.spec.map((f) => [f.number, f])));
    },
    wire: LENGTH_DELIMITED,
    read: (b, path) => decodeMessage(type, b as Buffer, path),
    zero: () => decodeMessage(type, Buffer.alloc(0), ''),
  };
  return type;
}

/** A field our schema keeps free-form although upstream types it: we cannot know its message. */
function opaqueType(where: string): ValueType {
  return {
    wire: LENGTH_DELIMITED,
    read: () => {
      throw unsupported(`protobuf request bodies are not supported for the field ${where}`);
    },
    zero: () => undefined,
  };
}

function decodeMessage(type: MessageType, buf: Buffer, path: string): Record<string, unknown> {
  const { spec, byNumber } = type;
  const seen = new Map<FieldSpec, unknown>();
  const r = new Reader(buf);
  for (let key = r.key(); key >= 0; key = r.key()) {
    const number = key >>> 3;
    const wire = key & 7;
    const f = byNumber.get(number);
    if (!f) {
      r.skip(wire);
      continue;
    }
    const fieldPath = f.name ? `${path}.${f.name}` : path;
    const valueType = f.type();
    const expected = f.shape === 'map' ? LENGTH_DELIMITED : valueType.wire;
    if (f.shape === 'list' && wire === LENGTH_DELIMITED && expected !== LENGTH_DELIMITED) {
      // a packed repeated scalar: proto2 writers do not pack, but the format allows it
      const list = (seen.get(f) as unknown[] | undefined) ?? [];
      const packed = new Reader(r.bytes());
      while (!packed.done) list.push(valueType.read(packed.value(expected), `${fieldPath}[${list.length}]`));
      seen.set(f, list);
      continue;
    }
    if (wire !== expected) throw malformed(`${fieldPath}: wire type ${wire}, expected ${expected}`);
    const raw = r.value(wire);
    if (f.shape === 'single') seen.set(f, valueType.read(raw, fieldPath));
    else if (f.shape === 'list') {
      const list = (seen.get(f) as unknown[] | undefined) ?? [];
      list.push(valueType.read(raw, `${fieldPath}[${list.length}]`));
      seen.set(f, list);
    } else {
      const map = (seen.get(f) as Record<string, unknown> | undefined) ?? {};
      const [key, value] = readMapEntry(raw as Buffer, valueType, fieldPath);
      map[key] = value;
      seen.set(f, map);
    }
  }
  const out: Record<string, unknown> = {};
  for (const f of spec) {
    if (!f.name) {
      // an inlined struct: its fields sit beside ours in JSON
      Object.assign(out, seen.has(f) ? seen.get(f) : f.type().zero());
      continue;
    }
    const value = seen.has(f) ? seen.get(f) : f.presence === 'always' ? f.type().zero() : undefined;
    if (value === undefined || (f.presence === 'omitempty' && isEmpty(value, f))) continue;
    out[f.name] = value;
  }
  return out;
}

function isEmpty(value: unknown, f: FieldSpec): boolean {
  if (f.shape === 'list') return (value as unknown[]).length === 0;
  if (f.shape === 'map') return Object.keys(value as object).length === 0;
  return value === f.type().zero();
}

function readMapEntry(buf: Buffer, valueType: ValueType, path: string): [string, unknown] {
  let key = '';
  let value: unknown;
  const r = new Reader(buf);
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === LENGTH_DELIMITED) key = utf8(r.bytes());
    else if (field === 2 && wire === valueType.wire) value = valueType.read(r.value(wire), `${path}[${key}]`);
    else r.skip(wire);
  }
  // An entry without a value on the wire still exists: Go gives it the zero value.
  return [key, value === undefined ? valueType.zero() : value];
}

/**
 * What keeps a body from decoding field for field: definitions without field numbers, schema
 * properties upstream's Go type does not have, and types protobuf cannot carry. Empty when every
 * served kind (and DeleteOptions) reads completely; a test holds it so.
 */
export function protobufCoverage(registry: Registry): string[] {
  const defs = allDefinitions(registry);
  const codecs = codecsFor(registry);
  const problems: string[] = [];
  const jsonNames = (type: string): string[] =>
    (PROTOBUF_FIELDS[type] ?? '').split(' ').flatMap((e) => {
      const inline = /^~\d+=(.+)$/.exec(e);
      return inline ? jsonNames(inline[1]) : [e.split('=')[0]];
    });
  for (const [name, def] of Object.entries(defs)) {
    if (!def.properties || SPECIAL[name] || name === `${META}Patch`) continue;
    if (PROTOBUF_FIELDS[name] === undefined) {
      problems.push(`${name} has no field numbers`);
      continue;
    }
    const known = new Set(jsonNames(name));
    for (const p of Object.keys(def.properties)) {
      if (p !== 'apiVersion' && p !== 'kind' && !known.has(p)) problems.push(`${name}.${p} has no field number upstream`);
    }
    try {
      for (const f of codecs.message(name).spec) f.type();
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}
