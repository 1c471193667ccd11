// The attach/detach controller's decisions, as pure functions of what the caches hold: which
// volumes must be attached to which nodes (the pods scheduled there that use them), which
// attachments are no longer wanted and may safely go, and which attaches must wait because a
// ReadWriteOnce volume is still attached to another node ("Multi-Attach").
//
// Safe to detach means what it means upstream: the node says it has unmounted the volume (it
// is gone from status.volumesInUse), or the Node object is gone, or the node carries the
// out-of-service taint, or it has been unhealthy for maxWaitForUnmountDuration. petset adds
// one fact upstream cannot know: every node of `petset up` lives on this machine, so when no
// live sandbox holds the volume's lock, nothing can be writing to it.
import { isAttachableVolume, PETSET_ATTACHER, uniqueVolumeName, volumeAttachmentName } from '../../api/kinds/volumeattachment.js';
import type { KubeObject } from '../../api/object.js';
import { TAINT, taintsOf } from '../../api/taints.js';
import { claimExclusivity } from './access.js';
import { isPodTerminated, podClaimNames } from './helpers.js';

/** Upstream's maxWaitForUnmountDuration: an unhealthy node's volumes are force-detached after it. */
export const DEFAULT_MAX_WAIT_FOR_UNMOUNT_MS = 6 * 60_000;

export interface AttachInputs {
  pods: Iterable<KubeObject>;
  claim(namespace: string, name: string): KubeObject | undefined;
  volume(name: string): KubeObject | undefined;
  node(name: string): KubeObject | undefined;
  attachments: Iterable<KubeObject>;
  /** when each unwanted attachment (by object name) was first seen unwanted */
  detachWantedSince: ReadonlyMap<string, number>;
  /** whether the volume's directory lock is free on this machine (undefined: cannot tell) */
  lockFree(pv: KubeObject): boolean | undefined;
  now: number;
  maxWaitForUnmountMs: number;
  /**
   * false: decide only the volumes' attachments, not the nodes' status.volumesAttached (the
   * caller gave only some volumes' pods and attachments, so a node's list would be partial)
   */
  nodeStatus?: boolean;
}

export type AttachAction =
  | { type: 'attach'; name: string; pvName: string; nodeName: string; pods: KubeObject[] }
  | { type: 'markAttached'; attachment: KubeObject }
  | { type: 'detach'; attachment: KubeObject; reason: string; fence?: boolean }
  | { type: 'multiAttach'; pvName: string; nodeName: string; heldBy: string[]; pods: KubeObject[]; message: string }
  | { type: 'nodeVolumesAttached'; nodeName: string; volumesAttached: Array<{ name: string; devicePath: string }> };

export interface AttachPlan {
  actions: AttachAction[];
  /** unwanted attachments still waiting, by name → since when (the caller keeps this map) */
  waiting: Map<string, number>;
  /** when to look again (a force-detach timeout), if any */
  recheckAt?: number;
}

interface Wanted {
  pvName: string;
  nodeName: string;
  exclusive: boolean;
  pods: KubeObject[];
}

function nodeReady(node: KubeObject | undefined): boolean {
  return (node?.status?.conditions ?? []).some((c: any) => c?.type === 'Ready' && c.status === 'True');
}

function outOfService(node: KubeObject | undefined): boolean {
  return !!node && taintsOf(node).some((t) => t.key === TAINT.outOfService && (t.effect === 'NoExecute' || t.effect === 'NoSchedule'));
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  return m ? `${m}m${s % 60}s` : `${s}s`;
}

