// The PersistentVolume controller (upstream's "persistentvolume-binder"): binds claims and
// volumes both ways, keeps their phases, asks external provisioners for volumes, assigns
// the default class to claims created before one existed, and releases volumes whose claim
// is gone. Every binding step is its own API write; resyncs repair whatever a crash or a
// conflict left half done.
import { isApiError } from '../../api/errors.js';
import { clone, deepEqual, timestamp, type KubeObject } from '../../api/object.js';
import { newestDefaultClass } from '../../api/kinds/storageclass.js';
import type { Client } from '../../client/client.js';
import { resources } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  NO_PROVISIONER,
  PODS_BY_CLAIM,
  VOLUMES_BY_CLAIM,
  claimClass,
  claimHasClass,
  claimKey,
  claimReference,
  hasAnnotation,
  isExternalProvisioner,
  isPodTerminated,
  isVolumeBoundToClaim,
  nodeView,
  podsByClaim,
  volumeModeOf,
  volumesByClaim,
} from './helpers.js';
import { findBestMatch, volumeMismatch } from './match.js';

const COMPONENT = 'persistentvolume-controller';
/** Upstream's default --pvclaimbinder-sync-period. */
const DEFAULT_RESYNC_MS = 15_000;

export interface BinderOptions {
  resyncMs?: number;
  /**
   * Concurrent claim and volume syncs (32 and 8). Upstream runs one of each, but here every
   * binding step waits for a durable write: one at a time, binding a thousand claims took
   * minutes, while concurrent writes share a commit. Syncs of one key never overlap, and a
   * racing second bind of one volume fails on its resourceVersion.
   */
  claimWorkers?: number;
  volumeWorkers?: number;
}

export class PersistentVolumeController implements Controller {
  readonly name = 'persistentvolume-binder';
  private readonly claimQueue = new WorkQueue<string>();
  private readonly volumeQueue = new WorkQueue<string>();
  private client!: Client;
  private recorder!: EventRecorder;
  private claims!: Informer;
  private volumes!: Informer;
  private classes!: Informer;
  private pods!: Informer;
  private nodes!: Informer;
  private resync?: NodeJS.Timeout;

  constructor(private readonly options: BinderOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.recorder = new EventRecorder(ctx.client, COMPONENT);
    this.claims = ctx.informers.informerFor(resources.persistentVolumeClaims);
    this.volumes = ctx.informers.informerFor(resources.persistentVolumes);
    this.classes = ctx.informers.informerFor(resources.storageClasses);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.nodes = ctx.informers.informerFor(resources.nodes);
    this.pods.addIndexer(PODS_BY_CLAIM, podsByClaim);
    this.volumes.addIndexer(VOLUMES_BY_CLAIM, volumesByClaim);

    this.claims.addEventHandler({
      onAdd: (c) => this.claimQueue.add(keyOf(c)),
      onUpdate: (_o, c) => this.claimQueue.add(keyOf(c)),
      onDelete: (c) => {
        // The volume learns it was released.
        if (c.spec?.volumeName) this.volumeQueue.add(c.spec.volumeName);
        for (const pv of this.volumes.byIndex(VOLUMES_BY_CLAIM, keyOf(c))) this.volumeQueue.add(pv.metadata.name!);
      },
    });
    this.volumes.addEventHandler({
      onAdd: (pv) => {
        this.volumeQueue.add(pv.metadata.name!);
        this.wakeClaimsFor(pv);
      },
      onUpdate: (old, pv) => {
        this.volumeQueue.add(pv.metadata.name!);
        if (pv.status?.phase === 'Available' && old.status?.phase !== 'Available') this.wakeClaimsFor(pv);
      },
      onDelete: (pv) => {
        const ref = pv.spec?.claimRef;
        if (ref?.name) this.claimQueue.add(claimKey(ref.namespace, ref.name));
      },
    });
    // A claim waiting for its class (or for a default one) moves as soon as the class appears.
    this.classes.addEventHandler({ onAdd: () => this.wakePendingClaims() });

    const onError = (key: string, err: unknown) => {
      if (!isApiError(err, 'Conflict')) console.warn(`[${this.name}] sync ${key}: ${err instanceof Error ? err.message : String(err)}`);
    };
    ctx.runWorkers(this.claimQueue, this.options.claimWorkers ?? 32, (key) => this.syncClaimKey(key), { onError });
    ctx.runWorkers(this.volumeQueue, this.options.volumeWorkers ?? 8, (name) => this.syncVolumeKey(name), { onError });
    const period = this.options.resyncMs ?? DEFAULT_RESYNC_MS;
    this.resync = setInterval(() => {
      for (const k of this.claims.keys()) this.claimQueue.add(k);
      for (const k of this.volumes.keys()) this.volumeQueue.add(k);
    }, period);
    this.resync.unref?.();
  }

