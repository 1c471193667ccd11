// Ranking the nodes that passed the filters, in the spirit of the default profile's scores
// (least allocated, spreading a controller's pods, preferred node affinity, PreferNoSchedule
// taints), each normalized to 0..100 and weighted. Ties go to the first name, so the choice
// is deterministic.
import type { KubeObject } from '../api/object.js';
import { taintsOf, tolerationsOf, tolerationsTolerate } from '../api/taints.js';
import { controllerKey, type NodeInfo } from './filters.js';
import { preferredNodeAffinityWeight } from './node-selectors.js';
import { podRequests } from './resources.js';

const WEIGHTS = { leastAllocated: 1, spread: 2, nodeAffinity: 2, taints: 3 };
const MAX = 100;

/** Free share of cpu and memory after placing the pod, 0..100. */
function leastAllocated(pod: Map<string, bigint>, info: NodeInfo): number {
  let sum = 0;
  for (const r of ['cpu', 'memory']) {
    const alloc = info.allocatable.get(r) ?? 0n;
    const used = (info.nonZeroRequested.get(r) ?? 0n) + (pod.get(r) ?? 0n);
    if (alloc > 0n && used <= alloc) sum += Number(((alloc - used) * BigInt(MAX)) / alloc);
  }
  return sum / 2;
}

/** Scales raw values to 0..100 by the largest; reversed, the smallest raw value scores highest. */
function normalize(raw: number[], reverse: boolean): number[] {
  const max = Math.max(0, ...raw);
  if (max === 0) return raw.map(() => (reverse ? MAX : 0));
  return raw.map((v) => (reverse ? ((max - v) * MAX) / max : (v * MAX) / max));
}

/** The best node for the pod among the feasible ones (non-empty). */
export function pickNode(pod: KubeObject, feasible: NodeInfo[]): NodeInfo {
  const requests = podRequests(pod, true);
  const tolerations = tolerationsOf(pod);
  const controller = controllerKey(pod);
  const spread = normalize(
    feasible.map((i) => (controller ? (i.podsByController.get(controller) ?? 0) : 0)),
    true,
  );
  const affinity = normalize(
    feasible.map((i) => preferredNodeAffinityWeight(pod, i.node)),
    false,
  );
  const taints = normalize(
    feasible.map((i) => taintsOf(i.node).filter((t) => t.effect === 'PreferNoSchedule' && !tolerationsTolerate(tolerations, t)).length),
    true,
  );
  let best = 0;
  let bestScore = -1;
  feasible.forEach((info, i) => {
    const score =
      WEIGHTS.leastAllocated * leastAllocated(requests, info) +
      WEIGHTS.spread * spread[i] +
      WEIGHTS.nodeAffinity * affinity[i] +
      WEIGHTS.taints * taints[i];
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  });
  return feasible[best];
}
