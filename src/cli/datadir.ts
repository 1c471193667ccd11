// The data directory: state, credentials and the lock that keeps two control planes off it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createCA, createClientCert, createServingCert, type CertKeyPair } from './pki.js';

export function defaultDataDir(): string {
  return process.env.PETSET_DATA_DIR || path.join(os.homedir(), '.petset');
}

export interface DataDirLock {
  release(): void;
}

/**
 * Whether the petset that wrote a pid file still runs. A process killed with -9 stays a
 * zombie until its parent reaps it, and answers kill(pid, 0) meanwhile: a restart right
 * after a kill must not take it for a live petset. Nor is a pid reused by some other program.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true; // no /proc to ask: assume the worst
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last ')'
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline === '' || /petset|node/.test(cmdline);
  } catch {
    return true;
  }
}

/**
 * Makes the data directory and everything petset keeps in it private to the user running
 * petset (0700 directories, 0600 files), whatever modes they had: the SQLite file holds every
 * Secret, and pki/ the CA key. Returns warning lines for the caller to print, one when others
 * could read the directory before. Pods' own files (volumes, nodes/) are not walked: the
 * private directory above them already keeps other users out.
 */
export function secureDataDir(dir: string): string[] {
  const warnings: string[] = [];
  let before: fs.Stats | undefined;
  try {
    before = fs.statSync(dir);
  } catch {
    /* made below */
  }
  if (before && !before.isDirectory()) throw new Error(`the data directory ${dir} is not a directory`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (before && (before.mode & 0o077) !== 0) {
    warnings.push(
      `warning: the data directory ${dir} was accessible to other users (mode ${(before.mode & 0o777).toString(8).padStart(4, '0')}); it holds Secrets and keys, so petset made it private (0700)`,
    );
  }
  if (before && typeof process.getuid === 'function' && before.uid !== process.getuid()) {
    warnings.push(`warning: the data directory ${dir} belongs to uid ${before.uid}, not to the user running petset (uid ${process.getuid()})`);
  }
  makePrivate(dir, 0o700);
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    if (name === 'pki') {
      makePrivate(file, 0o700);
      for (const f of fs.readdirSync(file)) makePrivate(path.join(file, f), 0o600);
    } else {
      makePrivate(file);
    }
  }
  return warnings;
}

/** chmod to 0700 (directories) / 0600 (files) unless already that private; symlinks are left alone. */
export function makePrivate(file: string, mode?: number): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) return;
  const want = mode ?? (st.isDirectory() ? 0o700 : 0o600);
  if ((st.mode & 0o077) !== 0 || (st.mode & 0o700) !== (want & 0o700)) fs.chmodSync(file, want);
}

/** How long a start waits for a petset that is still exiting (killed a moment ago) to be gone. */
const TAKEOVER_WAIT_MS = 3000;

function diesWithin(pid: number, ms: number): boolean {
  const deadline = Date.now() + ms;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) {
    Atomics.wait(nap, 0, 0, 50);
    if (!pidAlive(pid)) return true;
  }
  return false;
}

/** Takes the directory for this process, or explains who has it. */
export function lockDataDir(dir: string): DataDirLock {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'petset.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      try {
        fs.writeSync(fd, String(process.pid));
      } catch (e) {
        // A full disk must not keep petset from starting (it is how space gets freed): the
        // empty file still marks the directory taken, and the store's exclusive lock is what
        // really keeps a second petset off it.
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC' && (e as NodeJS.ErrnoException).code !== 'EDQUOT') throw e;
      } finally {
        fs.closeSync(fd);
      }
      return {
        release() {
          try {
            if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && pidAlive(pid) && !diesWithin(pid, TAKEOVER_WAIT_MS)) {
        throw new Error(
          `the data directory ${dir} is in use by another petset (pid ${pid}). Stop that one first (kill ${pid}), or start this one with --data-dir pointing elsewhere.`,
        );
      }
      fs.rmSync(file, { force: true }); // left behind by a process that died
    }
  }
  throw new Error(`could not lock the data directory ${dir}`);
}

export interface Credentials {
  ca: CertKeyPair;
  serving: CertKeyPair;
  adminToken: string;
  /** the admin's client certificate (CN petset-admin, O system:masters), beside the token in the kubeconfig */
  adminCert: CertKeyPair;
  /** what the API server presents to node agents' servers (logs, exec, port-forward) */
  nodeConnectionToken: string;
  /** the ES256 key that signs ServiceAccount tokens (kube-apiserver's --service-account-signing-key-file) */
  serviceAccountKeyPem: string;
}