  stop(): void {
    clearInterval(this.resync);
    this.claimQueue.shutDown();
    this.volumeQueue.shutDown();
  }

  /**
   * A volume reserved for a claim (claimRef set, as a provisioner or the scheduler leaves it)
   * can bind only that claim; any other may suit every claim still waiting. Waking every
   * pending claim for each provisioned volume made binding N claims cost N² claim syncs.
   */
  private wakeClaimsFor(pv: KubeObject): void {
    const ref = pv.spec?.claimRef;
    if (ref?.name) this.claimQueue.add(claimKey(ref.namespace, ref.name));
    else this.wakePendingClaims();
  }

  private wakePendingClaims(): void {
    for (const c of this.claims.list()) if (!c.spec?.volumeName) this.claimQueue.add(keyOf(c));
  }

  /* ---------------- claims ---------------- */

  private async syncClaimKey(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim) return;
    if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) await this.syncUnboundClaim(claim);
    else await this.syncBoundClaim(claim);
  }

  private async syncUnboundClaim(claim: KubeObject): Promise<void> {
    const volumeName: string | undefined = claim.spec?.volumeName;
    if (!volumeName) {
      const cls = this.classes.get(claimClass(claim));
      const delayBinding = cls?.volumeBindingMode === 'WaitForFirstConsumer';
      const selectedNode = claim.metadata.annotations?.[ANN_SELECTED_NODE];
      // Upstream leaves static binding of delayed claims to the scheduler; here the
      // scheduler only names the node and this controller binds for it.
      const node = delayBinding && selectedNode ? nodeView(selectedNode, this.nodes.get(selectedNode)) : undefined;
      const pv = this.matchingVolume(claim, { delayBinding, node });
      if (pv) return this.bind(pv, claim);

      if (await this.assignDefaultClass(claim)) return;
      if (delayBinding && !selectedNode) {
        this.emitWaitingForConsumer(claim);
      } else if (claimClass(claim)) {
        return this.provisionClaim(claim);
      } else {
        this.recorder.event(claim, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
      }
      await this.updateClaimStatus(claim, 'Pending');
      return;
    }

    const pv = this.volumes.get(volumeName);
    if (!pv) {
      await this.updateClaimStatus(claim, 'Pending');
      return;
    }
    if (!pv.spec?.claimRef) {
      const mismatch = volumeMismatch(pv, claim);
      if (mismatch) {
        this.recorder.event(claim, 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${volumeName}": ${mismatch}`);
        await this.updateClaimStatus(claim, 'Pending');
        return;
      }
      return this.bind(pv, claim);
    }
    if (isVolumeBoundToClaim(pv, claim)) return this.bind(pv, claim);
    this.recorder.event(claim, 'Warning', 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
    await this.updateClaimStatus(claim, 'Pending');
  }

  /**
   * findBestMatch over every volume, answered from the volumes reserved for this claim when
   * one of them qualifies (a pre-bound volume wins over any other there): a provisioned
   * claim is then matched without walking every volume, which made binding N claims cost N².
   */
  private matchingVolume(claim: KubeObject, opts: Parameters<typeof findBestMatch>[2]): KubeObject | undefined {
    const reserved = this.volumes.byIndex(VOLUMES_BY_CLAIM, keyOf(claim));
    // without a node every volume is reachable: defined exactly when a reserved volume qualifies
    if (reserved.length && findBestMatch(claim, reserved, { ...opts, node: undefined })) return findBestMatch(claim, reserved, opts);
    return findBestMatch(claim, this.volumes.list(), opts);
  }

  private async syncBoundClaim(claim: KubeObject): Promise<void> {
    const volumeName: string | undefined = claim.spec?.volumeName;
    if (!volumeName) {
      await this.claimLost(claim, 'ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
      return;
    }
    const pv = this.volumes.get(volumeName);
    if (!pv) {
      await this.claimLost(claim, 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      return;
    }
    if (!pv.spec?.claimRef || pv.spec.claimRef.uid === claim.metadata.uid) return this.bind(pv, claim);
    await this.claimLost(claim, 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
  }

  private async claimLost(claim: KubeObject, reason: string, message: string): Promise<void> {
    if (claim.status?.phase === 'Lost') return;
    const updated = await this.updateClaimStatus(claim, 'Lost');
    this.recorder.event(updated, 'Warning', reason, message);
  }

  /** Since 1.28 a claim created without a class gets the default one once it exists. */
  private async assignDefaultClass(claim: KubeObject): Promise<boolean> {
    if (claimHasClass(claim)) return false;
    const def = newestDefaultClass(this.classes.list());
    if (!def) return false;
    const next = clone(claim);
    next.spec.storageClassName = def.metadata.name;
    await this.client.persistentVolumeClaims(claim.metadata.namespace).update(next);
    return true;
  }

  private emitWaitingForConsumer(claim: KubeObject): void {
    const waiting = this.pods
      .byIndex(PODS_BY_CLAIM, keyOf(claim))
      .filter((p) => !isPodTerminated(p) && !p.spec?.nodeName)
      .map((p) => p.metadata.name!);
    if (!waiting.length) this.recorder.event(claim, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
    else if (waiting.length === 1) this.recorder.event(claim, 'Normal', 'WaitForPodScheduled', `waiting for pod ${waiting[0]} to be scheduled`);
    else this.recorder.event(claim, 'Normal', 'WaitForPodScheduled', `waiting for pods ${waiting.join(',')} to be scheduled`);
  }

  /** Hands the claim to the provisioner its class names, by annotation (6.3). */
  private async provisionClaim(claim: KubeObject): Promise<void> {
    const className = claimClass(claim);
    const cls = this.classes.get(className);
    if (!cls) {
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    const provisioner: string = cls.provisioner ?? '';
    if (provisioner === NO_PROVISIONER || !isExternalProvisioner(provisioner)) {
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `no volume plugin matched name: ${provisioner}`);
      return;
    }
    const annotations = claim.metadata.annotations ?? {};
    let current = claim;
    if (annotations[ANN_STORAGE_PROVISIONER] !== provisioner || annotations[ANN_BETA_STORAGE_PROVISIONER] !== provisioner) {
      const next = clone(claim);
      next.metadata.annotations = { ...annotations, [ANN_STORAGE_PROVISIONER]: provisioner, [ANN_BETA_STORAGE_PROVISIONER]: provisioner };
      try {
        current = await this.client.persistentVolumeClaims(claim.metadata.namespace).update(next);
      } catch (e) {
        this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `Error saving claim: ${(e as Error).message}`);
        throw e;
      }
    }
    this.recorder.event(
      current,
      'Normal',
      'ExternalProvisioning',
      `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    );
  }

  /** Binds both ways: volume claimRef, volume phase, claim volumeName, claim phase; each a write. */
  private async bind(pv: KubeObject, claim: KubeObject): Promise<void> {
    let volume = pv;
    const ref = volume.spec?.claimRef;
    if (!ref || ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace || ref.uid !== claim.metadata.uid) {
      const next = clone(volume);
      // The resourceVersion from the cache makes a racing second bind fail with a conflict.
      if (!isVolumeBoundToClaim(volume, claim)) next.metadata.annotations = { ...next.metadata.annotations, [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      next.spec.claimRef = claimReference(claim);
      volume = await this.client.persistentVolumes().update(next);
    }
    volume = await this.updateVolumePhase(volume, 'Bound');

    let current = claim;
    if (current.spec?.volumeName !== volume.metadata.name || !hasAnnotation(current, ANN_BIND_COMPLETED)) {
      const next = clone(current);
      const annotations = { ...next.metadata.annotations };
      if (next.spec.volumeName !== volume.metadata.name) {
        next.spec.volumeName = volume.metadata.name;
        annotations[ANN_BOUND_BY_CONTROLLER] ??= 'yes';
      }
      annotations[ANN_BIND_COMPLETED] ??= 'yes';
      next.metadata.annotations = annotations;
      current = await this.client.persistentVolumeClaims(current.metadata.namespace).update(next);
    }
    await this.updateClaimStatus(current, 'Bound', volume);
  }

  private async updateClaimStatus(claim: KubeObject, phase: string, volume?: KubeObject): Promise<KubeObject> {
    const next = clone(claim);
    const status = (next.status ??= {});
    status.phase = phase;
    if (!volume) {
      delete status.accessModes;
      delete status.capacity;
    } else {
      status.accessModes = volume.spec?.accessModes;
      // Only when becoming Bound: afterwards capacity is the resizer's to change.
      if (claim.status?.phase !== phase) status.capacity = { ...volume.spec?.capacity };
    }
    if (deepEqual(status, claim.status ?? {})) return claim;
    return this.client.persistentVolumeClaims(claim.metadata.namespace).updateStatus(next);
  }

  /* ---------------- volumes ---------------- */

  private async syncVolumeKey(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (pv) await this.syncVolume(pv);
  }

  private async syncVolume(pv: KubeObject): Promise<void> {
    const ref = pv.spec?.claimRef;
    if (!ref) {
      await this.updateVolumePhase(pv, 'Available');
      return;
    }
    if (!ref.uid) {
      // Reserved for a claim that has not bound yet: the claim's sync binds it.
      await this.updateVolumePhase(pv, 'Available');
      return;
    }
    const key = claimKey(ref.namespace, ref.name);
    let claim = this.claims.get(key);
    const settled = pv.status?.phase === 'Released' || pv.status?.phase === 'Failed';
    // A fresh volume's claim may not be in the cache yet: ask the server before releasing.
    if ((!claim && !settled) || (claim && claim.metadata.uid !== ref.uid)) claim = await this.liveClaim(ref.namespace, ref.name);
    if (claim && claim.metadata.uid !== ref.uid) claim = undefined;

    if (!claim) {
      let volume = pv;
      if (!settled) volume = await this.updateVolumePhase(pv, 'Released');
      await this.reclaim(volume);
      return;
    }
    if (!claim.spec?.volumeName) {
      if (volumeModeOf(claim) !== volumeModeOf(pv)) {
        this.recorder.event(pv, 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${claim.metadata.name}" due to incompatible volumeMode.`);
        this.recorder.event(claim, 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume "${pv.metadata.name}" to requested PersistentVolumeClaim due to incompatible volumeMode.`);
        return;
      }
      // Typically a freshly provisioned, pre-bound volume: the claim's sync finishes the bind.
      this.claimQueue.add(key);
      return;
    }
    if (claim.spec.volumeName === pv.metadata.name) {
      await this.updateVolumePhase(pv, 'Bound');
      return;
    }
    // The claim went to another volume.
    if (hasAnnotation(pv, ANN_PROVISIONED_BY) && pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
      let volume = pv;
      if (!settled) volume = await this.updateVolumePhase(pv, 'Released');
      await this.reclaim(volume);
      return;
    }
    await this.unbindVolume(pv);
  }

  private async liveClaim(namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.client.persistentVolumeClaims(namespace).get(name);
    } catch (e) {
      if (isApiError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  /** Undoes a bind: the controller's own claimRef goes; a user's pre-binding keeps its name. */
  private async unbindVolume(pv: KubeObject): Promise<void> {
    const next = clone(pv);
    if (hasAnnotation(pv, ANN_BOUND_BY_CONTROLLER)) {
      delete next.spec.claimRef;
      delete next.metadata.annotations![ANN_BOUND_BY_CONTROLLER];
    } else {
      delete next.spec.claimRef.uid;
      delete next.spec.claimRef.resourceVersion;
    }
    const updated = await this.client.persistentVolumes().update(next);
    await this.updateVolumePhase(updated, 'Available');
  }

  /**
   * Retain keeps the volume Released. Delete is left to the external provisioner that made
   * the volume; a static volume with Delete has no deleter here, as upstream has none for
   * local volumes (and only /tmp for hostPath).
   */
  private async reclaim(pv: KubeObject): Promise<void> {
    const policy = pv.spec?.persistentVolumeReclaimPolicy;
    if (policy === 'Retain' || policy === 'Recycle') return;
    if (policy !== 'Delete') {
      await this.updateVolumePhaseWithEvent(pv, 'Failed', 'VolumeUnknownReclaimPolicy', 'Volume has unrecognized PersistentVolumeReclaimPolicy');
      return;
    }
    const provisionedBy = pv.metadata.annotations?.[ANN_PROVISIONED_BY];
    if (provisionedBy && isExternalProvisioner(provisionedBy)) return;
    if (pv.spec?.csi) return;
    const message = pv.spec?.hostPath
      ? `host_path deleter only supports /tmp/.+ but received provided ${pv.spec.hostPath.path}`
      : `error getting deleter volume plugin for volume "${pv.metadata.name}": no deletable volume plugin matched`;
    await this.updateVolumePhaseWithEvent(pv, 'Failed', 'VolumeFailedDelete', message);
  }

  private async updateVolumePhaseWithEvent(pv: KubeObject, phase: string, reason: string, message: string): Promise<void> {
    if (pv.status?.phase === phase) return;
    const updated = await this.updateVolumePhase(pv, phase, message);
    this.recorder.event(updated, 'Warning', reason, message);
  }

  private async updateVolumePhase(pv: KubeObject, phase: string, message?: string): Promise<KubeObject> {
    if (pv.status?.phase === phase) return pv;
    const next = clone(pv);
    next.status = { ...next.status, phase, lastPhaseTransitionTime: timestamp() };
    if (message) next.status.message = message;
    else delete next.status.message;
    return this.client.persistentVolumes().updateStatus(next);
  }
}

