// Access modes where they matter, as pure checks for the scheduler (filter) and the node
// agent (before mounting): ReadWriteOncePod admits one pod in the whole cluster;
// ReadWriteOnce admits pods on one node only. Upstream gets the second from attach/detach
// or from local volumes' node affinity; petset's shared directories have neither, so it is
// checked here. Shared pure rules, so they live in api/ (controllers, scheduler and agent
// import no one else's folder).
import type { KubeObject } from './object.js';

export function isPodTerminated(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Claims a pod mounts: named ones, and generic ephemeral ones (named <pod>-<volume>). */
export function podClaimNames(pod: KubeObject): string[] {
  const names: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v?.persistentVolumeClaim?.claimName) names.push(v.persistentVolumeClaim.claimName);
    else if (v?.ephemeral) names.push(`${pod.metadata.name}-${v.name}`);
  }
  return names;
}

/** Upstream's VolumeRestrictions reason. */
export const READ_WRITE_ONCE_POD_CONFLICT = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';
/** petset's own reason: a ReadWriteOnce volume already mounted on another node. */
export const READ_WRITE_ONCE_CONFLICT = 'node(s) unavailable due to a ReadWriteOnce PersistentVolumeClaim in use on another node';

/** How widely a claim may be shared: by one pod, by the pods of one node, or freely. */
export function claimExclusivity(claim: KubeObject): 'pod' | 'node' | undefined {
  if ((claim.spec?.accessModes ?? []).includes('ReadWriteOncePod')) return 'pod';
  // What the bound volume offers decides whether several nodes may mount it.
  const modes: string[] = claim.status?.accessModes ?? claim.spec?.accessModes ?? [];
  return modes.includes('ReadWriteOnce') && !modes.includes('ReadWriteMany') && !modes.includes('ReadOnlyMany') ? 'node' : undefined;
}

/**
 * Why `pod` may not run on a node because of how its claims are already used, per node
 * name (undefined: no conflict). `claimNamed` looks claims up in the pod's namespace;
 * `pods` are the cluster's pods (the pod itself is skipped). Only scheduled, unfinished
 * pods hold a claim. The pods are read once, so one check serves every node of a cycle.
 */
export function volumeAccessCheck(
  pod: KubeObject,
  claimNamed: (name: string) => KubeObject | undefined,
  pods: Iterable<KubeObject>,
): (nodeName: string) => string | undefined {
  const wanted = new Set(podClaimNames(pod));
  if (!wanted.size) return () => undefined;
  const holderNodes = new Map<string, Set<string>>();
  for (const other of pods) {
    if (other.metadata.uid === pod.metadata.uid || other.metadata.namespace !== pod.metadata.namespace) continue;
    if (!other.spec?.nodeName || isPodTerminated(other)) continue;
    for (const name of podClaimNames(other)) {
      if (!wanted.has(name)) continue;
      const nodes = holderNodes.get(name) ?? new Set<string>();
      nodes.add(other.spec.nodeName);
      holderNodes.set(name, nodes);
    }
  }
  const pinned: Set<string>[] = [];
  for (const [name, nodes] of holderNodes) {
    const claim = claimNamed(name);
    const exclusivity = claim && claimExclusivity(claim);
    if (exclusivity === 'pod') return () => READ_WRITE_ONCE_POD_CONFLICT;
    if (exclusivity === 'node') pinned.push(nodes);
  }
  if (!pinned.length) return () => undefined;
  return (nodeName) => (pinned.some((nodes) => [...nodes].some((n) => n !== nodeName)) ? READ_WRITE_ONCE_CONFLICT : undefined);
}

/** volumeAccessCheck for a single node. */
export function volumeAccessConflict(
  pod: KubeObject,
  nodeName: string,
  claimNamed: (name: string) => KubeObject | undefined,
  pods: Iterable<KubeObject>,
): string | undefined {
  return volumeAccessCheck(pod, claimNamed, pods)(nodeName);
}
