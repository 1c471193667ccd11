// Field ownership for every write, as the API server's field manager keeps it in
// metadata.managedFields: Update entries for create / update / patch (the fields a write
// changed), Apply entries for server-side apply (the fields an applier sends), conflicts
// between managers, pruning of fields an applier stopped sending, and the kubectl
// client-side-apply → server-side-apply upgrade. Pure: objects in, objects out.
import { ApiError } from '../errors.js';
import { deepEqual } from '../object.js';
import { FieldSet, pathString, type Path } from './fieldset.js';
import { compare, ensureNamedFieldsAreMembers, merge, removeItems, SchemaError, toFieldSet, zeroValue, type Obj, type Typed } from './typed.js';

export { FieldSet, pathString } from './fieldset.js';
export { compare, merge, removeItems, toFieldSet, SchemaError, type Typed } from './typed.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** Who owns what an object had before its first apply, when nothing recorded it. */
export const BEFORE_FIRST_APPLY = 'before-first-apply';
/** The bucket the oldest Update entries merge into beyond the cap. */
export const ANCIENT_CHANGES = 'ancient-changes';
export const MAX_UPDATE_MANAGERS = 10;
export const FIELD_MANAGER_MAX_LENGTH = 128;

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** The request's part in a write: which kind/version, which subresource, what is not the writer's to own. */
export interface FieldManagerScope {
  typed: Typed;
  /** group/version of the request, recorded in Update entries */
  apiVersion: string;
  /** "ns/name; group/version, Kind=K" style naming for error texts */
  kind: string;
  /** status or scale, recorded in the entry */
  subresource?: string;
  /** fields this endpoint resets (status on the main resource, spec on /status) */
  resetFields?: Path[];
  /** RFC 3339 time of this write */
  now: string;
}

interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
  /** the stored entry and the set decoded from it, written back as they were when nothing changed */
  raw?: ManagedFieldsEntry;
  rawSet?: FieldSet;
}

/** Managers by identity: appliers are one manager whatever version they apply; updaters are one per version. */
type Managed = Map<string, Owner>;

function identity(o: Pick<Owner, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([o.manager, o.operation, o.operation === 'Apply' ? '' : o.apiVersion, o.subresource ?? '']);
}

const STRIP = FieldSet.of([
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => [
    'f:metadata',
    `f:${f}`,
  ]),
]);

/* ---------- manager names ---------- */

/** The manager of a request: its fieldManager parameter, else the User-Agent before the first "/". */
export function managerName(fieldManager: string | undefined | null, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0]) {
    if (!isPrintable(ch)) continue;
    if (Buffer.byteLength(out + ch) > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
  }
  return out;
}

/** ValidateFieldManager's findings for a fieldManager parameter, as field errors. */
export function fieldManagerErrors(fieldManager: string): Array<{ type: string; field: string; value?: unknown; detail: string }> {
  const errs: Array<{ type: string; field: string; value?: unknown; detail: string }> = [];
  if (Buffer.byteLength(fieldManager) > FIELD_MANAGER_MAX_LENGTH) {
    errs.push({ type: 'FieldValueTooLong', field: 'fieldManager', value: fieldManager, detail: `may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes` });
  }
  for (const ch of fieldManager) {
    if (!isPrintable(ch)) {
      const cp = ch.codePointAt(0)!;
      errs.push({
        type: 'FieldValueInvalid',
        field: 'fieldManager',
        value: fieldManager,
        detail: `invalid character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`,
      });
    }
  }
  return errs;
}

function isPrintable(ch: string): boolean {
  return !/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch) && (ch === ' ' || !/\s/.test(ch));
}

/* ---------- decoding and encoding metadata.managedFields ---------- */

