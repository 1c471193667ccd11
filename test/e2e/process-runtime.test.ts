// `petset up --runtime process` with the real kubectl: the seed manifest brings up three
// real MariaDB servers named db-0..2, each with its files in its own claim's directory;
// a row survives its pod's deletion; a bad image fails with ErrImagePull; Ctrl-C stops
// the servers; after kill -9 of `up` the next start stops the orphans before anything else.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import http from 'node:http';
import { eventually, petsetBin, processAlive as alive, randomLoopbackPodRange, randomLoopbackServiceRange, repoRoot, startCluster, tempDir, type Cluster } from './harness.js';
import { controlSocketPath } from '../../src/cli/nodes.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/usr/sbin/mariadbd') ? undefined : 'mariadb-server is not installed');
if (why) console.log(`# skipping the process runtime e2e tests: ${why}`);

type Obj = Record<string, any>;

async function pods(c: Cluster): Promise<Obj[]> {
  return JSON.parse((await c.kubectl(['get', 'pods', '-o', 'json'])).stdout).items;
}

async function runningDbs(c: Cluster): Promise<Obj[] | undefined> {
  const items = (await pods(c)).filter((p) => /^db-\d$/.test(p.metadata.name));
  const ok = items.length === 3 && items.every((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready);
  return ok ? items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)) : undefined;
}

/** Waits until the server at ip answers (the seed has no readiness probe: Running is not accepting yet). */
function answering(ip: string): Promise<string> {
  return eventually(() => {
    try {
      return sql(ip, 'select @@hostname');
    } catch {
      return undefined;
    }
  }, 120_000, `MariaDB on ${ip} to answer`);
}

function sql(ip: string, query: string): string {
  return execFileSync('mysql', ['-h', ip, '-uroot', '-N', '-B', '-e', query], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Host pids of the MariaDB servers bound to these pod addresses. */
function mariadbPids(ips: string[]): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.startsWith('mariadbd') && ips.some((ip) => cmd.includes(`--bind-address=${ip}\0`))) out.push(Number(pid));
  }
  return out;
}

