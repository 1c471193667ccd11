// The examples as a user runs them: a real `petset up` on real pods (process runtime, the root
// pod network that `up` picks by default on a machine that allows it), `kubectl apply` of the
// example's manifests, then the example's own check of a working cluster (etcd's member list
// and a key read on another member, one ZooKeeper leader and two followers, three running
// RabbitMQ nodes, a Galera cluster of 3 synced, MariaDB and Redis replicas linked to their
// primary, a streaming PostgreSQL standby, every kubia pet answering, WordPress reaching its
// database) polled through `kubectl exec`. Each example prints, on the same run:
//   example_<name>_ready_seconds  kubectl apply → the check passes
//   example_<name>_pss_mib        the proportional set size of every process of its pods
//   example_<name>_rss_mib        their resident set size (shared pages counted per process)
// The pods' processes are found through their cgroups (petset/<sandbox id> under the cgroup
// `up` runs in), the sandbox ids through the records the runtime keeps in the data directory.
//
// `npm run bench examples` runs them all (~10 min on 2 cores); `examples-redis` one of them.
// Needs root, bubblewrap and the Debian packages of the examples (see .ci/run); an example
// whose programs are missing is skipped with a line on stderr.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scenario } from './harness.js';
import { startUp } from './apiserver.js';
import { Cgroups } from '../src/agent/runtime/process/cgroups.js';
import { processRuntimeUnavailable } from '../src/agent/runtime/process/runtime.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../..') : path.resolve(here, '..');
const examples = path.join(root, 'examples');

interface Kubectl {
  (args: string[], input?: string): Promise<{ code: number; stdout: string }>;
}

function kubectlFor(kubeconfig: string): Kubectl {
  return (args, input) =>
    new Promise((resolve) => {
      const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout) =>
        resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout: String(stdout) }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
}

interface Example {
  name: string;
  /** programs the example's images need (the scenario is skipped without them) */
  needs: string[];
  nodes?: number;
  /** kubectl apply -f arguments, relative to examples/ */
  files: string[];
  /** commands before the apply (kubia's hostPath directories) */
  prepare?(): void;
  /** the example's working-cluster check: true once it passes */
  working(k: Kubectl): Promise<boolean>;
}

const out = async (k: Kubectl, args: string[]) => {
  const r = await k(args);
  return r.code === 0 ? r.stdout : '';
};
const exec = (k: Kubectl, pod: string, ...cmd: string[]) => out(k, ['exec', pod, '--', ...cmd]);
const podIP = async (k: Kubectl, pod: string) => (await out(k, ['get', 'pod', pod, '-o', 'jsonpath={.status.podIP}'])).trim();
const all = async (checks: Promise<boolean>[]) => (await Promise.all(checks)).every(Boolean);

const EXAMPLES: Example[] = [
  {
    name: 'etcd',
    needs: ['/usr/bin/etcd'],
    nodes: 3,
    files: ['etcd/etcd.yaml'],
    async working(k) {
      const [ip0, ip2] = [await podIP(k, 'etcd-0'), await podIP(k, 'etcd-2')];
      if (!ip0 || !ip2) return false;
      const list = await exec(k, 'etcd-0', 'etcdctl', `--endpoints=http://${ip0}:2379`, 'member', 'list');
      if ((list.match(/, started, etcd-\d,/g) ?? []).length !== 3) return false;
      if ((await exec(k, 'etcd-0', 'etcdctl', `--endpoints=http://${ip0}:2379`, 'put', 'bench', 'ok')).trim() !== 'OK') return false;
      return (await exec(k, 'etcd-2', 'etcdctl', `--endpoints=http://${ip2}:2379`, 'get', 'bench', '--print-value-only')).trim() === 'ok';
    },
  },
  {
    name: 'zookeeper',
    needs: ['/usr/share/java/zookeeper.jar'],
    nodes: 3,
    files: ['zookeeper/zookeeper.yaml'],
    async working(k) {
      const modes = await Promise.all([0, 1, 2].map(async (i) => /Mode: (\w+)/.exec(await exec(k, `zk-${i}`, 'zkServer.sh', 'status'))?.[1]));
      return modes.filter((m) => m === 'leader').length === 1 && modes.filter((m) => m === 'follower').length === 2;
    },
  },
  {
    name: 'rabbitmq',
    needs: ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
    files: ['rabbitmq/rabbitmq.yaml'],
    async working(k) {
      try {
        return JSON.parse(await exec(k, 'rabbitmq-2', 'rabbitmqctl', 'cluster_status', '--formatter', 'json')).running_nodes.length === 3;
      } catch {
        return false;
      }
    },
  },
  {
    name: 'galera',
    needs: ['/usr/sbin/mariadbd', '/usr/lib/galera/libgalera_smm.so', '/usr/bin/rsync', '/usr/bin/socat'],
    files: ['galera/galera.yaml'],
    async working(k) {
      const state = (pod: string) => exec(k, pod, 'mysql', '-N', '-B', '-e', "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment')");
      return all([0, 1, 2].map(async (i) => /wsrep_cluster_size\t3/.test(await state(`galera-${i}`)) && /Synced/.test(await state(`galera-${i}`))));
    },
  },
  {
    name: 'mysql',
    needs: ['/usr/sbin/mariadbd', '/usr/bin/mariadb-backup', '/usr/bin/socat'],
    files: ['mysql/'],
    async working(k) {
      const replicating = async (pod: string) => {
        const s = await out(k, ['exec', pod, '-c', 'mysql', '--', 'mysql', '-e', 'SHOW SLAVE STATUS\\G']);
        return /Slave_IO_Running: Yes/.test(s) && /Slave_SQL_Running: Yes/.test(s);
      };
      return all([replicating('mysql-1'), replicating('mysql-2')]);
    },
  },
  {
    name: 'postgres',
    needs: ['/usr/bin/pg_basebackup'],
    files: ['postgres/postgres-replicated.yaml'],
    async working(k) {
      return (await exec(k, 'pg-1', 'psql', '-U', 'postgres', '-Atc', 'SELECT status FROM pg_stat_wal_receiver')).trim() === 'streaming';
    },
  },
  {
    name: 'redis',
    needs: ['/usr/bin/redis-server'],
    files: ['redis/redis.yaml'],
    async working(k) {
      const up = async (pod: string) => /master_link_status:up/.test(await exec(k, pod, 'redis-cli', '-h', `${pod}.redis`, 'INFO', 'replication'));
      return all([up('redis-1'), up('redis-2')]);
    },
  },
  {
    name: 'kubia',
    needs: [],
    files: ['kubia/persistent-volumes-hostpath.yaml', 'kubia/kubia-service-headless.yaml', 'kubia/kubia-statefulset.yaml', 'kubia/kubia-service-public.yaml'],
    prepare: () => ['/tmp/pv-a', '/tmp/pv-b', '/tmp/pv-c'].forEach((d) => fs.rmSync(d, { recursive: true, force: true })),
    async working(k) {
      const hit = async (pod: string) => (await out(k, ['get', '--raw', `/api/v1/namespaces/default/pods/${pod}/proxy/`])).startsWith(`You've hit ${pod}`);
      return all([hit('kubia-0'), hit('kubia-1')]);
    },
  },
  {
    name: 'wordpress',
    needs: ['/usr/share/wordpress/wp-settings.php', '/usr/sbin/mariadbd'],
    files: ['wordpress/mysql.yaml', 'wordpress/wordpress.yaml'],
    async working(k) {
      // the installer's page: WordPress shows it only once it reached the database
      const ready = JSON.parse((await out(k, ['get', 'deploy', 'wordpress', '-o', 'json'])) || '{}').status?.readyReplicas;
      return ready === 5 && /famous five-minute WordPress installation/.test(await out(k, ['get', '--raw', '/api/v1/namespaces/default/services/wordpress:http/proxy/wp-admin/install.php']));
    },
  },
];

