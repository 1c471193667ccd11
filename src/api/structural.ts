// Structural schemas: what a CustomResourceDefinition's openAPIV3Schema does to its custom
// objects. Upstream's order is prune (drop fields the schema does not name), default (fill
// absent fields that declare a default), then validate against the schema. Messages follow
// upstream's (kube-openapi's validator as the API server wraps it in field errors):
//   spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"
import { isPlainObject } from './object.js';
import { field, type FieldError } from './validation.js';
import { compileCel, evalCelRule, usesOldSelf } from './cel.js';

/** The subset of JSONSchemaProps a structural schema may use. */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  [k: string]: unknown;
}

type Obj = Record<string, unknown>;

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/* ---------------------------------------------------------------- pruning */

/**
 * Drops, in place, every field the schema does not specify (unless preserve-unknown-fields
 * says keep them) and returns their paths ("spec.foo", "spec.list[0].bar") for warnings or a
 * Strict error. The top level's apiVersion, kind and metadata are left to the caller; an
 * embedded resource keeps its own apiVersion, kind and metadata.
 */
export function pruneUnknown(value: unknown, schema: JSONSchemaProps | undefined, path = '', top = true): string[] {
  const out: string[] = [];
  prune(value, schema, path, top, out);
  return out;
}

function prune(v: unknown, s: JSONSchemaProps | undefined, path: string, skipMeta: boolean, out: string[]): void {
  if (!s) return;
  if (Array.isArray(v)) {
    if (s.items) v.forEach((item, i) => prune(item, s.items, `${path}[${i}]`, !!s.items!['x-kubernetes-embedded-resource'], out));
    return;
  }
  if (!isPlainObject(v)) return;
  const o = v as Obj;
  const keepMeta = skipMeta || !!s['x-kubernetes-embedded-resource'];
  const ap = s.additionalProperties;
  for (const k of Object.keys(o)) {
    if (keepMeta && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    const child = s.properties?.[k];
    if (child) prune(o[k], child, join(path, k), !!child['x-kubernetes-embedded-resource'], out);
    else if (ap && typeof ap === 'object') prune(o[k], ap, join(path, k), !!ap['x-kubernetes-embedded-resource'], out);
    else if (ap === true || s['x-kubernetes-preserve-unknown-fields']) continue;
    else {
      out.push(join(path, k));
      delete o[k];
    }
  }
}

/* ---------------------------------------------------------------- defaulting */

/** Fills, in place, absent fields whose schema has a default; nulls of non-nullable fields are dropped first. */
export function applyDefaults(v: unknown, s: JSONSchemaProps | undefined): void {
  if (!s) return;
  if (Array.isArray(v)) {
    if (s.items) for (const item of v) applyDefaults(item, s.items);
    return;
  }
  if (!isPlainObject(v)) return;
  const o = v as Obj;
  for (const [k, child] of Object.entries(s.properties ?? {})) {
    // a null where the schema does not allow one is dropped (then defaulted), as upstream
    if (o[k] === null && !child.nullable) delete o[k];
    if (child.default !== undefined && !(k in o)) o[k] = structuredClone(child.default);
    if (k in o) applyDefaults(o[k], child);
  }
  const ap = s.additionalProperties;
  if (ap && typeof ap === 'object') for (const k of Object.keys(o)) if (!s.properties?.[k]) applyDefaults(o[k], ap);
}

/* ---------------------------------------------------------------- validation */

/** The JSON type name kube-openapi reports for a value. */
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v === 'object' ? 'object' : typeof v;
}

function typeMatches(v: unknown, type: string, format?: string): boolean {
  switch (type) {
    case 'object':
      return isPlainObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
  }
  void format;
  return true;
}

/** The value as kube-openapi's messages print it: strings quoted, objects and arrays as JSON. */
function shown(v: unknown): string {
  return JSON.stringify(v);
}

const bodyPath = (path: string) => (path ? `${path} in body` : 'body');

/**
 * Every way `value` (at `path`) breaks the schema, as field errors with upstream's paths and
 * texts. The top level's metadata is not looked at (ObjectMeta has its own validation).
 */
