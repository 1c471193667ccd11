// The storage contract: a small revisioned key-value store, the shape etcd has (and kine
// maps onto SQLite). Values are opaque strings here; the API server owns their meaning.
//
// Revisions: one global counter. Every create, update and delete takes the next number.
// A key's modRevision is the revision of its last write; createRevision of its creation.

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
}

export interface StoreEvent {
  type: 'put' | 'delete';
  /** For 'put': the new value. For 'delete': the last value, with modRevision = the delete's revision. */
  kv: KeyValue;
  /** The value before this event (absent for a create). */
  prev?: KeyValue;
  revision: number;
}

export interface ListOptions {
  /** at most this many items; 0 or absent for all */
  limit?: number;
  /** return keys >= startKey (for continuation) */
  startKey?: string;
  /** read the state as of this revision (0 or absent: the latest). Throws CompactedError when too old. */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** the revision the list was read at */
  revision: number;
  /** true when limit cut the list short */
  more: boolean;
  /** number of matching keys not returned (when cheaply known) */
  remaining?: number;
}

export interface Watcher {
  stop(): void;
}

export interface WatchHandler {
  /** events in revision order, in batches as they commit */
  onEvents(events: StoreEvent[]): void;
  /** the watch ended because of an error (for example compaction under a slow reader) */
  onError?(err: Error): void;
  /**
   * The requested start is older than the retained history (kine's "compacted" watch result):
   * no events follow, the caller relists. With this handler, watch() reports compaction as
   * data instead of throwing CompactedError.
   */
  onCompacted?(compactRevision: number, requested: number): void;
}

/** A value set aside at start-up because it could not be read or served. */
export interface QuarantinedValue {
  key: string;
  /** the revision of the value set aside */
  revision: number;
  reason: string;
  /** when it was set aside (ISO 8601) */
  at: string;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Fails with KeyExistsError when the key exists. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Fails with KeyNotFoundError, or ConflictError when expectedModRevision is given and differs. */
  update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue>;
  /** Returns the deleted key-value (modRevision = the delete's revision). Same errors as update. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Every event on keys under prefix with revision > afterRevision, then live events.
   * Fails with CompactedError (synchronously) when afterRevision is older than the retained history.
   */
  watch(prefix: string, afterRevision: number, handler: WatchHandler): Watcher;
  /** The latest revision. */
  revision(): Promise<number>;
  /** The oldest revision still readable (list at revision / watch from revision). */
  compactedRevision(): Promise<number>;
  /** Forget history up to and including revision (latest values of live keys are kept). */
  compact(revision: number): Promise<void>;
  /**
   * Moves a key's value (and its history) aside into the store's quarantine, without a new
   * revision: for values that cannot be decoded, found at start-up before anyone watches.
   * Resolves false when the key does not exist.
   */
  quarantine?(key: string, reason: string): Promise<boolean>;
  /** Values set aside so far, newest first. */
  quarantined?(): Promise<QuarantinedValue[]>;
  close(): Promise<void>;
}

export class KeyExistsError extends Error {
  constructor(
    readonly key: string,
    readonly existing?: KeyValue,
  ) {
    super(`key exists: ${key}`);
  }
}

export class KeyNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`key not found: ${key}`);
  }
}

export class ConflictError extends Error {
  constructor(
    readonly key: string,
    readonly current: KeyValue,
  ) {
    super(`revision conflict on ${key}`);
  }
}

export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super(`revision ${requested} has been compacted (oldest available ${compacted + 1})`);
  }
}

/** A revision newer than the store has (a client ahead of this server, or a bad resourceVersion). */
export class FutureRevisionError extends RangeError {
  constructor(
    readonly requested: number,
    readonly current: number,
  ) {
    super(`revision ${requested} is in the future (latest is ${current})`);
  }
}

/**
 * The disk holding the store is full (etcd's space alarm): writes are refused until space
 * returns; reads and deletes go on.
 */
export class NoSpaceError extends Error {
  readonly code = 'NOSPACE';
  constructor(
    readonly location: string,
    cause?: unknown,
  ) {
    super(
      `the disk holding petset's data (${location}) is full: writes are refused until space is freed; reads and deletes still work. Free disk space (or delete objects); writes resume by themselves once there is room`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * The store cannot be reached just now (etcd down, or without a leader): the request may be
 * retried; a write's outcome is unknown (it may have been applied), as with any timeout.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'UNAVAILABLE';
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** "the next key after prefix" for range scans. */
export function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}
