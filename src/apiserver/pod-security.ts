// Pod Security admission: a namespace's pod-security.kubernetes.io/enforce|warn labels pick a
// level (privileged, baseline, restricted); pods that break the enforced level are refused,
// pods and workload templates that break the warned level get a Warning, both in upstream's
// words ("violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (...)").
// The checks are upstream's for "latest", less AppArmor, SELinux, procMount and sysctls.
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { resourceRef } from '../api/registry.js';
import type { Admission, ResourceStorage } from './resource-storage.js';

type Level = 'privileged' | 'baseline' | 'restricted';
const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];
const LABEL = 'pod-security.kubernetes.io/';

interface Violation {
  reason: string;
  detail: string;
}

type Check = { id: string; level: 'baseline' | 'restricted'; overrides?: string; run(spec: any): Violation | undefined };

const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

const q = (names: string[]) => names.map((n) => JSON.stringify(n)).join(', ');
const plural = (one: string, many: string, n: number) => (n === 1 ? one : many);
/** a list field as a list: mutated or malformed input is checked by validation, not here */
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): any => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
const containersOf = (spec: any): any[] => [...arr(spec.initContainers), ...arr(spec.containers), ...arr(spec.ephemeralContainers)].filter((c) => c && typeof c === 'object');
const named = (list: any[]) => list.map((c) => String(c.name ?? ''));

