// The host-program catalog run for real: each image's documented environment contract,
// checked through the runtime's exec (as kubectl exec would) and from the host.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/object.js';
import { ProcessRuntime, processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { waitFor } from '../../support/server.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the catalog tests: ${why}`);

type Obj = Record<string, any>;
let root: string;
let rt: ProcessRuntime;
const sandboxes: string[] = [];
let n = 0;

async function run(name: string, ip: string, container: Obj, podSpec: Obj = {}, volumePaths: Record<string, string> = {}): Promise<string> {
  const pod = { metadata: { name, namespace: 'default', uid: `cat-${process.pid}-${++n}` }, spec: { containers: [container], ...podSpec } } as KubeObject;
  const sb = await rt.createSandbox({ pod, ip, hostname: name, volumePaths });
  sandboxes.push(sb);
  const c = await rt.startContainer(sb, { container: { name: 'main', ...container }, init: false, restartCount: 0 }, () => {});
  return c.id;
}

async function until(id: string, command: string[], timeoutMs = 60_000): Promise<string> {
  let last = '';
  try {
    return await waitFor(async () => {
      const r = await rt.runHandler(id, { purpose: 'readiness', handler: { exec: { command } }, podIP: '', timeoutMs: 10_000 });
      last = r.output;
      return r.ok ? r.output : undefined;
    }, timeoutMs, command.join(' '), 250);
  } catch (e) {
    const lines: string[] = [];
    for await (const l of rt.logs(id, { tailLines: 20 })) lines.push(l.text);
    throw new Error(`${(e as Error).message}\nlast output: ${last}\ncontainer log:\n${lines.join('\n')}`);
  }
}

const has = (p: string) => fs.existsSync(p);

describe('host-program catalog', { skip: why }, () => {
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-catalog-'));
    rt = new ProcessRuntime({ stateDir: path.join(root, 'state') });
  });
  after(async () => {
    for (const id of sandboxes) await rt.removeSandbox(id);
    rt.killAll();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('mysql: MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER/PASSWORD and /docker-entrypoint-initdb.d, data in /var/lib/mysql', { skip: !has('/usr/sbin/mariadbd') && 'mariadb-server not installed', timeout: 120_000 }, async () => {
    const data = fs.mkdtempSync(path.join(root, 'mysql-'));
    const init = fs.mkdtempSync(path.join(root, 'init-'));
    fs.writeFileSync(path.join(init, '01.sql'), "create table seeded (v int); insert into seeded values (42);\n");
    const id = await run('mysql-0', '127.64.201.10', {
      image: 'mysql:8.0',
      env: [
        { name: 'MYSQL_ROOT_PASSWORD', value: 'rootpw' },
        { name: 'MYSQL_DATABASE', value: 'shop' },
        { name: 'MYSQL_USER', value: 'app' },
        { name: 'MYSQL_PASSWORD', value: 'apppw' },
      ],
      volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }, { name: 'init', mountPath: '/docker-entrypoint-initdb.d', readOnly: true }],
    }, { volumes: [{ name: 'data', emptyDir: {} }, { name: 'init', emptyDir: {} }] }, { data, init });
    // over TCP: the entrypoint's temporary server (initdb.d still running) listens on the socket only
    const out = await until(id, ['mysql', '-h', '127.64.201.10', '-uroot', '-prootpw', '-N', '-e', 'select @@hostname, (select v from shop.seeded)'], 90_000);
    assert.equal(out.trim(), 'mysql-0\t42');
    const fromHost = execFileSync('mysql', ['-h', '127.64.201.10', '-uapp', '-papppw', '-N', '-e', 'select database(), current_user()', 'shop'], { encoding: 'utf8' });
    assert.equal(fromHost.trim(), 'shop\tapp@%');
    assert.ok(fs.existsSync(path.join(data, 'shop')));
  });

  it('postgres: POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, PGDATA, run as the postgres user', { skip: !has('/usr/bin/pg_isready') && 'postgresql not installed', timeout: 120_000 }, async () => {
    const data = fs.mkdtempSync(path.join(root, 'pg-'));
    fs.chmodSync(data, 0o755); // as volumes are: the postgres user must reach PGDATA below it
    const id = await run('pg-0', '127.64.201.11', {
      image: 'postgres:16',
      env: [{ name: 'POSTGRES_PASSWORD', value: 'pw' }, { name: 'POSTGRES_USER', value: 'boss' }, { name: 'POSTGRES_DB', value: 'shop' }, { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }],
      volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
    }, { volumes: [{ name: 'data', emptyDir: {} }] }, { data });
    await until(id, ['pg_isready', '-h', '127.64.201.11', '-U', 'boss', '-d', 'shop'], 90_000);
    const out = execFileSync('psql', ['-h', '127.64.201.11', '-U', 'boss', '-d', 'shop', '-Atc', 'select current_user, current_database()'], { encoding: 'utf8', env: { ...process.env, PGPASSWORD: 'pw' } });
    assert.equal(out.trim(), 'boss|shop');
    assert.ok(fs.existsSync(path.join(data, 'pgdata', 'PG_VERSION')));
    assert.equal(fs.statSync(path.join(data, 'pgdata')).uid, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })));
  });

  it('redis, nginx, etcd, python, node and dnsutils start as their images do', { timeout: 120_000 }, async () => {
    const redis = await run('redis-0', '127.64.201.12', { image: 'redis:7' });
    assert.equal((await until(redis, ['redis-cli', '-h', '127.64.201.12', 'ping'])).trim(), 'PONG');
    assert.equal((await until(redis, ['sh', '-c', 'ps -o user= -p 1 2>/dev/null || stat -c %U /proc/1; pwd'])).includes('/data'), true);
    const html = fs.mkdtempSync(path.join(root, 'html-'));
    fs.writeFileSync(path.join(html, 'index.html'), 'hello from web-0\n');
    fs.chmodSync(html, 0o755); // nginx's workers run as www-data
    await run('web-0', '127.64.201.13', { image: 'nginx:1.25', volumeMounts: [{ name: 'html', mountPath: '/usr/share/nginx/html' }] }, { volumes: [{ name: 'html', emptyDir: {} }] }, { html });
    const page = await waitFor(async () => {
      try {
        const r = await fetch('http://127.64.201.13/');
        return r.ok ? r.text() : undefined;
      } catch {
        return undefined;
      }
    }, 30_000, 'nginx to serve');
    assert.equal(page, 'hello from web-0\n');
    const etcd = await run('etcd-0', '127.64.201.14', {
      image: 'quay.io/coreos/etcd:v3.5.9',
      command: ['/usr/local/bin/etcd', '--data-dir=/tmp/etcd', '--listen-client-urls=http://127.64.201.14:2379', '--advertise-client-urls=http://127.64.201.14:2379', '--listen-peer-urls=http://127.64.201.14:2380', '--initial-advertise-peer-urls=http://127.64.201.14:2380', '--initial-cluster=etcd-0=http://127.64.201.14:2380', '--name=etcd-0'],
    });
    await until(etcd, ['etcdctl', '--endpoints=http://127.64.201.14:2379', 'endpoint', 'health']);
    const py = await run('py', '127.64.201.15', { image: 'python:3.12', command: ['python', '-c', 'import socket,time; print(socket.gethostname(), flush=True); time.sleep(600)'] });
    await waitFor(async () => {
      const lines: string[] = [];
      for await (const l of rt.logs(py)) lines.push(l.text);
      return lines.includes('py');
    }, 20_000, 'python output');
    const node = await run('nd', '127.64.201.16', { image: 'node:20', command: ['node', '-e', 'setTimeout(()=>{}, 600000)'] });
    assert.match(await until(node, ['node', '-p', 'require("os").hostname()']), /^nd\n/);
    const dns = await run('dnsutils', '127.64.201.17', { image: 'tutum/dnsutils' });
    assert.match(await until(dns, ['dig', '-v']), /DiG/);
  });
});
