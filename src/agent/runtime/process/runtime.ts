// The process runtime: every pod is a sandbox of real processes (runtime.md §0). A pod's
// sandbox is a tiny "pause" process (./pause.ts) holding the pod's UTS (hostname) and IPC
// namespaces (and its PID namespace with shareProcessNamespace); each container is a
// bubblewrap sandbox entered into those namespaces, with its own PID namespace (whose PID 1
// is tini where installed, else bwrap's init) and a whitelist root (./sandbox-args.ts),
// switched to its user and capability set with setpriv. Output goes straight from the kernel into a per-container log file and
// exit codes are written by bwrap into a status file, so both survive the agent. Every
// sandbox is recorded under <stateDir>/sandboxes/<id> and tracked by cgroup, which is how a
// later agent finds (and stops) what an earlier one left running.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { KubeObject } from '../../../api/object.js';
import { quantityMilliValue, quantityValue } from '../../../api/quantity.js';
import type { Client } from '../../../client/client.js';
import type {
  AdoptedContainer,
  AdoptedSandbox,
  ContainerExit,
  ContainerRequest,
  ContainerRuntime,
  ExecRequest,
  AttachRequest,
  HandlerRequest,
  HandlerResult,
  LogLine,
  LogOptions,
  SandboxInfo,
  SandboxRequest,
  StartedContainer,
  ContainerUsage,
} from '../runtime.js';
import { ContainerNotRunningError } from '../runtime.js';
import { Cgroups } from './cgroups.js';
import { ImageCatalog, ImagePullError, type CatalogEntry } from './catalog.js';
import { isLoopbackRegistry, OciPuller, parseImageRef, type PulledImage } from './oci.js';
import { isConfigVolume, volumeFiles, writeAtomic, type ObjectSources } from './config-volumes.js';
import { containerEnv, expand, type EnvSources } from './env.js';
import { hostsFile, onMachineResolvers, parseResolvConf, resolvConf, sandboxArgs, type HostResolv, type MountSpec } from './sandbox-args.js';
import { capsOfMask, securityPlan, setprivArgs, type SecurityPlan } from './security.js';
import { SHIM_FILES, SHIM_MOUNT } from './shims.js';
import { installPause } from './pause.js';

type Obj = Record<string, any>;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;
const TERMINATION_MESSAGE_MAX = 4096;

export interface ProcessRuntimeOptions {
  /** where sandboxes, logs and shims live; must not be visible to pods (it is hidden if under /usr or /etc) */
  stateDir: string;
  /** reads ConfigMaps, Secrets and Services for env and volumes */
  client?: Client;
  catalog?: ImageCatalog;
  /** nameserver written into pods' resolv.conf (default: the node's address, .1 of the pod's /24) */
  clusterDNS?: string;
  /** the node's InternalIP for pods' status.hostIP in env and downward API files (the agent's --node-ip; default .1 of the pod's /24) */
  nodeIP?: string;
  /** the node's resolver configuration for dnsPolicy Default (kubelet's --resolv-conf; default /etc/resolv.conf) */
  hostResolvConf?: string;
  /** more host paths pods must not see (petset's data dir) */
  hide?: string[];
  /** a container's log file is rotated past this size (default 10 MiB); one rotated file is kept */
  logMaxBytes?: number;
  /** where pulled images are cached (default <stateDir>/images) */
  imageCacheDir?: string;
  /**
   * The most processes (and threads) one pod may have, the kubelet's --pod-max-pids
   * (podPidsLimit): written as pids.max on the pod's cgroup, so a pod that forks past it gets
   * EAGAIN while the node and other pods go on. Undefined, 0 or -1: unlimited, upstream's default.
   */
  podPidsLimit?: number;
  /**
   * Where images come from (`petset up --image-source`): auto (default) pulls an image named
   * on a registry of this machine and runs every other from the host-program catalog;
   * registry: only pulled images; host: only the catalog.
   */
  imageSource?: ImageSource;
  /**
   * The pod network (root mode): each sandbox gets its own network namespace, which its
   * containers enter (nsenter --net). None: pods share the host network on their addresses.
   */
  network?: SandboxNetwork;
}

export type ImageSource = 'auto' | 'registry' | 'host';

export interface SandboxNetwork {
  /** Makes the sandbox's network namespace with its address (and the pod's policy); the namespace's path. */
  attach(sandboxId: string, ip: string, pod: KubeObject): Promise<string>;
  /** Removes it (also for a sandbox an earlier agent left; nothing there is fine). */
  detach(sandboxId: string): Promise<void>;
}

interface SandboxRecord {
  id: string;
  podUid: string;
  namespace: string;
  name: string;
  ip: string;
  hostname: string;
  volumePaths: Record<string, string>;
  pausePid: number;
  pauseStart: string;
  netns?: string;
  /** emptyDir medium: Memory tmpfs mounts made for the pod */
  tmpfsMounts: string[];
  /** shareProcessNamespace: the pause process holds the pod's PID namespace (its children's), with a reaping PID 1 */
  sharedPidNs?: boolean;
}

interface Sandbox {
  rec: SandboxRecord;
  dir: string;
  pod: KubeObject;
  containers: Set<string>;
  removed: boolean;
}

/** What reading a container's output needs: its log file and the clock of that file. */
interface LogSource {
  logPath: string;
  /** log clock: logical byte offsets of the output and when they were first seen */
  logMarks: { offset: number; time: number }[];
  logBase: number;
  /** the output can grow no more */
  exited?: ContainerExit;
  /** set by removeSandbox/killAll: no notifications any more */
  forgotten: boolean;
}

interface Container extends LogSource {
  id: string;
  name: string;
  sandbox: Sandbox;
  spec: Obj;
  dir: string;
  child?: ChildProcess;
  initPid?: number;
  env: Record<string, string>;
  plan: SecurityPlan;
  cgroup: string;
  startedAt: Date;
  onExit: (exit: ContainerExit) => void;
  exitWaiters: (() => void)[];
  stdinFd?: number;
  stdinPath?: string;
  /** a tty container's resize FIFO (the pty helper reads "COLS ROWS" lines) */
  resizePath?: string;
  /** setpriv as the container runs it (the host's, through the host's loader, in an image's root) */
  privPrefix: string[];
  /** the outer bwrap (host pid and start time): its end is the container's, watched by polling once adopted */
  outerPid?: number;
  outerStart?: string;
  /** adopted from an earlier agent: no child process handle, its end is found by polling */
  adopted?: boolean;
  /** runs in a PID namespace it shares (the pod's, or its debug target's): initPid is the main process itself */
  sharedPid?: boolean;
  /** the main process as first seen (host pid and start time): its end is the container's, before the init and bwrap pass it on */
  main?: { pid: number; start: string };
  /** handed over to a later agent (release): this runtime does nothing more with it */
  released?: boolean;
  /** a session has attached (a stdinOnce container's first one is shown the output from the start) */
  attached?: boolean;
}

/** What a later agent needs to adopt a running container (container.json). */
interface ContainerMeta {
  id: string;
  name: string;
  image?: string;
  imageID?: string;
  argv?: string[];
  startedAt: string;
  initPid?: number;
  outerPid?: number;
  outerStart?: string;
  env?: Record<string, string>;
  plan?: SecurityPlan;
  privPrefix?: string[];
  cgroup?: string;
  sharedPid?: boolean;
}

