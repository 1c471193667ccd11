// What a sync decides to do, as plain data the act layer performs through the API client.
import type { KubeObject } from '../../api/object.js';
import type { EventSpec } from './events.js';

export type Resource = 'pods' | 'persistentvolumeclaims' | 'controllerrevisions' | 'statefulsets';

/** Why an action exists; tests and logs read it, the act layer only needs `verb`. */
export type Purpose =
  | 'verifyOwner'
  | 'adoptRevision'
  | 'adoptPod'
  | 'releasePod'
  | 'createRevision'
  | 'bumpRevision'
  | 'createClaim'
  | 'claimBeingDeleted'
  | 'createPod'
  | 'podCreated'
  | 'conflictingController'
  | 'updateClaimOwnerRefs'
  | 'updatePod'
  | 'deleteFailedPod'
  | 'deleteCondemnedPod'
  | 'deleteOutdatedPod'
  | 'writeStatus'
  | 'deleteRevision';

interface Base {
  purpose: Purpose;
  /** events recorded on the StatefulSet after the call */
  onSuccess?: EventSpec[];
  onFailure?: EventSpec[];
  /** Status reasons that do not count as a failure (events are still recorded as failures) */
  tolerate?: string[];
}

interface ObjectCall extends Base {
  resource: Resource;
  apiVersion: 'v1' | 'apps/v1';
  namespace: string;
  name: string;
}

export type Action =
  | (ObjectCall & { verb: 'create' | 'update' | 'updateStatus'; body: KubeObject })
  | (ObjectCall & { verb: 'patch'; patchType: 'strategic'; patch: Record<string, unknown> })
  | (ObjectCall & { verb: 'delete' })
  /** GET the set bypassing the cache; fails unless it exists with this uid and is not being deleted */
  | (ObjectCall & { verb: 'verifyOwner'; uid: string })
  /** no API call: only the events in onSuccess */
  | (Base & { verb: 'record' })
  /** a failure known in advance (no API call): onFailure is recorded with `error` */
  | (Base & { verb: 'fail'; error: string });

/** Actions that run in order; the first failure ends the unit. */
export type Unit = Action[];

/**
 * Units in one batch run concurrently; batches run in order and a batch with a failure ends
 * the step. Sequential work is one unit per batch.
 */
export interface Step {
  name: 'claim' | 'revision' | 'pods' | 'status' | 'history';
  /** abort: a failure ends the whole pass; continue: the pass goes on with the next step */
  onFailure: 'abort' | 'continue';
  batches: Unit[][];
}

export function sequential(name: Step['name'], onFailure: Step['onFailure'], actions: Action[]): Step {
  return { name, onFailure, batches: actions.map((a) => [[a]]) };
}
