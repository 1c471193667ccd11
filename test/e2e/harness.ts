// Starts `petset up` the way a user does (the real bin, a fresh data directory, port 0)
// and runs the real kubectl against it with the kubeconfig `up` wrote.
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/server.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** the repository root, from dist/test/e2e or test/e2e */
export const repoRoot = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../../..') : path.resolve(here, '../..');
export const petsetBin = path.join(repoRoot, 'bin', 'petset.js');

export interface Cluster {
  dataDir: string;
  kubeconfig: string;
  url: string;
  proc: ChildProcess;
  output: () => string;
  kubectl(args: string[], opts?: { input?: string; env?: Record<string, string>; allowFail?: boolean; timeoutMs?: number }): Promise<KubectlResult>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** the ranges each data dir was started with, per pod network mode (keyed "DIR root?") */
const rangesOfDataDir = new Map<string, { serviceCidr: string; podCidr: string }>();

export function tempDir(prefix = 'petset-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (madeTempDirs.push(dir) === 1) process.once('exit', removeTempDirs);
  return dir;
}
const madeTempDirs: string[] = [];

/**
 * Test hygiene: the data directories, kubectl caches and manifests a test file made go when its
 * process exits (PETSET_KEEP_TEST_DIRS=1 keeps them to look at). A mount left under one (a pod's
 * tmpfs or image overlay after a killed `petset up`) is detached first, so only our files go.
 */
function removeTempDirs(): void {
  if (process.env.PETSET_KEEP_TEST_DIRS) return;
  let mountpoints: string[] = [];
  try {
    mountpoints = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
      .filter((m): m is string => !!m);
  } catch {
    // no mount table to read: nothing of ours can be mounted either
  }
  for (const dir of madeTempDirs) {
    const inside = mountpoints.filter((m) => m.startsWith(dir + '/')).sort((a, b) => b.length - a.length);
    for (const m of inside) spawnSync('umount', ['-l', m]);
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // busy or gone: leave it rather than fail the run at exit
    }
  }
}

/**
 * The harness's one switch between stores: PETSET_TEST_STORE=etcd runs every cluster over a
 * Debian etcd of its own (one per data directory, so a restarted `up` finds its objects again),
 * stopped by pid when the test process exits.
 */
export const testStore = process.env.PETSET_TEST_STORE === 'etcd' ? 'etcd' : 'sqlite';
const etcdOfDataDir = new Map<string, Promise<TestEtcd>>();

async function storeArgs(dataDir: string, extra: string[], store?: 'sqlite'): Promise<string[]> {
  if (testStore !== 'etcd' || store === 'sqlite' || extra.includes('--etcd-servers')) return [];
  let etcd = etcdOfDataDir.get(dataDir);
  if (!etcd) {
    etcd = startEtcd().then((e) => (startedEtcds.push(e), e));
    etcdOfDataDir.set(dataDir, etcd);
    if (etcdOfDataDir.size === 1) process.once('exit', stopTestEtcds);
  }
  return ['--etcd-servers', (await etcd).endpoint];
}