/** Why the process runtime cannot run here, or undefined when it can. */
export function processRuntimeUnavailable(): string | undefined {
  const missing = processRuntimePrerequisiteMissing();
  if (missing) return missing;
  const r = spawnSync('/usr/bin/bwrap', BWRAP_CHECK, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? undefined : bwrapCannot(r.stderr || r.error?.message || `exit ${r.status}`);
}

/** The same check with bubblewrap's sandbox waited for off the main thread (petset up starts meanwhile). */
export async function processRuntimeUnavailableAsync(): Promise<string | undefined> {
  const missing = processRuntimePrerequisiteMissing();
  if (missing) return missing;
  return new Promise((resolve) =>
    execFile('/usr/bin/bwrap', BWRAP_CHECK, { encoding: 'utf8', timeout: 10_000 }, (err, _stdout, stderr) =>
      resolve(!err ? undefined : bwrapCannot(stderr || (typeof err.code === 'number' ? `exit ${err.code}` : err.message))),
    ),
  );
}

/** a sandbox as pods get (pid, uts and ipc namespaces, its own /dev and /proc) running true */
const BWRAP_CHECK = ['--ro-bind', '/', '/', '--unshare-pid', '--unshare-uts', '--unshare-ipc', '--dev', '/dev', '--proc', '/proc', '/bin/true'];

function bwrapCannot(detail: string): string {
  return `bubblewrap cannot create namespaces here: ${detail.trim()}`;
}

function processRuntimePrerequisiteMissing(): string | undefined {
  if (process.platform !== 'linux') return `the process runtime needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the process runtime needs root (it creates namespaces, mounts and cgroups); run petset up as root or use --runtime sim';
  for (const tool of ['/usr/bin/bwrap', '/usr/bin/nsenter', '/usr/bin/unshare', '/usr/bin/setpriv']) {
    if (!fs.existsSync(tool)) return `${tool} is missing: apt-get install -y bubblewrap util-linux`;
  }
  return undefined;
}

export class ProcessRuntime implements ContainerRuntime {
  readonly type = 'petset';
  readonly version = 'petset://0.1';
  readonly cgroups = new Cgroups();
  readonly catalog: ImageCatalog;
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly containers = new Map<string, Container>();
  private readonly shimDir: string;
  private readonly puller: OciPuller;
  private readonly availableCaps: string[];
  private client?: Client;
  private rotateTimer?: NodeJS.Timeout;
  private logTimer?: NodeJS.Timeout;
  private warnedLimits = false;
  private warnedPids = false;
  /**
   * stopAll or killAll ran: the node is going away. A sandbox or container whose start was
   * under way (awaiting a network attach, an image, a config volume) must not spawn its
   * processes afterwards, or nothing would be left to stop them (`petset up` exits, and a
   * detached pause or bwrap outlives it).
   */
  private closed = false;

  /**
   * The node's resolver configuration, read for each new sandbox as the file stands (none when
   * unreadable), for pods that ask for it (dnsPolicy Default, hostNetwork). Only resolvers on this
   * machine are passed on: a pod's query to an off-machine resolver would leave the machine, which
   * petset never lets a pod do. Without one, such pods ask the cluster DNS, which forwards only
   * to upstreams on this machine or the ones `--dns-upstream` names.
   */
  private hostResolv(clusterDNS: string): HostResolv {
    let host: HostResolv = { nameservers: [], searches: [], options: [] };
    try {
      host = parseResolvConf(fs.readFileSync(this.opts.hostResolvConf ?? '/etc/resolv.conf', 'utf8'));
    } catch {
      // unreadable: as an empty file
    }
    return onMachineResolvers(host, clusterDNS);
  }

  constructor(private readonly opts: ProcessRuntimeOptions) {
    this.catalog = opts.catalog ?? new ImageCatalog();
    this.client = opts.client;
    fs.mkdirSync(path.join(opts.stateDir, 'sandboxes'), { recursive: true, mode: 0o700 });
    this.shimDir = path.join(opts.stateDir, 'shims');
    this.puller = new OciPuller(opts.imageCacheDir ?? path.join(opts.stateDir, 'images'));
    const bnd = /CapBnd:\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
    this.availableCaps = capsOfMask(bnd);
    this.rotateTimer = setInterval(() => {
      // rotation is checked every 10 s, or at every log tick when a small limit is set (tests)
      this.rotateLogs();
      // configMap/secret/downwardAPI volumes follow their sources, as the kubelet's periodic sync does
      for (const id of this.sandboxes.keys()) void this.refreshVolumes(id);
    }, 10_000);
    this.rotateTimer.unref();
    this.logTimer = setInterval(() => {
      for (const c of this.containers.values()) if (!c.exited && !c.forgotten) this.markLog(c);
      // an adopted container is not this process's child: its end is seen when its outer bwrap is gone
      for (const c of this.containers.values()) if (c.adopted && !c.exited && !c.released && !alive(c.outerPid, c.outerStart)) this.onChildExit(c, null, null);
      if (this.opts.logMaxBytes) this.rotateLogs();
    }, 250);
    this.logTimer.unref();
  }

  /** The agent hands over its client once it has one (ConfigMaps, Secrets, Services). */
  useClient(client: Client): void {
    this.client ??= client;
  }

  /**
   * The shims (the files pods see under SHIM_MOUNT, the pause program's check, busybox's applet
   * links), made when the first sandbox or container needs them rather than while `petset up`
   * starts: a start that runs no pod pays nothing for them. Rewritten once per agent start: the
   * directory is read-only inside pods and owned by root.
   */
  private shims(): Promise<void> {
    // a failed attempt (a full disk) is tried again by the next sandbox
    this.shimsReady ??= this.writeShims().catch((e: unknown) => {
      this.shimsReady = undefined;
      throw e;
    });
    return this.shimsReady;
  }

  private shimsReady?: Promise<void>;

  private async writeShims(): Promise<void> {
    for (const [rel, f] of Object.entries(SHIM_FILES)) {
      const file = path.join(this.shimDir, rel);
      await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
      await fsp.writeFile(file, f.content, { mode: f.mode });
      await fsp.chmod(file, f.mode);
    }
    await fsp.chmod(this.shimDir, 0o755);
    const [, pause] = await Promise.all([this.installBusyboxApplets(), installPause(this.shimDir)]);
    // (named inside a quoted shell script below: a path that would need quoting keeps `sleep infinity`)
    this.pauseProgram = pause && /^[A-Za-z0-9_\/.:=@%+,-]+$/.test(pause) ? pause : undefined;
  }

  /** The busybox image's applets, first in its PATH: one link to the host's busybox each. */
  private async installBusyboxApplets(): Promise<void> {
    const bb = path.join(this.shimDir, 'busybox');
    if (fs.existsSync(bb) || !fs.existsSync('/usr/bin/busybox')) return;
    const list = await new Promise<string>((resolve) => execFile('/usr/bin/busybox', ['--list'], { encoding: 'utf8' }, (_e, stdout) => resolve(stdout ?? '')));
    // made beside and renamed into place: an agent stopped halfway leaves no partial list
    const partial = `${bb}.partial`;
    await fsp.rm(partial, { recursive: true, force: true });
    await fsp.mkdir(partial, { mode: 0o755 });
    await Promise.all(list.split('\n').filter((x) => x && x !== 'busybox' && !x.includes('/')).map((applet) => fsp.symlink('/usr/bin/busybox', path.join(partial, applet))));
    await fsp.rename(partial, bb).catch(() => fsp.rm(partial, { recursive: true, force: true }));
  }

  /** the pod's pause program (./pause.ts), or undefined for `sleep infinity` */
  private pauseProgram?: string;

  /** tokens issued for projected volumes, by pod uid, audience and lifetime: reused until 80% of their life has passed, as the kubelet's token manager */
  private readonly tokens = new Map<string, { token: string; issuedAt: number; expiresAt: number }>();

  private async serviceAccountToken(pod: KubeObject, audience: string | undefined, expirationSeconds: number): Promise<string> {
    if (!this.client) throw new Error('no API connection to request a service account token');
    const key = `${pod.metadata.uid}/${audience ?? ''}/${expirationSeconds}`;
    const now = Date.now();
    const have = this.tokens.get(key);
    if (have && now < have.issuedAt + 0.8 * (have.expiresAt - have.issuedAt)) return have.token;
    const sa = pod.spec?.serviceAccountName || 'default';
    const tr = await this.client.request<KubeObject>({
      method: 'POST',
      path: `/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${sa}/token`,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: audience ? [audience] : [], expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid } },
      },
    });
    const token = String(tr.status?.token ?? '');
    this.tokens.set(key, { token, issuedAt: now, expiresAt: Date.parse(tr.status?.expirationTimestamp) || now + expirationSeconds * 1000 });
    for (const [k, t] of this.tokens) if (t.expiresAt < now) this.tokens.delete(k);
    return token;
  }

  private sources(): EnvSources & ObjectSources {
    const get = async (fn: () => Promise<KubeObject>): Promise<Obj | undefined> => {
      try {
        return await fn();
      } catch (e: any) {
        if (e?.code === 404) return undefined;
        throw e;
      }
    };
    return {
      configMap: (ns, name) => (this.client ? get(() => this.client!.resource({ group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true }, ns).get(name)) : Promise.resolve(undefined)),
      secret: (ns, name) => (this.client ? get(() => this.client!.resource({ group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true }, ns).get(name)) : Promise.resolve(undefined)),
      serviceAccountToken: (pod, audience, expirationSeconds) => this.serviceAccountToken(pod as KubeObject, audience, expirationSeconds),
      services: async (ns) => {
        if (!this.client) return [];
        const own = (await this.client.services(ns).listAll()).items;
        if (ns === 'default') return own;
        const k = await get(() => this.client!.services('default').get('kubernetes'));
        return k ? [...own, k] : own;
      },
    };
  }

  // ---- sandboxes ----

  async createSandbox(req: SandboxRequest): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const dir = path.join(this.opts.stateDir, 'sandboxes', id);
    fs.mkdirSync(path.join(dir, 'containers'), { recursive: true, mode: 0o755 });
    const pod = req.pod;
    const hostIP = nodeAddressOf(req.ip);
    fs.writeFileSync(path.join(dir, 'hosts'), hostsFile(pod, req.ip, req.hostname), { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'resolv.conf'), resolvConf(pod, this.opts.clusterDNS ?? hostIP, this.hostResolv(this.opts.clusterDNS ?? hostIP)), { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'hostname'), req.hostname + '\n', { mode: 0o644 });
    const rec: SandboxRecord = {
      id,
      podUid: pod.metadata.uid ?? '',
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name ?? '',
      ip: req.ip,
      hostname: req.hostname,
      volumePaths: { ...req.volumePaths },
      pausePid: 0,
      pauseStart: '',
      tmpfsMounts: [],
    };
    const sb: Sandbox = { rec, dir, pod, containers: new Set(), removed: false };
    this.sandboxes.set(id, sb);
    try {
      this.saveRecord(sb);
      // hostNetwork pods stay in the host's namespace, at the node's address
      if (this.opts.network && pod.spec?.hostNetwork !== true) {
        rec.netns = await this.opts.network.attach(id, req.ip, pod);
        this.saveRecord(sb);
      }
      // emptyDir medium Memory: a tmpfs over the directory the agent made, shared by the pod's containers
      for (const v of pod.spec?.volumes ?? []) {
        const where = req.volumePaths[v.name];
        if (v.emptyDir?.medium === 'Memory' && where) {
          const size = v.emptyDir.sizeLimit ? `,size=${quantityValue(v.emptyDir.sizeLimit)}` : '';
          run('mount', ['-t', 'tmpfs', '-o', `mode=1777${size}`, 'tmpfs', where]);
          rec.tmpfsMounts.push(where);
          this.saveRecord(sb);
        }
      }
      await this.writeConfigVolumes(sb);
      applyFsGroup(pod, req.volumePaths);
      // the pod-level group carries the pids limit: it counts every container's processes and the pause
      const podPids = this.opts.podPidsLimit;
      if (podPids && podPids > 0 && !this.cgroups.pidsLimits && !this.warnedPids) {
        this.warnedPids = true;
        console.warn('[process-runtime] --pod-max-pids is not enforced on this machine: no writable cgroup v1 pids hierarchy and no cgroup v2 pids controller for this process; pods run without it');
      }
      this.cgroups.create(`petset/${id}`, podPids && podPids > 0 ? { pids: podPids } : {});
      this.cgroups.create(`petset/${id}/pause`);
      // the pause program's check (it decides what the sandbox's holder runs)
      await this.shims();
      await this.startPause(sb);
      this.saveRecord(sb);
      return id;
    } catch (e) {
      await this.removeSandbox(id);
      throw e;
    }
  }

  private saveRecord(sb: Sandbox): void {
    const file = path.join(sb.dir, 'sandbox.json');
    fs.writeFileSync(file + '.tmp', JSON.stringify(sb.rec));
    fs.renameSync(file + '.tmp', file);
  }

  /** The pod's namespaces holder: hostname set in a new UTS namespace, a new IPC namespace, then sleep. */
  private startPause(sb: Sandbox): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the node is shutting down: the pod sandbox was not started'));
    const procs = this.cgroups.procsFiles(`petset/${sb.rec.id}/pause`);
    // shareProcessNamespace: the pod gets a PID namespace of its own whose PID 1 is a shell that
    // reaps (a bare sleep would leave the containers' orphans as zombies); unshare stays as its parent
    const shared = sb.pod.spec?.shareProcessNamespace === true;
    sb.rec.sharedPidNs = shared || undefined;
    const hold = shared ? `exec /bin/sh -c "trap \\"exit 0\\" TERM; while :; do sleep 3600 & wait; done"` : `exec ${this.pauseProgram ?? 'sleep infinity'}`;
    const unshare = shared ? '/usr/bin/unshare --uts --ipc --pid --fork --kill-child' : '/usr/bin/unshare --uts --ipc';
    const script = `for f in $PETSET_CGROUPS; do echo $$ > "$f"; done; ${CLOSE_FDS} exec ${unshare} -- /bin/sh -c \'hostname "$0" && echo ready && ${hold} >/dev/null 2>&1 </dev/null' "$0"`;
    const child = spawn(LAUNCH_SHELL, ['-c', script, sb.rec.hostname], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: DEFAULT_PATH, PETSET_CGROUPS: procs.join(' ') },
    });
    // known by pid from the spawn on (the exec chain keeps it): until the shell has joined the
    // pod's cgroup, a kill of the cgroup would miss it
    if (child.pid) {
      sb.rec.pausePid = child.pid;
      sb.rec.pauseStart = procStart(child.pid);
    }
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const done = (e?: Error) => {
        child.stdout!.removeAllListeners();
        child.removeAllListeners('exit');
        child.stdout!.destroy();
        child.stderr!.destroy();
        child.unref();
        if (e) reject(e);
        else resolve();
      };
      child.stderr!.on('data', (d) => (err += d));
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('ready')) {
          sb.rec.pausePid = child.pid!;
          sb.rec.pauseStart = procStart(child.pid!);
          done();
        }
      });
      child.on('exit', (code) => done(new Error(`the pod sandbox did not start (exit ${code}): ${err.trim()}`)));
      child.on('error', (e) => done(e));
    });
  }

  updateSandbox(sandboxId: string, pod: KubeObject): void {
    const sb = this.sandboxes.get(sandboxId);
    if (sb) sb.pod = pod;
  }

  /** The process whose life is the sandbox's (its pause process): volume locks follow it. */
  sandboxPid(sandboxId: string): number | undefined {
    return this.sandboxes.get(sandboxId)?.rec.pausePid || undefined;
  }

  async removeSandbox(sandboxId: string): Promise<void> {
    const sb = this.sandboxes.get(sandboxId);
    const dir = path.join(this.opts.stateDir, 'sandboxes', sandboxId);
    let rec: SandboxRecord | undefined = sb?.rec;
    if (!rec) rec = readRecord(dir);
    if (sb) {
      sb.removed = true;
      for (const cid of sb.containers) {
        const c = this.containers.get(cid);
        if (c) this.forget(c);
      }
    }
    this.killSandboxProcesses(sandboxId, rec);
    await waitUntil(() => this.cgroups.pids(`petset/${sandboxId}`).length === 0, 5000);
    this.cgroups.remove(`petset/${sandboxId}`);
    await this.opts.network?.detach(sandboxId);
    for (const m of rec?.tmpfsMounts ?? []) run('umount', ['-l', m], true);
    unmountUnder(dir);
    if (rec?.podUid) this.retainLogs(rec.podUid, dir);
    fs.rmSync(dir, { recursive: true, force: true });
    this.sandboxes.delete(sandboxId);
  }

  /**
   * A completed pod keeps its containers' output after its sandbox goes (kubectl logs of a
   * finished Job's pod), as kubelet keeps dead containers: the log files move to
   * <stateDir>/logs/<pod uid>/<container id>.log until the agent says the pod is gone.
   */
  private retainLogs(podUid: string, sandboxDir: string): void {
    const keep = path.join(this.opts.stateDir, 'logs', podUid);
    const containersDir = path.join(sandboxDir, 'containers');
    let ids: string[] = [];
    try {
      ids = fs.readdirSync(containersDir);
    } catch {
      return;
    }
    for (const id of ids) {
      const from = path.join(containersDir, id, 'output.log');
      if (!fs.existsSync(from)) continue;
      fs.mkdirSync(keep, { recursive: true, mode: 0o700 });
      const to = path.join(keep, `${id}.log`);
      for (const suffix of ['.1', '']) if (fs.existsSync(from + suffix)) fs.renameSync(from + suffix, to + suffix);
      const c = this.containers.get(id);
      if (c) c.logPath = to;
    }
  }

  /** The pod is gone: its retained output goes too (and its containers are forgotten). */
  removePodLogs(podUid: string): void {
    for (const [id, c] of this.containers) if (c.sandbox.rec.podUid === podUid && c.sandbox.removed) this.containers.delete(id);
    fs.rmSync(path.join(this.opts.stateDir, 'logs', podUid), { recursive: true, force: true });
  }

  /** The pods whose output is retained here. */
  podsWithLogs(): string[] {
    try {
      return fs.readdirSync(path.join(this.opts.stateDir, 'logs'));
    } catch {
      return [];
    }
  }

  private killSandboxProcesses(id: string, rec: SandboxRecord | undefined): void {
    this.cgroups.kill(`petset/${id}`);
    if (rec?.pausePid && procStart(rec.pausePid) === rec.pauseStart) {
      try {
        process.kill(rec.pausePid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const cid of this.sandboxes.get(id)?.containers ?? []) {
      const c = this.containers.get(cid);
      if (c?.initPid) killQuiet(c.initPid, 'SIGKILL');
      // a container spawned a moment ago may not have joined its cgroup yet (its shell writes
      // itself there before it execs nsenter and bwrap): its outer process goes by pid
      if (c?.outerPid && !c.exited && c.outerStart && procStart(c.outerPid) === c.outerStart) killQuiet(c.outerPid, 'SIGKILL');
    }
  }

  async listSandboxes(): Promise<SandboxInfo[]> {
    const out: SandboxInfo[] = [];
    const root = path.join(this.opts.stateDir, 'sandboxes');
    for (const id of fs.readdirSync(root)) {
      const rec = this.sandboxes.get(id)?.rec ?? readRecord(path.join(root, id));
      out.push({ id, podUid: rec?.podUid ?? '', volumePaths: { ...(rec?.volumePaths ?? {}) } });
    }
    return out;
  }

  limitsUnavailable(): string | undefined {
    return this.cgroups.limitsUnavailable();
  }

  /** Every container gets SIGTERM, then SIGKILL after graceMs; then every sandbox is removed. */
  containerUsage(containerId: string): ContainerUsage | undefined {
    const c = this.containers.get(containerId);
    if (!c || c.exited || c.forgotten) return undefined;
    return this.cgroups.usage(c.cgroup);
  }

  async stopAll(graceMs: number): Promise<void> {
    this.closed = true;
    await Promise.all([...this.containers.values()].filter((c) => !c.exited && !c.forgotten).map((c) => this.stopContainer(c.id, graceMs)));
    for (const id of [...this.sandboxes.keys()]) await this.removeSandbox(id);
  }

  killAll(): void {
    this.closed = true;
    clearInterval(this.rotateTimer);
    clearInterval(this.logTimer);
    const root = path.join(this.opts.stateDir, 'sandboxes');
    const ids = new Set([...this.sandboxes.keys(), ...safeReaddir(root)]);
    for (const c of this.containers.values()) this.forget(c);
    for (const id of ids) this.killSandboxProcesses(id, this.sandboxes.get(id)?.rec ?? readRecord(path.join(root, id)));
    // the records stay: the next agent on this node lists them and cleans up
    this.sandboxes.clear();
  }

  /**
   * The agent restarts: this runtime stops watching and lets go of its sandboxes, which keep
   * running for the next runtime on this state directory to adopt. Nothing is killed or
   * unmounted; a stdin writer stays open, so a container never reads an EOF it did not ask for.
   */
  release(): void {
    clearInterval(this.rotateTimer);
    clearInterval(this.logTimer);
    for (const c of this.containers.values()) {
      // the log clock goes with the container, so its lines keep their times under the next agent
      if (!c.exited) {
        this.markLog(c);
        try {
          fs.writeFileSync(path.join(c.dir, 'log-clock.json'), JSON.stringify({ logBase: c.logBase, logMarks: c.logMarks }));
        } catch {
          // the container's directory is gone: nothing to hand over
        }
      }
      c.released = true;
      c.forgotten = true;
      c.child?.unref();
      for (const w of c.exitWaiters.splice(0)) w();
    }
    this.containers.clear();
    this.sandboxes.clear();
  }

  /**
   * Adopts a sandbox an earlier agent left (see release): the pause process must still be the
   * one recorded, and the sandbox the pod's. Every container instance it holds is taken over:
   * a running one keeps its processes, id and log file, and its end is seen by polling; one that
   * ended meanwhile is reported with how it ended (bwrap's status file).
   */
  async adoptSandbox(sandboxId: string, pod: KubeObject, onExit: (containerId: string, exit: ContainerExit) => void): Promise<AdoptedSandbox | undefined> {
    if (this.sandboxes.has(sandboxId)) return undefined;
    const dir = path.join(this.opts.stateDir, 'sandboxes', sandboxId);
    const rec = readRecord(dir);
    if (!rec || !rec.podUid || rec.podUid !== pod.metadata.uid || !alive(rec.pausePid, rec.pauseStart)) return undefined;
    const sb: Sandbox = { rec, dir, pod, containers: new Set(), removed: false };
    const specs = new Map<string, Obj>([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].map((x: Obj) => [x.name, x]));
    const adopted: AdoptedContainer[] = [];
    for (const id of safeReaddir(path.join(dir, 'containers'))) {
      const cdir = path.join(dir, 'containers', id);
      let meta: ContainerMeta | undefined;
      try {
        meta = JSON.parse(fs.readFileSync(path.join(cdir, 'container.json'), 'utf8'));
      } catch {
        meta = undefined;
      }
      const spec = meta && specs.get(meta.name);
      if (!meta || !spec || meta.id !== id || !meta.plan || !meta.privPrefix || !meta.cgroup) {
        // a start the earlier agent did not finish recording (or a container the pod no longer
        // has): whatever runs of it is stopped, so a container never runs twice in its pod
        this.cgroups.kill(`petset/${sandboxId}/${id}`);
        this.cgroups.remove(`petset/${sandboxId}/${id}`);
        unmountUnder(cdir);
        fs.rmSync(cdir, { recursive: true, force: true });
        continue;
      }
      const logPath = path.join(cdir, 'output.log');
      const rotated = fileSize(logPath + '.1');
      let clock: { logBase: number; logMarks: { offset: number; time: number }[] } | undefined;
      try {
        clock = JSON.parse(fs.readFileSync(path.join(cdir, 'log-clock.json'), 'utf8'));
        // handed over once: a later agent that finds none (after a kill -9) must not take a stale one
        fs.rmSync(path.join(cdir, 'log-clock.json'), { force: true });
      } catch {
        clock = undefined;
      }
      const c: Container = {
        id,
        name: meta.name,
        sandbox: sb,
        spec,
        dir: cdir,
        logPath,
        env: meta.env ?? {},
        plan: meta.plan,
        cgroup: meta.cgroup,
        startedAt: new Date(meta.startedAt),
        onExit: (exit) => onExit(id, exit),
        exitWaiters: [],
        forgotten: false,
        privPrefix: meta.privPrefix,
        initPid: meta.initPid,
        outerPid: meta.outerPid,
        outerStart: meta.outerStart,
        adopted: true,
        sharedPid: meta.sharedPid,
        // the earlier agent's log clock when it handed it over (release), else what was written
        // before is timed by the file's last change
        logMarks: clock?.logMarks ?? [{ offset: rotated + fileSize(logPath), time: mtimeOf(logPath) ?? Date.now() }],
        logBase: clock?.logBase ?? rotated,
      };
      if (!alive(c.outerPid, c.outerStart)) {
        c.exited = this.exitOf(c, null, null, new Date(mtimeOf(path.join(cdir, 'status.json')) ?? Date.now()));
        this.cgroups.remove(c.cgroup);
      } else {
        if (spec.stdin && !spec.stdinOnce && fs.existsSync(path.join(cdir, 'stdin'))) {
          c.stdinPath = path.join(cdir, 'stdin');
          c.stdinFd = fs.openSync(c.stdinPath, 'r+');
        }
        if (spec.tty && fs.existsSync(path.join(cdir, 'resize'))) c.resizePath = path.join(cdir, 'resize');
      }
      this.containers.set(id, c);
      sb.containers.add(id);
      adopted.push({ id, name: meta.name, startedAt: c.startedAt, imageID: meta.imageID, exit: c.exited });
    }
    this.sandboxes.set(sandboxId, sb);
    return { ip: rec.ip, containers: adopted };
  }

  // ---- volumes ----

  private async writeConfigVolumes(sb: Sandbox): Promise<void> {
    const pod = sb.pod;
    const fsGroup: number | undefined = pod.spec?.securityContext?.fsGroup;
    for (const v of pod.spec?.volumes ?? []) {
      if (!isConfigVolume(v)) continue;
      const files = await volumeFiles(v, pod, sb.rec.ip, (this.opts.nodeIP ?? nodeAddressOf(sb.rec.ip)), this.sources());
      writeAtomic(path.join(sb.dir, 'volumes', v.name), files, fsGroup);
    }
  }

  /** Rewrites configMap/secret/downwardAPI volumes whose sources changed (kubelet's periodic sync). */
  async refreshVolumes(sandboxId: string): Promise<void> {
    const sb = this.sandboxes.get(sandboxId);
    if (sb && !sb.removed) await this.writeConfigVolumes(sb).catch(() => undefined);
  }

  private volumeSource(sb: Sandbox, name: string): string | undefined {
    const v = (sb.pod.spec?.volumes ?? []).find((x: Obj) => x.name === name);
    if (v && isConfigVolume(v)) return path.join(sb.dir, 'volumes', name);
    return sb.rec.volumePaths[name];
  }

  // ---- containers ----

  async startContainer(sandboxId: string, req: ContainerRequest, onExit: (exit: ContainerExit) => void): Promise<StartedContainer> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb || sb.removed) throw new Error(`sandbox ${sandboxId} not found`);
    // busybox's applets (found first in its PATH); awaited after the lookup, which must see the sandbox as the call found it
    await this.shims();
    const spec = req.container;
    const pod = sb.pod;
    const { entry, imageID, rootfs, imageUser } = await this.resolveImage(String(spec.image ?? ''), spec.imagePullPolicy);
    const plan = securityPlan(pod, spec, this.availableCaps, imageUser);
    const hostIP = (this.opts.nodeIP ?? nodeAddressOf(sb.rec.ip));
    const userEnv = await containerEnv({ pod, container: spec, podIP: sb.rec.ip, hostIP }, this.sources());
    await this.writeConfigVolumes(sb);

    const id = randomBytes(16).toString('hex');
    const dir = path.join(sb.dir, 'containers', id);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });

    // mounts
    const mounts: MountSpec[] = [];
    const mountPaths: string[] = [];
    for (const vm of spec.volumeMounts ?? []) {
      let src = this.volumeSource(sb, vm.name);
      if (!src) throw configError(`cannot find volume "${vm.name}" to mount into container "${spec.name}"`, 'CreateContainerConfigError');
      if (vm.subPath || vm.subPathExpr) {
        const sub = vm.subPathExpr ? expand(vm.subPathExpr, userEnv) : vm.subPath;
        const full = path.resolve(src, sub);
        const real = fs.existsSync(full) ? fs.realpathSync(full) : full;
        const base = fs.realpathSync(src);
        if (real !== base && !real.startsWith(base + '/')) throw configError(`failed to prepare subPath for volumeMount "${vm.name}" of container "${spec.name}": subpath "${sub}" escapes the volume`, 'CreateContainerConfigError');
        if (!fs.existsSync(full)) fs.mkdirSync(full, { recursive: true, mode: 0o777 });
        src = full;
      }
      // configMap, secret, downwardAPI and projected volumes are always mounted read-only, as the kubelet does
      const cfgVolume = (sb.pod.spec?.volumes ?? []).some((x: Obj) => x.name === vm.name && isConfigVolume(x));
      mounts.push({ source: src, dest: vm.mountPath, readOnly: !!vm.readOnly || cfgVolume });
      mountPaths.push(path.posix.normalize(vm.mountPath));
    }
    const env: Record<string, string> = { PATH: entry.busybox ? `${SHIM_MOUNT}/busybox:${DEFAULT_PATH}` : DEFAULT_PATH, HOSTNAME: sb.rec.hostname, HOME: '/root', ...entry.env };
    let root: string | undefined;
    if (rootfs) root = this.overlay(rootfs, dir);
    // the image's data VOLUME: the mounted volume, or one that plainly stands for it, else a directory of the pod
    if (entry.dataPath && !mountPaths.some((p) => p === entry.dataPath || entry.dataPath!.startsWith(p + '/'))) {
      const writable = (spec.volumeMounts ?? []).filter((vm: Obj) => !vm.readOnly && entry.dataHint && String(vm.mountPath).includes(entry.dataHint));
      if (writable.length === 1) {
        env.PETSET_DATADIR = writable[0].mountPath;
        if (entry.env?.PGDATA) env.PGDATA = writable[0].mountPath;
      } else {
        const anon = path.join(sb.dir, 'anon', spec.name);
        fs.mkdirSync(anon, { recursive: true, mode: 0o755 });
        mounts.push({ source: anon, dest: entry.dataPath, readOnly: false });
      }
    }
    for (const [dest, rel] of Object.entries(entry.binds ?? {})) mounts.push({ source: path.join(this.shimDir, rel), dest, readOnly: true });
    // termination message: a file of the container's, read when it exits
    const termFile = path.join(dir, 'termination-log');
    fs.writeFileSync(termFile, '', { mode: 0o666 });
    fs.chmodSync(termFile, 0o666);
    mounts.push({ source: termFile, dest: spec.terminationMessagePath || '/dev/termination-log', readOnly: false, file: true });
    Object.assign(env, userEnv, { PETSET_POD_IP: sb.rec.ip });
    if (plan.uid !== 0 && !userEnv.HOME) env.HOME = '/';

    // argv: command replaces the entrypoint (and drops the image's cmd), args replace cmd
    const command: string[] = spec.command?.length ? spec.command.map((s: string) => expand(s, env)) : entry.entrypoint;
    const args: string[] = spec.args?.length ? spec.args.map((s: string) => expand(s, env)) : spec.command?.length ? [] : entry.cmd;
    const argv = [...command, ...args];
    if (!argv.length) throw configError('no command specified', 'CreateContainerError');
    argv[0] = entry.aliases?.[argv[0]] ?? argv[0];
    const workingDir: string = spec.workingDir || entry.workingDir || '/';

    const cgroup = `petset/${sb.rec.id}/${id}`;
    const limits = limitsOf(spec);
    const noLimits = (limits.memoryBytes || limits.cpuMilli) && this.cgroups.limitsUnavailable();
    if (noLimits && !this.warnedLimits) {
      this.warnedLimits = true;
      console.warn(`[process-runtime] resource limits are not enforced on this machine: ${noLimits}; pods run without them`);
    }
    this.cgroups.create(cgroup, limits);

    const logPath = path.join(dir, 'output.log');
    const logFd = fs.openSync(logPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o640);
    const statusFd = fs.openSync(path.join(dir, 'status.json'), 'w', 0o600);
    let stdinFd: number | undefined;
    let stdinPath: string | undefined;
    let childStdin: number | undefined;
    if (spec.stdin) {
      stdinPath = path.join(dir, 'stdin');
      run('mkfifo', ['-m', '0600', stdinPath]);
      // the runtime holds a writer, so the container sees no EOF between two attach sessions;
      // the container's end is read-only, so that letting go of every writer (stdinOnce) is an EOF
      stdinFd = fs.openSync(stdinPath, 'r+');
      childStdin = fs.openSync(stdinPath, 'r');
    }
    // tty: the main process runs on a terminal of the pty helper; resizes come through a FIFO on its fd 3
    let resizeFd: number | undefined;
    let resizePath: string | undefined;
    const tty = !!spec.tty && !rootfs;
    const pidNs = this.pidNamespaceFor(sb, spec, !!req.ephemeral);
    if (tty) {
      resizePath = path.join(dir, 'resize');
      run('mkfifo', ['-m', '0600', resizePath]);
      resizeFd = fs.openSync(resizePath, 'r+');
    }
    // the PID namespace's init: tini (static, ~0.7 MB resident) where Debian's tini is installed,
    // else bwrap's own (~1.3 MB); either reaps orphans and ends with the main process's status
    const tini = !pidNs && !rootfs && TINI ? [TINI, '--'] : [];
    const bwrap = sandboxArgs({
      podFiles: { hosts: path.join(sb.dir, 'hosts'), resolv: path.join(sb.dir, 'resolv.conf'), hostname: path.join(sb.dir, 'hostname') },
      shimDir: this.shimDir,
      shimMount: SHIM_MOUNT,
      mounts,
      hide: [this.opts.stateDir, ...(this.opts.hide ?? [])],
      dirs: [workingDir, ...(entry.dataPath ? [entry.dataPath] : [])].filter((d) => d !== '/'),
      // setpriv needs these to switch users and shrink the bounding set; it leaves the container plan.caps
      caps: [...new Set([...plan.caps, 'SETUID', 'SETGID', 'SETPCAP'])].filter((c) => this.availableCaps.includes(c)),
      readOnlyRoot: plan.readOnlyRoot,
      rootfs: root,
      hostTools: rootfs ? HOST_TOOLS : undefined,
      workingDir,
      sharedPid: !!pidNs,
      ownInit: tini.length > 0,
      infoFd: 3,
      statusFd: 4,
    });
    const nsenter = ['/usr/bin/nsenter', `--uts=/proc/${sb.rec.pausePid}/ns/uts`, `--ipc=/proc/${sb.rec.pausePid}/ns/ipc`];
    if (sb.rec.netns) nsenter.push(`--net=${sb.rec.netns}`);
    // a shared PID namespace: nsenter forks into it, and bwrap (which reads /proc by its own pids)
    // starts from a mount namespace whose /proc is that namespace's
    if (pidNs) nsenter.push(`--pid=${pidNs}`, '--', '/usr/bin/unshare', '--mount', '--', '/bin/sh', '-c', 'mount -t proc proc /proc && exec "$@"', 'sh');
    else nsenter.push('--');
    const privPrefix = rootfs ? hostSetpriv(plan) : setprivArgs(plan);
    const full = [...nsenter, '/usr/bin/bwrap', ...bwrap, '--', ...tini, ...privPrefix, ...(tty ? ['/usr/bin/python3', '-I', `${SHIM_MOUNT}/petset-tty.py`] : []), ...argv];
    const procs = this.cgroups.procsFiles(cgroup);
    if (this.closed) throw new Error(`the node is shutting down: container "${spec.name}" was not started`);
    // the environment goes through bwrap's own (not --setenv), so secrets never show in ps
    const child = spawn(LAUNCH_SHELL, ['-c', `for f in $PETSET_CGROUPS; do echo $$ > "$f"; done; unset PETSET_CGROUPS; ${CLOSE_FDS} exec "$@"`, 'sh', ...full], {
      detached: true,
      stdio: [childStdin ?? 'ignore', logFd, logFd, resizeFd ?? 'ignore', statusFd],
      env: { ...env, PETSET_CGROUPS: procs.join(' ') },
    });
    fs.closeSync(logFd);
    fs.closeSync(statusFd);
    if (resizeFd !== undefined) fs.closeSync(resizeFd);
    if (childStdin !== undefined) fs.closeSync(childStdin);
    const c: Container = {
      id,
      name: spec.name,
      sandbox: sb,
      spec,
      dir,
      logPath,
      child,
      env,
      plan,
      cgroup,
      startedAt: new Date(),
      onExit,
      exitWaiters: [],
      forgotten: false,
      stdinFd,
      stdinPath,
      resizePath,
      privPrefix,
      logMarks: [],
      logBase: 0,
    };
    this.containers.set(id, c);
    sb.containers.add(id);
    this.pruneInstances(sb, spec.name, id);
    c.outerPid = child.pid;
    c.outerStart = child.pid ? procStart(child.pid) : undefined;
    child.on('exit', (code, signal) => this.onChildExit(c, code, signal));
    child.on('error', () => this.onChildExit(c, 127, null));
    // the child stays referenced while it runs: the runtime is watching it (forget() lets go)
    const info = await readInfo(path.join(dir, 'status.json'), () => !!c.exited);
    // in a shared PID namespace bwrap names its child by that namespace's pid: the host's is found by NSpid
    if (info) c.initPid = pidNs ? await hostPidIn(() => this.cgroups.pids(cgroup), info) : info;
    if (pidNs) c.sharedPid = true;
    await this.awaitMain(c);
    // everything a later agent needs to adopt the container (the environment may hold secrets: root only)
    const meta: ContainerMeta = { id, name: spec.name, image: spec.image, imageID, argv, startedAt: c.startedAt.toISOString(), initPid: c.initPid, outerPid: c.outerPid, outerStart: c.outerStart, env, plan, privPrefix, cgroup, sharedPid: c.sharedPid };
    fs.writeFileSync(path.join(dir, 'container.json'), JSON.stringify(meta), { mode: 0o600 });
    return { id, startedAt: c.startedAt, imageID };
  }

  /** Host programs first; else an image from a registry on this machine (ErrImagePull when neither). */
  private async resolveImage(image: string, policy?: string): Promise<{ entry: CatalogEntry; imageID: string; rootfs?: string; imageUser: number }> {
    const source = this.opts.imageSource ?? 'auto';
    const ref = parseImageRef(image);
    // a registry petset may reach (one on this machine) comes first; every other name is the catalog's
    const pull = source !== 'host' && isLoopbackRegistry(ref.registry);
    if (source === 'registry' && !pull) {
      throw new ImagePullError(
        `Failed to pull image "${image}": this node takes images only from registries (--image-source registry), and petset pulls only from registries on this machine, which ${ref.registry} is not. ` +
          `Fix: push the image to a registry on loopback (e.g. localhost:5000/${ref.repository.replace(/^library\//, '')}), or start petset up with --image-source auto to run the host-program catalog's programs`,
      );
    }
    if (source === 'host' && isLoopbackRegistry(ref.registry) && !this.catalog.has(image)) {
      throw new ImagePullError(`Failed to pull image "${image}": this node runs only the host-program catalog's images (--image-source host), and none is named "${image}". Fix: start petset up with --image-source auto or registry to pull it from ${ref.registry}`);
    }
    try {
      if (pull) throw new Error('a registry image');
      return { ...this.catalog.resolve(image), imageUser: 0 };
    } catch (e) {
      if (!pull) throw e;
      // imagePullPolicy as the kubelet defaults it: Always for :latest (or no tag), IfNotPresent otherwise
      const pullPolicy = policy ?? (ref.reference === 'latest' ? 'Always' : 'IfNotPresent');
      let pulled: PulledImage | undefined = pullPolicy === 'Always' ? undefined : this.puller.cached(image);
      if (!pulled && pullPolicy === 'Never') {
        throw Object.assign(new Error(`Container image "${image}" is not present with pull policy of Never`), { reason: 'ErrImageNeverPull' });
      }
      try {
        pulled ??= await this.puller.pull(image);
      } catch (pe) {
        throw new ImagePullError(`Failed to pull image "${image}": ${(pe as Error).message}. Fix: push the image to the registry at ${ref.registry}, or add a host-program catalog entry with --image-catalog FILE`);
      }
      const cfg = pulled.config;
      const env: Record<string, string> = {};
      for (const kv of cfg.Env ?? []) {
        const i = kv.indexOf('=');
        if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
      }
      const entry: CatalogEntry = { images: [image], package: '', program: '', entrypoint: cfg.Entrypoint ?? [], cmd: cfg.Cmd ?? [], env, workingDir: cfg.WorkingDir || undefined };
      return { entry, imageID: pulled.imageID, rootfs: pulled.rootfs, imageUser: imageUid(pulled.rootfs, cfg.User) };
    }
  }

  /** A container's own writable layer over the shared image: overlay mounted under its directory. */
  private overlay(rootfs: string, dir: string): string {
    const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => path.join(dir, d));
    for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
    run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${upper},workdir=${work}`, merged]);
    return merged;
  }

  /** Only the current and the previous instance of a container are kept (logs --previous). */
  private pruneInstances(sb: Sandbox, name: string, current: string): void {
    const older = [...sb.containers].map((id) => this.containers.get(id)!).filter((c) => c && c.name === name && c.id !== current && c.exited);
    older.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    for (const old of older.slice(0, -1)) {
      this.containers.delete(old.id);
      sb.containers.delete(old.id);
      fs.rmSync(old.dir, { recursive: true, force: true });
    }
  }

  private onChildExit(c: Container, code: number | null, signal: NodeJS.Signals | null): void {
    if (c.exited || c.released) return;
    const exit = this.exitOf(c, code, signal);
    this.markLog(c);
    c.exited = exit;
    this.cgroups.kill(c.cgroup);
    this.cgroups.remove(c.cgroup);
    unmountUnder(c.dir);
    this.closeStdin(c);
    if (!c.forgotten) {
      try {
        c.onExit(exit);
      } catch (e) {
        console.warn(`[process-runtime] exit handler of ${c.name}: ${(e as Error).message}`);
      }
    }
    for (const w of c.exitWaiters.splice(0)) w();
  }

  /** How a container ended: bwrap's status file, the cgroup's OOM count, its termination message or log tail. */
  private exitOf(c: Container, code: number | null, signal: NodeJS.Signals | null, finishedAt = new Date()): ContainerExit {
    let exitCode = code ?? 128 + (signal ? (osSignal(signal) ?? 9) : 9);
    // bwrap's status file has the container's own code (the outer bwrap may have died of a signal)
    const status = readText(path.join(c.dir, 'status.json'));
    const m = /"exit-code":\s*(\d+)/.exec(status);
    if (m) exitCode = Number(m[1]);
    let reason = exitCode === 0 ? 'Completed' : 'Error';
    const oom = this.cgroups.oomKills(c.cgroup) > 0;
    if (oom) reason = 'OOMKilled';
    const tail = tailText(c.logPath, 2048);
    let message: string | undefined;
    // bwrap could not build the sandbox, or setpriv could not execute the command: the container never ran
    const lastLine = tail.trimEnd().split('\n').pop() ?? '';
    if (exitCode !== 0 && !oom && (/^(bwrap|nsenter): /.test(lastLine) || /^setpriv: failed to execute/.test(lastLine))) {
      reason = 'ContainerCannotRun';
      message = lastLine;
    }
    const term = readText(path.join(c.dir, 'termination-log')).slice(0, TERMINATION_MESSAGE_MAX);
    if (term) message = term;
    else if (!message && exitCode !== 0 && c.spec.terminationMessagePolicy === 'FallbackToLogsOnError') message = tailLines(tail, 80);
    const exit: ContainerExit = { exitCode, reason, finishedAt };
    if (exitCode > 128 && exitCode < 160) exit.signal = exitCode - 128;
    if (message) exit.message = message;
    return exit;
  }

  /**
   * The PID namespace a container joins instead of getting its own: the pod's
   * (shareProcessNamespace), or, for a debug container with a target, the target's
   * (upstream targetContainerName), so that `ps` there sees the target's processes.
   */
  private pidNamespaceFor(sb: Sandbox, spec: Obj, ephemeral: boolean): string | undefined {
    if (sb.rec.sharedPidNs) return `/proc/${sb.rec.pausePid}/ns/pid_for_children`;
    if (!ephemeral || !spec.targetContainerName) return undefined;
    const target = [...sb.containers].map((id) => this.containers.get(id)).find((x) => x && x.name === spec.targetContainerName && !x.exited && x.initPid);
    if (!target) throw configError(`the target container "${spec.targetContainerName}" is not running`, 'CreateContainerError');
    return `/proc/${target.initPid}/ns/pid`;
  }

  /** The container's main process (the only child of its sandbox's init), host pid. */
  private mainPid(c: Container): number | undefined {
    if (!c.initPid) return undefined;
    if (c.sharedPid) return c.initPid;
    const kids = readText(`/proc/${c.initPid}/task/${c.initPid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
    return kids[0];
  }

  async stopContainer(containerId: string, graceMs: number): Promise<void> {
    const c = this.containers.get(containerId);
    if (!c || c.exited) return;
    const gone = new Promise<void>((resolve) => c.exitWaiters.push(resolve));
    const main = this.mainPid(c);
    if (main) killQuiet(main, 'SIGTERM');
    else if (c.initPid) killQuiet(c.initPid, 'SIGKILL');
    const timer = setTimeout(() => {
      if (c.initPid) killQuiet(c.initPid, 'SIGKILL');
      this.cgroups.kill(c.cgroup);
    }, graceMs);
    await gone;
    clearTimeout(timer);
  }

  private forget(c: Container): void {
    c.forgotten = true;
    c.child?.unref();
    if (c.initPid && !c.exited) killQuiet(c.initPid, 'SIGKILL');
    for (const w of c.exitWaiters.splice(0)) w();
  }

  // ---- handlers, exec ----

  /** nsenter into the container's namespaces, then its user and capabilities. */
  private enterArgs(c: Container, command: string[]): string[] {
    const pid = this.mainPid(c) ?? c.initPid;
    return ['/usr/bin/nsenter', '-t', String(pid), '-m', '-p', '-u', '-i', '-r', '-w', ...(c.sandbox.rec.netns ? [`--net=${c.sandbox.rec.netns}`] : []), '--', ...c.privPrefix, ...command];
  }

  async runHandler(containerId: string, req: HandlerRequest): Promise<HandlerResult> {
    const c = this.containers.get(containerId);
    if (!c || c.exited || !c.initPid) return { ok: false, output: `container ${containerId} is not running` };
    const h = req.handler;
    try {
      if (h.exec) {
        const r = await this.execCapture(c, h.exec.command ?? [], req.timeoutMs);
        if (r.timedOut) return { ok: false, output: `command ${JSON.stringify(h.exec.command)} timed out` };
        return { ok: r.code === 0, output: r.output };
      }
      if (h.httpGet) return await httpProbe(h.httpGet, req.podIP, this.port(c, h.httpGet.port), req.timeoutMs);
      if (h.tcpSocket) return await tcpProbe(h.tcpSocket.host || req.podIP, this.port(c, h.tcpSocket.port), req.timeoutMs);
      if (h.grpc) return await grpcProbe(req.podIP, h.grpc.port, h.grpc.service ?? '', req.timeoutMs);
      return { ok: false, output: 'unknown handler' };
    } catch (e) {
      return { ok: false, output: (e as Error).message };
    }
  }

  private port(c: Container, port: number | string): number {
    if (typeof port === 'number') return port;
    if (/^\d+$/.test(port)) return Number(port);
    const named = (c.spec.ports ?? []).find((p: Obj) => p.name === port);
    if (!named) throw new Error(`couldn't find port ${port} in container ${c.name}`);
    return named.containerPort;
  }

  private execCapture(c: Container, command: string[], timeoutMs: number): Promise<{ code: number; output: string; timedOut: boolean }> {
    return new Promise((resolve) => {
      const [cmd, ...rest] = this.enterArgs(c, command);
      const child = spawn(cmd, rest, { env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let timedOut = false;
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, Math.max(1, timeoutMs));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, output: output.slice(0, 10 * 1024), timedOut });
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ code: 126, output: e.message, timedOut });
      });
    });
  }

  async exec(containerId: string, req: ExecRequest): Promise<{ exitCode: number; message?: string }> {
    const c = this.containers.get(containerId);
    if (!c || c.exited || !c.initPid) throw new Error(`container not found (${containerId}) or not running`);
    // a terminal: the pty helper (host root) or script(1); an image root has neither, so no tty there
    const hostRoot = c.privPrefix[0] === '/usr/bin/setpriv';
    const command = req.tty && hostRoot ? ['/usr/bin/python3', '-I', `${SHIM_MOUNT}/petset-tty.py`, ...req.command] : req.command;
    const [cmd, ...rest] = this.enterArgs(c, command);
    const tty = req.tty && hostRoot;
    const child = spawn(cmd, rest, { env: { ...c.env, ...(tty ? { TERM: c.env.TERM ?? 'xterm' } : {}) }, stdio: ['pipe', 'pipe', 'pipe', tty ? 'pipe' : 'ignore'] });
    if (req.stdin) req.stdin.pipe(child.stdin!);
    else child.stdin!.end();
    child.stdin!.on('error', () => undefined);
    if (req.stdout) child.stdout!.pipe(req.stdout, { end: false });
    else child.stdout!.resume();
    if (req.stderr) child.stderr!.pipe(req.stderr, { end: false });
    else if (req.stdout) child.stderr!.pipe(req.stdout, { end: false });
    else child.stderr!.resume();
    const ctl = child.stdio[3] as NodeJS.WritableStream | null;
    if (tty && ctl && req.resize) {
      ctl.on('error', () => undefined);
      void (async () => {
        try {
          for await (const size of req.resize!) ctl.write(`${size.width} ${size.height}\n`);
        } catch {
          /* the session ended */
        }
      })();
    }
    return new Promise((resolve) => {
      child.on('close', (code, signal) => {
        req.stdin?.unpipe?.(child.stdin!);
        const exitCode = code ?? 128 + (signal ? (osSignal(signal) ?? 9) : 9);
        resolve(exitCode === 0 ? { exitCode } : { exitCode, message: `command terminated with non-zero exit code: exit status ${exitCode}` });
      });
      child.on('error', (e) => resolve({ exitCode: 126, message: e.message }));
    });
  }

  async attach(containerId: string, req: AttachRequest): Promise<void> {
    const c = this.containers.get(containerId);
    // where the session's output starts, taken before the check: if the process has ended, the attach fails
    // and the client reads the logs, which have all of it. A kubelet also loses what a process that still runs
    // wrote before the attach; for the first session of a stdinOnce container (what `kubectl run -it` starts,
    // often a one-shot command such as `dig` that may be exiting as the attach lands) the output starts at the
    // container's start instead, so the user sees all of it whichever way the race goes.
    const firstOfOnce = !!c?.spec.stdinOnce && !c.attached;
    let pos = c && !firstOfOnce ? fileSize(c.logPath) : 0;
    if (!c || !this.running(containerId)) throw new ContainerNotRunningError(`container ${containerId} is not running`);
    c.attached = true;
    let writer: fs.WriteStream | undefined;
    // stdinOnce: stdin belongs to the first client that attaches it, and closes when that client is done
    const once = !!c.spec.stdinOnce;
    if (req.stdin && c.stdinPath && c.stdinFd !== undefined) {
      writer = fs.createWriteStream(c.stdinPath, { flags: 'a' });
      writer.on('error', () => undefined);
      req.stdin.pipe(writer);
      // (the runtime's own writer goes once the session's is open, so the container never reads an early EOF)
      if (once) writer.once('open', () => this.closeStdin(c));
    }
    const out = req.stdout ?? req.stderr;
    const done = new Promise<void>((resolve) => c.exitWaiters.push(resolve));
    if (c.resizePath && req.resize) {
      const ctl = fs.createWriteStream(c.resizePath, { flags: 'a' });
      ctl.on('error', () => undefined);
      void (async () => {
        try {
          for await (const size of req.resize!) ctl.write(`${size.width} ${size.height}\n`);
        } catch {
          /* the session ended */
        }
        ctl.end();
      })();
    }
    if (out) {
      const pump = () => {
        const size = fileSize(c.logPath);
        if (size < pos) pos = 0;
        if (size > pos) {
          const fd = fs.openSync(c.logPath, 'r');
          const buf = Buffer.alloc(size - pos);
          fs.readSync(fd, buf, 0, buf.length, pos);
          fs.closeSync(fd);
          pos = size;
          out.write(buf);
        }
      };
      const timer = setInterval(pump, 100);
      await done;
      clearInterval(timer);
      pump();
    } else await done;
    if (writer) {
      req.stdin?.unpipe(writer);
      writer.end();
    }
  }

  /**
   * The main process's own end counts: the runtime's note of it (onChildExit) comes only after tini,
   * bwrap and the node's child handle have passed it on, and an attach accepted in between would
   * wait for output that was already written.
   */
  running(containerId: string): boolean {
    const c = this.containers.get(containerId);
    if (!c || c.exited || c.released) return false;
    this.noteMain(c);
    if (c.main) return alive(c.main.pid, c.main.start);
    // the init has not started the main process yet (or never could): running while the init runs
    return !!c.initPid && alive(c.initPid, procStart(c.initPid));
  }

  /** Notes the container's main process once its init has started it (bounded: an init that never starts one ends). */
  private async awaitMain(c: Container): Promise<void> {
    for (let i = 0; i < 400 && c.initPid && !c.exited; i++) {
      this.noteMain(c);
      if (c.main || !alive(c.initPid, procStart(c.initPid))) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private noteMain(c: Container): void {
    if (c.main) return;
    const pid = this.mainPid(c);
    const start = pid ? procStart(pid) : '';
    if (pid && start) c.main = { pid, start };
  }

  /** Lets go of the runtime's writer of a container's stdin: with no attach session writing, the container reads EOF. */
  private closeStdin(c: Container): void {
    if (c.stdinFd === undefined) return;
    fs.closeSync(c.stdinFd);
    c.stdinFd = undefined;
  }

  async portForward(sandboxId: string, port: number): Promise<net.Socket | Duplex> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) throw new Error(`sandbox ${sandboxId} not found`);
    if (sb.rec.netns) {
      // pod-local ports (127.0.0.1 inside the pod's network namespace): socat as the bridge.
      // Its notices (-d -d) say when it is connected; a refusal is the dial error kubectl
      // prints ("error forwarding port N to pod P: ..."), as upstream's runtime reports it.
      const child = spawn('/usr/bin/nsenter', [`--net=${sb.rec.netns}`, '--', '/usr/bin/socat', '-d', '-d', '-', `TCP:127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        let said = '';
        const onData = (d: Buffer) => {
          said += d;
          if (/starting data transfer loop/.test(said)) done();
        };
        const onExit = (code: number | null) => {
          const refused = /Connection refused/.test(said);
          const last = said.split('\n').filter((l) => / E /.test(l)).pop()?.replace(/^.* E /, '');
          done(new Error(refused ? `connect ECONNREFUSED 127.0.0.1:${port} (inside the pod's network namespace)` : `socat: ${last ?? `exited with ${code}`}`));
        };
        const done = (err?: Error) => {
          child.stderr!.off('data', onData);
          child.off('exit', onExit);
          child.off('error', done);
          child.stderr!.resume(); // later notices are read and dropped
          if (err) reject(err);
          else resolve();
        };
        child.stderr!.on('data', onData);
        child.once('exit', onExit);
        child.once('error', done);
      });
      const { Duplex: D } = await import('node:stream');
      const conn = D.from({ writable: child.stdin!, readable: child.stdout! });
      conn.once('close', () => {
        if (child.exitCode === null) child.kill('SIGTERM');
      });
      return conn;
    }
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: sb.rec.ip, port }, () => {
        s.removeListener('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  // ---- logs ----

  async *logs(containerId: string, opts: LogOptions = {}): AsyncIterable<LogLine> {
    const c: LogSource | undefined = this.containers.get(containerId) ?? this.retainedLog(containerId);
    if (!c) throw new Error(`container ${containerId} not found`);
    this.markLog(c);
    const rotated = readBytes(c.logPath + '.1');
    const current = readBytes(c.logPath);
    let pos = current.length;
    const text = Buffer.concat([rotated, current]);
    // logical offsets of the text: the rotated part ends where the current file begins
    const startOffset = c.logBase - rotated.length;
    const lines: LogLine[] = [];
    let lineStart = 0;
    for (let i = 0; i < text.length; i++) {
      if (text[i] !== 0x0a) continue;
      lines.push({ time: this.timeAt(c, startOffset + i + 1), stream: 'stdout', text: text.subarray(lineStart, i).toString('utf8') });
      lineStart = i + 1;
    }
    let partial = text.subarray(lineStart).toString('utf8');
    let out = opts.since ? lines.filter((l) => l.time >= opts.since!) : lines;
    if (opts.tailLines !== undefined) out = out.slice(Math.max(0, out.length - opts.tailLines));
    yield* out;
    while (opts.follow) {
      const size = fileSize(c.logPath);
      if (size < pos) pos = 0;
      if (size > pos) {
        const fd = fs.openSync(c.logPath, 'r');
        const buf = Buffer.alloc(size - pos);
        fs.readSync(fd, buf, 0, buf.length, pos);
        fs.closeSync(fd);
        pos = size;
        const parts = (partial + buf.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const l of parts) yield { time: new Date(), stream: 'stdout', text: l };
        continue;
      }
      if (c.exited || c.forgotten) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (partial && (!opts.since || new Date() >= opts.since)) yield { time: new Date(), stream: 'stdout', text: partial };
  }

  /** The retained output of a container of an earlier agent; its lines are timed by the file's mtime. */
  private retainedLog(id: string): LogSource | undefined {
    if (!/^[0-9a-f]+$/.test(id)) return undefined;
    for (const uid of this.podsWithLogs()) {
      const logPath = path.join(this.opts.stateDir, 'logs', uid, `${id}.log`);
      try {
        const { mtimeMs, size } = fs.statSync(logPath);
        return { logPath, logMarks: [{ offset: size, time: mtimeMs }], logBase: 0, exited: { exitCode: 0, reason: 'Completed', finishedAt: new Date(mtimeMs) }, forgotten: true };
      } catch {
        continue;
      }
    }
    return undefined;
  }

  /**
   * The kernel writes the log file, so lines carry no time of their own: the runtime notes
   * how far the file had grown at each tick (250 ms), and a line's time is the first tick
   * that saw it. Offsets are logical (they keep counting across rotations).
   */
  private markLog(c: LogSource): void {
    const end = c.logBase + fileSize(c.logPath);
    const last = c.logMarks[c.logMarks.length - 1];
    if (!last || end > last.offset) c.logMarks.push({ offset: end, time: Date.now() });
    if (c.logMarks.length > 4000) c.logMarks = c.logMarks.filter((_, i) => i % 2 === 1);
  }

  private timeAt(c: LogSource, offset: number): Date {
    let lo = 0;
    let hi = c.logMarks.length - 1;
    if (hi < 0 || c.logMarks[hi].offset < offset) return new Date();
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c.logMarks[mid].offset >= offset) hi = mid;
      else lo = mid + 1;
    }
    return new Date(c.logMarks[lo].time);
  }

  /** Copy-truncate rotation: the container keeps its O_APPEND descriptor. */
  private rotateLogs(): void {
    for (const c of this.containers.values()) {
      if (c.exited) continue;
      const size = fileSize(c.logPath);
      if (size < (this.opts.logMaxBytes ?? LOG_ROTATE_BYTES)) continue;
      try {
        this.markLog(c);
        fs.copyFileSync(c.logPath, c.logPath + '.1');
        fs.truncateSync(c.logPath, 0);
        c.logBase += size;
      } catch {
        /* next round */
      }
    }
  }

  /** The container's main process pid on the host (for tests and `petset node pods`). */
  hostPid(containerId: string): number | undefined {
    const c = this.containers.get(containerId);
    return c ? this.mainPid(c) : undefined;
  }

  /** Where a sandbox keeps its files (for tests). */
  sandboxDir(sandboxId: string): string {
    return path.join(this.opts.stateDir, 'sandboxes', sandboxId);
  }
}

