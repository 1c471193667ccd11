// Where objects live in the store: upstream kube-apiserver's etcd layout (see
// store/registry-keys.ts). One prefix per resource; namespaced objects nest under their
// namespace so a namespace's objects form one range.
import type { AnyKindDef } from '../api/registry.js';
import { registryPrefix } from '../store/registry-keys.js';

export function resourcePrefix(k: AnyKindDef, namespace?: string): string {
  const base = registryPrefix(k.group, k.plural);
  return k.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function objectKey(k: AnyKindDef, namespace: string | undefined, name: string): string {
  return k.namespaced ? `${resourcePrefix(k)}${namespace}/${name}` : `${resourcePrefix(k)}${name}`;
}
