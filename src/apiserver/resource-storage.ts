// Generic storage for every kind: the create / update / delete semantics of Kubernetes'
// generic registry store (system metadata, optimistic concurrency, generation, status
// subresource rules, graceful deletion, finalizers, garbage-collection finalizers),
// written once over the revisioned key-value Store.
import { typedObjects } from '../api/typed.js';
import { decodeKindValue } from '../api/customresources.js';
import { randomUUID, randomBytes } from 'node:crypto';
import { ApiError, errors, type FieldErrorLike } from '../api/errors.js';
import { clone, currentTimestamp, deepEqual, deepFreeze, isPlainObject, timestamp, type KubeList, type KubeObject } from '../api/object.js';
import { kindApiVersion, resourceRef, type AnyKindDef, type Registry } from '../api/registry.js';
import { validateObjectMeta, validateObjectMetaUpdate, field, isDNS1123Subdomain } from '../api/validation.js';
import type { UserInfo } from '../api/request.js';
import { CompactedError, ConflictError, FutureRevisionError, KeyExistsError, KeyNotFoundError, NoSpaceError, StoreUnavailableError, type KeyValue, type Store } from '../store/store.js';
import { objectKey, resourcePrefix } from './keys.js';
import { compileSelectors, type CompiledSelectors } from './filter.js';
import { fieldManagerScope, recordManagedFields } from './managed-fields.js';

export interface WriteContext {
  dryRun?: boolean;
  /** the manager of this write (fieldManager parameter, else from the User-Agent) */
  fieldManager?: string;
  /** metadata.managedFields already computed by server-side apply: record no Update entry */
  appliedManagedFields?: boolean;
  /** the subresource named in managedFields when it is not the storage's (scale) */
  managerSubresource?: string;
  user?: UserInfo;
  /** filled with Warning: header texts */
  warnings?: string[];
  /** filled with the request's audit annotations */
  auditAnnotations?: Record<string, string>;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface DeleteResult {
  /** the object: its last state if removed, its marked state if deletion is pending */
  object: KubeObject;
  /** true when the object left the store in this call */
  removed: boolean;
}

/** Admission hooks: checks and mutations that need other objects (namespace lifecycle, IP allocation...). */
export interface Admission {
  create?(kind: AnyKindDef, obj: KubeObject, ctx: WriteContext): Promise<void>;
  update?(kind: AnyKindDef, obj: KubeObject, old: KubeObject, ctx: WriteContext, subresource?: string): Promise<void>;
  /** after an object left the store (release allocated IPs ...) */
  deleted?(kind: AnyKindDef, obj: KubeObject): Promise<void>;
  /** after this hook's create admitted an object that was then not stored (dry run, invalid, already exists) */
  abandoned?(kind: AnyKindDef, obj: KubeObject): Promise<void>;
}

const MAX_UPDATE_RETRIES = 16;

/**
 * How many recently written values stay decoded. A write is read back soon (its watch event at
 * once, the object's next update a little later); a bound keeps the memory small.
 */
const RECENTLY_ENCODED = 2048;

/**
 * The last values written under a bounded number of keys, each kept with its decoded form. A
 * value is only found again by its exact text, so an entry can never stand for other content.
 * A few values are kept per key: writers racing on one object (node status) each encode theirs
 * before the store says which one won.
 */
class DecodedValues {
  private readonly entries = new Map<string, Array<{ value: string; obj: KubeObject }>>();

  constructor(private readonly capacity: number) {}

  remember(key: string, value: string, obj: KubeObject): void {
    const values = (this.entries.get(key) ?? []).filter((e) => e.value !== value);
    this.entries.delete(key);
    values.unshift({ value, obj });
    if (values.length > VALUES_PER_KEY) values.length = VALUES_PER_KEY;
    this.entries.set(key, values);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The decoded form of `value` if it is one recently written under `key`; callers copy it. */
  get(key: string, value: string): KubeObject | undefined {
    const values = this.entries.get(key);
    if (values === undefined) return undefined;
    for (const e of values) if (e.value === value) return e.obj;
    return undefined;
  }
}

/** Values kept per key (see DecodedValues). */
const VALUES_PER_KEY = 4;

/** The manager of writes the server makes itself (bootstrap objects and the like), as upstream names it. */
const SERVER_MANAGER = 'kube-apiserver';

/**
 * etcd's default --max-request-bytes (1.5 MiB): upstream cannot store a bigger object (its
 * protobuf encoding; our JSON is a little larger). Requests up to 3 MiB are read, so patches
 * could otherwise grow one object without bound.
 */
export const MAX_STORED_OBJECT_BYTES = 1.5 * 1024 * 1024;

// Request bodies no one else holds a reference to: create and update take them over.
export { unsharedBodies } from '../api/request.js';
import { unsharedBodies } from '../api/request.js';

/**
 * The current object copied for a status write, whose status, labels and annotations are the
 * request's: those keep their places in key order but are not copied only to be replaced (a
 * pod's status is about half of it, and node agents write it several times per pod).
 */
function copyForStatusWrite(current: KubeObject): KubeObject {
  const next: Record<string, unknown> = {};
  for (const k of Object.keys(current)) {
    if (k === 'status') next.status = undefined;
    else if (k === 'metadata') {
      const meta: Record<string, unknown> = {};
      for (const mk of Object.keys(current.metadata)) meta[mk] = mk === 'labels' || mk === 'annotations' ? undefined : clone((current.metadata as Record<string, unknown>)[mk]);
      next.metadata = meta;
    } else next[k] = clone((current as Record<string, unknown>)[k]);
  }
  return next as KubeObject;
}

export class ResourceStorage {
  admission: Admission[] = [];

