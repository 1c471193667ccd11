// Starts `petset up` the way a user does (the real bin, a fresh data directory, port 0)
// and runs the real kubectl against it with the kubeconfig `up` wrote.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/server.js';

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

export function tempDir(prefix = 'petset-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Starts petset up; resolves once it printed its address and /readyz answers. */
export async function startCluster(opts: { dataDir?: string; extraArgs?: string[] } = {}): Promise<Cluster> {
  const dataDir = opts.dataDir ?? tempDir();
  const cacheDir = tempDir('kubectl-cache-');
  // a service range of its own, so clusters of parallel tests never share a cluster IP
  const extra = opts.extraArgs ?? [];
  const range = extra.includes('--service-cluster-ip-range') ? [] : ['--service-cluster-ip-range', `127.${97 + Math.floor(Math.random() * 15)}.${Math.floor(Math.random() * 256)}.0/24`];
  // the simulated runtime unless a test asks for another (petset up defaults to real processes where it can)
  const runtimeArgs = extra.some((a) => a.startsWith('--runtime')) ? [] : ['--runtime', 'sim'];
  const proc = spawn(process.execPath, [petsetBin, 'up', '--data-dir', dataDir, '--port', '0', ...runtimeArgs, ...range, ...extra], {
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
