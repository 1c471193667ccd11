// The writes behind one stateful pod (upstream's StatefulPodControl), as actions: create a pod
// with its claims, repair a pod, fix claim ownerRefs, delete a pod. It keeps a view of the PVC
// cache with this pass's planned changes, so one pass never plans the same write twice.
import type { KubeObject } from '../../api/object.js';
import { clone } from '../../api/object.js';
import type { Action, Purpose } from './actions.js';
import * as ev from './events.js';
import type { EventSpec } from './events.js';
import {
  claimFor,
  claimNamesFor,
  claimTemplatesFor,
  identityMatches,
  ordinalOf,
  storageMatches,
  updateIdentity,
  updateStorage,
} from './identity.js';
import { claimIsStale, claimOwnerRefsFor, hasUnexpectedController, isClaimOwnerUpToDate } from './retention.js';

/** The PVCs a pass sees: every claim of the namespace, or a lookup by name into the cache. */
export type ClaimSource = KubeObject[] | ((name: string) => KubeObject | undefined);

interface SettledReplica {
  setFields: string;
  claimNames: string[];
  claims: (KubeObject | undefined)[];
}

/**
 * Replica pods found to need nothing of repairPod (and, Pending, of recoverPendingPod),
 * each remembered with what that answer was computed from: the set's fields those checks read
 * and the pod's claims as the cache held them. Only for callers whose objects are replaced,
 * never changed in place, on update (an informer's cache): there the same pod object with the
 * same claim objects and set fields gives the same answer, and a pass checks a settled
 * replica in a few lookups instead of rebuilding its claim names and ownerRef verdicts.
 */
export class SettledReplicas {
  readonly byPod = new WeakMap<KubeObject, SettledReplica>();
}

/** What of a set the repair and claim checks of a replica read (not its pod template). */
const setFieldsMemo = new WeakMap<KubeObject, string>();
function settledSetFields(set: KubeObject): string {
  let s = setFieldsMemo.get(set);
  if (s === undefined) {
    const spec = set.spec ?? {};
    s = JSON.stringify([
      set.metadata.name,
      set.metadata.namespace,
      set.metadata.uid,
      spec.volumeClaimTemplates,
      spec.persistentVolumeClaimRetentionPolicy,
      spec.ordinals,
      spec.replicas,
      spec.selector,
    ]);
    setFieldsMemo.set(set, s);
  }
  return s;
}

export class PodControl {
  /** claims this pass has planned to create or change, by name (over the cache's) */
  private readonly claims = new Map<string, KubeObject>();
  /** created in this pass: the cache will not show them until a later pass */
  private readonly created = new Set<string>();
  private readonly cached: (name: string) => KubeObject | undefined;

  constructor(
    private readonly set: KubeObject,
    pvcs: ClaimSource,
    private readonly settled?: SettledReplicas,
  ) {
    if (typeof pvcs === 'function') {
      this.cached = pvcs;
    } else {
      const byName = new Map<string, KubeObject>();
      for (const c of pvcs) if (c.metadata.namespace === set.metadata.namespace) byName.set(c.metadata.name ?? '', c);
      this.cached = (name) => byName.get(name);
    }
  }

  /** The claim as this pass sees it: planned changes first, then the cache. */
  private claim(name: string): KubeObject | undefined {
    return this.claims.has(name) ? this.claims.get(name) : this.cached(name);
  }

  /**
   * Whether this replica was found to need no repair (and no pending-pod recovery) on an
   * earlier pass with the same pod object, set fields and claims: the checks would give the
   * same empty answer again.
   */
  isSettled(set: KubeObject, pod: KubeObject): boolean {
    const memo = this.settled?.byPod.get(pod);
    if (!memo || memo.setFields !== settledSetFields(set)) return false;
    for (let i = 0; i < memo.claimNames.length; i++) {
      const name = memo.claimNames[i]!;
      if (this.created.has(name) || this.claim(name) !== memo.claims[i]) return false;
    }
    return true;
  }

  /** Records that the checks found nothing to do for this replica as things stand now. */
  markSettled(set: KubeObject, pod: KubeObject): void {
    if (!this.settled) return;
    const claimNames = claimNamesFor(set, ordinalOf(pod));
    if (claimNames.some((name) => this.created.has(name) || this.claims.has(name))) return;
    this.settled.byPod.set(pod, { setFields: settledSetFields(set), claimNames, claims: claimNames.map((name) => this.cached(name)) });
  }

  private get setName(): string {
    return this.set.metadata.name ?? '';
  }

  private get namespace(): string {
    return this.set.metadata.namespace ?? '';
  }

  private visibleClaim(name: string): KubeObject | undefined {
    return this.created.has(name) ? undefined : this.claim(name);
  }

  private podCall(purpose: Purpose, name: string) {
    return { purpose, resource: 'pods', apiVersion: 'v1', namespace: this.namespace, name } as const;
  }

  /** Whether a claim of this (not yet created) pod still belongs to an earlier pod of its name. */
  hasStaleClaim(pod: KubeObject): boolean {
    return claimNamesFor(this.set, ordinalOf(pod)).some((name) => {
      const found = this.visibleClaim(name);
      return !!found && claimIsStale(found, this.set, pod);
    });
  }

