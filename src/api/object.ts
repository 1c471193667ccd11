// The object model shared by every part: plain JSON objects shaped like Kubernetes'.
// No I/O here.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

/** Any Kubernetes object. Kind-specific fields are reached through the index signature. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: any;
  status?: any;
  [key: string]: any;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

/**
 * A deep copy for JSON-shaped data: the value a JSON round trip gives (same keys in the same
 * order, undefined members dropped, -0 as 0), built directly, which is several times cheaper
 * than stringify + parse on every write. Anything a round trip would change in a way the
 * direct copy does not reproduce (toJSON, class instances, non-finite numbers, BigInt, a
 * "__proto__" key, cycles) takes the JSON round trip itself, with its result or error.
 */
export function clone<T>(v: T): T {
  if (v === undefined) return v;
  try {
    return copyJson(v) as T;
  } catch {
    return JSON.parse(JSON.stringify(v)) as T;
  }
}

/** Thrown by copyJson where only a real JSON round trip gives the right answer. */
const NOT_PLAIN = new Error('not plain JSON data');

function copyJson(v: unknown): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw NOT_PLAIN;
      return v === 0 ? 0 : v;
    case 'object': {
      if (v === null) return null;
      const proto = Object.getPrototypeOf(v);
      if (Array.isArray(v)) {
        if (proto !== Array.prototype) throw NOT_PLAIN;
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
        const n = v.length;
        const out = new Array(n);
        for (let i = 0; i < n; i++) {
          const e = v[i];
          // a round trip turns these (and holes) into null inside arrays
          out[i] = e === undefined || typeof e === 'function' || typeof e === 'symbol' ? null : copyJson(e);
        }
        return out;
      }
      if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
      const o = v as Record<string, unknown>;
      if (typeof o.toJSON === 'function') throw NOT_PLAIN;
      const out: Record<string, unknown> = {};
      // for-in gives Object.keys' order; the prototype checked above contributes no enumerable keys
      for (const k in o) {
        const e = o[k];
        if (e === undefined || typeof e === 'function' || typeof e === 'symbol') continue;
        if (k === '__proto__') throw NOT_PLAIN;
        out[k] = copyJson(e);
      }
      return out;
    }
    default:
      // bigint (a round trip throws), or a function/symbol at the top (a round trip fails on undefined)
      throw NOT_PLAIN;
  }
}

/**
 * Makes a JSON-shaped value immutable all the way down, in place, and returns it: an object
 * many readers share (one watch event for every in-process watcher, an informer's cache) is
 * then safe from any one of them, and a reader that writes to it gets a TypeError (modules are
 * strict) instead of silently changing what the others see. An object already frozen is taken
 * as frozen all the way down (this freezes children before their parent), so freezing what
 * shares frozen parts costs only the new parts.
 */
export function deepFreeze<T>(v: T): T {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v) || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) deepFreeze(v[i]);
  } else {
    const o = v as Record<string, unknown>;
    for (const k in o) deepFreeze(o[k]);
  }
  return Object.freeze(v);
}

/** Deep equality for JSON-shaped data (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  // Keys holding undefined count as absent (JSON drops them). No key arrays: this runs on every
  // write (managed fields compare objects level by level), and their garbage showed in profiles.
  let defined = 0;
  for (const k in ao) {
    if (!Object.hasOwn(ao, k)) continue;
    const v = ao[k];
    if (v === undefined) continue;
    if (!Object.hasOwn(bo, k) || !deepEqual(v, bo[k])) return false;
    defined++;
  }
  for (const k in bo) if (Object.hasOwn(bo, k) && bo[k] !== undefined) defined--;
  return defined === 0;
}

export function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 3339 with second precision, as the API server writes timestamps. */
export function timestamp(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** The controller owner reference, if any. */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function isBeingDeleted(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

/** Human age as kubectl prints it (5s, 3m10s, 4h, 2d). */
export function humanAge(from: string | undefined | null, now: number = Date.now()): string {
  if (!from) return '<unknown>';
  const secs = Math.max(0, Math.floor((now - Date.parse(from)) / 1000));
  return humanDuration(secs);
}

/** kubectl's HumanDuration, for seconds. */
export function humanDuration(secs: number): string {
  if (secs < 0) return '<invalid>';
  if (secs < 120) return `${secs}s`;
  const mins = Math.floor(secs / 60);
  if (mins < 10) return secs % 60 === 0 ? `${mins}m` : `${mins}m${secs % 60}s`;
  if (mins < 180) return `${mins}m`;
  const hours = Math.floor(secs / 3600);
  if (hours < 8) return mins % 60 === 0 ? `${hours}h` : `${hours}h${mins % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (days < 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

let stampSecond = -1;
let stamp = '';

/** Now, at the second precision metadata times have: one formatting per second serves every write in it. */
export function currentTimestamp(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stamp = timestamp(new Date(second * 1000));
  }
  return stamp;
}
