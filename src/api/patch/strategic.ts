// Strategic merge patch as the API server applies it (apimachinery's
// strategicpatch.StrategicMergeMapPatch). It is a JSON merge patch whose lists follow the
// schema: x-kubernetes-patch-strategy "merge" merges a list of objects by
// x-kubernetes-patch-merge-key and a list of scalars as a set; any other list is replaced.
// On top come the directives kubectl's three-way diff emits: $patch (replace/delete),
// $retainKeys, $setElementOrder/<list> and $deleteFromPrimitiveList/<list>.
// Fields the schema does not describe behave as in a JSON merge patch.
//
// Where the patch brings a value the object lacks, the patch is applied to nothing rather
// than copied verbatim, so directives and nulls never leak into the stored object.
//
// Error classes follow the API server: malformed directives are 400, lists of lists 422,
// and everything else the library reports is passed through unconverted and so reaches
// the client as a 500 with no reason whose message is the library's text. Those texts use
// Go's %v rendering of the offending maps, reproduced by goValue.

import { ApiError, errors } from '../errors.js';
import { clone, isPlainObject } from '../object.js';
import { propertySchema, resolveSchema, type Definitions, type Schema } from '../schema.js';
import { rejectedPatch } from './json.js';

type JsonMap = Record<string, unknown>;

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';

/** What the schema says about one field. */
interface Field {
  name: string;
  schema?: Schema;
  items?: Schema;
  /** "merge", "replace" or "" (retainKeys only matters to the client computing the patch). */
  strategy: string;
  mergeKey: string;
}

const UNKNOWN_FIELD: Field = { name: '', strategy: '', mergeKey: '' };

/** A patch value that leaves the field unset (a `$patch: delete` map for an absent field). */
const ABSENT = Symbol('absent');

/** Applies `patch` to a copy of `original`; neither argument is modified (original is, in place, when the caller owns it). */
export function strategicMergePatch(original: JsonMap, patch: JsonMap | null, schema: Schema | undefined, defs: Definitions, ownsOriginal = false): JsonMap {
  const result = ownsOriginal ? original : clone(original);
  return patch === null ? result : new Merger(defs).map(result, clone(patch), schema);
}

class Merger {
  constructor(private readonly defs: Definitions) {}

  /** Merges `patch` into `original` in place (both are private copies). */
  map(original: JsonMap, patch: JsonMap, schema: Schema | undefined): JsonMap {
    if (Object.hasOwn(patch, PATCH)) {
      const { [PATCH]: directive, ...content } = patch;
      if (directive === 'replace') return this.map({}, content, schema);
      if (directive === 'delete') return {};
      throw unknownPatchType(directive, patch);
    }
    applyRetainKeys(original, patch);
    this.applySetElementOrders(original, patch, schema);
    for (const [patchKey, value] of Object.entries(patch)) {
      const deleting = patchKey.startsWith(DELETE_FROM_PRIMITIVE_LIST);
      const key = deleting ? directiveTarget(patchKey, DELETE_FROM_PRIMITIVE_LIST) : patchKey;
      if (value === null) {
        delete original[key];
        continue;
      }
      const field = this.field(schema, key);
      const current = Object.hasOwn(original, key) ? original[key] : undefined;
      if (Array.isArray(current) && Array.isArray(value)) {
        original[key] = field.strategy === 'merge' || deleting ? this.list(current, value, field, deleting) : this.materialize(value, field);
      } else if (isPlainObject(current) && isPlainObject(value) && field.strategy !== 'replace') {
        original[key] = this.map(current, value, field.schema);
      } else if (!deleting) {
        const v = this.materialize(value, field);
        if (v === ABSENT) delete original[key];
        else original[key] = v;
      }
    }
    return original;
  }

  private field(parent: Schema | undefined, name: string): Field {
    const schema = parent && propertySchema(this.defs, parent, name);
    if (!schema) return { ...UNKNOWN_FIELD, name };
    const strategies = (schema['x-kubernetes-patch-strategy'] ?? '').split(',');
    return {
      name,
      schema,
      items: schema.items && resolveSchema(this.defs, schema.items),
      strategy: strategies.find((st) => st !== '' && st !== 'retainKeys') ?? '',
      mergeKey: schema['x-kubernetes-patch-merge-key'] ?? '',
    };
  }

  /** The value a patch produces where the object has nothing to merge with. */
  private materialize(value: unknown, field: Field): unknown {
    if (isPlainObject(value)) return value[PATCH] === 'delete' ? ABSENT : this.map({}, value, field.schema);
    if (!Array.isArray(value)) return value;
    if (field.strategy === 'merge') return this.list([], value, field, false);
    return value
      .filter((item) => !(isPlainObject(item) && Object.hasOwn(item, PATCH)))
      .map((item) => (isPlainObject(item) ? this.map({}, item, field.items) : this.materialize(item, UNKNOWN_FIELD)));
  }

