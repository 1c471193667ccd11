// Probe workers, as the kubelet's prober runs them: one per container and probe type,
// ticking every periodSeconds once initialDelaySeconds have passed, counting results in
// runs so that only failureThreshold failures (or successThreshold successes) in a row
// change the reported result. Ticks come from the agent's shared timer queue.
import type { HandlerPurpose, HandlerResult } from './runtime/runtime.js';
import { formatDuration, type Cancel, type TimerQueue } from './timers.js';

export type ProbeType = 'startup' | 'readiness' | 'liveness';
export type ProbeResult = 'success' | 'failure' | 'unknown';

/** Upstream SetDefaults_Probe; the pod's own values win. */
export const PROBE_DEFAULTS = {
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
} as const;

/** What the worker reports before the first counted result. */
export const INITIAL_RESULT: Record<ProbeType, ProbeResult> = { readiness: 'failure', liveness: 'success', startup: 'unknown' };

export const PROBE_LABEL: Record<ProbeType, string> = { readiness: 'Readiness', liveness: 'Liveness', startup: 'Startup' };

export interface ProbeHost {
  timers: TimerQueue;
  /** runs the handler against the container (the runtime, or the agent for sleep) */
  run(purpose: HandlerPurpose, handler: Record<string, any>, timeoutMs: number): Promise<HandlerResult>;
  /** liveness and readiness wait for this */
  started(): boolean;
  /** a counted result changed */
  onResult(type: ProbeType, result: ProbeResult): void;
  /** every failed attempt, for the Unhealthy event */
  onFailure(type: ProbeType, output: string): void;
}

export class Prober {
  result: ProbeResult;
  private lastResult: ProbeResult = 'unknown';
  private run = 0;
  private cancel?: Cancel;
  private stopped = false;
  private readonly settings: Required<{ [K in keyof typeof PROBE_DEFAULTS]: number }>;

  constructor(
    readonly type: ProbeType,
    private readonly probe: Record<string, any>,
    private readonly host: ProbeHost,
    startedAt: number,
    /**
     * When the pod's probe ticker started (the kubelet starts a probe worker when it admits the
     * pod, and it ticks every period from then on): a probe runs at the first tick once the
     * container has run initialDelaySeconds. Without it, the first probe runs right then.
     */
    tickerStart?: number,
  ) {
    this.result = INITIAL_RESULT[type];
    const positive = (v: unknown, d: number) => (typeof v === 'number' && v > 0 ? v : d);
    this.settings = {
      initialDelaySeconds: typeof probe.initialDelaySeconds === 'number' && probe.initialDelaySeconds > 0 ? probe.initialDelaySeconds : 0,
      timeoutSeconds: positive(probe.timeoutSeconds, PROBE_DEFAULTS.timeoutSeconds),
      periodSeconds: positive(probe.periodSeconds, PROBE_DEFAULTS.periodSeconds),
      successThreshold: positive(probe.successThreshold, PROBE_DEFAULTS.successThreshold),
      failureThreshold: positive(probe.failureThreshold, PROBE_DEFAULTS.failureThreshold),
    };
    const due = startedAt + this.settings.initialDelaySeconds * 1000;
    const period = this.settings.periodSeconds * 1000;
    const firstAt = tickerStart === undefined ? due : tickerStart + Math.max(0, Math.ceil((due - tickerStart) / period)) * period;
    this.schedule(firstAt - Date.now());
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  private schedule(ms: number): void {
    if (!this.stopped) this.cancel = this.host.timers.after(ms, () => void this.tick());
  }

  private async tick(): Promise<void> {
    const period = this.settings.periodSeconds * 1000;
    if (this.stopped) return;
    const started = this.host.started();
    // readiness and liveness wait for the startup probe; the startup probe ends with it
    if (this.type === 'startup' ? started : !started) {
      if (this.type !== 'startup') this.schedule(period);
      return;
    }
    const timeoutMs = this.settings.timeoutSeconds * 1000;
    const outcome = await withTimeout(this.host.run(this.type, this.probe, timeoutMs), timeoutMs, this.host.timers);
    if (this.stopped) return;
    const result: ProbeResult = outcome.ok ? 'success' : 'failure';
    if (!outcome.ok) this.host.onFailure(this.type, outcome.output);
    if (result === this.lastResult) this.run++;
    else {
      this.lastResult = result;
      this.run = 1;
    }
    const threshold = result === 'success' ? this.settings.successThreshold : this.settings.failureThreshold;
    if (this.run >= threshold && result !== this.result) {
      this.result = result;
      this.host.onResult(this.type, result);
    }
    // a failed liveness or startup probe kills the container: this worker's job is over
    if (this.result === 'failure' && this.type !== 'readiness') return this.stop();
    if (this.type === 'startup' && this.result === 'success') return this.stop();
    this.schedule(period);
  }
}

/** The handler's result, or a failure once ms have passed. */
export async function withTimeout(p: Promise<HandlerResult>, ms: number, timers: TimerQueue): Promise<HandlerResult> {
  let cancel: Cancel | undefined;
  const timeout = new Promise<HandlerResult>((resolve) => {
    cancel = timers.after(ms, () => resolve({ ok: false, output: `timed out after ${formatDuration(ms)}` }));
  });
  try {
    return await Promise.race([p.catch((e: unknown) => ({ ok: false, output: e instanceof Error ? e.message : String(e) })), timeout]);
  } finally {
    cancel?.();
  }
}