/** 'exit' handlers run synchronously: the etcds are ended by pid and their files removed now. */
function stopTestEtcds(): void {
  for (const e of startedEtcds) {
    try {
      process.kill(e.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    fs.rmSync(e.dir, { recursive: true, force: true });
  }
}
const startedEtcds: TestEtcd[] = [];

/** Starts petset up; resolves once it printed its address and /readyz answers. */
/**
 * `store: 'sqlite'` is for tests about the SQLite data directory itself (its file, its
 * permissions, a full disk under it): the PETSET_TEST_STORE switch does not apply to them.
 */
export async function startCluster(opts: { dataDir?: string; extraArgs?: string[]; store?: 'sqlite' } = {}): Promise<Cluster> {
  const dataDir = opts.dataDir ?? tempDir();
  const cacheDir = tempDir('kubectl-cache-');
  // a service range and a pod range of its own, so clusters of parallel tests never share a
  // cluster IP nor bind the same pod IP: on loopback (apart from 127.64-127.66 that other tests
  // bind themselves), or, with the root pod network, in 10/8
  const extra = [...(opts.extraArgs ?? []), ...(await storeArgs(dataDir, opts.extraArgs ?? [], opts.store))];
  const root = extra.join(' ').includes('--pod-network root');
  // a data dir started again keeps its ranges, as a user's does (a new range would move its services)
  const earlier = rangesOfDataDir.get(`${dataDir} ${root}`);
  const rootRanges = root && !earlier ? randomRootRanges() : undefined;
  const serviceCidr = earlier?.serviceCidr ?? rootRanges?.serviceCidr ?? randomLoopbackServiceRange();
  const range = extra.includes('--service-cluster-ip-range') ? [] : ['--service-cluster-ip-range', serviceCidr];
  const nodes = Number(extra[extra.indexOf('--nodes') + 1]) || 1;
  const podCidr = earlier?.podCidr ?? rootRanges?.podCidr ?? randomLoopbackPodRange(nodes);
  const podRange = extra.includes('--pod-cidr') ? [] : ['--pod-cidr', podCidr];
  rangesOfDataDir.set(`${dataDir} ${root}`, { serviceCidr, podCidr });
  // the simulated runtime unless a test asks for another (petset up defaults to real processes where it can)
  const runtimeArgs = extra.some((a) => a.startsWith('--runtime')) ? [] : ['--runtime', 'sim'];
  const proc = spawn(process.execPath, [petsetBin, 'up', '--data-dir', dataDir, '--port', '0', ...runtimeArgs, ...range, ...podRange, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`petset up did not start in time:\n${out}`)), 20_000);
    const check = () => {
      const m = /export KUBECONFIG=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`petset up exited with ${code}:\n${out}`));
    });
  });
  const url = /petset is up at (\S+)/.exec(out)![1];
  const cluster: Cluster = {
    dataDir,
    kubeconfig,
    url,
    proc,
    output: () => out,
    kubectl: (args, o = {}) => runKubectl(['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], o),
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      }),
  };
  return cluster;
}

/**
 * Ranges for a cluster with the root pod network: a /20 of 10.192.0.0/11 for pods (16 nodes),
 * a /24 of 10.96.0.0/12 for services; each data dir also gets its own bridge and namespace names.
 */
export function randomRootRanges(): { podCidr: string; serviceCidr: string } {
  const r = (n: number) => Math.floor(Math.random() * n);
  return { podCidr: reserveRange(() => `10.${192 + r(48)}.${r(16) * 16}.0/20`), serviceCidr: reserveRange(() => `10.${96 + r(16)}.${r(256)}.0/24`) };
}

/** A random /24 service range on loopback (127.97-111.x), reserved as reserveRange does. */
export function randomLoopbackServiceRange(): string {
  return reserveRange(() => `127.${97 + Math.floor(Math.random() * 15)}.${Math.floor(Math.random() * 256)}.0/24`);
}

// Ranges are random so that test files running side by side get their own; a reservation file
// per /24 (holding the test process's pid) makes two running files never draw the same one.
// Files of a process that is gone (a file killed at its timeout) are taken over.
const reservationDir = path.join(os.tmpdir(), 'petset-test-ranges');
const reserved: string[] = [];

function slash24s(cidr: string): string[] {
  const [addr, bits] = cidr.split('/');
  const base = addr.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const count = 2 ** Math.max(0, 24 - Number(bits));
  return Array.from({ length: count }, (_, i) => {
    const n = base + i * 256;
    return `${Math.floor(n / 2 ** 24)}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.0`;
  });
}

