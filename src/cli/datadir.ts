// The data directory: state, credentials and the lock that keeps two control planes off it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createCA, createServingCert, type CertKeyPair } from './pki.js';

export function defaultDataDir(): string {
  return process.env.PETSET_DATA_DIR || path.join(os.homedir(), '.petset');
}

export interface DataDirLock {
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory for this process, or explains who has it. */
export function lockDataDir(dir: string): DataDirLock {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'petset.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
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
      if (pid && pid !== process.pid && pidAlive(pid)) {
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
  /** what the API server presents to node agents' servers (logs, exec, port-forward) */
  nodeConnectionToken: string;
}

function readOr(file: string, make: () => string, mode = 0o600): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    const v = make();
    fs.writeFileSync(file, v, { mode });
    return v;
  }
}

/** The CA, serving certificate and admin token, made on first start and reused after. */
export function ensureCredentials(dir: string, extraHosts: string[] = []): Credentials {
  const pki = path.join(dir, 'pki');
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  let ca: CertKeyPair;
  if (fs.existsSync(path.join(pki, 'ca.crt')) && fs.existsSync(path.join(pki, 'ca.key'))) {
    ca = { certPem: fs.readFileSync(path.join(pki, 'ca.crt'), 'utf8'), keyPem: fs.readFileSync(path.join(pki, 'ca.key'), 'utf8') };
  } else {
    ca = createCA('petset-ca');
    fs.writeFileSync(path.join(pki, 'ca.key'), ca.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(pki, 'ca.crt'), ca.certPem, { mode: 0o644 });
  }
  const hosts = ['localhost', '127.0.0.1', '::1', ...extraHosts];
  const hostsFile = path.join(pki, 'apiserver.hosts');
  let serving: CertKeyPair;
  const sameHosts = fs.existsSync(hostsFile) && fs.readFileSync(hostsFile, 'utf8') === hosts.join(',');
  if (sameHosts && fs.existsSync(path.join(pki, 'apiserver.crt'))) {
    serving = { certPem: fs.readFileSync(path.join(pki, 'apiserver.crt'), 'utf8'), keyPem: fs.readFileSync(path.join(pki, 'apiserver.key'), 'utf8') };
  } else {
    serving = createServingCert(ca, {
      commonName: 'petset-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', ...hosts.filter((h) => !/^[\d.:]+$/.test(h))],
      ipAddresses: hosts.filter((h) => /^[\d.:]+$/.test(h)),
    });
    fs.writeFileSync(path.join(pki, 'apiserver.key'), serving.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(pki, 'apiserver.crt'), serving.certPem, { mode: 0o644 });
    fs.writeFileSync(hostsFile, hosts.join(','));
  }
  const adminToken = readOr(path.join(pki, 'admin.token'), () => randomBytes(32).toString('hex')).trim();
  const nodeConnectionToken = readOr(path.join(pki, 'node-connection.token'), () => randomBytes(32).toString('hex')).trim();
  return { ca, serving, adminToken, nodeConnectionToken };
}