/** The (volume, node) pairs the scheduled, unfinished pods need. */
export function wantedAttachments(inputs: Pick<AttachInputs, 'pods' | 'claim' | 'volume'>): Map<string, Wanted> {
  const wanted = new Map<string, Wanted>();
  for (const pod of inputs.pods) {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || isPodTerminated(pod)) continue;
    for (const claimName of podClaimNames(pod)) {
      const claim = inputs.claim(pod.metadata.namespace ?? 'default', claimName);
      const pvName = claim?.spec?.volumeName;
      if (!claim || claim.status?.phase !== 'Bound' || !pvName) continue;
      const pv = inputs.volume(pvName);
      if (!isAttachableVolume(pv) || pv!.spec?.claimRef?.uid !== claim.metadata.uid) continue;
      const key = `${pvName}\u0000${nodeName}`;
      const w: Wanted = wanted.get(key) ?? { pvName, nodeName, exclusive: false, pods: [] };
      w.exclusive ||= claimExclusivity(claim) !== undefined;
      w.pods.push(pod);
      wanted.set(key, w);
    }
  }
  return wanted;
}

/**
 * A node's status.volumesAttached as the attachments say (those on it that are done and not
 * detached in this pass), or nothing when the node already says so or is gone. `attachments`
 * are petset's attachments of this node.
 */
export function nodeVolumesAttached(nodeName: string, node: KubeObject | undefined, attachments: Iterable<KubeObject>, detached: ReadonlySet<string> = new Set()): AttachAction | undefined {
  if (!node) return undefined;
  const want: Array<{ name: string; devicePath: string }> = [];
  for (const va of attachments) {
    if (detached.has(va.metadata.name!) || va.status?.attached !== true) continue;
    want.push({ name: uniqueVolumeName(PETSET_ATTACHER, va.spec.source.persistentVolumeName), devicePath: '' });
  }
  want.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const have = (node.status?.volumesAttached ?? []).map((v: any) => v?.name).sort();
  if (JSON.stringify(have) === JSON.stringify(want.map((v) => v.name))) return undefined;
  return { type: 'nodeVolumesAttached', nodeName, volumesAttached: want };
}

/** Whether an attachment is one of petset's, naming its volume. */
export function isPetsetAttachment(va: KubeObject): boolean {
  return va.spec?.attacher === PETSET_ATTACHER && !!va.spec?.source?.persistentVolumeName;
}

