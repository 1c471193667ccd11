// Taint-based eviction (upstream's taint-eviction-controller): a pod on a node with NoExecute
// taints is deleted at once when it does not tolerate one of them, or when the shortest
// tolerationSeconds of the tolerations it relies on has passed. Deletion is the ordinary
// graceful DELETE; on a dead node nobody confirms it, so the pod stays Terminating.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { updatePodCondition } from '../../api/pod-status.js';
import { matchingTolerations, minTolerationSeconds, taintsOf, tolerationsOf, type Taint } from '../../api/taints.js';
import type { Client } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';

const DELETE_RETRIES = 5;

interface Scheduled {
  createdAt: number;
  fireAt: number;
  timer: NodeJS.Timeout;
}

export function noExecuteTaints(node: KubeObject): Taint[] {
  return taintsOf(node).filter((t) => t.effect === 'NoExecute');
}

export class TaintEviction {
  private readonly scheduled = new Map<string, Scheduled>();
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly recorder: EventRecorder,
    private readonly nodes: Informer,
    private readonly pods: Informer,
    private readonly podsOnNode: (node: string) => KubeObject[],
  ) {}

  start(): void {
    this.nodes.addEventHandler({
      onAdd: (node) => this.nodeChanged(node),
      onUpdate: (old, node) => {
        if (JSON.stringify(noExecuteTaints(old)) !== JSON.stringify(noExecuteTaints(node))) this.nodeChanged(node);
      },
      onDelete: (node) => {
        for (const pod of this.podsOnNode(node.metadata.name!)) this.cancel(keyOf(pod));
      },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podChanged(pod),
      onUpdate: (old, pod) => {
        if (old.spec?.nodeName !== pod.spec?.nodeName || JSON.stringify(tolerationsOf(old)) !== JSON.stringify(tolerationsOf(pod))) {
          this.podChanged(pod);
        }
      },
      onDelete: (pod) => this.cancel(keyOf(pod), false),
    });
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.scheduled.values()) clearTimeout(s.timer);
    this.scheduled.clear();
  }

  private nodeChanged(node: KubeObject): void {
    const taints = noExecuteTaints(node);
    for (const pod of this.podsOnNode(node.metadata.name!)) this.process(pod, taints);
  }

  private podChanged(pod: KubeObject): void {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    const node = this.nodes.get(nodeName);
    if (node) this.process(pod, noExecuteTaints(node));
  }

  /** Decides, for one pod on a node with these NoExecute taints, whether and when it must go. */
  private process(pod: KubeObject, taints: Taint[]): void {
    const key = keyOf(pod);
    if (pod.metadata.deletionTimestamp) {
      this.cancel(key, false);
      return;
    }
    if (!taints.length) {
      this.cancel(key);
      return;
    }
    const { allTolerated, used } = matchingTolerations(taints, tolerationsOf(pod));
    if (!allTolerated) {
      this.cancel(key);
      this.schedule(pod, Date.now(), Date.now());
      return;
    }
    const seconds = minTolerationSeconds(used);
    if (seconds < 0) {
      this.cancel(key);
      return;
    }
    const existing = this.scheduled.get(key);
    const createdAt = existing?.createdAt ?? Date.now();
    const fireAt = createdAt + seconds * 1000;
    if (existing) {
      if (existing.fireAt <= fireAt) return;
      this.cancel(key, false);
    }
    this.schedule(pod, createdAt, fireAt);
  }

  private schedule(pod: KubeObject, createdAt: number, fireAt: number): void {
    const key = keyOf(pod);
    // Node fires delays beyond 2^31-1 ms (~24.8 days) at once: a longer toleration waits in steps
    const timer = setTimeout(() => {
      this.scheduled.delete(key);
      if (fireAt > Date.now()) return this.schedule(pod, createdAt, fireAt);
      void this.evict(pod);
    }, Math.min(Math.max(0, fireAt - Date.now()), 2 ** 31 - 1));
    timer.unref();
    this.scheduled.set(key, { createdAt, fireAt, timer });
  }

  /** Drops a scheduled eviction; with an event when one was pending and the pod stays. */
  private cancel(key: string, withEvent = true): void {
    const s = this.scheduled.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    this.scheduled.delete(key);
    const pod = this.pods.get(key);
    if (withEvent && pod) this.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
  }

  private async evict(target: KubeObject): Promise<void> {
    const key = keyOf(target);
    this.recorder.event(target, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    const pods = this.client.pods(target.metadata.namespace);
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const pod = await pods.get(target.metadata.name!);
        if (pod.metadata.uid !== target.metadata.uid) return;
        const status = structuredClone(pod.status ?? {});
        const condition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' };
        if (updatePodCondition(status, condition)) {
          await pods.patch(pod.metadata.name!, { metadata: { uid: pod.metadata.uid }, status: { conditions: status.conditions } }, 'strategic', {
            subresource: 'status',
          });
        }
        await pods.delete(pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
        return;
      } catch (e) {
        if (isApiError(e, 'NotFound')) return;
        if (attempt >= DELETE_RETRIES) {
          console.warn(`[taint-eviction] could not delete pod ${key}: ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
}