export function validateStructural(value: unknown, s: JSONSchemaProps | undefined, path = '', top = true, old?: unknown): FieldError[] {
  const errs: FieldError[] = [];
  check(value, s, path, errs, top, old);
  return errs;
}

/** One of x-kubernetes-validations: a CEL rule with its message and the error it raises. */
interface ValidationRule {
  rule: string;
  message?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** The CEL rules of a node (x-kubernetes-validations), with self the value and oldSelf the stored one on updates. */
function checkRules(v: unknown, s: JSONSchemaProps, path: string, errs: FieldError[], old: unknown): void {
  const rules = s['x-kubernetes-validations'] as ValidationRule[] | undefined;
  if (!Array.isArray(rules)) return;
  for (const r of rules) {
    if (typeof r?.rule !== 'string') continue;
    // transition rules compare with the stored value: only on updates that have one
    if (usesOldSelf(r.rule) && old === undefined && !r.optionalOldSelf) continue;
    // a rule beyond the CEL subset petset evaluates is not enforced (the CRD's writer was warned)
    if (!compiles(r.rule)) continue;
    const at = r.fieldPath ? `${path}${r.fieldPath.startsWith('.') || r.fieldPath.startsWith('[') ? '' : '.'}${r.fieldPath}`.replace(/^\./, '') : path;
    let ok: boolean;
    try {
      ok = evalCelRule(r.rule, { self: v, oldSelf: old });
    } catch (e) {
      errs.push(field.invalid(at, typeName(v), `${(e as Error).message} evaluating rule: ${r.rule}`));
      continue;
    }
    if (ok) continue;
    const detail = r.message || `failed rule: ${r.rule}`;
    switch (r.reason) {
      case 'FieldValueForbidden':
        errs.push(field.forbidden(at, detail));
        break;
      case 'FieldValueRequired':
        errs.push(field.required(at, detail));
        break;
      case 'FieldValueDuplicate':
        errs.push({ type: 'FieldValueDuplicate', field: at, value: typeName(v), hasValue: true, detail });
        break;
      default:
        errs.push(field.invalid(at, typeName(v), detail));
    }
  }
}

function check(v: unknown, s: JSONSchemaProps | undefined, path: string, errs: FieldError[], top = false, old?: unknown): void {
  if (!s) return;
  if (v === null) {
    if (s.nullable || (!s.type && !s['x-kubernetes-int-or-string'])) return;
    errs.push(field.typeInvalid(path, 'null', `${bodyPath(path)} must be of type ${s.type ?? 'object'}: "null"`));
    return;
  }
  if (s['x-kubernetes-int-or-string']) {
    if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)))) {
      errs.push(field.typeInvalid(path, typeName(v), `${bodyPath(path)} must be of type integer or string: ${JSON.stringify(typeName(v))}`));
      return;
    }
  } else if (s.type && !typeMatches(v, s.type, s.format)) {
    errs.push(field.typeInvalid(path, typeName(v), `${bodyPath(path)} must be of type ${s.type}: ${JSON.stringify(typeName(v))}`));
    return;
  }
  if (s.enum && s.enum.length && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    errs.push({ type: 'FieldValueNotSupported', field: path, value: v, hasValue: true, detail: `supported values: ${s.enum.map(shown).join(', ')}` });
  }
  if (typeof v === 'number') checkNumber(v, s, path, errs);
  if (typeof v === 'string') checkString(v, s, path, errs);
  if (Array.isArray(v)) checkArray(v, s, path, errs, old);
  else if (isPlainObject(v)) checkObject(v as Obj, s, path, errs, top, old);
  checkRules(v, s, path, errs, old);
  for (const sub of s.allOf ?? []) check(v, sub, path, errs);
  if (s.anyOf?.length && !s.anyOf.some((sub) => validateStructural(v, sub, path, false).length === 0)) {
    errs.push(field.invalid(path, v, `${bodyPath(path)} must validate at least one schema (anyOf)`));
  }
  if (s.oneOf?.length) {
    const n = s.oneOf.filter((sub) => validateStructural(v, sub, path, false).length === 0).length;
    if (n !== 1) errs.push(field.invalid(path, v, `${bodyPath(path)} must validate one and only one schema (oneOf)`));
  }
  if (s.not && validateStructural(v, s.not, path, false).length === 0) {
    errs.push(field.invalid(path, v, `${bodyPath(path)} must not validate the schema (not)`));
  }
}

