// The scheduler's filters, pure: given a pod and a snapshot of the nodes (with the pods
// already on them), which nodes can take the pod, and if none can, upstream's FitError text.
// Filters run in the default profile's order and a node stops at its first failure.
import { controllerRef, type KubeObject } from '../api/object.js';
import { isPodTerminal } from '../api/pod-status.js';
import { LabelSelector, labelSelectorFromObject, type Labels } from '../api/selectors.js';
import { findUntoleratedTaint, TAINT, taintsOf, taintText, tolerationsOf, tolerationsTolerate } from '../api/taints.js';
import { nodeMatchesPodSelectors } from './node-selectors.js';
import { addInto, subtractFrom, podHostPorts, podRequests, portsConflict, resourceList, wholeUnits, type HostPort, type Resources } from './resources.js';
import { planVolumes, type PodClaims, type VolumeCache, type VolumePlan } from './volumes.js';

export const REASONS = {
  unschedulable: 'node(s) were unschedulable',
  nodeAffinity: "node(s) didn't match Pod's node affinity/selector",
  nodePorts: "node(s) didn't have free ports for the requested pod ports",
  tooManyPods: 'Too many pods',
  podAffinity: "node(s) didn't match pod affinity rules",
  podAntiAffinity: "node(s) didn't match pod anti-affinity rules",
  existingAntiAffinity: "node(s) didn't satisfy existing pods anti-affinity rules",
  noNodes: 'no nodes available to schedule pods',
  preemptionNotHelpful: 'Preemption is not helpful for scheduling',
  noVictims: 'No preemption victims found for incoming pod',
};

/** A node with the pods bound (or about to be bound) to it and what they use. */
export interface NodeInfo {
  name: string;
  node: KubeObject;
  pods: KubeObject[];
  requested: Resources;
  /** cpu and memory with defaults for containers that request none (for scoring) */
  nonZeroRequested: Resources;
  allocatable: Resources;
  usedPorts: HostPort[];
  /** the pods with required anti-affinity terms, the only ones other pods' placement must respect */
  podsWithRequiredAntiAffinity: KubeObject[];
  /** pods per controlling owner (namespace and uid, see controllerKey), for spreading */
  podsByController: Map<string, number>;
}

/** What a pod adds to its node's info, worked out once per pod object (informers replace objects that change). */
interface PodFacts {
  requests: Resources;
  nonZeroRequests: Resources;
  ports: HostPort[];
  requiredAntiAffinity: boolean;
  controller?: string;
}

const podFacts = new WeakMap<KubeObject, PodFacts>();

function factsOf(pod: KubeObject): PodFacts {
  let f = podFacts.get(pod);
  if (!f) {
    f = {
      requests: podRequests(pod),
      nonZeroRequests: podRequests(pod, true),
      ports: podHostPorts(pod),
      requiredAntiAffinity: requiredTerms(pod, 'podAntiAffinity').length > 0,
      controller: controllerKey(pod),
    };
    podFacts.set(pod, f);
  }
  return f;
}

/** Namespace and uid of the pod's controlling owner: pods with the same key belong to the same controller. */
export function controllerKey(pod: KubeObject): string | undefined {
  const ref = controllerRef(pod);
  return ref ? `${pod.metadata.namespace ?? ''}\u0000${ref.uid}` : undefined;
}

/** One node's info from the pods assigned to it (terminal ones take no room). */
export function nodeInfo(node: KubeObject, assignedPods: Iterable<KubeObject>): NodeInfo {
  const info: NodeInfo = {
    name: node.metadata.name!,
    node,
    pods: [],
    requested: new Map(),
    nonZeroRequested: new Map(),
    allocatable: resourceList(node.status?.allocatable),
    usedPorts: [],
    podsWithRequiredAntiAffinity: [],
    podsByController: new Map(),
  };
  for (const pod of assignedPods) addPod(info, pod);
  return info;
}

/** Counts a pod in its node's info (a terminal pod takes no room and is left out). */
export function addPod(info: NodeInfo, pod: KubeObject): void {
  if (isPodTerminal(pod)) return;
  const f = factsOf(pod);
  info.pods.push(pod);
  addInto(info.requested, f.requests);
  addInto(info.nonZeroRequested, f.nonZeroRequests);
  info.usedPorts.push(...f.ports);
  if (f.requiredAntiAffinity) info.podsWithRequiredAntiAffinity.push(pod);
  if (f.controller) info.podsByController.set(f.controller, (info.podsByController.get(f.controller) ?? 0) + 1);
}

