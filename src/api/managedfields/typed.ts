// Objects walked with their schema, as structured-merge-diff's typed values: which paths an
// object sets, how two objects differ, how an applied configuration merges into a live object,
// and how owned items are taken out again. The schema decides the shape of each node:
//   - struct: declared properties (named fields), possibly also a map for undeclared keys;
//   - map: additionalProperties, every key its own field (`x-kubernetes-map-type: atomic`
//     makes a map or struct one value);
//   - list: `x-kubernetes-list-type` atomic / set / map (`x-kubernetes-list-map-keys`); without
//     it, a patch-strategy `merge` list with a merge key is a map keyed by it, one without a key
//     is a set, and anything else is atomic (as upstream converts its OpenAPI);
//   - scalar, and untyped (free-form: maps granular, lists atomic).
import { deepEqual } from '../object.js';
import { resolveSchema, type Definitions, type Schema } from '../schema.js';
import { FieldSet, fieldElement, indexElement, keyElement, pathString, valueElement, type Path, type PathElement } from './fieldset.js';

export type Obj = Record<string, unknown>;

type Node =
  | { t: 'scalar' }
  | { t: 'untyped' }
  | { t: 'struct'; fields: Record<string, Schema>; rest?: Schema; atomic: boolean; required: string[] }
  | { t: 'map'; elem?: Schema; atomic: boolean }
  | { t: 'list'; rel: 'atomic' | 'set' | 'map'; keys: string[]; elem?: Schema; keyDefaults?: Record<string, unknown> };

/** A schema together with the definitions its references point into. */
export interface Typed {
  schema: Schema | undefined;
  defs: Definitions;
}

/** Raised for input the schema cannot describe; the message carries the path, as upstream's. */
export class SchemaError extends Error {}

const nodes = new WeakMap<Schema, Node>();
const UNTYPED: Node = { t: 'untyped' };

function nodeOf(schema: Schema | undefined, defs: Definitions): Node {
  if (!schema) return UNTYPED;
  const cached = nodes.get(schema);
  if (cached) return cached;
  const node = computeNode(schema, defs);
  nodes.set(schema, node);
  return node;
}