/** Decodes entries; throws an Error (upstream's wording) on a malformed one. */
function decodeManaged(entries: unknown): Managed {
  const out: Managed = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((e, i) => {
    if (typeof e !== 'object' || e === null) throw new Error(`invalid managed fields entry ${i}`);
    const entry = e as Partial<ManagedFieldsEntry>;
    if (entry.operation !== 'Apply' && entry.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!entry.apiVersion) throw new Error('apiVersion must not be empty');
    if (!entry.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (entry.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType "${entry.fieldsType}" in managed fields entry ${i}`);
    const owner: Owner = {
      manager: entry.manager ?? '',
      operation: entry.operation,
      apiVersion: entry.apiVersion,
      subresource: entry.subresource || undefined,
      time: entry.time ?? undefined,
      set: FieldSet.fromFieldsV1(entry.fieldsV1 ?? {}),
    };
    owner.raw = entry as ManagedFieldsEntry;
    owner.rawSet = owner.set;
    const id = identity(owner);
    if (out.has(id)) throw new Error(`duplicate manager entry for ${entry.manager}`);
    out.set(id, owner);
  });
  return out;
}

function tryDecode(entries: unknown): Managed | undefined {
  try {
    return decodeManaged(entries);
  } catch {
    return undefined;
  }
}

/** Sorted as upstream writes them: Apply before Update, then by time, manager, version, subresource. */
function encodeManaged(managed: Managed): ManagedFieldsEntry[] {
  const owners = [...managed.values()].filter((o) => !o.set.isEmpty());
  owners.sort((p, q) => {
    if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
    const pt = p.time ? Date.parse(p.time) : 0;
    const qt = q.time ? Date.parse(q.time) : 0;
    if (pt !== qt) return pt - qt;
    if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1;
    return (p.subresource ?? '') < (q.subresource ?? '') ? -1 : (p.subresource ?? '') > (q.subresource ?? '') ? 1 : 0;
  });
  return owners.map((o) => {
    if (o.raw && o.set === o.rawSet && o.time === (o.raw.time ?? undefined)) return o.raw;
    const e: ManagedFieldsEntry = { manager: o.manager, operation: o.operation, apiVersion: o.apiVersion } as ManagedFieldsEntry;
    if (o.time) e.time = o.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = o.raw?.fieldsV1 !== undefined && o.set === o.rawSet ? o.raw.fieldsV1 : o.set.toFieldsV1();
    if (o.subresource) e.subresource = o.subresource;
    return e;
  });
}

function setManagedFields(obj: Obj, managed: Managed): void {
  const meta = (obj.metadata ??= {}) as Obj;
  const entries = encodeManaged(capUpdateManagers(managed));
  if (entries.length) meta.managedFields = entries;
  else delete meta.managedFields;
}

/** `managedFields: []` (or one empty entry) asks the server to forget all ownership. */
function isReset(entries: unknown): boolean {
  if (!Array.isArray(entries)) return false;
  if (entries.length === 0) return true;
  return entries.length === 1 && typeof entries[0] === 'object' && entries[0] !== null && Object.keys(entries[0]).length === 0;
}

/** Beyond MAX_UPDATE_MANAGERS Update entries, the oldest merge into an ancient-changes entry per version. */
function capUpdateManagers(managed: Managed): Managed {
  const updaters = [...managed.entries()].filter(([, o]) => o.operation === 'Update');
  if (updaters.length <= MAX_UPDATE_MANAGERS) return managed;
  updaters.sort(([ia, a], [ib, b]) => {
    const at = a.time ? Math.floor(Date.parse(a.time) / 1000) : 0;
    const bt = b.time ? Math.floor(Date.parse(b.time) / 1000) : 0;
    if (at !== bt) return at - bt;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  const bucketsSeen = new Set<string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > MAX_UPDATE_MANAGERS; i++) {
    const [id, o] = updaters[i];
    const bucket: Owner = { manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: o.apiVersion, set: o.set, time: o.time };
    const bid = identity(bucket);
    const previous = managed.get(bid);
    if (previous && bid !== id) bucket.set = o.set.union(previous.set);
    managed.delete(id);
    managed.set(bid, bucket);
    if (bucketsSeen.has(o.apiVersion)) length--;
    else bucketsSeen.add(o.apiVersion);
  }
  return managed;
}

/* ---------- the ownership updater ---------- */

interface Conflict {
  owner: Owner;
  path: Path;
}

/**
 * Takes what `cmp` changed away from every manager but `self`: fields others owned and this
 * write changed or added are conflicts (refused unless forced), removed fields leave their owners.
 */
function takeOwnership(managed: Managed, self: string, cmp: ReturnType<typeof compare>, force: boolean, changed = cmp.modified.union(cmp.added)): Conflict[] {
  const conflicts: Conflict[] = [];
  const conflictSets = new Map<string, FieldSet>();
  for (const [id, o] of managed) {
    if (id === self || !o.set.overlaps(changed)) continue;
    const c = o.set.intersection(changed);
    if (!c.isEmpty()) {
      conflictSets.set(id, c);
      for (const path of c.paths()) conflicts.push({ owner: o, path });
    }
  }
  if (conflicts.length && !force) return conflicts;
  const removed = cmp.removed.isEmpty() ? undefined : cmp.removed;
  for (const [id, o] of managed) {
    if (id === self) continue;
    const c = conflictSets.get(id);
    let set = c ? o.set.difference(c) : o.set;
    if (removed && set.overlaps(removed)) set = set.difference(removed);
    o.set = set;
  }
  for (const [id, o] of managed) if (o.set.isEmpty()) managed.delete(id);
  return [];
}

const resetCache = new WeakMap<Path[], { set: FieldSet; top?: Set<string> }>();

function resetInfo(scope: FieldManagerScope): { set: FieldSet; top?: Set<string> } {
  const fields = scope.resetFields ?? [];
  let r = resetCache.get(fields);
  if (!r) {
    const top = fields.filter((p) => p.length === 1).map((p) => p[0].slice(2));
    resetCache.set(fields, (r = { set: FieldSet.of(fields), top: top.length ? new Set(top) : undefined }));
  }
  return r;
}

/** Reset fields are top-level fields (status, spec): the comparison skips them. */
function resetTop(scope: FieldManagerScope): Set<string> | undefined {
  return resetInfo(scope).top;
}

function resetSet(scope: FieldManagerScope): FieldSet {
  return resetInfo(scope).set;
}

/** What a create is compared with: the kind's zero value (its non-pointer structs exist, empty). */
function emptyObject(scope: FieldManagerScope, obj: Obj): Obj {
  return { ...zeroValue(scope.typed), apiVersion: obj.apiVersion, kind: obj.kind, metadata: {} };
}

/** Records an Update by `manager` going from `live` to `next` into managed (the set of fields it changed). */
function recordUpdate(scope: FieldManagerScope, managed: Managed, live: Obj, next: Obj, manager: string): void {
  const reset = resetSet(scope);
  const cmp = compare(live, next, scope.typed, resetTop(scope));
  const CURRENT = '\u0000current-operation';
  const touched = cmp.added.union(cmp.modified);
  takeOwnership(managed, CURRENT, cmp, true, touched);
  const changed = touched.difference(STRIP).recursiveDifference(reset);
  if (changed.isEmpty()) return;
  const owner: Owner = { manager, operation: 'Update', apiVersion: scope.apiVersion, subresource: scope.subresource, time: scope.now, set: changed };
  const id = identity(owner);
  const previous = managed.get(id);
  if (previous) owner.set = previous.set.union(changed);
  if (previous && owner.set === previous.set) {
    // the manager wrote fields it already owns (a node agent's status writes): its stored
    // encoding stays, only the time is new
    owner.raw = previous.raw;
    owner.rawSet = previous.rawSet;
  }
  managed.set(id, owner);
}

/**
 * Create, update and patch: sets next.metadata.managedFields. `live` is undefined for a create.
 * Entries the request sends are kept (clients may edit them; `[]` clears them) except on a
 * subresource; an object whose ownership is empty stays untracked until its next apply.
 */
export function updateManagedFields(scope: FieldManagerScope, live: Obj | undefined, next: Obj, manager: string): void {
  const meta = (next.metadata ?? {}) as Obj;
  const liveEntries = live ? (live.metadata as Obj | undefined)?.managedFields : undefined;
  let managed: Managed;
  if (scope.subresource) managed = tryDecode(liveEntries) ?? new Map();
  else if (isReset(meta.managedFields)) managed = new Map();
  else {
    const sent = tryDecode(meta.managedFields);
    managed = sent && sent.size ? sent : (tryDecode(liveEntries) ?? new Map());
  }
  if (managed.size === 0 && live) {
    delete meta.managedFields;
    return;
  }
  recordUpdate(scope, managed, live ?? emptyObject(scope, next), next, manager);
  setManagedFields(next, managed);
}

/* ---------- apply ---------- */

class ApplyConflicts extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super('conflicts');
  }
}

/**
 * Server-side apply of `config` by `manager` onto `live` (undefined: the object is created).
 * Returns the merged object with its managedFields, or throws a 409 with upstream's conflict
 * text and causes, or a 400 for configurations the schema does not describe.
 */
export function applyConfiguration(scope: FieldManagerScope, live: Obj | undefined, appliedConfig: Obj, manager: string, force: boolean, strict = true): Obj {
  // the result shares subtrees with the configuration, and the write pipeline goes on to default
  // and admit it: work on a private copy so the caller's configuration (and any retry) stays as sent
  const config = structuredClone(appliedConfig);
  const cmeta = config.metadata as Obj | undefined;
  if (cmeta && cmeta.managedFields !== undefined && cmeta.managedFields !== null) throw badRequest('metadata.managedFields must be nil');
  let configSet: FieldSet;
  try {
    // strict: fields the schema does not declare are refused (otherwise owned as free-form)
    configSet = toFieldSet(config, scope.typed, strict, true);
  } catch (e) {
    if (e instanceof SchemaError) throw badRequest(`failed to create typed patch object (${scope.kind}): ${e.message}`);
    throw e;
  }
  const current = live ?? {};
  let managed = tryDecode((current.metadata as Obj | undefined)?.managedFields) ?? new Map();
  if (managed.size === 0 && live) recordUpdate(scope, managed, emptyObject(scope, live), live, BEFORE_FIRST_APPLY);

  let result: { obj: Obj; managed: Managed };
  try {
    result = applyOnce(scope, current, config, configSet, cloneManaged(managed), manager, force);
  } catch (e) {
    if (!(e instanceof ApplyConflicts)) throw e;
    // kubectl's own fields from client-side apply become its applied fields without conflict
    const allowed = manager === 'kubectl' && live ? allowedFromLastApplied(scope, live) : undefined;
    if (!allowed) throw conflictError(e.conflicts);
    const remaining = e.conflicts.filter((c) => !allowed.has(c.path));
    if (remaining.length) throw conflictError(remaining);
    result = applyOnce(scope, current, config, configSet, cloneManaged(managed), manager, true);
  }
  managed = result.managed;
  const out = result.obj;
  const changed = !deepEqual(stripMeta(current), stripMeta(out));
  const self = managed.get(identity({ manager, operation: 'Apply', apiVersion: scope.apiVersion, subresource: scope.subresource }));
  if (self && (changed || !live)) self.time = scope.now;
  if (manager === 'kubectl') syncLastApplied(out, config);
  setManagedFields(out, managed);
  return out;
}

function applyOnce(scope: FieldManagerScope, live: Obj, config: Obj, configSet: FieldSet, managed: Managed, manager: string, force: boolean) {
  const reset = resetSet(scope);
  const applied = reset.isEmpty() ? config : (removeItems(config, reset, scope.typed) as Obj);
  // the applier's set keeps metadata.name and friends until stored, so pruning never takes metadata away
  const set = configSet.recursiveDifference(reset);
  let next = merge(live, applied, scope.typed) as Obj;
  const owner: Owner = { manager, operation: 'Apply', apiVersion: scope.apiVersion, subresource: scope.subresource, set };
  const id = identity(owner);
  const previous = managed.get(id);
  if (previous) owner.time = previous.time;
  const lastSet = previous?.set;
  managed.set(id, owner);
  const conflicts = takeOwnership(managed, id, compare(live, next, scope.typed), force);
  if (conflicts.length) throw new ApplyConflicts(conflicts);
  next = prune(scope, next, managed, lastSet);
  takeOwnership(managed, id, compare(live, next, scope.typed), true);
  owner.set = set.difference(STRIP);
  if (owner.set.isEmpty()) managed.delete(id);
  else managed.set(id, owner);
  return { obj: next, managed };
}

/**
 * Removes what the applier applied last time and not this time, unless another manager
 * (or this apply) owns it, as the updater's prune does.
 */
function prune(scope: FieldManagerScope, merged: Obj, managed: Managed, lastSet: FieldSet | undefined): Obj {
  if (!lastSet || lastSet.isEmpty()) return merged;
  const t = scope.typed;
  const ensure = (s: FieldSet) => ensureNamedFieldsAreMembers(s, t);
  const last = ensure(lastSet);
  let owned = new FieldSet();
  for (const o of managed.values()) owned = owned.union(o.set);
  const mergedSet = ensure(toFieldSet(merged, t));
  // every item of the merged object that this applier had and nobody owns now
  const drop = mergedSet.difference(ensure(owned)).intersection(last).difference(STRIP);
  return removeItems(merged, drop, t) as Obj;
}

function cloneManaged(m: Managed): Managed {
  return new Map([...m].map(([id, o]) => [id, { ...o, set: o.set.clone() }]));
}

function stripMeta(o: Obj): Obj {
  const meta = { ...((o.metadata as Obj) ?? {}) };
  delete meta.managedFields;
  delete meta.resourceVersion;
  return { ...o, metadata: meta };
}

/** Fields kubectl's last client-side apply set and the live object still has unchanged. */
function allowedFromLastApplied(scope: FieldManagerScope, live: Obj): FieldSet | undefined {
  const text = ((live.metadata as Obj | undefined)?.annotations as Record<string, string> | undefined)?.[LAST_APPLIED_ANNOTATION];
  if (!text) return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof last !== 'object' || last === null || Array.isArray(last)) return undefined;
  const set = toFieldSet(last, scope.typed);
  const cmp = compare(last, live, scope.typed);
  return set.difference(cmp.modified).difference(cmp.added).difference(cmp.removed);
}

/** kubectl's applies keep a client-side-apply annotation in step with what it applies. */
function syncLastApplied(out: Obj, config: Obj): void {
  const annotations = (out.metadata as Obj | undefined)?.annotations as Record<string, string> | undefined;
  if (!annotations?.[LAST_APPLIED_ANNOTATION]) return;
  const copy = JSON.parse(JSON.stringify(config)) as Obj;
  const ca = (copy.metadata as Obj | undefined)?.annotations as Record<string, string> | undefined;
  if (ca) delete ca[LAST_APPLIED_ANNOTATION];
  // encoded as the apiserver's JSON encoder writes it: sorted keys and a final newline
  annotations[LAST_APPLIED_ANNOTATION] = sortedJson(copy) + '\n';
}

/** Go's encoding of a map sorts its keys. */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson((v as Obj)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/* ---------- errors ---------- */

function printManager(o: Owner): string {
  let s = JSON.stringify(o.manager);
  if (o.subresource) s += ` with subresource ${JSON.stringify(o.subresource)}`;
  if (o.operation === 'Update') s += ` using ${o.apiVersion}`;
  return s;
}

/** 409 with upstream's "Apply failed with N conflict(s)" message and one FieldManagerConflict cause per path. */
function conflictError(conflicts: Conflict[]): ApiError {
  const sorted = [...conflicts].sort((a, b) => (a.owner.manager < b.owner.manager ? -1 : a.owner.manager > b.owner.manager ? 1 : 0));
  let message: string;
  if (sorted.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(sorted[0].owner)}: ${pathString(sorted[0].path)}`;
  } else {
    const byManager = new Map<string, { owner: Owner; paths: Path[] }>();
    for (const c of sorted) {
      const key = identity(c.owner);
      const g = byManager.get(key) ?? { owner: c.owner, paths: [] };
      g.paths.push(c.path);
      byManager.set(key, g);
    }
    const lines: string[] = [];
    for (const key of [...byManager.keys()].sort()) {
      const g = byManager.get(key)!;
      lines.push(`conflicts with ${printManager(g.owner)}:`);
      for (const p of g.paths) lines.push(`- ${pathString(p)}`);
    }
    message = `Apply failed with ${sorted.length} conflicts: ${lines.join('\n')}`;
  }
  // StatusCause's Go field is Type, written as "reason" in JSON
  return new ApiError(409, 'Conflict', message, {
    causes: sorted.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.owner)}`, field: pathString(c.path) })),
  });
}

function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}
