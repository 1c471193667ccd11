// Where objects live in the store. One prefix per resource; namespaced objects nest
// under their namespace so a namespace's objects form one range.
import type { AnyKindDef } from '../api/registry.js';

export function resourcePrefix(k: AnyKindDef, namespace?: string): string {
  const base = `/registry/${k.group || 'core'}/${k.plural}/`;
  return k.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function objectKey(k: AnyKindDef, namespace: string | undefined, name: string): string {
  return k.namespaced ? `${resourcePrefix(k)}${namespace}/${name}` : `${resourcePrefix(k)}${name}`;
}
