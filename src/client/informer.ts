// Informers in client-go's manner: list, then watch from the list's resourceVersion, keep
// a local cache with indexes, and tell handlers what changed. Watches that end are
// resumed from the last seen resourceVersion; a 410 (history compacted) forces a relist,
// whose differences against the cache reach handlers as adds, updates and deletes.
import { isApiError, type Status } from '../api/errors.js';
import type { KubeList, KubeObject } from '../api/object.js';
import { controllerRef, deepFreeze } from '../api/object.js';
import type { WatchEvent } from '../api/request.js';
import { apiErrorFromStatus, type Client, type ResourceClient, type ResourceType, type Watch } from './client.js';

export type IndexFunc<T extends KubeObject = KubeObject> = (obj: T) => string[];

/**
 * Handlers get the cached objects themselves, deep-frozen (shared by every handler and lister,
 * and in-process with every other watcher): clone() one before changing it. Handlers should be quick (typically: queue a key).
 */
export interface EventHandlers<T extends KubeObject = KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** the last state the informer saw */
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  /** only this namespace (ignored for cluster-scoped types) */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** per watch request; default random between 5 and 10 minutes, as client-go does */
  watchTimeoutSeconds?: number;
  /** list page size (default 500) */
  pageSize?: number;
  /**
   * Applied to every object before it is cached and handed to handlers (client-go's
   * SetTransform), e.g. stripManagedFields. Gets and returns deep-frozen objects.
   */
  transform?: (obj: KubeObject) => KubeObject;
}

// One trimmed object per object trimmed: in-process informers of one resource are handed the
// same frozen object for an event, so they share its trimmed form too.
const trimmed = new WeakMap<KubeObject, KubeObject>();

/**
 * The object without metadata.managedFields, as kube-controller-manager's and kube-scheduler's
 * informers keep them: no controller reads them, and on a pod they are most of its size, kept
 * once per object in every cache. Writes built from a trimmed object lose nothing: an update that
 * sends no managedFields keeps the stored ones. Shares everything else with `obj` (deep-frozen).
 */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields === undefined) return obj;
  let out = trimmed.get(obj);
  if (!out) {
    const { managedFields: _, ...metadata } = obj.metadata;
    out = Object.freeze({ ...obj, metadata: Object.freeze(metadata) }) as KubeObject;
    trimmed.set(obj, out);
  }
  return out as T;
}

