// examples/mysql: the "Run a Replicated Stateful Application" tutorial on MariaDB through
// `petset up` on real pods and the real kubectl. mysql-1 and mysql-2 clone their data from
// the previous member in an init container and replicate from mysql-0.mysql; a row written
// on mysql-0 is read through the mysql-read service; the data survives deleting the primary,
// deleting a replica, scaling 3 → 1 → 3, deleting and re-creating the StatefulSet and a
// restart of petset up, and writes made meanwhile reach every replica.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, type Cluster } from '../harness.js';
import { execIn, exampleDir, pods, readyPod, rollout, rssMiB, scale, serverPids, skipReason, withCluster } from './support.js';

const why = skipReason('/usr/sbin/mariadbd', '/usr/bin/mariadb-backup', '/usr/bin/socat');

const sql = (c: Cluster, pod: string, query: string, host?: string) =>
  execIn(c, pod, 'mysql', ['mysql', ...(host ? ['-h', host] : []), '-N', '-B', '-e', query]);

const rows = async (c: Cluster, pod: string, host?: string) => (await sql(c, pod, 'SELECT message FROM test.messages ORDER BY message', host))?.split('\n');

async function replicating(c: Cluster, pod: string): Promise<string> {
  return eventually(async () => {
    // vertical output with its field names (sql() skips column names)
    const s = await execIn(c, pod, 'mysql', ['mysql', '-e', 'SHOW SLAVE STATUS\\G']);
    return s && /Slave_IO_Running: Yes/.test(s) && /Slave_SQL_Running: Yes/.test(s) && s;
  }, 90_000, `${pod} replicating from the primary`);
}

async function hasRows(c: Cluster, pod: string, want: string[], host?: string): Promise<void> {
  await eventually(async () => JSON.stringify(await rows(c, pod, host)) === JSON.stringify(want), 90_000, `${pod}${host ? ` via ${host}` : ''} to hold ${want.join(',')}`);
}

