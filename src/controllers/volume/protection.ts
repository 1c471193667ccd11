// Storage-object-in-use protection: a deleted claim keeps kubernetes.io/pvc-protection while
// any scheduled pod still mounts it, and a deleted volume keeps kubernetes.io/pv-protection
// while it is Bound. Once free, the finalizer goes and the API server removes the object.
import { PVC_PROTECTION_FINALIZER } from '../../api/kinds/persistentvolumeclaim.js';
import { PV_PROTECTION_FINALIZER } from '../../api/kinds/persistentvolume.js';
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import type { Client } from '../../client/client.js';
import { resources } from '../../client/client.js';
import { keyOf, splitKey, type Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { removeFinalizer } from './finalizers.js';
import { PODS_BY_CLAIM, claimKey, podClaimNames, podsByClaim } from './helpers.js';

export class ProtectionController implements Controller {
  readonly name = 'volume-protection';
  private readonly claimQueue = new WorkQueue<string>();
  private readonly volumeQueue = new WorkQueue<string>();
  private client!: Client;
  private claims!: Informer;
  private volumes!: Informer;
  private pods!: Informer;

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.claims = ctx.informers.informerFor(resources.persistentVolumeClaims);
    this.volumes = ctx.informers.informerFor(resources.persistentVolumes);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.pods.addIndexer(PODS_BY_CLAIM, podsByClaim);

    const claimChanged = (c: KubeObject) => {
      if (c.metadata.deletionTimestamp) this.claimQueue.add(keyOf(c));
    };
    this.claims.addEventHandler({ onAdd: claimChanged, onUpdate: (_o, c) => claimChanged(c) });
    const volumeChanged = (pv: KubeObject) => {
      if (pv.metadata.deletionTimestamp) this.volumeQueue.add(pv.metadata.name!);
    };
    this.volumes.addEventHandler({ onAdd: volumeChanged, onUpdate: (_o, pv) => volumeChanged(pv) });
    // A pod going away (or being unscheduled, or losing a volume) may free its claims.
    const podChanged = (pod: KubeObject) => {
      for (const name of podClaimNames(pod)) {
        const claim = this.claims.get(claimKey(pod.metadata.namespace, name));
        if (claim?.metadata.deletionTimestamp) this.claimQueue.add(keyOf(claim));
      }
    };
    this.pods.addEventHandler({ onUpdate: (old) => podChanged(old), onDelete: podChanged });

    const onError = (key: string, err: unknown) => {
      if (!isApiError(err, 'Conflict')) console.warn(`[${this.name}] ${key}: ${err instanceof Error ? err.message : String(err)}`);
    };
    ctx.runWorkers(this.claimQueue, 1, (key) => this.syncClaim(key), { onError });
    ctx.runWorkers(this.volumeQueue, 1, (name) => this.syncVolume(name), { onError });
  }

  stop(): void {
    this.claimQueue.shutDown();
    this.volumeQueue.shutDown();
  }

  private async syncClaim(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim?.metadata.deletionTimestamp || !(claim.metadata.finalizers ?? []).includes(PVC_PROTECTION_FINALIZER)) return;
    if (this.cachedPodsUsing(claim).length) return;
    // The cache may not have seen a pod created a moment ago: ask the server too.
    const { namespace } = splitKey(key);
    const live = await this.client.pods(namespace).list();
    if (live.items.some((pod) => usesClaim(pod, claim))) return;
    await removeFinalizer(this.client.persistentVolumeClaims(namespace), claim, PVC_PROTECTION_FINALIZER);
  }

  private cachedPodsUsing(claim: KubeObject): KubeObject[] {
    return this.pods.byIndex(PODS_BY_CLAIM, keyOf(claim)).filter((pod) => usesClaim(pod, claim));
  }

  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (!pv?.metadata.deletionTimestamp || pv.status?.phase === 'Bound') return;
    await removeFinalizer(this.client.persistentVolumes(), pv, PV_PROTECTION_FINALIZER);
  }
}

/**
 * Upstream's rule: a scheduled pod naming the claim uses it whatever its phase (the kubelet
 * has seen it and may still be mounting); an unscheduled one never will, since the
 * scheduler refuses claims being deleted.
 */
function usesClaim(pod: KubeObject, claim: KubeObject): boolean {
  return !!pod.spec?.nodeName && pod.metadata.namespace === claim.metadata.namespace && podClaimNames(pod).includes(claim.metadata.name!);
}