// ---- helpers ----

/**
 * The launcher shell closes descriptors above 4 that the agent inherited without
 * close-on-exec (from whatever started it), so no pod holds one; bash can name fds above 9.
 */
const LAUNCH_SHELL = fs.existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
const CLOSE_FDS = LAUNCH_SHELL === '/bin/bash' ? 'for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 4 ] && [ -e "/proc/$$/fd/$fd" ] && eval "exec $fd>&-"; done;' : '';

/**
 * fsGroup: the pod's writable volumes (emptyDir, claims) become group-owned by it, setgid
 * directories and group read/write, as the kubelet does; only when the volume's root does
 * not already match (fsGroupChangePolicy OnRootMismatch), since a walk of a big volume is slow.
 */
function applyFsGroup(pod: KubeObject, volumePaths: Record<string, string>): void {
  const gid = pod.spec?.securityContext?.fsGroup;
  if (typeof gid !== 'number') return;
  for (const v of pod.spec?.volumes ?? []) {
    const dir = volumePaths[v.name];
    if (!dir || !(v.emptyDir || v.persistentVolumeClaim || v.ephemeral)) continue;
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory() || (st.gid === gid && (st.mode & 0o2000) !== 0)) continue;
    const walk = (p: string) => {
      const s = fs.lstatSync(p);
      if (s.isSymbolicLink()) return;
      fs.chownSync(p, s.uid, gid);
      fs.chmodSync(p, (s.mode & 0o7777) | (s.isDirectory() ? 0o2070 : 0o060));
      if (s.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    };
    walk(dir);
  }
}

