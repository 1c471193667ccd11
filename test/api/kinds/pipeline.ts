// The API server's write pipeline for one kind, without storage: enough to test a KindDef's
// hooks together the way resource-storage runs them (prepare, defaults, validation).
import { renderFieldError } from '../../../src/api/errors.js';
import { clone, type KubeObject } from '../../../src/api/object.js';
import type { AnyKindDef } from '../../../src/api/registry.js';
import { isDNS1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from '../../../src/api/validation.js';

export interface Outcome {
  obj: KubeObject;
  errors: string[];
}

export function create(kind: AnyKindDef, input: KubeObject): Outcome {
  const obj = clone(input);
  obj.metadata.creationTimestamp ??= '2025-01-01T00:00:00Z';
  if (kind.tracksGeneration) obj.metadata.generation = 1;
  kind.prepareForCreate?.(obj);
  kind.defaults?.(obj);
  const errs = [...validateObjectMeta(obj.metadata, kind.namespaced, kind.nameValidator ?? isDNS1123Subdomain), ...(kind.validate?.(obj) ?? [])];
  return { obj, errors: errs.map(renderFieldError) };
}

/** Like a PUT (or a PUT to /status) of `input` over the stored `current`. */
export function update(kind: AnyKindDef, input: KubeObject, current: KubeObject, subresource?: 'status'): Outcome {
  let obj = clone(input);
  obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
  if (subresource === 'status') {
    const next = clone(current);
    next.status = obj.status;
    next.metadata.labels = obj.metadata.labels;
    next.metadata.annotations = obj.metadata.annotations;
    obj = next;
  } else {
    if (kind.subresources?.status) {
      if (current.status === undefined) delete obj.status;
      else obj.status = clone(current.status);
    }
    kind.prepareForUpdate?.(obj, current);
  }
  kind.defaults?.(obj);
  const errs = [
    ...validateObjectMeta(obj.metadata, kind.namespaced, kind.nameValidator ?? isDNS1123Subdomain),
    ...validateObjectMetaUpdate(obj.metadata, current.metadata),
  ];
  if (subresource === 'status') errs.push(...(kind.validateStatusUpdate?.(obj, current) ?? []));
  else errs.push(...(kind.validate?.(obj) ?? []), ...(kind.validateUpdate?.(obj, current) ?? []));
  return { obj, errors: errs.map(renderFieldError) };
}

/** Creates and insists there were no errors. */
export function created(kind: AnyKindDef, input: KubeObject): KubeObject {
  const { obj, errors } = create(kind, input);
  if (errors.length) throw new Error(`unexpected errors: ${errors.join('; ')}`);
  return obj;
}

/** The table row as column name -> cell. */
export function row(kind: AnyKindDef, obj: KubeObject, now = Date.parse('2025-01-01T00:05:00Z')): Record<string, unknown> {
  const cells = kind.table!.cells(obj, now);
  return Object.fromEntries(kind.table!.columns.map((c, i) => [c.name, cells[i]]));
}
