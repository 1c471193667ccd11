// What a container's securityContext (merged with the pod's) means for the sandbox:
// the capability set, the user and groups it runs as, and the flags that follow. Pure:
// the runtime turns the answer into bwrap and setpriv arguments.

type Obj = Record<string, any>;

/** Kubernetes' (containerd's) default capabilities, the same 14 as Docker's. */
export const DEFAULT_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** Capability names by number, as the kernel numbers them (for CapBnd masks). */
export const ALL_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

export interface SecurityPlan {
  /** capability names without CAP_ (for a root process; a non-root one gets none) */
  caps: string[];
  uid: number;
  gid: number;
  /** supplementary groups: fsGroup and supplementalGroups */
  groups: number[];
  privileged: boolean;
  readOnlyRoot: boolean;
  noNewPrivs: boolean;
}

/** Thrown for a securityContext the kubelet would refuse (CreateContainerConfigError). */
export class ConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
}

/**
 * The container's effective security settings. `imageUser` is the uid the image runs as
 * (0 for the host-program catalog), `available` the capabilities this process may hand out.
 */
export function securityPlan(pod: Obj, container: Obj, available: string[], imageUser = 0): SecurityPlan {
  const psc: Obj = pod.spec?.securityContext ?? {};
  const csc: Obj = container.securityContext ?? {};
  const privileged = csc.privileged === true;
  const uid: number = csc.runAsUser ?? psc.runAsUser ?? imageUser;
  const gid: number = csc.runAsGroup ?? psc.runAsGroup ?? (uid === imageUser ? 0 : uid === 0 ? 0 : 0);
  const runAsNonRoot: boolean | undefined = csc.runAsNonRoot ?? psc.runAsNonRoot;
  if (runAsNonRoot && uid === 0) {
    const explicit = csc.runAsUser ?? psc.runAsUser;
    throw new ConfigError(explicit === 0 ? 'container\'s runAsUser breaks non-root policy (pod: "' + podName(pod) + '", container: ' + container.name + ')' : 'container has runAsNonRoot and image will run as root (pod: "' + podName(pod) + '", container: ' + container.name + ')');
  }
  let caps: string[];
  if (privileged) caps = [...available];
  else {
    const norm = (c: string) => String(c).toUpperCase().replace(/^CAP_/, '');
    const drop = new Set<string>((csc.capabilities?.drop ?? []).map(norm));
    const add: string[] = (csc.capabilities?.add ?? []).map(norm);
    const base = drop.has('ALL') ? [] : DEFAULT_CAPS.filter((c) => !drop.has(c));
    const wanted = add.includes('ALL') ? [...available] : [...base, ...add];
    caps = [...new Set(wanted)].filter((c) => available.includes(c));
  }
  const groups = [psc.fsGroup, ...(psc.supplementalGroups ?? [])].filter((g): g is number => typeof g === 'number');
  return {
    caps,
    uid,
    gid,
    groups: [...new Set(groups)],
    privileged,
    readOnlyRoot: csc.readOnlyRootFilesystem === true,
    noNewPrivs: csc.allowPrivilegeEscalation === false,
  };
}

/** Capability names in a /proc/PID/status Cap* mask. */
export function capsOfMask(hex: string): string[] {
  const mask = BigInt('0x' + hex);
  return ALL_CAPS.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** setpriv arguments that switch to the plan's user and groups and leave it only its capabilities. */
export function setprivArgs(plan: SecurityPlan): string[] {
  const args = ['/usr/bin/setpriv'];
  if (plan.uid !== 0 || plan.gid !== 0 || plan.groups.length) {
    args.push(`--reuid=${plan.uid}`, `--regid=${plan.gid}`);
    args.push(plan.groups.length ? `--groups=${plan.groups.join(',')}` : '--clear-groups');
  }
  const bounding = plan.uid === 0 ? ['-all', ...plan.caps.map((c) => '+' + c.toLowerCase())].join(',') : '-all';
  args.push('--inh-caps=-all', `--bounding-set=${bounding}`);
  if (plan.noNewPrivs) args.push('--no-new-privs');
  args.push('--');
  return args;
}

function podName(pod: Obj): string {
  return `${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`;
}
