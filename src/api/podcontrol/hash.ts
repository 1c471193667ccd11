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

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
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
