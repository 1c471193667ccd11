// Admission for priorities, limit ranges and quotas, in upstream's plugin order:
//   Priority       pods get spec.priority (and preemptionPolicy) from their PriorityClass, or
//                  the global default; at most one class may be the global default.
//   LimitRanger    containers get default requests and limits from the namespace's
//                  LimitRanges, and pods outside their min/max/ratio bounds are refused.
//   ResourceQuota  a create that would take a namespace past one of its quotas is refused
//                  with upstream's "exceeded quota" text.
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { compareQuantities, formatQuantity, parseQuantity, tryParseQuantity } from '../api/quantity.js';
import { resourceRef, type AnyKindDef } from '../api/registry.js';
import { quotaCovers, resourceForQuotaName, sumUsage, usageOf, type Usage } from '../api/quota.js';
import type { ApiServer } from './handler.js';
import type { Admission } from './resource-storage.js';

type Obj = Record<string, any>;

export function installQuotaAdmission(api: ApiServer): void {
  const storage = api.storage;
  const kinds = {
    priorityClasses: api.registry.resource('scheduling.k8s.io', 'v1', 'priorityclasses')!,
    limitRanges: api.registry.resource('', 'v1', 'limitranges')!,
    quotas: api.registry.resource('', 'v1', 'resourcequotas')!,
  };
  const isPods = (kind: AnyKindDef) => kind.group === '' && kind.plural === 'pods';

  const priority: Admission = {
    async create(kind, obj) {
      if (kind === kinds.priorityClasses) return checkSingleDefault(obj);
      if (isPods(kind)) await admitPodPriority(kind, obj);
    },
    async update(kind, obj, old) {
      if (kind === kinds.priorityClasses && obj.globalDefault && !old.globalDefault) await checkSingleDefault(obj);
    },
  };

  async function checkSingleDefault(pc: KubeObject): Promise<void> {
    if (!pc.globalDefault) return;
    const other = (await storage.list(kinds.priorityClasses, undefined)).items.find((c) => c.globalDefault && c.metadata.name !== pc.metadata.name);
    if (other) throw errors.forbidden(resourceRef(kinds.priorityClasses), pc.metadata.name, `PriorityClass ${other.metadata.name} is already marked as default. Only one default can exist`);
  }

  async function admitPodPriority(kind: AnyKindDef, pod: KubeObject): Promise<void> {
    const spec = (pod.spec ??= {});
    let value = 0;
    let policy: string | undefined = 'PreemptLowerPriority';
    if (!spec.priorityClassName) {
      // the newest global default, as upstream picks among several
      const defaults = (await storage.list(kinds.priorityClasses, undefined)).items.filter((c) => c.globalDefault);
      const def = defaults.sort((a, b) => (a.metadata.creationTimestamp! < b.metadata.creationTimestamp! ? 1 : -1))[0];
      if (def) {
        spec.priorityClassName = def.metadata.name;
        value = def.value;
        policy = def.preemptionPolicy;
      }
    } else {
      const pc = await storage.tryGetShared(kinds.priorityClasses, undefined, spec.priorityClassName);
      if (!pc) throw errors.forbidden(resourceRef(kind), pod.metadata.name ?? pod.metadata.generateName, `no PriorityClass with name ${spec.priorityClassName} was found`);
      value = pc.value;
      policy = pc.preemptionPolicy;
    }
    if (spec.priority !== undefined && spec.priority !== null && spec.priority !== value) {
      throw errors.forbidden(
        resourceRef(kind),
        pod.metadata.name ?? pod.metadata.generateName,
        `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`,
      );
    }
    spec.priority = value;
    if (policy) {
      if (spec.preemptionPolicy && spec.preemptionPolicy !== policy) {
        throw errors.forbidden(
          resourceRef(kind),
          pod.metadata.name ?? pod.metadata.generateName,
          `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
        );
      }
      spec.preemptionPolicy = policy;
    }
  }

  const limitRanger: Admission = {
    async create(kind, obj) {
      if (!isPods(kind)) return;
      const ranges = (await storage.list(kinds.limitRanges, obj.metadata.namespace)).items;
      if (!ranges.length) return;
      for (const lr of ranges) applyContainerDefaults(obj, lr);
      const problems = ranges.flatMap((lr) => podLimitProblems(obj, lr));
      if (problems.length) {
        throw errors.forbidden(resourceRef(kind), obj.metadata.name ?? obj.metadata.generateName, problems.length === 1 ? problems[0] : `[${problems.join(', ')}]`);
      }
    },
  };

  const resourceQuota: Admission = {
    async create(kind, obj) {
      if (!kind.namespaced || kind.plural === 'events') return;
      const ns = obj.metadata.namespace!;
      const quotas = (await storage.list(kinds.quotas, ns)).items;
      if (!quotas.length) return;
      const delta = usageOf(kind.group, kind.plural, obj);
      const name = obj.metadata.name ?? obj.metadata.generateName;
      for (const q of quotas) {
        if (!quotaCovers(q, kind.group, kind.plural, obj)) continue;
        const hard: Record<string, string> = q.spec?.hard ?? {};
        const names = Object.keys(hard);
        // compute quotas constrain pods that do not say what they use
        if (isPods(kind)) {
          const missing = missingComputeResources(obj, names);
          if (missing.length) throw errors.forbidden(resourceRef(kind), name, `failed quota: ${q.metadata.name}: must specify ${missing.join('; ')}`);
        }
        const charged = names.filter((n) => delta.has(n));
        if (!charged.length) continue;
        const used = await namespaceUsage(api, ns, charged, q);
        const exceeded = charged.filter((n) => used.get(n)! + delta.get(n)! > parseQuantity(hard[n]).nanos).sort();
        if (!exceeded.length) continue;
        const list = (f: (n: string) => string) => exceeded.map((n) => `${n}=${f(n)}`).join(',');
        const fmt = (n: string, nanos: bigint) => formatQuantity({ nanos, format: parseQuantity(hard[n]).format });
        throw errors.forbidden(
          resourceRef(kind),
          name,
          `exceeded quota: ${q.metadata.name}, requested: ${list((n) => fmt(n, delta.get(n)!))}, used: ${list((n) => fmt(n, used.get(n)!))}, limited: ${list((n) => hard[n])}`,
        );
      }
    },
  };

  storage.admission.push(priority, limitRanger, resourceQuota);
}

/** What the namespace uses now of each name (from the objects themselves, not the quota's status). */
export async function namespaceUsage(api: ApiServer, namespace: string, names: string[], quota: KubeObject): Promise<Usage> {
  const usages: Usage[] = [];
  const resources = new Map<string, { group: string; plural: string }>();
  for (const n of names) {
    const r = resourceForQuotaName(n);
    if (r) resources.set(`${r.group}/${r.plural}`, r);
  }
  for (const { group, plural } of resources.values()) {
    const kind = api.registry.kinds.find((k) => k.group === group && k.plural === plural && k.namespaced && !k.conversion && !k.readOnly);
    if (!kind) continue;
    for (const obj of (await api.storage.list(kind, namespace)).items) if (quotaCovers(quota, group, plural, obj)) usages.push(usageOf(group, plural, obj));
  }
  return sumUsage(usages, names);
}

/** LimitRanger's defaults: each container's missing requests and limits from the Container items. */
function applyContainerDefaults(pod: KubeObject, lr: KubeObject): void {
  for (const item of (lr.spec?.limits ?? []) as Obj[]) {
    if (item.type !== 'Container') continue;
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
      const res = (c.resources ??= {});
      for (const [k, v] of Object.entries((item.default ?? {}) as Obj)) {
        if (res.limits?.[k] === undefined) (res.limits ??= {})[k] = v;
      }
      for (const [k, v] of Object.entries((item.defaultRequest ?? {}) as Obj)) {
        if (res.requests?.[k] === undefined) (res.requests ??= {})[k] = v;
      }
    }
  }
}

/** LimitRanger's checks, with upstream's texts. */
function podLimitProblems(pod: KubeObject, lr: KubeObject): string[] {
  const out: string[] = [];
  const check = (what: string, requests: Obj, limits: Obj, item: Obj) => {
    for (const [k, min] of Object.entries((item.min ?? {}) as Obj)) {
      const r = requests[k];
      if (r === undefined) out.push(`minimum ${k} usage per ${what} is ${min}.  No request is specified`);
      else if (compareQuantities(r, min) < 0) out.push(`minimum ${k} usage per ${what} is ${min}, but request is ${formatQuantity(r)}`);
    }
    for (const [k, max] of Object.entries((item.max ?? {}) as Obj)) {
      const l = limits[k];
      if (l === undefined) out.push(`maximum ${k} usage per ${what} is ${max}.  No limit is specified`);
      else if (compareQuantities(l, max) > 0) out.push(`maximum ${k} usage per ${what} is ${max}, but limit is ${formatQuantity(l)}`);
    }
    for (const [k, ratio] of Object.entries((item.maxLimitRequestRatio ?? {}) as Obj)) {
      const l = tryParseQuantity(limits[k]);
      const r = tryParseQuantity(requests[k]);
      if (!l) {
        out.push(`${k} max limit to request ratio per ${what} is ${ratio}, but no limit is specified`);
        continue;
      }
      if (!r || r.nanos === 0n) {
        out.push(`${k} max limit to request ratio per ${what} is ${ratio}, but no request is specified or request is 0`);
        continue;
      }
      const actual = Number(l.nanos) / Number(r.nanos);
      if (actual > Number(parseQuantity(ratio).nanos) / 1e9) out.push(`${k} max limit to request ratio per ${what} is ${ratio}, but provided ratio is ${actual.toFixed(6)}`);
    }
  };
  for (const item of (lr.spec?.limits ?? []) as Obj[]) {
    if (item.type === 'Container') {
      for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) check('Container', c.resources?.requests ?? {}, c.resources?.limits ?? {}, item);
    } else if (item.type === 'Pod') {
      const sum = (which: 'requests' | 'limits') => {
        const total: Obj = {};
        for (const c of pod.spec?.containers ?? []) {
          for (const [k, v] of Object.entries((c.resources?.[which] ?? {}) as Obj)) {
            total[k] = formatQuantity({ nanos: (tryParseQuantity(total[k])?.nanos ?? 0n) + parseQuantity(v as string).nanos, format: parseQuantity(v as string).format });
          }
        }
        return total;
      };
      check('Pod', sum('requests'), sum('limits'), item);
    }
  }
  return out;
}

/** Compute resources a quota caps that a container leaves unset: "limits.cpu for: app". */
function missingComputeResources(pod: KubeObject, names: string[]): string[] {
  const out: string[] = [];
  for (const n of names.sort()) {
    const m = /^(requests|limits)\.(cpu|memory)$/.exec(n) ?? (/^(cpu|memory)$/.test(n) ? [n, 'requests', n] : null);
    if (!m) continue;
    const [, which, res] = m;
    const lacking = (pod.spec?.containers ?? []).filter((c: Obj) => c.resources?.[which]?.[res] === undefined).map((c: Obj) => c.name);
    if (lacking.length) out.push(`${n} for: ${lacking.join(',')}`);
  }
  return out;
}