  /**
   * Creates the pod's missing claims. `podVerb` names the pod operation a failure is reported
   * against (none for the pending-pod recovery, which reports only the claim).
   */
  createMissingClaims(set: KubeObject, pod: KubeObject, podVerb?: 'create' | 'update'): Action[] {
    const podName = pod.metadata.name ?? '';
    const actions: Action[] = [];
    const ordinal = ordinalOf(pod);
    for (const { template, name } of claimTemplatesFor(set, ordinal)) {
      const existing = this.claim(name);
      if (!existing) {
        // only a claim to create is built: cloning the template for every pod of every pass was quadratic
        const claim = claimFor(set, template, ordinal);
        const onFailure = [ev.claimCreateFailed(this.setName, podName, name)];
        if (podVerb) onFailure.push(ev.podFailed(podVerb, this.setName, podName, `failed to create PVC ${name}: `));
        actions.push({
          verb: 'create',
          purpose: 'createClaim',
          resource: 'persistentvolumeclaims',
          apiVersion: 'v1',
          namespace: this.namespace,
          name,
          body: claim,
          onSuccess: [ev.claimCreated(this.setName, podName, name)],
          onFailure,
        });
        this.claims.set(name, claim);
        this.created.add(name);
      } else if (existing.metadata.deletionTimestamp) {
        const error = `pvc ${name} is being deleted`;
        actions.push({
          verb: 'fail',
          purpose: 'claimBeingDeleted',
          error,
          onFailure: podVerb ? [ev.podFailed(podVerb, this.setName, podName)] : [],
        });
      }
    }
    return actions;
  }

  claimsMatchRetention(set: KubeObject, pod: KubeObject): boolean {
    return claimNamesFor(set, ordinalOf(pod)).every((name) => {
      const found = this.visibleClaim(name);
      return !found || isClaimOwnerUpToDate(found, set, pod);
    });
  }

  /**
   * Brings the ownerRefs of the pod's claims (those the cache shows) in line with the
   * retention policy. `failure` is the pod event for a failed claim update, if any.
   */
  fixClaimOwners(set: KubeObject, pod: KubeObject, failure?: (claim: string) => EventSpec): Action[] {
    const actions: Action[] = [];
    for (const name of claimNamesFor(set, ordinalOf(pod))) {
      const claim = this.visibleClaim(name);
      if (!claim) continue;
      if (hasUnexpectedController(claim, set, pod)) {
        actions.push({ verb: 'record', purpose: 'conflictingController', onSuccess: [ev.conflictingController(name)] });
      }
      if (isClaimOwnerUpToDate(claim, set, pod)) continue;
      const updated = clone(claim);
      const refs = claimOwnerRefsFor(claim, set, pod);
      if (refs.length) updated.metadata.ownerReferences = refs;
      else delete updated.metadata.ownerReferences;
      actions.push({
        verb: 'update',
        purpose: 'updateClaimOwnerRefs',
        resource: 'persistentvolumeclaims',
        apiVersion: 'v1',
        namespace: this.namespace,
        name,
        body: updated,
        onFailure: failure ? [failure(name)] : [],
      });
      this.claims.set(name, updated);
    }
    return actions;
  }

  private claimUpdateFailed(podName: string): (claim: string) => EventSpec {
    return (claim) => ev.podFailed('update', this.setName, podName, `could not update claim ${claim} for delete policy ownerRefs: `);
  }

  /** Claims first, then the pod, then the claims' retention ownerRefs. */
  createPod(pod: KubeObject): Action[] {
    const name = pod.metadata.name ?? '';
    return [
      ...this.createMissingClaims(this.set, pod, 'create'),
      {
        ...this.podCall('createPod', name),
        verb: 'create',
        body: pod,
        // A pod that already exists is someone else's (e.g. released); that is not news.
        onFailure: [{ ...ev.podFailed('create', this.setName, name), unlessReason: ['AlreadyExists'] }],
      },
      ...this.fixClaimOwners(this.set, pod, this.claimUpdateFailed(name)),
      { verb: 'record', purpose: 'podCreated', onSuccess: [ev.podSucceeded('create', this.setName, name)] },
    ];
  }

  /** A Pending pod may be waiting for a claim someone deleted: recreate it. */
  recoverPendingPod(pod: KubeObject): Action[] {
    return [
      ...this.createMissingClaims(this.set, pod),
      ...this.fixClaimOwners(this.set, pod, this.claimUpdateFailed(pod.metadata.name ?? '')),
    ];
  }

  /** Nothing when identity, storage and claim ownerRefs already match `set`. */
  repairPod(set: KubeObject, pod: KubeObject): Action[] {
    if (identityMatches(set, pod) && storageMatches(set, pod) && this.claimsMatchRetention(set, pod)) return [];
    const updated = clone(pod);
    const actions: Action[] = [];
    let consistent = true;
    if (!identityMatches(set, updated)) {
      updateIdentity(set, updated);
      consistent = false;
    }
    const name = updated.metadata.name ?? '';
    if (!storageMatches(set, updated)) {
      updateStorage(set, updated);
      consistent = false;
      actions.push(...this.createMissingClaims(set, updated, 'update'));
    }
    if (!this.claimsMatchRetention(set, updated)) {
      actions.push(...this.fixClaimOwners(set, updated, this.claimUpdateFailed(name)));
      consistent = false;
    }
    if (consistent) return [];
    actions.push({
      ...this.podCall('updatePod', name),
      verb: 'update',
      body: updated,
      onSuccess: [ev.podSucceeded('update', this.setName, name)],
      onFailure: [ev.podFailed('update', this.setName, name)],
    });
    return actions;
  }

  deletePod(pod: KubeObject, purpose: Purpose, tolerate?: string[]): Action {
    const name = pod.metadata.name ?? '';
    return {
      ...this.podCall(purpose, name),
      verb: 'delete',
      onSuccess: [ev.podSucceeded('delete', this.setName, name)],
      onFailure: [ev.podFailed('delete', this.setName, name)],
      ...(tolerate ? { tolerate } : {}),
    };
  }
}
