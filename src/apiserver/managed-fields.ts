// The write pipeline's link to field ownership (src/api/managedfields): the scope of a write
// (schema, version, subresource, the fields that endpoint resets) and the Update entry every
// create, update and patch records.
import { updateManagedFields, type FieldManagerScope } from '../api/managedfields/index.js';
import { timestamp, type KubeObject } from '../api/object.js';
import { kindApiVersion, type AnyKindDef, type Registry } from '../api/registry.js';

export function fieldManagerScope(registry: Registry, kind: AnyKindDef, obj: KubeObject | undefined, subresource?: string): FieldManagerScope {
  const apiVersion = kindApiVersion(kind);
  const meta = obj?.metadata;
  // status writes own status only; everything else owns all but status (when status is a subresource)
  const resetFields = subresource === 'status' ? [['f:spec']] : kind.subresources?.status ? [['f:status']] : [];
  return {
    typed: { schema: registry.schema(kind), defs: registry.definitions },
    apiVersion,
    kind: `${meta?.namespace ?? ''}/${meta?.name ?? ''}; ${kind.group}/${kind.version}, Kind=${kind.kind}`,
    subresource: subresource === 'status' || subresource === 'scale' ? subresource : undefined,
    resetFields,
    now: timestamp(),
  };
}

/** Sets next.metadata.managedFields for an Update by `manager` (live undefined on create). */
export function recordManagedFields(scope: FieldManagerScope, live: KubeObject | undefined, next: KubeObject, manager: string): void {
  updateManagedFields(scope, live as any, next as any, manager);
}