  /** Merges a list whose field has strategy "merge", or applies a $deleteFromPrimitiveList. */
  private list(current: unknown[], patch: unknown[], field: Field, deleting: boolean): unknown[] {
    if (current.length === 0 && patch.length === 0) return current;
    if (elementKind(current, patch) !== 'map') {
      if (deleting) return current.filter((item) => !patch.includes(item));
      const merged = [...new Set([...current, ...patch])];
      const inPatch = (item: unknown) => patch.includes(item);
      return interleave(merged.filter(inPatch), merged.filter((item) => !inPatch(item)), patch, current, (item) => item);
    }
    if (deleting) throw errors.badRequest('invalid patch format of primitive list');
    const key = field.mergeKey;
    if (!key) throw failure(`cannot merge lists without merge key for ${field.name}`);

    let kept = current as JsonMap[];
    let replace = false;
    const updates: JsonMap[] = [];
    for (const item of patch as JsonMap[]) {
      if (!Object.hasOwn(item, PATCH)) {
        updates.push(item);
        continue;
      }
      switch (item[PATCH]) {
        case 'delete':
          requireMergeKey(item, key);
          kept = kept.filter((existing) => !(Object.hasOwn(existing, key) && existing[key] === item[key]));
          break;
        case 'replace':
          replace = true;
          break;
        case 'merge':
          throw failure('merging lists cannot yet be specified in the patch');
        default:
          throw unknownPatchType(item[PATCH], item);
      }
    }

    const keyOf = (item: unknown) => (item as JsonMap)[key];
    if (replace) {
      const replacement = updates.map((item) => this.map({}, item, field.items));
      replacement.forEach((item) => requireMergeKey(item, key));
      return replacement;
    }
    const merged = [...kept];
    for (const update of updates) {
      requireMergeKey(update, key);
      const at = merged.findIndex((existing) => Object.hasOwn(existing, key) && existing[key] === update[key]);
      if (at >= 0) merged[at] = this.map(merged[at], update, field.items);
      else merged.push(this.map({}, update, field.items));
    }
    merged.forEach((item) => requireMergeKey(item, key));
    const inPatch = (item: JsonMap) => updates.some((update) => update[key] === item[key]);
    return interleave(merged.filter(inPatch), merged.filter((item) => !inPatch(item)), updates, kept, keyOf);
  }

  /**
   * Handles every `$setElementOrder/<list>` of a map before its other keys: the list is
   * merged with the patch's list of the same name (which is then done), and reordered.
   */
  private applySetElementOrders(original: JsonMap, patch: JsonMap, schema: Schema | undefined): void {
    for (const [directive, order] of Object.entries(patch)) {
      if (!directive.startsWith(SET_ELEMENT_ORDER)) continue;
      delete patch[directive];
      if (!Array.isArray(order)) throw failure(badArgType('[]interface {}', order));
      const key = directiveTarget(directive, SET_ELEMENT_ORDER);
      const field = this.field(schema, key);
      const current = listAt(original, key);
      const requested = listAt(patch, key);
      validateOrder(requested ?? [], order, field.mergeKey);
      let merged: unknown[];
      if (current && requested) {
        merged = field.strategy === 'merge' ? this.list(current, requested, field, false) : (this.materialize(requested, field) as unknown[]);
      } else if (requested) merged = this.materialize(requested, field) as unknown[];
      else if (current) merged = current;
      else continue;
      original[key] = reorder(merged, order, current ?? [], field.mergeKey);
      delete patch[key];
    }
  }
}

/** Drops the keys of `original` that the patch's $retainKeys does not list. */
function applyRetainKeys(original: JsonMap, patch: JsonMap): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const retained = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retained)) throw errors.badRequest('invalid patch format of retainKeys');
  for (const [key, value] of Object.entries(patch)) {
    if (value === null || key.startsWith(DELETE_FROM_PRIMITIVE_LIST) || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!retained.includes(key)) throw errors.badRequest('invalid patch format of retainKeys');
  }
  for (const key of Object.keys(original)) if (!retained.includes(key)) delete original[key];
}

/**
 * Orders a merged list as upstream's normalizeElementOrder does: items named by `order`
 * follow it, the others keep their relative order from `serverOrder`, and the two runs are
 * interleaved by their positions in `serverOrder`.
 */
function reorder(merged: unknown[], order: unknown[], serverOrder: unknown[], mergeKey: string): unknown[] {
  if (merged.length === 0) return merged;
  const byKey = merged.every(isPlainObject);
  // Upstream cannot order objects without a merge key (it panics); leave them as merged.
  if (byKey && !mergeKey) return merged;
  if (byKey) [...order, ...merged].forEach((item) => requireMergeKey(item, mergeKey));
  const keyOf = byKey ? (item: unknown) => (item as JsonMap)[mergeKey] : (item: unknown) => item;
  const listed = new Set(order.map(keyOf));
  const isListed = (item: unknown) => listed.has(keyOf(item));
  return interleave(merged.filter(isListed), merged.filter((item) => !isListed(item)), order, serverOrder, keyOf);
}

