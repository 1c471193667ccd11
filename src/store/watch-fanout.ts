// The watches of one store, fanned out from its single feed of committed events (SQLite's
// commits, etcd's one watch stream): each watch gets the events under its prefix past its
// start, in order, after a replay of what it asked to see again. Shared by both backends so
// that they keep the same contract.
import { CompactedError, type StoreEvent, type WatchHandler, type Watcher } from './store.js';

export interface ActiveWatch {
  prefix: string;
  /** events at or below this revision were already given (the watch's start) */
  after: number;
  handler: WatchHandler;
  /** events waiting for the initial (asynchronous) delivery; undefined once delivering live */
  backlog: StoreEvent[] | undefined;
  stopped: boolean;
}

export class WatchFanOut {
  private watches: ActiveWatch[] = [];

  /**
   * A watch of the keys under `prefix` from after `after`, first given `backlog` (the events
   * since then that the store still has). The caller gets its Watcher before the first
   * callback; events published meanwhile queue up behind the replay, so order holds.
   */
  add(prefix: string, after: number, handler: WatchHandler, backlog: StoreEvent[]): Watcher {
    const watch: ActiveWatch = { prefix, after, handler, backlog: backlog.filter((e) => e.kv.key.startsWith(prefix)), stopped: false };
    this.watches.push(watch);
    queueMicrotask(() => {
      const events = watch.backlog!;
      watch.backlog = undefined;
      if (events.length) this.deliver(watch, events);
    });
    return {
      stop: () => {
        if (watch.stopped) return;
        watch.stopped = true;
        this.watches = this.watches.filter((w) => w !== watch);
      },
    };
  }

  /**
   * A watch that starts before the retained history (`floor`): CompactedError, or, for a
   * handler that takes it, compaction reported as data after the caller has its Watcher (as kine does).
   */
  compacted(after: number, floor: number, handler: WatchHandler): Watcher {
    if (!handler.onCompacted) throw new CompactedError(after, floor);
    let stopped = false;
    queueMicrotask(() => stopped || handler.onCompacted!(floor, after));
    return { stop: () => void (stopped = true) };
  }

  /** Newly committed events, in revision order. */
  publish(events: StoreEvent[]): void {
    // many watches share a prefix (every watcher of one resource): filter once per prefix
    const byPrefix = new Map<string, StoreEvent[]>([['', events]]);
    // A snapshot: handlers may start or stop watches while we deliver.
    for (const w of this.watches.slice()) {
      let matching = byPrefix.get(w.prefix);
      if (!matching) byPrefix.set(w.prefix, (matching = events.filter((e) => e.kv.key.startsWith(w.prefix))));
      const fresh = matching.filter((e) => e.revision > w.after);
      if (fresh.length === 0) continue;
      if (w.backlog) w.backlog.push(...fresh);
      else this.deliver(w, fresh);
    }
  }

  /** Ends every watch without a word to its handler (the store closes); answers them. */
  stopAll(): ActiveWatch[] {
    const ended = this.watches;
    this.watches = [];
    for (const w of ended) w.stopped = true;
    return ended;
  }

  private deliver(w: ActiveWatch, events: StoreEvent[]): void {
    if (w.stopped) return;
    w.after = events[events.length - 1]!.revision;
    try {
      w.handler.onEvents(events);
    } catch (err) {
      // A handler that throws has lost events; end its watch rather than skip silently.
      w.stopped = true;
      this.watches = this.watches.filter((x) => x !== w);
      w.handler.onError?.(err as Error);
    }
  }
}
