// Machine-wide locks on ReadWriteOnce volume directories. Every node of `petset up` runs on
// this one machine, so petset can promise more than an API can: a sandbox never starts on a
// volume that a live sandbox of another node still uses, whatever the API says (a partitioned
// node's pod keeps running, and its lock, until it really stops). Pods of one node may share
// a ReadWriteOnce volume, as Kubernetes allows, so a lock belongs to a node and counts its
// sandboxes.
//
// A lock is a file under /run/petset/volume-locks (see lockRoot) naming its holders by process id and start
// time: a holder whose process is gone (a crashed node, a killed petset) holds nothing. Holders
// inside this process are also kept in memory, so a simulated sandbox (which has no process of
// its own) holds its lock exactly as long as it exists.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LockHolder {
  node: string;
  sandboxId: string;
  /** e.g. default/web-1 */
  pod: string;
  /** the process whose life the lock follows (a sandbox's init, or this process) */
  pid: number;
  /** /proc/<pid>/stat start time, so a reused pid is not taken for the holder */
  startTime?: string;
}

interface LockFile {
  dir: string;
  node: string;
  holders: LockHolder[];
}

export class VolumeLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holders: LockHolder[],
  ) {
    super(
      `volume directory ${dir} is in use by ${holders.map((h) => `pod ${h.pod} on node ${h.node}`).join(', ')}; ` +
        'petset will not start a second sandbox on it until that one has really stopped',
    );
  }
}

const TMPFS_MAGIC = 0x01021994;

function onTmpfs(dir: string): boolean {
  try {
    return fs.statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Where every petset process of this machine keeps its locks: /run/petset, a tmpfs on most
 * systems; /dev/shm instead when /run lies on a disk and /dev/shm does not (a container's /run
 * often does: a lock write and rename measured ~0.9 ms there against ~15 µs on tmpfs, on the
 * main thread of every sandbox start and stop); the temp directory when neither is writable.
 * The choice depends only on the machine's mounts, so all petsets on it agree. A directory
 * someone else owns is passed over: /dev/shm and /tmp are open to every user.
 */
function lockRoot(): string {
  const run = '/run/petset/volume-locks';
  const shm = '/dev/shm/petset-volume-locks';
  const order = !onTmpfs('/run') && onTmpfs('/dev/shm') ? [shm, run] : [run, shm];
  for (const dir of [...order, path.join(os.tmpdir(), 'petset-volume-locks')]) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid())) continue;
      fs.accessSync(dir, fs.constants.W_OK);
      return dir;
    } catch {
      // try the next place
    }
  }
  throw new Error('no writable place for volume locks (/run/petset, /dev/shm or the temp directory)');
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command may hold spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // a zombie holds nothing
    return fields[19];
  } catch {
    return undefined;
  }
}

/** How sandboxes of a node in this process are stopped from outside (see fenceVolume). */
type Fencer = (sandboxId: string) => Promise<void>;
const fencers = new Map<string, Fencer>();

/** The node's runtime, in this process, stops one of its sandboxes when petset must fence it. */
export function registerFencer(node: string, fencer: Fencer): () => void {
  fencers.set(node, fencer);
  return () => {
    if (fencers.get(node) === fencer) fencers.delete(node);
  };
}

/**
 * Makes sure no sandbox of `node` uses the directory any more, by stopping the ones that
 * do: what an administrator asserts with the node.kubernetes.io/out-of-service taint ("this
 * node is off"), petset, owning every node of this machine, makes true before the volume
 * moves. Answers whether the directory is free of that node's holders afterwards.
 */