export function decideAttachments(inputs: AttachInputs): AttachPlan {
  const actions: AttachAction[] = [];
  const waiting = new Map<string, number>();
  let recheckAt: number | undefined;
  const wanted = wantedAttachments(inputs);
  const mine = [...inputs.attachments].filter(isPetsetAttachment);
  const byPv = new Map<string, KubeObject[]>();
  for (const va of mine) {
    const list = byPv.get(va.spec.source.persistentVolumeName) ?? [];
    list.push(va);
    byPv.set(va.spec.source.persistentVolumeName, list);
  }
  const detached = new Set<string>();

  // 1. Attachments nobody needs any more: detach when it is safe.
  for (const va of mine) {
    if (va.metadata.deletionTimestamp) continue;
    const pvName: string = va.spec.source.persistentVolumeName;
    const nodeName: string = va.spec.nodeName;
    if (wanted.has(`${pvName}\u0000${nodeName}`)) continue;
    const node = inputs.node(nodeName);
    const unique = uniqueVolumeName(PETSET_ATTACHER, pvName);
    const since = inputs.detachWantedSince.get(va.metadata.name!) ?? inputs.now;
    const pv = inputs.volume(pvName);
    let reason: string | undefined;
    let fence = false;
    if (!node) reason = `node ${nodeName} no longer exists`;
    else if (!(node.status?.volumesInUse ?? []).includes(unique)) reason = `node ${nodeName} reports the volume unmounted`;
    else if (outOfService(node)) {
      reason = `node ${nodeName} has the ${TAINT.outOfService} taint`;
      fence = true;
    }
    else if (!pv || inputs.lockFree(pv) === true) reason = `no sandbox on this machine holds the volume`;
    else if (!nodeReady(node) && inputs.now - since >= inputs.maxWaitForUnmountMs) reason = `node ${nodeName} is not Ready and the volume was not unmounted within maxWaitForUnmountDuration (${formatDuration(inputs.maxWaitForUnmountMs)}): force detach`;
    if (reason) {
      actions.push({ type: 'detach', attachment: va, reason, ...(fence ? { fence } : {}) });
      detached.add(va.metadata.name!);
    } else {
      waiting.set(va.metadata.name!, since);
      if (!nodeReady(node)) {
        const at = since + inputs.maxWaitForUnmountMs;
        recheckAt = recheckAt === undefined ? at : Math.min(recheckAt, at);
      }
    }
  }

  // 2. Attachments the pods need: create them, unless a ReadWriteOnce volume is still held elsewhere.
  for (const w of wanted.values()) {
    const name = volumeAttachmentName(w.pvName, PETSET_ATTACHER, w.nodeName);
    const others = (byPv.get(w.pvName) ?? []).filter((va) => va.spec.nodeName !== w.nodeName && !detached.has(va.metadata.name!));
    const existing = (byPv.get(w.pvName) ?? []).find((va) => va.spec.nodeName === w.nodeName);
    if (existing) {
      if (existing.status?.attached !== true && !existing.metadata.deletionTimestamp) actions.push({ type: 'markAttached', attachment: existing });
      continue;
    }
    if (w.exclusive && others.length) {
      const heldBy = [...new Set(others.map((va) => va.spec.nodeName as string))];
      actions.push({ type: 'multiAttach', pvName: w.pvName, nodeName: w.nodeName, heldBy, pods: w.pods, message: multiAttachMessage(w.pvName, heldBy, inputs, others) });
      continue;
    }
    actions.push({ type: 'attach', name, pvName: w.pvName, nodeName: w.nodeName, pods: w.pods });
  }

  // 3. Each node's status.volumesAttached: the attachments that are done and stay.
  if (inputs.nodeStatus !== false) {
    // nodes with a done attachment first, then the others, each in the order first seen
    const onNode = new Map<string, KubeObject[]>();
    for (const va of mine) if (!detached.has(va.metadata.name!) && va.status?.attached === true) onNode.set(va.spec.nodeName, []);
    for (const va of mine) {
      const list = onNode.get(va.spec.nodeName) ?? [];
      list.push(va);
      onNode.set(va.spec.nodeName, list);
    }
    for (const [nodeName, vas] of onNode) {
      const action = nodeVolumesAttached(nodeName, inputs.node(nodeName), vas, detached);
      if (action) actions.push(action);
    }
  }
  return { actions, waiting, recheckAt };
}

/**
 * Upstream's Multi-Attach text, then petset's plain words: which node holds the volume and
 * what will release it.
 */
export function multiAttachMessage(pvName: string, heldBy: string[], inputs: Pick<AttachInputs, 'node' | 'detachWantedSince' | 'now' | 'maxWaitForUnmountMs'>, holders: KubeObject[]): string {
  const upstream = `Multi-Attach error for volume "${pvName}" Volume is already exclusively attached to one node and can't be attached to another`;
  const words = heldBy.map((nodeName) => {
    const node = inputs.node(nodeName);
    const va = holders.find((h) => h.spec.nodeName === nodeName);
    const ready = nodeReady(node);
    const since = (va && inputs.detachWantedSince.get(va.metadata.name!)) ?? inputs.now;
    const releases = [
      ready ? `when ${nodeName} stops the pod that uses it and reports the volume unmounted` : `when ${nodeName} comes back (petset node heal ${nodeName}), stops the old pod and reports the volume unmounted`,
      `when ${nodeName} gets the ${TAINT.outOfService} taint`,
      `when the Node ${nodeName} is deleted`,
    ];
    if (!ready) releases.push(`at ${new Date(since + inputs.maxWaitForUnmountMs).toISOString()} (maxWaitForUnmountDuration ${formatDuration(inputs.maxWaitForUnmountMs)})`);
    return `node ${nodeName}${ready ? '' : ' (NotReady)'} still holds it; it is released ${releases.slice(0, -1).join(', ')} or ${releases[releases.length - 1]}`;
  });
  return `${upstream}: ${words.join('; ')}`;
}
