// ControllerRevisions: the serialized pod template a set had at some point, named by its hash.
// The bytes must come out exactly as upstream's Go encoder writes them, because equality of
// revisions is byte equality and the name is a hash of those bytes.
import type { KubeObject } from '../../api/object.js';
import { clone, isPlainObject } from '../../api/object.js';
import { setControllerRef } from './identity.js';

export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_NAME_PREFIX = 223;

/* ---------- Go's encoding/json, as upstream uses it ---------- */

function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      const short: Record<string, string> = { '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
      out += short[ch] ?? `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd'; // a lone surrogate is not valid UTF-8
    else out += ch;
  }
  return out + '"';
}

/** Map keys sort by their UTF-8 bytes in Go. */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** JSON with every object's keys sorted and Go's string escaping (HTML-safe). */
export function encodeSorted(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(encodeSorted).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort(byUtf8);
  return `{${keys.map((k) => `${goString(k)}:${encodeSorted(o[k])}`).join(',')}}`;
}

/* ---------- the pod template as Go's typed PodTemplateSpec would serialize it ---------- */

// List fields without omitempty: Go writes them even when empty.
const KEEP_EMPTY_LISTS = new Set(['containers', 'nodeSelectorTerms', 'sources']);
// Map-typed fields (omitempty): an empty map is dropped. Other empty objects are structs, kept.
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'nodeSelector',
  'limits',
  'requests',
  'overhead',
  'matchLabels',
  'volumeAttributes',
  'options',
]);
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'];

function dropZeroes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropZeroes);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(v)) {
    if (raw === null || raw === undefined) continue;
    const val = dropZeroes(raw);
    if (Array.isArray(val) && val.length === 0 && !KEEP_EMPTY_LISTS.has(k)) continue;
    if (isPlainObject(val) && Object.keys(val).length === 0 && MAP_FIELDS.has(k)) continue;
    out[k] = val;
  }
  return out;
}

/**
 * The template as upstream would encode it from its typed form: nulls and empty optional
 * lists/maps vanish, `resources: {}` is always present on containers, and the template's
 * metadata always carries `creationTimestamp: null`. Zero scalars cannot be told apart from
 * pointers to zero without the Go types, so they are kept as given.
 */
export function goTemplate(template: unknown): Record<string, any> {
  const t = (dropZeroes(template ?? {}) as Record<string, any>) ?? {};
  const meta: Record<string, any> = {};
  for (const [k, v] of Object.entries(t.metadata ?? {})) {
    if (v === '' || v === 0 || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && !Object.keys(v).length)) continue;
    meta[k] = v;
  }
  meta.creationTimestamp = null;
  const spec: Record<string, any> = { ...t.spec };
  for (const list of CONTAINER_LISTS) {
    if (Array.isArray(spec[list])) spec[list] = spec[list].map((c: any) => ({ resources: {}, ...c }));
  }
  return { ...t, metadata: meta, spec };
}

// Objects from the informer cache are never mutated, so their encodings can be remembered.
const encodings = new WeakMap<object, string>();
const dataByTemplate = new WeakMap<object, string>();

/** The revision's Data: a strategic merge patch replacing the whole pod template. */
export function revisionData(set: KubeObject): string {
  const template = set.spec?.template;
  const cached = isPlainObject(template) ? dataByTemplate.get(template) : undefined;
  if (cached !== undefined) return cached;
  const data = encodeSorted({ spec: { template: { ...goTemplate(template), $patch: 'replace' } } });
  if (isPlainObject(template)) dataByTemplate.set(template, data);
  return data;
}


function encodeCached(v: unknown): string {
  if (!isPlainObject(v)) return encodeSorted(v);
  let out = encodings.get(v);
  if (out === undefined) encodings.set(v, (out = encodeSorted(v)));
  return out;
}

/** The canonical bytes of a stored revision's data, for comparison. */
export function storedData(revision: KubeObject): string {
  return encodeCached(revision.data);
}

/** The pod template a revision restores (what applying its patch to the set would give). */
export function templateOf(revision: KubeObject): Record<string, any> | undefined {
  const t = revision.data?.spec?.template;
  if (!isPlainObject(t)) return undefined;
  const { $patch: _directive, ...template } = clone(t);
  return template;
}

const sharedTemplates = new WeakMap<object, Record<string, any>>();

/** templateOf, remembered per revision: the caller must treat the answer as read-only. */
export function sharedTemplateOf(revision: KubeObject): Record<string, any> | undefined {
  const data = revision.data;
  if (!isPlainObject(data)) return undefined;
  let template = sharedTemplates.get(data);
  if (!template) {
    template = templateOf(revision);
    if (template) sharedTemplates.set(data, template);
  }
  return template;
}

/* ---------- hashing and names ---------- */

/** FNV-1 (multiply, then xor), 32 bits. */
export function fnv1_32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = (Math.imul(h, 0x01000193) ^ b) >>> 0;
  return h;
}

/** Maps each character through the 27-letter alphabet that avoids vowels and look-alikes. */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

export function revisionHash(data: string, collisionCount: number): string {
  return safeEncode(String(fnv1_32(Buffer.from(data + String(collisionCount), 'utf8'))));
}

export function revisionName(setName: string, hash: string): string {
  return `${setName.slice(0, MAX_NAME_PREFIX)}-${hash}`;
}

/* ---------- revision objects ---------- */

export function revisionNumber(revision: KubeObject): number {
  return Number(revision.revision ?? 0);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Ascending by .revision, then creation time, then name. */
export function sortRevisions(revisions: KubeObject[]): KubeObject[] {
  return [...revisions].sort(
    (a, b) =>
      revisionNumber(a) - revisionNumber(b) ||
      compareStrings(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') ||
      compareStrings(a.metadata.name ?? '', b.metadata.name ?? ''),
  );
}

export function nextRevisionNumber(sorted: KubeObject[]): number {
  return sorted.length ? revisionNumber(sorted[sorted.length - 1]) + 1 : 1;
}

/** A new ControllerRevision for the set's current template, as it would be POSTed. */
export function newRevision(set: KubeObject, number: number, collisionCount: number): KubeObject {
  const data = revisionData(set);
  const hash = revisionHash(data, collisionCount);
  const revision: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName(set.metadata.name ?? '', hash),
      namespace: set.metadata.namespace,
      labels: { ...set.spec?.template?.metadata?.labels, [REVISION_HASH_LABEL]: hash },
      ownerReferences: [setControllerRef(set)],
    },
    data: JSON.parse(data),
    revision: number,
  };
  // Re-encoding parsed canonical bytes gives the same bytes: spare the comparisons doing it.
  encodings.set(revision.data, data);
  if (set.metadata.annotations && Object.keys(set.metadata.annotations).length) {
    revision.metadata.annotations = { ...set.metadata.annotations };
  }
  return revision;
}

/** Upstream's EqualRevision: hash labels that both parse as int32 and differ short-circuit; otherwise byte equality. */
export function equalRevision(a: KubeObject, b: KubeObject): boolean {
  const parse = (r: KubeObject): number | undefined => {
    const v = r.metadata.labels?.[REVISION_HASH_LABEL];
    return v !== undefined && /^[+-]?\d+$/.test(v) && Math.abs(Number(v)) <= 2147483647 ? Number(v) >>> 0 : undefined;
  };
  const ha = parse(a);
  const hb = parse(b);
  if (ha !== undefined && hb !== undefined && ha !== hb) return false;
  return storedData(a) === storedData(b);
}

export interface RevisionChoice {
  current: KubeObject;
  update: KubeObject;
  collisionCount: number;
  /** a ControllerRevision to POST (new template) */
  create?: KubeObject;
  /** a ControllerRevision to PUT with a bumped .revision (rollback to an older template) */
  bump?: KubeObject;
}

/**
 * Picks the current and update revisions (upstream's getStatefulSetRevisions).
 * `owned` are the set's revisions; `inNamespace` is every revision in the namespace, used to
 * detect hash collisions with objects the set does not own.
 */
export function chooseRevisions(set: KubeObject, owned: KubeObject[], inNamespace: KubeObject[]): RevisionChoice {
  const sorted = sortRevisions(owned);
  let collisionCount: number = set.status?.collisionCount ?? 0;
  const number = nextRevisionNumber(sorted);
  const candidate = newRevision(set, number, collisionCount);
  const equal = sorted.filter((r) => equalRevision(r, candidate));
  const newest = sorted[sorted.length - 1];
  let choice: Omit<RevisionChoice, 'current'>;

  if (equal.length && equalRevision(newest, equal[equal.length - 1])) {
    choice = { update: newest, collisionCount };
  } else if (equal.length) {
    const bump = { ...clone(equal[equal.length - 1]), revision: number };
    choice = { update: bump, bump, collisionCount };
  } else if (newest && encodeSorted(reencoded(newest)) === storedData(candidate)) {
    // The newest revision only differs in how an older encoder wrote it: not a new template.
    choice = { update: newest, collisionCount };
  } else {
    choice = resolveCollisions(set, number, collisionCount, inNamespace);
  }
  const current = sorted.find((r) => r.metadata.name === set.status?.currentRevision) ?? choice.update;
  return { current, ...choice };
}

function reencoded(revision: KubeObject): unknown {
  const template = templateOf(revision);
  return template ? { spec: { template: { ...goTemplate(template), $patch: 'replace' } } } : revision.data;
}

function resolveCollisions(
  set: KubeObject,
  number: number,
  collisionCount: number,
  inNamespace: KubeObject[],
): Omit<RevisionChoice, 'current'> {
  const byName = new Map(inNamespace.map((r) => [r.metadata.name, r]));
  // Like upstream, a renamed candidate keeps the hash label computed before any collision.
  const candidate = newRevision(set, number, collisionCount);
  for (;;) {
    const existing = byName.get(candidate.metadata.name);
    if (!existing) return { update: candidate, create: candidate, collisionCount };
    if (storedData(existing) === storedData(candidate)) return { update: existing, collisionCount };
    collisionCount++;
    candidate.metadata.name = revisionName(set.metadata.name ?? '', revisionHash(revisionData(set), collisionCount));
  }
}

/**
 * The revisions to delete so that at most `revisionHistoryLimit` non-live ones remain (oldest
 * first). Live: the current and update revisions and any revision a pod is labelled with.
 */
export function revisionsToTruncate(set: KubeObject, owned: KubeObject[], live: Set<string>): KubeObject[] {
  const limit: number = set.spec?.revisionHistoryLimit ?? 10;
  if (limit < 0) return [];
  const history = sortRevisions(owned).filter((r) => !live.has(r.metadata.name ?? ''));
  return history.slice(0, Math.max(0, history.length - limit));
}
