// Which pods and ControllerRevisions belong to a set (section 4): adopt matching orphans,
// release owned pods that stopped matching. Adoption first re-checks the set uncached.
import type { KubeObject } from '../../api/object.js';
import { controllerRef } from '../../api/object.js';
import type { LabelSelectorObject } from '../../api/selectors.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import type { Action } from './actions.js';
import { isMemberOf, SET_API_VERSION, setControllerRef } from './identity.js';

/** The set's selector as a predicate, or the reason it cannot be used. */
export function labelSelector(sel: LabelSelectorObject | undefined): Selector | { error: string } {
  try {
    const selector = labelSelectorFromObject(sel);
    return (labels) => selector.matches(labels);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export type Selector = (labels: Record<string, string> | undefined) => boolean;

function ownerCheck(set: KubeObject): Action {
  return {
    verb: 'verifyOwner',
    purpose: 'verifyOwner',
    resource: 'statefulsets',
    apiVersion: SET_API_VERSION,
    namespace: set.metadata.namespace ?? '',
    name: set.metadata.name ?? '',
    uid: set.metadata.uid ?? '',
  };
}

function adoptPatch(set: KubeObject, obj: KubeObject): Record<string, unknown> {
  return { metadata: { ownerReferences: [setControllerRef(set)], uid: obj.metadata.uid } };
}

export interface Claimed {
  /** the objects that belong to the set after this pass's adoptions and releases */
  claimed: KubeObject[];
  actions: Action[];
}

/**
 * The set's ControllerRevisions: those matching the selector that it controls or that nobody
 * controls. Orphans are adopted; owned revisions are never released.
 */
export function claimRevisions(set: KubeObject, revisions: KubeObject[], selector: Selector): Claimed {
  const ns = set.metadata.namespace;
  const claimed = revisions.filter((r) => {
    const ref = controllerRef(r);
    return r.metadata.namespace === ns && selector(r.metadata.labels) && (!ref || ref.uid === set.metadata.uid);
  });
  const orphans = claimed.filter((r) => !controllerRef(r));
  const actions: Action[] = orphans.map((r) => ({
    verb: 'patch',
    purpose: 'adoptRevision',
    resource: 'controllerrevisions',
    apiVersion: 'apps/v1',
    namespace: ns ?? '',
    name: r.metadata.name ?? '',
    patchType: 'strategic',
    patch: adoptPatch(set, r),
  }));
  return { claimed, actions: actions.length ? [ownerCheck(set), ...actions] : [] };
}

/**
 * The set's pods among every pod in its namespace. A pod matches when the selector matches its
 * labels and its name makes it a member of the set.
 */
export function claimPods(set: KubeObject, pods: KubeObject[], selector: Selector): Claimed {
  const setDeleting = !!set.metadata.deletionTimestamp;
  const claimed: KubeObject[] = [];
  const releases: Action[] = [];
  const adoptions: Action[] = [];
  const ns = set.metadata.namespace ?? '';
  for (const pod of pods) {
    const matches = selector(pod.metadata.labels) && isMemberOf(set, pod);
    const ref = controllerRef(pod);
    const call = () => ({ resource: 'pods', apiVersion: 'v1', namespace: ns, name: pod.metadata.name ?? '' }) as const;
    if (ref) {
      if (ref.uid !== set.metadata.uid) continue;
      if (matches) claimed.push(pod);
      else if (!setDeleting) {
        releases.push({
          ...call(),
          verb: 'patch',
          purpose: 'releasePod',
          patchType: 'strategic',
          patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: set.metadata.uid }], uid: pod.metadata.uid } },
          tolerate: ['NotFound', 'Invalid'],
        });
      }
      continue;
    }
    if (setDeleting || !matches || pod.metadata.deletionTimestamp || pod.metadata.namespace !== ns) continue;
    adoptions.push({
      ...call(),
      verb: 'patch',
      purpose: 'adoptPod',
      patchType: 'strategic',
      patch: adoptPatch(set, pod),
      tolerate: ['NotFound'],
    });
    claimed.push({
      ...pod,
      metadata: { ...pod.metadata, ownerReferences: [...(pod.metadata.ownerReferences ?? []), setControllerRef(set)] },
    });
  }
  const actions = adoptions.length ? [...releases, ownerCheck(set), ...adoptions] : releases;
  return { claimed, actions };
}
