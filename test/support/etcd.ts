// A real etcd (Debian's etcd-server) for tests: one member on loopback, ports chosen by the OS,
// data in a temp dir; stopped by pid and its directory removed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.PETSET_ETCD_BIN ?? '/usr/bin/etcd';

export interface EtcdTlsFiles {
  certPem: string;
  keyPem: string;
  /** the CA whose client certificates etcd requires (omit for server TLS only) */
  clientCaPem?: string;
}

export interface TestEtcd {
  /** the client URL, e.g. http://127.0.0.1:41234 */
  endpoint: string;
  dataDir: string;
  /** the temp dir holding its files (removed by stop) */
  dir: string;
  pid: number;
  /** everything etcd logged so far */
  log(): string;
  stop(): Promise<void>;
}

export async function startEtcd(opts: { tls?: EtcdTlsFiles; dataDir?: string; clientPort?: number } = {}): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'petset-etcd-'));
  // a data dir given by the caller outlives this etcd (a restart on it keeps the data)
  const dataDir = opts.dataDir ?? join(dir, 'data');
  const scheme = opts.tls ? 'https' : 'http';
  const args = [
    '--name', 'default',
    '--data-dir', dataDir,
    // port 0: the OS picks; etcd logs the address it got (a restart asks for the port it had)
    '--listen-client-urls', `${scheme}://127.0.0.1:${opts.clientPort ?? 0}`,
    '--advertise-client-urls', `${scheme}://127.0.0.1:${opts.clientPort ?? 0}`,
    '--listen-peer-urls', 'http://127.0.0.1:0',
    '--initial-advertise-peer-urls', 'http://127.0.0.1:0',
    '--initial-cluster', 'default=http://127.0.0.1:0',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
  ];
  if (opts.tls) {
    writeFileSync(join(dir, 'server.crt'), opts.tls.certPem);
    writeFileSync(join(dir, 'server.key'), opts.tls.keyPem, { mode: 0o600 });
    args.push('--cert-file', join(dir, 'server.crt'), '--key-file', join(dir, 'server.key'));
    if (opts.tls.clientCaPem) {
      writeFileSync(join(dir, 'client-ca.crt'), opts.tls.clientCaPem);
      args.push('--client-cert-auth', '--trusted-ca-file', join(dir, 'client-ca.crt'));
    }
  }
  const child: ChildProcess = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        output += chunk;
        const m = /"msg":"serving client traffic[^"]*","address":"([^"]+)"/.exec(output);
        if (m) resolve(`${scheme}://${m[1]}`);
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`etcd exited (${code}) before serving:\n${output.slice(-2000)}`)));
    });
    return { endpoint, dataDir, dir, pid: child.pid!, log: () => output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface TestEtcdCluster {
  /** every member's client URL */
  endpoints: string[];
  members: { name: string; endpoint: string; pid: number }[];
  /** ends one member by pid (SIGKILL), as a crash */
  kill(name: string): Promise<void>;
  /** the member that leads now, as the members report it (etcdctl endpoint status) */
  leader(): string;
  stop(): Promise<void>;
}

/**
 * A cluster of `size` members on this machine. Peers must know each other's addresses before
 * they start, so instead of OS-chosen ports each member gets a loopback address of its own
 * (127.A.B.i, A and B random per cluster, so parallel tests do not meet) on etcd's usual ports.
 * With `netns`, the members run inside that network namespace (on its own loopback).
 */
export async function startEtcdCluster(size = 3, opts: { netns?: string } = {}): Promise<TestEtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'petset-etcd-cluster-'));
  const net = `127.${2 + Math.floor(Math.random() * 60)}.${Math.floor(Math.random() * 256)}`;
  const names = Array.from({ length: size }, (_, i) => `etcd-${i}`);
  const ip = (i: number) => `${net}.${i + 1}`;
  const initialCluster = names.map((n, i) => `${n}=http://${ip(i)}:2380`).join(',');
  const token = `petset-test-${Math.random().toString(36).slice(2)}`;
  const children = new Map<string, ChildProcess>();
  const stopOne = async (name: string, signal: NodeJS.Signals) => {
    const child = children.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  const stop = async () => {
    await Promise.all(names.map((n) => stopOne(n, 'SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ready = names.map((name, i) => {
      const child = spawn(
        opts.netns ? 'nsenter' : ETCD_BIN,
        [
          // nsenter execs etcd in the namespace: the child's pid is etcd's
          ...(opts.netns ? [`--net=/run/netns/${opts.netns}`, ETCD_BIN] : []),
          '--name', name,
          '--data-dir', join(dir, name),
          '--listen-client-urls', `http://${ip(i)}:2379`,
          '--advertise-client-urls', `http://${ip(i)}:2379`,
          '--listen-peer-urls', `http://${ip(i)}:2380`,
          '--initial-advertise-peer-urls', `http://${ip(i)}:2380`,
          '--initial-cluster', initialCluster,
          '--initial-cluster-token', token,
          '--initial-cluster-state', 'new',
          '--logger', 'zap',
          '--log-outputs', 'stderr',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.set(name, child);
      let output = '';
      return new Promise<void>((resolve, reject) => {
        child.stderr!.setEncoding('utf8');
        child.stderr!.on('data', (chunk: string) => {
          output += chunk;
          if (output.includes('"msg":"serving client traffic')) resolve();
          if (output.length > 1 << 20) output = output.slice(-(1 << 16));
        });
        child.once('exit', (code) => reject(new Error(`etcd member ${name} exited (${code}):\n${output.slice(-2000)}`)));
      });
    });
    await Promise.all(ready);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoints: names.map((_, i) => `http://${ip(i)}:2379`),
    members: names.map((name, i) => ({ name, endpoint: `http://${ip(i)}:2379`, pid: children.get(name)!.pid! })),
    kill: (name) => stopOne(name, 'SIGKILL'),
    leader() {
      const endpoints = names.map((_, i) => `http://${ip(i)}:2379`);
      const out = execFileSync('etcdctl', ['--endpoints', endpoints.join(','), 'endpoint', 'status', '-w', 'json'], {
        env: { ...process.env, ETCDCTL_API: '3' },
        encoding: 'utf8',
      });
      const statuses = JSON.parse(out) as { Endpoint: string; Status: { header: { member_id: number | string }; leader: number | string } }[];
      const leader = statuses.find((s) => String(s.Status.header.member_id) === String(s.Status.leader));
      if (!leader) throw new Error(`no member leads:\n${out}`);
      return names[endpoints.indexOf(leader.Endpoint)]!;
    },
    stop,
  };
}
