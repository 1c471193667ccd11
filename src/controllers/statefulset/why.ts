// "Why is web-2 not there?": the StatefulSet controller's current blocking reason in plain
// words. decide() puts the slot its pass stopped at into a sentence with explainPlan(), adding
// what the pod, its node and its events say; the controller writes it as the set's Blocked
// condition, and `petset why` and the live view show the same text.
// Pure: the same objects always give the same text.
import type { KubeObject } from '../../api/object.js';
import type { Blocked, StatefulSetStatus, SyncInput } from './decide.js';
import {
  isCreated,
  isFailed,
  isRunningAndReady,
  isSucceeded,
  isTerminating,
  ordinalOf,
  podName,
  podRevision,
  replicaCount,
  startOrdinal,
} from './identity.js';

/** The input of explainPlan: decide()'s input; without `nodes` no node is called lost. */
export type WhyInput = SyncInput;

export interface Why {
  /** false when the controller is making progress or has nothing left to do */
  blocked: boolean;
  /** the ordinal the controller stops at, if any */
  ordinal?: number;
  /** a CamelCase word for the case, the Blocked condition's reason */
  reason: string;
  text: string;
}

/** What decide() found, put into words (its plan's error, status and stop). */
export function explainPlan(input: WhyInput, plan: { error?: { message: string }; status?: StatefulSetStatus; blocked?: Blocked }): Why {
  const name = input.set.metadata.name ?? '';
  if (plan.error) return { blocked: true, reason: 'SyncError', text: `${name}: the controller cannot sync it: ${plan.error.message}` };
  if (input.set.metadata.deletionTimestamp) return { blocked: false, reason: 'Deleting', text: `${name} is being deleted` };
  if (!plan.blocked) {
    const s = plan.status!;
    const want = replicaCount(input.set);
    return {
      blocked: false,
      reason: 'NotBlocked',
      text: `nothing blocks ${name}: ${s.readyReplicas ?? 0}/${want} Ready, ${s.updatedReplicas ?? 0}/${want} at the update revision ${s.updateRevision}`,
    };
  }
  const why = explainBlocked(input, plan.blocked, plan.status?.updateRevision ?? '');
  // A pod stuck on a lost node is the thing to act on, whatever stage waits for it.
  return why.blocked && lostNodeOf(plan.blocked.pod, input) ? { ...why, reason: 'PodTerminatingOnLostNode' } : why;
}

/** Puts one stop of the pod walk into words. */
export function explainBlocked(input: WhyInput, blocked: Blocked, updateRevision: string): Why {
  const { set } = input;
  const pod = blocked.pod;
  const name = pod.metadata.name ?? '';
  const ordinal = ordinalOf(pod);
  const state = podState(pod, input);
  if (blocked.stage === 'condemned') {
    if (isTerminating(pod)) return { blocked: true, ordinal, reason: 'ScaleDownWaiting', text: `scale-down waits: ${name} is ${state}` };
    if (!isRunningAndReady(pod)) {
      return { blocked: true, ordinal, reason: 'ScaleDownWaiting', text: `scale-down waits: ${name} is ${state}; OrderedReady removes the next pod only while the others are Ready` };
    }
    return { blocked: false, ordinal, reason: 'ScalingDown', text: `scale-down: ${name} is being deleted` };
  }
  if (blocked.stage === 'rollout') {
    return { blocked: true, ordinal, reason: 'RolloutWaiting', text: `rollout waits for ${name}, which is ${state}; the next pod is replaced once it is Ready` };
  }
  // The replica walk stopped here: every slot above it waits (OrderedReady).
  const missing = missingAbove(set, ordinal, input.pods, input.podExists);
  if (!isCreated(pod)) {
    return {
      blocked: false,
      ordinal,
      reason: 'CreatingPod',
      text: `${name} is being created${missing.length ? `; ${list(missing)} follow${missing.length === 1 ? 's' : ''} once it is Ready` : ''}`,
    };
  }
  if ((isFailed(pod) || isSucceeded(pod)) && !isTerminating(pod)) {
    return { blocked: false, ordinal, reason: 'RecreatingPod', text: `${name} has ${pod.status?.phase}; the controller deletes it and creates it again` };
  }
  if (podRevision(pod) !== updateRevision && !isTerminating(pod)) {
    return {
      blocked: true,
      ordinal,
      reason: 'RolloutHalted',
      text:
        `rollout halted: ${name} runs revision ${podRevision(pod)} and is ${state}; under OrderedReady the controller ` +
        `will not replace it until it is Ready or deleted (see upstream issue 67250)`,
    };
  }
  if (missing.length) {
    return {
      blocked: true,
      ordinal,
      reason: 'OrderedReadyWaiting',
      text: `${list(missing)} ${missing.length === 1 ? 'is' : 'are'} not created: OrderedReady waits for ${name}, which is ${state}`,
    };
  }
  return { blocked: true, ordinal, reason: 'OrderedReadyWaiting', text: `${name} is ${state}; OrderedReady waits for it before going on` };
}

