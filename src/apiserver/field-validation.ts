// Decoding written objects into their kind's shape (types, ranges, nulls, pruning of unknown
// fields) and fieldValidation=Ignore|Warn|Strict, for every write path: create, update,
// patches of each format, and (through decodeForApply) server-side apply.
import { errors, type ApiError } from '../api/errors.js';
import { isPlainObject, type KubeObject } from '../api/object.js';
import type { AnyKindDef, Registry } from '../api/registry.js';
import { resolveSchema, type Definitions, type Schema } from '../api/schema.js';
import { decodeTyped, goFormat, typedObjects } from '../api/typed.js';
import { decodeKindValue } from '../api/customresources.js';
import { bodyDuplicates, scanJson } from './decode.js';
import { unsharedBodies } from './resource-storage.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** The request's fieldValidation (default Warn, as upstream since 1.27). */
export function fieldValidationMode(query: URLSearchParams): FieldValidation {
  const mode = query.get('fieldValidation') ?? 'Warn';
  if (mode === '' ) return 'Warn';
  if (mode !== 'Ignore' && mode !== 'Strict' && mode !== 'Warn') {
    throw errors.badRequest(`fieldValidation: Unsupported value: "${mode}": supported values: "Ignore", "Strict", "Warn"`);
  }
  return mode;
}

/** `Kind in version "v1" cannot be handled as a Kind: <why>`: upstream's 400 for a body that does not decode. */
export function undecodable(kind: AnyKindDef, why: string): ApiError {
  return errors.badRequest(`${kind.kind} in version "${kind.version}" cannot be handled as a ${kind.kind}: ${why}`);
}

/**
 * A POST or PUT body, decoded into the kind's shape: a type error is a 400 as upstream's
 * decoder gives it; unknown and duplicate fields are dropped, reported as warnings (Warn) or
 * refused (Strict). Returns the object to store (the body itself when it was fine).
 */
export function decodeWriteBody(body: unknown, kind: AnyKindDef, registry: Registry, mode: FieldValidation, warnings: string[] | undefined): unknown {
  if (!isPlainObject(body)) return body;
  const res = decodeKindValue(body, kind, registry.definitions, { mutate: unsharedBodies.has(body) });
  if (res.error) throw undecodable(kind, res.error);
  if (res.unknown.length && process.env.PETSET_DEBUG_PRUNE) console.warn(`petset: ${kind.kind}: dropped unknown fields ${res.unknown.join(', ')}`);
  const problems = [...(bodyDuplicates.get(body) ?? []), ...res.unknown.map((f) => `unknown field "${f}"`)];
  if (problems.length && mode === 'Strict') throw errors.badRequest(`strict decoding error: ${problems.join(', ')}`);
  // one by one: a body with a hundred thousand unknown fields must not overflow the stack as a spread would
  if (problems.length && mode === 'Warn') for (const p of problems) warnings?.push(p);
  const out = res.value as object;
  unsharedBodies.add(out);
  typedObjects.add(out);
  return out;
}

/**
 * The result of a merge, JSON or strategic merge patch, decoded into the kind's shape. Upstream
 * reports what does not decode, and unknown fields under Strict, as an Invalid "patch" field
 * whose value is the patched object (JSON and merge patches) or the patch (strategic merge).
 */
export function decodePatchedObject(
  patched: KubeObject,
  kind: AnyKindDef,
  registry: Registry,
  mode: FieldValidation,
  warnings: Set<string>,
  shown: () => string,
  current?: KubeObject,
  patchText?: unknown,
): KubeObject {
  // not in place: the patched object may share parts with the current one; those parts were
  // decoded when they were stored
  const res = decodeKindValue(patched, kind, registry.definitions, { sharesWith: current });
  if (res.unknown.length && current) {
    // fields stored before unknown ones were dropped are not the patch's doing
    const before = new Set(decodeKindValue(current, kind, registry.definitions).unknown);
    res.unknown = res.unknown.filter((f) => !before.has(f));
  }
  const invalid = (why: string) =>
    errors.invalid({ group: '', resource: '', kind: '' }, '', [{ type: 'FieldValueInvalid', field: 'patch', value: shown(), hasValue: true, detail: why }]);
  if (res.error) throw invalid(res.error);
  if (res.unknown.length && process.env.PETSET_DEBUG_PRUNE) console.warn(`petset: ${kind.kind}: patch dropped unknown fields ${res.unknown.join(', ')}`);
  // a merge or strategic merge patch's own duplicate keys count too (upstream decodes it strictly)
  const duplicates = typeof patchText === 'string' && mode !== 'Ignore' ? scanJson(patchText).duplicates.map((p) => `duplicate field "${p}"`) : [];
  const problems = [...duplicates, ...res.unknown.map((f) => `unknown field "${f}"`)];
  if (problems.length && mode === 'Strict') throw invalid(`strict decoding error: ${problems.join(', ')}`);
  if (mode === 'Warn') for (const p of problems) warnings.add(p);
  const out = res.value as KubeObject;
  typedObjects.add(out);
  return out;
}

/** How a patch shows in those errors: Go's %+v of the decoded patch (strategic merge) or the patched JSON. */
export function patchShown(contentType: string, patchBody: unknown, patched: unknown): () => string {
  return () => {
    if (contentType === 'application/strategic-merge-patch+json') {
      let p = patchBody;
      if (typeof p === 'string') {
        try {
          p = JSON.parse(p);
        } catch {
          return p as string;
        }
      }
      return goFormat(p);
    }
    return JSON.stringify(patched);
  };
}

/**
 * Server-side apply's configuration, decoded like a create body (for the apply path to call
 * before merging): returns the pruned configuration, warnings or a Strict error as for POST.
 */
export function decodeForApply(body: unknown, kind: AnyKindDef, registry: Registry, mode: FieldValidation, warnings: string[] | undefined): unknown {
  return decodeWriteBody(body, kind, registry, mode, warnings);
}

/** Dotted paths of the fields a kind's object has that its schema lacks. */
export function unknownFieldsOf(body: unknown, kind: AnyKindDef, registry: Registry): string[] {
  if (!kind.custom) return checkUnknownFields(body, registry.schema(kind), registry.definitions);
  return decodeKindValue(body, kind, registry.definitions).unknown;
}

/** Dotted paths (upstream style: `spec.foo`, `spec.containers[0].bar`) of fields the schema lacks. */
export function checkUnknownFields(body: unknown, schema: Schema, defs: Definitions): string[] {
  if (!resolveSchema(defs, schema)) return [];
  return decodeTyped(body, schema, defs).unknown;
}
