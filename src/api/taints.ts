// Taints and tolerations: which pods a node's taints keep away (scheduler) or drive off
// (taint-based eviction), with upstream's matching rules.

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect | string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number | null;
}

/** Well-known taint keys (k8s.io/api/core/v1 well_known_taints.go). */
export const TAINT = {
  notReady: 'node.kubernetes.io/not-ready',
  unreachable: 'node.kubernetes.io/unreachable',
  unschedulable: 'node.kubernetes.io/unschedulable',
  memoryPressure: 'node.kubernetes.io/memory-pressure',
  diskPressure: 'node.kubernetes.io/disk-pressure',
  pidPressure: 'node.kubernetes.io/pid-pressure',
  networkUnavailable: 'node.kubernetes.io/network-unavailable',
  outOfService: 'node.kubernetes.io/out-of-service',
} as const;

/**
 * An empty effect matches every effect, an empty key (with Exists) every key; the
 * operator Equal (also when empty) compares values, Exists ignores them.
 */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function tolerationsTolerate(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => toleratesTaint(t, taint));
}

/** The first taint (in node order) passing the filter that no toleration covers. */
export function findUntoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  filter: (t: Taint) => boolean = () => true,
): Taint | undefined {
  return taints.find((taint) => filter(taint) && !tolerationsTolerate(tolerations, taint));
}

/** For each taint the first toleration covering it; allTolerated is false when one has none. */
export function matchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[]): { allTolerated: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = tolerations.find((x) => toleratesTaint(x, taint));
    if (!t) return { allTolerated: false, used: [] };
    used.push(t);
  }
  return { allTolerated: true, used };
}

/**
 * How long the tolerations let a pod stay, in seconds: -1 is forever (none sets
 * tolerationSeconds), 0 when no toleration was needed or one allows no time at all.
 */
export function minTolerationSeconds(used: readonly Toleration[]): number {
  if (!used.length) return 0;
  let min = Infinity;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min;
}

export function taintsOf(node: { spec?: any }): Taint[] {
  return Array.isArray(node.spec?.taints) ? node.spec.taints : [];
}

export function tolerationsOf(pod: { spec?: any }): Toleration[] {
  return Array.isArray(pod.spec?.tolerations) ? pod.spec.tolerations : [];
}

/** "{key: value}", as scheduler messages print a taint. */
export function taintText(t: Taint): string {
  return `{${t.key}: ${t.value ?? ''}}`;
}