/** The NotReady (or deleted) node a Terminating pod is stuck on; unknown without the node list. */
function lostNodeOf(pod: KubeObject, ctx: { nodes?: KubeObject[] }): { name: string; what: 'NotReady' | 'gone' } | undefined {
  const nodeName: string | undefined = pod.spec?.nodeName;
  if (!isTerminating(pod) || !nodeName || !ctx.nodes) return undefined;
  const node = ctx.nodes.find((n) => n.metadata.name === nodeName);
  const ready = node?.status?.conditions?.find((c: any) => c.type === 'Ready');
  if (node && ready?.status === 'True') return undefined;
  return { name: nodeName, what: node ? 'NotReady' : 'gone' };
}

/** The set's pod names above an ordinal that have no pod object. */
function missingAbove(set: KubeObject, ordinal: number, pods: KubeObject[], podExists?: (name: string) => boolean): string[] {
  const start = startOrdinal(set);
  const ns = set.metadata.namespace;
  let exists = podExists;
  if (!exists) {
    const have = new Set(pods.filter((p) => p.metadata.namespace === ns).map((p) => p.metadata.name));
    exists = (name) => have.has(name);
  }
  const out: string[] = [];
  for (let o = Math.max(ordinal + 1, start); o < start + replicaCount(set); o++) {
    const n = podName(set, o);
    if (!exists(n)) out.push(n);
  }
  return out;
}

function list(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 2).join(', ')} … ${names[names.length - 1]}`;
}

/** A pod's state in words, for "which is …": Terminating on a lost node, Pending and why, not Ready and why. */
export function podState(pod: KubeObject, ctx: { nodes?: KubeObject[]; events?: KubeObject[]; set?: KubeObject; now?: number }): string {
  const nodeName: string | undefined = pod.spec?.nodeName;
  if (isTerminating(pod)) {
    const lost = lostNodeOf(pod, ctx);
    if (lost) {
      return (
        `Terminating on ${lost.name}, which is ${lost.what}: the pod can only go when the node returns or it is force-deleted ` +
        `(kubectl delete pod ${pod.metadata.name} -n ${pod.metadata.namespace} --grace-period=0 --force)`
      );
    }
    return `Terminating${nodeName ? ` on ${nodeName}` : ''}`;
  }
  const phase: string = pod.status?.phase ?? 'Pending';
  const waiting = containerWaiting(pod);
  if (phase === 'Pending') {
    const scheduled = pod.status?.conditions?.find((c: any) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False') return `Pending, unschedulable${scheduled.message ? ` (${scheduled.message})` : ''}`;
    if (!nodeName) return 'Pending, not yet scheduled';
    return waiting ? `Pending on ${nodeName} (${waiting})` : `Pending on ${nodeName}`;
  }
  if (phase !== 'Running') return phase;
  if (isRunningAndReady(pod)) {
    const min = ctx.set?.spec?.minReadySeconds ?? 0;
    return min ? `Ready but not yet available (minReadySeconds ${min})` : 'Ready';
  }
  if (waiting) return `not Ready (${waiting})`;
  const probe = lastUnhealthy(pod, ctx.events ?? []);
  if (probe) return `not Ready (${probe})`;
  const cond = pod.status?.conditions?.find((c: any) => c.type === 'Ready');
  if (cond?.message) return `not Ready (${cond.message})`;
  return 'not Ready';
}

/** The first waiting container's reason, e.g. "ImagePullBackOff: …" or "CrashLoopBackOff". */
function containerWaiting(pod: KubeObject): string | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    const w = s?.state?.waiting;
    if (w?.reason && w.reason !== 'ContainerCreating' && w.reason !== 'PodInitializing') return w.message ? `${w.reason}: ${w.message}` : w.reason;
  }
  return undefined;
}

/** The newest Unhealthy event of this pod (this incarnation), lower-cased as a clause: "readiness probe failed: …". */
function lastUnhealthy(pod: KubeObject, events: KubeObject[]): string | undefined {
  let best: { at: string; text: string } | undefined;
  for (const e of events as any[]) {
    const o = e.involvedObject ?? e.regarding;
    if (e.reason !== 'Unhealthy' || o?.kind !== 'Pod' || o.name !== pod.metadata.name || o.namespace !== pod.metadata.namespace) continue;
    if (o.uid && pod.metadata.uid && o.uid !== pod.metadata.uid) continue;
    const text: string = e.message ?? e.note ?? '';
    if (!/^Readiness/i.test(text) && !/^Startup/i.test(text)) continue;
    const at: string = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';
    if (!best || at >= best.at) best = { at, text };
  }
  return best && best.text.charAt(0).toLowerCase() + best.text.slice(1);
}