describe('examples/mysql (replicated MariaDB)', { skip: why }, () => {
  it('clones replicas from their peers, replicates mysql-0 to every replica and keeps the data through deletions and scaling', { timeout: 540_000 }, async () => {
    await withCluster('petset-mysql-e2e-', [], async (s) => {
      let c = s.c;
      const watch = s.watch;
      const t0 = Date.now();
      await c.kubectl(['apply', '-f', exampleDir('mysql') + '/']);
      await rollout(c, 'mysql');
      const ready = Date.now() - t0;
      const servers = await serverPids(c, 'mariadbd', 'mysql-');
      assert.equal(servers.length, 3, 'three mariadbd processes, one per pod IP');
      watch(servers);
      console.log(`# bench: mysql, 3 members ready ${ready} ms after kubectl apply; servers' RSS ${rssMiB(servers)} MiB`);

      // the tutorial's first write, on the primary by its stable name
      await sql(c, 'mysql-0', "CREATE DATABASE test; CREATE TABLE test.messages (message VARCHAR(250)); INSERT INTO test.messages VALUES ('hello')", 'mysql-0.mysql');
      for (const replica of ['mysql-1', 'mysql-2']) {
        const status = await replicating(c, replica);
        assert.match(status, /Master_Host: mysql-0\.mysql/);
        assert.match(status, /Using_Gtid: Slave_Pos/);
        await hasRows(c, replica, ['hello']);
        assert.equal(await sql(c, replica, 'SELECT @@read_only'), '1');
      }
      const logs = (await c.kubectl(['logs', 'mysql-2', '-c', 'clone-mysql'])).stdout;
      assert.match(logs, /completed OK!/, 'mysql-2 prepared a clone made with mariadb-backup');

      // reads through the mysql-read ClusterIP service reach the members (server ids 100..102)
      await hasRows(c, 'mysql-1', ['hello'], 'mysql-read');
      const ids = new Set<string>();
      await eventually(async () => {
        const id = await sql(c, 'mysql-1', 'SELECT @@server_id', 'mysql-read');
        if (id) ids.add(id);
        return ids.size >= 2;
      }, 60_000, 'mysql-read to answer from more than one member');
      for (const id of ids) assert.match(id, /^10[0-2]$/);

      // the primary is deleted: it comes back with its data, and replication resumes
      const uid0 = (await pods(c)).find((p) => p.metadata.name === 'mysql-0')!.metadata.uid;
      await c.kubectl(['delete', 'pod', 'mysql-0']);
      await readyPod(c, 'mysql-0', uid0);
      await hasRows(c, 'mysql-0', ['hello']);
      await eventually(() => sql(c, 'mysql-0', "INSERT INTO test.messages VALUES ('after-primary-restart')", 'mysql-0.mysql').then((r) => r !== undefined), 60_000, 'a write on the new mysql-0');
      await hasRows(c, 'mysql-2', ['after-primary-restart', 'hello']);

      // a replica is deleted: it keeps its data without cloning again and catches up
      const uid1 = (await pods(c)).find((p) => p.metadata.name === 'mysql-1')!.metadata.uid;
      await c.kubectl(['delete', 'pod', 'mysql-1']);
      await sql(c, 'mysql-0', "INSERT INTO test.messages VALUES ('while-mysql-1-away')");
      await readyPod(c, 'mysql-1', uid1);
      await hasRows(c, 'mysql-1', ['after-primary-restart', 'hello', 'while-mysql-1-away']);

      // 3 → 1 → 3: the claims stay, the replicas come back on their old data and catch up
      await scale(c, 'mysql', 1, 'mysql-');
      await sql(c, 'mysql-0', "INSERT INTO test.messages VALUES ('while-scaled-down')");
      await scale(c, 'mysql', 3, 'mysql-');
      watch(await serverPids(c, 'mariadbd', 'mysql-'));
      const all = ['after-primary-restart', 'hello', 'while-mysql-1-away', 'while-scaled-down'];
      for (const pod of ['mysql-1', 'mysql-2']) {
        await replicating(c, pod);
        await hasRows(c, pod, all);
      }
      const again = (await c.kubectl(['logs', 'mysql-2', '-c', 'clone-mysql'])).stdout;
      assert.doesNotMatch(again, /mbstream/, 'the returning replica did not clone again');
      await hasRows(c, 'mysql-2', all, 'mysql-read');

      // the StatefulSet deleted and re-created: the members come back on their claims, no clone
      await c.kubectl(['delete', 'sts', 'mysql']);
      await eventually(async () => !(await pods(c)).some((p) => p.metadata.name.startsWith('mysql-')), 120_000, 'the members gone with their StatefulSet');
      await c.kubectl(['apply', '-f', exampleDir('mysql') + '/']);
      await rollout(c, 'mysql');
      watch(await serverPids(c, 'mariadbd', 'mysql-'));
      for (const pod of ['mysql-1', 'mysql-2']) {
        await replicating(c, pod);
        await hasRows(c, pod, all);
      }
      assert.doesNotMatch((await c.kubectl(['logs', 'mysql-1', '-c', 'clone-mysql'])).stdout, /mbstream/, 'the re-created replica did not clone again');

      // petset up restarts: every member comes back on its claim and replication resumes
      c = await s.restart();
      await rollout(c, 'mysql');
      watch(await serverPids(c, 'mariadbd', 'mysql-'));
      await eventually(async () => (await sql(c, 'mysql-0', "INSERT INTO test.messages VALUES ('after-up-restart')")) !== undefined, 60_000, 'a write on mysql-0 after the restart');
      for (const pod of ['mysql-1', 'mysql-2']) {
        await replicating(c, pod);
        await hasRows(c, pod, ['after-primary-restart', 'after-up-restart', 'hello', 'while-mysql-1-away', 'while-scaled-down']);
      }
    });
  });
});