/** Debian's static tini, the containers' PID 1 when installed (package tini). */
const TINI = fs.existsSync('/usr/bin/tini-static') ? '/usr/bin/tini-static' : undefined;

/** The host's setpriv, run through the host's dynamic loader, for roots that are not the host's. */
const HOST_TOOLS = '/.petset-host';

function hostSetpriv(plan: SecurityPlan): string[] {
  const args = setprivArgs(plan);
  return [`${HOST_TOOLS}/ld.so`, '--library-path', `${HOST_TOOLS}/lib`, `${HOST_TOOLS}/setpriv`, ...args.slice(1)];
}

/** The uid an image's USER names (numeric, or a name in its /etc/passwd). */
function imageUid(rootfs: string, user: string | undefined): number {
  const name = (user ?? '').split(':')[0];
  if (!name) return 0;
  if (/^\d+$/.test(name)) return Number(name);
  const line = readText(path.join(rootfs, 'etc/passwd')).split('\n').find((l) => l.split(':')[0] === name);
  return line ? Number(line.split(':')[2]) : 0;
}

/** Unmounts every mount below dir (overlays of containers), deepest first. */
function unmountUnder(dir: string): void {
  const mounts = readText('/proc/self/mounts')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) run('umount', ['-l', m], true);
}

function configError(message: string, reason: string): Error {
  return Object.assign(new Error(message), { reason });
}

