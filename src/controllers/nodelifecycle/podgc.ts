// Pod garbage collection (upstream's podgc controller): pods nobody will ever finish are
// marked Failed and force-deleted — those bound to a Node that no longer exists (after a
// quarantine and a live check), terminating pods that never got a node, terminating pods on
// a node that is down and declared out of service, and the oldest finished pods beyond a
// threshold.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { isPodTerminal, updatePodCondition, type PodCondition } from '../../api/pod-status.js';
import { TAINT, taintsOf } from '../../api/taints.js';
import type { Client } from '../../client/client.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { isNodeReady } from './health.js';

export interface PodGCOptions {
  /** finished pods kept before the oldest are deleted; 0 keeps all (12500) */
  terminatedPodThreshold: number;
  /** how long a node must be missing before its pods count as orphans (40 s) */
  orphanQuarantineMs: number;
}

const NODE_GONE: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' };

export class PodGarbageCollector {
  /** node name → when pods were first seen bound to it while it was missing */
  private readonly missingSince = new Map<string, number>();

  constructor(
    private readonly client: Client,
    private readonly nodes: Informer,
    private readonly pods: Informer,
    private readonly options: PodGCOptions,
  ) {}

  async run(): Promise<void> {
    const pods = this.pods.list();
    await this.gcTerminated(pods);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods);
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp && !pod.spec?.nodeName) await this.forceDelete(pod);
    }
  }

  private async gcTerminated(pods: KubeObject[]): Promise<void> {
    if (this.options.terminatedPodThreshold <= 0) return;
    const finished = pods.filter(isPodTerminal);
    const excess = finished.length - this.options.terminatedPodThreshold;
    if (excess <= 0) return;
    finished.sort((a, b) => Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? ''));
    for (const pod of finished.slice(0, excess)) await this.forceDelete(pod);
  }

  private async gcTerminating(pods: KubeObject[]): Promise<void> {
    for (const pod of pods) {
      if (!pod.metadata.deletionTimestamp || isPodTerminal(pod)) continue;
      const node = this.nodes.get(pod.spec?.nodeName ?? '');
      if (node && !isNodeReady(node) && taintsOf(node).some((t) => t.key === TAINT.outOfService)) await this.forceDelete(pod);
    }
  }

  private async gcOrphaned(pods: KubeObject[]): Promise<void> {
    const now = Date.now();
    const missing = new Set<string>();
    for (const pod of pods) {
      const nodeName = pod.spec?.nodeName;
      if (nodeName && !this.nodes.get(nodeName)) missing.add(nodeName);
    }
    for (const name of this.missingSince.keys()) if (!missing.has(name)) this.missingSince.delete(name);
    const gone = new Set<string>();
    for (const name of missing) {
      const since = this.missingSince.get(name);
      if (since === undefined) {
        this.missingSince.set(name, now);
        continue;
      }
      if (now - since < this.options.orphanQuarantineMs) continue;
      // the cache may lag: only a node the API server does not know is really gone
      try {
        await this.client.nodes().get(name);
      } catch (e) {
        if (isApiError(e, 'NotFound')) gone.add(name);
      }
    }
    for (const pod of pods) {
      if (gone.has(pod.spec?.nodeName)) await this.forceDelete(pod, NODE_GONE);
    }
  }

  /** Marks the pod Failed (unless it already finished), then deletes it with grace 0. */
  private async forceDelete(pod: KubeObject, condition?: PodCondition): Promise<void> {
    const pods = this.client.pods(pod.metadata.namespace);
    try {
      if (!isPodTerminal(pod)) {
        const status = structuredClone(pod.status ?? {});
        status.phase = 'Failed';
        if (condition) updatePodCondition(status, condition);
        const patch: Record<string, unknown> = { phase: 'Failed' };
        if (condition) patch.conditions = status.conditions;
        await pods.patch(pod.metadata.name!, { metadata: { uid: pod.metadata.uid }, status: patch }, 'strategic', { subresource: 'status' });
      }
      await pods.delete(pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
    } catch (e) {
      if (!isApiError(e, 'NotFound')) console.warn(`[podgc] could not delete pod ${keyOf(pod)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