/** Ids of the sandboxes the node agents of this data directory made (their records are kept there). */
function sandboxIds(dataDir: string): string[] {
  const ids: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (path.basename(dir) === 'sandboxes' && fs.existsSync(path.join(p, 'sandbox.json'))) ids.push(e.name);
      else if (depth < 5) walk(p, depth + 1);
    }
  };
  walk(dataDir, 0);
  return ids;
}

/** kB of a field of /proc/PID/smaps_rollup (Pss, Rss), 0 when the process is gone. */
function smaps(pid: number, field: string): number {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function randomRootRanges(): string[] {
  const r = (n: number) => Math.floor(Math.random() * n);
  return ['--pod-cidr', `10.${192 + r(32)}.${r(16) * 16}.0/20`, '--service-cluster-ip-range', `10.${96 + r(16)}.${r(256)}.0/24`];
}

function scenario(ex: Example): Scenario {
  return {
    name: `examples-${ex.name}`,
    async run(report) {
      const why = processRuntimeUnavailable() ?? ex.needs.filter((p) => !fs.existsSync(p)).map((p) => `${p} is not installed`)[0];
      if (why) return void process.stderr.write(`  skipped: ${why}\n`);
      ex.prepare?.();
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `petset-bench-${ex.name}-`));
      const up = await startUp(dataDir, ['--runtime', 'process', '--pod-network', 'root', ...randomRootRanges(), '--nodes', String(ex.nodes ?? 1)]);
      try {
        const k = kubectlFor(path.join(dataDir, 'kubeconfig'));
        const t0 = performance.now();
        const applied = await k(['apply', ...ex.files.flatMap((f) => ['-f', path.join(examples, f)])]);
        if (applied.code !== 0) throw new Error(`kubectl apply failed: ${applied.stdout}`);
        const cap = Number(process.env.PETSET_BENCH_CAP_SECONDS ?? 600);
        while (!(await ex.working(k))) {
          if ((performance.now() - t0) / 1000 > cap) throw new Error(`${ex.name} not working ${cap} s after kubectl apply:\n${await out(k, ['get', 'pods', '-o', 'wide'])}`);
          await new Promise((res) => setTimeout(res, 500));
        }
        report({ name: `example_${ex.name}_ready_seconds`, value: (performance.now() - t0) / 1000, unit: 's' });
        const cgroups = new Cgroups();
        const pids = [...new Set(sandboxIds(dataDir).flatMap((id) => cgroups.pids(`petset/${id}`)))];
        const sum = (field: string) => pids.reduce((kb, pid) => kb + smaps(pid, field), 0) / 1024;
        report({ name: `example_${ex.name}_pss_mib`, value: sum('Pss'), unit: 'MiB' });
        report({ name: `example_${ex.name}_rss_mib`, value: sum('Rss'), unit: 'MiB' });
        process.stderr.write(`  ${pids.length} processes in ${sandboxIds(dataDir).length} pods\n`);
      } finally {
        await up.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
        ex.prepare?.();
      }
    },
  };
}

export const exampleScenarios: Scenario[] = EXAMPLES.map(scenario);
