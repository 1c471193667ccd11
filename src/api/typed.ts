// Decoding a JSON value into a kind's typed shape, as the API server does when it unmarshals a
// body into the Go struct of the kind: numbers must fit their int32/int64 fields, strings,
// booleans, lists and objects must be what the field is, quantities, int-or-strings, times
// and base64 bytes must parse, null means "absent" (a zero value inside lists and maps), and
// fields the type does not have are dropped (their paths are returned for the Warning
// header or a Strict error). Everything downstream (admission, defaults, strategies,
// controllers) may then assume the shape the schema describes.
//
// Errors use encoding/json's texts ("json: cannot unmarshal string into Go struct field
// StatefulSetSpec.spec.replicas of type int32"); like encoding/json, only the first is kept.
import { isPlainObject } from './object.js';
import { parseQuantity } from './quantity.js';
import { resolveSchema, type Definitions, type Schema } from './schema.js';

/** Deeper values are refused: no built-in type nests near this, and deep recursion elsewhere would overflow the stack. */
export const MAX_OBJECT_DEPTH = 1000;

export interface TypedDecodeResult {
  /** the first decoding error, in encoding/json's words; undefined when the value fits */
  error?: string;
  /** dotted paths of fields the type lacks (dropped), e.g. "spec.foo", "spec.containers[0].bar" */
  unknown: string[];
  /** the decoded value: the input itself when nothing had to change, else a changed copy (or the input, changed, when mutate was set) */
  value: unknown;
}

/**
 * Objects (request bodies, patched objects) already decoded by decodeTyped: storage's own
 * check skips them instead of walking them twice.
 */
export const typedObjects = new WeakSet<object>();

