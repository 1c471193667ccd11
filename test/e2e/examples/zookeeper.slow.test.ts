// examples/zookeeper through `petset up --nodes 3 -f` on real pods and the real kubectl: the
// ensemble forms (myid from the ordinal, one leader and two followers, one member per node),
// a znode written through zk-2 is read through zk-1; the node-failure drill (partition the
// node of zk-1, force-delete the pod, heal) keeps the service available and brings zk-1 back
// with its claim, never running two zk-1 servers; and a bad rolling update halts with the
// old members serving until the template is fixed and the stuck pod deleted; the data
// outlives scaling 3 → 1 → 3, deleting and re-creating the StatefulSet and a restart of
// petset up.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { eventually, petsetBin, processAlive as alive, repoRoot, startCluster, tempDir, type Cluster } from '../harness.js';
import { inPodOf } from './support.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/usr/share/java/zookeeper.jar') ? undefined : 'zookeeper is not installed (apt-get install zookeeper)');
if (why) console.log(`# skipping the zookeeper example: ${why}`);

type Obj = Record<string, any>;
const manifest = path.join(repoRoot, 'examples', 'zookeeper', 'zookeeper.yaml');
// a service range of this test's own, the same across the restart of petset up
const range = ['--service-cluster-ip-range', `127.${97 + Math.floor(Math.random() * 15)}.${Math.floor(Math.random() * 256)}.0/24`];

/** Host pids of this cluster's ZooKeeper servers running as pod zk-N (the sandbox's HOSTNAME). */
function zkServerPids(name: string, dataDir: string): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('org.apache.zookeeper.server.quorum.QuorumPeerMain')) continue;
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`HOSTNAME=${name}`) && alive(Number(pid)) && inPodOf(Number(pid), dataDir)) out.push(Number(pid));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function petsetNode(dataDir: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [petsetBin, 'node', ...args, '--data-dir', dataDir], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`petset node ${args.join(' ')}: ${stderr}${stdout}`)) : resolve(stdout),
    ),
  );
}