function computeNode(schema: Schema, defs: Definitions): Node {
  const s = resolveSchema(defs, schema);
  if (!s) return UNTYPED;
  if (s.oneOf || s['x-kubernetes-int-or-string']) return { t: 'scalar' };
  if (s.type === 'array') {
    let rel = s['x-kubernetes-list-type'];
    let keys = s['x-kubernetes-list-map-keys'] ?? [];
    if (!rel) {
      const merge = (s['x-kubernetes-patch-strategy'] ?? '').split(',').includes('merge');
      const key = s['x-kubernetes-patch-merge-key'];
      rel = merge ? (key ? 'map' : 'set') : 'atomic';
      if (key) keys = [key];
    }
    let keyDefaults: Record<string, unknown> | undefined;
    if (rel === 'map') {
      const item = resolveSchema(defs, s.items);
      for (const k of keys) {
        const d = item?.properties?.[k] ? resolveSchema(defs, item.properties[k])?.default : undefined;
        if (d !== undefined) (keyDefaults ??= {})[k] = d;
      }
    }
    return { t: 'list', rel, keys, elem: s.items, keyDefaults };
  }
  const atomic = s['x-kubernetes-map-type'] === 'atomic';
  if (s.properties) {
    const rest = s.additionalProperties && typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    return { t: 'struct', fields: s.properties, rest, atomic, required: s.required ?? [] };
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') return { t: 'map', elem: s.additionalProperties, atomic };
  if (s.type === 'object') return UNTYPED;
  if (s.type) return { t: 'scalar' };
  return UNTYPED;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The schema of a struct/map entry, and whether it is a declared (named) field. */
function entrySchema(node: Node, key: string): { schema?: Schema; named: boolean; known: boolean } {
  const named = node.t === 'struct' && Object.hasOwn(node.fields, key);
  return { schema: entrySchemaOf(node, key), named, known: node.t !== 'struct' || named || !!node.rest };
}

/** entrySchema's schema alone (the comparison of every write asks it per field: no object made). */
function entrySchemaOf(node: Node, key: string): Schema | undefined {
  if (node.t === 'struct') return Object.hasOwn(node.fields, key) ? node.fields[key] : node.rest;
  if (node.t === 'map') return node.elem;
  return undefined;
}

/** Each list item's path element, or undefined when they do not identify the items (live data). */
function tryListElements(node: Extract<Node, { t: 'list' }>, list: unknown[]): PathElement[] | undefined {
  try {
    return listElements(node, list, []);
  } catch (e) {
    if (e instanceof SchemaError) return undefined;
    throw e;
  }
}

/** Each list item's path element, with duplicates reported as upstream does. */
function listElements(node: Extract<Node, { t: 'list' }>, list: unknown[], path: Path): PathElement[] {
  const seen = new Set<string>();
  return list.map((item, i) => {
    let pe: PathElement;
    if (node.rel === 'map') {
      if (!isObj(item)) throw new SchemaError(`${pstr(path)}: expected map-like list item, got ${JSON.stringify(item)}`);
      let keyed: Obj = item;
      for (const k of node.keys) {
        if (item[k] !== undefined && (typeof item[k] === 'object' && item[k] !== null)) {
          throw new SchemaError(`${pstr([...path, fieldElement(k)])}: expected a scalar key`);
        }
        // a key field left out takes its schema default (ports: protocol TCP), as upstream keys them
        if (item[k] === undefined && node.keyDefaults?.[k] !== undefined) keyed = { ...keyed, [k]: node.keyDefaults[k] };
      }
      const missing = node.keys.find((k) => keyed[k] === undefined);
      if (missing !== undefined) {
        throw new SchemaError(`${pstr(path)}: element ${i}: associative list with keys has an element that omits key field ${JSON.stringify(missing)} (and doesn't have default value)`);
      }
      pe = keyElement(keyed, node.keys);
    } else if (node.rel === 'set') {
      pe = valueElement(item);
    } else {
      pe = indexElement(i);
    }
    if (node.rel !== 'atomic' && seen.has(pe)) {
      throw new SchemaError(`${pstr(path)}: duplicate entries for key ${pathString([pe])}`);
    }
    seen.add(pe);
    return pe;
  });
}

function pstr(path: Path): string {
  return pathString(path);
}

/* ---------- the fields an object sets ---------- */

/**
 * The set of paths `value` sets (typed.ToFieldSet): scalars and atomic values are members;
 * list items and map entries are members themselves; a named field holding a non-empty
 * object is only a parent. Undeclared fields throw `field not declared in schema`.
 */
export function toFieldSet(value: unknown, typed: Typed, strict = false, exactLists = strict): FieldSet {
  const out = new FieldSet();
  walkSet(value, nodeOf(typed.schema, typed.defs), typed.defs, [], out, strict, exactLists);
  return out;
}

function walkSet(v: unknown, node: Node, defs: Definitions, path: Path, out: FieldSet, strict: boolean, exactLists: boolean): void {
  if (isObj(v) && (node.t === 'struct' || node.t === 'map' || node.t === 'untyped')) {
    if (node.t !== 'untyped' && node.atomic) return void out.insert(path);
    for (const [k, child] of Object.entries(v)) {
      const e = entrySchema(node, k);
      const p = [...path, fieldElement(k)];
      if (!e.known && strict) throw new SchemaError(`${pstr(p)}: field not declared in schema`);
      const childNode = nodeOf(e.schema, defs);
      walkSet(child, childNode, defs, p, out, strict, exactLists);
      if (child === null || (isObj(child) && Object.keys(child).length === 0) || !e.named) out.insert(p);
    }
    return;
  }
  if (Array.isArray(v) && node.t === 'list' && node.rel !== 'atomic') {
    if (v.length === 0) return void out.insert(path);
    const pes = exactLists ? listElements(node, v, path) : tryListElements(node, v);
    if (!pes) return void out.insert(path);
    const elem = nodeOf(node.elem, defs);
    v.forEach((item, i) => {
      const p = [...path, pes[i]];
      if (node.rel === 'map') walkSet(item, elem, defs, p, out, strict, exactLists);
      out.insert(p);
    });
    return;
  }
  out.insert(path);
}

/* ---------- how two objects differ ---------- */

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/**
 * typed.Compare: paths added, changed and removed going from `lhs` to `rhs`. Top-level fields
 * named in `skipTop` (the fields an endpoint resets) are left out.
 */
export function compare(lhs: unknown, rhs: unknown, typed: Typed, skipTop?: ReadonlySet<string>): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(lhs, rhs, nodeOf(typed.schema, typed.defs), typed.defs, [], c, true, skipTop);
  return c;
}

function isEmptyContainer(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
}

// `path` is one array pushed and popped along the walk; sets copy it only where objects differ.
function leaf(l: unknown, r: unknown, path: Path, c: Comparison): void {
  if (l === undefined && r === undefined) return;
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
  else if (!deepEqual(l, r)) c.modified.insert(path);
}

function walkCompare(l: unknown, r: unknown, node: Node, defs: Definitions, path: Path, c: Comparison, root = false, skipTop?: ReadonlySet<string>): void {
  if (l === r && l !== undefined) return;
  // most of an object is unchanged by a write: a plain deep comparison skips it cheaply
  if (!root && typeof l === 'object' && l !== null && typeof r === 'object' && r !== null && deepEqual(l, r)) return;
  const mapLike = node.t === 'struct' || node.t === 'map' || node.t === 'untyped';
  const bothEmpty = isEmptyContainer(l) && isEmptyContainer(r);
  let lpes: PathElement[] | undefined;
  let rpes: PathElement[] | undefined;
  if (mapLike && (isObj(l) || isObj(r)) && !(node.t !== 'untyped' && node.atomic) && !bothEmpty && (l == null || isObj(l)) && (r == null || isObj(r))) {
    const lo = (l ?? EMPTY_OBJ) as Obj;
    const ro = (r ?? EMPTY_OBJ) as Obj;
    // managedFields are bookkeeping about the object, never part of what is compared
    const inMeta = path.length === 1 && path[0] === 'f:metadata';
    const visit = (k: string) => {
      if (skipTop?.has(k) || (inMeta && k === 'managedFields')) return;
      path.push(fieldElement(k));
      walkCompare(lo[k], ro[k], nodeOf(entrySchemaOf(node, k), defs), defs, path, c);
      path.pop();
    };
    for (const k in lo) visit(k);
    for (const k in ro) if (!Object.hasOwn(lo, k)) visit(k);
  } else if (
    node.t === 'list' &&
    node.rel !== 'atomic' &&
    !bothEmpty &&
    (l == null || Array.isArray(l)) &&
    (r == null || Array.isArray(r)) &&
    (lpes = tryListElements(node, (l ?? []) as unknown[])) &&
    (rpes = tryListElements(node, (r ?? []) as unknown[]))
  ) {
    const la = (l ?? []) as unknown[];
    const ra = (r ?? []) as unknown[];
    const lp = lpes;
    const rp = rpes;
    const lm = new Map(lp.map((pe, i) => [pe, la[i]]));
    const rm = new Map(rp.map((pe, i) => [pe, ra[i]]));
    const elem = nodeOf(node.elem, defs);
    const visit = (pe: PathElement) => {
      path.push(pe);
      if (node.rel === 'map') walkCompare(lm.get(pe), rm.get(pe), elem, defs, path, c);
      else leaf(lm.get(pe), rm.get(pe), path, c);
      path.pop();
    };
    for (const pe of lp) visit(pe);
    for (const pe of rp) if (!lm.has(pe)) visit(pe);
  } else {
    if (!root) leaf(l, r, path, c);
    return;
  }
  if (!root) {
    if (l === undefined && r !== undefined) c.added.insert(path);
    else if (r === undefined && l !== undefined) c.removed.insert(path);
  }
}

const EMPTY_OBJ: Obj = Object.freeze({}) as Obj;

/* ---------- the empty object of a type ---------- */

const zeros = new WeakMap<Schema, Obj>();

/**
 * What a Go zero value of the type serializes to: the structs that are not pointers (published
 * with `default: {}`) exist, empty, all the way down. A create is compared with this, so those
 * structs are not recorded as added ("." entries) while pointer structs and maps are.
 * Shared and frozen: read it, never change it.
 */
export function zeroValue(typed: Typed): Obj {
  if (!typed.schema) return {};
  let z = zeros.get(typed.schema);
  if (!z) zeros.set(typed.schema, (z = deepFreeze(zeroOf(nodeOf(typed.schema, typed.defs), typed.defs, 0))));
  return z;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function zeroOf(node: Node, defs: Definitions, depth: number): Obj {
  const out: Obj = {};
  if (node.t !== 'struct' || depth > 12) return out;
  for (const [k, f] of Object.entries(node.fields)) {
    const child = nodeOf(f, defs);
    if (isObj(f.default) && !Object.keys(f.default).length && child.t === 'struct') out[k] = zeroOf(child, defs, depth + 1);
    // a required (non-omitempty) slice, map or pointer is written as null
    else if (node.required.includes(k) && child.t !== 'scalar') out[k] = null;
  }
  return out;
}

/* ---------- merging an applied configuration ---------- */

/**
 * typed.Merge: `config` over `live`. Scalars and atomic values are replaced; struct and map
 * entries merge one by one; keyed and set lists merge item by item, keeping the live order
 * for items the configuration does not name. A null in the configuration removes the field.
 */
export function merge(live: unknown, config: unknown, typed: Typed): unknown {
  return walkMerge(live, config, nodeOf(typed.schema, typed.defs), typed.defs, []);
}

function walkMerge(l: unknown, r: unknown, node: Node, defs: Definitions, path: Path): unknown {
  if (r === undefined) return l;
  if (l === undefined || l === null || r === null) return r;
  if (isObj(l) && isObj(r) && (node.t === 'struct' || node.t === 'map' || node.t === 'untyped') && !(node.t !== 'untyped' && node.atomic)) {
    const out: Obj = { ...l };
    for (const [k, rv] of Object.entries(r)) {
      if (rv === null) {
        delete out[k];
        continue;
      }
      const e = entrySchema(node, k);
      out[k] = walkMerge(l[k], rv, nodeOf(e.schema, defs), defs, [...path, fieldElement(k)]);
    }
    return out;
  }
  if (Array.isArray(l) && Array.isArray(r) && node.t === 'list' && node.rel !== 'atomic' && tryListElements(node, l) && tryListElements(node, r)) {
    return mergeList(l, r, node, defs, path);
  }
  return r;
}

/** The item order rule of structured-merge-diff's merging walker. */
function mergeList(l: unknown[], r: unknown[], node: Extract<Node, { t: 'list' }>, defs: Definitions, path: Path): unknown[] {
  const lp = listElements(node, l, path);
  const rp = listElements(node, r, path);
  const lm = new Map(lp.map((pe, i) => [pe, l[i]]));
  const rm = new Map(rp.map((pe, i) => [pe, r[i]]));
  const elem = nodeOf(node.elem, defs);
  const item = (pe: PathElement) =>
    node.rel === 'map' ? walkMerge(lm.get(pe), rm.get(pe), elem, defs, [...path, pe]) : rm.has(pe) ? rm.get(pe) : lm.get(pe);
  const shared = rp.filter((pe) => lm.has(pe));
  let next = 0;
  const done = new Set<PathElement>();
  const out: unknown[] = [];
  let li = 0;
  let ri = 0;
  while (li < lp.length || ri < rp.length) {
    if (li < lp.length && ri < rp.length) {
      const pe = lp[li];
      if (pe === rp[ri]) {
        done.add(pe);
        out.push(item(pe));
        li++;
        ri++;
        if (shared[next] === pe) next++;
        continue;
      }
      if (rm.has(pe) && next < shared.length && shared[next] !== pe) {
        li++;
        continue;
      }
    }
    if (li < lp.length) {
      const pe = lp[li];
      if (!rm.has(pe)) {
        out.push(item(pe));
        li++;
        continue;
      }
      if (done.has(pe)) {
        li++;
        continue;
      }
    }
    if (ri < rp.length) {
      const pe = rp[ri];
      done.add(pe);
      out.push(item(pe));
      ri++;
      if (shared[next] === pe) next++;
    }
  }
  return out;
}

/* ---------- removing items ---------- */

/** typed.RemoveItems: takes out every member of `set` (with everything below it). */
export function removeItems(value: unknown, set: FieldSet, typed: Typed): unknown {
  return walkRemove(value, set, nodeOf(typed.schema, typed.defs), typed.defs);
}

function walkRemove(v: unknown, set: FieldSet, node: Node, defs: Definitions): unknown {
  if (set.isEmpty()) return v;
  if (isObj(v) && (node.t === 'struct' || node.t === 'map' || node.t === 'untyped')) {
    const out: Obj = {};
    for (const [k, child] of Object.entries(v)) {
      const pe = fieldElement(k);
      if (set.members.has(pe)) continue;
      const sub = set.children.get(pe);
      out[k] = sub ? walkRemove(child, sub, nodeOf(entrySchema(node, k).schema, defs), defs) : child;
    }
    return out;
  }
  if (Array.isArray(v) && node.t === 'list' && node.rel !== 'atomic') {
    const pes = tryListElements(node, v);
    if (!pes) return v;
    const elem = nodeOf(node.elem, defs);
    const out: unknown[] = [];
    v.forEach((item, i) => {
      if (set.members.has(pes[i])) return;
      const sub = set.children.get(pes[i]);
      out.push(sub ? walkRemove(item, sub, elem, defs) : item);
    });
    return out;
  }
  return v;
}

/**
 * EnsureNamedFieldsAreMembers: a declared struct field with owned children counts as owned
 * itself, so that pruning can take out a whole struct its applier no longer sends.
 */
export function ensureNamedFieldsAreMembers(set: FieldSet, typed: Typed): FieldSet {
  return walkEnsure(set, nodeOf(typed.schema, typed.defs), typed.defs);
}

function walkEnsure(set: FieldSet, node: Node, defs: Definitions): FieldSet {
  const out = new FieldSet();
  for (const m of set.members) out.members.add(m);
  for (const [pe, child] of set.children) {
    let childSchema: Schema | undefined;
    if (pe.startsWith('f:')) {
      const name = pe.slice(2);
      const e = entrySchema(node, name);
      if (node.t === 'struct' && e.named) out.members.add(pe);
      childSchema = e.schema;
    } else if (node.t === 'list') {
      childSchema = node.elem;
    }
    const c = walkEnsure(child, nodeOf(childSchema, defs), defs);
    if (!c.isEmpty()) out.children.set(pe, c);
  }
  return out;
}
