// A stateful pod's identity: its ordinal, name, labels, storage and the predicates the
// controller's decisions are built from. Pure functions over plain objects.
import type { KubeObject, OwnerReference } from '../../api/object.js';
import { clone } from '../../api/object.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const REVISION_LABEL = 'controller-revision-hash';

export const SET_API_VERSION = 'apps/v1';
export const SET_KIND = 'StatefulSet';

const MAX_INT32 = 2147483647;

export function startOrdinal(set: KubeObject): number {
  return set.spec?.ordinals?.start ?? 0;
}

export function replicaCount(set: KubeObject): number {
  return set.spec?.replicas ?? 1;
}

/** Last in-range ordinal; start − 1 when the set has no replicas. */
export function endOrdinal(set: KubeObject): number {
  return startOrdinal(set) + replicaCount(set) - 1;
}

/** The set name and ordinal encoded in a pod name; ordinal −1 when it does not parse as an int32. */
export function parentAndOrdinal(podName: string): { parent: string; ordinal: number } {
  // By hand rather than /^(.*)-([0-9]+)$/: every pass parses every replica's name.
  const dash = podName.lastIndexOf('-');
  if (dash < 0 || dash === podName.length - 1) return { parent: '', ordinal: -1 };
  for (let i = dash + 1; i < podName.length; i++) {
    const c = podName.charCodeAt(i);
    if (c < 48 || c > 57) return { parent: '', ordinal: -1 };
  }
  const n = Number(podName.slice(dash + 1));
  return { parent: podName.slice(0, dash), ordinal: n <= MAX_INT32 ? n : -1 };
}

/**
 * Parsed names of pods as the cache holds them, so a pass does not parse every replica's
 * name again; keyed by the metadata object and checked against the name, which a caller
 * may have rewritten (updateIdentity) since.
 */
const parsedNames = new WeakMap<object, { name: string; parent: string; ordinal: number }>();

function parsedName(pod: KubeObject): { parent: string; ordinal: number } {
  const name = pod.metadata.name ?? '';
  const hit = parsedNames.get(pod.metadata);
  if (hit && hit.name === name) return hit;
  const parsed = { name, ...parentAndOrdinal(name) };
  parsedNames.set(pod.metadata, parsed);
  return parsed;
}

export function ordinalOf(pod: KubeObject): number {
  return parsedName(pod).ordinal;
}

export function isMemberOf(set: KubeObject, pod: KubeObject): boolean {
  return parsedName(pod).parent === set.metadata.name;
}

export function inOrdinalRange(set: KubeObject, pod: KubeObject): boolean {
  const ordinal = ordinalOf(pod);
  return ordinal >= startOrdinal(set) && ordinal <= endOrdinal(set);
}

export function podName(set: KubeObject, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

export function claimName(set: KubeObject, templateName: string, ordinal: number): string {
  return `${templateName}-${set.metadata.name}-${ordinal}`;
}

export function podRevision(pod: KubeObject): string {
  return pod.metadata.labels?.[REVISION_LABEL] ?? '';
}

/* ---------- pod state predicates ---------- */

function phase(pod: KubeObject): string {
  return pod.status?.phase ?? '';
}

/** Pods built in memory for empty slots have no phase until the API server has them. */
export function isCreated(pod: KubeObject): boolean {
  return phase(pod) !== '';
}

export function isPending(pod: KubeObject): boolean {
  return phase(pod) === 'Pending';
}

export function isFailed(pod: KubeObject): boolean {
  return phase(pod) === 'Failed';
}

export function isSucceeded(pod: KubeObject): boolean {
  return phase(pod) === 'Succeeded';
}

export function isTerminating(pod: KubeObject): boolean {
  return !!pod.metadata.deletionTimestamp;
}

function readyCondition(pod: KubeObject): { status?: string; lastTransitionTime?: string } | undefined {
  return (pod.status?.conditions as any[] | undefined)?.find((c) => c?.type === 'Ready');
}

export function isRunningAndReady(pod: KubeObject): boolean {
  return phase(pod) === 'Running' && readyCondition(pod)?.status === 'True';
}

/** Ready for longer than minReadySeconds (strictly), measured from the Ready condition's transition. */
export function isRunningAndAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  if (!isRunningAndReady(pod)) return false;
  if (minReadySeconds === 0) return true;
  const since = Date.parse(readyCondition(pod)?.lastTransitionTime ?? '');
  return !Number.isNaN(since) && since + minReadySeconds * 1000 < now;
}

export function isUnavailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  return !isRunningAndAvailable(pod, minReadySeconds, now) || isTerminating(pod);
}

/* ---------- owner references ---------- */

