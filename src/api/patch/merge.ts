// RFC 7386 JSON merge patch: an object patch merges key by key and `null` removes a key;
// any other patch value (arrays included) replaces the target wholesale.

import { clone, isPlainObject } from '../object.js';

/** Applies `patch` to `target` without touching either (or, when the caller owns `target`, to target itself). */
export function mergePatch(target: unknown, patch: unknown, ownsTarget = false): unknown {
  return mergeInto(ownsTarget ? target : clone(target), patch);
}

function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergeInto(Object.hasOwn(out, key) ? out[key] : undefined, value);
  }
  return out;
}
