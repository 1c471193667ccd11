// Pod Security admission: a namespace's pod-security.kubernetes.io/enforce|warn labels pick a
// level (privileged, baseline, restricted); pods that break the enforced level are refused,
// pods and workload templates that break the warned level get a Warning, both in upstream's
// words ("violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (...)").
// The checks are upstream's for "latest". The audit label records the same verdict as the
// request's audit annotations (pod-security.kubernetes.io/audit-violations).
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

type Check = { id: string; level: 'baseline' | 'restricted'; overrides?: string; run(spec: any, meta: any): Violation | undefined };

const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

const q = (names: string[]) => names.map((n) => JSON.stringify(n)).join(', ');
const plural = (one: string, many: string, n: number) => (n === 1 ? one : many);
/** a list field as a list: mutated or malformed input is checked by validation, not here */
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): any => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
const containersOf = (spec: any): any[] => [...arr(spec.initContainers), ...arr(spec.containers), ...arr(spec.ephemeralContainers)].filter((c) => c && typeof c === 'object');
const named = (list: any[]) => list.map((c) => String(c.name ?? ''));

const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';
const sorted = (v: Iterable<string>) => [...new Set(v)].sort();

/** "pod", "containers "a", "b"" and "annotations", joined with " and " as upstream's badSetters */
function setters(pod: boolean, containers: any[], extra: string[] = []): string {
  const parts = [...(pod ? ['pod'] : []), ...(containers.length ? [`${plural('container', 'containers', containers.length)} ${q(named(containers))}`] : []), ...extra];
  return parts.join(' and ');
}

function procMount(spec: any, relaxForUserNamespace: boolean): Violation | undefined {
  if (relaxForUserNamespace && spec.hostUsers === false) return;
  const bad = containersOf(spec).filter((c) => c.securityContext?.procMount !== undefined && c.securityContext.procMount !== null && c.securityContext.procMount !== 'Default');
  if (!bad.length) return;
  return {
    reason: 'procMount',
    detail: `${plural('container', 'containers', bad.length)} ${q(named(bad))} must not set securityContext.procMount to ${q(sorted(bad.map((c) => String(c.securityContext.procMount))))}`,
  };
}