/**
 * What ensureCredentials changes on disk, in order: a removal, or a file that takes its name
 * from `${file}.tmp` once every new file's content is on disk.
 */
type CredentialStep = { remove: string } | { file: string; data: string };

/**
 * Applies the steps so that a kill -9 at any moment leaves each file whole or absent and
 * the names in the steps' order: every new file is first written beside its name and fsync'd
 * (all at once, in the thread pool: one fsync after another held up every start by up to
 * ~30 ms), then the removals and renames happen one by one in the order given.
 */
async function applyInOrder(steps: CredentialStep[]): Promise<void> {
  const writes = steps.filter((s): s is { file: string; data: string } => 'file' in s);
  await Promise.all(
    writes.map(async ({ file, data }) => {
      const fh = await fs.promises.open(`${file}.tmp`, 'w', 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }),
  );
  for (const s of steps) {
    if ('remove' in s) fs.rmSync(s.remove, { force: true });
    else fs.renameSync(`${s.file}.tmp`, s.file);
  }
}

/**
 * The CA, serving certificate and admin token, made on first start and reused after.
 *
 * Every certificate on disk is paired with its key and signed by the CA beside it, whenever a
 * kill -9 stops this: a certificate's file (for the serving one, the hosts file) is removed
 * before any of its material is replaced, and comes back only after its key and its CA.
 */
export async function ensureCredentials(dir: string, extraHosts: string[] = []): Promise<Credentials> {
  const pki = path.join(dir, 'pki');
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  const at = (name: string) => path.join(pki, name);
  const has = (name: string) => fs.existsSync(at(name));
  const read = (name: string) => fs.readFileSync(at(name), 'utf8');
  // removals first, then the new files in this order (see applyInOrder)
  const removals: CredentialStep[] = [];
  const writes: CredentialStep[] = [];
  let ca: CertKeyPair;
  let newCA = false;
  if (has('ca.crt') && has('ca.key')) {
    ca = { certPem: read('ca.crt'), keyPem: read('ca.key') };
  } else {
    ca = createCA('petset-ca');
    newCA = true;
    // a certificate left from before must not meet the new key
    removals.push({ remove: at('ca.crt') });
    writes.push({ file: at('ca.key'), data: ca.keyPem }, { file: at('ca.crt'), data: ca.certPem });
  }
  const hosts = ['localhost', '127.0.0.1', '::1', ...extraHosts];
  const hostsFile = at('apiserver.hosts');
  let serving: CertKeyPair;
  const sameHosts = fs.existsSync(hostsFile) && fs.readFileSync(hostsFile, 'utf8') === hosts.join(',');
  if (!newCA && sameHosts && has('apiserver.crt') && has('apiserver.key')) {
    serving = { certPem: read('apiserver.crt'), keyPem: read('apiserver.key') };
  } else {
    serving = createServingCert(ca, {
      commonName: 'petset-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', ...hosts.filter((h) => !/^[\d.:]+$/.test(h))],
      ipAddresses: hosts.filter((h) => /^[\d.:]+$/.test(h)),
    });
    // the hosts file goes first and comes back last: a kill in between means "make it again",
    // never a key paired with another certificate (or a certificate of another CA)
    removals.push({ remove: hostsFile });
    writes.push({ file: at('apiserver.key'), data: serving.keyPem }, { file: at('apiserver.crt'), data: serving.certPem }, { file: hostsFile, data: hosts.join(',') });
  }
  const readOr = (name: string, make: () => string): string => {
    try {
      return read(name);
    } catch {
      const v = make();
      writes.push({ file: at(name), data: v });
      return v;
    }
  };
  const adminToken = readOr('admin.token', () => randomBytes(32).toString('hex')).trim();
  // made again with a new CA, as the serving certificate is; the key goes first and the
  // certificate last, so a certificate on disk always has its key beside it
  let adminCert: CertKeyPair;
  if (!newCA && has('admin.crt') && has('admin.key')) {
    adminCert = { certPem: read('admin.crt'), keyPem: read('admin.key') };
  } else {
    adminCert = createClientCert(ca, { commonName: 'petset-admin', organizations: ['system:masters'] });
    removals.push({ remove: at('admin.crt') });
    writes.push({ file: at('admin.key'), data: adminCert.keyPem }, { file: at('admin.crt'), data: adminCert.certPem });
  }
  const nodeConnectionToken = readOr('node-connection.token', () => randomBytes(32).toString('hex')).trim();
  const serviceAccountKeyPem = readOr('sa.key', () =>
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  if (writes.length) await applyInOrder([...removals, ...writes]);
  return { ca, serving, adminToken, adminCert, nodeConnectionToken, serviceAccountKeyPem };
}
