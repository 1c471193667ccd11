// controller.ComputeHash: the hash that names a template's ReplicaSet or ControllerRevision.
import { isPlainObject } from '../object.js';

/** FNV-1a, 32 bits. */
function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// A field set to null is the field left out, as in upstream's Go structs: kubectl's rollout
// undo sends the ReplicaSet's template back with `metadata.creationTimestamp: null`, and that
// template must hash as the ReplicaSet's own (or undo makes a new ReplicaSet, not a revision).
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== null && v[k] !== undefined);
    return `{${keys.sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** rand.SafeEncodeString: no vowels, no look-alike characters, so hashes never spell words. */
export function safeEncode(s: string): string {
  return [...s].map((ch) => SAFE_ALPHANUMS[ch.charCodeAt(0) % SAFE_ALPHANUMS.length]).join('');
}

/** controller.ComputeHash: FNV-32a of the template (and the collision count), safe-encoded. */
export function computeHash(template: unknown, collisionCount?: number): string {
  let text = canonical(template ?? {});
  if (collisionCount != null) text += `#${collisionCount}`;
  return safeEncode(String(fnv32a(text)));
}

/** A copy without the fields set to null (see canonical): for comparing templates as upstream's structs compare. */
export function withoutNullFields<T>(v: T): T {
  if (Array.isArray(v)) return v.map(withoutNullFields) as T;
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = withoutNullFields(x);
  return out as T;
}
