// Request bodies, from bytes to a value: the media type picks the decoder as upstream's
// content negotiation does (415 for anything else), JSON duplicate keys are found (a warning,
// or an error under fieldValidation=Strict), and nothing that could take the server down gets
// through: nesting deeper than the rest of the server can walk, or YAML whose aliases expand
// to far more than the document's text (the "billion laughs").
import yaml from 'js-yaml';
import { ApiError, errors } from '../api/errors.js';
import { goSyntaxError, PATCH_CONTENT_TYPES } from '../api/patch/index.js';
import { CONTENT } from '../api/request.js';
import { allDefinitions } from '../api/kinds/index.js';
import { isPlainObject } from '../api/object.js';
import { decodeTyped, MAX_OBJECT_DEPTH } from '../api/typed.js';
import { unsharedBodies } from './resource-storage.js';
import { decodeKubernetesProtobuf } from './protobuf.js';

/** What POST and PUT (and DELETE's options) accept, in upstream's order. */
export const BODY_CONTENT_TYPES = [CONTENT.json, CONTENT.yaml, CONTENT.protobuf];

/**
 * Duplicate keys a decoded body had, by the body object: `duplicate field "spec.replicas"`
 * texts for the handler's field validation (JSON), or go-yaml's strict-mode line for YAML.
 */
export const bodyDuplicates = new WeakMap<object, string[]>();

// YAML keeps "<<" merge keys (go-yaml has them) but no timestamps or binary: as
// sigs.k8s.io/yaml, values stay the strings they were written as.
const YAML_SCHEMA = yaml.CORE_SCHEMA.extend({ implicit: [(yaml as unknown as { types: { merge: yaml.Type } }).types.merge] });

/**
 * Decodes a request body. `method` picks the accepted media types: PATCH takes the patch
 * formats (returned as text, except apply's YAML); every other method JSON, YAML or protobuf.
 * The proxy subresource's bodies are someone else's and pass through untouched.
 */
export function decodeRequestBody(raw: Buffer, contentType: string, method: string, path: string): unknown {
  if (path.includes('/proxy')) return legacyDecode(raw, contentType);
  const mediaType = parseMediaType(contentType);
  if (method === 'PATCH') {
    if (mediaType === CONTENT.applyPatch) {
      // apply's handler reads the YAML itself (its duplicate keys are its business); what
      // reaches it has been checked for depth and alias bombs
      const text = raw.toString('utf8');
      decodeYaml(text);
      return text;
    }
    if (mediaType === CONTENT.jsonPatch || mediaType === CONTENT.mergePatch || mediaType === CONTENT.strategicPatch) {
      const text = raw.toString('utf8');
      // the patch code parses the text itself (reporting syntax errors as upstream); refuse what it could not walk
      if (scanJson(text).depth > MAX_OBJECT_DEPTH) throw errors.badRequest(`json: exceeded max depth of ${MAX_OBJECT_DEPTH}`);
      return text;
    }
    throw errors.unsupportedMediaType(PATCH_CONTENT_TYPES);
  }
  const body = decodeByMediaType(raw, mediaType);
  // DELETE's body is DeleteOptions: decoded like any object, so a string grace period is a 400 here
  if (method === 'DELETE' && isPlainObject(body)) {
    const res = decodeTyped(body, DELETE_OPTIONS, allDefinitions, { mutate: true, kindName: 'DeleteOptions' });
    if (res.error) throw errors.badRequest(`DeleteOptions in version "v1" cannot be handled as a DeleteOptions: ${res.error}`);
  }
  return body;
}

const DELETE_OPTIONS = { $ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions' };

function decodeByMediaType(raw: Buffer, mediaType: string): unknown {
  switch (mediaType) {
    case CONTENT.json:
      return decodeJson(raw.toString('utf8'));
    case CONTENT.yaml:
      return decodeYaml(raw.toString('utf8'));
    case CONTENT.protobuf:
      try {
        return decodeKubernetesProtobuf(raw);
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw errors.badRequest(`unable to decode protobuf body: ${(e as Error).message}`);
      }
    default:
      throw errors.unsupportedMediaType(BODY_CONTENT_TYPES);
  }
}

/** An apply configuration's YAML text as a value, with the same depth and alias checks as any YAML body. */
export function decodeApplyText(text: string): unknown {
  return decodeYaml(text);
}

/**
 * The media type of a Content-Type header, lower-cased and without parameters; an empty
 * header means JSON (upstream negotiates the first supported type), a malformed one matches nothing.
 */
export function parseMediaType(contentType: string): string {
  const t = contentType.split(';')[0].trim().toLowerCase();
  if (t === '') return CONTENT.json;
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(t) ? t : '';
}

function decodeJson(text: string): unknown {
  const scan = scanJson(text);
  if (scan.depth > MAX_OBJECT_DEPTH) throw errors.badRequest(`couldn't get version/kind; json parse error: exceeded max depth of ${MAX_OBJECT_DEPTH}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${goSyntaxError(text) ?? (e as Error).message}`);
  }
  if (typeof parsed === 'object' && parsed !== null) {
    // plain JSON values, held by nothing else: storage may use them as they are
    unsharedBodies.add(parsed);
    if (scan.duplicates.length) bodyDuplicates.set(parsed, scan.duplicates.map((p) => `duplicate field "${p}"`));
  }
  return parsed;
}

