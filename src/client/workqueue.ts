// Work queues with client-go's guarantees: a key waiting in the queue is held once
// however often it is added; a key is never handed to two workers at once (re-adding it
// while it is processed queues it again for after done()); delayed and rate-limited adds.

export interface RateLimiter<K> {
  /** how long to wait before retrying item, counting this as one more failure */
  when(item: K): number;
  forget(item: K): void;
  numRequeues(item: K): number;
}

/** Per-item exponential back-off: base, 2·base, 4·base ... capped (client-go: 5 ms to 1000 s). */
export class ItemExponentialRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(item: K): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(item: K): void {
    this.failures.delete(item);
  }

  numRequeues(item: K): number {
    return this.failures.get(item) ?? 0;
  }
}

export class WorkQueue<K = string> {
  private queue: K[] = [];
  private head = 0;
  /** keys that need processing (queued, or re-added while being processed) */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private shuttingDown = false;

  constructor(readonly rateLimiter: RateLimiter<K> = new ItemExponentialRateLimiter<K>()) {}

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.processing.has(key)) this.enqueue(key);
  }

  /** The next key to process; undefined once the queue is shut down and drained. Call done(key) after. */
  get(): Promise<K | undefined> {
    if (this.head < this.queue.length) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.enqueue(key);
  }

  /** Adds key once ms have passed; an earlier pending time for the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    // beyond 2^31-1 ms Node would fire at once; an early add only means an early (level-triggered) look
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, Math.min(ms, 2 ** 31 - 1));
    this.delayed.set(key, { at, timer });
  }

  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Ends the back-off for key (call after it was processed successfully). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Keys waiting to be handed out (not counting delayed ones). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Stops accepting keys; keys already queued are still handed out, then get() answers undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    // Waiting workers imply an empty queue: they can all go.
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private enqueue(key: K): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  private take(): K {
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}

/** What a reconcile may ask for, as in controller-runtime. */
export interface ReconcileResult {
  /** process the key again after this many ms (and reset its back-off) */
  requeueAfter?: number;
  /** process the key again after its rate-limited back-off */
  requeue?: boolean;
}

export interface RunWorkersOptions<K> {
  /** told about every failed reconcile; default: a console warning */
  onError?(key: K, err: unknown): void;
}

/**
 * Runs n workers until the queue is shut down and drained. A reconcile that throws is
 * retried with back-off; one that succeeds has its back-off forgotten.
 */
export async function runWorkers<K>(
  queue: WorkQueue<K>,
  workers: number,
  reconcile: (key: K) => Promise<ReconcileResult | void>,
  opts: RunWorkersOptions<K> = {},
): Promise<void> {
  const onError = opts.onError ?? ((key: K, err: unknown) => console.warn(`[client] reconcile ${String(key)} failed: ${err instanceof Error ? err.message : String(err)}`));
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const result = await reconcile(key);
        if (result && result.requeueAfter && result.requeueAfter > 0) {
          queue.forget(key);
          queue.addAfter(key, result.requeueAfter);
        } else if (result && result.requeue) {
          queue.addRateLimited(key);
        } else {
          queue.forget(key);
        }
      } catch (e) {
        onError(key, e);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
}
