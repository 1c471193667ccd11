// What the examples' end-to-end tests share: a `petset up` on real pods, kubectl exec into
// the data services, and a check that every server process started is gone after Ctrl-C.
import fs from 'node:fs';
import path from 'node:path';
import { processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { eventually, processAlive, randomLoopbackServiceRange, randomRootRanges, repoRoot, startCluster, tempDir, type Cluster } from '../harness.js';

export type Obj = Record<string, any>;

/** Why these tests cannot run here (no root/bubblewrap, or a Debian program missing), or undefined. */
export function skipReason(...programs: string[]): string | undefined {
  const why = processRuntimeUnavailable() ?? programs.filter((p) => !fs.existsSync(p)).map((p) => `${p} is not installed`)[0];
  if (why) console.log(`# skipping: ${why}`);
  return why;
}

export const exampleDir = (name: string) => path.join(repoRoot, 'examples', name);

export async function pods(c: Cluster): Promise<Obj[]> {
  return JSON.parse((await c.kubectl(['get', 'pods', '-o', 'json'])).stdout).items;
}

/** The named pod once a new incarnation (not oldUid) runs with an IP and is Ready. */
export function readyPod(c: Cluster, name: string, oldUid?: string, timeoutMs = 120_000): Promise<Obj> {
  return eventually(async () => {
    const p = (await pods(c)).find((x) => x.metadata.name === name);
    const ready = p?.status?.conditions?.some((x: Obj) => x.type === 'Ready' && x.status === 'True');
    return p && p.metadata.uid !== oldUid && p.status.podIP && ready ? p : undefined;
  }, timeoutMs, `${name} running and ready${oldUid ? ' again' : ''}`);
}

/** Runs a command in a pod's container; resolves stdout (trimmed) or undefined when it failed. */
export async function execIn(c: Cluster, pod: string, container: string, command: string[]): Promise<string | undefined> {
  const r = await c.kubectl(['exec', pod, '-c', container, '--', ...command], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export async function rollout(c: Cluster, sts: string, timeoutS = 180): Promise<void> {
  await c.kubectl(['rollout', 'status', `sts/${sts}`, `--timeout=${timeoutS}s`], { timeoutMs: (timeoutS + 10) * 1000 });
}

export async function scale(c: Cluster, sts: string, replicas: number, podPrefix: string): Promise<void> {
  await c.kubectl(['scale', `sts/${sts}`, `--replicas=${replicas}`]);
  await eventually(async () => (await pods(c)).filter((p) => p.metadata.name.startsWith(podPrefix)).length === replicas, 120_000, `${replicas} ${podPrefix}N pods`);
  await rollout(c, sts);
}

/** Host pids of the program's processes that name one of these pods' IPs on their command line (bind flags, titles). */
export async function serverPids(c: Cluster, program: string, podPrefix: string): Promise<number[]> {
  const ips = (await pods(c)).filter((p) => p.metadata.name.startsWith(podPrefix) && p.status?.podIP).map((p) => p.status.podIP as string);
  return pidsOf((a) => path.basename(a[0]).startsWith(program) && ips.some((ip) => a.some((x) => x.includes(ip))));
}

/** Host pids of processes whose command line (split at NULs) matches. */
export function pidsOf(match: (cmdline: string[]) => boolean): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Whether process pid runs in a pod of the petset whose data directory is dataDir: its mounts
 * come from there (the sandbox binds the pod's volumes from the node's directories under it).
 * Tests that look for servers by name (zk-1, rabbitmq-0) use it so that another test's
 * cluster with pods of the same names, running beside them, is never counted.
 */
export function inPodOf(pid: number, dataDir: string): boolean {
  return mountsFrom(pid, path.basename(fs.realpathSync(dataDir)));
}

/**
 * Whether a mount of process pid comes from a directory named `mark` (a unique temp name): a
 * bind mount's source shows in mountinfo relative to its filesystem, so the name matches
 * whatever the path above it.
 */
function mountsFrom(pid: number, mark: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes(`/${mark}/`);
  } catch {
    return false;
  }
}

/**
 * Processes that belong to the petset whose files live under dir (a `petset up` data directory
 * or the directory it was started from), whatever their names: one whose command line names a
 * path under dir (the pause program, bwrap and its bind sources), whose working directory is
 * there (processes `up` spawned inherit its own), or whose mounts come from there (a
 * container's processes see the pod's files bound in from the node's sandbox directory).
 * Zombies are not counted. Answers "pid: command line" for each.
 */
export function processesUnder(dir: string): string[] {
  const real = fs.realpathSync(dir);
  const roots = [...new Set([dir, real])];
  const mark = path.basename(real);
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x) && Number(x) !== process.pid)) {
    try {
      if (!alive(Number(pid))) continue;
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // a process of another user's namespace, or gone
      }
      const under = (p: string) => roots.some((r) => p === r || p.startsWith(r + '/'));
      const mine = cmd.some((a) => roots.some((r) => a.includes(r + '/'))) || under(cwd) || mountsFrom(Number(pid), mark);
      if (mine) out.push(`${pid}: ${cmd.join(' ').slice(0, 200)}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Whether a host process runs (not a zombie). */
export const alive = processAlive;

/** Resident memory of these processes together, in MiB (the bench figures the tests print). */
export function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return Math.round(kb / 1024);
}

export interface Session {
  /** the running `petset up` (a new one after restart) */
  c: Cluster;
  /** servers to wait for after Ctrl-C */
  watch(pids: number[]): void;
  /** Ctrl-C on `petset up`, waits for the watched servers to stop, starts it again on the same data directory */
  restart(): Promise<Cluster>;
}

/**
 * Starts `petset up` on real pods, runs the body, then stops `up` with Ctrl-C and waits until
 * the server processes the body reported are gone.
 */
export async function withCluster(prefix: string, extraArgs: string[], body: (s: Session) => Promise<void>): Promise<void> {
  const dataDir = tempDir(prefix);
  // one service range for both runs of `up`: the pods' resolv.conf names its cluster DNS address
  // (PETSET_E2E_POD_NETWORK=root: the examples on the root pod network, a namespace per pod, which needs non-loopback ranges)
  const root = process.env.PETSET_E2E_POD_NETWORK === 'root';
  const rootRanges = root ? randomRootRanges() : undefined;
  const range = rootRanges?.serviceCidr ?? randomLoopbackServiceRange();
  const net = rootRanges ? ['--pod-network', 'root', '--pod-cidr', rootRanges.podCidr] : [];
  const args = ['--runtime', 'process', '--service-cluster-ip-range', range, ...net, ...extraArgs];
  const seen = new Set<number>();
  const stopped = async (c: Cluster) => {
    await c.stop('SIGINT');
    await eventually(() => [...seen].every((pid) => !alive(pid)), 30_000, 'the servers to stop');
  };
  const s: Session = {
    c: await startCluster({ dataDir, extraArgs: args }),
    watch: (pids) => pids.forEach((p) => seen.add(p)),
    restart: async () => {
      await stopped(s.c);
      s.c = await startCluster({ dataDir, extraArgs: args });
      return s.c;
    },
  };
  try {
    await body(s);
  } catch (err) {
    // what a user would look at: the pods and their containers' last log lines
    const c = s.c;
    const state = await c.kubectl(['get', 'pods', '-o', 'wide'], { allowFail: true });
    console.log(`# pods:\n${state.stdout}`);
    for (const p of await pods(c).catch(() => [] as Obj[])) {
      const logs = await c.kubectl(['logs', p.metadata.name, '--all-containers', '--prefix', '--tail=25'], { allowFail: true });
      console.log(`# logs of ${p.metadata.name}:\n${logs.stdout}${logs.stderr}`);
    }
    console.log(`# petset up output:\n${c.output().slice(-3000)}`);
    throw err;
  } finally {
    await stopped(s.c);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