describe('petset up --runtime process', { skip: why }, () => {
  it('runs the seed StatefulSet as three real MariaDB servers, and cleans up after Ctrl-C and kill -9', { timeout: 300_000 }, async () => {
    const dataDir = tempDir('petset-process-e2e-');
    let c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process'] });
    let pidsSeen: number[] = [];
    try {
      assert.match(c.output(), /Node runtimes: node-1=process/);
      await c.kubectl(['apply', '-f', path.join(repoRoot, 'examples', 'mysql-statefulset.yaml')]);
      let dbs = await eventually(() => runningDbs(c), 180_000, 'three running MariaDB pods');
      const ips = dbs.map((p) => p.status.podIP);
      for (const [i, p] of dbs.entries()) {
        assert.equal(await answering(p.status.podIP), `db-${i}`);
        assert.match(p.status.containerStatuses[0].imageID, /^petset-host:\/\/mariadb-server@/);
      }
      // through the API's exec stream, inside the pod: the server names itself, and peers resolve
      // through the cluster DNS at the kube-dns cluster IP the pod's resolv.conf names
      assert.equal((await c.kubectl(['exec', 'db-1', '--', 'mysql', '-N', '-B', '-e', 'select @@hostname'])).stdout.trim(), 'db-1');
      const peer = await eventually(async () => (await c.kubectl(['exec', 'db-1', '--', 'getent', 'hosts', 'db-0.mysql.default.svc.cluster.local'], { allowFail: true })).stdout.trim(), 20_000, 'db-0 by name from db-1');
      assert.equal(peer.split(/\s+/)[0], ips[0]);
      // each server's files are in its own claim's directory
      const pvs = JSON.parse((await c.kubectl(['get', 'pv', '-o', 'json'])).stdout).items as Obj[];
      const dirs = pvs.map((pv) => pv.spec.hostPath?.path ?? pv.spec.local?.path);
      assert.equal(new Set(dirs).size, 3);
      for (const d of dirs) assert.ok(fs.existsSync(path.join(d, 'mysql', 'user.frm')) || fs.existsSync(path.join(d, 'mysql', 'global_priv.frm')), `MariaDB files in ${d}`);
      // a row written on db-1 survives the pod's deletion
      sql(ips[1], "create database if not exists app; create table if not exists app.t (v varchar(20)); insert into app.t values ('kept')");
      const oldUid = dbs[1].metadata.uid;
      await c.kubectl(['delete', 'pod', 'db-1']);
      dbs = await eventually(async () => {
        const d = await runningDbs(c);
        return d && d[1].metadata.uid !== oldUid ? d : undefined;
      }, 120_000, 'db-1 to come back');
      await answering(dbs[1].status.podIP);
      assert.equal(sql(dbs[1].status.podIP, 'select v from app.t'), 'kept');
      // a bad image: ErrImagePull, with the reason and what to do
      await c.kubectl(['run', 'bad', '--image=does-not-exist:1', '--restart=Never']);
      const bad = await eventually(async () => {
        const p = (await pods(c)).find((x) => x.metadata.name === 'bad');
        const s = p?.status?.containerStatuses?.[0]?.state;
        const r = s?.waiting ?? s?.terminated;
        return r && /ErrImagePull|ImagePullBackOff/.test(r.reason) ? r : undefined;
      }, 30_000, 'ErrImagePull');
      assert.match(bad.message, /does-not-exist/);
      // Ctrl-C stops the servers
      pidsSeen = mariadbPids(dbs.map((p) => p.status.podIP));
      assert.equal(pidsSeen.length, 3);
      await c.stop('SIGINT');
      await eventually(() => pidsSeen.every((pid) => !alive(pid)), 30_000, 'the servers to stop after Ctrl-C');

      // kill -9: the sandboxes outlive `up`; the next start stops them before starting anything
      c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process'] });
      dbs = await eventually(() => runningDbs(c), 180_000, 'three running MariaDB pods again');
      for (const p of dbs) await answering(p.status.podIP);
      pidsSeen = mariadbPids(dbs.map((p) => p.status.podIP));
      assert.equal(pidsSeen.length, 3);
      await c.stop('SIGKILL');
      assert.ok(pidsSeen.every(alive), 'the servers outlive a killed petset up');
      c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process'] });
      // the three servers, and the sandbox of the pod whose image cannot be pulled
      const stopped = await eventually(() => /stopped (\d+) pod sandbox\(es\) left running by an earlier agent/.exec(c.output()), 30_000, 'the orphans to be stopped');
      assert.ok(Number(stopped![1]) >= 3, c.output());
      assert.ok(pidsSeen.every((pid) => !alive(pid)), 'the orphans are gone');
      dbs = await eventually(() => runningDbs(c), 180_000, 'three running MariaDB pods after the crash');
      await answering(dbs[1].status.podIP);
      assert.equal(sql(dbs[1].status.podIP, 'select v from app.t'), 'kept');
      pidsSeen = mariadbPids(dbs.map((p) => p.status.podIP));
    } finally {
      await c.stop('SIGINT');
      await eventually(() => pidsSeen.every((pid) => !alive(pid)), 30_000, 'the servers to stop');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fails a real MariaDB pet over from a partitioned node: never two db-1 servers, the row written before is there', { timeout: 400_000 }, async () => {
    const dataDir = tempDir('petset-fencing-e2e-');
    const timings = ['--node-monitor-period=500ms', '--node-monitor-grace-period=3s', '--node-startup-grace-period=5s', '--node-lease-duration-seconds=2', '--node-status-update-frequency=1s'];
    const c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process', '--nodes', '3', ...timings] });
    const node = (action: string, name: string) => execFileSync(process.execPath, [petsetBin, 'node', action, name, '--data-dir', dataDir], { encoding: 'utf8', timeout: 60_000 });
    const sandboxes = (name: string) =>
      new Promise<string[]>((resolve, reject) => {
        const req = http.request({ socketPath: controlSocketPath(dataDir), method: 'GET', path: `/nodes/${name}/pods` }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body.trim().split('\n').slice(1).filter(Boolean).map((r) => r.trim().split(/\s+/).pop()!)));
        });
        req.on('error', reject);
        req.end();
      });
    let pidsSeen: number[] = [];
    try {
      await c.kubectl(['apply', '-f', path.join(repoRoot, 'examples', 'mysql-statefulset.yaml')]);
      const dbs = await eventually(() => runningDbs(c), 240_000, 'three running MariaDB pods');
      for (const p of dbs) await answering(p.status.podIP);
      const old = dbs[1];
      const lost: string = old.spec.nodeName;
      sql(old.status.podIP, "create database if not exists app; create table app.t (v varchar(64)); insert into app.t values ('written before the partition')");

      assert.match(node('partition', lost), /partitioned/);
      await eventually(async () => (await c.kubectl(['get', 'node', lost, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'Unknown', 30_000, `${lost} NotReady`);
      await c.kubectl(['delete', 'pod', 'db-1', '--force', '--grace-period=0']);
      const fresh = await eventually(async () => {
        const p = (await pods(c)).find((x) => x.metadata.name === 'db-1');
        return p && p.metadata.uid !== old.metadata.uid && p.spec.nodeName ? p : undefined;
      }, 30_000, 'the replacement db-1 scheduled');
      assert.notEqual(fresh.spec.nodeName, lost);
      await eventually(async () => (await c.kubectl(['get', 'events', '--field-selector', `involvedObject.uid=${fresh.metadata.uid},reason=FailedAttachVolume`, '-o', 'name'])).stdout.trim(), 30_000, 'the Multi-Attach event');
      // the old server keeps running on the partitioned node; the replacement must not start beside it
      let samples = 0;
      let both = 0;
      for (const until = Date.now() + 4000; Date.now() < until; samples++) {
        const [onLost, onNew] = await Promise.all([sandboxes(lost), sandboxes(fresh.spec.nodeName)]);
        const servers = mariadbPids([old.status.podIP]).length + (fresh.status?.podIP ? mariadbPids([fresh.status.podIP]).length : 0);
        if ((onLost.includes(old.metadata.uid) && onNew.includes(fresh.metadata.uid)) || servers > 1) both++;
        await new Promise((r) => setTimeout(r, 100));
      }
      console.log(`# sampled both nodes ${samples} times while partitioned: ${both} moments with two db-1`);
      assert.equal(both, 0);
      assert.equal(mariadbPids([old.status.podIP]).length, 1, 'the old db-1 still runs on the partitioned node');

      node('heal', lost);
      const back = await eventually(async () => {
        const d = await runningDbs(c);
        return d && d[1].metadata.uid === fresh.metadata.uid ? d : undefined;
      }, 180_000, 'the replacement db-1 running');
      assert.equal(mariadbPids([old.status.podIP]).length, 0, 'the old server was stopped on heal');
      await answering(back[1].status.podIP);
      assert.equal(sql(back[1].status.podIP, 'select v from app.t'), 'written before the partition');
      pidsSeen = mariadbPids(back.map((p) => p.status.podIP));
    } finally {
      await c.stop('SIGINT');
      await eventually(() => pidsSeen.every((pid) => !alive(pid)), 30_000, 'the servers to stop');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("runs seed 002's kubia pets: kubectl proxy to a pod and to the public service, data kept across deletion, scaling, re-creation and a restart of petset up, dig SRV from a throwaway pod", { timeout: 420_000 }, async () => {
    const dataDir = tempDir('petset-kubia-e2e-');
    const pvDirs = ['/tmp/pv-a', '/tmp/pv-b', '/tmp/pv-c'];
    for (const d of pvDirs) fs.rmSync(d, { recursive: true, force: true });
    // the same ranges across the restart of petset up
    const args = ['--runtime', 'process', '--pod-cidr', randomLoopbackPodRange(1), '--service-cluster-ip-range', randomLoopbackServiceRange()];
    let c = await startCluster({ dataDir, extraArgs: args });
    const dir = path.join(repoRoot, 'examples', 'kubia');
    let proxy: ReturnType<typeof spawn> | undefined;
    try {
      await c.kubectl(['apply', '-f', path.join(dir, 'persistent-volumes-hostpath.yaml')]);
      await c.kubectl(['apply', '-f', path.join(dir, 'kubia-service-headless.yaml'), '-f', path.join(dir, 'kubia-statefulset.yaml'), '-f', path.join(dir, 'kubia-service-public.yaml')]);
      await c.kubectl(['rollout', 'status', 'sts/kubia', '--timeout=120s'], { timeoutMs: 130_000 });
      proxy = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'proxy', '--port=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        proxy!.stdout!.on('data', (d) => {
          out += d;
          const m = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        proxy!.once('exit', (code) => reject(new Error(`kubectl proxy exited ${code}: ${out}`)));
      });
      // as the seed writes it: curl to localhost:PORT (curl -X POST -d BODY for the POST)
      const call = (method: string, p: string, body?: string) =>
        new Promise<string>((resolve, reject) =>
          execFile('curl', ['-sS', '--max-time', '10', ...(method === 'POST' ? ['-X', 'POST', '-d', body ?? ''] : []), `localhost:${port}${p}`], (e, out, err) => (e ? reject(new Error(String(err) || e.message)) : resolve(String(out)))),
        );
      const pod = (name: string) => `/api/v1/namespaces/default/pods/${name}/proxy/`;
      const first = await eventually(() => call('GET', pod('kubia-1')).then((t) => t.startsWith("You've hit") && t), 30_000, 'kubia-1 through kubectl proxy');
      assert.equal(first, "You've hit kubia-1\nData stored on this pod: No data posted yet\n");
      assert.equal(await call('POST', pod('kubia-0'), 'Hey there! This greeting was submitted to kubia-0.'), 'Data stored on pod kubia-0\n');
      const oldUid = (await c.kubectl(['get', 'pod', 'kubia-0', '-o', 'jsonpath={.metadata.uid}'])).stdout;
      await c.kubectl(['delete', 'pod', 'kubia-0']);
      await eventually(async () => (await c.kubectl(['get', 'pod', 'kubia-0', '-o', 'jsonpath={.metadata.uid}'], { allowFail: true })).stdout.trim() !== oldUid, 60_000, 'a new kubia-0');
      await c.kubectl(['rollout', 'status', 'sts/kubia', '--timeout=120s'], { timeoutMs: 130_000 });
      const kept = await eventually(() => call('GET', pod('kubia-0')).then((t) => t.startsWith("You've hit") && t), 30_000, 'the new kubia-0');
      assert.equal(kept, "You've hit kubia-0\nData stored on this pod: Hey there! This greeting was submitted to kubia-0.\n");
      const seen = new Set<string>();
      for (let i = 0; i < 10 && seen.size < 2; i++) seen.add((await call('GET', '/api/v1/namespaces/default/services/kubia-public/proxy/')).split('\n')[0]);
      assert.deepEqual([...seen].sort(), ["You've hit kubia-0", "You've hit kubia-1"]);
      const digRun = await c.kubectl(['run', '-it', 'srvlookup', '--image=tutum/dnsutils', '--rm', '--restart=Never', '--', 'dig', 'SRV', 'kubia.default.svc.cluster.local'], { timeoutMs: 60_000 });
      // a terminal's line ends
      const dig = { stdout: digRun.stdout.replace(/\r\n/g, '\n') };
      assert.match(dig.stdout, /;; ANSWER SECTION:\nkubia\.default\.svc\.cluster\.local\.\s+5\s+IN\s+SRV\s+0 50 80 kubia-[01]\.kubia\.default\.svc\.cluster\.local\.\n/);
      assert.match(dig.stdout, /;; ADDITIONAL SECTION:\nkubia-[01]\.kubia\.default\.svc\.cluster\.local\.\s+5\s+IN\s+A\s+127\./);
      assert.equal((dig.stdout.match(/IN\s+SRV\s+0/g) ?? []).length, 2);
      // the peers version of the app finds the other pets with dns.resolveSrv, and asks each for its data
      await c.kubectl(['set', 'image', 'sts/kubia', 'kubia=luksa/kubia-pet-peers']);
      await c.kubectl(['rollout', 'status', 'sts/kubia', '--timeout=120s'], { timeoutMs: 130_000 });
      // the pets have no readiness probe: Ready comes before the app listens, so wait until every peer answers
      const peers = await eventually(() => call('GET', pod('kubia-1')).then((t) => t.includes('Found peers:') && t.split('\n').length >= 4 && !t.includes('Error:') && t), 30_000, 'kubia-1 listing its peers');
      assert.match(peers, /^You touched kubia-1\nFound peers:\n/);
      assert.match(peers, /- kubia-0\.kubia\.default\.svc\.cluster\.local: Hey there! This greeting was submitted to kubia-0\./);
      assert.match(peers, /- kubia-1\.kubia\.default\.svc\.cluster\.local: No data posted yet/);

      // the data survives scaling 2 → 1 → 2, the StatefulSet deleted and re-created, and a restart of petset up
      const get = async (name: string) => (await c.kubectl(['get', '--raw', pod(name)], { allowFail: true })).stdout;
      const holds = (name: string, text: string) => eventually(async () => (await get(name)).includes(text), 60_000, `${name} to answer with "${text}"`);
      assert.equal(await call('POST', pod('kubia-1'), 'Stored on kubia-1.'), 'Data stored on pod kubia-1\n');
      await c.kubectl(['scale', 'sts/kubia', '--replicas=1']);
      await eventually(async () => !(await pods(c)).some((p) => p.metadata.name === 'kubia-1'), 60_000, 'kubia-1 scaled away');
      await c.kubectl(['scale', 'sts/kubia', '--replicas=2']);
      await c.kubectl(['rollout', 'status', 'sts/kubia', '--timeout=120s'], { timeoutMs: 130_000 });
      await holds('kubia-1', 'Stored on kubia-1.');
      await c.kubectl(['delete', 'sts', 'kubia']);
      await eventually(async () => !(await pods(c)).some((p) => p.metadata.name.startsWith('kubia-')), 60_000, 'the pets gone with their StatefulSet');
      await c.kubectl(['apply', '-f', path.join(dir, 'kubia-statefulset.yaml')]);
      await c.kubectl(['rollout', 'status', 'sts/kubia', '--timeout=120s'], { timeoutMs: 130_000 });
      await holds('kubia-0', "You've hit kubia-0\nData stored on this pod: Hey there! This greeting was submitted to kubia-0.");
      await holds('kubia-1', "You've hit kubia-1\nData stored on this pod: Stored on kubia-1.");
      await c.stop('SIGINT');
      c = await startCluster({ dataDir, extraArgs: args });
      await c.kubectl(['rollout', 'status', 'sts/kubia', '--timeout=120s'], { timeoutMs: 130_000 });
      await holds('kubia-0', 'Data stored on this pod: Hey there! This greeting was submitted to kubia-0.');
      await holds('kubia-1', 'Data stored on this pod: Stored on kubia-1.');
    } finally {
      if (proxy?.pid && proxy.exitCode === null) process.kill(proxy.pid);
      await c.stop('SIGINT');
      fs.rmSync(dataDir, { recursive: true, force: true });
      for (const d of pvDirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
