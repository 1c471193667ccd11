// One timer per agent instead of one per pod: every delayed action of every pod (start
// latencies, back-offs, probe ticks, heartbeats) sits in a heap, and a single Node timer
// is armed for the earliest. Cancelled entries are skipped lazily when they come due.

interface Entry {
  at: number;
  seq: number;
  fn?: () => void;
}

export type Cancel = () => void;

export class TimerQueue {
  private heap: Entry[] = [];
  private seq = 0;
  private timer?: NodeJS.Timeout;
  private armedAt = Infinity;
  private closed = false;
  /** entries neither run nor cancelled; at zero the Node timer is dropped, so an idle queue holds no process open */
  private live = 0;

  /** Runs fn after ms (0 or less: on the next turn). Answers a function that cancels it. */
  after(ms: number, fn: () => void): Cancel {
    if (this.closed) return () => {};
    const entry: Entry = { at: Date.now() + Math.max(0, ms), seq: this.seq++, fn };
    this.push(entry);
    this.live++;
    this.arm();
    return () => {
      if (!entry.fn) return;
      entry.fn = undefined;
      if (--this.live === 0) this.reset();
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Drops everything pending; later calls to after() do nothing. */
  close(): void {
    this.closed = true;
    this.reset();
  }

  private reset(): void {
    this.heap = [];
    this.live = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  get size(): number {
    return this.heap.length;
  }

  private arm(): void {
    const next = this.heap[0];
    if (!next || next.at >= this.armedAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = next.at;
    // Node fires a delay beyond 2^31-1 ms at once (TimeoutOverflowWarning): a far deadline (a
    // probe period of 2^31 s is valid API input) is re-armed from fire() until it is due
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, next.at - Date.now()), 2 ** 31 - 1));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    while (this.heap.length && this.heap[0].at <= now) {
      const entry = this.pop();
      const fn = entry.fn;
      if (!fn) continue;
      entry.fn = undefined;
      this.live--;
      try {
        fn();
      } catch (e) {
        console.warn(`[agent] timer callback threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
    if (this.live === 0) this.reset();
    else this.arm();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Durations as Go writes them ("250ms", "2s", "1m30s", "1.5s"); a bare number is
 * milliseconds. Answers undefined for anything else.
 */
export function parseDuration(text: string | number | undefined): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const s = text?.trim();
  if (!s) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === s.length ? total : undefined;
}

/** Go's time.Duration.String for whole milliseconds: 300ms, 10s, 1m20s, 5m0s, 1h0m0s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const secs = (ms % 60_000) / 1000;
  const sText = `${Number.isInteger(secs) ? secs : secs.toFixed(3).replace(/0+$/, '')}s`;
  if (h) return `${h}h${m}m${sText}`;
  if (m) return `${m}m${sText}`;
  return sText;
}
