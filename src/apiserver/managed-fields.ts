// The write pipeline's link to field ownership (src/api/managedfields): the scope of a write
// (schema, version, subresource, the fields that endpoint resets) and the Update entry every
// create, update and patch records.
import { updateManagedFields, type FieldManagerScope } from '../api/managedfields/index.js';
import { currentTimestamp, type KubeObject } from '../api/object.js';
import type { Schema } from '../api/schema.js';
import type { Path } from '../api/managedfields/fieldset.js';
import { kindApiVersion, type AnyKindDef, type Registry } from '../api/registry.js';

// One schema object per kind, so the structured-merge walkers' caches (keyed by schema) hit.
const kindSchemas = new WeakMap<AnyKindDef, Schema>();
const RESET_STATUS: Path[] = [['f:status']];
const RESET_SPEC: Path[] = [['f:spec']];

export function fieldManagerScope(registry: Registry, kind: AnyKindDef, obj: KubeObject | undefined, subresource?: string): FieldManagerScope {
  const apiVersion = kindApiVersion(kind);
  let schema = kindSchemas.get(kind);
  if (!schema) kindSchemas.set(kind, (schema = registry.schema(kind)));
  const meta = obj?.metadata;
  // status writes own status only; everything else owns all but status (when status is a subresource)
  const resetFields = subresource === 'status' ? RESET_SPEC : kind.subresources?.status ? RESET_STATUS : [];
  return {
    typed: { schema, defs: registry.definitions },
    apiVersion,
    kind: `${meta?.namespace ?? ''}/${meta?.name ?? ''}; ${kind.group}/${kind.version}, Kind=${kind.kind}`,
    subresource: subresource === 'status' || subresource === 'scale' || subresource === 'ephemeralcontainers' ? subresource : undefined,
    resetFields,
    now: currentTimestamp(),
  };
}

/** Sets next.metadata.managedFields for an Update by `manager` (live undefined on create). */
export function recordManagedFields(scope: FieldManagerScope, live: KubeObject | undefined, next: KubeObject, manager: string): void {
  updateManagedFields(scope, live as any, next as any, manager);
}

