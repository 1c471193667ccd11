// examples/rabbitmq (seed 003's RabbitMQ cluster) through `petset up -f` on real pods in the
// root pod network and the real kubectl: three members that find each other by their DNS
// names form one cluster (cluster_status lists the three running nodes, asked of any member);
// a virtual host created through rabbitmq-0 is seen through rabbitmq-2; rabbitmq-0 deleted
// comes back under its old name with its claim, rejoins, and still has the virtual host; the
// same after scaling 3 → 1 → 3, and after all members stopped at once (the StatefulSet deleted
// and re-created, and a restart of petset up), which the parallel start makes safe.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { podNetworkUnavailable } from '../../../src/agent/podnet/pod-network.js';
import { processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { eventually, randomRootRanges, repoRoot, startCluster, tempDir, type Cluster } from '../harness.js';
import { alive, inPodOf, pidsOf } from './support.js';

const why =
  processRuntimeUnavailable() ??
  (await podNetworkUnavailable()) ??
  (fs.existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? undefined : 'rabbitmq-server is not installed (apt-get install rabbitmq-server)');
if (why) console.log(`# skipping the rabbitmq example: ${why}`);

const MEMBERS = [0, 1, 2].map((i) => `rabbit@rabbitmq-${i}.rabbitmq.default.svc.cluster.local`);
const manifest = path.join(repoRoot, 'examples', 'rabbitmq', 'rabbitmq.yaml');
/** Host pids of this cluster's Erlang nodes (beam.smp with a member's node name, in a pod of its data directory). */
const brokerPids = (dataDir: string) =>
  pidsOf((a) => a.some((x) => x.includes('rabbitmq-')) && a.some((x) => MEMBERS.includes(x))).filter((pid) => inPodOf(pid, dataDir));

/** The guard's drop counters of this cluster's pod network (they must stay 0). */
function guardDrops(id: string): number {
  const json = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', `petset_guard_${id}`], { encoding: 'utf8' }));
  let packets = 0;
  for (const item of json.nftables ?? []) {
    if (item.rule && item.rule.chain !== 'output' && item.rule.chain !== 'forward') continue;
    for (const e of item.rule?.expr ?? []) if (e.counter) packets += Number(e.counter.packets) || 0;
  }
  return packets;
}

describe('examples/rabbitmq: three members clustered by their DNS names', { skip: why }, () => {
  let c: Cluster;
  let dataDir: string;
  // the same ranges across the restart of petset up
  const ranges = randomRootRanges();
  const args = ['--runtime', 'process', '--pod-network', 'root', '--pod-cidr', ranges.podCidr, '--service-cluster-ip-range', ranges.serviceCidr];
  const seen = new Set<number>();
  const stopUp = async () => {
    brokerPids(dataDir).forEach((p) => seen.add(p));
    await c?.stop('SIGINT');
    await eventually(() => [...seen].every((pid) => !alive(pid)), 60_000, 'the brokers to stop');
  };

  before(async () => {
    dataDir = tempDir('petset-rabbitmq-e2e-');
    c = await startCluster({ dataDir, extraArgs: [...args, '-f', manifest] });
  });

  after(async () => {
    await stopUp();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const runningNodes = async (pod: string): Promise<string[] | undefined> => {
    const r = await c.kubectl(['exec', pod, '--', 'rabbitmqctl', 'cluster_status', '--formatter', 'json'], { allowFail: true, timeoutMs: 60_000 });
    if (r.code !== 0) return undefined;
    try {
      return (JSON.parse(r.stdout).running_nodes as string[]).sort();
    } catch {
      return undefined;
    }
  };
  const vhosts = async (pod: string) => (await c.kubectl(['exec', pod, '--', 'rabbitmqctl', '-q', 'list_vhosts'], { allowFail: true, timeoutMs: 60_000 })).stdout;
  const clustered = (pod: string) =>
    eventually(async () => {
      const nodes = await runningNodes(pod);
      return nodes && nodes.length === 3 ? nodes : undefined;
    }, 240_000, `three running nodes seen from ${pod}`);

  it('forms one cluster, shares its metadata, and a deleted member rejoins under its old name', { timeout: 600_000 }, async () => {
    const id = /guard table inet petset_guard_([0-9a-f]+)/.exec(c.output())?.[1];
    assert.ok(id, c.output());
    await c.kubectl(['rollout', 'status', 'sts/rabbitmq', '--timeout=300s'], { timeoutMs: 310_000 });
    assert.deepEqual(await clustered('rabbitmq-2'), MEMBERS);

    await c.kubectl(['exec', 'rabbitmq-0', '--', 'rabbitmqctl', 'add_vhost', 'petset'], { timeoutMs: 60_000 });
    await eventually(async () => ((await vhosts('rabbitmq-2')).split(/\s+/).includes('petset') ? true : undefined), 30_000, 'the vhost on rabbitmq-2');

    const before = JSON.parse((await c.kubectl(['get', 'pod', 'rabbitmq-0', '-o', 'json'])).stdout);
    await c.kubectl(['delete', 'pod', 'rabbitmq-0'], { timeoutMs: 90_000 });
    await eventually(async () => {
      const p = JSON.parse((await c.kubectl(['get', 'pod', 'rabbitmq-0', '-o', 'json'], { allowFail: true })).stdout || '{}');
      return p.metadata?.uid && p.metadata.uid !== before.metadata.uid && p.status?.containerStatuses?.[0]?.ready ? p : undefined;
    }, 240_000, 'rabbitmq-0 back and ready');
    assert.deepEqual(await clustered('rabbitmq-0'), MEMBERS);
    assert.ok((await vhosts('rabbitmq-0')).split(/\s+/).includes('petset'), 'the vhost kept in rabbitmq-0 data');
    assert.equal(guardDrops(id!), 0, 'the guard dropped nothing');
  });

  const hasVhosts = async (pod: string, want: string[]) => {
    const list = await eventually(async () => {
      const out = (await vhosts(pod)).split(/\s+/);
      return want.every((v) => out.includes(v)) && out;
    }, 60_000, `${want.join(', ')} on ${pod}`);
    assert.ok(list);
  };

  it('keeps its members and data through scaling 3 → 1 → 3, the StatefulSet deleted and re-created, and a restart of petset up', { timeout: 900_000 }, async () => {
    // 3 → 1: rabbitmq-0 alone keeps serving and accepts changes; → 3: the others rejoin as themselves
    brokerPids(dataDir).forEach((p) => seen.add(p));
    await c.kubectl(['scale', 'sts/rabbitmq', '--replicas=1']);
    await eventually(async () => JSON.parse((await c.kubectl(['get', 'pods', '-l', 'app=rabbitmq', '-o', 'json'])).stdout).items.length === 1, 120_000, 'one member left');
    await eventually(async () => (await c.kubectl(['exec', 'rabbitmq-0', '--', 'rabbitmqctl', 'add_vhost', 'while-scaled-down'], { allowFail: true, timeoutMs: 60_000 })).code === 0, 60_000, 'a vhost added on rabbitmq-0 alone');
    await c.kubectl(['scale', 'sts/rabbitmq', '--replicas=3']);
    await c.kubectl(['rollout', 'status', 'sts/rabbitmq', '--timeout=300s'], { timeoutMs: 310_000 });
    assert.deepEqual(await clustered('rabbitmq-2'), MEMBERS);
    await hasVhosts('rabbitmq-2', ['petset', 'while-scaled-down']);
    await hasVhosts('rabbitmq-1', ['petset', 'while-scaled-down']);

    // all members stop at once and start again together: the StatefulSet deleted and re-created
    const claims = async () => JSON.parse((await c.kubectl(['get', 'pvc', '-o', 'json'])).stdout).items.map((x: Record<string, any>) => `${x.metadata.name}=${x.spec.volumeName}`).sort();
    const before = await claims();
    assert.equal(before.length, 3);
    brokerPids(dataDir).forEach((p) => seen.add(p));
    await c.kubectl(['delete', 'sts', 'rabbitmq'], { timeoutMs: 120_000 });
    await eventually(async () => JSON.parse((await c.kubectl(['get', 'pods', '-l', 'app=rabbitmq', '-o', 'json'])).stdout).items.length === 0, 120_000, 'the members gone with their StatefulSet');
    await c.kubectl(['apply', '-f', manifest]);
    await c.kubectl(['rollout', 'status', 'sts/rabbitmq', '--timeout=300s'], { timeoutMs: 310_000 });
    assert.deepEqual(await clustered('rabbitmq-1'), MEMBERS);
    await hasVhosts('rabbitmq-0', ['petset', 'while-scaled-down']);
    assert.deepEqual(await claims(), before, 'the same claims and volumes');

    // and a restart of petset up
    await stopUp();
    c = await startCluster({ dataDir, extraArgs: args });
    await c.kubectl(['rollout', 'status', 'sts/rabbitmq', '--timeout=300s'], { timeoutMs: 310_000 });
    assert.deepEqual(await clustered('rabbitmq-0'), MEMBERS);
    await hasVhosts('rabbitmq-2', ['petset', 'while-scaled-down']);
    assert.deepEqual(await claims(), before, 'the same claims and volumes after the restart');
  });
});
