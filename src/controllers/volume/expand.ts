// Volume expansion for directory-backed volumes, playing external-resizer: when a bound
// claim asks for more than its volume has, mark the claim Resizing, grow the PV, then record
// the new capacity on the claim. A directory has no filesystem to grow, so there is no
// node-side step: the claim finishes as soon as the PV does. Whether a claim may grow at
// all is decided at admission (the class's allowVolumeExpansion).
import { isApiError } from '../../api/errors.js';
import { clone, timestamp, type KubeObject } from '../../api/object.js';
import { compareQuantities, tryParseQuantity } from '../../api/quantity.js';
import type { Client } from '../../client/client.js';
import { resources } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { ANN_PROVISIONED_BY, LOCAL_PATH_PROVISIONER, requestedStorage, volumeCapacity } from './helpers.js';

const RESIZE_CONDITIONS = new Set(['Resizing', 'FileSystemResizePending', 'ControllerResizeError', 'NodeResizeError']);

export class ExpandController implements Controller {
  readonly name = 'volume-expand';
  private readonly queue = new WorkQueue<string>();
  private client!: Client;
  private recorder!: EventRecorder;
  private claims!: Informer;
  private volumes!: Informer;

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.recorder = new EventRecorder(ctx.client, `external-resizer ${LOCAL_PATH_PROVISIONER}`);
    this.claims = ctx.informers.informerFor(resources.persistentVolumeClaims);
    this.volumes = ctx.informers.informerFor(resources.persistentVolumes);
    this.claims.addEventHandler({ onAdd: (c) => this.queue.add(keyOf(c)), onUpdate: (_o, c) => this.queue.add(keyOf(c)) });
    const onError = (key: string, err: unknown) => {
      if (!isApiError(err, 'Conflict')) console.warn(`[${this.name}] ${key}: ${err instanceof Error ? err.message : String(err)}`);
    };
    ctx.runWorkers(this.queue, 1, (key) => this.sync(key), { onError });
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim || claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) return;
    const requested = requestedStorage(claim);
    const current = tryParseQuantity(claim.status?.capacity?.storage);
    if (!current || compareQuantities(requested, current) <= 0) return;
    const pv = this.volumes.get(claim.spec.volumeName);
    if (!pv || !isDirectoryVolume(pv) || pv.spec?.claimRef?.uid !== claim.metadata.uid) return;

    const size: string = claim.spec.resources.requests.storage;
    let updated = claim;
    if (compareQuantities(volumeCapacity(pv), requested) < 0) {
      updated = await this.markResizing(claim, size);
      this.recorder.event(updated, 'Normal', 'Resizing', `External resizer is resizing volume ${pv.metadata.name}`);
      const grown = clone(pv);
      grown.spec.capacity = { ...grown.spec.capacity, storage: size };
      await this.client.persistentVolumes().update(grown);
    }
    updated = await this.markFinished(updated, size);
    this.recorder.event(updated, 'Normal', 'VolumeResizeSuccessful', 'Resize volume succeeded');
  }

  private async markResizing(claim: KubeObject, size: string): Promise<KubeObject> {
    const next = clone(claim);
    const status = next.status;
    const conditions: any[] = (status.conditions ?? []).filter((c: any) => c.type !== 'Resizing');
    conditions.push({ type: 'Resizing', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp() });
    status.conditions = conditions;
    status.allocatedResources = { ...status.allocatedResources, storage: size };
    status.allocatedResourceStatuses = { ...status.allocatedResourceStatuses, storage: 'ControllerResizeInProgress' };
    return this.client.persistentVolumeClaims(claim.metadata.namespace).updateStatus(next);
  }

  private async markFinished(claim: KubeObject, size: string): Promise<KubeObject> {
    const next = clone(claim);
    const status = next.status;
    status.capacity = { ...status.capacity, storage: size };
    status.allocatedResources = { ...status.allocatedResources, storage: size };
    status.conditions = (status.conditions ?? []).filter((c: any) => !RESIZE_CONDITIONS.has(c.type));
    if (!status.conditions.length) delete status.conditions;
    if (status.allocatedResourceStatuses) {
      delete status.allocatedResourceStatuses.storage;
      if (!Object.keys(status.allocatedResourceStatuses).length) delete status.allocatedResourceStatuses;
    }
    return this.client.persistentVolumeClaims(claim.metadata.namespace).updateStatus(next);
  }
}

/** Volumes this resizer can grow: ours, or static directories (whose size nothing enforces). */
function isDirectoryVolume(pv: KubeObject): boolean {
  return pv.metadata.annotations?.[ANN_PROVISIONED_BY] === LOCAL_PATH_PROVISIONER || !!pv.spec?.hostPath || !!pv.spec?.local;
}