export async function fenceVolume(dir: string, node: string): Promise<boolean> {
  const d = canonical(dir);
  for (const h of lockHolders(d).filter((x) => x.node === node)) {
    if (h.pid === process.pid) {
      const fence = fencers.get(h.node);
      if (fence) await fence(h.sandboxId).catch(() => {});
    } else {
      try {
        // the sandbox's init: killing it ends the whole pid namespace
        process.kill(h.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (let i = 0; i < 50 && lockHolders(d).some((x) => x.node === node); i++) await new Promise((r) => setTimeout(r, 20));
  return !lockHolders(d).some((x) => x.node === node);
}

/** In-process holders by sandbox id (simulated sandboxes, and holders not yet handed to a process). */
const local = new Map<string, LockHolder>();
let root: string | undefined;

function canonical(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

function fileFor(dir: string): string {
  root ??= lockRoot();
  return path.join(root, `${createHash('sha256').update(dir).digest('hex').slice(0, 32)}.json`);
}

function alive(h: LockHolder): boolean {
  if (h.pid === process.pid) return local.has(h.sandboxId);
  const start = processStartTime(h.pid);
  return start !== undefined && (h.startTime === undefined || h.startTime === start);
}

function read(file: string): LockFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockFile;
  } catch {
    return undefined;
  }
}

function write(file: string, content: LockFile): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(content), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

let pruned = false;

/**
 * Removes lock files whose holders are all gone (a petset killed with -9, a crashed node's
 * process), once per process. A file written in the last minute is left alone, so a lock
 * another petset is taking right now is never removed from under it.
 */
export function pruneStaleVolumeLocks(now = Date.now()): number {
  if (pruned) return 0;
  pruned = true;
  root ??= lockRoot();
  let removed = 0;
  for (const name of fs.readdirSync(root)) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(root, name);
    try {
      if (now - fs.statSync(file).mtimeMs < 60_000) continue;
      const content = read(file);
      if (content && content.holders.some(alive)) continue;
      fs.rmSync(file, { force: true });
      removed++;
    } catch {
      // taken or removed meanwhile
    }
  }
  return removed;
}

/** The live holders of a directory's lock. */
export function lockHolders(dir: string): LockHolder[] {
  const d = canonical(dir);
  return (read(fileFor(d))?.holders ?? []).filter(alive);
}

/** Whether no live sandbox holds the directory. */
export function isVolumeFree(dir: string): boolean {
  return lockHolders(dir).length === 0;
}

/**
 * Takes the locks of every directory for a sandbox of `holder.node`, all or none. Throws
 * VolumeLockedError when a live sandbox of another node holds one of them. Synchronous, so
 * two sandboxes of this process starting together cannot both pass.
 */
export function acquireVolumeLocks(dirs: string[], holder: LockHolder): void {
  const taken: string[] = [];
  try {
    for (const raw of [...new Set(dirs.map(canonical))]) {
      const file = fileFor(raw);
      const live = (read(file)?.holders ?? []).filter(alive);
      const others = live.filter((h) => h.node !== holder.node);
      if (others.length) throw new VolumeLockedError(raw, others);
      write(file, { dir: raw, node: holder.node, holders: [...live.filter((h) => h.sandboxId !== holder.sandboxId), holder] });
      taken.push(raw);
    }
    if (holder.pid === process.pid) local.set(holder.sandboxId, holder);
  } catch (e) {
    for (const d of taken) dropHolder(d, holder.sandboxId);
    throw e;
  }
}

/** Hands a sandbox's locks to the process whose life they follow from now on (its init). */
export function rebindVolumeLocks(dirs: string[], sandboxId: string, pid: number): void {
  const startTime = processStartTime(pid);
  for (const raw of [...new Set(dirs.map(canonical))]) {
    const file = fileFor(raw);
    const content = read(file);
    if (!content) continue;
    content.holders = content.holders.map((h) => (h.sandboxId === sandboxId ? { ...h, pid, startTime } : h));
    write(file, content);
  }
  local.delete(sandboxId);
}

/** The sandbox is gone: its locks go with it. */
export function releaseVolumeLocks(dirs: string[], sandboxId: string): void {
  for (const raw of [...new Set(dirs.map(canonical))]) dropHolder(raw, sandboxId);
  local.delete(sandboxId);
}

function dropHolder(dir: string, sandboxId: string): void {
  const file = fileFor(dir);
  const content = read(file);
  if (!content) return;
  const rest = content.holders.filter((h) => h.sandboxId !== sandboxId && alive(h));
  if (rest.length) write(file, { ...content, holders: rest });
  else fs.rmSync(file, { force: true });
}