const CHECKS: Check[] = [
  {
    id: 'appArmorProfile',
    level: 'baseline',
    run(spec, meta) {
      const allowedType = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';
      const badValues: string[] = [];
      const podType = spec.securityContext?.appArmorProfile?.type;
      const podBad = spec.securityContext?.appArmorProfile != null && !allowedType(podType);
      if (podBad) badValues.push(String(podType ?? ''));
      const bad = containersOf(spec).filter((c) => c.securityContext?.appArmorProfile != null && !allowedType(c.securityContext.appArmorProfile.type));
      badValues.push(...bad.map((c) => String(c.securityContext.appArmorProfile.type ?? '')));
      const annotations = Object.entries(obj(meta?.annotations))
        .filter(([k, v]) => k.startsWith(APPARMOR_ANNOTATION) && !(v === '' || v === 'runtime/default' || String(v).startsWith('localhost/')))
        .map(([k, v]) => `${k}=${JSON.stringify(String(v))}`)
        .sort();
      if (!podBad && !bad.length && !annotations.length) return;
      const values = [...sorted(badValues), ...annotations];
      return {
        reason: plural('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
        detail: `${setters(podBad, bad, annotations.length ? [plural('annotation', 'annotations', annotations.length)] : [])} must not set AppArmor profile type to ${q(values)}`,
      };
    },
  },
  {
    id: 'procMount',
    level: 'baseline',
    run: (spec) => procMount(spec, true),
  },
  {
    id: 'procMount_restricted',
    level: 'restricted',
    overrides: 'procMount',
    run: (spec) => procMount(spec, false),
  },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    run(spec) {
      const badTypes = new Set<string>();
      let setUser = false;
      let setRole = false;
      const valid = (o: any) => {
        let ok = true;
        if (!SELINUX_TYPES.has(String(o.type ?? ''))) {
          ok = false;
          badTypes.add(String(o.type));
        }
        if (o.user) (ok = false), (setUser = true);
        if (o.role) (ok = false), (setRole = true);
        return ok;
      };
      const podOpts = spec.securityContext?.seLinuxOptions;
      const podBad = podOpts != null && typeof podOpts === 'object' && !valid(podOpts);
      const bad = containersOf(spec).filter((c) => c.securityContext?.seLinuxOptions != null && typeof c.securityContext.seLinuxOptions === 'object' && !valid(c.securityContext.seLinuxOptions));
      if (!podBad && !bad.length) return;
      const data: string[] = [];
      if (badTypes.size) data.push(`${plural('type', 'types', badTypes.size)} ${q(sorted(badTypes))}`);
      if (setUser) data.push('user may not be set');
      if (setRole) data.push('role may not be set');
      return { reason: 'seLinuxOptions', detail: `${setters(podBad, bad)} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}` };
    },
  },
  {
    id: 'sysctls',
    level: 'baseline',
    run(spec) {
      const bad = arr(spec.securityContext?.sysctls)
        .map((s: any) => String(s?.name ?? ''))
        .filter((n) => !SAFE_SYSCTLS.has(n));
      return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
    },
  },
  {
    id: 'windowsHostProcess',
    level: 'baseline',
    run(spec) {
      const podBad = spec.securityContext?.windowsOptions?.hostProcess === true;
      const bad = containersOf(spec).filter((c) => c.securityContext?.windowsOptions?.hostProcess === true);
      if (!podBad && !bad.length) return;
      return { reason: 'hostProcess', detail: `${setters(podBad, bad)} must not set securityContext.windowsOptions.hostProcess=true` };
    },
  },
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
export function evaluatePodSecurity(level: Level, spec: any, meta?: any): Violation[] {
  if (level === 'privileged' || !spec || typeof spec !== 'object') return [];
  const active = CHECKS.filter((c) => c.level === 'baseline' || level === 'restricted');
  const overridden = new Set(active.map((c) => c.overrides).filter(Boolean));
  return active
    .filter((c) => !overridden.has(c.id))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .flatMap((c) => c.run(spec, meta ?? {}) ?? []);
}

export function violationText(level: Level, violations: Violation[], version = 'latest'): string {
  return `PodSecurity "${level}:${version}": ${violations.map((v) => `${v.reason} (${v.detail})`).join(', ')}`;
}

/**
 * The <mode>-version label as upstream names it in its texts: "latest", or "vX.Y" (the checks
 * applied are the latest ones, which for the versions upstream still serves are the same)
 */
function versionOf(labels: Record<string, string> | undefined, mode: 'enforce' | 'warn' | 'audit'): string {
  const v = labels?.[`${LABEL}${mode}-version`];
  return v && /^v1\.\d+$/.test(v) ? v : 'latest';
}

function levelOf(labels: Record<string, string> | undefined, mode: 'enforce' | 'warn' | 'audit'): Level | undefined {
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

/**
 * The PodSecurity plugin's configuration (kube-apiserver's --admission-control-config-file):
 * cluster-wide levels where a namespace has no label, and who and what is exempt.
 */
export interface PodSecurityConfig {
  /** as the namespace labels: enforce, enforce-version, audit, audit-version, warn, warn-version */
  defaults: Record<string, string>;
  exemptions: { usernames: string[]; runtimeClasses: string[]; namespaces: string[] };
}

const MODES = ['enforce', 'audit', 'warn'] as const;

/**
 * Reads an AdmissionConfiguration (apiserver.config.k8s.io/v1) and its PodSecurity plugin's
 * PodSecurityConfiguration (pod-security.admission.config.k8s.io/v1), or that alone; throws
 * with the offending field's path (pure).
 */
export function podSecurityConfiguration(doc: any, readFile: (path: string) => any = () => undefined): PodSecurityConfig | undefined {
  let cfg = doc;
  if (doc?.kind === 'AdmissionConfiguration') {
    const plugin = (Array.isArray(doc.plugins) ? doc.plugins : []).find((p: any) => p?.name === 'PodSecurity');
    if (!plugin) return undefined;
    cfg = plugin.configuration ?? (plugin.path ? readFile(plugin.path) : undefined);
  }
  if (cfg?.kind !== 'PodSecurityConfiguration') throw new Error(`PodSecurity configuration: kind must be PodSecurityConfiguration, not ${JSON.stringify(cfg?.kind ?? '')}`);
  if (!/^pod-security\.admission\.config\.k8s\.io\/v1(beta1|alpha1)?$/.test(String(cfg.apiVersion ?? ''))) throw new Error(`PodSecurity configuration: unsupported apiVersion ${JSON.stringify(cfg.apiVersion ?? '')}`);
  const defaults: Record<string, string> = {};
  for (const mode of MODES) {
    const level = cfg.defaults?.[mode] ?? 'privileged';
    if (!LEVELS.includes(level)) throw new Error(`PodSecurity configuration: defaults.${mode}: Unsupported value: ${JSON.stringify(level)}: supported values: "privileged", "baseline", "restricted"`);
    defaults[`${LABEL}${mode}`] = level;
    const version = cfg.defaults?.[`${mode}-version`] ?? 'latest';
    if (version !== 'latest' && !/^v1\.\d+$/.test(version)) throw new Error(`PodSecurity configuration: defaults.${mode}-version: Invalid value: ${JSON.stringify(version)}: must be "latest" or "v1.x"`);
    defaults[`${LABEL}${mode}-version`] = version;
  }
  const list = (name: string): string[] => {
    const v = cfg.exemptions?.[name] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x)) throw new Error(`PodSecurity configuration: exemptions.${name} must be a list of non-empty names`);
    return v;
  };
  return { defaults, exemptions: { usernames: list('usernames'), runtimeClasses: list('runtimeClasses'), namespaces: list('namespaces') } };
}

