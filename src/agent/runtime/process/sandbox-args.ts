// The bwrap command line of one container: a whitelist root (the host's /usr and /etc
// read-only, the usr-merge symlinks, a fresh tmpfs for everything else, secrets masked),
// the pod's own /etc/hosts, resolv.conf and hostname, volumes at their mountPaths, and the
// capability set. Pure apart from reading the host's directory tree to resolve symlinked
// mount paths and to shadow read-only parents of mount paths that do not exist.
import fs from 'node:fs';
import path from 'node:path';

/** Host trees shown read-only in every sandbox. */
export const HOST_TREES = ['/usr', '/etc'];
/** Host files hidden inside those trees. */
const MASKED_FILES = ['/etc/shadow', '/etc/gshadow', '/etc/shadow-', '/etc/gshadow-', '/etc/sudoers'];
const MASKED_DIRS = ['/etc/ssl/private', '/etc/sudoers.d'];

export interface MountSpec {
  source: string;
  dest: string;
  readOnly: boolean;
  /** a file rather than a directory */
  file?: boolean;
}

export interface SandboxArgsInput {
  /** per-pod files: hosts, resolv.conf, hostname */
  podFiles: { hosts: string; resolv: string; hostname: string };
  /** mounted read-only at /.petset */
  shimDir: string;
  shimMount: string;
  mounts: MountSpec[];
  /** host paths that must stay invisible even where a host tree is shown (petset's data dirs) */
  hide: string[];
  /** directories to create in the writable part of the root (e.g. an image's workdir) */
  dirs: string[];
  caps: string[];
  readOnlyRoot: boolean;
  /** an image's root filesystem (this container's overlay) instead of the host whitelist */
  rootfs?: string;
  /** where the host's setpriv, loader and libraries are shown inside an image's root */
  hostTools?: string;
  workingDir?: string;
  /**
   * bwrap is started inside a PID namespace that is not its own (the pod's with
   * shareProcessNamespace, or a debug container's target's): no new one, no init of its own
   */
  sharedPid?: boolean;
  /** the command brings its own init (tini) as PID 1 of the new PID namespace: no bwrap init */
  ownInit?: boolean;
  /** fd numbers for --info-fd and --json-status-fd */
  infoFd: number;
  statusFd: number;
}

/** Top-level symlinks of the host root (usr-merge), recreated as they are. */
function rootLinks(): [string, string][] {
  const out: [string, string][] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    try {
      out.push([fs.readlinkSync('/' + name), '/' + name]);
    } catch {
      /* missing, or a real directory: then it is bound below */
    }
  }
  return out;
}

function realDirs(): string[] {
  return ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'].map((n) => '/' + n).filter((p) => {
    try {
      return fs.lstatSync(p).isDirectory();
    } catch {
      return false;
    }
  });
}

const STANDARD_DIRS = new Set(['/tmp', '/run', '/dev', '/proc', '/var', '/root', '/home', '/srv', '/mnt', '/opt']);

const under = (p: string, tree: string) => p === tree || p.startsWith(tree + '/');

/**
 * A mountPath as the sandbox resolves it: symlinks in the host trees (and the root's own
 * links such as /bin → usr/bin, /var/run → /run) are followed, as runc resolves a mount
 * destination inside the image.
 */
export function resolveDest(dest: string): string {
  let parts = path.posix.normalize(dest).split('/').filter(Boolean);
  let resolved = '/';
  for (let hops = 0; parts.length && hops < 40; ) {
    const next = path.posix.join(resolved, parts[0]);
    let target: string | undefined;
    if (next === '/var/run') target = '/run';
    else if (next === '/var/lock') target = '/run/lock';
    else if (resolved === '/' || HOST_TREES.some((t) => under(next, t))) {
      try {
        if (fs.lstatSync(next).isSymbolicLink()) target = fs.readlinkSync(next);
      } catch {
        /* does not exist: taken as written */
      }
    }
    if (target !== undefined) {
      hops++;
      const base = target.startsWith('/') ? '/' : resolved;
      parts = [...path.posix.normalize(path.posix.join(base, target)).split('/').filter(Boolean), ...parts.slice(1)];
      resolved = '/';
      continue;
    }
    resolved = next;
    parts = parts.slice(1);
  }
  return resolved;
}

/** For a destination inside a read-only host tree whose parent is missing: the deepest existing ancestor to shadow. */
function shadowFor(dest: string): string | undefined {
  if (!HOST_TREES.some((t) => under(dest, t))) return undefined;
  const parent = path.posix.dirname(dest);
  if (fs.existsSync(parent)) return undefined;
  let a = parent;
  while (!fs.existsSync(a)) a = path.posix.dirname(a);
  return a;
}