type Edit = { path: Array<string | number>; op: 'delete' } | { path: Array<string | number>; op: 'set'; value: unknown };

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const RAW = 'io.k8s.apimachinery.pkg.runtime.RawExtension';
const TIME_REFS = new Set(['io.k8s.apimachinery.pkg.apis.meta.v1.Time', 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64_CHAR = /[A-Za-z0-9+/]/;

class Stop {
  constructor(readonly message: string) {}
}

export interface DecodeOptions {
  mutate?: boolean;
  kindName?: string;
  /**
   * An object decoded before (a stored object) whose top-level fields `value` may share: a field
   * holding the very same object is taken as decoded (a status patch shares the current spec).
   */
  sharesWith?: object;
}

/**
 * Decodes `value` against `schema` (a kind's definition reference). `mutate` says the value is
 * private to the caller and may be changed in place; otherwise a copy is changed when needed.
 */
export function decodeTyped(value: unknown, schema: Schema, defs: Definitions, opts: DecodeOptions = {}): TypedDecodeResult {
  const unknown: string[] = [];
  const edits: Edit[] = [];
  const depthError = tooDeep(value, MAX_OBJECT_DEPTH);
  if (depthError) return { error: depthError, unknown, value };
  const top = goTypeOf(schema, defs, opts.kindName ?? 'Object');
  try {
    walk(value, schema, defs, { struct: top.struct, field: null, segs: null, sharesWith: opts.sharesWith as Record<string, unknown> | undefined }, unknown, edits);
  } catch (e) {
    if (e instanceof Stop) return { error: e.message, unknown, value };
    throw e;
  }
  if (!edits.length) return { unknown, value };
  const target = opts.mutate ? value : JSON.parse(JSON.stringify(value));
  for (const e of edits) applyEdit(target, e);
  return { unknown, value: target };
}

// Schemas are static: each one's resolution ($ref followed) is computed once per definitions table.
const resolvedCache = new WeakMap<Definitions, WeakMap<Schema, Schema | null>>();

function resolved(defs: Definitions, schema: Schema): Schema | undefined {
  let byDefs = resolvedCache.get(defs);
  if (!byDefs) resolvedCache.set(defs, (byDefs = new WeakMap()));
  let r = byDefs.get(schema);
  if (r === undefined) byDefs.set(schema, (r = resolveSchema(defs, schema) ?? null));
  return r ?? undefined;
}

/** A path kept as a linked list, so walking a big object allocates one cell per step. */
interface Link {
  up: Link | null;
  key: string | number;
}

function toArray(l: Link | null): Array<string | number> {
  const out: Array<string | number> = [];
  for (let c = l; c; c = c.up) out.push(c.key);
  return out.reverse();
}

/** "spec.containers[0].bar", as strict decoding errors print paths. */
function jsonPathOf(l: Link | null): string {
  let s = '';
  for (const k of toArray(l)) s += typeof k === 'number' ? `[${k}]` : s ? `.${k}` : k;
  return s;
}

/** Where the walk is: the innermost struct, the Go error field path (field names only, no indices or map keys), the path to the value. */
interface Ctx {
  struct: string;
  field: Link | null;
  segs: Link | null;
  /** at the top only: DecodeOptions.sharesWith */
  sharesWith?: Record<string, unknown>;
}

function walk(v: unknown, schema: Schema | undefined, defs: Definitions, ctx: Ctx, unknown: string[], edits: Edit[]): void {
  if (!schema) return;
  const ref = schema.$ref;
  const s = resolved(defs, schema);
  if (!s) return;
  if (ref === QUANTITY) return checkQuantity(v);
  if (ref === INT_OR_STRING || s['x-kubernetes-int-or-string']) return checkIntOrString(v);
  if (ref === RAW) return;
  if (ref && TIME_REFS.has(ref)) return checkTime(v);
  if (s['x-kubernetes-preserve-unknown-fields'] && !s.properties) {
    if (!isPlainObject(v)) mismatch(v, ctx, goTypeOf(schema, defs).type);
    return;
  }
  const type = s.type ?? (s.properties || s.additionalProperties ? 'object' : undefined);
  switch (type) {
    case 'string':
      if (typeof v !== 'string') mismatch(v, ctx, goTypeOf(schema, defs).type);
      if (s.format === 'byte') checkBase64(v as string);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') mismatch(v, ctx, 'bool');
      return;
    case 'integer': {
      const bits = s.format === 'int32' ? 32 : 64;
      if (typeof v !== 'number') mismatch(v, ctx, `int${bits}`);
      const n = v as number;
      const limit = 2 ** (bits - 1);
      if (!Number.isInteger(n) || n < -limit || n >= limit) throw typeError(`number ${goNumber(n)}`, ctx, `int${bits}`);
      return;
    }
    case 'number':
      if (typeof v !== 'number') mismatch(v, ctx, 'float64');
      return;
    case 'array': {
      if (!Array.isArray(v)) mismatch(v, ctx, goTypeOf(schema, defs).type);
      const arr = v as unknown[];
      const items = s.items;
      for (let i = 0; i < arr.length; i++) {
        const segs: Link = { up: ctx.segs, key: i };
        if (arr[i] === null) {
          // encoding/json leaves a zero value in the element
          edits.push({ path: toArray(segs), op: 'set', value: zeroOf(items, defs) });
          continue;
        }
        const t = typeof arr[i];
        if (t === 'object' || !isScalarOk(arr[i], items, defs)) walk(arr[i], items, defs, { struct: ctx.struct, field: ctx.field, segs }, unknown, edits);
      }
      return;
    }
    case 'object': {
      if (!isPlainObject(v)) mismatch(v, ctx, goTypeOf(schema, defs).type);
      const obj = v as Record<string, unknown>;
      const props = s.properties;
      const ap = s.additionalProperties;
      // a struct (properties) starts a new error context; a map keeps the one of the field holding it
      const struct = props && ref ? shortName(ref) : ctx.struct;
      const shared = ctx.sharesWith;
      for (const k in obj) {
        const child = obj[k];
        if (shared !== undefined && typeof child === 'object' && child !== null && shared[k] === child) continue;
        const ps = props?.[k];
        if (ps) {
          const segs: Link = { up: ctx.segs, key: k };
          if (child === null) {
            // a zero metav1.Time encodes as null, so upstream echoes those nulls; other fields read as absent
            if (!(ps.$ref && TIME_REFS.has(ps.$ref))) edits.push({ path: toArray(segs), op: 'delete' });
            continue;
          }
          walk(child, ps, defs, { struct, field: { up: ctx.field, key: k }, segs }, unknown, edits);
        } else if (ap && typeof ap === 'object') {
          const segs: Link = { up: ctx.segs, key: k };
          if (child === null) {
            edits.push({ path: toArray(segs), op: 'set', value: zeroOf(ap, defs) });
            continue;
          }
          if (typeof child === 'object' || !isScalarOk(child, ap, defs)) walk(child, ap, defs, { struct: ctx.struct, field: ctx.field, segs }, unknown, edits);
        } else if (ap === true || s['x-kubernetes-preserve-unknown-fields']) {
          // kept as given
        } else {
          const segs: Link = { up: ctx.segs, key: k };
          unknown.push(jsonPathOf(segs));
          edits.push({ path: toArray(segs), op: 'delete' });
        }
      }
      return;
    }
    default:
      return;
  }
}

function mismatch(v: unknown, ctx: Ctx, goType: string): never {
  throw typeError(jsonKind(v), ctx, goType);
}

function typeError(what: string, ctx: Ctx, goType: string): Stop {
  if (!ctx.field) return new Stop(`json: cannot unmarshal ${what} into Go value of type ${goType}`);
  return new Stop(`json: cannot unmarshal ${what} into Go struct field ${ctx.struct}.${toArray(ctx.field).join('.')} of type ${goType}`);
}

/** Fast path for the common case of a plain string in a list or map of plain strings. */
function isScalarOk(v: unknown, schema: Schema | undefined, defs: Definitions): boolean {
  if (typeof v !== 'string' || !schema || schema.$ref) return false;
  return schema.type === 'string' && schema.format !== 'byte';
}

function checkQuantity(v: unknown): void {
  // Quantity's UnmarshalJSON parses whatever literal it is given (a bool or an object fails the format check)
  if (typeof v !== 'string' && typeof v !== 'number') {
    v = typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  }
  try {
    parseQuantity(typeof v === 'string' ? v.trim() : (v as number));
  } catch (e) {
    throw new Stop((e as Error).message);
  }
}

function checkIntOrString(v: unknown): void {
  if (typeof v === 'string') return;
  if (typeof v !== 'number') throw new Stop(`json: cannot unmarshal ${jsonKind(v)} into Go value of type int32`);
  if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new Stop(`json: cannot unmarshal number ${goNumber(v)} into Go value of type int32`);
}

function checkTime(v: unknown): void {
  if (typeof v !== 'string') throw new Stop(`json: cannot unmarshal ${jsonKind(v)} into Go value of type string`);
  if (v === '' || RFC3339.test(v)) return;
  throw new Stop(`parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(v)} as "2006"`);
}

/** []byte fields are base64 (standard alphabet, padded; line breaks ignored), as encoding/json requires. */
function checkBase64(v: string): void {
  let n = 0;
  let pad = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '\r' || c === '\n') continue;
    if (c === '=') {
      pad++;
      if (pad > 2 || n % 4 < 2) throw new Stop(`illegal base64 data at input byte ${i}`);
      n++;
      continue;
    }
    if (pad || !BASE64_CHAR.test(c)) throw new Stop(`illegal base64 data at input byte ${i}`);
    n++;
  }
  if (n % 4 !== 0) throw new Stop(`illegal base64 data at input byte ${v.length - (n % 4 === 1 ? 1 : 0)}`);
}

