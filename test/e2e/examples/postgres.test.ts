// examples/postgres through `petset up` on real pods and the real kubectl: seed 004's single
// instance keeps its rows through a deleted pod and a deleted and re-created StatefulSet;
// the replicated pair's standby (cloned with pg_basebackup) reports its stream from pg-0 and
// serves rows written on the primary, also after the primary's deletion, scaling 2 → 1 → 2,
// the StatefulSet deleted and re-created, and a restart of petset up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, type Cluster } from '../harness.js';
import { execIn, exampleDir, pods, readyPod, rollout, rssMiB, scale, serverPids, skipReason, withCluster } from './support.js';

const why = skipReason('/usr/bin/pg_basebackup', '/usr/bin/pg_isready');

const psql = (c: Cluster, pod: string, query: string) => execIn(c, pod, 'postgres', ['psql', '-U', 'postgres', '-Atc', query]);

async function rowsAre(c: Cluster, pod: string, want: string[]): Promise<void> {
  await eventually(async () => (await psql(c, pod, 'SELECT v FROM t ORDER BY v')) === want.join('\n'), 60_000, `${pod} to hold ${want.join(',')}`);
}

async function streaming(c: Cluster): Promise<void> {
  await eventually(async () => (await psql(c, 'pg-1', 'SELECT status, sender_host FROM pg_stat_wal_receiver')) === 'streaming|pg-0.pg', 60_000, "pg-1's WAL receiver streaming from pg-0.pg");
  await eventually(async () => (await psql(c, 'pg-0', "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) === '1', 30_000, 'pg-0 to list one streaming standby');
}

const uidOf = async (c: Cluster, name: string) => (await pods(c)).find((p) => p.metadata.name === name)!.metadata.uid as string;

describe('examples/postgres', { skip: why }, () => {
  it('keeps the single instance\'s rows, and streams the primary\'s rows to its replica through deletions and scaling', { timeout: 540_000 }, async () => {
    await withCluster('petset-postgres-e2e-', [], async (s) => {
      let c = s.c;
      const watch = s.watch;
      const t0 = Date.now();
      await c.kubectl(['apply', '-f', exampleDir('postgres') + '/postgres.yaml', '-f', exampleDir('postgres') + '/postgres-replicated.yaml']);
      await rollout(c, 'postgres');
      await rollout(c, 'pg');
      const ready = Date.now() - t0;
      const servers = [...(await serverPids(c, 'postgres', 'postgres-')), ...(await serverPids(c, 'postgres', 'pg-'))];
      assert.ok(servers.length >= 3, `the three postmasters were found (${servers})`);
      watch(servers);
      console.log(`# bench: postgres, the single instance and the 2-member pair ready ${ready} ms after kubectl apply; postgres processes' RSS ${rssMiB(servers)} MiB`);

      // seed 004: one instance, its data on its claim
      await psql(c, 'postgres-0', "CREATE TABLE t (v text); INSERT INTO t VALUES ('seed-004')");
      const uid = await uidOf(c, 'postgres-0');
      await c.kubectl(['delete', 'pod', 'postgres-0']);
      await readyPod(c, 'postgres-0', uid);
      await rowsAre(c, 'postgres-0', ['seed-004']);
      await c.kubectl(['delete', 'sts', 'postgres']);
      await eventually(async () => !(await pods(c)).some((p) => p.metadata.name === 'postgres-0'), 60_000, 'postgres-0 gone with its StatefulSet');
      await c.kubectl(['apply', '-f', exampleDir('postgres') + '/postgres.yaml']);
      await readyPod(c, 'postgres-0');
      await rowsAre(c, 'postgres-0', ['seed-004']);
      // the password from the Secret works over TCP, by the stable name
      assert.equal(await execIn(c, 'postgres-0', 'postgres', ['sh', '-c', 'PGPASSWORD=change-me psql -h postgres-0.postgres -U postgres -Atc "SELECT v FROM t"']), 'seed-004');

      // the replicated pair
      await psql(c, 'pg-0', "CREATE TABLE t (v text); INSERT INTO t VALUES ('hello')");
      await streaming(c);
      await rowsAre(c, 'pg-1', ['hello']);
      assert.equal(await psql(c, 'pg-1', 'SELECT pg_is_in_recovery()'), 't');
      assert.equal(await psql(c, 'pg-1', "INSERT INTO t VALUES ('on-standby')"), undefined, 'the standby refuses writes');

      const uid0 = await uidOf(c, 'pg-0');
      await c.kubectl(['delete', 'pod', 'pg-0']);
      await readyPod(c, 'pg-0', uid0);
      await eventually(async () => (await psql(c, 'pg-0', "INSERT INTO t VALUES ('after-primary-restart')")) !== undefined, 30_000, 'a write on the new pg-0');
      await streaming(c);
      await rowsAre(c, 'pg-1', ['after-primary-restart', 'hello']);

      await scale(c, 'pg', 1, 'pg-');
      await psql(c, 'pg-0', "INSERT INTO t VALUES ('while-scaled-down')");
      await scale(c, 'pg', 2, 'pg-');
      watch(await serverPids(c, 'postgres', 'pg-'));
      await streaming(c);
      await rowsAre(c, 'pg-1', ['after-primary-restart', 'hello', 'while-scaled-down']);
      const clone = (await c.kubectl(['logs', 'pg-1', '-c', 'clone-primary'])).stdout;
      assert.doesNotMatch(clone, /pg_basebackup -h/, 'the returning standby kept its data instead of cloning again');

      // the pair's StatefulSet deleted and re-created: both members come back on their claims
      await c.kubectl(['delete', 'sts', 'pg']);
      await eventually(async () => !(await pods(c)).some((p) => p.metadata.name.startsWith('pg-')), 60_000, 'pg-0 and pg-1 gone with their StatefulSet');
      await c.kubectl(['apply', '-f', exampleDir('postgres') + '/postgres-replicated.yaml']);
      await rollout(c, 'pg');
      watch(await serverPids(c, 'postgres', 'pg-'));
      await streaming(c);
      await eventually(async () => (await psql(c, 'pg-0', "INSERT INTO t VALUES ('after-re-creation')")) !== undefined, 30_000, 'a write on the re-created pg-0');
      await rowsAre(c, 'pg-1', ['after-primary-restart', 'after-re-creation', 'hello', 'while-scaled-down']);

      // petset up restarts: every member comes back on its claim and the standby streams again
      c = await s.restart();
      await rollout(c, 'postgres');
      await rollout(c, 'pg');
      watch([...(await serverPids(c, 'postgres', 'postgres-')), ...(await serverPids(c, 'postgres', 'pg-'))]);
      await rowsAre(c, 'postgres-0', ['seed-004']);
      await streaming(c);
      await eventually(async () => (await psql(c, 'pg-0', "INSERT INTO t VALUES ('after-up-restart')")) !== undefined, 30_000, 'a write on pg-0 after the restart');
      await rowsAre(c, 'pg-1', ['after-primary-restart', 'after-re-creation', 'after-up-restart', 'hello', 'while-scaled-down']);
    });
  });
});
