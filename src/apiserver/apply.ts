// PATCH with application/apply-patch+yaml: server-side apply. The request is checked as
// upstream's patch handler does (PatchOptions, YAML, version, strict decoding), the structured
// merge in src/api/managedfields decides the object and its managedFields, and the ordinary
// write pipeline stores it (creating the object when it does not exist).
import yaml from 'js-yaml';
import { errors, isApiError, type FieldErrorLike } from '../api/errors.js';
import { applyConfiguration, fieldManagerErrors } from '../api/managedfields/index.js';
import { isPlainObject, type KubeObject } from '../api/object.js';
import { kindApiVersion, resourceRef, type AnyKindDef } from '../api/registry.js';
import type { ApiRequest } from '../api/request.js';
import { unknownFieldsOf } from './field-validation.js';
import { fieldManagerScope } from './managed-fields.js';
import type { ResourceStorage, WriteContext } from './resource-storage.js';

export interface ApplyResult {
  object: KubeObject;
  created: boolean;
}

/** PatchOptions checks every PATCH gets before the object is looked up (422 PatchOptions.meta.k8s.io). */
export function validatePatchOptions(query: URLSearchParams, apply: boolean): void {
  const errs: FieldErrorLike[] = [];
  const fieldManager = query.get('fieldManager') ?? '';
  if (!apply && query.has('force')) errs.push({ type: 'FieldValueForbidden', field: 'force', detail: 'may not be specified for non-apply patch' });
  if (apply && !fieldManager) errs.push({ type: 'FieldValueRequired', field: 'fieldManager', detail: 'is required for apply patch' });
  errs.push(...(fieldManagerErrors(fieldManager) as FieldErrorLike[]));
  if (errs.length) throw errors.invalid({ group: 'meta.k8s.io', resource: 'PatchOptions', kind: 'PatchOptions' }, '', errs);
}

/** fieldManager checks of create and update (422 CreateOptions/UpdateOptions.meta.k8s.io). */
export function validateWriteOptions(query: URLSearchParams, optionsKind: 'CreateOptions' | 'UpdateOptions'): void {
  const errs = fieldManagerErrors(query.get('fieldManager') ?? '') as FieldErrorLike[];
  if (errs.length) throw errors.invalid({ group: 'meta.k8s.io', resource: optionsKind, kind: optionsKind }, '', errs);
}

export async function serverSideApply(
  storage: ResourceStorage,
  req: ApiRequest,
  kind: AnyKindDef,
  namespace: string | undefined,
  name: string,
  ctx: WriteContext,
  subresource?: string,
): Promise<ApplyResult> {
  validatePatchOptions(req.query, true);
  const manager = req.query.get('fieldManager')!;
  const force = parseBool(req.query.get('force'));
  const validation = req.query.get('fieldValidation') ?? 'Warn';
  if (!['Ignore', 'Warn', 'Strict'].includes(validation)) {
    throw errors.badRequest(`fieldValidation: Unsupported value: "${validation}": supported values: "Ignore", "Strict", "Warn"`);
  }
  const config = decodeConfig(req.body, validation, ctx);
  const want = kindApiVersion(kind);
  if (config.apiVersion !== want) {
    throw errors.badRequest(`Incorrect version specified in apply patch. Specified patch version: ${config.apiVersion ?? ''}, expected: ${want}`);
  }
  if (config.kind !== kind.kind) {
    throw errors.badRequest(`the kind in the data (${config.kind ?? ''}) does not match the expected kind (${kind.kind})`);
  }
  const meta = (config.metadata ??= {});
  if (!isPlainObject(meta)) throw errors.badRequest('metadata must be an object');
  if (meta.name !== undefined && meta.name !== name) {
    throw errors.badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  }
  if (kind.namespaced && meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  // Strict refuses what the schema does not know (upstream's typed conversion); otherwise it is
  // reported and left to the pipeline as for any other write.
  const strict = validation === 'Strict';
  if (!strict && validation === 'Warn') {
    const unknown = unknownFieldsOf(config, kind, storage.registry);
    ctx.warnings?.push(...unknown.map((f) => `unknown field "${f}"`));
  }
  // error texts name the object as the configuration does (upstream prints the patch object)
  const scope = () => fieldManagerScope(storage.registry, kind, config, subresource);
  const applyCtx: WriteContext = { ...ctx, fieldManager: manager, appliedManagedFields: true };
  const run = (live: KubeObject | undefined) => applyConfiguration(scope(), live as any, config as any, manager, force, strict) as KubeObject;

  const existing = await storage.tryGet(kind, namespace, name);
  if (!existing) {
    if (subresource) throw errors.notFound(resourceRef(kind), name);
    const obj = run(undefined);
    obj.metadata.name = name;
    try {
      const created = await storage.create(kind, namespace, obj, applyCtx);
      return { object: created, created: true };
    } catch (e) {
      // created by someone else meanwhile: apply onto that object instead
      if (!isApiError(e, 'AlreadyExists')) throw e;
    }
  }
  // a resourceVersion in the configuration is a precondition, as in any other write
  const wantRV = meta.resourceVersion;
  const updated = await storage.guaranteedUpdate(
    kind,
    namespace,
    name,
    (current) => {
      if (wantRV && wantRV !== current.metadata.resourceVersion) throw errors.modified(resourceRef(kind), name);
      return run(current);
    },
    applyCtx,
    subresource,
  );
  return { object: updated, created: false };
}

/**
 * The applied configuration: YAML or JSON text (from HTTP) or an already decoded object (from
 * in-process clients). Duplicate keys are an error under Strict and a warning under Warn.
 */
function decodeConfig(body: unknown, validation: string, ctx: WriteContext): KubeObject {
  let value: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
    const duplicate = findDuplicateKey(text);
    if (duplicate) {
      const detail = `line ${duplicate.line}: key ${JSON.stringify(duplicate.key)} already set in map`;
      if (validation === 'Strict') {
        throw errors.badRequest(`error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  ${detail}`);
      }
      if (validation === 'Warn') ctx.warnings?.push(detail);
    }
    try {
      value = yaml.load(text, { schema: yaml.CORE_SCHEMA, json: true });
    } catch (e) {
      throw errors.badRequest(`error converting YAML to JSON: yaml: ${(e as yaml.YAMLException).reason ?? (e as Error).message}`);
    }
  }
  if (!isPlainObject(value)) throw errors.badRequest(`couldn't get version/kind; json parse error: the body of an apply patch must be an object`);
  return value as KubeObject;
}

/** The first key repeated within one mapping, with its 1-based line, or undefined. */
function findDuplicateKey(text: string): { line: number; key: string } | undefined {
  try {
    yaml.load(text, { schema: yaml.CORE_SCHEMA });
    return undefined;
  } catch (e) {
    const err = e as yaml.YAMLException;
    if (err.reason !== 'duplicated mapping key' || !err.mark) return undefined;
    const rest = text.slice(err.mark.position);
    const m = /^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^:\s]+)/.exec(rest);
    let key = m ? m[1] : '';
    if (key.startsWith('"')) key = JSON.parse(key);
    else if (key.startsWith("'")) key = key.slice(1, -1);
    return { line: err.mark.line + 1, key };
  }
}

/** Go's strconv.ParseBool; anything else counts as false, as an unset force does. */
function parseBool(v: string | null): boolean {
  return v !== null && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}