  constructor(
    readonly store: Store,
    public registry: Registry,
  ) {}

  /* ---------- encoding ---------- */

  /**
   * The stored form of an object. With the key it is written under, the value is also kept
   * decoded for a while: the watch event, the node graph and the next update of that object
   * then copy it (clone) instead of parsing the text again.
   */
  encode(obj: KubeObject, key?: string): string {
    const rv = obj.metadata.resourceVersion;
    delete obj.metadata.resourceVersion;
    const s = JSON.stringify(obj);
    if (s.length * 3 > MAX_STORED_OBJECT_BYTES && Buffer.byteLength(s) > MAX_STORED_OBJECT_BYTES) {
      if (rv !== undefined) obj.metadata.resourceVersion = rv;
      // upstream passes etcd's "request is too large" on (as a 500); it is the client's request that is too big, so 413
      throw new ApiError(413, 'RequestEntityTooLarge', 'etcdserver: request is too large');
    }
    // clone gives exactly what parsing `s` gives, taken while the object is as `s` shows it;
    // frozen, so that watch events can share its parts (decodeShared)
    if (key !== undefined) this.recentlyEncoded.remember(key, s, deepFreeze(clone(obj)));
    if (rv !== undefined) obj.metadata.resourceVersion = rv;
    return s;
  }

  decode(kv: KeyValue): KubeObject {
    const known = this.recentlyEncoded.get(kv.key, kv.value);
    const obj = (known ? clone(known) : JSON.parse(kv.value)) as KubeObject;
    obj.metadata.resourceVersion = String(kv.modRevision);
    return obj;
  }

  /**
   * The stored object with its resourceVersion, deep-frozen, for readers that never change it
   * (one watch event given to every watcher): a recently written value shares all but its top
   * and metadata with the value kept decoded instead of being copied whole.
   */
  decodeShared(kv: KeyValue): Readonly<KubeObject> {
    return deepFreeze(this.readShared(kv));
  }

  /** decodeShared's object, left unfrozen when it was parsed (then it shares nothing). */
  private readShared(kv: KeyValue): KubeObject {
    const known = this.recentlyEncoded.get(kv.key, kv.value);
    const obj = (known ? { ...known, metadata: { ...known.metadata } } : JSON.parse(kv.value)) as KubeObject;
    obj.metadata.resourceVersion = String(kv.modRevision);
    if (!known) return obj;
    // frozen as known is: its top and metadata are this reader's copies, the rest is shared
    Object.freeze(obj.metadata);
    return Object.freeze(obj);
  }

  /**
   * The stored object for a reader that only looks at it and keeps no more than parts it never
   * changes (the node graph): possibly shared, never to be changed, without resourceVersion.
   */
  decodeReadOnly(kv: KeyValue): Readonly<KubeObject> {
    return this.recentlyEncoded.get(kv.key, kv.value) ?? (JSON.parse(kv.value) as KubeObject);
  }

  private readonly recentlyEncoded = new DecodedValues(RECENTLY_ENCODED);

  /* ---------- reads ---------- */

  async get(kind: AnyKindDef, namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.store.get(objectKey(kind, namespace, name));
    if (!kv) throw errors.notFound(resourceRef(kind), name);
    return servedAs(kind, this.decode(kv));
  }

  async tryGet(kind: AnyKindDef, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const kv = await this.store.get(objectKey(kind, namespace, name));
    return kv ? servedAs(kind, this.decode(kv)) : undefined;
  }

  /**
   * The object for a server-side reader that only looks at it (admission, the Node authorizer):
   * a recently written one shares its parts, frozen, with the value kept from its write instead
   * of being copied whole. Never to be changed (nor kept: it may be frozen or not).
   */
  async tryGetShared(kind: AnyKindDef, namespace: string | undefined, name: string): Promise<Readonly<KubeObject> | undefined> {
    if (kind.custom) return this.tryGet(kind, namespace, name);
    const kv = await this.store.get(objectKey(kind, namespace, name));
    return kv ? this.readShared(kv) : undefined;
  }

