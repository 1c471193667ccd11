// examples/patterns (seed 000) through `petset up -f` on real pods and the real kubectl: a
// raw pod with hostname, subdomain, its own claim and a headless service (1-raw); N such
// pods stamped out by the jq generator (2-multi); an init container that migrates the
// data on the pet's claim before the main container starts, once (3-init-migration); and
// one Service per pet through the statefulset.kubernetes.io/pod-name label (4-service-per-pet).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { eventually, repoRoot, startCluster, tempDir, type Cluster } from '../harness.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/usr/bin/jq') ? undefined : 'jq is not installed (apt-get install jq)');
if (why) console.log(`# skipping the patterns example: ${why}`);

type Obj = Record<string, any>;
const dir = path.join(repoRoot, 'examples', 'patterns');

describe('examples/patterns: seed 000 on real pods', { skip: why }, () => {
  let c: Cluster;
  let dataDir: string;

  const pod = async (name: string): Promise<Obj | undefined> => {
    const r = await c.kubectl(['get', 'pod', name, '-o', 'json'], { allowFail: true });
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  };
  const ready = (name: string, what = `${name} ready`, not?: string) =>
    eventually(async () => {
      const p = await pod(name);
      return p && p.metadata.uid !== not && p.status?.containerStatuses?.[0]?.ready ? p : undefined;
    }, 120_000, what);
  /** GET from inside a pod (busybox wget; its -T segfaults in 1.35), by the names the cluster DNS serves. */
  const get = async (from: string, url: string) => {
    const r = await c.kubectl(['exec', from, '--', 'wget', '-qO-', url], { allowFail: true });
    return r.code === 0 ? r.stdout : undefined;
  };

  before(async () => {
    dataDir = tempDir('petset-patterns-e2e-');
    const files = ['1-raw.yaml', '3-init-migration.yaml', '4-service-per-pet.yaml'].flatMap((f) => ['-f', path.join(dir, f)]);
    c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process', ...files] });
    // 2-multi: the generator's List, applied as the README does
    const list = execFileSync(path.join(dir, '2-multi', 'generate.sh'), ['3'], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(list).items.map((o: Obj) => `${o.kind}/${o.metadata.name}`), [
      'Service/multi', 'PersistentVolumeClaim/data-multi-0', 'Pod/multi-0', 'PersistentVolumeClaim/data-multi-1', 'Pod/multi-1', 'PersistentVolumeClaim/data-multi-2', 'Pod/multi-2',
    ]);
    await c.kubectl(['apply', '-f', '-'], { input: list });
  });

  after(async () => {
    await c?.stop('SIGINT');
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('1-raw: a bare pod with hostname, subdomain and its own claim is reachable by name; deleted, it stays deleted until re-created, and its data remains', { timeout: 240_000 }, async () => {
    const raw = await ready('raw-0');
    assert.equal((await c.kubectl(['exec', 'raw-0', '--', 'hostname', '-f'])).stdout.trim(), 'raw-0.raw.default.svc.cluster.local');
    await ready('multi-0');
    const page = await eventually(() => get('multi-0', 'http://raw-0.raw:8080/'), 60_000, 'raw-0.raw from multi-0');
    assert.match(page, /^raw-0\.raw\.default\.svc\.cluster\.local first started \d{4}-/);
    await c.kubectl(['delete', 'pod', 'raw-0', '--wait=true']);
    assert.equal(await pod('raw-0'), undefined, 'nothing re-creates a bare pod');
    await c.kubectl(['apply', '-f', path.join(dir, '1-raw.yaml')]);
    await ready('raw-0', 'raw-0 re-created', raw.metadata.uid);
    assert.equal(await eventually(() => get('multi-0', 'http://raw-0.raw:8080/'), 60_000, 'raw-0 again'), page, 'the page written at the first start, kept on the claim');
  });

  it('2-multi: the generator stamps out pods with their own hostnames and claims behind one headless service', { timeout: 240_000 }, async () => {
    for (const i of [0, 1, 2]) {
      const p = await ready(`multi-${i}`);
      assert.equal(p.spec.hostname, `multi-${i}`);
      assert.equal(p.spec.volumes[0].persistentVolumeClaim.claimName, `data-multi-${i}`);
    }
    const claims = JSON.parse((await c.kubectl(['get', 'pvc', '-o', 'json'])).stdout).items.filter((x: Obj) => x.metadata.name.startsWith('data-multi-'));
    assert.equal(claims.length, 3);
    assert.ok(claims.every((x: Obj) => x.status.phase === 'Bound'));
    assert.equal(new Set(claims.map((x: Obj) => x.spec.volumeName)).size, 3, 'a volume each');
    for (const i of [0, 1, 2]) {
      const page = await eventually(() => get('raw-0', `http://multi-${i}.multi:8080/`), 60_000, `multi-${i}.multi from raw-0`);
      assert.match(page, new RegExp(`^multi-${i}\\.multi\\.default\\.svc\\.cluster\\.local first started`));
    }
  });

  it('3-init-migration: the init container migrates each pet once, before the main container; a template change migrates pet by pet', { timeout: 300_000 }, async () => {
    await c.kubectl(['rollout', 'status', 'sts/app', '--timeout=120s'], { timeoutMs: 130_000 });
    for (const i of [0, 1]) {
      assert.match((await c.kubectl(['logs', `app-${i}`, '-c', 'migrate'])).stdout, new RegExp(`migration to v1 on app-${i}\\nmigration to v2 on app-${i}`));
      assert.equal((await eventually(() => get('raw-0', `http://app-${i}.app:8080/schema-version`), 60_000, `app-${i} schema`)).trim(), '2');
    }
    // a restart finds the schema current
    const old = (await pod('app-0'))!;
    await c.kubectl(['delete', 'pod', 'app-0']);
    await ready('app-0', 'app-0 back', old.metadata.uid);
    assert.equal((await c.kubectl(['logs', 'app-0', '-c', 'migrate'])).stdout.trim(), 'schema is at v2: nothing to migrate');
    // the next schema version, through a rolling update
    await c.kubectl(['set', 'env', 'sts/app', '-c', 'migrate', 'SCHEMA_VERSION=3']);
    await c.kubectl(['rollout', 'status', 'sts/app', '--timeout=120s'], { timeoutMs: 130_000 });
    for (const i of [0, 1]) {
      const log = await eventually(() => get('raw-0', `http://app-${i}.app:8080/migrations.log`), 60_000, `app-${i} migrations.log`);
      assert.deepEqual(log.trim().split('\n'), [1, 2, 3].map((v) => `migration to v${v} on app-${i}`), 'each migration ran once');
    }
  });

  it('4-service-per-pet: one Service per pet selects exactly that pet by its pod-name label, and keeps its address when the pet is re-created', { timeout: 240_000 }, async () => {
    await c.kubectl(['rollout', 'status', 'sts/pet', '--timeout=120s'], { timeoutMs: 130_000 });
    for (const i of [0, 1, 2]) {
      const p = (await pod(`pet-${i}`))!;
      assert.equal(p.metadata.labels['statefulset.kubernetes.io/pod-name'], `pet-${i}`);
      const ep = await eventually(async () => {
        const e = JSON.parse((await c.kubectl(['get', 'endpoints', `pet-${i}`, '-o', 'json'])).stdout);
        const addrs = (e.subsets ?? []).flatMap((s: Obj) => s.addresses ?? []);
        return addrs.length === 1 && addrs[0].targetRef?.name === `pet-${i}` ? addrs : undefined;
      }, 30_000, `pet-${i}'s service to select only pet-${i}`);
      assert.equal(ep[0].ip, p.status.podIP);
      assert.equal((await eventually(() => get('raw-0', `http://pet-${i}/`), 60_000, `service pet-${i}`)).trim(), `pet-${i}`);
    }
    const svc = JSON.parse((await c.kubectl(['get', 'svc', 'pet-1', '-o', 'json'])).stdout);
    const old = (await pod('pet-1'))!;
    await c.kubectl(['delete', 'pod', 'pet-1']);
    await ready('pet-1', 'pet-1 back', old.metadata.uid);
    assert.equal(JSON.parse((await c.kubectl(['get', 'svc', 'pet-1', '-o', 'json'])).stdout).spec.clusterIP, svc.spec.clusterIP);
    assert.equal((await eventually(() => get('raw-0', 'http://pet-1/'), 60_000, 'service pet-1 after the re-creation')).trim(), 'pet-1');
  });
  it('data survives: app scaled 2 → 1 → 2, its StatefulSet deleted and re-created, and petset up restarted; the raw pod keeps its page', { timeout: 480_000 }, async () => {
    const logOf = (i: number) => eventually(() => get('raw-0', `http://app-${i}.app:8080/migrations.log`), 90_000, `app-${i} migrations.log`);
    const logs = [await logOf(0), await logOf(1)];
    const rawPage = await eventually(() => get('multi-0', 'http://raw-0.raw:8080/'), 60_000, 'raw-0.raw from multi-0');
    const rollout = () => c.kubectl(['rollout', 'status', 'sts/app', '--timeout=150s'], { timeoutMs: 160_000 });

    await c.kubectl(['scale', 'sts/app', '--replicas=1']);
    await eventually(async () => (await pod('app-1')) === undefined, 120_000, 'app-1 gone');
    await c.kubectl(['scale', 'sts/app', '--replicas=2']);
    await rollout();
    assert.equal(await logOf(1), logs[1], 'app-1 is back on its claim: no migration ran again');

    // the StatefulSet deleted (its pods go) and applied again from the file: the claims stay and
    // are taken up again, so the pets find their schema current
    await c.kubectl(['delete', 'sts', 'app']);
    await eventually(async () => !(await pod('app-0')) && !(await pod('app-1')), 120_000, "app's pods gone");
    await c.kubectl(['apply', '-f', path.join(dir, '3-init-migration.yaml')]);
    await rollout();
    assert.deepEqual([await logOf(0), await logOf(1)], logs, 'the re-created pets kept their data');

    // petset up restarted on the same data dir, ranges and all
    const argOf = (name: string) => c.proc.spawnargs[c.proc.spawnargs.indexOf(name) + 1];
    const keep = ['--pod-cidr', argOf('--pod-cidr'), '--service-cluster-ip-range', argOf('--service-cluster-ip-range')];
    await c.stop('SIGINT');
    c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process', ...keep] });
    await rollout();
    await ready('raw-0', 'raw-0 after the restart');
    await ready('multi-0', 'multi-0 after the restart');
    assert.deepEqual([await logOf(0), await logOf(1)], logs, 'the pets kept their data across the restart');
    assert.equal(await eventually(() => get('multi-0', 'http://raw-0.raw:8080/'), 90_000, 'raw-0 after the restart'), rawPage, "the raw pod's page, kept on its claim");
  });
});
