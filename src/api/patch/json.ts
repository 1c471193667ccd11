// RFC 6902 JSON patch, with the leniencies of the library the API server applies it with
// (gopkg.in/evanphx/json-patch.v4), because clients come to depend on them: "replace" of a
// missing object member adds it, negative array indices count from the end, a missing
// "value" means null, and "test" for null passes on a missing member.
//
// The API server answers every failure while applying with the same opaque 422
// (handlers/patch.go wraps the library error in NewGenericServerResponse, which keeps
// only a canned message), so the specific reason travels in `cause` for logs and tests.

import { ApiError, errors } from '../errors.js';
import { clone, deepEqual, isPlainObject } from '../object.js';

export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** The 422 the API server gives for a patch it parsed but could not apply. */
export function rejectedPatch(cause: string): ApiError {
  const err = new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
  err.cause = cause;
  return err;
}

/** Applies the operations to a copy of `doc`. */
export function applyJsonPatch(doc: unknown, operations: unknown[]): unknown {
  if (operations.length > MAX_JSON_PATCH_OPERATIONS) {
    throw errors.requestEntityTooLarge(
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${operations.length}`,
    );
  }
  for (const op of operations) {
    if (op !== null && !isPlainObject(op)) {
      throw errors.badRequest(`json: cannot unmarshal ${jsonKind(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  const result = clone(doc);
  for (const op of operations as Array<Record<string, unknown> | null>) applyOperation(result, op ?? {});
  return result;
}

/** The name encoding/json gives a JSON value's kind in its type errors. */
export function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

type Container = Record<string, unknown> | unknown[];

function applyOperation(doc: unknown, op: Record<string, unknown>): void {
  const kind = typeof op.op === 'string' ? op.op : 'unknown';
  const value = Object.hasOwn(op, 'value') ? clone(op.value) : null;
  switch (kind) {
    case 'add': {
      const path = pathOf(op, 'path', kind);
      insert(locate(doc, path, `add operation does not apply: doc is missing path: "${path}"`), value);
      return;
    }
    case 'remove': {
      const path = pathOf(op, 'path', kind);
      remove(locate(doc, path, `remove operation does not apply: doc is missing path: "${path}"`));
      return;
    }
    case 'replace': {
      const path = pathOf(op, 'path', kind);
      const target = locate(doc, path, `replace operation does not apply: doc is missing path: ${path}`);
      if (Array.isArray(target.parent)) target.parent[existingIndex(target.parent, target.key)] = value;
      else target.parent[target.key] = value;
      return;
    }
    case 'move': {
      const from = pathOf(op, 'from', kind);
      const source = locate(doc, from, `move operation does not apply: doc is missing from path: ${from}`);
      const moved = read(source);
      remove(source);
      const path = pathOf(op, 'path', kind);
      insert(locate(doc, path, `move operation does not apply: doc is missing destination path: ${path}`), moved);
      return;
    }
    case 'copy': {
      const from = pathOf(op, 'from', kind);
      const copied = clone(read(locate(doc, from, `copy operation does not apply: doc is missing from path: ${from}`)));
      const path = pathOf(op, 'path', kind);
      insert(locate(doc, path, `copy operation does not apply: doc is missing destination path: ${path}`), copied);
      return;
    }
    case 'test': {
      const path = pathOf(op, 'path', kind);
      const actual = read(locate(doc, path, `test operation does not apply: is missing path: ${path}`));
      const passed = actual === null ? value === null : Object.hasOwn(op, 'value') && deepEqual(actual, value);
      if (!passed) throw rejectedPatch(`testing value ${path} failed: test failed`);
      return;
    }
    default:
      throw rejectedPatch(`Unexpected kind: ${kind}`);
  }
}

function pathOf(op: Record<string, unknown>, member: 'path' | 'from', kind: string): string {
  const v = op[member];
  if (typeof v !== 'string') throw rejectedPatch(`${kind} operation failed to decode ${member}`);
  return v;
}

interface Location {
  parent: Container;
  key: string;
}

/** Walks to the container holding the pointer's last token; like the library, ignores the text before the first "/". */
function locate(doc: unknown, pointer: string, missing: string): Location {
  const tokens = pointer.split('/').map(unescapeToken);
  if (tokens.length < 2 || !isContainer(doc)) throw rejectedPatch(missing);
  let parent: Container = doc;
  for (const token of tokens.slice(1, -1)) {
    const next = Array.isArray(parent) ? parent[index(token, -parent.length, parent.length - 1) ?? -1] : ownValue(parent, token);
    if (!isContainer(next)) throw rejectedPatch(missing);
    parent = next;
  }
  return { parent, key: tokens[tokens.length - 1] };
}

function unescapeToken(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

function isContainer(v: unknown): v is Container {
  return Array.isArray(v) || isPlainObject(v);
}

function ownValue(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** An integer array index within [min, max], negative ones counted from the end; undefined otherwise. */
function index(token: string, min: number, max: number): number | undefined {
  if (!/^[+-]?\d+$/.test(token)) return undefined;
  const n = Number(token);
  if (n < min || n > max) return undefined;
  return n < 0 ? n + max + 1 : n;
}

function existingIndex(parent: unknown[], key: string): number {
  const n = index(key, -parent.length, parent.length - 1);
  if (n === undefined) throw rejectedPatch(`Unable to access invalid index: ${key}`);
  return n;
}

function read(loc: Location): unknown {
  if (Array.isArray(loc.parent)) return loc.parent[existingIndex(loc.parent, loc.key)] ?? null;
  return ownValue(loc.parent, loc.key) ?? null;
}

function insert({ parent, key }: Location, value: unknown): void {
  if (!Array.isArray(parent)) {
    parent[key] = value;
    return;
  }
  const at = key === '-' ? parent.length : index(key, -parent.length - 1, parent.length);
  if (at === undefined) throw rejectedPatch(`Unable to access invalid index: ${key}`);
  parent.splice(at, 0, value);
}

function remove(loc: Location): void {
  if (Array.isArray(loc.parent)) {
    loc.parent.splice(existingIndex(loc.parent, loc.key), 1);
    return;
  }
  if (!Object.hasOwn(loc.parent, loc.key)) throw rejectedPatch(`Unable to remove nonexistent key: ${loc.key}: missing value`);
  delete loc.parent[loc.key];
}
