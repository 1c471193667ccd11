// Access modes where they matter, as a pure check for the scheduler (filter) and the node
// agent (admission): ReadWriteOncePod admits one pod in the whole cluster; ReadWriteOnce
// admits pods on one node only. Upstream gets the second from attach/detach or from local
// volumes' node affinity; petset's shared directories have neither, so it is checked here.
import type { KubeObject } from '../../api/object.js';
import { isPodTerminated, podClaimNames } from './helpers.js';

/** Upstream's VolumeRestrictions reason. */
export const READ_WRITE_ONCE_POD_CONFLICT = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';
/** petset's own reason: a ReadWriteOnce volume already mounted on another node. */
export const READ_WRITE_ONCE_CONFLICT = 'node(s) unavailable due to a ReadWriteOnce PersistentVolumeClaim in use on another node';

/**
 * Why `pod` may not run on `nodeName` because of how its claims are already used, or
 * undefined. `claimNamed` looks claims up in the pod's namespace; `pods` are the cluster's
 * pods (the pod itself is skipped). Only scheduled, unfinished pods hold a claim.
 */
export function volumeAccessConflict(
  pod: KubeObject,
  nodeName: string,
  claimNamed: (name: string) => KubeObject | undefined,
  pods: Iterable<KubeObject>,
): string | undefined {
  const wanted = podClaimNames(pod);
  if (!wanted.length) return undefined;
  const holders = new Map<string, KubeObject[]>();
  for (const other of pods) {
    if (other.metadata.uid === pod.metadata.uid || other.metadata.namespace !== pod.metadata.namespace) continue;
    if (!other.spec?.nodeName || isPodTerminated(other)) continue;
    for (const name of podClaimNames(other)) {
      if (wanted.includes(name)) holders.set(name, [...(holders.get(name) ?? []), other]);
    }
  }
  for (const name of wanted) {
    const users = holders.get(name);
    const claim = claimNamed(name);
    if (!users || !claim) continue;
    if ((claim.spec?.accessModes ?? []).includes('ReadWriteOncePod')) return READ_WRITE_ONCE_POD_CONFLICT;
    // What the bound volume offers decides whether several nodes may mount it.
    const modes: string[] = claim.status?.accessModes ?? claim.spec?.accessModes ?? [];
    const singleNode = modes.includes('ReadWriteOnce') && !modes.includes('ReadWriteMany') && !modes.includes('ReadOnlyMany');
    if (singleNode && users.some((u) => u.spec.nodeName !== nodeName)) return READ_WRITE_ONCE_CONFLICT;
  }
  return undefined;
}
