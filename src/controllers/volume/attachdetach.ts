// The attach/detach controller, with petset's local attacher built in: it keeps one
// storage.k8s.io/v1 VolumeAttachment per (volume, node) that scheduled pods need, marks it
// attached (what a CSI driver's external-attacher would do), keeps each node's
// status.volumesAttached, and removes attachments once they are safe to remove. A
// ReadWriteOnce volume is never attached to a second node while the first holds it; the
// waiting pod gets upstream's Multi-Attach event with the words of what will release it.
import { isApiError } from '../../api/errors.js';
import { PETSET_ATTACHER } from '../../api/kinds/volumeattachment.js';
import { controllerRef, type KubeObject } from '../../api/object.js';
import { resources, type ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { decideAttachments, DEFAULT_MAX_WAIT_FOR_UNMOUNT_MS, type AttachAction } from './attach-decide.js';
import { isPodTerminated, podClaimNames } from './helpers.js';

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

const KEY = 'attachments';

/** volumes attached or detached at the same time in one pass */
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
  /** unwanted attachment → when it was first seen unwanted (memory only, as upstream) */
  private detachWantedSince = new Map<string, number>();

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
    const kick = () => this.queue.add(KEY);
    const podKick = (pod: KubeObject) => {
      if (podClaimNames(pod).length) kick();
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
    for (const inf of [this.claims, this.volumes, this.attachments]) inf.addEventHandler({ onAdd: kick, onUpdate: kick, onDelete: kick });
    this.nodes.addEventHandler({
      onAdd: kick,
      onDelete: kick,
      onUpdate: (o, n) => {
        // heartbeats change nothing here; volumes, taints and readiness do
        const relevant = (x: KubeObject) => JSON.stringify([x.status?.volumesInUse, x.status?.volumesAttached, x.spec?.taints, (x.status?.conditions ?? []).find((c: any) => c?.type === 'Ready')?.status]);
        if (relevant(o) !== relevant(n)) kick();
      },
    });
    kick();
    ctx.runWorkers(this.queue, 1, () => this.sync());
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(): Promise<ReconcileResult | void> {
    const now = Date.now();
    const claims = this.claims;
    const plan = decideAttachments({
      pods: this.pods.list().filter((p) => podClaimNames(p).length),
      claim: (ns, name) => claims.get(`${ns}/${name}`),
      volume: (name) => this.volumes.get(name),
      node: (name) => this.nodes.get(name),
      attachments: this.attachments.list(),
      detachWantedSince: this.detachWantedSince,
      lockFree: (pv) => this.options.lockFree?.(pv),
      now,
      maxWaitForUnmountMs: this.options.maxWaitForUnmountMs ?? DEFAULT_MAX_WAIT_FOR_UNMOUNT_MS,
    });
    this.detachWantedSince = plan.waiting;
    let retry = false;
    const run = async (action: AttachAction) => {
      try {
        await this.act(action);
      } catch (e) {
        if (isApiError(e, 'NotFound')) return;
        if (!isApiError(e, 'Conflict') && !isApiError(e, 'AlreadyExists')) console.warn(`[attachdetach] ${action.type}: ${e instanceof Error ? e.message : String(e)}`);
        retry = true;
      }
    };
    // Different volumes are independent (upstream's operation executor runs them in parallel,
    // one operation per volume at a time): their writes share commits instead of queueing one
    // by one. One volume's actions keep their order (a detach before the attach elsewhere);
    // the nodes' volumesAttached follow once the attachments are written.
    const lanes = new Map<string, AttachAction[]>();
    const nodeStatus: AttachAction[] = [];
    for (const action of plan.actions) {
      if (action.type === 'nodeVolumesAttached') {
        nodeStatus.push(action);
        continue;
      }
      const pv = action.type === 'attach' || action.type === 'multiAttach' ? action.pvName : action.attachment.spec.source.persistentVolumeName;
      const lane = lanes.get(pv);
      if (lane) lane.push(action);
      else lanes.set(pv, [action]);
    }
    const pending = [...lanes.values()];
    const worker = async () => {
      for (let lane = pending.shift(); lane; lane = pending.shift()) for (const action of lane) await run(action);
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_VOLUMES, pending.length) }, worker));
    await Promise.all(nodeStatus.map(run));
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
    await this.ctx.client.resource(volumeAttachments).patch(va.metadata.name!, { status: { attached: true } }, 'merge', { subresource: 'status' });
  }
}