describe('examples/zookeeper: the Kubernetes ZooKeeper tutorial on real pods', { skip: why }, () => {
  let c: Cluster;
  let dataDir: string;
  let startedAt = 0;
  const seen = new Set<number>();

  const pods = async (): Promise<Obj[]> => JSON.parse((await c.kubectl(['get', 'pods', '-l', 'app=zk', '-o', 'json'])).stdout).items;
  const pod = async (name: string) => (await pods()).find((p) => p.metadata.name === name);
  const zkCli = async (member: string, ...args: string[]) => {
    const r = await c.kubectl(['exec', member, '--', 'zkCli.sh', ...args], { allowFail: true, timeoutMs: 60_000 });
    return r.code === 0 ? r.stdout : undefined;
  };
  const mode = async (member: string) => /Mode: (\w+)/.exec((await c.kubectl(['exec', member, '--', 'zkServer.sh', 'status'], { allowFail: true })).stdout)?.[1];
  const modes = async () => Promise.all(['zk-0', 'zk-1', 'zk-2'].map(mode));
  const quorum = async () => {
    const m = await modes();
    return m.filter((x) => x === 'leader').length === 1 && m.filter((x) => x === 'follower').length === 2 && m;
  };
  const readZnode = (member: string, znode: string, value: string) =>
    eventually(async () => (await zkCli(member, 'get', znode))?.split('\n').some((l) => l.trim() === value), 60_000, `${znode} = ${value} through ${member}`);

  before(async () => {
    dataDir = tempDir('petset-zk-e2e-');
    startedAt = Date.now();
    c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process', '--nodes', '3', ...range, '-f', manifest] });
  });

  after(async () => {
    await c?.stop('SIGINT');
    for (const n of ['zk-0', 'zk-1', 'zk-2']) for (const pid of zkServerPids(n, dataDir)) seen.add(pid);
    await eventually(() => [...seen].every((pid) => !alive(pid)), 30_000, 'the ZooKeeper servers to stop');
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('forms an ensemble of one leader and two followers; a znode written through zk-2 is read through zk-1', { timeout: 300_000 }, async (t) => {
    await eventually(async () => (await c.kubectl(['get', 'sts', 'zk'], { allowFail: true })).code === 0, 30_000, 'the StatefulSet from up -f');
    await c.kubectl(['rollout', 'status', 'sts/zk', '--timeout=180s'], { timeoutMs: 190_000 });
    const members = (await pods()).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    assert.equal(new Set(members.map((p) => p.spec.nodeName)).size, 3, 'one member per node (anti-affinity)');
    for (const i of [0, 1, 2]) {
      assert.equal((await c.kubectl(['exec', `zk-${i}`, '--', 'cat', '/var/lib/zookeeper/data/myid'])).stdout.trim(), String(i + 1));
      assert.equal((await c.kubectl(['exec', `zk-${i}`, '--', 'hostname', '-f'])).stdout.trim(), `zk-${i}.zk-hs.default.svc.cluster.local`);
    }
    const cfg = (await c.kubectl(['exec', 'zk-0', '--', 'cat', '/opt/zookeeper/conf/zoo.cfg'])).stdout;
    assert.match(cfg, /^server\.2=zk-1\.zk-hs\.default\.svc\.cluster\.local:2888:3888$/m);
    const m = await eventually(quorum, 90_000, 'one leader and two followers');
    assert.equal(m.length, 3);
    const rss = ['zk-0', 'zk-1', 'zk-2'].flatMap((n) => zkServerPids(n, dataDir)).map((pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
    t.diagnostic(`bench: petset up -f to a 3-member ensemble with a leader: ${((Date.now() - startedAt) / 1000).toFixed(1)} s; server RSS ${rss.map((x) => x.toFixed(0)).join(' + ')} MiB`);
    await eventually(async () => (await zkCli('zk-2', 'create', '/hello', 'world')) !== undefined, 60_000, 'create /hello through zk-2');
    await readZnode('zk-1', '/hello', 'world');
    // the PodDisruptionBudget allows one member down at a time
    const pdb = await eventually(async () => {
      const p = JSON.parse((await c.kubectl(['get', 'pdb', 'zk-pdb', '-o', 'json'])).stdout);
      return p.status?.currentHealthy === 3 && p.status;
    }, 30_000, 'the PDB to count 3 healthy members');
    assert.equal(pdb.disruptionsAllowed, 1);
  });

  it('survives the node-failure drill: partition zk-1\'s node, force-delete zk-1, heal; zk-1 rejoins with its claim, never twice', { timeout: 400_000 }, async () => {
    const old = (await pod('zk-1'))!;
    const node = old.spec.nodeName as string;
    const claim = JSON.parse((await c.kubectl(['get', 'pvc', 'datadir-zk-1', '-o', 'json'])).stdout);
    const oldPids = zkServerPids('zk-1', dataDir);
    assert.equal(oldPids.length, 1);
    oldPids.forEach((p) => seen.add(p));
    // at no moment two zk-1 servers: sampled for the whole drill
    let most = 0;
    const sampler = setInterval(() => {
      const pids = zkServerPids('zk-1', dataDir);
      pids.forEach((p) => seen.add(p));
      most = Math.max(most, pids.length);
    }, 50);
    try {
      assert.match(await petsetNode(dataDir, 'partition', node), /partitioned/);
      await c.kubectl(['delete', 'pod', 'zk-1', '--grace-period=0', '--force']);
      // the service stays available: writes and reads go through the other two members
      await eventually(async () => (await zkCli('zk-0', 'create', '/during-partition', 'still-serving')) !== undefined, 60_000, 'a write through zk-0 during the partition');
      await readZnode('zk-2', '/during-partition', 'still-serving');
      assert.match(await petsetNode(dataDir, 'heal', node), /healed/);
      // the node's agent stops the old server, whose pod the API no longer has
      await eventually(() => oldPids.every((p) => !alive(p)), 60_000, 'the old zk-1 server to stop after heal');
      await eventually(async () => (await zkCli('zk-2', 'create', '/two-members', 'yes')) !== undefined, 60_000, 'a write with zk-0 and zk-2');
      const back = await eventually(async () => {
        const p = await pod('zk-1');
        return p && p.metadata.uid !== old.metadata.uid && p.status?.containerStatuses?.[0]?.ready ? p : undefined;
      }, 180_000, 'the replacement zk-1 to be ready');
      assert.equal(back.spec.volumes.find((v: Obj) => v.name === 'datadir').persistentVolumeClaim.claimName, 'datadir-zk-1');
      const claimAfter = JSON.parse((await c.kubectl(['get', 'pvc', 'datadir-zk-1', '-o', 'json'])).stdout);
      assert.equal(claimAfter.metadata.uid, claim.metadata.uid, 'the same claim');
      assert.equal(claimAfter.spec.volumeName, claim.spec.volumeName, 'the same volume');
      assert.equal((await c.kubectl(['exec', 'zk-1', '--', 'cat', '/var/lib/zookeeper/data/myid'])).stdout.trim(), '2');
      await readZnode('zk-1', '/hello', 'world');
      await readZnode('zk-1', '/two-members', 'yes');
      await eventually(quorum, 90_000, 'one leader and two followers again');
    } finally {
      clearInterval(sampler);
    }
    assert.equal(most, 1, 'never two zk-1 servers at once');
  });

  it('halts a bad rolling update with the old members serving; fixing the template and deleting the stuck pod completes it', { timeout: 400_000 }, async () => {
    const sts = JSON.parse((await c.kubectl(['get', 'sts', 'zk', '-o', 'json'])).stdout);
    const cmd: string = sts.spec.template.spec.containers[0].command[2];
    const oldRevision = sts.status.currentRevision as string;
    const setCommand = (text: string) =>
      c.kubectl(['patch', 'sts', 'zk', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/command/2', value: text }])]);
    // a heap size the JVM refuses: the new zk-2 crashes at start
    await setCommand(cmd.replace(/--heap=\S+/, '--heap=128X'));
    const stuck = await eventually(async () => {
      const p = await pod('zk-2');
      const cs = p?.status?.containerStatuses?.[0];
      return p && p.metadata.labels['controller-revision-hash'] !== oldRevision && (cs?.restartCount ?? 0) >= 1 && !cs.ready ? p : undefined;
    }, 120_000, 'the updated zk-2 to crash');
    assert.match((await c.kubectl(['logs', 'zk-2', '--previous'], { allowFail: true })).stdout + (await c.kubectl(['logs', 'zk-2'], { allowFail: true })).stdout, /Invalid (initial|maximum) heap size/);
    assert.ok(stuck);
    // the rollout halts: zk-0 and zk-1 stay on the old revision and keep serving
    for (const n of ['zk-0', 'zk-1']) assert.equal((await pod(n))!.metadata.labels['controller-revision-hash'], oldRevision, `${n} keeps the old revision`);
    // if zk-2 led, zk-0 and zk-1 elect a new leader first; a round that dials a re-created
    // member's old address fails after initLimit × tickTime (20 s) (see the README)
    await eventually(async () => (await zkCli('zk-0', 'create', '/during-bad-rollout', 'served')) !== undefined, 120_000, 'a write through zk-0 during the bad rollout');
    await readZnode('zk-1', '/during-bad-rollout', 'served');
    const halted = JSON.parse((await c.kubectl(['get', 'sts', 'zk', '-o', 'json'])).stdout).status;
    assert.equal(halted.currentRevision, oldRevision);
    assert.ok((halted.updatedReplicas ?? 0) <= 1, JSON.stringify(halted));
    // the manual intervention: fix the template, delete the stuck pod
    await setCommand(cmd.replace(/--heap=\S+/, '--heap=160M'));
    await c.kubectl(['delete', 'pod', 'zk-2']);
    await c.kubectl(['rollout', 'status', 'sts/zk', '--timeout=240s'], { timeoutMs: 250_000 });
    const done = JSON.parse((await c.kubectl(['get', 'sts', 'zk', '-o', 'json'])).stdout).status;
    assert.equal(done.currentRevision, done.updateRevision);
    assert.notEqual(done.currentRevision, oldRevision);
    for (const p of await pods()) assert.equal(p.metadata.labels['controller-revision-hash'], done.updateRevision, `${p.metadata.name} updated`);
    await eventually(quorum, 90_000, 'one leader and two followers after the rollout');
    for (const n of ['zk-0', 'zk-1', 'zk-2']) await readZnode(n, '/during-bad-rollout', 'served');
    for (const n of ['zk-0', 'zk-1', 'zk-2']) zkServerPids(n, dataDir).forEach((p) => seen.add(p));
  });

  it('keeps its data when scaled 3 → 1 → 3, when the StatefulSet is deleted and re-created, and across a restart of petset up', { timeout: 600_000 }, async () => {
    const claims = async () => JSON.parse((await c.kubectl(['get', 'pvc', '-o', 'json'])).stdout).items.map((x: Obj) => `${x.metadata.name}=${x.spec.volumeName}`).sort();
    const before = await claims();
    assert.equal(before.length, 3);
    // 3 → 1: zk-0 alone has no quorum (it answers ruok, so it stays Ready); → 3: the members
    // return as themselves on their claims, the ensemble re-forms with its znodes
    for (const n of ['zk-0', 'zk-1', 'zk-2']) zkServerPids(n, dataDir).forEach((p) => seen.add(p));
    await c.kubectl(['scale', 'sts/zk', '--replicas=1']);
    await eventually(async () => (await pods()).length === 1, 120_000, 'one member left');
    await c.kubectl(['scale', 'sts/zk', '--replicas=3']);
    await c.kubectl(['rollout', 'status', 'sts/zk', '--timeout=180s'], { timeoutMs: 190_000 });
    await eventually(quorum, 90_000, 'the ensemble after scaling back');
    for (const n of ['zk-1', 'zk-2']) assert.equal((await c.kubectl(['exec', n, '--', 'cat', '/var/lib/zookeeper/data/myid'])).stdout.trim(), String(Number(n.slice(3)) + 1));
    await readZnode('zk-2', '/hello', 'world');
    await eventually(async () => (await zkCli('zk-1', 'create', '/after-scaling', 'yes')) !== undefined, 60_000, 'create /after-scaling through zk-1');
    assert.deepEqual(await claims(), before, 'the same claims after scaling');
    await c.kubectl(['delete', 'sts', 'zk']);
    await eventually(async () => (await pods()).length === 0, 120_000, 'the members to go with their StatefulSet');
    assert.deepEqual(await claims(), before, 'the claims stay');
    await c.kubectl(['apply', '-f', manifest]);
    await c.kubectl(['rollout', 'status', 'sts/zk', '--timeout=180s'], { timeoutMs: 190_000 });
    await eventually(quorum, 90_000, 'the re-created ensemble');
    await readZnode('zk-0', '/hello', 'world');
    await readZnode('zk-2', '/during-bad-rollout', 'served');

    for (const n of ['zk-0', 'zk-1', 'zk-2']) zkServerPids(n, dataDir).forEach((p) => seen.add(p));
    await c.stop('SIGINT');
    await eventually(() => [...seen].every((pid) => !alive(pid)), 60_000, 'Ctrl-C to stop the servers');
    c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process', '--nodes', '3', ...range] });
    await c.kubectl(['rollout', 'status', 'sts/zk', '--timeout=180s'], { timeoutMs: 190_000 });
    await eventually(quorum, 90_000, 'the ensemble after petset up restarted');
    assert.deepEqual(await claims(), before, 'the same claims and volumes');
    await readZnode('zk-1', '/hello', 'world');
    await readZnode('zk-2', '/two-members', 'yes');
    await readZnode('zk-0', '/after-scaling', 'yes');
    for (const n of ['zk-0', 'zk-1', 'zk-2']) zkServerPids(n, dataDir).forEach((p) => seen.add(p));
  });
});
