// Resource quota accounting, shared by the ResourceQuota admission (refuses what would exceed a
// quota) and the resource quota controller (keeps status.used): what one object uses of each
// quota resource name, as upstream's evaluators count it. Pure.
import type { KubeObject } from './object.js';
import { formatQuantity, parseQuantity, tryParseQuantity, type Quantity } from './quantity.js';

/** Usage in nano-units per quota resource name (e.g. "pods", "requests.cpu", "count/deployments.apps"). */
export type Usage = Map<string, bigint>;

/** The names core objects are also counted under, besides count/<plural>. */
const LEGACY_COUNT: Record<string, string> = {
  pods: 'pods',
  services: 'services',
  configmaps: 'configmaps',
  secrets: 'secrets',
  persistentvolumeclaims: 'persistentvolumeclaims',
  replicationcontrollers: 'replicationcontrollers',
  resourcequotas: 'resourcequotas',
};

const ONE = 1_000_000_000n;

function add(u: Usage, name: string, nanos: bigint): void {
  u.set(name, (u.get(name) ?? 0n) + nanos);
}

/** Pods that finished hold nothing (QuotaV1Pod). */
export function podCounts(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** A pod's effective request or limit of a resource: the larger of its containers' sum and its largest init container (and overhead). */
function podResource(pod: KubeObject, which: 'requests' | 'limits', resource: string): bigint | undefined {
  const q = (c: any) => tryParseQuantity(c?.resources?.[which]?.[resource])?.nanos;
  let sum: bigint | undefined;
  for (const c of pod.spec?.containers ?? []) {
    const v = q(c);
    if (v !== undefined) sum = (sum ?? 0n) + v;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const v = q(c);
    if (v !== undefined && (sum === undefined || v > sum)) sum = v;
  }
  const overhead = tryParseQuantity(pod.spec?.overhead?.[resource])?.nanos;
  if (sum !== undefined && overhead !== undefined) sum += overhead;
  return sum;
}

/** What one object uses. group and plural name its resource. */
export function usageOf(group: string, plural: string, obj: KubeObject): Usage {
  const u: Usage = new Map();
  if (group === '' && plural === 'pods') {
    if (!podCounts(obj)) return u;
    add(u, 'pods', ONE);
    add(u, 'count/pods', ONE);
    for (const res of ['cpu', 'memory', 'ephemeral-storage']) {
      const req = podResource(obj, 'requests', res);
      if (req !== undefined) {
        add(u, `requests.${res}`, req);
        add(u, res, req);
      }
      const lim = podResource(obj, 'limits', res);
      if (lim !== undefined) add(u, `limits.${res}`, lim);
    }
    return u;
  }
  add(u, group ? `count/${plural}.${group}` : `count/${plural}`, ONE);
  if (group === '' && LEGACY_COUNT[plural]) add(u, LEGACY_COUNT[plural], ONE);
  if (group === '' && plural === 'services') {
    if (obj.spec?.type === 'LoadBalancer') add(u, 'services.loadbalancers', ONE);
    if (obj.spec?.type === 'NodePort' || obj.spec?.type === 'LoadBalancer') add(u, 'services.nodeports', BigInt((obj.spec?.ports ?? []).length) * ONE);
  }
  if (group === '' && plural === 'persistentvolumeclaims') {
    const storage = tryParseQuantity(obj.spec?.resources?.requests?.storage)?.nanos;
    if (storage !== undefined) add(u, 'requests.storage', storage);
  }
  return u;
}

/** The quota resource names an object of this resource can be charged under (to find objects to count). */
export function resourceForQuotaName(name: string): { group: string; plural: string } | undefined {
  if (name.startsWith('count/')) {
    const rest = name.slice('count/'.length);
    const i = rest.indexOf('.');
    return i < 0 ? { group: '', plural: rest } : { group: rest.slice(i + 1), plural: rest.slice(0, i) };
  }
  if (Object.values(LEGACY_COUNT).includes(name)) return { group: '', plural: name };
  if (/^(requests|limits)\.|^(cpu|memory|ephemeral-storage)$/.test(name)) return name === 'requests.storage' ? { group: '', plural: 'persistentvolumeclaims' } : { group: '', plural: 'pods' };
  if (name.startsWith('services.')) return { group: '', plural: 'services' };
  return undefined;
}

/** Sums usages, keeping only the names in `names`. */
export function sumUsage(usages: Iterable<Usage>, names: Iterable<string>): Usage {
  const keep = new Set(names);
  const out: Usage = new Map([...keep].map((n) => [n, 0n]));
  for (const u of usages) for (const [k, v] of u) if (keep.has(k)) out.set(k, out.get(k)! + v);
  return out;
}

/** A usage as a ResourceList, in the format of the quota's hard value for that name. */
export function usageToList(u: Usage, hard: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, nanos] of u) {
    const fmt = tryParseQuantity(hard[k])?.format ?? 'DecimalSI';
    out[k] = formatQuantity({ nanos, format: /memory|storage/.test(k) && fmt === 'DecimalSI' && nanos % (1024n * ONE) === 0n ? 'BinarySI' : fmt } as Quantity);
  }
  return out;
}

export function quantityText(nanos: bigint, like?: string): string {
  const fmt = like ? parseQuantity(like).format : 'DecimalSI';
  return formatQuantity({ nanos, format: fmt });
}

function bestEffort(pod: KubeObject): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].every(
    (c: any) => !Object.keys(c.resources?.requests ?? {}).length && !Object.keys(c.resources?.limits ?? {}).length,
  );
}

function scopeMatches(scope: string, operator: string, values: string[], pod: KubeObject): boolean {
  switch (scope) {
    case 'Terminating':
      return pod.spec?.activeDeadlineSeconds !== undefined && pod.spec?.activeDeadlineSeconds !== null;
    case 'NotTerminating':
      return pod.spec?.activeDeadlineSeconds === undefined || pod.spec?.activeDeadlineSeconds === null;
    case 'BestEffort':
      return bestEffort(pod);
    case 'NotBestEffort':
      return !bestEffort(pod);
    case 'PriorityClass': {
      const name: string | undefined = pod.spec?.priorityClassName || undefined;
      if (operator === 'Exists') return name !== undefined;
      if (operator === 'DoesNotExist') return name === undefined;
      if (operator === 'NotIn') return name === undefined || !values.includes(name);
      return name !== undefined && values.includes(name);
    }
    default:
      return false;
  }
}

/** Whether a quota's scopes select the object: unscoped quotas cover everything; scoped ones only pods their scopes select. */
export function quotaCovers(quota: KubeObject, group: string, plural: string, obj: KubeObject): boolean {
  const scopes: string[] = quota.spec?.scopes ?? [];
  const expressions: any[] = quota.spec?.scopeSelector?.matchExpressions ?? [];
  if (!scopes.length && !expressions.length) return true;
  if (group !== '' || plural !== 'pods') return false;
  return scopes.every((s) => scopeMatches(s, 'Exists', [], obj)) && expressions.every((e) => scopeMatches(e.scopeName, e.operator, e.values ?? [], obj));
}