/**
 * Takes back what addPod counted for this very pod object, so that a node's info follows its
 * pods' changes without being rebuilt from all of them (a node of 100 pods would otherwise be
 * walked again for every decision after any of its pods changed).
 */
export function removePod(info: NodeInfo, pod: KubeObject): void {
  const at = info.pods.indexOf(pod);
  if (at < 0) return; // terminal when added, or never added
  const f = factsOf(pod);
  info.pods.splice(at, 1);
  subtractFrom(info.requested, f.requests);
  subtractFrom(info.nonZeroRequested, f.nonZeroRequests);
  for (const port of f.ports) {
    const i = info.usedPorts.indexOf(port);
    if (i >= 0) info.usedPorts.splice(i, 1);
  }
  if (f.requiredAntiAffinity) {
    const i = info.podsWithRequiredAntiAffinity.indexOf(pod);
    if (i >= 0) info.podsWithRequiredAntiAffinity.splice(i, 1);
  }
  if (f.controller) {
    const n = (info.podsByController.get(f.controller) ?? 0) - 1;
    if (n > 0) info.podsByController.set(f.controller, n);
    else info.podsByController.delete(f.controller);
  }
}

export function byName(a: NodeInfo, b: NodeInfo): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Node infos sorted by name, from the nodes and every pod assigned to one. */
export function buildNodeInfos(nodes: KubeObject[], assignedPods: KubeObject[]): NodeInfo[] {
  const byNode = new Map<string, KubeObject[]>();
  for (const pod of assignedPods) {
    const name = pod.spec?.nodeName;
    if (!name) continue;
    const list = byNode.get(name);
    if (list) list.push(pod);
    else byNode.set(name, [pod]);
  }
  return nodes.map((node) => nodeInfo(node, byNode.get(node.metadata.name!) ?? [])).sort(byName);
}

export interface FilterStatus {
  reasons: string[];
  /** no preemption could help (UnschedulableAndUnresolvable) */
  unresolvable: boolean;
}

/** Per-pod state computed once per scheduling attempt. */
export interface CycleState {
  pod: KubeObject;
  requests: Resources;
  ports: HostPort[];
  claims: PodClaims;
  volumes: VolumeCache;
  affinity: AffinityState;
  /** the volume plan of each node that passed the volume filter */
  volumePlans: Map<string, VolumePlan>;
  /** why the pod's claims, as other pods already use them, keep it off a node (see volumeAccessCheck) */
  volumeAccess: (nodeName: string) => string | undefined;
}

type Filter = (state: CycleState, info: NodeInfo) => FilterStatus | undefined;

const fail = (unresolvable: boolean, ...reasons: string[]): FilterStatus => ({ reasons, unresolvable });

const nodeUnschedulable: Filter = (state, info) => {
  if (!info.node.spec?.unschedulable) return undefined;
  const tolerated = tolerationsTolerate(tolerationsOf(state.pod), { key: TAINT.unschedulable, effect: 'NoSchedule' });
  return tolerated ? undefined : fail(true, REASONS.unschedulable);
};