  async list(kind: AnyKindDef, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
    const sel = compileSelectors(kind, opts.labelSelector, opts.fieldSelector);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    validateListOptions(opts);
    let startKey: string | undefined;
    let atRevision = 0;
    if (opts.continue) {
      const tok = decodeContinue(opts.continue);
      startKey = tok.start;
      atRevision = tok.rv;
    } else if (limit && opts.resourceVersion && opts.resourceVersion !== '0' && opts.resourceVersionMatch !== 'NotOlderThan') {
      // legacy rule: limit + a specific resourceVersion reads exactly at that version
      atRevision = parseRV(opts.resourceVersion);
    } else if (opts.resourceVersionMatch === 'Exact' && opts.resourceVersion) {
      atRevision = parseRV(opts.resourceVersion);
    }
    if (opts.resourceVersion && opts.resourceVersion !== '0') await this.awaitRevision(parseRV(opts.resourceVersion));

    const prefix = resourcePrefix(kind, namespace);
    const items: KubeObject[] = [];
    let revision: number;
    let more = false;
    let lastKey = '';
    const nameOnly = sel.exactName;
    if (nameOnly !== undefined && !atRevision && (namespace !== undefined || !kind.namespaced)) {
      // metadata.name=X: one key, no scan (kubectl waits and informers on one object use this)
      revision = await this.store.revision();
      const kv = await this.store.get(objectKey(kind, namespace, nameOnly));
      if (kv) {
        const obj = this.decode(kv);
        if (sel.matches(obj)) items.push(obj);
      }
    } else {
      let res;
      try {
        res = await this.store.list(prefix, { startKey, revision: atRevision || undefined });
      } catch (e) {
        if (e instanceof FutureRevisionError) throw tooLargeResourceVersion(e.requested, e.current);
        if (e instanceof CompactedError) {
          if (opts.continue) {
            throw new ApiError(
              410,
              'Expired',
              'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
              undefined,
              { continue: encodeContinue(-1, startKey ?? '') },
            );
          }
          throw errors.gone('The resourceVersion for the provided list is too old.');
        }
        throw e;
      }
      revision = res.revision;
      let i = 0;
      for (; i < res.items.length; i++) {
        const kv = res.items[i];
        if (limit && items.length >= limit) {
          more = true;
          break;
        }
        const obj = this.decode(kv);
        if (!sel.matches(obj)) continue;
        items.push(obj);
        lastKey = kv.key;
      }
      if (more && sel.empty) {
        const remaining = res.items.length - i;
        const out = this.listOf(kind, items, revision);
        out.metadata.continue = encodeContinue(revision, lastKey + '\u0000');
        out.metadata.remainingItemCount = remaining;
        return out;
      }
    }
    const out = this.listOf(kind, items, revision);
    if (more) out.metadata.continue = encodeContinue(revision, lastKey + '\u0000');
    return out;
  }