function decodeYaml(text: string): unknown {
  let value: unknown;
  let duplicate: string | undefined;
  try {
    try {
      value = yaml.load(text, { schema: YAML_SCHEMA });
    } catch (e) {
      const mark = (e as { mark?: { line: number; position: number } }).mark;
      if (!(e instanceof yaml.YAMLException) || !/^duplicated mapping key/.test(e.reason ?? '') || !mark) throw e;
      // go-yaml keeps the last value and reports the duplicate only in strict mode
      const key = /^\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^:\s][^:]*?))\s*:/.exec(text.slice(mark.position));
      duplicate = `yaml: unmarshal errors:\n  line ${mark.line + 1}: key ${JSON.stringify(key ? (key[1] ?? key[2] ?? key[3]) : '')} already set in map`;
      value = yaml.load(text, { schema: YAML_SCHEMA, json: true });
    }
  } catch (e) {
    if (e instanceof RangeError) throw errors.badRequest(`error converting YAML to JSON: yaml: exceeded max depth of ${MAX_OBJECT_DEPTH}`);
    throw errors.badRequest(`error converting YAML to JSON: yaml: ${(e as Error).message}`);
  }
  checkAliasing(value);
  if (typeof value === 'object' && value !== null && duplicate) bodyDuplicates.set(value, [duplicate]);
  return value;
}

/**
 * go-yaml's guard against alias bombs: once a document decodes to more than 1,000 nodes of
 * which more than 100 come from aliases, the share that came from aliases may be at most 99%
 * (falling to 10% for documents of millions of nodes). js-yaml shares an anchored value between
 * its aliases, so the expanded size is counted over the shared graph, never built.
 */
function checkAliasing(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const expanded = new Map<object, number>();
  let unique = 0;
  let tooDeep = false;
  // iterative post-order: a node's expanded size is 1 + its children's
  const stack: Array<{ node: object; children: unknown[]; i: number; sum: number }> = [];
  const enter = (node: object) => {
    unique++;
    stack.push({ node, children: Array.isArray(node) ? node : Object.values(node), i: 0, sum: 1 });
    if (stack.length > MAX_OBJECT_DEPTH) tooDeep = true;
  };
  enter(value);
  let total = 0;
  while (stack.length && !tooDeep) {
    const top = stack[stack.length - 1];
    if (top.i < top.children.length) {
      const c = top.children[top.i++];
      if (c === null || typeof c !== 'object') {
        top.sum++;
        unique++;
      } else {
        const known = expanded.get(c);
        if (known !== undefined) top.sum += known;
        else enter(c);
      }
      continue;
    }
    stack.pop();
    expanded.set(top.node, top.sum);
    if (stack.length) stack[stack.length - 1].sum += top.sum;
    else total = top.sum;
  }
  if (tooDeep) throw errors.badRequest(`error converting YAML to JSON: yaml: exceeded max depth of ${MAX_OBJECT_DEPTH}`);
  const aliased = total - unique;
  if (aliased > 100 && total > 1000 && aliased / total > allowedAliasRatio(total)) {
    throw errors.badRequest('error converting YAML to JSON: yaml: document contains excessive aliasing');
  }
}

function allowedAliasRatio(decoded: number): number {
  if (decoded <= 400_000) return 0.99;
  if (decoded >= 4_000_000) return 0.1;
  return 0.99 - (0.89 * (decoded - 400_000)) / 3_600_000;
}

/**
 * One pass over JSON text: its nesting depth and the paths of duplicate object keys
 * ("spec.replicas", "spec.containers[0].name"). Malformed text is left to JSON.parse.
 */
export function scanJson(text: string): { depth: number; duplicates: string[] } {
  type Frame = { keys?: Set<string>; index: number; key?: string | number; pendingKey?: string };
  const stack: Frame[] = [];
  const duplicates: string[] = [];
  let depth = 0;
  let i = 0;
  const n = text.length;
  const pathOf = (last: string): string => {
    let p = '';
    for (let k = 0; k < stack.length; k++) {
      const key = stack[k].key;
      if (key === undefined) continue;
      p += typeof key === 'number' ? `[${key}]` : p ? `.${key}` : key;
    }
    return p ? `${p}.${last}` : last;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return { depth, duplicates };
        let b = j - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        if ((j - 1 - b) % 2 === 0) break;
        j++;
      }
      const top = stack[stack.length - 1];
      if (top && top.keys && top.pendingKey === undefined) {
        // a string in key position: the next non-space character is ':'
        let k = j + 1;
        while (k < n && (text[k] === ' ' || text[k] === '\n' || text[k] === '\r' || text[k] === '\t')) k++;
        if (text[k] === ':') {
          let key: string;
          try {
            key = JSON.parse(text.slice(i, j + 1));
          } catch {
            key = text.slice(i + 1, j);
          }
          if (top.keys.has(key)) duplicates.push(pathOf(key));
          else top.keys.add(key);
          top.pendingKey = key;
        }
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack[stack.length - 1];
      const key = parent ? (parent.keys ? parent.pendingKey : parent.index) : undefined;
      stack.push(c === 0x7b ? { keys: new Set(), index: 0, key } : { index: 0, key });
      if (stack.length > depth) depth = stack.length;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top) {
        if (top.keys) top.pendingKey = undefined;
        else top.index++;
      }
    }
    i++;
  }
  return { depth, duplicates };
}

/** What the front end did before media types were checked; kept for proxied bodies. */
function legacyDecode(raw: Buffer, contentType: string): unknown {
  const mediaType = parseMediaType(contentType);
  if (mediaType === CONTENT.json) {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      return raw;
    }
  }
  return raw;
}