/** "namespace/name", or "name" for cluster-scoped objects. */
export function keyOf(obj: KubeObject): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name}` : String(name);
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export const NAMESPACE_INDEX = 'namespace';

/** Common index functions. */
export const indexers = {
  namespace: ((obj) => (obj.metadata.namespace ? [obj.metadata.namespace] : [])) as IndexFunc,
  controllerUid: ((obj) => {
    const ref = controllerRef(obj);
    return ref ? [ref.uid] : [];
  }) as IndexFunc,
  nodeName: ((pod) => (pod.spec?.nodeName ? [pod.spec.nodeName as string] : [])) as IndexFunc,
};

const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 30_000;

export class Informer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceClient<T>;
  private readonly items = new Map<string, T>();
  private readonly indexFuncs = new Map<string, IndexFunc<T>>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private readonly handlers = new Set<EventHandlers<T>>();
  private resourceVersion = '';
  private isSynced = false;
  private syncWaiters: ((ok: boolean) => void)[] = [];
  private started = false;
  private stopped = false;
  private currentWatch?: Watch<T>;
  private interruptSleep?: () => void;

  constructor(
    client: Client,
    readonly type: ResourceType,
    readonly options: InformerOptions = {},
  ) {
    this.resource = client.resource<T>(type, options.namespace);
    this.addIndexer(NAMESPACE_INDEX, indexers.namespace as IndexFunc<T>);
  }

  start(): this {
    if (!this.started) {
      this.started = true;
      void this.run();
    }
    return this;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.currentWatch?.stop();
    this.interruptSleep?.();
    for (const w of this.syncWaiters.splice(0)) w(false);
  }

  hasSynced(): boolean {
    return this.isSynced;
  }

  /** Resolves true once the first list is in the cache, false if stopped before that. */
  synced(): Promise<boolean> {
    if (this.isSynced) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The resourceVersion of the newest state the cache reflects. */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  /**
   * Adds handlers; objects already cached are replayed to onAdd at once, so a late
   * subscriber to a shared informer sees the same picture as an early one.
   * Returns a function that removes them.
   */
  addEventHandler(h: EventHandlers<T>): () => void {
    this.handlers.add(h);
    for (const obj of this.items.values()) this.call(() => h.onAdd?.(obj));
    return () => this.handlers.delete(h);
  }

  /** Index names are per informer: one name means one function, whoever registers it. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.indexFuncs.has(name)) return;
    this.indexFuncs.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, obj] of this.items) this.index(name, fn, key, obj, +1);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  /** Everything cached, or one namespace's objects. */
  list(namespace?: string): T[] {
    return namespace === undefined ? [...this.items.values()] : this.byIndex(NAMESPACE_INDEX, namespace);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.indices.get(indexName);
    if (!index) throw new Error(`index "${indexName}" does not exist`);
    return [...(index.get(value) ?? [])].map((k) => this.items.get(k)!);
  }

  private async run(): Promise<void> {
    let needList = true;
    let backoff = 0;
    while (!this.stopped) {
      if (backoff) await this.sleep(backoff);
      if (this.stopped) break;
      let phase: 'list' | 'watch' = 'list';
      const listed = needList;
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        phase = 'watch';
        backoff = (await this.watchOnce()) ? 0 : nextBackoff(backoff);
      } catch (e) {
        if (this.stopped) break;
        if (isApiError(e) && e.code === 410) {
          // History is gone: only a fresh list can bring the cache up to date. Relist at
          // once, unless a fresh list just led here (the server cannot serve it yet).
          needList = true;
          backoff = listed ? nextBackoff(backoff) : 0;
        } else {
          console.warn(`[client] ${this.describe()}: ${phase} failed: ${e instanceof Error ? e.message : String(e)}`);
          backoff = nextBackoff(backoff);
        }
      }
    }
  }

  private async relist(): Promise<void> {
    const list: KubeList<T> = await this.resource.listAll({
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      limit: this.options.pageSize ?? 500,
    });
    if (this.stopped) return;
    this.replace(list.items, list.metadata?.resourceVersion ?? '');
  }

  /** Watches until the stream ends. Answers whether it was a useful watch (not an instant close). */
  private async watchOnce(): Promise<boolean> {
    const started = Date.now();
    const w = await this.resource.watch({
      resourceVersion: this.resourceVersion,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      allowWatchBookmarks: true,
      timeoutSeconds: this.options.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random())),
    });
    this.currentWatch = w;
    if (this.stopped) w.stop();
    let events = 0;
    try {
      for await (const ev of w) {
        if (this.stopped) break;
        events++;
        this.apply(ev);
      }
    } finally {
      this.currentWatch = undefined;
    }
    return events > 0 || Date.now() - started > 1000;
  }

  private apply(ev: WatchEvent<T>): void {
    if (ev.type === 'ERROR') throw apiErrorFromStatus(ev.object as Status);
    // frozen: every handler and lister shares the cached object (in-process events come frozen already)
    const obj = this.cached(ev.object as T);
    const rv = obj.metadata?.resourceVersion;
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.upsert(obj);
    else if (ev.type === 'DELETED') this.remove(keyOf(obj), obj);
    if (rv) this.resourceVersion = rv;
  }

  private replace(fresh: T[], resourceVersion: string): void {
    const incoming = new Map(fresh.map((o) => [keyOf(o), this.cached(o)]));
    for (const [key, old] of this.items) if (!incoming.has(key)) this.remove(key, old);
    for (const [key, obj] of incoming) {
      const old = this.items.get(key);
      if (!old || old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.upsert(obj);
    }
    this.resourceVersion = resourceVersion;
    if (!this.isSynced) {
      this.isSynced = true;
      for (const w of this.syncWaiters.splice(0)) w(true);
    }
  }

  /** What the cache keeps of an object it is given: frozen, then transformed. */
  private cached(obj: T): T {
    const frozen = deepFreeze(obj);
    return this.options.transform ? (this.options.transform(frozen) as T) : frozen;
  }

  private upsert(obj: T): void {
    const key = keyOf(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    this.reindex(key, old, obj);
    for (const h of this.handlers) this.call(() => (old ? h.onUpdate?.(old, obj) : h.onAdd?.(obj)));
  }

  private remove(key: string, last: T): void {
    const old = this.items.get(key);
    if (!old) return;
    this.items.delete(key);
    this.reindex(key, old, undefined);
    for (const h of this.handlers) this.call(() => h.onDelete?.(last));
  }

  private reindex(key: string, old: T | undefined, obj: T | undefined): void {
    for (const [name, fn] of this.indexFuncs) {
      if (old) this.index(name, fn, key, old, -1);
      if (obj) this.index(name, fn, key, obj, +1);
    }
  }

  private index(name: string, fn: IndexFunc<T>, key: string, obj: T, delta: 1 | -1): void {
    const index = this.indices.get(name)!;
    let values: string[];
    try {
      values = fn(obj);
    } catch (e) {
      console.warn(`[client] ${this.describe()}: index "${name}" failed on ${key}: ${String(e)}`);
      return;
    }
    for (const v of values) {
      let keys = index.get(v);
      if (delta > 0) {
        if (!keys) index.set(v, (keys = new Set()));
        keys.add(key);
      } else if (keys) {
        keys.delete(key);
        if (!keys.size) index.delete(v);
      }
    }
  }

  private call(f: () => void): void {
    try {
      f();
    } catch (e) {
      console.warn(`[client] ${this.describe()}: event handler threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.interruptSleep = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private describe(): string {
    const { group, version, resource } = this.type;
    return `informer ${group ? `${group}/` : ''}${version}/${resource}${this.options.namespace ? ` in ${this.options.namespace}` : ''}`;
  }
}