  /**
   * Waits up to upstream's 3 s (the watch cache's blockTimeout) for the store to reach `want`,
   * then fails with 504 "Too large resource version" (clients retry or relist).
   */
  async awaitRevision(want: number, waitMs = 3000): Promise<void> {
    let current = await this.store.revision();
    if (want <= current) return;
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        w.stop();
        resolve();
      };
      const timer = setTimeout(finish, waitMs);
      timer.unref();
      const w = this.store.watch('', current, {
        onEvents: (events) => {
          if (events[events.length - 1]!.revision >= want) finish();
        },
        onError: finish,
        onCompacted: finish,
      });
    });
    current = await this.store.revision();
    if (want > current) throw tooLargeResourceVersion(want, current);
  }

  listOf(kind: AnyKindDef, items: KubeObject[], revision: number): KubeList {
    if (kind.custom) for (const o of items) servedAs(kind, o);
    return { apiVersion: kindApiVersion(kind), kind: kind.custom?.listKind ?? `${kind.kind}List`, metadata: { resourceVersion: String(revision) }, items };
  }

  /* ---------- create ---------- */

  async create(kind: AnyKindDef, namespace: string | undefined, input: unknown, ctx: WriteContext = {}): Promise<KubeObject> {
    const obj = this.checkBody(kind, input);
    const meta = obj.metadata;
    this.ensureTyped(kind, obj);
    this.fillNamespace(kind, obj, namespace);
    const generatedName = !meta.name && !!meta.generateName;
    if (generatedName) meta.name = meta.generateName + randomSuffix();
    meta.uid = randomUUID();
    meta.creationTimestamp = currentTimestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    delete meta.selfLink;
    if (kind.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    kind.prepareForCreate?.(obj);
    kind.defaults?.(obj);
    normalizeMeta(obj);
    // ownership is recorded before admission, as upstream's handler does: fields admission
    // plugins add (service account, default tolerations) belong to no manager
    if (!ctx.appliedManagedFields) recordManagedFields(fieldManagerScope(this.registry, kind, obj, ctx.managerSubresource), undefined, obj, ctx.fieldManager ?? SERVER_MANAGER);
    // what the admission hooks reserved for the object (a cluster IP) is given back unless it is stored
    const admitted: Admission[] = [];
    let stored = false;
    try {
      for (const a of this.admission) {
        await a.create?.(kind, obj, ctx);
        admitted.push(a);
      }
      const created = await this.createAdmitted(kind, obj, generatedName, ctx);
      stored = !ctx.dryRun;
      return created;
    } finally {
      if (!stored) for (const a of admitted) await a.abandoned?.(kind, obj).catch(() => {});
    }
  }

  private async createAdmitted(kind: AnyKindDef, obj: KubeObject, generatedName: boolean, ctx: WriteContext): Promise<KubeObject> {
    const meta = obj.metadata;
    const errs: FieldErrorLike[] = [...validateObjectMeta(meta, kind.namespaced, kind.nameValidator ?? isDNS1123Subdomain)];
    errs.push(...(kind.validate?.(obj) ?? []), ...(kind.validateCreate?.(obj) ?? []));
    if (errs.length) throw errors.invalid(resourceRef(kind), meta.name ?? meta.generateName ?? '', errs);
    ctx.warnings?.push(...(kind.warnings?.(obj) ?? []));

    const key = objectKey(kind, meta.namespace, meta.name!);
    if (ctx.dryRun) {
      const existing = await this.store.get(key);
      if (existing) throw errors.alreadyExists(resourceRef(kind), meta.name!, !!this.decode(existing).metadata.deletionTimestamp);
      return obj;
    }
    // a generated name that is taken is generated again, a few times, as upstream's API server
    // does since 1.30 (RetryGenerateName): a set of many pods otherwise meets the odd collision
    for (let attempt = 1; generatedName && attempt < GENERATE_NAME_ATTEMPTS; attempt++) {
      try {
        const created = objectKey(kind, meta.namespace, meta.name!);
        const kv = await this.store.create(created, this.encode(obj, created));
        obj.metadata.resourceVersion = String(kv.modRevision);
        return obj;
      } catch (e) {
        if (!(e instanceof KeyExistsError)) throw e;
        meta.name = meta.generateName + randomSuffix();
      }
    }
    try {
      const created = objectKey(kind, meta.namespace, meta.name!);
      const kv = await this.store.create(created, this.encode(obj, created));
      obj.metadata.resourceVersion = String(kv.modRevision);
      return obj;
    } catch (e) {
      if (e instanceof KeyExistsError) {
        const existing = e.existing ?? (await this.store.get(objectKey(kind, meta.namespace, meta.name!)));
        const deleting = existing ? !!this.decode(existing).metadata.deletionTimestamp : false;
        if (generatedName) {
          throw new ApiError(
            409,
            'AlreadyExists',
            `${resourceRef(kind).group ? `${kind.plural}.${kind.group}` : kind.plural} "${meta.name}" already exists, the server was not able to generate a unique name for the object`,
            { name: meta.name, group: kind.group, kind: kind.plural, retryAfterSeconds: 1 },
          );
        }
        throw errors.alreadyExists(resourceRef(kind), meta.name!, deleting);
      }
      throw e;
    }
  }

  /* ---------- update (PUT) and patch ---------- */

  /**
   * Read-modify-write with retries on store conflicts. `mutate` gets a private copy of the
   * current object and returns the desired object (or throws an ApiError); with `readsOnly` it
   * promises to only read the object it gets and to return one sharing nothing with it (PUT,
   * PATCH), and gets the current object itself, saving a copy of it per write.
   */
  async guaranteedUpdate(
    kind: AnyKindDef,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    ctx: WriteContext,
    subresource?: string,
    readsOnly = false,
  ): Promise<KubeObject> {
    const key = objectKey(kind, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) throw errors.notFound(resourceRef(kind), name);
      // A status write builds its result from a copy of the current object (prepareUpdate), so
      // when mutate only reads too, the current object itself is only read: it is the shared one.
      // Elsewhere parts of it go into the result (the status of a main-resource write).
      const current = readsOnly && subresource === 'status' && !kind.custom ? this.readShared(kv) : this.decode(kv);
      const desired = await mutate(readsOnly ? current : clone(current));
      const next = await this.prepareUpdate(kind, desired, current, ctx, subresource);
      // a no-op keeps the resourceVersion and emits nothing
      if (deepEqual(next, current)) return Object.isFrozen(current) ? clone(current) : current;
      if (ctx.dryRun) {
        next.metadata.resourceVersion = current.metadata.resourceVersion;
        return next;
      }
      try {
        if (shouldDeleteDuringUpdate(next)) {
          const gone = await this.store.delete(key, kv.modRevision);
          for (const a of this.admission) await a.deleted?.(kind, next);
          next.metadata.resourceVersion = String(gone.modRevision);
          return next;
        }
        const value = this.encode(next, key);
        const decoded = this.recentlyEncoded.get(key, value);
        const written = await this.store.update(key, value, kv.modRevision);
        // the value that won goes first again: racing writers' losing values (node status) no longer push it out
        if (decoded) this.recentlyEncoded.remember(key, value, decoded);
        next.metadata.resourceVersion = String(written.modRevision);
        return next;
      } catch (e) {
        if ((e instanceof ConflictError || e instanceof KeyNotFoundError) && attempt < MAX_UPDATE_RETRIES) continue;
        if (e instanceof KeyNotFoundError) throw errors.notFound(resourceRef(kind), name);
        throw e;
      }
    }
  }

  /** PUT: replace the object, with the resourceVersion in the body as precondition. */
  async update(
    kind: AnyKindDef,
    namespace: string | undefined,
    name: string,
    input: unknown,
    ctx: WriteContext = {},
    subresource?: string,
  ): Promise<KubeObject> {
    const obj = this.checkBody(kind, input);
    this.fillNamespace(kind, obj, namespace);
    if (obj.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`);
    }
    const wantRV = obj.metadata.resourceVersion;
    if (!wantRV && kind.allowUnconditionalUpdate === false) {
      throw errors.invalid({ group: kind.group, resource: kind.plural, kind: kind.plural }, name, [
        field.invalid('metadata.resourceVersion', 0, 'must be specified for an update'),
      ]);
    }
    return this.guaranteedUpdate(
      kind,
      namespace,
      name,
      (current) => {
        if (wantRV && wantRV !== current.metadata.resourceVersion) throw errors.modified(resourceRef(kind), name);
        const next = clone(obj);
        if (typedObjects.has(obj)) typedObjects.add(next);
        next.metadata.resourceVersion = current.metadata.resourceVersion;
        return next;
      },
      ctx,
      subresource,
      true,
    );
  }

  /**
   * The server's half of every write to an existing object: system fields are kept,
   * status/spec are separated by subresource, defaults, generation and validation.
   */
  private async prepareUpdate(
    kind: AnyKindDef,
    input: KubeObject,
    current: KubeObject,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<KubeObject> {
    let obj = input;
    if (!isPlainObject(obj) || !isPlainObject(obj.metadata)) throw errors.badRequest('the object has no metadata');
    // what the request says about managedFields (`[]` resets them), before empty lists are dropped
    const sentManagedFields = obj.metadata.managedFields;
    obj.apiVersion = kindApiVersion(kind);
    obj.kind = kind.kind;
    this.ensureTyped(kind, obj);
    const m = obj.metadata;
    const cm = current.metadata;
    if (m.name !== cm.name) {
      throw errors.badRequest(`the name of the object (${m.name ?? ''}) does not match the name on the URL (${cm.name})`);
    }
    if (!m.uid) m.uid = cm.uid;
    m.namespace = cm.namespace;
    if (!kind.namespaced) delete m.namespace;
    m.creationTimestamp = cm.creationTimestamp;
    setOrDelete(m, 'deletionTimestamp', cm.deletionTimestamp);
    setOrDelete(m, 'deletionGracePeriodSeconds', cm.deletionGracePeriodSeconds);
    setOrDelete(m, 'generation', cm.generation);
    delete m.selfLink;

    if (subresource === 'status') {
      // the status subresource changes status (and labels/annotations); never spec or owners
      const next = copyForStatusWrite(current);
      next.status = obj.status;
      next.metadata.labels = m.labels;
      next.metadata.annotations = m.annotations;
      setOrDelete(next.metadata, 'managedFields', m.managedFields);
      if (!next.metadata.labels) delete next.metadata.labels;
      if (!next.metadata.annotations) delete next.metadata.annotations;
      kind.prepareForStatusUpdate?.(next, current, ctx.managerSubresource ?? 'status');
      obj = next;
    } else if (subresource === 'ephemeralcontainers') {
      // the subresource changes spec.ephemeralContainers and nothing else (upstream's ephemeralContainersStrategy)
      const next = clone(current);
      next.spec ??= {};
      setOrDelete(next.spec, 'ephemeralContainers', isPlainObject(obj.spec) ? obj.spec.ephemeralContainers : undefined);
      setOrDelete(next.metadata, 'managedFields', m.managedFields);
      obj = next;
    } else if (kind.subresources?.status) {
      setOrDelete(obj, 'status', current.status);
      kind.prepareForUpdate?.(obj, current);
    } else {
      kind.prepareForUpdate?.(obj, current);
    }
    kind.defaults?.(obj);
    normalizeMeta(obj);
    if (kind.tracksGeneration && subresource !== 'status' && !deepEqual(obj.spec, current.spec)) {
      obj.metadata.generation = (cm.generation ?? 0) + 1;
    }
    if (!ctx.appliedManagedFields) {
      if (sentManagedFields !== undefined) obj.metadata.managedFields = sentManagedFields as unknown[];
      const scope = fieldManagerScope(this.registry, kind, obj, subresource ?? ctx.managerSubresource);
      recordManagedFields(scope, current, obj, ctx.fieldManager ?? SERVER_MANAGER);
    }
    for (const a of this.admission) await a.update?.(kind, obj, current, ctx, subresource);

    const errs: FieldErrorLike[] = [
      ...validateObjectMeta(obj.metadata, kind.namespaced, kind.nameValidator ?? isDNS1123Subdomain),
      ...validateObjectMetaUpdate(obj.metadata, cm),
    ];
    if (cm.deletionTimestamp) {
      const added = (obj.metadata.finalizers ?? []).filter((f) => !(cm.finalizers ?? []).includes(f));
      if (added.length) {
        errs.push(
          field.forbidden(
            'metadata.finalizers',
            `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
          ),
        );
      }
    }
    if (subresource === 'status') errs.push(...(kind.validateStatusUpdate?.(obj, current) ?? []));
    else if (subresource === 'ephemeralcontainers') errs.push(...(kind.validateEphemeralContainersUpdate?.(obj, current) ?? []));
    else {
      errs.push(...(kind.validate?.(obj) ?? []));
      errs.push(...(kind.validateUpdate?.(obj, current) ?? []));
    }
    if (errs.length) throw errors.invalid(resourceRef(kind), cm.name!, errs);
    if (subresource !== 'status') ctx.warnings?.push(...(kind.warnings?.(obj) ?? []));
    obj.metadata.resourceVersion = current.metadata.resourceVersion;
    return obj;
  }

  /**
   * A server-internal read-modify-write that bypasses the update pipeline (used for state
   * only the server may set, such as a namespace's deletion marks). An object marked for
   * deletion with no finalizers left (metadata or, for namespaces, spec) is removed.
   */
  async rawUpdate(
    kind: AnyKindDef,
    namespace: string | undefined,
    name: string,
    ctx: WriteContext,
    mutate: (current: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    const key = objectKey(kind, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) throw errors.notFound(resourceRef(kind), name);
      const current = this.decode(kv);
      const next = mutate(clone(current));
      if (deepEqual(next, current) || ctx.dryRun) return next;
      try {
        if (shouldDeleteDuringUpdate(next)) {
          const gone = await this.store.delete(key, kv.modRevision);
          next.metadata.resourceVersion = String(gone.modRevision);
          for (const a of this.admission) await a.deleted?.(kind, next);
          return next;
        }
        const w = await this.store.update(key, this.encode(next, key), kv.modRevision);
        next.metadata.resourceVersion = String(w.modRevision);
        return next;
      } catch (e) {
        if (e instanceof ConflictError && attempt < MAX_UPDATE_RETRIES) continue;
        throw e;
      }
    }
  }

  /* ---------- delete ---------- */

  async delete(
    kind: AnyKindDef,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
    ctx: WriteContext = {},
  ): Promise<DeleteResult> {
    validateDeleteOptions(options);
    const key = objectKey(kind, namespace, name);
    const ref = resourceRef(kind);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) throw errors.notFound(ref, name);
      const current = this.decode(kv);
      checkPreconditions(kind, current, options);
      const plan = planDeletion(kind, current, options);
      if (plan.action === 'none') return { object: current, removed: false };
      if (ctx.dryRun) return { object: plan.marked ?? current, removed: plan.action === 'remove' };
      try {
        let last = current;
        let lastRev = kv.modRevision;
        if (plan.marked) {
          // persist the marks first, so watchers see MODIFIED (then DELETED when removal follows)
          const written = await this.store.update(key, this.encode(plan.marked, key), kv.modRevision);
          last = plan.marked;
          last.metadata.resourceVersion = String(written.modRevision);
          lastRev = written.modRevision;
          if (plan.action === 'mark') return { object: last, removed: false };
        }
        const gone = await this.store.delete(key, lastRev);
        last.metadata.resourceVersion = String(gone.modRevision);
        for (const a of this.admission) await a.deleted?.(kind, last);
        return { object: last, removed: true };
      } catch (e) {
        if (e instanceof ConflictError && attempt < MAX_UPDATE_RETRIES) continue;
        if (e instanceof KeyNotFoundError) throw errors.notFound(ref, name);
        throw e;
      }
    }
  }

  /* ---------- helpers ---------- */

  /** Checks the body is an object of this kind and returns one private to the caller, with apiVersion/kind set. */
  checkBody(kind: AnyKindDef, input: unknown): KubeObject {
    if (!isPlainObject(input)) throw errors.badRequest('the body of the request must be a JSON or YAML object');
    const obj = (unsharedBodies.has(input) ? input : clone(input)) as KubeObject;
    if (obj !== input && typedObjects.has(input)) typedObjects.add(obj);
    const want = kindApiVersion(kind);
    if (obj.apiVersion !== undefined && obj.apiVersion !== want) {
      throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`);
    }
    if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== kind.kind) {
      throw errors.badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${kind.kind})`);
    }
    obj.apiVersion = want;
    obj.kind = kind.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isPlainObject(obj.metadata)) throw errors.badRequest('metadata must be an object');
    return obj;
  }

  /**
   * Every object written through create or update has its kind's shape before any code that
   * assumes it runs (admission, defaults, validation, controllers): the handler decodes request
   * bodies with fieldValidation; anything else (scale, apply, in-process callers of storage) is
   * decoded here, unknown fields dropped.
   */
  private ensureTyped(kind: AnyKindDef, obj: KubeObject): void {
    if (typedObjects.has(obj)) return;
    const res = decodeKindValue(obj, kind, this.registry.definitions, { mutate: true });
    if (res.error) throw errors.badRequest(`${kind.kind} in version "${kind.version}" cannot be handled as a ${kind.kind}: ${res.error}`);
    if (res.unknown.length && process.env.PETSET_DEBUG_PRUNE) console.warn(`petset: ${kind.kind} ${obj.metadata?.name}: dropped unknown fields ${res.unknown.join(', ')}`);
    typedObjects.add(obj);
  }

  private fillNamespace(kind: AnyKindDef, obj: KubeObject, namespace: string | undefined): void {
    const m = obj.metadata;
    if (!kind.namespaced) {
      delete m.namespace;
      return;
    }
    if (!m.namespace) m.namespace = namespace;
    else if (namespace !== undefined && m.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  compile(kind: AnyKindDef, labelSelector?: string, fieldSelector?: string): CompiledSelectors {
    return compileSelectors(kind, labelSelector, fieldSelector);
  }
}

/* ---------- deletion planning (pure) ---------- */

interface DeletionPlan {
  action: 'none' | 'mark' | 'remove';
  /** the object with deletion marks to persist before (or instead of) removal */
  marked?: KubeObject;
}

const ORPHAN = 'orphan';
const FOREGROUND = 'foregroundDeletion';

/** Decides what a DELETE does to this object, following the generic store's algorithm. */
export function planDeletion(kind: AnyKindDef, current: KubeObject, options: DeleteOptions, now = Date.now()): DeletionPlan {
  const m = current.metadata;
  const finalizers = m.finalizers ?? [];

  if (m.deletionTimestamp) {
    const grace = m.deletionGracePeriodSeconds ?? 0;
    if (!grace) return finalizers.length ? { action: 'none' } : { action: 'remove' };
    const requested = kind.gracePeriod && options.gracePeriodSeconds !== undefined ? kind.gracePeriod(current, options.gracePeriodSeconds) : undefined;
    if (requested === undefined || requested >= grace) return { action: 'none' };
    // a shorter grace moves the deadline earlier (never into the past)
    const marked = clone(current);
    const deadline = Math.max(now, Date.parse(m.deletionTimestamp) - (grace - requested) * 1000);
    marked.metadata.deletionTimestamp = timestamp(new Date(requested === 0 ? now : clampTime(deadline)));
    marked.metadata.deletionGracePeriodSeconds = requested;
    if (requested === 0 && finalizers.length === 0) return { action: 'remove', marked };
    return { action: 'mark', marked };
  }

  const gcFinalizers = gcFinalizersFor(kind, finalizers, options);
  const marked = clone(current);
  let changed = false;
  if (gcFinalizers) {
    marked.metadata.finalizers = gcFinalizers;
    if (!gcFinalizers.length) delete marked.metadata.finalizers;
    changed = true;
  }
  const finals = marked.metadata.finalizers ?? [];

  if (kind.gracePeriod) {
    const grace = kind.gracePeriod(current, options.gracePeriodSeconds);
    marked.metadata.deletionTimestamp = timestamp(new Date(clampTime(now + grace * 1000)));
    marked.metadata.deletionGracePeriodSeconds = grace;
    if ((m.generation ?? 0) > 0) marked.metadata.generation = (m.generation ?? 0) + 1;
    if (grace > 0 || finals.length) return { action: 'mark', marked };
    return { action: 'remove', marked };
  }
  if (finals.length) {
    marked.metadata.deletionTimestamp = timestamp(new Date(now));
    marked.metadata.deletionGracePeriodSeconds = 0;
    if ((m.generation ?? 0) > 0) marked.metadata.generation = (m.generation ?? 0) + 1;
    return { action: 'mark', marked };
  }
  return changed ? { action: 'remove' } : { action: 'remove' };
}

/** The last instant RFC 3339 can write (year 9999): an int64 grace period may point past what a Date holds. */
const LATEST_TIME = Date.UTC(9999, 11, 31, 23, 59, 59);

function clampTime(ms: number): number {
  return Number.isFinite(ms) ? Math.min(ms, LATEST_TIME) : LATEST_TIME;
}

/** The finalizers after applying the propagation policy, or undefined when they do not change. */
function gcFinalizersFor(kind: AnyKindDef, finalizers: string[], options: DeleteOptions): string[] | undefined {
  let orphan: boolean;
  let foreground: boolean;
  if (options.propagationPolicy) {
    orphan = options.propagationPolicy === 'Orphan';
    foreground = options.propagationPolicy === 'Foreground';
  } else if (options.orphanDependents !== undefined) {
    orphan = options.orphanDependents;
    foreground = false;
  } else if (finalizers.includes(ORPHAN) || finalizers.includes(FOREGROUND)) {
    orphan = finalizers.includes(ORPHAN);
    foreground = finalizers.includes(FOREGROUND);
  } else {
    orphan = kind.defaultPropagation === 'Orphan';
    foreground = kind.defaultPropagation === 'Foreground';
  }
  const next = finalizers.filter((f) => f !== ORPHAN && f !== FOREGROUND);
  if (orphan) next.push(ORPHAN);
  if (foreground) next.push(FOREGROUND);
  const same = next.length === finalizers.length && next.every((f) => finalizers.includes(f));
  return same ? undefined : next;
}

function shouldDeleteDuringUpdate(obj: KubeObject): boolean {
  const m = obj.metadata;
  if (!m.deletionTimestamp || (m.finalizers && m.finalizers.length) || m.deletionGracePeriodSeconds) return false;
  // a namespace also waits for its spec.finalizers (emptied by the namespace controller)
  return !(obj.kind === 'Namespace' && obj.spec?.finalizers?.length);
}

function checkPreconditions(kind: AnyKindDef, current: KubeObject, options: DeleteOptions): void {
  const p = options.preconditions;
  if (!p) return;
  const name = current.metadata.name!;
  const kindRef = { group: kind.group, resource: kind.kind };
  if (p.uid && p.uid !== current.metadata.uid) {
    throw errors.conflict(
      kindRef,
      name,
      `the UID in the precondition (${p.uid}) does not match the UID in record (${current.metadata.uid}). The object might have been deleted and then recreated`,
    );
  }
  if (p.resourceVersion && p.resourceVersion !== current.metadata.resourceVersion) {
    throw errors.conflict(
      kindRef,
      name,
      `the ResourceVersion in the precondition (${p.resourceVersion}) does not match the ResourceVersion in record (${current.metadata.resourceVersion}). The object might have been modified`,
    );
  }
}

function validateDeleteOptions(o: DeleteOptions): void {
  const errs: FieldErrorLike[] = [];
  if (o.orphanDependents !== undefined && o.propagationPolicy !== undefined) {
    errs.push(field.invalid('propagationPolicy', o.propagationPolicy, 'orphanDependents and deletionPropagation cannot be both set'));
  }
  if (o.propagationPolicy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(o.propagationPolicy)) {
    errs.push(field.notSupported('propagationPolicy', o.propagationPolicy, ['Foreground', 'Background', 'Orphan']));
  }
  for (const d of o.dryRun ?? []) if (d !== 'All') errs.push(field.notSupported('dryRun', d, ['All']));
  if (errs.length) throw errors.invalid({ group: '', resource: 'DeleteOptions', kind: 'DeleteOptions' }, '', errs);
  if (o.gracePeriodSeconds !== undefined && o.gracePeriodSeconds < 0) o.gracePeriodSeconds = 1;
}

function validateListOptions(o: ListOptions): void {
  if (o.continue && o.resourceVersion && o.resourceVersion !== '0') {
    throw errors.badRequest('specifying resource version is not allowed when using continue');
  }
  if (o.resourceVersionMatch) {
    if (!o.resourceVersion) throw errors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (o.continue) throw errors.badRequest('resourceVersionMatch is forbidden when continue is provided');
    if (!['Exact', 'NotOlderThan'].includes(o.resourceVersionMatch)) {
      throw errors.badRequest(`resourceVersionMatch: Unsupported value: "${o.resourceVersionMatch}": supported values: "Exact", "NotOlderThan"`);
    }
    if (o.resourceVersionMatch === 'Exact' && o.resourceVersion === '0') {
      throw errors.badRequest('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
    }
  }
}

export function parseRV(rv: string): number {
  const n = Number(rv);
  if (!/^\d+$/.test(rv) || !Number.isSafeInteger(n)) {
    throw errors.badRequest(`invalid resource version: ${rv}`);
  }
  return n;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

/** Upstream's continue-token checks and texts (storage.DecodeContinue), never a JavaScript parser message. */
function decodeContinue(token: string): { rv: number; start: string } {
  const invalid = (why: string) => errors.badRequest(`invalid continue token: continue key is not valid${why}`);
  // base64url without padding, as Go's RawURLEncoding reads it
  const bad = token.search(/[^A-Za-z0-9_-]/);
  if (bad >= 0) throw invalid(`: illegal base64 data at input byte ${bad}`);
  if (token.length % 4 === 1) throw invalid(`: illegal base64 data at input byte ${token.length - 1}`);
  let t: any;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  try {
    t = JSON.parse(text);
  } catch {
    // Go's encoding/json words, never the JavaScript parser's
    const first = text.trimStart()[0];
    throw invalid(first && !'{["-0123456789tfn'.includes(first) ? `: invalid character '${first}' looking for beginning of value` : ': unexpected end of JSON input');
  }
  if (!t || typeof t !== 'object' || Array.isArray(t)) throw invalid(': cannot unmarshal into Go value of type storage.continueToken');
  if (t.v !== 'meta.k8s.io/v1') throw invalid(': server does not recognize this encoded version');
  if (typeof t.rv !== 'number' || !Number.isSafeInteger(t.rv) || t.rv === 0) throw invalid(': incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (typeof t.start !== 'string' || !t.start) throw invalid(': encoded start key empty (version meta.k8s.io/v1)');
  return { rv: t.rv < 0 ? 0 : t.rv, start: t.start };
}

/** Empty metadata collections are omitted, as Go's omitempty does on the way to storage. */
function normalizeMeta(obj: KubeObject): void {
  const m = obj.metadata;
  for (const k of ['labels', 'annotations'] as const) if (m[k] && Object.keys(m[k]!).length === 0) delete m[k];
  for (const k of ['ownerReferences', 'finalizers', 'managedFields'] as const) if (Array.isArray(m[k]) && (m[k] as unknown[]).length === 0) delete m[k];
}

function setOrDelete(o: Record<string, any>, k: string, v: unknown): void {
  if (v === undefined) delete o[k];
  else o[k] = v;
}

/** upstream's generateNameRetries + 1 */
const GENERATE_NAME_ATTEMPTS = 8;

function randomSuffix(): string {
  // upstream uses 5 characters from an alphabet without vowels and look-alike digits
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}


/** Upstream's answer to a resourceVersion the store has not reached (storage/errors.go): 504, which clients retry. */
export function tooLargeResourceVersion(want: number, current: number): ApiError {
  return new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${want}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/** Store failures that are the caller's to know about, as the API states them; undefined for the rest. */
export function storeErrorToApi(e: unknown): ApiError | undefined {
  if (e instanceof NoSpaceError) {
    // etcd's NOSPACE alarm reaches clients as a 5xx naming the cause; 507 says which one
    return new ApiError(507, 'InternalError', `Insufficient storage: ${e.message}`, { causes: [{ reason: 'InsufficientStorage', message: e.message }] });
  }
  if (e instanceof FutureRevisionError) return tooLargeResourceVersion(e.requested, e.current);
  if (e instanceof StoreUnavailableError) {
    // upstream's answer to an unreachable etcd (NewServerTimeout): a 500 that clients retry after the delay
    return new ApiError(500, 'ServerTimeout', `The request could not be completed at this time, please try again (${e.message})`, { retryAfterSeconds: 2 });
  }
  return undefined;
}

/**
 * A custom object as the requested version shows it: with conversion None, versions differ
 * only in apiVersion (objects keep the version they were written in).
 */
export function servedAs(kind: AnyKindDef, obj: KubeObject): KubeObject {
  if (!kind.custom) return obj;
  obj.apiVersion = kindApiVersion(kind);
  // defaults added to the schema since the object was written show on reads, as upstream's
  kind.defaults?.(obj);
  return obj;
}