function checkNumber(v: number, s: JSONSchemaProps, path: string, errs: FieldError[]): void {
  if (s.minimum !== undefined) {
    if (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum) {
      errs.push(field.invalid(path, v, `${bodyPath(path)} should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`));
    }
  }
  if (s.maximum !== undefined) {
    if (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum) {
      errs.push(field.invalid(path, v, `${bodyPath(path)} should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`));
    }
  }
  if (s.multipleOf && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9) {
    errs.push(field.invalid(path, v, `${bodyPath(path)} should be a multiple of ${s.multipleOf}`));
  }
  if (s.format === 'int32' && (v < -(2 ** 31) || v >= 2 ** 31)) errs.push(field.invalid(path, v, `${bodyPath(path)} must be of type int32: ${JSON.stringify(String(v))}`));
}

function checkString(v: string, s: JSONSchemaProps, path: string, errs: FieldError[]): void {
  const n = [...v].length;
  if (s.maxLength !== undefined && n > s.maxLength) {
    errs.push({ type: 'FieldValueTooLong', field: path, value: v, hasValue: true, detail: `may not be more than ${s.maxLength} bytes` });
  }
  if (s.minLength !== undefined && n < s.minLength) errs.push(field.invalid(path, v, `${bodyPath(path)} should be at least ${s.minLength} chars long`));
  if (s.pattern !== undefined) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(s.pattern, 'u');
    } catch {
      re = undefined;
    }
    if (re && !re.test(v)) errs.push(field.invalid(path, v, `${bodyPath(path)} should match '${s.pattern}'`));
  }
  if (s.format === 'date-time' && !/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v)) {
    errs.push(field.invalid(path, v, `${bodyPath(path)} must be of type date-time: ${JSON.stringify(v)}`));
  }
}

