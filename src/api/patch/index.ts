// The PATCH verb's three patch formats, picked by Content-Type as the API server does
// (apiserver/pkg/endpoints/handlers/patch.go). Server-side apply (application/apply-patch+yaml)
// is not a patch format in this sense and is handled elsewhere.

import { errors } from '../errors.js';
import { isPlainObject, type KubeObject } from '../object.js';
import type { Definitions, Schema } from '../schema.js';
import { applyJsonPatch, jsonKind } from './json.js';
import { mergePatch } from './merge.js';
import { strategicMergePatch } from './strategic.js';

export { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from './json.js';
export { mergePatch } from './merge.js';
export { strategicMergePatch } from './strategic.js';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

/** What PATCH accepts on built-in kinds, in the order upstream's 415 message lists them. */
export const PATCH_CONTENT_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];

/**
 * Applies a PATCH body to `original` (which is not modified). The body is either the raw
 * request text/bytes (then a malformed one gets encoding/json's error text, as upstream) or
 * an already decoded JSON value; a string always counts as raw text and undefined as an
 * empty body. `schema` describes the kind and only matters to strategic merge patch.
 * The result is not validated or defaulted.
 */
export function applyPatch(
  contentType: string,
  original: KubeObject,
  patchBody: unknown,
  schema: Schema | undefined,
  definitions: Definitions,
  /** `original` is the caller's own copy, to be changed in place (not with JSON patch) */
  ownsOriginal = false,
): KubeObject {
  switch (contentType.split(';')[0].trim()) {
    case MERGE_PATCH: {
      // The merge-patch library reports every undecodable body with this one text.
      const patch = decode(patchBody, () => errors.badRequest('Invalid JSON Patch'));
      if (patch === null) throw errors.badRequest('Invalid JSON Patch');
      const result = mergePatch(original, patch, ownsOriginal);
      if (!isPlainObject(result)) throw undecodableResult(result);
      return result as KubeObject;
    }
    case JSON_PATCH: {
      const operations = decode(patchBody);
      if (operations !== null && !Array.isArray(operations)) {
        throw errors.badRequest(`json: cannot unmarshal ${jsonKind(operations)} into Go value of type jsonpatch.Patch`);
      }
      return applyJsonPatch(original, operations ?? []) as KubeObject;
    }
    case STRATEGIC_MERGE_PATCH: {
      const patch = decode(patchBody);
      if (patch !== null && !isPlainObject(patch)) {
        throw errors.badRequest(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
      }
      return strategicMergePatch(original, patch, schema, definitions, ownsOriginal) as KubeObject;
    }
    default:
      throw errors.unsupportedMediaType(PATCH_CONTENT_TYPES);
  }
}

/** A merge patch that is not an object replaces the whole object, which then fails to decode. */
function undecodableResult(result: unknown) {
  const goal = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';
  return errors.invalid({ group: '', resource: '', kind: '' }, '', [
    {
      type: 'FieldValueInvalid',
      field: 'patch',
      value: JSON.stringify(result),
      detail: `couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonKind(result)} into Go value of type ${goal}`,
    },
  ]);
}

function decode(body: unknown, invalid = (syntaxError: string) => errors.badRequest(syntaxError)): unknown {
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) return body;
  const text = body instanceof Uint8Array ? new TextDecoder().decode(body) : (body ?? '');
  const syntaxError = goSyntaxError(text);
  if (syntaxError !== undefined) throw invalid(syntaxError);
  return JSON.parse(text);
}

class SyntaxStop {
  constructor(readonly message: string) {}
}

/**
 * The text Go's encoding/json gives for the first syntax error in `text` (clients show it
 * verbatim), or undefined for valid JSON.
 */
export function goSyntaxError(text: string): string | undefined {
  let at = 0;

  function fail(context: string): never {
    throw new SyntaxStop(at >= text.length ? 'unexpected end of JSON input' : `invalid character ${quoteChar(text[at])} ${context}`);
  }
  function skipSpace(): void {
    while (at < text.length && ' \t\r\n'.includes(text[at])) at++;
  }
  function digits(context: string): void {
    if (!isDigit(text[at])) fail(context);
    while (isDigit(text[at])) at++;
  }
  function string(): void {
    at++;
    for (;;) {
      if (at >= text.length) fail('');
      const c = text[at];
      if (c === '"') {
        at++;
        return;
      }
      if (c === '\\') {
        at++;
        if (text[at] === 'u') {
          at++;
          for (let k = 0; k < 4; k++, at++) if (!/^[0-9a-fA-F]$/.test(text[at] ?? '')) fail('in \\u hexadecimal character escape');
          continue;
        }
        if (at >= text.length || !'"\\/bfnrt'.includes(text[at])) fail('in string escape code');
      } else if (c < ' ') {
        fail('in string literal');
      }
      at++;
    }
  }
  function number(): void {
    if (text[at] === '-') at++;
    if (text[at] === '0') at++;
    else digits('in numeric literal');
    if (text[at] === '.') {
      at++;
      digits('after decimal point in numeric literal');
    }
    if (text[at] === 'e' || text[at] === 'E') {
      at++;
      if (text[at] === '+' || text[at] === '-') at++;
      digits('in exponent of numeric literal');
    }
  }
  function value(): void {
    skipSpace();
    const c = text[at];
    if (c === '{') {
      at++;
      skipSpace();
      if (text[at] === '}') {
        at++;
        return;
      }
      for (;;) {
        skipSpace();
        if (text[at] !== '"') fail('looking for beginning of object key string');
        string();
        skipSpace();
        if (text[at] !== ':') fail('after object key');
        at++;
        value();
        skipSpace();
        if (text[at] === ',') at++;
        else if (text[at] === '}') return void at++;
        else fail('after object key:value pair');
      }
    }
    if (c === '[') {
      at++;
      skipSpace();
      if (text[at] === ']') {
        at++;
        return;
      }
      for (;;) {
        value();
        skipSpace();
        if (text[at] === ',') at++;
        else if (text[at] === ']') return void at++;
        else fail('after array element');
      }
    }
    if (c === '"') return string();
    if (c === '-' || isDigit(c)) return number();
    const literal = ['true', 'false', 'null'].find((l) => l[0] === c);
    if (!literal) fail('looking for beginning of value');
    for (const expected of literal) {
      if (text[at] !== expected) fail(`in literal ${literal} (expecting ${quoteChar(expected)})`);
      at++;
    }
  }

  try {
    value();
    skipSpace();
    if (at < text.length) fail('after top-level value');
    return undefined;
  } catch (e) {
    if (e instanceof SyntaxStop) return e.message;
    throw e;
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  return `'${JSON.stringify(c).slice(1, -1)}'`;
}