const taintToleration: Filter = (state, info) => {
  const taint = findUntoleratedTaint(taintsOf(info.node), tolerationsOf(state.pod), (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  return taint ? fail(true, `node(s) had untolerated taint ${taintText(taint)}`) : undefined;
};

const nodeAffinity: Filter = (state, info) => (nodeMatchesPodSelectors(state.pod, info.node) ? undefined : fail(true, REASONS.nodeAffinity));

const nodePorts: Filter = (state, info) =>
  state.ports.some((p) => info.usedPorts.some((u) => portsConflict(p, u))) ? fail(false, REASONS.nodePorts) : undefined;

const STANDARD_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];

/** Resources the fit check counts: the standard ones and extended (domain-prefixed) or hugepages ones. */
function counted(name: string): boolean {
  return STANDARD_RESOURCES.includes(name) || name.includes('/') || name.startsWith('hugepages-');
}

const resourcesFit: Filter = (state, info) => {
  const reasons: string[] = [];
  const allowedPods = wholeUnits(info.allocatable.get('pods') ?? 0n);
  if (info.pods.length + 1 > allowedPods) reasons.push(REASONS.tooManyPods);
  const wanted = [...state.requests].filter(([name, amount]) => counted(name) && amount > 0n);
  const ordered = [
    ...STANDARD_RESOURCES.flatMap((n) => wanted.filter(([name]) => name === n)),
    ...wanted.filter(([name]) => !STANDARD_RESOURCES.includes(name)).sort(([a], [b]) => (a < b ? -1 : 1)),
  ];
  for (const [name, amount] of ordered) {
    const free = (info.allocatable.get(name) ?? 0n) - (info.requested.get(name) ?? 0n);
    if (amount > free) reasons.push(`Insufficient ${name}`);
  }
  return reasons.length ? fail(false, ...reasons) : undefined;
};

/**
 * VolumeRestrictions. ReadWriteOncePod is upstream's check; keeping a ReadWriteOnce claim
 * on the one node already using it is petset's, standing in for the attach/detach
 * controller's single attachment. Both leave room for preemption, as upstream's does.
 */
const volumeRestrictions: Filter = (state, info) => {
  const reason = state.volumeAccess(info.name);
  return reason ? fail(false, reason) : undefined;
};

const volumeBinding: Filter = (state, info) => {
  const { reasons, plan } = planVolumes(state.claims, info.node, state.volumes);
  if (plan) {
    state.volumePlans.set(info.name, plan);
    return undefined;
  }
  return fail(true, ...reasons);
};

const interPodAffinity: Filter = (state, info) => {
  const a = state.affinity;
  const labels = info.node.metadata.labels ?? {};
  if (a.affinityTerms.length) {
    let podsExist = true;
    for (const t of a.affinityTerms) {
      if (!Object.hasOwn(labels, t.topologyKey)) return fail(true, REASONS.podAffinity);
      if (!((a.affinityCounts.get(pairKey(t.topologyKey, labels[t.topologyKey])) ?? 0) > 0)) podsExist = false;
    }
    // the first pod of a group that must run together may start anywhere its own terms allow
    if (!podsExist && !(a.affinityCounts.size === 0 && matchesAllTerms(a.affinityTerms, state.pod, a.namespaceLabels))) {
      return fail(true, REASONS.podAffinity);
    }
  }
  for (const t of a.antiAffinityTerms) {
    if (Object.hasOwn(labels, t.topologyKey) && (a.antiAffinityCounts.get(pairKey(t.topologyKey, labels[t.topologyKey])) ?? 0) > 0) {
      return fail(false, REASONS.podAntiAffinity);
    }
  }
  // most clusters have no pod with required anti-affinity: nothing to look up per node label
  if (a.existingAntiAffinityCounts.size) {
    for (const [k, v] of Object.entries(labels)) {
      if ((a.existingAntiAffinityCounts.get(pairKey(k, v)) ?? 0) > 0) return fail(false, REASONS.existingAntiAffinity);
    }
  }
  return undefined;
};

const FILTERS: Filter[] = [nodeUnschedulable, taintToleration, nodeAffinity, nodePorts, resourcesFit, volumeRestrictions, volumeBinding, interPodAffinity];

/** The first failing filter's status, or undefined when the node fits. */
export function filterNode(state: CycleState, info: NodeInfo): FilterStatus | undefined {
  for (const f of FILTERS) {
    const status = f(state, info);
    if (status) return status;
  }
  return undefined;
}

/* ---------- inter-pod affinity ---------- */

export interface AffinityTerm {
  selector: LabelSelector;
  /** namespaces named by the term, or the owner's own when it names none and has no namespace selector */
  namespaces: Set<string>;
  namespaceSelector: LabelSelector;
  topologyKey: string;
}

export interface AffinityState {
  affinityTerms: AffinityTerm[];
  antiAffinityTerms: AffinityTerm[];
  /** topology pair → pods matching all the incoming pod's affinity terms */
  affinityCounts: Map<string, number>;
  /** topology pair → pods matching one of the incoming pod's anti-affinity terms */
  antiAffinityCounts: Map<string, number>;
  /** topology pair → existing pods whose anti-affinity terms match the incoming pod */
  existingAntiAffinityCounts: Map<string, number>;
  namespaceLabels: (namespace: string) => Labels;
}

function pairKey(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

export function requiredTerms(pod: KubeObject, kind: 'podAffinity' | 'podAntiAffinity'): AffinityTerm[] {
  const terms = pod.spec?.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!Array.isArray(terms)) return [];
  return terms.map((t: any) => {
    const names: string[] = Array.isArray(t?.namespaces) ? t.namespaces : [];
    const namespaces = new Set(names);
    if (!names.length && !t?.namespaceSelector) namespaces.add(pod.metadata.namespace!);
    return {
      selector: safeSelector(t?.labelSelector),
      namespaces,
      namespaceSelector: safeSelector(t?.namespaceSelector),
      topologyKey: t?.topologyKey ?? '',
    };
  });
}

function safeSelector(sel: unknown): LabelSelector {
  try {
    return labelSelectorFromObject(sel as any);
  } catch {
    return LabelSelector.nothing();
  }
}

function termMatches(term: AffinityTerm, pod: KubeObject, namespaceLabels: (ns: string) => Labels): boolean {
  const ns = pod.metadata.namespace!;
  const inNamespace = term.namespaces.has(ns) || term.namespaceSelector.matches(namespaceLabels(ns));
  return inNamespace && term.selector.matches(pod.metadata.labels);
}

function matchesAllTerms(terms: AffinityTerm[], pod: KubeObject, namespaceLabels: (ns: string) => Labels): boolean {
  return terms.length > 0 && terms.every((t) => termMatches(t, pod, namespaceLabels));
}

export function affinityState(pod: KubeObject, infos: NodeInfo[], namespaceLabels: (ns: string) => Labels): AffinityState {
  const state: AffinityState = {
    affinityTerms: requiredTerms(pod, 'podAffinity'),
    antiAffinityTerms: requiredTerms(pod, 'podAntiAffinity'),
    affinityCounts: new Map(),
    antiAffinityCounts: new Map(),
    existingAntiAffinityCounts: new Map(),
    namespaceLabels,
  };
  const bump = (counts: Map<string, number>, labels: Record<string, string>, key: string) => {
    if (!Object.hasOwn(labels, key)) return;
    const k = pairKey(key, labels[key]);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  const ownTerms = state.affinityTerms.length > 0 || state.antiAffinityTerms.length > 0;
  for (const info of infos) {
    const labels = info.node.metadata.labels ?? {};
    if (ownTerms) {
      for (const existing of info.pods) {
        if (matchesAllTerms(state.affinityTerms, existing, namespaceLabels)) {
          for (const t of state.affinityTerms) bump(state.affinityCounts, labels, t.topologyKey);
        }
        for (const t of state.antiAffinityTerms) if (termMatches(t, existing, namespaceLabels)) bump(state.antiAffinityCounts, labels, t.topologyKey);
      }
    }
    for (const existing of info.podsWithRequiredAntiAffinity) {
      for (const t of requiredTerms(existing, 'podAntiAffinity')) {
        if (termMatches(t, pod, namespaceLabels)) bump(state.existingAntiAffinityCounts, labels, t.topologyKey);
      }
    }
  }
  return state;
}

/* ---------- the unschedulable message ---------- */

function histogram(reasons: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  return parts.length ? ` ${parts.join(', ')}.` : '';
}

/**
 * FitError.Error(): the filter reasons counted over nodes (or the PreFilter message), then
 * what preemption made of it. Preemption is not implemented: nodes that failed for reasons
 * preemption could address report that no victims were found, as with equal priorities.
 */
export function fitErrorMessage(pod: KubeObject, numNodes: number, statuses: FilterStatus[], preFilterMsg?: string): string {
  let msg = `0/${numNodes} nodes are available:`;
  msg += preFilterMsg ? ` ${preFilterMsg}.` : histogram(statuses.flatMap((s) => s.reasons));
  let postFilter: string;
  if (pod.spec?.preemptionPolicy === 'Never') postFilter = 'not eligible due to preemptionPolicy=Never.';
  else {
    const outcomes = statuses.map((s) => (s.unresolvable ? REASONS.preemptionNotHelpful : REASONS.noVictims));
    postFilter = `0/${numNodes} nodes are available:${histogram(outcomes)}`;
  }
  return `${msg} preemption: ${postFilter}.`;
}
