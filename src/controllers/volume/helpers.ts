// Names and small pure helpers shared by the volume controllers: the annotations and
// finalizers upstream's binder and external provisioners agree on, and how to read
// classes, sizes, access modes and node affinity off plain objects.
import { storageClassOf } from '../../api/kinds/support.js';
import type { KubeObject } from '../../api/object.js';
import { compareQuantities, tryParseQuantity, type Quantity } from '../../api/quantity.js';
import type { IndexFunc } from '../../client/informer.js';
import { podClaimNames } from '../../api/volume-access.js';

/** The built-in provisioner: a directory per claim. */
export const LOCAL_PATH_PROVISIONER = 'petset.io/local-path';
/** Classes naming this provisioner only bind static volumes. */
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';
export const DEFAULT_STORAGE_CLASS = 'standard';

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
/** Set on a claim by the scheduler for WaitForFirstConsumer classes: provision for this node. */
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
/** The node whose data directory holds a local-path volume (multi-machine mode). */
export const ANN_LOCAL_PATH_NODE = 'petset.io/local-path-node';
/** Held by the provisioner on volumes it must clean up, so deleting the PV first still frees the directory. */
export const PROVISIONER_FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/**
 * In-tree provisioner names that upstream hands to CSI drivers (CSI migration), so they
 * count as external there; any other `kubernetes.io/` name needs an in-tree plugin.
 */
const MIGRATED_IN_TREE = new Set([
  'kubernetes.io/gce-pd',
  'kubernetes.io/aws-ebs',
  'kubernetes.io/azure-disk',
  'kubernetes.io/azure-file',
  'kubernetes.io/cinder',
  'kubernetes.io/vsphere-volume',
  'kubernetes.io/portworx-volume',
]);

/** Whether an external provisioner (rather than an in-tree plugin) would serve this name upstream. */
export function isExternalProvisioner(name: string): boolean {
  return !name.startsWith('kubernetes.io/') || MIGRATED_IN_TREE.has(name);
}

export const claimClass = storageClassOf;
export const volumeClass = storageClassOf;

/** A class was asked for, even the empty one; nil means "give me the default". */
export function claimHasClass(claim: KubeObject): boolean {
  const a = claim.metadata.annotations ?? {};
  return 'volume.beta.kubernetes.io/storage-class' in a || (claim.spec?.storageClassName !== undefined && claim.spec?.storageClassName !== null);
}

export function hasAnnotation(obj: KubeObject, key: string): boolean {
  return obj.metadata.annotations?.[key] !== undefined;
}

export function claimKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

export function requestedStorage(claim: KubeObject): Quantity {
  return tryParseQuantity(claim.spec?.resources?.requests?.storage) ?? { nanos: 0n, format: 'BinarySI' };
}

export function volumeCapacity(pv: KubeObject): Quantity {
  return tryParseQuantity(pv.spec?.capacity?.storage) ?? { nanos: 0n, format: 'BinarySI' };
}

export function isLarger(a: Quantity, b: Quantity): boolean {
  return compareQuantities(a, b) > 0;
}

export function volumeModeOf(obj: KubeObject): string {
  return obj.spec?.volumeMode || 'Filesystem';
}

/** The PV offers every mode the claim asks for. */
export function accessModesSatisfied(claim: KubeObject, pv: KubeObject): boolean {
  const offered = new Set<string>(pv.spec?.accessModes ?? []);
  return (claim.spec?.accessModes ?? []).every((m: string) => offered.has(m));
}

/** claimRef names this claim (and its uid, when the ref carries one). */
export function isVolumeBoundToClaim(pv: KubeObject, claim: KubeObject): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace) return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

export function claimReference(claim: KubeObject): Record<string, string> {
  return {
    kind: 'PersistentVolumeClaim',
    namespace: claim.metadata.namespace!,
    name: claim.metadata.name!,
    uid: claim.metadata.uid!,
    apiVersion: 'v1',
    resourceVersion: claim.metadata.resourceVersion!,
  };
}

export { isPodTerminated, podClaimNames } from '../../api/volume-access.js';

/** Pods indexed by the "namespace/claim" keys they mount. */
export const PODS_BY_CLAIM = 'volume:pods-by-claim';
export const podsByClaim: IndexFunc = (pod) => podClaimNames(pod).map((c) => claimKey(pod.metadata.namespace, c));

/** Volumes indexed by the "namespace/claim" their claimRef names. */
export const VOLUMES_BY_CLAIM = 'volume:volumes-by-claim';
export const volumesByClaim: IndexFunc = (pv) => (pv.spec?.claimRef?.name ? [claimKey(pv.spec.claimRef.namespace, pv.spec.claimRef.name)] : []);

export interface NodeView {
  name: string;
  labels: Record<string, string>;
}

/** The node's labels; a node with no Node object is known only by name (and its hostname label). */
export function nodeView(name: string, node: KubeObject | undefined): NodeView {
  return { name, labels: node?.metadata.labels ?? { [HOSTNAME_LABEL]: name } };
}

/** Whether the PV's required node affinity admits the node (no affinity admits every node). */
export function nodeAffinityFits(pv: KubeObject, node: NodeView): boolean {
  const terms: any[] | undefined = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!terms) return true;
  return terms.some((term) => {
    const exprs: any[] = term?.matchExpressions ?? [];
    const fields: any[] = term?.matchFields ?? [];
    if (!exprs.length && !fields.length) return false;
    return exprs.every((e) => requirementMatches(e, node.labels[e.key])) && fields.every((f) => f.key === 'metadata.name' && requirementMatches(f, node.name));
  });
}

function requirementMatches(req: { operator: string; values?: string[] }, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const have = Number.parseInt(value ?? '', 10);
      const want = Number.parseInt(values[0] ?? '', 10);
      if (!Number.isInteger(have) || !Number.isInteger(want)) return false;
      return req.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** A node-local volume's nodeAffinity: pinned to the node's hostname label. */
export function hostnameAffinity(hostname: string): Record<string, unknown> {
  return { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [hostname] }] }] } };
}