const CHECKS: Check[] = [
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    run(spec) {
      const bad = containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false);
      if (!bad.length) return;
      return { reason: 'allowPrivilegeEscalation != false', detail: `${plural('container', 'containers', bad.length)} ${q(named(bad))} must set securityContext.allowPrivilegeEscalation=false` };
    },
  },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    run(spec) {
      const bad = containersOf(spec).filter((c) => arr(c.securityContext?.capabilities?.add).some((cap: string) => !BASELINE_CAPS.has(cap)));
      if (!bad.length) return;
      const caps = [...new Set(bad.flatMap((c) => arr(c.securityContext.capabilities.add).filter((cap) => !BASELINE_CAPS.has(cap))))].sort();
      return { reason: 'non-default capabilities', detail: `${plural('container', 'containers', bad.length)} ${q(named(bad))} must not include ${q(caps)} in securityContext.capabilities.add` };
    },
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    overrides: 'capabilities_baseline',
    run(spec) {
      const all = containersOf(spec);
      const noDrop = all.filter((c) => !arr(c.securityContext?.capabilities?.drop).includes('ALL'));
      const adding = all.filter((c) => arr(c.securityContext?.capabilities?.add).some((cap: string) => cap !== 'NET_BIND_SERVICE'));
      const details: string[] = [];
      if (noDrop.length) details.push(`${plural('container', 'containers', noDrop.length)} ${q(named(noDrop))} must set securityContext.capabilities.drop=["ALL"]`);
      if (adding.length) {
        const caps = [...new Set(adding.flatMap((c) => arr(c.securityContext.capabilities.add).filter((cap) => cap !== 'NET_BIND_SERVICE')))].sort();
        details.push(`${plural('container', 'containers', adding.length)} ${q(named(adding))} must not include ${q(caps)} in securityContext.capabilities.add`);
      }
      return details.length ? { reason: 'unrestricted capabilities', detail: details.join('; ') } : undefined;
    },
  },
  {
    id: 'hostNamespaces',
    level: 'baseline',
    run(spec) {
      const set = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f] === true);
      return set.length ? { reason: 'host namespaces', detail: set.map((f) => `${f}=true`).join(', ') } : undefined;
    },
  },
  {
    id: 'hostPathVolumes',
    level: 'baseline',
    run(spec) {
      const vols = arr(spec.volumes).filter((v: any) => v?.hostPath).map((v: any) => String(v.name));
      return vols.length ? { reason: 'hostPath volumes', detail: `${plural('volume', 'volumes', vols.length)} ${q(vols)}` } : undefined;
    },
  },
  {
    id: 'hostPorts',
    level: 'baseline',
    run(spec) {
      const bad = containersOf(spec).filter((c) => arr(c.ports).some((p: any) => p?.hostPort));
      if (!bad.length) return;
      const ports = [...new Set(bad.flatMap((c) => arr(c.ports).filter((p) => p?.hostPort).map((p) => String(p.hostPort))))];
      return { reason: 'hostPort', detail: `${plural('container', 'containers', bad.length)} ${q(named(bad))} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', ports.length)} ${ports.join(', ')}` };
    },
  },
  {
    id: 'privileged',
    level: 'baseline',
    run(spec) {
      const bad = containersOf(spec).filter((c) => c.securityContext?.privileged === true);
      return bad.length ? { reason: 'privileged', detail: `${plural('container', 'containers', bad.length)} ${q(named(bad))} must not set securityContext.privileged=true` } : undefined;
    },
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    overrides: 'hostPathVolumes',
    run(spec) {
      const bad: Array<{ name: string; type: string }> = [];
      for (const v of arr(spec.volumes)) {
        const type = Object.keys(obj(v)).find((k) => k !== 'name');
        if (type && !RESTRICTED_VOLUMES.has(type)) bad.push({ name: String(v.name), type });
      }
      if (!bad.length) return;
      const types = [...new Set(bad.map((b) => b.type))];
      return {
        reason: 'restricted volume types',
        detail: `${plural('volume', 'volumes', bad.length)} ${q(bad.map((b) => b.name))} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', types.length)} ${q(types)}`,
      };
    },
  },
  {
    id: 'runAsNonRoot',
    level: 'restricted',
    run(spec) {
      const details: string[] = [];
      const podSet = spec.securityContext?.runAsNonRoot;
      if (podSet === false) details.push('pod must not set securityContext.runAsNonRoot=false');
      const all = containersOf(spec);
      const explicitFalse = all.filter((c) => c.securityContext?.runAsNonRoot === false);
      if (explicitFalse.length) details.push(`${plural('container', 'containers', explicitFalse.length)} ${q(named(explicitFalse))} must not set securityContext.runAsNonRoot=false`);
      if (podSet !== true) {
        const unset = all.filter((c) => c.securityContext?.runAsNonRoot === undefined || c.securityContext?.runAsNonRoot === null);
        if (unset.length) details.push(`pod or ${plural('container', 'containers', unset.length)} ${q(named(unset))} must set securityContext.runAsNonRoot=true`);
      }
      return details.length ? { reason: 'runAsNonRoot != true', detail: details.join('; ') } : undefined;
    },
  },
  {
    id: 'runAsUser',
    level: 'restricted',
    run(spec) {
      const details: string[] = [];
      if (spec.securityContext?.runAsUser === 0) details.push('pod must not set runAsUser=0');
      const bad = containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0);
      if (bad.length) details.push(`${plural('container', 'containers', bad.length)} ${q(named(bad))} must not set runAsUser=0`);
      return details.length ? { reason: 'runAsUser=0', detail: details.join('; ') } : undefined;
    },
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    run(spec) {
      const details: string[] = [];
      if (spec.securityContext?.seccompProfile?.type === 'Unconfined') details.push('pod must not set securityContext.seccompProfile.type to "Unconfined"');
      const bad = containersOf(spec).filter((c) => c.securityContext?.seccompProfile?.type === 'Unconfined');
      if (bad.length) details.push(`${plural('container', 'containers', bad.length)} ${q(named(bad))} must not set securityContext.seccompProfile.type to "Unconfined"`);
      return details.length ? { reason: 'seccompProfile', detail: details.join('; ') } : undefined;
    },
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    overrides: 'seccompProfile_baseline',
    run(spec) {
      const ok = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';
      const details: string[] = [];
      const podType = spec.securityContext?.seccompProfile?.type;
      if (podType !== undefined && !ok(podType)) details.push(`pod must not set securityContext.seccompProfile.type to ${JSON.stringify(podType)}`);
      const all = containersOf(spec);
      const badSet = all.filter((c) => c.securityContext?.seccompProfile?.type !== undefined && !ok(c.securityContext.seccompProfile.type));
      if (badSet.length) details.push(`${plural('container', 'containers', badSet.length)} ${q(named(badSet))} must not set securityContext.seccompProfile.type to ${q([...new Set(badSet.map((c) => String(c.securityContext.seccompProfile.type)))])}`);
      if (!ok(podType)) {
        const unset = all.filter((c) => c.securityContext?.seccompProfile?.type === undefined);
        if (unset.length) details.push(`pod or ${plural('container', 'containers', unset.length)} ${q(named(unset))} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
      }
      return details.length ? { reason: 'seccompProfile', detail: details.join('; ') } : undefined;
    },
  },
];

/** The violations of a pod spec against a level, in upstream's order (by check id) (pure). */
export function evaluatePodSecurity(level: Level, spec: any): Violation[] {
  if (level === 'privileged' || !spec || typeof spec !== 'object') return [];
  const active = CHECKS.filter((c) => c.level === 'baseline' || level === 'restricted');
  const overridden = new Set(active.map((c) => c.overrides).filter(Boolean));
  return active
    .filter((c) => !overridden.has(c.id))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .flatMap((c) => c.run(spec) ?? []);
}

export function violationText(level: Level, violations: Violation[]): string {
  return `PodSecurity "${level}:latest": ${violations.map((v) => `${v.reason} (${v.detail})`).join(', ')}`;
}

function levelOf(labels: Record<string, string> | undefined, mode: 'enforce' | 'warn'): Level | undefined {
  const v = labels?.[`${LABEL}${mode}`];
  return LEVELS.includes(v as Level) ? (v as Level) : undefined;
}

const TEMPLATE_KINDS = new Set(['deployments', 'statefulsets', 'daemonsets', 'replicasets', 'replicationcontrollers', 'jobs', 'podtemplates']);

function podSpecOf(kind: { plural: string }, obj: KubeObject): any {
  if (kind.plural === 'pods') return obj.spec;
  if (kind.plural === 'cronjobs') return obj.spec?.jobTemplate?.spec?.template?.spec;
  if (kind.plural === 'podtemplates') return obj.template?.spec;
  if (TEMPLATE_KINDS.has(kind.plural)) return obj.spec?.template?.spec;
  return undefined;
}

export function podSecurityAdmission(storage: ResourceStorage): Admission {
  const namespaces = storage.registry.resource('', 'v1', 'namespaces')!;
  const admit = async (kind: { group: string; plural: string; kind: string }, obj: KubeObject, warnings: string[] | undefined) => {
    const spec = podSpecOf(kind, obj);
    if (!spec || !obj.metadata.namespace) return;
    const ns = await storage.tryGet(namespaces, undefined, obj.metadata.namespace).catch(() => undefined);
    const labels = ns?.metadata.labels;
    const enforce = levelOf(labels, 'enforce');
    if (enforce && kind.plural === 'pods') {
      const v = evaluatePodSecurity(enforce, spec);
      if (v.length) throw errors.forbidden(resourceRef(kind as never), obj.metadata.name ?? obj.metadata.generateName, `violates ${violationText(enforce, v)}`);
    }
    const warn = levelOf(labels, 'warn');
    if (warn && warnings) {
      const v = evaluatePodSecurity(warn, spec);
      if (v.length) warnings.push(`would violate ${violationText(warn, v)}`);
    }
  };
  return {
    create: (kind, obj, ctx) => admit(kind, obj, ctx.warnings),
    update: async (kind, obj, _old, ctx, sub) => {
      // upstream evaluates updates of workload templates; pod updates seldom change what is checked
      if (!sub && kind.plural !== 'pods') await admit(kind, obj, ctx.warnings);
    },
  };
}
