// examples/redis: a primary and two replicas (replicaof redis-0.redis) through `petset up`
// on real pods and the real kubectl. The replicas report their link to the primary up and
// serve what was written on it; the data survives deleting the primary, scaling 3 → 1 → 3,
// deleting and re-creating the StatefulSet, and a restart of petset up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, type Cluster } from '../harness.js';
import { execIn, exampleDir, pods, readyPod, rollout, rssMiB, scale, serverPids, skipReason, withCluster } from './support.js';

const why = skipReason('/usr/bin/redis-server');

const cli = (c: Cluster, pod: string, ...args: string[]) => execIn(c, pod, 'redis', ['redis-cli', '-h', `${pod}.redis`, ...args]);

async function linkUp(c: Cluster, replica: string): Promise<string> {
  return eventually(async () => {
    const info = await cli(c, replica, 'INFO', 'replication');
    return info && /role:slave/.test(info) && /master_link_status:up/.test(info) && info;
  }, 60_000, `${replica}'s link to the primary up`);
}

async function serves(c: Cluster, pod: string, key: string, value: string): Promise<void> {
  await eventually(async () => (await cli(c, pod, 'GET', key)) === value, 60_000, `${pod} to serve ${key}=${value}`);
}

describe('examples/redis (primary and replicas)', { skip: why }, () => {
  it('replicates redis-0 to both replicas and keeps the data through a deleted primary and scaling', { timeout: 300_000 }, async () => {
    await withCluster('petset-redis-e2e-', [], async (s) => {
      let c = s.c;
      const watch = s.watch;
      const t0 = Date.now();
      await c.kubectl(['apply', '-f', exampleDir('redis') + '/redis.yaml']);
      await rollout(c, 'redis');
      const ready = Date.now() - t0;
      const servers = await serverPids(c, 'redis-server', 'redis-');
      assert.equal(servers.length, 3, 'three redis-server processes, one per pod IP');
      watch(servers);
      console.log(`# bench: redis, 3 members ready ${ready} ms after kubectl apply; servers' RSS ${rssMiB(servers)} MiB`);

      assert.equal(await cli(c, 'redis-0', 'SET', 'greeting', 'hello'), 'OK');
      for (const replica of ['redis-1', 'redis-2']) {
        const info = await linkUp(c, replica);
        assert.match(info, /master_host:redis-0\.redis/);
        await serves(c, replica, 'greeting', 'hello');
        // a replica is read-only
        assert.match((await c.kubectl(['exec', replica, '--', 'redis-cli', '-h', `${replica}.redis`, 'SET', 'x', '1'], { allowFail: true })).stdout, /READONLY/);
      }
      assert.match((await cli(c, 'redis-0', 'INFO', 'replication'))!, /connected_slaves:2/);

      // the primary is deleted: it comes back with its append-only file, the replicas reconnect
      const uid0 = (await pods(c)).find((p) => p.metadata.name === 'redis-0')!.metadata.uid;
      await c.kubectl(['delete', 'pod', 'redis-0']);
      await readyPod(c, 'redis-0', uid0);
      await serves(c, 'redis-0', 'greeting', 'hello');
      assert.equal(await cli(c, 'redis-0', 'SET', 'after', 'restart'), 'OK');
      for (const replica of ['redis-1', 'redis-2']) {
        await linkUp(c, replica);
        await serves(c, replica, 'after', 'restart');
      }

      // 3 → 1 → 3: the replicas return on their claims, resync and serve what was written meanwhile
      await scale(c, 'redis', 1, 'redis-');
      assert.equal(await cli(c, 'redis-0', 'SET', 'scaled', 'down'), 'OK');
      await scale(c, 'redis', 3, 'redis-');
      watch(await serverPids(c, 'redis-server', 'redis-'));
      for (const replica of ['redis-1', 'redis-2']) {
        await linkUp(c, replica);
        await serves(c, replica, 'scaled', 'down');
        await serves(c, replica, 'greeting', 'hello');
      }

      // the StatefulSet deleted and re-created: the members come back on their claims
      await c.kubectl(['delete', 'sts', 'redis']);
      await eventually(async () => !(await pods(c)).some((p) => p.metadata.name.startsWith('redis-')), 60_000, 'the members gone with their StatefulSet');
      await c.kubectl(['apply', '-f', exampleDir('redis') + '/redis.yaml']);
      await rollout(c, 'redis');
      watch(await serverPids(c, 'redis-server', 'redis-'));
      await serves(c, 'redis-0', 'greeting', 'hello');
      for (const replica of ['redis-1', 'redis-2']) {
        await linkUp(c, replica);
        await serves(c, replica, 'scaled', 'down');
      }

      // petset up restarts: the members come back on their claims, the replicas link up again
      c = await s.restart();
      await rollout(c, 'redis');
      watch(await serverPids(c, 'redis-server', 'redis-'));
      await serves(c, 'redis-0', 'scaled', 'down');
      for (const replica of ['redis-1', 'redis-2']) {
        await linkUp(c, replica);
        await serves(c, replica, 'after', 'restart');
      }
    });
  });
});