function shadowArgs(dir: string): string[] {
  const args = ['--tmpfs', dir];
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return args;
  }
  for (const e of entries) {
    const p = path.posix.join(dir, e.name);
    if (e.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(p), p);
    else args.push('--ro-bind', p, p);
  }
  return args;
}

export function sandboxArgs(input: SandboxArgsInput): string[] {
  if (input.rootfs) return imageSandboxArgs(input, input.rootfs);
  const a: string[] = ['--tmpfs', '/'];
  for (const t of HOST_TREES) a.push('--ro-bind', t, t);
  for (const d of realDirs()) a.push('--ro-bind', d, d);
  for (const [target, link] of rootLinks()) a.push('--symlink', target, link);
  // sysfs read-only, as Docker shows it (runtimes such as the JVM read cgroup and cpu files there)
  if (!input.sharedPid) a.push('--unshare-pid', ...(input.ownInit ? ['--as-pid-1'] : []));
  a.push('--proc', '/proc', '--dev', '/dev', '--ro-bind', '/sys', '/sys');
  a.push('--perms', '1777', '--tmpfs', '/dev/shm', '--perms', '1777', '--tmpfs', '/tmp', '--perms', '0755', '--tmpfs', '/run');
  a.push('--dir', '/var/lib', '--dir', '/var/log', '--dir', '/var/cache', '--dir', '/var/spool', '--perms', '1777', '--dir', '/var/tmp');
  a.push('--symlink', '/run', '/var/run', '--symlink', '/run/lock', '/var/lock', '--dir', '/run/lock');
  a.push('--perms', '0700', '--dir', '/root', '--dir', '/home', '--dir', '/srv', '--dir', '/mnt', '--dir', '/opt');
  const mounts = input.mounts
    .map((m) => ({ ...m, dest: resolveDest(m.dest) }))
    .sort((x, y) => x.dest.split('/').length - y.dest.split('/').length);
  // shadows first: masks and pod files below re-cover what a shadow re-bound
  const shadows = new Set<string>();
  for (const m of mounts) {
    const s = shadowFor(m.dest);
    if (s && ![...shadows].some((x) => under(s, x))) shadows.add(s);
  }
  for (const s of [...shadows].sort((x, y) => x.length - y.length)) a.push(...shadowArgs(s));
  for (const f of MASKED_FILES) if (fs.existsSync(f)) a.push('--ro-bind', '/dev/null', f);
  for (const d of MASKED_DIRS) if (fs.existsSync(d)) a.push('--tmpfs', d);
  a.push('--ro-bind', input.podFiles.hosts, '/etc/hosts', '--ro-bind', input.podFiles.resolv, '/etc/resolv.conf', '--ro-bind', input.podFiles.hostname, '/etc/hostname');
  a.push('--ro-bind', input.shimDir, input.shimMount);
  for (const d of input.dirs) if (!HOST_TREES.some((t) => under(d, t))) a.push('--dir', d);
  for (const m of mounts) {
    // parents made here are 0755, as a container runtime makes them (bwrap's own may be 0700)
    if (!HOST_TREES.some((t) => under(m.dest, t))) {
      const parents: string[] = [];
      for (let p = path.posix.dirname(m.dest); p !== '/' && !STANDARD_DIRS.has(p); p = path.posix.dirname(p)) parents.unshift(p);
      for (const p of parents) a.push('--dir', p);
    }
    a.push(m.readOnly ? '--ro-bind' : '--bind', m.source, m.dest);
  }
  for (const h of input.hide) if (HOST_TREES.some((t) => under(h, t)) && fs.existsSync(h)) a.push('--tmpfs', h);
  a.push('--cap-drop', 'ALL');
  for (const c of input.caps) a.push('--cap-add', 'CAP_' + c);
  if (input.readOnlyRoot) a.push('--remount-ro', '/');
  if (input.workingDir) a.push('--chdir', input.workingDir);
  a.push('--json-status-fd', String(input.statusFd));
  return a;
}

