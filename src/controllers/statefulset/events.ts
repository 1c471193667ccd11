// The events the StatefulSet controller records, always on the StatefulSet, with upstream's
// reasons and message texts (users and tools match on them).

export const EVENT_SOURCE = 'statefulset-controller';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** the failing call's error text is appended to the message */
  appendError?: boolean;
  /** not recorded when the call failed with one of these Status reasons */
  unlessReason?: string[];
}

type PodVerb = 'create' | 'update' | 'delete';

function titled(verb: string): string {
  return verb[0].toUpperCase() + verb.slice(1);
}

export function podSucceeded(verb: PodVerb, set: string, pod: string): EventSpec {
  return { type: 'Normal', reason: `Successful${titled(verb)}`, message: `${verb} Pod ${pod} in StatefulSet ${set} successful` };
}

/** `cause` is text upstream wraps around the underlying error, e.g. "failed to create PVC x: ". */
export function podFailed(verb: PodVerb, set: string, pod: string, cause = ''): EventSpec {
  return {
    type: 'Warning',
    reason: `Failed${titled(verb)}`,
    message: `${verb} Pod ${pod} in StatefulSet ${set} failed error: ${cause}`,
    appendError: true,
  };
}

export function claimCreated(set: string, pod: string, claim: string): EventSpec {
  return { type: 'Normal', reason: 'SuccessfulCreate', message: `create Claim ${claim} Pod ${pod} in StatefulSet ${set} success` };
}

export function claimCreateFailed(set: string, pod: string, claim: string): EventSpec {
  return {
    type: 'Warning',
    reason: 'FailedCreate',
    message: `create Claim ${claim} for Pod ${pod} in StatefulSet ${set} failed error: `,
    appendError: true,
    unlessReason: ['AlreadyExists'],
  };
}

export function conflictingController(claim: string): EventSpec {
  return {
    type: 'Warning',
    reason: 'ConflictingController',
    // "manging" is upstream's spelling.
    message: `PersistentVolumeClaim ${claim} has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim`,
  };
}

/** Renders an event for a call's outcome (error text for failures). */
export function renderEvent(e: EventSpec, error?: string): string {
  return e.appendError && error !== undefined ? e.message + error : e.message;
}
