// Start-up never dies on stored data: before anything serves or reconciles, every stored
// object is read once the way the API server will read it. One that cannot be decoded, does
// not belong under its key, or that its kind's validation refuses (or throws on) is moved
// aside into the store's quarantine table, with a log line now and an Event once the API is
// up; everything else starts as usual.
import type { KubeObject } from '../api/object.js';
import { kindApiVersion, type AnyKindDef, type Registry } from '../api/registry.js';
import { resourcePrefix } from '../apiserver/keys.js';
import type { Store } from '../store/store.js';

export interface SetAside {
  key: string;
  revision: number;
  reason: string;
  /** what the key says it holds */
  kind?: AnyKindDef;
  namespace?: string;
  name?: string;
}

/** The reason a stored value cannot be served, or undefined when it is fine (pure). */
export function whyUnservable(kind: AnyKindDef, key: string, value: string): string | undefined {
  let obj: KubeObject;
  try {
    obj = JSON.parse(value);
  } catch (e) {
    return `the stored value is not JSON (${(e as Error).message})`;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return 'the stored value is not a JSON object';
  const meta = obj.metadata as unknown;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return 'the stored object has no metadata';
  const { namespace, name } = placeOf(kind, key);
  if (obj.metadata.name !== name) return `the stored object's metadata.name ${JSON.stringify(obj.metadata.name)} is not its key's ${JSON.stringify(name)}`;
  if (kind.namespaced && obj.metadata.namespace !== namespace) {
    return `the stored object's metadata.namespace ${JSON.stringify(obj.metadata.namespace)} is not its key's ${JSON.stringify(namespace)}`;
  }
  if (obj.kind !== undefined && obj.kind !== kind.kind) return `the stored object's kind ${JSON.stringify(obj.kind)} is not ${kind.kind}`;
  try {
    const errs = kind.validate?.(obj) ?? [];
    if (errs.length) {
      const shown = errs.slice(0, 3).map((e) => `${e.field}: ${e.detail ?? e.type}`);
      return `the stored object fails validation: ${shown.join('; ')}${errs.length > 3 ? ` (and ${errs.length - 3} more)` : ''}`;
    }
  } catch (e) {
    return `validating the stored object failed: ${(e as Error).message}`;
  }
  return undefined;
}

/** The namespace and name a key stands for, under its kind's prefix. */
function placeOf(kind: AnyKindDef, key: string): { namespace?: string; name: string } {
  const rest = key.slice(resourcePrefix(kind).length);
  if (!kind.namespaced) return { name: rest };
  const i = rest.indexOf('/');
  if (i < 0) return { name: '' };
  return { namespace: rest.slice(0, i), name: rest.slice(i + 1) };
}

/** The kind stored under each prefix: the first registered version of a group's resource. */
function kindsByPrefix(registry: Registry): Map<string, AnyKindDef> {
  const out = new Map<string, AnyKindDef>();
  for (const k of registry.kinds) if (!out.has(resourcePrefix(k))) out.set(resourcePrefix(k), k);
  return out;
}

/** Reads every stored object and quarantines the ones that cannot be served. */
export async function quarantineUnservable(store: Store, registry: Registry, log: (line: string) => void): Promise<SetAside[]> {
  const out: SetAside[] = [];
  if (!store.quarantine) return out;
  const prefixes = kindsByPrefix(registry);
  for (const [prefix, kind] of prefixes) {
    const { items } = await store.list(prefix);
    for (const kv of items) {
      const place = placeOf(kind, kv.key);
      // a key one level too deep or too shallow for its kind is not an object of it
      if (!place.name || place.name.includes('/') || (kind.namespaced && !place.namespace)) continue;
      const reason = whyUnservable(kind, kv.key, kv.value);
      if (!reason) continue;
      if (!(await store.quarantine(kv.key, reason))) continue;
      const aside: SetAside = { key: kv.key, revision: kv.modRevision, reason, kind, ...place };
      out.push(aside);
      log(describe(aside));
    }
  }
  return out;
}

export function describe(a: SetAside): string {
  const what = a.kind ? `${a.kind.kind} ${a.namespace ? `${a.namespace}/` : ''}${a.name}` : a.key;
  return `warning: quarantined ${what} (key ${a.key}, resourceVersion ${a.revision}): ${a.reason}. It was moved to the quarantine table of state.db and is not served; everything else starts as usual`;
}

/** The object an Event about a set-aside value points at (the value itself is gone). */
export function involvedObjectOf(a: SetAside): KubeObject {
  return {
    apiVersion: a.kind ? kindApiVersion(a.kind) : 'v1',
    kind: a.kind?.kind ?? 'Unknown',
    metadata: { name: a.name ?? a.key, ...(a.namespace ? { namespace: a.namespace } : {}) },
  } as KubeObject;
}