/** The sandbox of a container from a pulled image: its own root, as a container runtime gives it. */
function imageSandboxArgs(input: SandboxArgsInput, rootfs: string): string[] {
  const a: string[] = ['--bind', rootfs, '/', ...(input.sharedPid ? [] : ['--unshare-pid']), '--proc', '/proc', '--dev', '/dev', '--ro-bind', '/sys', '/sys'];
  a.push('--perms', '1777', '--tmpfs', '/dev/shm');
  a.push('--ro-bind', input.podFiles.hosts, '/etc/hosts', '--ro-bind', input.podFiles.resolv, '/etc/resolv.conf', '--ro-bind', input.podFiles.hostname, '/etc/hostname');
  if (input.hostTools) {
    const loader = fs.realpathSync('/lib64/ld-linux-x86-64.so.2');
    a.push('--ro-bind', loader, `${input.hostTools}/ld.so`, '--ro-bind', path.dirname(fs.realpathSync('/usr/lib/x86_64-linux-gnu/libc.so.6')), `${input.hostTools}/lib`, '--ro-bind', '/usr/bin/setpriv', `${input.hostTools}/setpriv`);
  }
  for (const d of input.dirs) a.push('--dir', d);
  for (const m of [...input.mounts].sort((x, y) => x.dest.split('/').length - y.dest.split('/').length)) a.push(m.readOnly ? '--ro-bind' : '--bind', m.source, m.dest);
  a.push('--cap-drop', 'ALL');
  for (const c of input.caps) a.push('--cap-add', 'CAP_' + c);
  if (input.readOnlyRoot) a.push('--remount-ro', '/');
  if (input.workingDir) a.push('--chdir', input.workingDir);
  a.push('--json-status-fd', String(input.statusFd));
  return a;
}

/** kubelet's /etc/hosts for a pod (managed hosts file). */
export function hostsFile(pod: Record<string, any>, ip: string, hostname: string): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const sub = pod.spec?.subdomain;
  const ns = pod.metadata?.namespace ?? 'default';
  lines.push(sub ? `${ip}\t${hostname}.${sub}.${ns}.svc.cluster.local\t${hostname}` : `${ip}\t${hostname}`);
  const aliases: Array<{ ip: string; hostnames?: string[] }> = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const h of aliases) lines.push(`${h.ip}\t${(h.hostnames ?? []).join('\t')}`);
  }
  return lines.join('\n') + '\n';
}

/** The node's resolver configuration (kubelet's --resolv-conf, /etc/resolv.conf). */
export interface HostResolv {
  nameservers: string[];
  searches: string[];
  options: string[];
}

/** Parses a resolv.conf as kubelet reads the node's: nameserver, search/domain and options lines. */
export function parseResolvConf(text: string): HostResolv {
  const out: HostResolv = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest.filter(Boolean); // the last one wins, as in the resolver
    else if (key === 'options') out.options.push(...rest.filter(Boolean));
  }
  return out;
}

/**
 * The node's resolvers a pod may be given: only those on this machine (loopback), since a pod's
 * query to another would leave it; with none, the cluster DNS stands in for them.
 */
export function onMachineResolvers(host: HostResolv, clusterDNS: string): HostResolv {
  const onMachine = host.nameservers.filter((n) => n.startsWith('127.') || n === '::1');
  return { ...host, nameservers: onMachine.length ? onMachine : [clusterDNS] };
}

/** kubelet's limits: three nameservers, 32 search domains. */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

/**
 * The pod's resolv.conf as kubelet writes it for its dnsPolicy: ClusterFirst (and
 * ClusterFirstWithHostNet) the cluster DNS with the kubelet's search path followed by the
 * node's, and ndots:5; Default (and ClusterFirst for a hostNetwork pod) the node's own
 * resolver configuration; None nothing — then spec.dnsConfig's nameservers, searches and
 * options added (an option of the same name replaced).
 */
export function resolvConf(pod: Record<string, any>, clusterDNS: string, host: HostResolv = { nameservers: [], searches: [], options: [] }): string {
  const ns = pod.metadata?.namespace ?? 'default';
  const given = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const type = given === 'None' ? 'none' : given === 'Default' || (given === 'ClusterFirst' && pod.spec?.hostNetwork === true) ? 'host' : 'cluster';
  const cfg = pod.spec?.dnsConfig ?? {};
  const servers: string[] = type === 'cluster' ? [clusterDNS] : type === 'host' ? [...host.nameservers] : [];
  const search: string[] = type === 'cluster' ? [`${ns}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local', ...host.searches] : type === 'host' ? [...host.searches] : [];
  const options: string[] = type === 'cluster' ? ['ndots:5'] : type === 'host' ? [...host.options] : [];
  for (const n of cfg.nameservers ?? []) if (!servers.includes(n)) servers.push(n);
  for (const d of cfg.searches ?? []) if (!search.includes(d)) search.push(d);
  for (const o of cfg.options ?? []) {
    const text = o.value !== undefined ? `${o.name}:${o.value}` : o.name;
    const i = options.findIndex((x) => x.split(':')[0] === o.name);
    if (i >= 0) options[i] = text;
    else options.push(text);
  }
  const out = servers.slice(0, MAX_NAMESERVERS).map((s) => `nameserver ${s}`);
  if (search.length) out.push(`search ${search.slice(0, MAX_SEARCHES).join(' ')}`);
  if (options.length) out.push(`options ${options.join(' ')}`);
  return out.join('\n') + '\n';
}