/** JSON's name for a value's kind, as encoding/json reports it. */
function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** A number as Go would echo its literal (JSON.parse lost the original text: 1e308, not 1e+308). */
function goNumber(n: number): string {
  return String(n).replace('e+', 'e');
}

/** What encoding/json leaves for a null list element or map value. */
function zeroOf(schema: Schema | undefined, defs: Definitions): unknown {
  // the zero Quantity prints as "0", the zero IntOrString as 0, an empty RawExtension as null
  if (schema?.$ref === QUANTITY) return '0';
  if (schema?.$ref === INT_OR_STRING) return 0;
  if (schema?.$ref === RAW) return null;
  const s = schema && resolved(defs, schema);
  if (!s) return {};
  switch (s.type) {
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    default:
      return {};
  }
}

/** The Go type name encoding/json prints for a schema, and the struct name a definition stands for. */
function goTypeOf(schema: Schema | undefined, defs: Definitions, fallback = 'Object'): { type: string; struct: string } {
  if (!schema) return { type: 'interface {}', struct: fallback };
  if (schema.$ref) {
    const parts = schema.$ref.split('.');
    return { type: parts.slice(-2).join('.'), struct: parts[parts.length - 1] };
  }
  switch (schema.type) {
    case 'string':
      return { type: 'string', struct: fallback };
    case 'boolean':
      return { type: 'bool', struct: fallback };
    case 'integer':
      return { type: schema.format === 'int32' ? 'int32' : 'int64', struct: fallback };
    case 'number':
      return { type: 'float64', struct: fallback };
    case 'array':
      return { type: `[]${goTypeOf(schema.items, defs).type}`, struct: fallback };
    default:
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        return { type: `map[string]${goTypeOf(schema.additionalProperties, defs).type}`, struct: fallback };
      }
      if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties) return { type: 'map[string]interface {}', struct: fallback };
      return { type: `struct`, struct: fallback };
  }
}

function shortName(ref: string): string {
  const i = ref.lastIndexOf('.');
  return i < 0 ? ref : ref.slice(i + 1);
}

function applyEdit(target: unknown, e: Edit): void {
  let cur: any = target;
  for (let i = 0; i < e.path.length - 1; i++) cur = cur?.[e.path[i] as any];
  if (cur === null || typeof cur !== 'object') return;
  const last = e.path[e.path.length - 1];
  if (e.op === 'delete') delete cur[last as any];
  else cur[last as any] = e.value;
}

/** "exceeded max depth" (encoding/json's text) when a value nests deeper than max, found without recursion. */
export function tooDeep(value: unknown, max: number): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length) {
    const v = values.pop() as Record<string, unknown> | unknown[];
    const d = depths.pop()!;
    if (d > max) return `json: exceeded max depth of ${max}`;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c = v[i];
        if (c !== null && typeof c === 'object') values.push(c), depths.push(d + 1);
      }
    } else {
      for (const k in v) {
        const c = v[k];
        if (c !== null && typeof c === 'object') values.push(c), depths.push(d + 1);
      }
    }
  }
  return undefined;
}

/** Go's %+v of a decoded JSON value (map[a:1 b:[x y]]), as upstream prints a strategic merge patch in errors. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${goFormat(o[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}
