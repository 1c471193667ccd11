// The data directory under stress, as a user meets it through `petset up`, kubectl and an
// HTTPS client: broken rows written into the SQLite file, a data dir others could read, a
// disk that fills up, watches from compacted and future resourceVersions.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import yaml from 'js-yaml';
import { startCluster, tempDir, type Cluster } from './harness.js';
import { waitFor } from '../support/server.js';

const clusters: Cluster[] = [];
const cleanups: (() => void)[] = [];
after(async () => {
  for (const c of clusters) await c.stop('SIGKILL');
  for (const f of cleanups.reverse()) f();
});

/** `sqlite`: the test is about the SQLite file under the data dir, whatever store the e2e run picked. */
async function start(dataDir: string, extraArgs: string[] = [], store?: 'sqlite'): Promise<Cluster> {
  const c = await startCluster({ dataDir, extraArgs, store });
  clusters.push(c);
  return c;
}

async function stop(c: Cluster): Promise<void> {
  await c.stop();
  clusters.splice(clusters.indexOf(c), 1);
}

/** GET over HTTPS with the kubeconfig's CA and token; a watch is read until it ends. */
function httpsGet(c: Cluster, urlPath: string): Promise<{ status: number; body: string }> {
  const kc = yaml.load(fs.readFileSync(c.kubeconfig, 'utf8')) as any;
  const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64');
  const token = kc.users[0].user.token as string;
  return new Promise((resolve, reject) => {
    const req = https.get(new URL(urlPath, c.url), { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const lines = (body: string) =>
  body
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

describe('petset up: stored data that cannot be served', () => {
  it('quarantines broken rows written into state.db while stopped, and serves everything else', async () => {
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    let c = await start(dir, [], 'sqlite');
    await c.kubectl(['create', 'configmap', 'good', '--from-literal=a=1']);
    await stop(c);

    // petset is stopped: write broken rows straight into the SQLite file
    const db = new Database(path.join(dir, 'state.db'));
    let rev = (db.prepare('SELECT MAX(rev) AS r FROM log').get() as { r: number }).r;
    const put = db.prepare('INSERT INTO log (rev, key, created, deleted, value) VALUES (?, ?, ?, 0, ?)');
    const row = (key: string, value: unknown) => {
      rev++;
      put.run(rev, key, rev, value);
    };
    row('/registry/configmaps/default/broken', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"broken"');
    row('/registry/statefulsets/default/nometa', '{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":null}');
    row('/registry/secrets/default/binary', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]));
    row('/registry/minions/wrong-name', JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'other' } }));
    db.close();

    c = await start(dir, [], 'sqlite');
    const out = c.output();
    assert.match(out, /quarantined ConfigMap default\/broken .*not JSON/);
    assert.match(out, /quarantined StatefulSet default\/nometa .*no metadata/);
    assert.match(out, /quarantined .*\/registry\/secrets\/default\/binary.*not a text value/);
    assert.match(out, /quarantined Node wrong-name .*metadata\.name "other"/);

    // everything else is served: kubectl and a plain HTTPS client
    assert.equal((await c.kubectl(['get', 'configmap', 'good', '-o', 'jsonpath={.data.a}'])).stdout, '1');
    const names = (await c.kubectl(['get', 'configmaps', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ');
    assert.ok(names.includes('good') && !names.includes('broken'), names.join(' '));
    const sts = await httpsGet(c, '/apis/apps/v1/namespaces/default/statefulsets');
    assert.equal(sts.status, 200);
    assert.deepEqual(JSON.parse(sts.body).items, []);
    await c.kubectl(['create', 'configmap', 'broken', '--from-literal=b=2']);
    assert.equal((await c.kubectl(['get', 'configmap', 'broken', '-o', 'jsonpath={.data.b}'])).stdout, '2');
    // and users are told, with an event
    const events = await waitFor(async () => {
      const r = await c.kubectl(['get', 'events', '-A', '--field-selector', 'reason=Quarantined', '-o', 'json']);
      const items = JSON.parse(r.stdout).items as any[];
      return items.length >= 3 ? items : undefined;
    }, 20_000, 'Quarantined events');
    const about = events.map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}`);
    assert.ok(about.includes('ConfigMap/broken') && about.includes('StatefulSet/nometa'), about.join(' '));
    assert.match(events[0].message, /set aside at start-up/);
    await stop(c);

    // the rows are kept for a person to look at; a further restart finds nothing new
    const check = new Database(path.join(dir, 'state.db'), { readonly: true });
    const kept = check.prepare('SELECT key, reason FROM quarantine ORDER BY id').all() as { key: string; reason: string }[];
    check.close();
    assert.deepEqual(
      kept.map((k) => k.key).sort(),
      ['/registry/configmaps/default/broken', '/registry/minions/wrong-name', '/registry/secrets/default/binary', '/registry/statefulsets/default/nometa'],
    );
    c = await start(dir, [], 'sqlite');
    assert.doesNotMatch(c.output(), /quarantined/);
    assert.equal((await c.kubectl(['get', 'configmap', 'broken', '-o', 'jsonpath={.data.b}'])).stdout, '2');
    await stop(c);
  });
});

describe('petset up: a private data directory', () => {
  it('makes a data dir created 0755 beforehand private: no other user can read a stored Secret', async () => {
    const parent = tempDir();
    cleanups.push(() => fs.rmSync(parent, { recursive: true, force: true }));
    fs.chmodSync(parent, 0o755); // other users can reach the data dir itself
    const dir = path.join(parent, 'petset');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'state.db'), '', { mode: 0o644 }); // an empty database left readable
    fs.chmodSync(path.join(dir, 'state.db'), 0o644);

    const c = await start(dir, [], 'sqlite');
    assert.match(c.output(), /warning: the data directory .* was accessible to other users \(mode 0755\)/);
    const value = `pw-${randomBytes(12).toString('hex')}`;
    await c.kubectl(['create', 'secret', 'generic', 'db-password', `--from-literal=password=${value}`]);
    const stored = Buffer.from(value).toString('base64');

    // the Secret is on disk (root finds it), and nobody else can read it
    const asRoot = spawnSync('grep', ['-r', '-l', '-a', '-e', value, '-e', stored, dir], { encoding: 'utf8' });
    assert.notEqual(asRoot.stdout.trim(), '', 'the secret is in the data dir (sanity check)');
    const asNobody = spawnSync('runuser', ['-u', 'nobody', '--', 'grep', '-r', '-l', '-a', '-e', value, '-e', stored, dir], { encoding: 'utf8' });
    assert.equal(asNobody.stdout.trim(), '', `another user found the secret in: ${asNobody.stdout}`);
    assert.notEqual(asNobody.status, 0);
    assert.match(asNobody.stderr, /Permission denied/);

    // every mode, whatever existed before
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    for (const f of ['state.db', 'state.db-wal', 'kubeconfig', 'petset.pid', 'pki/ca.key', 'pki/ca.crt', 'pki/apiserver.key', 'pki/apiserver.crt', 'pki/admin.token']) {
      const p = path.join(dir, f);
      if (!fs.existsSync(p)) continue;
      assert.equal((fs.statSync(p).mode & 0o777).toString(8), '600', f);
    }
    assert.equal(fs.statSync(path.join(dir, 'pki')).mode & 0o777, 0o700);
    await stop(c);
  });
});

describe('petset up: disk full (space alarm)', { skip: process.getuid?.() !== 0 ? 'mounting a tmpfs needs root' : false }, () => {
  it('keeps reads and deletes working, refuses writes clearly, starts on a full disk and recovers by itself', async () => {
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m,mode=0700', 'tmpfs', mnt]);
    cleanups.push(() => {
      spawnSync('umount', ['-l', mnt]);
      fs.rmSync(mnt, { recursive: true, force: true });
    });
    const dir = path.join(mnt, 'data');
    let c = await start(dir, [], 'sqlite');
    await c.kubectl(['create', 'configmap', 'keep', '--from-literal=a=1']);
    for (let i = 0; i < 5; i++) await c.kubectl(['create', 'configmap', `victim-${i}`, '--from-literal=a=1']);

    // fill the disk with something that is not petset's
    const filler = path.join(mnt, 'filler');
    const fill = () => {
      const fd = fs.openSync(filler, 'a');
      for (const size of [1 << 20, 4096]) {
        const chunk = Buffer.alloc(size, 1);
        try {
          for (;;) fs.writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        }
      }
      fs.closeSync(fd);
    };
    fill();

    // writes fail clearly once the store cannot append (the WAL may still have room for a few)
    const refused = await writeUntilRefused(c, 'fill');
    assert.equal(refused.status, 507);
    const status = JSON.parse(refused.body);
    assert.equal(status.kind, 'Status');
    assert.match(status.message, /Insufficient storage: the disk holding petset's data .* is full: writes are refused until space is freed; reads and deletes still work/);
    const viaKubectl = await c.kubectl(['create', 'configmap', 'small', '--from-literal=a=1'], { allowFail: true });
    assert.notEqual(viaKubectl.code, 0);
    assert.match(viaKubectl.stderr, /Insufficient storage: .* is full/);
    assert.match(c.output(), /space alarm: the disk holding .* is full/);

    // reads and deletes work
    assert.equal((await c.kubectl(['get', 'configmap', 'keep', '-o', 'jsonpath={.data.a}'])).stdout, '1');
    await c.kubectl(['delete', 'configmap', 'victim-0', 'victim-1']);
    assert.equal((await c.kubectl(['get', 'configmap', 'victim-0'], { allowFail: true })).code, 1);

    // something else takes the room the deletes made; petset restarts on the full disk (pid
    // file, log, store) and serves reads, and deletes still work
    await stop(c);
    fill();
    c = await start(dir, [], 'sqlite');
    assert.equal((await c.kubectl(['get', 'configmap', 'keep', '-o', 'jsonpath={.data.a}'])).stdout, '1');
    assert.equal((await writeUntilRefused(c, 'again')).status, 507);
    await c.kubectl(['delete', 'configmap', 'victim-2', 'victim-3']);

    // space returns: writes work again without a restart
    fs.rmSync(filler);
    await waitFor(async () => (await c.kubectl(['create', 'configmap', 'after-full', '--from-literal=a=1'], { allowFail: true })).code === 0, 30_000, 'writes to resume');
    assert.equal((await c.kubectl(['get', 'configmap', 'after-full', '-o', 'jsonpath={.data.a}'])).stdout, '1');
    assert.match(c.output(), /space alarm cleared/);
    await stop(c);
  });
});

/** Creates 200 KB ConfigMaps until the server refuses one (the WAL may have room for a few more); that answer. */
async function writeUntilRefused(c: Cluster, prefix: string): Promise<{ status: number; body: string }> {
  const big = 'x'.repeat(200_000);
  for (let i = 0; i < 200; i++) {
    const r = await httpsPost(c, '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${prefix}-${i}` }, data: { big } });
    if (r.status !== 201) return r;
  }
  throw new Error('200 writes of 200 KB on a full disk all succeeded');
}

function httpsPost(c: Cluster, urlPath: string, body: unknown): Promise<{ status: number; body: string }> {
  const kc = yaml.load(fs.readFileSync(c.kubeconfig, 'utf8')) as any;
  const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64');
  const token = kc.users[0].user.token as string;
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(urlPath, c.url),
      { method: 'POST', ca, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('petset up: resourceVersions outside the history', () => {
  it('a watch from a compacted resourceVersion gets 410 Gone; a relist and a watch from its resourceVersion work', async () => {
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const c = await start(dir, ['--etcd-compaction-interval', '1s']);
    await c.kubectl(['create', 'configmap', 'old', '--from-literal=v=0']);
    const rv = (await c.kubectl(['get', 'configmap', 'old', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout;
    for (let i = 1; i <= 3; i++) await c.kubectl(['patch', 'configmap', 'old', '-p', `{"data":{"v":"${i}"}}`]);

    // the scheduled compaction passes rv within two intervals
    const gone = await waitFor(async () => {
      const r = await httpsGet(c, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
      const ev = lines(r.body)[0];
      return ev?.type === 'ERROR' ? { status: r.status, ev } : undefined;
    }, 30_000, '410 for a compacted resourceVersion');
    assert.equal(gone.status, 200);
    assert.equal(gone.ev.object.code, 410);
    assert.equal(gone.ev.object.reason, 'Expired');
    assert.match(gone.ev.object.message, new RegExp(`^too old resource version: ${rv} \\(\\d+\\)$`));

    // relist, then watch from the list's resourceVersion
    const list = JSON.parse((await httpsGet(c, '/api/v1/namespaces/default/configmaps')).body);
    assert.equal(list.items.find((i: any) => i.metadata.name === 'old').data.v, '3');
    const watching = httpsGet(c, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=3`);
    await c.kubectl(['patch', 'configmap', 'old', '-p', '{"data":{"v":"4"}}']);
    const events = lines((await watching).body);
    assert.ok(
      events.some((e) => e.type === 'MODIFIED' && e.object.data.v === '4'),
      JSON.stringify(events.map((e) => e.type)),
    );
    // kubectl's own watch (a list then a watch) works too
    const w = await c.kubectl(['get', 'configmaps', '--watch', '--request-timeout=2s'], { allowFail: true });
    assert.match(w.stdout, /old/);
    await stop(c);
  });

  it('a watch or an exact list from a resourceVersion the server has not reached gets 504 Too large resource version', async () => {
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const c = await start(dir);
    const cur = Number(JSON.parse((await httpsGet(c, '/api/v1/namespaces/default/configmaps')).body).metadata.resourceVersion);
    const future = cur + 1_000_000;
    for (const p of [
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${future}`,
      `/api/v1/namespaces/default/configmaps?resourceVersion=${future}&resourceVersionMatch=Exact`,
      `/api/v1/namespaces/default/configmaps?resourceVersion=${future}&resourceVersionMatch=NotOlderThan`,
      `/api/v1/namespaces/default/configmaps?resourceVersion=${future}&limit=5`,
      `/api/v1/namespaces/default?resourceVersion=${future}`,
    ]) {
      const q = p;
      const r = await httpsGet(c, p);
      assert.equal(r.status, 504, q);
      const s = JSON.parse(r.body);
      assert.equal(s.reason, 'Timeout', q);
      assert.match(s.message, new RegExp(`^Timeout: Too large resource version: ${future}, current: \\d+$`), q);
      assert.equal(s.details.causes[0].reason, 'ResourceVersionTooLarge', q);
    }
    // a resourceVersion reached within the wait is served as usual
    const now = Number(JSON.parse((await httpsGet(c, '/api/v1/namespaces/default/configmaps')).body).metadata.resourceVersion);
    const watching = httpsGet(c, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${now + 1}&timeoutSeconds=4`);
    // (the first write may be the one at now + 1 itself, which a watch from it does not show)
    for (const name of ['soon-1', 'soon-2']) {
      assert.equal((await httpsPost(c, '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } })).status, 201);
    }
    const w = await watching;
    assert.equal(w.status, 200);
    assert.ok(lines(w.body).some((e) => e.object.metadata?.name === 'soon-2'), w.body);
    await stop(c);
  });
});
