// The one place that wires a controller to the API, as client-go's informer factory plus
// WaitForCacheSync and controller-runtime's builder do: a controller asks its context for
// the informers it reads and hands it its queues and reconcile functions; the runner
// starts the informers and starts the controller's workers (and periodic jobs) only once
// every informer that controller asked for has synced. A controller that reconciled from
// half a cache would write what it believes from half the world: a StatefulSet status of
// 0 replicas while its 600 pods are still being listed, a bound claim marked Lost while
// its volume is not yet in the cache.
import type { Registry } from '../api/registry.js';
import type { KubeObject } from '../api/object.js';
import type { Client, ResourceType } from './client.js';
import { SharedInformerFactory, stripManagedFields, type Informer, type InformerOptions } from './informer.js';
import { runWorkers, type ReconcileResult, type RunWorkersOptions, type WorkQueue } from './workqueue.js';

/** Where a controller gets its informers (shared with every other controller of the runner). */
export interface InformerSource {
  informerFor<T extends KubeObject = KubeObject>(type: ResourceType, options?: InformerOptions): Informer<T>;
  /** Stops and drops the informers of a resource that went away (a deleted custom kind). */
  forget?(type: ResourceType): void;
}

export interface ControllerContext {
  client: Client;
  /** informers asked for here are the ones this controller's workers wait for */
  informers: InformerSource;
  registry: Registry;
  /**
   * Runs n workers over queue once every informer this controller asked for has synced;
   * the queue is shut down when the controller stops. Keys added before that wait in the
   * queue. A reconcile that throws is reported by opts.onError (default: a warning) and
   * retried with back-off; the other keys go on.
   */
  runWorkers<K>(queue: WorkQueue<K>, workers: number, reconcile: (key: K) => Promise<ReconcileResult | void>, opts?: RunWorkersOptions<K>): void;
  /** Runs fn every ms once synced, never two runs at once, until the controller stops; errors are logged. */
  every(ms: number, fn: () => Promise<void> | void): void;
  /** true once every informer this controller asked for has synced; false if it stopped first. */
  synced(): Promise<boolean>;
}

export interface Controller {
  readonly name: string;
  /** asks for informers, registers handlers, hands its queues to ctx.runWorkers */
  start(ctx: ControllerContext): void;
  stop(): void;
}

/** One controller's wiring: which informers it reads, its queues, its timers. */
class ControllerWiring {
  readonly informers: Informer<any>[] = [];
  readonly queues = new Set<WorkQueue<any>>();
  readonly timers: NodeJS.Timeout[] = [];
  stopped = false;
  private syncPromise?: Promise<boolean>;
  private readonly stopWaiters: ((v: boolean) => void)[] = [];

  constructor(readonly controller: Controller) {}

  private markDeclared!: () => void;
  /** resolves when start() has returned: by then the controller has asked for every informer it reads */
  private readonly declared = new Promise<void>((resolve) => (this.markDeclared = resolve));

  /** start() returned: the informers asked for so far are the ones to wait for. */
  startReturned(): void {
    this.markDeclared();
  }

  synced(): Promise<boolean> {
    this.syncPromise ??= new Promise<boolean>((resolve) => {
      this.stopWaiters.push(resolve);
      void this.declared
        .then(() => Promise.all(this.informers.map((i) => i.synced())))
        .then((all) => resolve(all.every(Boolean) && !this.stopped));
    });
    return this.syncPromise;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const q of this.queues) q.shutDown();
    for (const w of this.stopWaiters.splice(0)) w(false);
  }
}

export class ControllerRunner {
  readonly informers: SharedInformerFactory;
  private readonly wirings = new Map<Controller, ControllerWiring>();
  private started = false;

  constructor(
    readonly client: Client,
    readonly registry: Registry,
    informers?: SharedInformerFactory,
    /**
     * each controller's own client (kube-controller-manager's --use-service-account-credentials:
     * a controller writes as its own identity, with only its role's rights); the shared
     * informers read with `client`. Default: every controller uses `client`.
     */
    private readonly clientFor?: (controller: Controller) => Client,
  ) {
    // kube-controller-manager's and kube-scheduler's informers drop managedFields: no controller reads them
    this.informers = informers ?? new SharedInformerFactory(client, { transform: stripManagedFields });
  }

  get controllers(): Controller[] {
    return [...this.wirings.keys()];
  }

  /** Starts controllers (and the informers, the first time); resolves once their caches have synced. */
  async start(controllers: Controller[]): Promise<boolean> {
    const wirings = controllers.map((c) => this.wire(c));
    if (!this.started) {
      this.started = true;
      this.informers.start();
    }
    const synced = await Promise.all(wirings.map((w) => w.synced()));
    return synced.every(Boolean);
  }

  /** Stops one controller: its workers, queues and timers (the shared informers keep running). */
  stopController(c: Controller): void {
    const w = this.wirings.get(c);
    if (!w) return;
    this.wirings.delete(c);
    c.stop();
    w.stop();
  }

  async stop(): Promise<void> {
    for (const c of [...this.wirings.keys()]) this.stopController(c);
    this.informers.stop();
  }

  private wire(c: Controller): ControllerWiring {
    const w = new ControllerWiring(c);
    this.wirings.set(c, w);
    const factory = this.informers;
    const ctx: ControllerContext = {
      client: this.clientFor?.(c) ?? this.client,
      registry: this.registry,
      informers: {
        informerFor<T extends KubeObject = KubeObject>(type: ResourceType, options?: InformerOptions): Informer<T> {
          const inf = factory.informerFor<T>(type, options);
          if (!w.informers.includes(inf)) w.informers.push(inf);
          return inf;
        },
        forget(type: ResourceType): void {
          const gone = (i: Informer<any>) => i.type.group === type.group && i.type.version === type.version && i.type.resource === type.resource;
          w.informers.splice(0, w.informers.length, ...w.informers.filter((i) => !gone(i)));
          factory.forget(type);
        },
      },
      runWorkers: (queue, workers, reconcile, opts) => {
        w.queues.add(queue);
        const onError = opts?.onError ?? ((key: unknown, err: unknown) => console.warn(`[${c.name}] reconcile ${String(key)} failed: ${err instanceof Error ? err.message : String(err)}`));
        void w.synced().then((ok) => {
          if (!ok || w.stopped) return;
          return runWorkers(queue, workers, reconcile, { ...opts, onError });
        });
      },
      every: (ms, fn) => {
        let running = false;
        const timer = setInterval(() => {
          if (running || w.stopped) return;
          void w.synced().then(async (ok) => {
            if (!ok || running || w.stopped) return;
            running = true;
            try {
              await fn();
            } catch (e) {
              console.warn(`[${c.name}] ${e instanceof Error ? e.message : String(e)}`);
            } finally {
              running = false;
            }
          });
        }, ms);
        timer.unref?.();
        w.timers.push(timer);
      },
      synced: () => w.synced(),
    };
    try {
      c.start(ctx);
    } finally {
      w.startReturned();
    }
    return w;
  }
}