function nextBackoff(current: number): number {
  return current ? Math.min(current * 2, MAX_BACKOFF_MS) : MIN_BACKOFF_MS;
}

/** One informer per (resource, namespace, selectors), so controllers share caches and watches. */
export class SharedInformerFactory {
  private readonly informers = new Map<string, Informer<any>>();
  private started = false;

  constructor(
    readonly client: Client,
    private readonly defaults: Pick<InformerOptions, 'watchTimeoutSeconds' | 'pageSize' | 'transform'> = {},
  ) {}

  /** Informers asked for after start() are started at once. */
  informerFor<T extends KubeObject = KubeObject>(
    type: ResourceType,
    opts: Pick<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector'> = {},
  ): Informer<T> {
    const namespace = type.namespaced ? opts.namespace : undefined;
    const id = [type.group, type.version, type.resource, namespace ?? '', opts.labelSelector ?? '', opts.fieldSelector ?? ''].join('|');
    let inf = this.informers.get(id) as Informer<T> | undefined;
    if (!inf) {
      inf = new Informer<T>(this.client, type, { ...this.defaults, ...opts, namespace });
      this.informers.set(id, inf);
      if (this.started) inf.start();
    }
    return inf;
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Stops and drops the informers of a resource that went away (a custom kind whose definition was deleted). */
  forget(type: ResourceType): void {
    const prefix = [type.group, type.version, type.resource, ''].join('|');
    for (const [id, inf] of this.informers) {
      if (!id.startsWith(prefix)) continue;
      inf.stop();
      this.informers.delete(id);
    }
  }

  /** True when every informer handed out so far has synced; false if any was stopped first. */
  async waitForSync(): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.synced()));
    return results.every(Boolean);
  }

  stop(): void {
    for (const inf of this.informers.values()) inf.stop();
  }
}