export function podSecurityAdmission(storage: ResourceStorage, config?: PodSecurityConfig): Admission {
  const namespaces = storage.registry.resource('', 'v1', 'namespaces')!;
  const admit = async (kind: { group: string; plural: string; kind: string }, obj: KubeObject, ctx: { warnings?: string[]; auditAnnotations?: Record<string, string>; user?: { name: string } }) => {
    const spec = podSpecOf(kind, obj);
    if (!spec || !obj.metadata.namespace) return;
    // upstream's exemptions: not evaluated at all, and the request's audit says why
    const exempt = !config
      ? undefined
      : config.exemptions.namespaces.includes(obj.metadata.namespace)
        ? 'namespace'
        : ctx.user && config.exemptions.usernames.includes(ctx.user.name)
          ? 'user'
          : typeof spec.runtimeClassName === 'string' && config.exemptions.runtimeClasses.includes(spec.runtimeClassName)
            ? 'runtimeClass'
            : undefined;
    if (exempt) {
      if (ctx.auditAnnotations) ctx.auditAnnotations[`${LABEL}exempt`] = exempt;
      return;
    }
    const ns = await storage.tryGet(namespaces, undefined, obj.metadata.namespace).catch(() => undefined);
    // the namespace's labels, else the configured defaults
    const labels = { ...config?.defaults, ...ns?.metadata.labels };
    const meta = kind.plural === 'pods' ? obj.metadata : kind.plural === 'cronjobs' ? obj.spec?.jobTemplate?.spec?.template?.metadata : kind.plural === 'podtemplates' ? obj.template?.metadata : obj.spec?.template?.metadata;
    const enforce = levelOf(labels, 'enforce');
    // as upstream: pods carry the enforced level in their request's audit annotations
    if (kind.plural === 'pods' && ctx.auditAnnotations) ctx.auditAnnotations[`${LABEL}enforce-policy`] = `${enforce ?? 'privileged'}:${versionOf(labels, 'enforce')}`;
    // the audit level is recorded before the enforced one may refuse the request
    const audit = levelOf(labels, 'audit');
    if (audit && ctx.auditAnnotations) {
      const v = evaluatePodSecurity(audit, spec, meta);
      if (v.length) ctx.auditAnnotations[`${LABEL}audit-violations`] = `would violate ${violationText(audit, v, versionOf(labels, 'audit'))}`;
    }
    if (enforce && kind.plural === 'pods') {
      const v = evaluatePodSecurity(enforce, spec, meta);
      if (v.length) throw errors.forbidden(resourceRef(kind as never), obj.metadata.name ?? obj.metadata.generateName, `violates ${violationText(enforce, v, versionOf(labels, 'enforce'))}`);
    }
    const warn = levelOf(labels, 'warn');
    if (warn && ctx.warnings) {
      const v = evaluatePodSecurity(warn, spec, meta);
      if (v.length) ctx.warnings.push(`would violate ${violationText(warn, v, versionOf(labels, 'warn'))}`);
    }
  };
  return {
    create: (kind, obj, ctx) => admit(kind, obj, ctx),
    update: async (kind, obj, _old, ctx, sub) => {
      // upstream evaluates updates of workload templates; pod updates seldom change what is checked
      if (!sub && kind.plural !== 'pods') await admit(kind, obj, ctx);
    },
  };
}
