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

/** Writes a whole file or nothing: a kill -9 mid-write must not leave a truncated key behind. */
function writeAtomic(file: string, data: string, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function readOr(file: string, make: () => string, mode = 0o600): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    const v = make();
    writeAtomic(file, v, mode);
    return v;
  }
}

/** The CA, serving certificate and admin token, made on first start and reused after. */
export function ensureCredentials(dir: string, extraHosts: string[] = []): Credentials {
  const pki = path.join(dir, 'pki');
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  let ca: CertKeyPair;
  let newCA = false;
  if (fs.existsSync(path.join(pki, 'ca.crt')) && fs.existsSync(path.join(pki, 'ca.key'))) {
    ca = { certPem: fs.readFileSync(path.join(pki, 'ca.crt'), 'utf8'), keyPem: fs.readFileSync(path.join(pki, 'ca.key'), 'utf8') };
  } else {
    ca = createCA('petset-ca');
    newCA = true;
    writeAtomic(path.join(pki, 'ca.key'), ca.keyPem);
    writeAtomic(path.join(pki, 'ca.crt'), ca.certPem);
  }
  const hosts = ['localhost', '127.0.0.1', '::1', ...extraHosts];
  const hostsFile = path.join(pki, 'apiserver.hosts');
  let serving: CertKeyPair;
  const sameHosts = fs.existsSync(hostsFile) && fs.readFileSync(hostsFile, 'utf8') === hosts.join(',');
  if (!newCA && sameHosts && fs.existsSync(path.join(pki, 'apiserver.crt')) && fs.existsSync(path.join(pki, 'apiserver.key'))) {
    serving = { certPem: fs.readFileSync(path.join(pki, 'apiserver.crt'), 'utf8'), keyPem: fs.readFileSync(path.join(pki, 'apiserver.key'), 'utf8') };
  } else {
    serving = createServingCert(ca, {
      commonName: 'petset-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', ...hosts.filter((h) => !/^[\d.:]+$/.test(h))],
      ipAddresses: hosts.filter((h) => /^[\d.:]+$/.test(h)),
    });
    // the hosts file goes first and comes back last: a kill in between means "make it again",
    // never a key paired with another certificate
    fs.rmSync(hostsFile, { force: true });
    writeAtomic(path.join(pki, 'apiserver.key'), serving.keyPem);
    writeAtomic(path.join(pki, 'apiserver.crt'), serving.certPem);
    writeAtomic(hostsFile, hosts.join(','));
  }
  const adminToken = readOr(path.join(pki, 'admin.token'), () => randomBytes(32).toString('hex')).trim();
  // made again with a new CA, as the serving certificate is; the key goes first and the
  // certificate last, so a certificate on disk always has its key beside it
  let adminCert: CertKeyPair;
  if (!newCA && fs.existsSync(path.join(pki, 'admin.crt')) && fs.existsSync(path.join(pki, 'admin.key'))) {
    adminCert = { certPem: fs.readFileSync(path.join(pki, 'admin.crt'), 'utf8'), keyPem: fs.readFileSync(path.join(pki, 'admin.key'), 'utf8') };
  } else {
    adminCert = createClientCert(ca, { commonName: 'petset-admin', organizations: ['system:masters'] });
    fs.rmSync(path.join(pki, 'admin.crt'), { force: true });
    writeAtomic(path.join(pki, 'admin.key'), adminCert.keyPem);
    writeAtomic(path.join(pki, 'admin.crt'), adminCert.certPem);
  }
  const nodeConnectionToken = readOr(path.join(pki, 'node-connection.token'), () => randomBytes(32).toString('hex')).trim();
  const serviceAccountKeyPem = readOr(path.join(pki, 'sa.key'), () =>
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  return { ca, serving, adminToken, adminCert, nodeConnectionToken, serviceAccountKeyPem };
}