function limitsOf(spec: Obj): { memoryBytes?: number; cpuMilli?: number } {
  const l = spec.resources?.limits ?? {};
  const out: { memoryBytes?: number; cpuMilli?: number } = {};
  if (l.memory !== undefined) out.memoryBytes = quantityValue(l.memory);
  if (l.cpu !== undefined) out.cpuMilli = quantityMilliValue(l.cpu);
  return out;
}

/** The node's address: .1 of the pod's /24 (network.ts). */
function nodeAddressOf(ip: string): string {
  const p = ip.split('.');
  return p.length === 4 ? `${p[0]}.${p[1]}.${p[2]}.1` : ip;
}

function readRecord(dir: string): SandboxRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'sandbox.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readBytes(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch {
    return Buffer.alloc(0);
  }
}

function tailText(file: string, bytes: number): string {
  const size = fileSize(file);
  if (!size) return '';
  const fd = fs.openSync(file, 'r');
  const n = Math.min(bytes, size);
  const buf = Buffer.alloc(n);
  fs.readSync(fd, buf, 0, n, size - n);
  fs.closeSync(fd);
  return buf.toString('utf8');
}

function tailLines(text: string, n: number): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
}

/** Whether the process recorded (pid and start time) still runs: not gone, not reused, not a zombie. */
function alive(pid: number | undefined, start: string | undefined): boolean {
  if (!pid || !start) return false;
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return false;
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return after[0] !== 'Z' && after[19] === start;
}

function mtimeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat: tells a live process from a reused pid. */
function procStart(pid: number): string {
  const stat = readText(`/proc/${pid}/stat`);
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return after[19] ?? '';
}

function killQuiet(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

function osSignal(signal: NodeJS.Signals): number | undefined {
  return os.constants.signals[signal];
}

function run(cmd: string, args: string[], quiet = false): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !quiet) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

async function waitUntil(fn: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return fn();
}

/** The host pid of the process numbered nsPid in its own (nested) PID namespace, among the given pids. */
async function hostPidIn(pids: () => number[], nsPid: number): Promise<number | undefined> {
  for (let i = 0; i < 100; i++) {
    for (const pid of pids()) {
      const m = /^NSpid:\s*(.*)$/m.exec(readText(`/proc/${pid}/status`));
      const chain = m ? m[1].trim().split(/\s+/).map(Number) : [];
      if (chain.length >= 2 && chain[chain.length - 1] === nsPid) return pid;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}

/** The sandbox init's host pid from bwrap's status file (undefined if bwrap failed first). */
async function readInfo(statusFile: string, exited: () => boolean): Promise<number | undefined> {
  for (let i = 0; i < 3000; i++) {
    const m = /"child-pid":\s*(\d+)/.exec(readText(statusFile));
    if (m) return Number(m[1]);
    if (exited()) return undefined;
    await new Promise((r) => setTimeout(r, i < 100 ? 5 : 20));
  }
  return undefined;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

async function httpProbe(h: Obj, podIP: string, port: number, timeoutMs: number): Promise<HandlerResult> {
  const scheme = String(h.scheme ?? 'HTTP').toUpperCase();
  const host = h.host || podIP;
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.33', Accept: '*/*' };
  for (const x of h.httpHeaders ?? []) headers[x.name] = x.value;
  const mod = scheme === 'HTTPS' ? https : http;
  return new Promise((resolve) => {
    const req = mod.request({ host, port, path: h.path || '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body.length < 10240 ? (body += d) : undefined));
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { ok: true, output: body } : { ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, output: `Get "${scheme.toLowerCase()}://${host}:${port}${h.path || '/'}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (e) => resolve({ ok: false, output: `Get "${scheme.toLowerCase()}://${host}:${port}${h.path || '/'}": ${e.message}` }));
    req.end();
  });
}

/**
 * The gRPC health checking protocol (grpc.health.v1.Health/Check) over Node's own HTTP/2:
 * a length-prefixed protobuf HealthCheckRequest{service}, answered by HealthCheckResponse{status}.
 */
async function grpcProbe(host: string, port: number, service: string, timeoutMs: number): Promise<HandlerResult> {
  const http2 = await import('node:http2');
  return new Promise((resolve) => {
    const svc = Buffer.from(service, 'utf8');
    const msg = svc.length ? Buffer.concat([Buffer.from([0x0a, svc.length]), svc]) : Buffer.alloc(0);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), msg]);
    frame.writeUInt32BE(msg.length, 1);
    const target = `${host}:${port}`;
    let done = false;
    const finish = (r: HandlerResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.close();
      client.destroy();
      resolve(r);
    };
    const client = http2.connect(`http://${target}`);
    const timer = setTimeout(() => finish({ ok: false, output: `timeout: failed to connect service "${target}" within ${timeoutMs / 1000}s: context deadline exceeded` }), timeoutMs);
    client.on('error', (e) => finish({ ok: false, output: `timeout: failed to connect service "${target}" within ${timeoutMs / 1000}s: ${e.message}` }));
    const stream = client.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('error', (e) => finish({ ok: false, output: e.message }));
    let grpcStatus: string | undefined;
    stream.on('response', (headers) => (grpcStatus = headers['grpc-status'] as string | undefined));
    stream.on('trailers', (trailers) => (grpcStatus = (trailers['grpc-status'] as string | undefined) ?? grpcStatus));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      if (grpcStatus && grpcStatus !== '0') return finish({ ok: false, output: `rpc error: code = ${grpcStatus}` });
      // HealthCheckResponse: field 1 (status) varint; 1 = SERVING
      const status = body.length >= 7 && body[5] === 0x08 ? body[6] : 0;
      const names = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
      finish(status === 1 ? { ok: true, output: '' } : { ok: false, output: `service unhealthy (responded with "${names[status] ?? status}")` });
    });
    stream.end(frame);
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<HandlerResult> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    }, timeoutMs);
    s.on('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ ok: true, output: '' });
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, output: `dial tcp ${host}:${port}: connect: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}` });
    });
  });
}
