// API server scenarios: cold start, idle memory, create throughput, watch fan-out latency.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { median, percentile, type Scenario } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../..') : path.resolve(here, '..');
const bin = path.join(root, 'bin', 'petset.js');

export interface Running {
  proc: ChildProcess;
  url: string;
  ca: string;
  token: string;
  readyMs: number;
  /** what `up` printed so far */
  output(): string;
  stop(): Promise<void>;
}

function get(url: string, opts: https.RequestOptions): Promise<number> {
  return new Promise((resolve) => {
    https
      .get(url, opts, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', () => resolve(0));
  });
}

/**
 * Node options for the server, e.g. PETSET_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
 * to profile it under a scenario's load.
 */
const serverNodeArgs = (process.env.PETSET_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * Spawns `petset up` and measures the time until /readyz answers ok. Without `keepDir`, the
 * data directory is a fresh temporary one, removed again by stop().
 */
export async function startUp(keepDir?: string, extraArgs: string[] = [], launcher?: string[]): Promise<Running> {
  const dataDir = keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'petset-bench-'));
  const t0 = performance.now();
  // the host pod network unless a scenario asks: figures stay comparable, and runs never share the root one's default ranges
  const podNetwork = extraArgs.some((a) => a.startsWith('--pod-network')) ? [] : ['--pod-network', 'host'];
  // launcher: another way to start the same `petset` (e.g. through npx), run from the project root
  const [command, ...prefix] = launcher ?? [process.execPath, ...serverNodeArgs, bin];
  const proc = spawn(command!, [...prefix, 'up', '--data-dir', dataDir, '--port', '0', ...podNetwork, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: root,
    env: launcher ? { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' } : process.env,
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /petset is up at (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (c) => reject(new Error(`petset up exited ${c}: ${out}`)));
  });
  const kc = yaml.load(fs.readFileSync(path.join(dataDir, 'kubeconfig'), 'utf8')) as any;
  const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
  const token = kc.users[0].user.token as string;
  while ((await get(`${url}/readyz`, { ca, headers: { Authorization: `Bearer ${token}` } })) !== 200) await new Promise((r) => setTimeout(r, 5));
  const readyMs = performance.now() - t0;
  return {
    proc,
    url,
    ca,
    token,
    readyMs,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        // a launcher's children too (petset under npx), by pid
        const children = treePids(proc.pid!).slice(1);
        proc.once('exit', () => {
          if (!keepDir) fs.rmSync(dataDir, { recursive: true, force: true });
          resolve();
        });
        proc.kill('SIGTERM');
        for (const pid of children) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // already gone
          }
        }
      }),
  };
}