function checkArray(v: unknown[], s: JSONSchemaProps, path: string, errs: FieldError[], old: unknown): void {
  if (s.maxItems !== undefined && v.length > s.maxItems) errs.push(field.tooMany(path, v.length, s.maxItems));
  if (s.minItems !== undefined && v.length < s.minItems) errs.push(field.invalid(path, v.length, `${bodyPath(path)} should have at least ${s.minItems} items`));
  const listType = s['x-kubernetes-list-type'];
  if (listType === 'set' || s.uniqueItems) {
    const seen = new Set<string>();
    v.forEach((item, i) => {
      const key = JSON.stringify(item);
      if (seen.has(key)) errs.push(field.duplicate(`${path}[${i}]`, item));
      seen.add(key);
    });
  } else if (listType === 'map') {
    const keys = s['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Set<string>();
    v.forEach((item, i) => {
      if (!isPlainObject(item)) return;
      const key = JSON.stringify(keys.map((k) => (item as Obj)[k] ?? s.items?.properties?.[k]?.default ?? null));
      if (seen.has(key)) {
        const shownKeys = Object.fromEntries(keys.map((k) => [k, (item as Obj)[k]]));
        errs.push(field.duplicate(`${path}[${i}]`, shownKeys));
      }
      seen.add(key);
    });
  }
  // old items are known only where the list says how to match them: by the keys of a map list
  const keys = listType === 'map' ? (s['x-kubernetes-list-map-keys'] ?? []) : undefined;
  const keyOf = (item: unknown) => (keys && isPlainObject(item) ? JSON.stringify(keys.map((k) => (item as Obj)[k] ?? null)) : undefined);
  const olds = new Map<string, unknown>();
  if (keys && Array.isArray(old)) for (const o of old) if (keyOf(o) !== undefined) olds.set(keyOf(o)!, o);
  if (s.items) v.forEach((item, i) => check(item, s.items, `${path}[${i}]`, errs, false, keys ? olds.get(keyOf(item) ?? '') : undefined));
}

function checkObject(o: Obj, s: JSONSchemaProps, path: string, errs: FieldError[], top: boolean, old: unknown): void {
  for (const r of s.required ?? []) {
    if (!(r in o) || o[r] === undefined) errs.push(field.required(join(path, r)));
  }
  const n = Object.keys(o).length;
  if (s.maxProperties !== undefined && n > s.maxProperties) errs.push(field.tooMany(path, n, s.maxProperties));
  if (s.minProperties !== undefined && n < s.minProperties) errs.push(field.invalid(path, n, `${bodyPath(path)} should have at least ${s.minProperties} properties`));
  if (s['x-kubernetes-embedded-resource']) {
    if (typeof o.apiVersion !== 'string' || !o.apiVersion) errs.push(field.required(join(path, 'apiVersion'), 'must not be empty'));
    if (typeof o.kind !== 'string' || !o.kind) errs.push(field.required(join(path, 'kind'), 'must not be empty'));
  }
  const ap = s.additionalProperties;
  for (const [k, child] of Object.entries(o)) {
    if (top && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue;
    const ps = s.properties?.[k];
    const oldChild = isPlainObject(old) ? (old as Obj)[k] : undefined;
    if (ps) check(child, ps, join(path, k), errs, false, oldChild);
    else if (ap && typeof ap === 'object') check(child, ap, join(path, k), errs, false, oldChild);
  }
}

/* ---------------------------------------------------------------- the schema itself */

const ALLOWED_TYPES = ['object', 'array', 'string', 'integer', 'number', 'boolean'];

/**
 * What makes a schema not structural, as upstream's CRD validation reports it (under
 * spec.versions[i].schema.openAPIV3Schema): every node names its type (or is int-or-string or
 * preserves unknown fields), arrays have items, and $ref is not allowed.
 */
export function structuralProblems(s: unknown, path: string, top = true): FieldError[] {
  const errs: FieldError[] = [];
  walkSchema(s, path, errs, top, false);
  return errs;
}

function walkSchema(s: unknown, path: string, errs: FieldError[], top: boolean, underLogic: boolean): void {
  if (!isPlainObject(s)) {
    errs.push(field.invalid(path, s, 'must be an object'));
    return;
  }
  const o = s as JSONSchemaProps;
  if ('$ref' in o) errs.push(field.forbidden(join(path, '$ref'), '$ref is not supported'));
  if (o.type !== undefined && !ALLOWED_TYPES.includes(o.type)) {
    errs.push(field.notSupported(join(path, 'type'), o.type, ALLOWED_TYPES));
  }
  if (!underLogic && o.type === undefined && !o['x-kubernetes-int-or-string'] && !o['x-kubernetes-preserve-unknown-fields']) {
    errs.push(field.required(join(path, 'type'), 'must not be empty for specified object fields'));
  }
  if (o.type === 'array' && !underLogic && !o.items) errs.push(field.required(join(path, 'items'), 'must be specified'));
  if (top && o.type !== undefined && o.type !== 'object') errs.push(field.invalid(join(path, 'type'), o.type, 'must be object at the root'));
  if (o.properties !== undefined && typeof o.additionalProperties === 'object') {
    errs.push(field.forbidden(join(path, 'additionalProperties'), 'additionalProperties and properties are mutual exclusive'));
  }
  for (const [k, p] of Object.entries(o.properties ?? {})) walkSchema(p, `${path}.properties[${k}]`, errs, false, underLogic);
  if (o.items) walkSchema(o.items, join(path, 'items'), errs, false, underLogic);
  if (o.additionalProperties && typeof o.additionalProperties === 'object') walkSchema(o.additionalProperties, join(path, 'additionalProperties'), errs, false, underLogic);
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) (o[key] ?? []).forEach((sub, i) => walkSchema(sub, `${path}.${key}[${i}]`, errs, false, true));
  if (o.not) walkSchema(o.not, join(path, 'not'), errs, false, true);
  // a default must itself be valid (after pruning, as it would be applied)
  if (o.default !== undefined && o.default !== null && !underLogic) {
    const value = structuredClone(o.default);
    pruneUnknown(value, o, '', false);
    for (const e of validateStructural(value, o, 'default', false)) {
      errs.push(field.invalid(`${path}.${e.field}`, o.default, e.detail ?? e.type));
    }
  }
  const rules = o['x-kubernetes-validations'];
  if (rules !== undefined) {
    if (!Array.isArray(rules)) errs.push(field.invalid(join(path, 'x-kubernetes-validations'), rules, 'must be a list of rules'));
    else
      rules.forEach((r: ValidationRule, i: number) => {
        if (typeof r?.rule !== 'string' || !r.rule) errs.push(field.required(`${path}.x-kubernetes-validations[${i}].rule`));
      });
  }
  if (o['x-kubernetes-list-type'] === 'map' && !o['x-kubernetes-list-map-keys']?.length) {
    errs.push(field.required(join(path, 'x-kubernetes-list-map-keys'), 'must not be empty if x-kubernetes-list-type is map'));
  }
}

/* ---------------------------------------------------------------- JSONPath (printer columns) */

/**
 * The values a printer column's simple JSONPath finds in an object: dotted fields, [n], [*] and
 * one [?(@.key=="value")] filter, as CRDs' additionalPrinterColumns use them.
 */
export function jsonPathValues(obj: unknown, path: string): unknown[] {
  let expr = path.trim();
  if (expr.startsWith('{') && expr.endsWith('}')) expr = expr.slice(1, -1);
  if (expr.startsWith('$')) expr = expr.slice(1);
  const steps: Array<{ key?: string; index?: number; all?: boolean; filter?: { key: string; value: string } }> = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\[\*\]|\[\?\(@\.([^=!<> ]+)\s*==\s*["']?([^"')]*)["']?\)\]/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  re.lastIndex = 0;
  while (at < expr.length && (m = re.exec(expr))) {
    at = re.lastIndex;
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ filter: { key: m[3], value: m[4] } });
    else steps.push({ all: true });
  }
  if (at !== expr.length) return [];
  let cur: unknown[] = [obj];
  for (const st of steps) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (st.key !== undefined) {
        if (isPlainObject(c) && st.key in (c as Obj)) next.push((c as Obj)[st.key]);
      } else if (st.index !== undefined) {
        if (Array.isArray(c) && st.index < c.length) next.push(c[st.index]);
      } else if (st.all) {
        if (Array.isArray(c)) next.push(...c);
        else if (isPlainObject(c)) next.push(...Object.values(c as Obj));
      } else if (st.filter && Array.isArray(c)) {
        for (const item of c) if (isPlainObject(item) && String((item as Obj)[st.filter.key]) === st.filter.value) next.push(item);
      }
    }
    cur = next;
  }
  return cur;
}