/**
 * Sorts `fromPatch` by `patchOrder` and `serverOnly` by `serverOrder`, then merges the two
 * runs: a server-only item goes first only while it sits before the next patch item in
 * `serverOrder`; patch items unknown to the server go before the server-only items left.
 */
function interleave(fromPatch: unknown[], serverOnly: unknown[], patchOrder: unknown[], serverOrder: unknown[], keyOf: (item: unknown) => unknown): unknown[] {
  const positions = (list: unknown[]) => {
    const at = new Map<unknown, number>();
    list.forEach((item, i) => at.has(keyOf(item)) || at.set(keyOf(item), i));
    return (item: unknown) => at.get(keyOf(item)) ?? -1;
  };
  const patchPos = positions(patchOrder);
  const serverPos = positions(serverOrder);
  const patched = [...fromPatch].sort((a, b) => patchPos(a) - patchPos(b));
  const server = [...serverOnly].sort((a, b) => serverPos(a) - serverPos(b));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < server.length && j < patched.length) {
    const s = serverPos(server[i]);
    const p = serverPos(patched[j]);
    out.push(s >= 0 && p >= 0 && s < p ? server[i++] : patched[j++]);
  }
  return out.concat(server.slice(i), patched.slice(j));
}

/** The patch's list must be a subsequence of $setElementOrder (deletions and directives aside). */
function validateOrder(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items = mergeKey
    ? patchList.filter((item) => {
        if (!isPlainObject(item)) throw failure(badArgType('map[string]interface {}', item));
        return item[PATCH] !== 'delete';
      })
    : patchList;
  let p = 0;
  let o = 0;
  while (p < items.length && o < order.length) {
    const item = items[p];
    if (isPlainObject(item) && Object.hasOwn(item, PATCH)) {
      p++;
      continue;
    }
    if (sameElement(item, order[o], mergeKey)) p++;
    o++;
  }
  if (p < items.length) {
    throw failure(`the order in patch list:\n${goValue(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goValue(order)}`);
  }
}

function sameElement(a: unknown, b: unknown, mergeKey: string): boolean {
  if (!mergeKey) return a === b;
  requireMergeKey(a, mergeKey);
  requireMergeKey(b, mergeKey);
  return (a as JsonMap)[mergeKey] === (b as JsonMap)[mergeKey];
}

/** "$setElementOrder/containers" -> "containers". */
function directiveTarget(key: string, prefix: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    throw errors.badRequest(prefix === SET_ELEMENT_ORDER ? 'invalid patch format of setElementOrder list' : 'invalid patch format of primitive list');
  }
  return key.slice(slash + 1);
}

function listAt(map: JsonMap, key: string): unknown[] | undefined {
  if (!Object.hasOwn(map, key)) return undefined;
  const v = map[key];
  if (!Array.isArray(v)) throw failure(badArgType('[]interface {}', v));
  return v;
}

/** The common kind of the lists' elements; upstream refuses lists of lists and mixed lists. */
function elementKind(...lists: unknown[][]): string {
  let kind: string | undefined;
  for (const list of lists) {
    for (const item of list) {
      const k = item === null ? 'nil' : Array.isArray(item) ? 'list' : isPlainObject(item) ? 'map' : typeof item;
      if (kind === undefined) {
        if (k === 'list') throw rejectedPatch('lists of lists are not supported');
        kind = k;
      } else if (k !== kind) {
        throw failure(`list element types are not identical: ${goValue(lists)}`);
      }
    }
  }
  return kind ?? 'nil';
}

function requireMergeKey(item: unknown, key: string): asserts item is JsonMap {
  if (!isPlainObject(item)) throw failure(badArgType('map[string]interface {}', item));
  if (!Object.hasOwn(item, key)) throw failure(`map: ${goValue(item)} does not contain declared merge key: ${key}`);
}

function unknownPatchType(directive: unknown, map: JsonMap): ApiError {
  return failure(`unknown patch type: ${goString(directive)} in map: ${goValue(map)}`);
}

function failure(message: string): ApiError {
  return new ApiError(500, '', message);
}

function badArgType(expected: string, actual: unknown): string {
  return `expected a ${expected}, but received a ${goType(actual)}`;
}

/** Go's name for the type a decoded JSON value has in apimachinery (ints are int64). */
function goType(v: unknown): string {
  if (v === null || v === undefined) return '%!s(<nil>)';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

/** Go's %s of a decoded JSON value. */
function goString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || typeof v === 'object') return v === null ? '%!s(<nil>)' : goValue(v);
  return `%!s(${goType(v)}=${String(v)})`;
}

/** Go's %v of a decoded JSON value: map[k:v ...] with sorted keys, [a b] for slices. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const map = v as JsonMap;
    return `map[${Object.keys(map)
      .sort()
      .map((k) => `${k}:${goValue(map[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}
