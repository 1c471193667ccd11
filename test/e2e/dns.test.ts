// Cluster DNS through `petset up`: the seed's headless service and StatefulSet, asked with
// the real dig at the address `up` prints; names follow pods as they are replaced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { DB_MANIFEST, eventually, startCluster, type Cluster } from './harness.js';

const haveDig = await new Promise<boolean>((r) => execFile('dig', ['-v'], (e) => r(!e)));

let c: Cluster;
let dnsPort = 0;

function dig(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('dig', ['@127.0.0.1', '-p', String(dnsPort), '+time=2', '+tries=1', ...args], (e, stdout) => (e && !stdout ? reject(e) : resolve(stdout))),
  );
}

before(async () => {
  if (!haveDig) return;
  c = await startCluster({ extraArgs: ['--dns-upstream', 'none'] });
  const m = /Cluster DNS \(cluster\.local\) at 127\.0\.0\.1:(\d+)/.exec(c.output());
  assert.ok(m, `up prints the DNS address:\n${c.output()}`);
  dnsPort = Number(m[1]);
  await c.kubectl(['apply', '-f', '-'], { input: DB_MANIFEST });
});

after(async () => {
  await c?.stop();
});

const podIP = async (name: string) => (await c.kubectl(['get', 'pod', name, '-o', 'jsonpath={.status.podIP}'], { allowFail: true })).stdout.trim();

test("dig SRV of the seed's headless service lists every ready pet with its address", { skip: !haveDig && 'dig is not installed (apt-get install dnsutils)' }, async () => {
  await eventually(async () => (await c.kubectl(['get', 'sts', 'db', '-o', 'jsonpath={.status.readyReplicas}'])).stdout === '3', 60_000, 'db ready');
  const out = await eventually(async () => {
    const o = await dig('SRV', 'mysql.default.svc.cluster.local');
    return (o.match(/\sIN\s+SRV\s+\d/g) ?? []).length === 3 && o;
  }, 20_000, 'three SRV records');
  for (const n of [0, 1, 2]) {
    const ip = await podIP(`db-${n}`);
    assert.match(out, new RegExp(`SRV\\s+0 \\d+ 3306 db-${n}\\.mysql\\.default\\.svc\\.cluster\\.local\\.`));
    assert.match(out, new RegExp(`db-${n}\\.mysql\\.default\\.svc\\.cluster\\.local\\.\\s+5\\s+IN\\s+A\\s+${ip.replace(/\./g, '\\.')}`));
  }
  assert.match(await dig('_db._tcp.mysql.default.svc.cluster.local', 'SRV'), /ANSWER: 3,/);
});

test('a pet keeps its name when replaced, and the name follows the new pod', { skip: !haveDig && 'no dig' }, async () => {
  const before = await podIP('db-1');
  const oldUid = (await c.kubectl(['get', 'pod', 'db-1', '-o', 'jsonpath={.metadata.uid}'])).stdout;
  await c.kubectl(['delete', 'pod', 'db-1', '--wait=false']);
  await eventually(async () => {
    const r = await c.kubectl(['get', 'pod', 'db-1', '-o', 'jsonpath={.metadata.uid} {.status.podIP} {.status.conditions[?(@.type=="Ready")].status}'], { allowFail: true });
    const [uid, ip, ready] = r.stdout.split(' ');
    return uid && uid !== oldUid && ip && ready === 'True';
  }, 60_000, 'db-1 replaced and ready');
  const now = await podIP('db-1');
  await eventually(async () => (await dig('+short', 'db-1.mysql.default.svc.cluster.local')).trim() === now, 20_000, `db-1's name at ${now} (was ${before})`);
  assert.match(await dig('db-9.mysql.default.svc.cluster.local'), /status: NXDOMAIN/);
});

test('kube-system/kube-dns leads to the cluster DNS through its cluster IP', { skip: !haveDig && 'no dig' }, async () => {
  const svc = JSON.parse((await c.kubectl(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'json'])).stdout);
  assert.deepEqual(svc.spec.ports.map((p: any) => `${p.name}:${p.port}/${p.protocol}`), ['dns:53/UDP', 'dns-tcp:53/TCP']);
  const ep = JSON.parse((await c.kubectl(['get', 'endpoints', '-n', 'kube-system', 'kube-dns', '-o', 'json'])).stdout);
  assert.equal(ep.subsets[0].ports[0].port, dnsPort);
  assert.equal(svc.spec.clusterIP.split('.')[3], '10', 'the tenth address of the service range');
  const out = await eventually(
    () => new Promise<string>((resolve) => execFile('dig', [`@${svc.spec.clusterIP}`, '+short', '+time=2', '+tries=1', 'kubernetes.default.svc.cluster.local'], (_e, o) => resolve(String(o).trim()))),
    10_000,
    'an answer through the kube-dns cluster IP',
  );
  const kubernetesIP = (await c.kubectl(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
  assert.equal(out, kubernetesIP);
});
