// Leader election through a coordination.k8s.io Lease, as client-go's leaderelection does for
// kube-controller-manager and kube-scheduler: one holder at a time; the others watch the
// record and take over once it has gone unrenewed for a lease duration *as they observed it*
// (their own clock, never the holder's timestamps, so clock skew between machines is harmless).
import { isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import type { Client } from './client.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaderElectionOptions {
  /** the Lease's name (upstream: kube-controller-manager, kube-scheduler) */
  name: string;
  /** default kube-system */
  namespace?: string;
  /** this candidate (upstream: hostname_uuid) */
  identity: string;
  /** --leader-elect-lease-duration (default 15 s) */
  leaseDurationMs?: number;
  /** --leader-elect-renew-deadline (default 10 s): a leader that cannot renew for this long steps down */
  renewDeadlineMs?: number;
  /** --leader-elect-retry-period (default 2 s) */
  retryPeriodMs?: number;
  onStartedLeading(): void | Promise<void>;
  /** leadership lost (upstream components exit here) or given up by stop() */
  onStoppedLeading(): void;
  log?: (line: string) => void;
}

export type LeaseAction = 'create' | 'renew' | 'takeover' | 'follow';

/**
 * What a candidate does with the Lease it read. `observedAt` is when this candidate last saw
 * the record change (holder or renewTime), by its own clock.
 */
export function leaseAction(current: LeaseSpec | undefined, identity: string, observedAt: number, now: number): LeaseAction {
  if (!current) return 'create';
  if (current.holderIdentity === identity) return 'renew';
  if (!current.holderIdentity) return 'takeover';
  const durationMs = (current.leaseDurationSeconds ?? 0) * 1000;
  return observedAt + durationMs <= now ? 'takeover' : 'follow';
}

/** The record a candidate writes when it creates, renews or takes over the Lease. */
export function leaseRecord(current: LeaseSpec | undefined, identity: string, leaseDurationMs: number, now: Date): LeaseSpec {
  const time = microTime(now);
  const newHolder = current?.holderIdentity !== identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.max(1, Math.round(leaseDurationMs / 1000)),
    acquireTime: newHolder ? time : (current?.acquireTime ?? time),
    renewTime: time,
    leaseTransitions: (current?.leaseTransitions ?? 0) + (current && newHolder ? 1 : 0),
  };
}

export interface LeaderElector {
  readonly leading: boolean;
  /** stops campaigning; a leader releases the Lease so a standby takes over at once */
  stop(): Promise<void>;
}

export function startLeaderElection(client: Client, opts: LeaderElectionOptions): LeaderElector {
  const namespace = opts.namespace ?? 'kube-system';
  const leaseDurationMs = opts.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  const log = opts.log ?? (() => {});
  const leases = client.leases(namespace);
  let lease: KubeObject | undefined;
  let observed: { holder?: string; renewTime?: string; at: number } = { at: 0 };
  let leading = false;
  let lastRenew = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> = Promise.resolve();

  /** one read-decide-write round; true when this candidate holds the Lease afterwards */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    let current: KubeObject | undefined;
    try {
      current = await leases.get(opts.name);
    } catch (e) {
      if (!isApiError(e) || e.code !== 404) throw e;
    }
    const spec = current?.spec as LeaseSpec | undefined;
    const now = Date.now();
    if (spec && (spec.holderIdentity !== observed.holder || spec.renewTime !== observed.renewTime)) {
      observed = { holder: spec.holderIdentity, renewTime: spec.renewTime, at: now };
    }
    const action = leaseAction(spec, opts.identity, observed.at, now);
    if (action === 'follow') return false;
    const record = leaseRecord(spec, opts.identity, leaseDurationMs, new Date(now));
    try {
      lease = current
        ? await leases.update({ ...current, spec: { ...current.spec, ...record } })
        : await leases.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: opts.name, namespace }, spec: record });
    } catch (e) {
      // another candidate wrote first (409 on the resourceVersion, or AlreadyExists): not ours this round
      if (isApiError(e) && (e.code === 409 || e.code === 404)) return false;
      throw e;
    }
    observed = { holder: record.holderIdentity, renewTime: record.renewTime, at: now };
    return true;
  };

  const round = async () => {
    let held = false;
    try {
      held = await tryAcquireOrRenew();
    } catch (e) {
      log(`leader election ${namespace}/${opts.name}: ${(e as Error).message}`);
    }
    if (stopped) return;
    const now = Date.now();
    if (held) {
      lastRenew = now;
      if (!leading) {
        leading = true;
        log(`leader election: ${opts.identity} acquired lease ${namespace}/${opts.name}`);
        await opts.onStartedLeading();
      }
    } else if (leading && now - lastRenew >= renewDeadlineMs) {
      leading = false;
      log(`leader election: ${opts.identity} lost lease ${namespace}/${opts.name} (not renewed for ${renewDeadlineMs} ms)`);
      opts.onStoppedLeading();
    }
  };

  const loop = () => {
    if (stopped) return;
    attempt = round().finally(() => {
      if (!stopped) timer = setTimeout(loop, retryPeriodMs);
    });
  };
  loop();

  return {
    get leading() {
      return leading;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await attempt;
      if (!leading) return;
      leading = false;
      // as ReleaseOnCancel: an empty holder lets a standby take over without waiting out the lease
      if (lease) {
        const spec = { ...(lease.spec as LeaseSpec), holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) };
        await leases.update({ ...lease, spec }).catch((e: Error) => log(`leader election: could not release ${namespace}/${opts.name}: ${e.message}`));
      }
      opts.onStoppedLeading();
    },
  };
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