/** CPU time (user + system) a process has used so far, from /proc (Linux). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

/** The process and all its descendants (from /proc), the process first. */
export function treePids(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      parents.set(Number(entry), Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

/** Resident memory of the process and its descendants, in MB. */
function treeRssMB(pid: number): number {
  let total = 0;
  for (const p of treePids(pid)) {
    try {
      total += rssMB(p);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

function rssMB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  return kb / 1024;
}

/**
 * One keep-alive HTTPS connection that speaks just enough HTTP/1.1 for load generation:
 * pre-built request bytes out, one response (with Content-Length) at a time back. The load
 * generator shares the two cores with the server, so it must cost far less than a request.
 */
class Connection {
  private waiting: { resolve(status: number): void; reject(err: Error): void } | undefined;
  private buffered: Buffer | undefined;

  private constructor(readonly socket: tls.TLSSocket) {
    socket.setNoDelay(true);
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static open(r: Running): Promise<Connection> {
    const { hostname, port } = new URL(r.url);
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: hostname, port: Number(port), ca: r.ca }, () => {
        socket.off('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  /**
   * Sends a request and resolves with the response's status code once its body is in.
   * (Watchers read their socket themselves: the response parser attaches on the first send.)
   */
  send(request: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      if (!this.socket.listenerCount('data')) this.socket.on('data', (d: Buffer) => this.onData(d));
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    const buf = this.buffered ? Buffer.concat([this.buffered, d]) : d;
    const headEnd = buf.indexOf('\r\n\r\n');
    const head = headEnd < 0 ? '' : buf.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    const total = length ? headEnd + 4 + Number(length[1]) : Infinity;
    if (headEnd >= 0 && !length) return this.fail(new Error(`response without Content-Length: ${head}`));
    if (buf.length < total) {
      this.buffered = buf;
      return;
    }
    this.buffered = buf.length > total ? buf.subarray(total) : undefined;
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve(Number(head.slice(9, 12)));
  }

  private fail(err: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }
}

function requestBytes(r: Running, method: string, p: string, body?: unknown): Buffer {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const host = new URL(r.url).host;
  return Buffer.from(
    `${method} ${p} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${r.token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
  );
}

export const apiserverScenarios: Scenario[] = [
  {
    name: 'apiserver-start',
    async run(report) {
      const times: number[] = [];
      let idle = 0;
      let idleTree = 0;
      for (let i = 0; i < 3; i++) {
        const r = await startUp();
        times.push(r.readyMs);
        if (i === 2) {
          await new Promise((res) => setTimeout(res, 3000));
          idle = rssMB(r.proc.pid!);
          idleTree = treeRssMB(r.proc.pid!);
        }
        await r.stop();
      }
      // as the README starts it (`node bin/petset.js up`), and through npx for comparison: npx
      // keeps an npm process resident beside petset for the whole session
      const viaNpx = await startUp(undefined, [], ['npx', 'petset']);
      await new Promise((res) => setTimeout(res, 3000));
      const npxTree = treeRssMB(viaNpx.proc.pid!);
      await viaNpx.stop();
      report({ name: 'up_cold_start_to_readyz', value: median(times), unit: 'ms', goal: '< 300 ms' });
      report({ name: 'up_idle_rss', value: idle, unit: 'MB' });
      report({ name: 'up_idle_tree_rss', value: idleTree, unit: 'MB', goal: '< 100 MB' });
      report({ name: 'up_idle_tree_rss_via_npx', value: npxTree, unit: 'MB' });
    },
  },
  {
    name: 'apiserver-create-throughput',
    async run(report) {
      const r = await startUp();
      const clients = 16;
      const total = 6000;
      const conns: Connection[] = [];
      try {
        conns.push(...(await Promise.all(Array.from({ length: clients }, () => Connection.open(r)))));
        const path = '/api/v1/namespaces/default/configmaps';
        // warm the connections first
        await Promise.all(conns.map((c, i) => c.send(requestBytes(r, 'POST', path, { metadata: { name: `warm-${i}` } }))));
        const requests = Array.from({ length: total }, (_, n) =>
          requestBytes(r, 'POST', path, { metadata: { name: `cm-${n}` }, data: { n: String(n) } }),
        );
        let next = 0;
        // CPU per object says more than throughput on a machine shared with other work
        const serverCpu0 = cpuMs(r.proc.pid!);
        const clientCpu0 = process.cpuUsage();
        const t0 = performance.now();
        await Promise.all(
          conns.map(async (c) => {
            while (next < total) {
              const code = await c.send(requests[next++]);
              if (code !== 201) throw new Error(`create answered ${code}`);
            }
          }),
        );
        const secs = (performance.now() - t0) / 1000;
        const clientCpu = process.cpuUsage(clientCpu0);
        report({ name: 'create_throughput_16_clients', value: total / secs, unit: 'objects/s', goal: '>= 3000 objects/s' });
        report({ name: 'create_server_cpu', value: ((cpuMs(r.proc.pid!) - serverCpu0) * 1000) / total, unit: 'us/object' });
        report({ name: 'create_client_cpu', value: (clientCpu.user + clientCpu.system) / total, unit: 'us/object' });
      } finally {
        for (const c of conns) c.close();
        await r.stop();
      }
    },
  },
  {
    name: 'apiserver-watch-latency',
    async run(report) {
      const r = await startUp();
      const watchers = 100;
      const events = 200;
      const path = '/api/v1/namespaces/default/configmaps';
      const sentAt = new Map<string, number>();
      // What each watcher received and when. Parsing waits until the end, so that it never
      // delays the next watcher's socket.
      const received: Array<Array<{ at: number; data: Buffer }>> = [];
      const conns: Connection[] = [];
      try {
        await Promise.all(
          Array.from({ length: watchers }, async () => {
            const c = await Connection.open(r);
            conns.push(c);
            const chunks: Array<{ at: number; data: Buffer }> = [];
            received.push(chunks);
            await new Promise<void>((resolve, reject) => {
              c.socket.once('close', () => reject(new Error('a watch connection closed before its response')));
              c.socket.on('data', (data: Buffer) => {
                chunks.push({ at: performance.now(), data });
                if (chunks.length === 1) resolve(); // the response head: the watch is registered
              });
              c.socket.write(requestBytes(r, 'GET', `${path}?watch=true&resourceVersion=1`));
            });
          }),
        );
        const writer = await Connection.open(r);
        conns.push(writer);
        const creates = Array.from({ length: events }, (_, i) => requestBytes(r, 'POST', path, { metadata: { name: `w-${i}` } }));
        const serverCpu0 = cpuMs(r.proc.pid!);
        const clientCpu0 = process.cpuUsage();
        for (let i = 0; i < events; i++) {
          sentAt.set(`w-${i}`, performance.now());
          const code = await writer.send(creates[i]);
          if (code !== 201) throw new Error(`create answered ${code}`);
          await new Promise((res) => setTimeout(res, 5));
        }
        const serverCpu = cpuMs(r.proc.pid!) - serverCpu0;
        const clientCpu = process.cpuUsage(clientCpu0);
        const latencies: number[] = [];
        const deadline = Date.now() + 10_000;
        for (;;) {
          await new Promise((res) => setTimeout(res, 50));
          latencies.length = 0;
          for (const chunks of received) latencies.push(...addedLatencies(chunks, sentAt));
          if (latencies.length >= watchers * events || Date.now() > deadline) break;
        }
        latencies.sort((a, b) => a - b);
        report({ name: 'watch_fanout_100_p50', value: percentile(latencies, 50), unit: 'ms' });
        report({ name: 'watch_fanout_100_p99', value: percentile(latencies, 99), unit: 'ms', goal: 'p99 < 10 ms' });
        report({ name: 'watch_fanout_100_delivered', value: latencies.length / (watchers * events), unit: 'fraction' });
        report({ name: 'watch_fanout_100_server_cpu', value: (serverCpu * 1000) / events, unit: 'us/event' });
        report({ name: 'watch_fanout_100_client_cpu', value: (clientCpu.user + clientCpu.system) / events, unit: 'us/event' });
      } finally {
        for (const c of conns) c.close();
        await r.stop();
      }
    },
  },
];

/**
 * For each ADDED event of an object in `sentAt`, the time from sending its create to the
 * arrival of the bytes that completed the event line (chunked framing lines are skipped).
 */
function addedLatencies(chunks: Array<{ at: number; data: Buffer }>, sentAt: Map<string, number>): number[] {
  const out: number[] = [];
  let partial = '';
  for (const { at, data } of chunks) {
    const lines = (partial + data.toString('latin1')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{"type"')) continue;
      const ev = JSON.parse(line);
      const sent = sentAt.get(ev.object?.metadata?.name);
      if (sent !== undefined && ev.type === 'ADDED') out.push(at - sent);
    }
  }
  return out;
}
