// examples/rabbitmq (seed 003's RabbitMQ cluster) through `petset up -f` on real pods in the
// root pod network and the real kubectl: three members that find each other by their DNS
// names form one cluster (cluster_status lists the three running nodes, asked of any member);
// a virtual host created through rabbitmq-0 is seen through rabbitmq-2; rabbitmq-0 deleted
// comes back under its old name with its claim, rejoins, and still has the virtual host.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { podNetworkUnavailable } from '../../../src/agent/podnet/pod-network.js';
import { processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { eventually, repoRoot, startCluster, tempDir, type Cluster } from '../harness.js';

const why =
  processRuntimeUnavailable() ??
  (await podNetworkUnavailable()) ??
  (fs.existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? undefined : 'rabbitmq-server is not installed (apt-get install rabbitmq-server)');
if (why) console.log(`# skipping the rabbitmq example: ${why}`);

const MEMBERS = [0, 1, 2].map((i) => `rabbit@rabbitmq-${i}.rabbitmq.default.svc.cluster.local`);

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

  before(async () => {
    dataDir = tempDir('petset-rabbitmq-e2e-');
    c = await startCluster({ dataDir, extraArgs: ['--runtime', 'process', '--pod-network', 'root', '-f', path.join(repoRoot, 'examples', 'rabbitmq', 'rabbitmq.yaml')] });
  });

  after(async () => {
    await c?.stop('SIGINT');
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
    const vhosts = async (pod: string) => (await c.kubectl(['exec', pod, '--', 'rabbitmqctl', '-q', 'list_vhosts'], { allowFail: true, timeoutMs: 60_000 })).stdout;
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
});