function compiles(rule: string): boolean {
  try {
    compileCel(rule);
    return true;
  } catch {
    return false;
  }
}

/**
 * The x-kubernetes-validations rules of a schema that petset's CEL subset cannot evaluate, as
 * warnings for whoever writes the CRD: they are accepted (upstream would run them) but not enforced.
 */
export function unsupportedRules(s: unknown, path: string): string[] {
  const out: string[] = [];
  const walk = (node: unknown, at: string) => {
    if (!isPlainObject(node)) return;
    const o = node as JSONSchemaProps;
    const rules = o['x-kubernetes-validations'];
    if (Array.isArray(rules)) {
      rules.forEach((r: ValidationRule, i: number) => {
        if (typeof r?.rule !== 'string') return;
        try {
          compileCel(r.rule);
        } catch (e) {
          out.push(`${at}.x-kubernetes-validations[${i}].rule: petset does not enforce this rule (${(e as Error).message}): ${r.rule}`);
        }
      });
    }
    for (const [k, p] of Object.entries(o.properties ?? {})) walk(p, `${at}.properties[${k}]`);
    if (o.items) walk(o.items, `${at}.items`);
    if (isPlainObject(o.additionalProperties)) walk(o.additionalProperties, `${at}.additionalProperties`);
  };
  walk(s, path);
  return out;
}