export function controllerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function setControllerRef(set: KubeObject): OwnerReference {
  return controllerRefTo(set, SET_API_VERSION, SET_KIND);
}

/* ---------- identity and storage ---------- */

export function identityMatches(set: KubeObject, pod: KubeObject): boolean {
  const { parent, ordinal } = parsedName(pod);
  return (
    ordinal >= 0 &&
    parent === set.metadata.name &&
    pod.metadata.name === podName(set, ordinal) &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name
  );
}

/** Rewrites name, namespace and the identity labels in place. */
export function updateIdentity(set: KubeObject, pod: KubeObject): void {
  const ordinal = ordinalOf(pod);
  pod.metadata.name = podName(set, ordinal);
  pod.metadata.namespace = set.metadata.namespace;
  pod.metadata.labels = { ...pod.metadata.labels, [POD_NAME_LABEL]: pod.metadata.name, [POD_INDEX_LABEL]: String(ordinal) };
}

function claimTemplates(set: KubeObject): KubeObject[] {
  return (set.spec?.volumeClaimTemplates as KubeObject[] | undefined) ?? [];
}

export function storageMatches(set: KubeObject, pod: KubeObject): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = (pod.spec?.volumes as any[] | undefined) ?? [];
  return claimTemplates(set).every((t) => {
    const name = t.metadata.name ?? '';
    // the last volume of a name wins, as a map built from the list would have it
    let found: any;
    for (const v of volumes) if (v?.name === name) found = v;
    return found?.persistentVolumeClaim?.claimName === claimName(set, name, ordinal);
  });
}

/** Claim volumes first (templates win over same-named template volumes), then the other volumes. */
export function updateStorage(set: KubeObject, pod: KubeObject): void {
  const ordinal = ordinalOf(pod);
  const templates = claimTemplates(set);
  const names = new Set(templates.map((t) => t.metadata.name));
  const volumes: any[] = templates.map((t) => ({
    name: t.metadata.name,
    persistentVolumeClaim: { claimName: claimName(set, t.metadata.name ?? '', ordinal) },
  }));
  for (const v of (pod.spec?.volumes as any[] | undefined) ?? []) if (!names.has(v.name)) volumes.push(v);
  pod.spec = { ...pod.spec, volumes };
}

/** The names of the PVCs a pod of this ordinal uses, in claim-template order. */
export function claimNamesFor(set: KubeObject, ordinal: number): string[] {
  return claimTemplates(set).map((t) => claimName(set, t.metadata.name ?? '', ordinal));
}

/** The PVCs a pod of this ordinal uses, in claim-template order, as they would be created. */
export function claimsFor(set: KubeObject, ordinal: number): KubeObject[] {
  return claimTemplates(set).map((t) => claimFor(set, t, ordinal));
}

/** The PVC one claim template makes for a pod of this ordinal; built only for claims to create. */
export function claimFor(set: KubeObject, template: KubeObject, ordinal: number): KubeObject {
  const selectorLabels: Record<string, string> = set.spec?.selector?.matchLabels ?? {};
  const { status: _status, ...rest } = clone(template);
  return {
    ...rest,
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      ...rest.metadata,
      name: claimName(set, template.metadata.name ?? '', ordinal),
      namespace: set.metadata.namespace,
      labels: { ...template.metadata.labels, ...selectorLabels },
    },
  };
}

/** The claim templates with the names of the PVCs they make for a pod of this ordinal. */
export function claimTemplatesFor(set: KubeObject, ordinal: number): { template: KubeObject; name: string }[] {
  return claimTemplates(set).map((template) => ({ template, name: claimName(set, template.metadata.name ?? '', ordinal) }));
}

/**
 * A new pod for `ordinal` built from the given pod template (the template of the revision it
 * will carry), labelled with that revision's name.
 */
export function newStatefulSetPod(set: KubeObject, template: any, revisionName: string, ordinal: number): KubeObject {
  const name = podName(set, ordinal);
  const meta = template?.metadata ?? {};
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `${set.metadata.name}-`,
      namespace: set.metadata.namespace,
      labels: { ...meta.labels },
      ownerReferences: [setControllerRef(set)],
    },
    spec: clone(template?.spec ?? {}),
  };
  if (meta.annotations) pod.metadata.annotations = { ...meta.annotations };
  if (meta.finalizers) pod.metadata.finalizers = [...meta.finalizers];
  updateIdentity(set, pod);
  pod.spec.hostname = name;
  if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
  else delete pod.spec.subdomain;
  updateStorage(set, pod);
  pod.metadata.labels![REVISION_LABEL] = revisionName;
  return pod;
}