function claimFile(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      const holder = Number(fs.readFileSync(file, { encoding: 'utf8', flag: 'a+' }) || 0);
      if (holder && processAlive(holder)) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

function releaseRanges(): void {
  for (const f of reserved.splice(0)) fs.rmSync(f, { force: true });
}

/** Draws from `draw` until every /24 of the range is free, and holds them until this process exits. */
export function reserveRange(draw: () => string): string {
  fs.mkdirSync(reservationDir, { recursive: true });
  for (let tries = 0; tries < 200; tries++) {
    const cidr = draw();
    const got: string[] = [];
    for (const net of slash24s(cidr)) {
      const file = path.join(reservationDir, net);
      if (!claimFile(file)) break;
      got.push(file);
    }
    if (got.length === slash24s(cidr).length) {
      if (!reserved.length) process.once('exit', releaseRanges);
      reserved.push(...got);
      return cidr;
    }
    for (const f of got) fs.rmSync(f, { force: true });
  }
  throw new Error(`no free test range after 200 draws (see ${reservationDir})`);
}

/**
 * A random aligned block of 127.67.0.0-127.79.255.255 with a /24 for each of `nodes` nodes (at
 * least 8); 127.64-127.66 stay for tests that bind fixed loopback addresses of their own.
 */
export function randomLoopbackPodRange(nodes: number): string {
  const bits = Math.max(3, Math.ceil(Math.log2(Math.max(1, nodes))));
  const blocks = (13 * 65536) >> (8 + bits);
  return reserveRange(() => {
    const base = ((127 << 24) | (67 << 16)) + Math.floor(Math.random() * blocks) * (256 << bits);
    return `${[base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.')}/${24 - bits}`;
  });
}

export function runKubectl(
  args: string[],
  opts: { input?: string; env?: Record<string, string>; allowFail?: boolean; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kubectl',
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        const r = { code, stdout: String(stdout), stderr: String(stderr) };
        if (code !== 0 && !opts.allowFail) reject(new Error(`kubectl ${args.join(' ')} failed (${code}):\n${r.stderr}\n${r.stdout}`));
        else resolve(r);
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin?.end();
  });
}

/**
 * Host pids of a pod's `sh -c` program whose argv carries `marker` (bwrap's own argv starts with
 * bwrap). The shell's own children are not counted (busybox runs `sleep` in a fork that keeps
 * the shell's argv): only a marked process whose parent is not marked.
 */
export function shellPids(marker: string): number[] {
  const marked: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.startsWith('sh\0-c\0') && cmd.includes(marker) && processAlive(Number(pid))) marked.push(Number(pid));
    } catch {
      // gone
    }
  }
  const parentOf = (pid: number) => {
    try {
      return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
    } catch {
      return 0;
    }
  };
  return marked.filter((pid) => !marked.includes(parentOf(pid)));
}

/** Whether a host process runs (a zombie does not: PID 1 here reaps orphans lazily). */
export function processAlive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls until fn returns a truthy value (kubectl calls take a while, so poll gently). */
export function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  return waitFor(fn, timeoutMs, what, 100);
}

export const DB_MANIFEST = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: google-storage
provisioner: kubernetes.io/gce-pd
parameters:
  type: pd-ssd
  replication-type: none
reclaimPolicy: Retain
allowVolumeExpansion: true
volumeBindingMode: Immediate
---
apiVersion: v1
kind: Service
metadata:
  name: mysql
  labels:
    app: mysql
spec:
  ports:
  - port: 3306
    name: db
  clusterIP: None
  selector:
    app: mysql
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: "mysql"
  replicas: 3
  selector:
    matchLabels:
      app: mysql
  template:
    metadata:
      labels:
        app: mysql
    spec:
      containers:
      - name: mysql
        image: mysql
        ports:
        - containerPort: 3306
          name: db
        volumeMounts:
        - name: data
          mountPath: /var/data/mysql
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes:
        - ReadWriteOnce
      storageClassName: google-storage
      resources:
        requests:
          storage: 1Gi
`;
