// The attach/detach controller, with petset's local attacher built in: it keeps one
// storage.k8s.io/v1 VolumeAttachment per (volume, node) that scheduled pods need, marks it
// attached (what a CSI driver's external-attacher would do), keeps each node's
// status.volumesAttached, and removes attachments once they are safe to remove. A
// ReadWriteOnce volume is never attached to a second node while the first holds it; the
// waiting pod gets upstream's Multi-Attach event with the words of what will release it.
import { isApiError } from '../../api/errors.js';
import { PETSET_ATTACHER, uniqueVolumeName } from '../../api/kinds/volumeattachment.js';
import { controllerRef, type KubeObject } from '../../api/object.js';
import { resources, type ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { decideAttachments, DEFAULT_MAX_WAIT_FOR_UNMOUNT_MS, isPetsetAttachment, nodeVolumesAttached, type AttachAction } from './attach-decide.js';
import { claimKey, isPodTerminated, podClaimNames, PODS_BY_CLAIM, podsByClaim } from './helpers.js';

export const volumeAttachments: ResourceType = { group: 'storage.k8s.io', version: 'v1', resource: 'volumeattachments', kind: 'VolumeAttachment', namespaced: false };

export interface AttachDetachOptions {
  /** upstream's maxWaitForUnmountDuration (6 minutes) */
  maxWaitForUnmountMs?: number;
  /**
   * Whether no live sandbox on this machine holds the volume's directory lock; petset's
   * nodes share one machine, so this is known for sure (undefined: cannot tell).
   */
  lockFree?: (pv: KubeObject) => boolean | undefined;
  /**
   * Stops whatever of `node` still uses the volume on this machine, before a volume of a node
   * declared out of service moves away (petset can make the administrator's word true).
   */
  fence?: (pv: KubeObject, node: string) => Promise<boolean>;
}

// Work keys: one volume's attachments ("pv:NAME": its pods, its claim, its attachments) or one
// node's status.volumesAttached ("node:NAME"), as upstream's reconciler works volume by volume.
// A change wakes only the keys it can concern, so a sync costs what that volume or node has,
// not every pod of the cluster.
const PV = 'pv:';
const NODE = 'node:';
const ATTACHMENTS_BY_PV = 'attachdetach:by-pv';
const ATTACHMENTS_BY_NODE = 'attachdetach:by-node';

/** upstream's reconcilerLoopPeriod, in which the node status updater runs */
const NODE_STATUS_PERIOD_MS = 100;

/** volumes attached or detached at the same time (upstream's operation executor runs volumes in parallel) */
const PARALLEL_VOLUMES = 32;

export class AttachDetachController implements Controller {
  readonly name = 'attachdetach';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private recorder!: EventRecorder;
  private pods!: Informer;
  private claims!: Informer;
  private volumes!: Informer;
  private nodes!: Informer;
  private attachments!: Informer;
  private sets!: Informer;
  /** per volume: unwanted attachment → when it was first seen unwanted (memory only, as upstream) */
  private detachWantedSince = new Map<string, Map<string, number>>();
  /**
   * Volumes whose last sync waited on a node: an unwanted attachment not yet safe to remove,
   * or an attach held back by another node (Multi-Attach). Only their nodes' changes concern
   * them; a wanted, done attachment does not depend on its node object.
   */
  private readonly waitingOnNodes = new Set<string>();
  /** "uid/resourceVersion" of attachments this controller marked attached, until the cache shows the result */
  private readonly markedFrom = new Set<string>();

  constructor(private readonly options: AttachDetachOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = new EventRecorder(ctx.client, 'attachdetach-controller');
    this.pods = ctx.informers.informerFor(resources.pods);
    this.claims = ctx.informers.informerFor(resources.persistentVolumeClaims);
    this.volumes = ctx.informers.informerFor(resources.persistentVolumes);
    this.nodes = ctx.informers.informerFor(resources.nodes);
    this.attachments = ctx.informers.informerFor(volumeAttachments);
    this.sets = ctx.informers.informerFor(resources.statefulSets);
    this.pods.addIndexer(PODS_BY_CLAIM, podsByClaim);
    this.attachments.addIndexer(ATTACHMENTS_BY_PV, (va) => (isPetsetAttachment(va) ? [va.spec.source.persistentVolumeName] : []));
    this.attachments.addIndexer(ATTACHMENTS_BY_NODE, (va) => (isPetsetAttachment(va) && va.spec.nodeName ? [va.spec.nodeName] : []));
    const volume = (name: string | undefined) => name && this.queue.add(PV + name);
    // A node's status is written at most once a period, for every attachment that changed
    // meanwhile (upstream's node status updater runs in the reconciler loop, every 100 ms):
    // a node's volumesAttached would otherwise be rewritten once per attachment.
    const node = (name: string | undefined) => name && this.queue.addAfter(NODE + name, NODE_STATUS_PERIOD_MS);
    const claimKick = (claim: KubeObject) => volume(claim.spec?.volumeName);
    // a pod wakes the volumes its claims are bound to
    const podKick = (pod: KubeObject) => {
      for (const name of podClaimNames(pod)) claimKick(this.claims.get(claimKey(pod.metadata.namespace, name)) ?? { metadata: {} });
    };
    // a pod's status writes change nothing here: only where it runs, whether it finished or is going
    const podMatters = (x: KubeObject) => [x.spec?.nodeName, isPodTerminated(x), !!x.metadata.deletionTimestamp, x.metadata.uid].join('\u0000');
    this.pods.addEventHandler({
      onAdd: podKick,
      onUpdate: (o, n) => {
        if (podMatters(o) !== podMatters(n)) (podKick(o), podKick(n));
      },
      onDelete: podKick,
    });
    this.claims.addEventHandler({ onAdd: claimKick, onUpdate: (o, n) => (claimKick(o), claimKick(n)), onDelete: claimKick });
    const pvKick = (pv: KubeObject) => volume(pv.metadata.name);
    this.volumes.addEventHandler({ onAdd: pvKick, onUpdate: pvKick, onDelete: pvKick });
    const vaKick = (va: KubeObject) => {
      if (!isPetsetAttachment(va)) return;
      volume(va.spec.source.persistentVolumeName);
      node(va.spec.nodeName);
    };
    // the cache has moved past a version this controller marked: that mark is done
    const seen = (va: KubeObject) => this.markedFrom.delete(`${va.metadata.uid}/${va.metadata.resourceVersion}`);
    this.attachments.addEventHandler({ onAdd: vaKick, onUpdate: (o, n) => (seen(o), vaKick(o), vaKick(n)), onDelete: (va) => (seen(va), vaKick(va)) });
    // A node's volumes, taints and readiness decide whether its unwanted attachments may go,
    // and what a Multi-Attach event says of it: they wake the volumes waiting on that.
    const nodeKick = (n: KubeObject) => {
      node(n.metadata.name);
      for (const va of this.attachments.byIndex(ATTACHMENTS_BY_NODE, n.metadata.name ?? '')) {
        if (this.waitingOnNodes.has(va.spec.source.persistentVolumeName)) volume(va.spec.source.persistentVolumeName);
      }
    };
    this.nodes.addEventHandler({
      onAdd: nodeKick,
      onDelete: nodeKick,
      onUpdate: (o, n) => {
        // heartbeats change nothing here
        const relevant = (x: KubeObject) => JSON.stringify([x.status?.volumesInUse, x.status?.volumesAttached, x.spec?.taints, (x.status?.conditions ?? []).find((c: any) => c?.type === 'Ready')?.status]);
        if (relevant(o) !== relevant(n)) nodeKick(n);
      },
    });
    ctx.runWorkers(this.queue, PARALLEL_VOLUMES, (key) => (key.startsWith(NODE) ? this.syncNode(key.slice(NODE.length)) : this.syncVolume(key.slice(PV.length))));
  }

  stop(): void {
    this.queue.shutDown();
  }

  /** One node's status.volumesAttached: the attachments on it that are done. */
  private async syncNode(nodeName: string): Promise<ReconcileResult | void> {
    const node = this.nodes.get(nodeName);
    const vas = this.attachments.byIndex(ATTACHMENTS_BY_NODE, nodeName);
    // A node none of petset's attachments name any more keeps only what others put there.
    if (!vas.length && !(node?.status?.volumesAttached ?? []).some((v: any) => String(v?.name ?? '').startsWith(uniqueVolumeName(PETSET_ATTACHER, '')))) return;
    const action = nodeVolumesAttached(nodeName, node, vas);
    if (!action) return;
    try {
      await this.act(action);
    } catch (e) {
      if (isApiError(e, 'NotFound')) return;
      if (!isApiError(e, 'Conflict')) console.warn(`[attachdetach] ${action.type}: ${e instanceof Error ? e.message : String(e)}`);
      return { requeueAfter: 200 };
    }
  }

  /** One volume: attach it where its pods run, detach it where it is no longer wanted and safe to. */
  private async syncVolume(pvName: string): Promise<ReconcileResult | void> {
    const now = Date.now();
    const pv = this.volumes.get(pvName);
    const ref = pv?.spec?.claimRef;
    const claim = ref?.name ? this.claims.get(claimKey(ref.namespace, ref.name)) : undefined;
    // only this volume's claim, and only while it names this volume: another volume is another key
    const mine = claim?.spec?.volumeName === pvName ? claim : undefined;
    const pods = mine ? this.pods.byIndex(PODS_BY_CLAIM, keyOf(mine)) : [];
    const plan = decideAttachments({
      pods,
      claim: (ns, name) => (mine && mine.metadata.namespace === ns && mine.metadata.name === name ? mine : undefined),
      volume: (name) => this.volumes.get(name),
      node: (name) => this.nodes.get(name),
      attachments: this.attachments.byIndex(ATTACHMENTS_BY_PV, pvName),
      detachWantedSince: this.detachWantedSince.get(pvName) ?? new Map(),
      lockFree: (v) => this.options.lockFree?.(v),
      now,
      maxWaitForUnmountMs: this.options.maxWaitForUnmountMs ?? DEFAULT_MAX_WAIT_FOR_UNMOUNT_MS,
      nodeStatus: false,
    });
    if (plan.waiting.size) this.detachWantedSince.set(pvName, plan.waiting);
    else this.detachWantedSince.delete(pvName);
    if (plan.waiting.size || plan.actions.some((a) => a.type === 'multiAttach')) this.waitingOnNodes.add(pvName);
    else this.waitingOnNodes.delete(pvName);
    let retry = false;
    // One volume's actions keep their order (a detach before the attach elsewhere).
    for (const action of plan.actions) {
      try {
        await this.act(action);
      } catch (e) {
        if (isApiError(e, 'NotFound')) continue;
        if (!isApiError(e, 'Conflict') && !isApiError(e, 'AlreadyExists')) console.warn(`[attachdetach] ${action.type}: ${e instanceof Error ? e.message : String(e)}`);
        retry = true;
      }
    }
    if (retry) return { requeueAfter: 200 };
    if (plan.recheckAt !== undefined) return { requeueAfter: Math.max(50, plan.recheckAt - now) };
  }

  private async act(action: AttachAction): Promise<void> {
    const client = this.ctx.client;
    const attachments = client.resource(volumeAttachments);
    switch (action.type) {
      case 'attach': {
        const created = await attachments.create({
          apiVersion: 'storage.k8s.io/v1',
          kind: 'VolumeAttachment',
          metadata: { name: action.name },
          spec: { attacher: PETSET_ATTACHER, source: { persistentVolumeName: action.pvName }, nodeName: action.nodeName },
        });
        await this.markAttached(created);
        for (const pod of action.pods) this.recorder.event(pod, 'Normal', 'SuccessfulAttachVolume', `AttachVolume.Attach succeeded for volume "${action.pvName}" `);
        return;
      }
      case 'markAttached':
        await this.markAttached(action.attachment);
        return;
      case 'detach':
        if (action.fence && this.options.fence) {
          const pv = this.volumes.get(action.attachment.spec.source.persistentVolumeName);
          if (pv && !(await this.options.fence(pv, action.attachment.spec.nodeName))) throw new Error(`could not stop the sandboxes of ${action.attachment.spec.nodeName} using ${pv.metadata.name}`);
        }
        await attachments.delete(action.attachment.metadata.name!, { preconditions: { uid: action.attachment.metadata.uid } });
        console.log(`[attachdetach] detached volume ${action.attachment.spec.source.persistentVolumeName} from ${action.attachment.spec.nodeName}: ${action.reason}`);
        return;
      case 'multiAttach':
        for (const pod of action.pods) {
          this.recorder.event(pod, 'Warning', 'FailedAttachVolume', action.message);
          const owner = controllerRef(pod);
          if (owner?.kind === 'StatefulSet') {
            const set = this.sets.get(`${pod.metadata.namespace}/${owner.name}`);
            if (set) this.recorder.event(set, 'Warning', 'FailedAttachVolume', `pod ${pod.metadata.name}: ${action.message}`);
          }
        }
        return;
      case 'nodeVolumesAttached':
        await client.nodes().patch(action.nodeName, { status: { volumesAttached: action.volumesAttached } }, 'merge', { subresource: 'status' });
        return;
    }
  }

  /** The attacher's half: petset's volumes are directories, so attaching is recording it. */
  private async markAttached(va: KubeObject): Promise<void> {
    if (va.status?.attached === true) return;
    // The attachment's own add event wakes its volume before the cache shows this patch:
    // the same version of it needs marking once, not again.
    const version = `${va.metadata.uid}/${va.metadata.resourceVersion}`;
    if (this.markedFrom.has(version)) return;
    // (forgotten when the cache moves past that version; a bound in case an event never comes)
    if (this.markedFrom.size > 4096) this.markedFrom.clear();
    this.markedFrom.add(version);
    try {
      await this.ctx.client.resource(volumeAttachments).patch(va.metadata.name!, { status: { attached: true } }, 'merge', { subresource: 'status' });
    } catch (e) {
      this.markedFrom.delete(version);
      throw e;
    }
  }
}
