// API server scenarios: cold start, idle memory, create throughput, watch fan-out latency.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { median, percentile, type Scenario } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../..') : path.resolve(here, '..');
const bin = path.join(root, 'bin', 'petset.js');

interface Running {
  proc: ChildProcess;
  url: string;
  ca: string;
  token: string;
  readyMs: number;
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

/** Spawns `petset up` on a fresh data directory and measures the time until /readyz answers ok. */
export async function startUp(dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-bench-'))): Promise<Running> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [bin, 'up', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    stop: () =>
      new Promise((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

function rssMB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  return kb / 1024;
}

function request(r: Running, agent: https.Agent, method: string, p: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${r.url}${p}`,
      { method, ca: r.ca, agent, headers: { Authorization: `Bearer ${r.token}`, 'Content-Type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export const apiserverScenarios: Scenario[] = [
  {
    name: 'apiserver-start',
    async run(report) {
      const times: number[] = [];
      let idle = 0;
      for (let i = 0; i < 3; i++) {
        const r = await startUp();
        times.push(r.readyMs);
        if (i === 2) {
          await new Promise((res) => setTimeout(res, 3000));
          idle = rssMB(r.proc.pid!);
        }
        await r.stop();
      }
      report({ name: 'up_cold_start_to_readyz', value: median(times), unit: 'ms', goal: '< 1000 ms' });
      report({ name: 'up_idle_rss', value: idle, unit: 'MB', goal: '< 100 MB' });
    },
  },
  {
    name: 'apiserver-create-throughput',
    async run(report) {
      const r = await startUp();
      const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
      try {
        const total = 6000;
        let next = 0;
        // warm the connections first
        await Promise.all(Array.from({ length: 16 }, (_, i) => request(r, agent, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `warm-${i}` } })));
        const t0 = performance.now();
        const worker = async () => {
          while (next < total) {
            const n = next++;
            const code = await request(r, agent, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `cm-${n}` }, data: { n: String(n) } });
            if (code !== 201) throw new Error(`create answered ${code}`);
          }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
        const secs = (performance.now() - t0) / 1000;
        report({ name: 'create_throughput_16_clients', value: total / secs, unit: 'objects/s', goal: '>= 3000 objects/s' });
      } finally {
        agent.destroy();
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
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const agent = new https.Agent({ keepAlive: true, maxSockets: watchers + 4 });
      const reqs: import('node:http').ClientRequest[] = [];
      try {
        await Promise.all(
          Array.from(
            { length: watchers },
            () =>
              new Promise<void>((resolve, reject) => {
                const req = https.get(
                  `${r.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1`,
                  { ca: r.ca, agent, headers: { Authorization: `Bearer ${r.token}` } },
                  (res) => {
                    let buf = '';
                    res.setEncoding('utf8');
                    res.on('data', (chunk: string) => {
                      const now = performance.now();
                      buf += chunk;
                      let nl: number;
                      while ((nl = buf.indexOf('\n')) >= 0) {
                        const line = buf.slice(0, nl);
                        buf = buf.slice(nl + 1);
                        const ev = JSON.parse(line);
                        const t = sentAt.get(ev.object?.metadata?.name);
                        if (t !== undefined && ev.type === 'ADDED') latencies.push(now - t);
                      }
                    });
                    resolve();
                  },
                );
                req.on('error', reject);
                reqs.push(req);
              }),
          ),
        );
        const writer = new https.Agent({ keepAlive: true, maxSockets: 1 });
        for (let i = 0; i < events; i++) {
          const name = `w-${i}`;
          sentAt.set(name, performance.now());
          await request(r, writer, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name } });
          await new Promise((res) => setTimeout(res, 5));
        }
        const deadline = Date.now() + 10_000;
        while (latencies.length < watchers * events && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
        writer.destroy();
        latencies.sort((a, b) => a - b);
        report({ name: 'watch_fanout_100_p50', value: percentile(latencies, 50), unit: 'ms' });
        report({ name: 'watch_fanout_100_p99', value: percentile(latencies, 99), unit: 'ms', goal: 'p99 < 10 ms' });
        report({ name: 'watch_fanout_100_delivered', value: latencies.length / (watchers * events), unit: 'fraction' });
      } finally {
        for (const q of reqs) q.destroy();
        agent.destroy();
        await r.stop();
      }
    },
  },
];
