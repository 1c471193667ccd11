// examples/etcd (seed 001's 3 instances of etcd) through `petset up --nodes 3` on real pods and
// the real kubectl: `member list` shows 3 started members and a key written on etcd-0 is read
// on etcd-2; the same three members (no member added or replaced) keep the data through a
// deleted pod, scaling 3 → 1 → 3 (etcd-0 alone has no quorum and serves again once its peers
// are back), the StatefulSet deleted and re-created, and a restart of petset up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, type Cluster } from '../harness.js';
import { exampleDir, pods, readyPod, rollout, rssMiB, serverPids, skipReason, withCluster } from './support.js';

const why = skipReason('/usr/bin/etcd');

const ipOf = async (c: Cluster, pod: string) => (await pods(c)).find((p) => p.metadata.name === pod)?.status?.podIP as string | undefined;

async function etcdctl(c: Cluster, pod: string, ...args: string[]): Promise<string | undefined> {
  const ip = await ipOf(c, pod);
  if (!ip) return undefined;
  const r = await c.kubectl(['exec', pod, '--', 'etcdctl', `--endpoints=http://${ip}:2379`, '--command-timeout=3s', ...args], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** The member ids once all three are started (sorted), from etcd-N's view. */
const members = (c: Cluster, pod: string) =>
  eventually(async () => {
    const list = await etcdctl(c, pod, 'member', 'list');
    const started = (list?.match(/, started, etcd-\d, http:\/\/etcd-\d\.etcd\.default\.svc\.cluster\.local:2380/g) ?? []).length;
    return started === 3 && list!.split('\n').map((l) => l.split(',')[0]).sort();
  }, 90_000, `three started members seen from ${pod}`);

const reads = (c: Cluster, pod: string, key: string, value: string) =>
  eventually(async () => (await etcdctl(c, pod, 'get', key, '--print-value-only')) === value, 60_000, `${key}=${value} read on ${pod}`);

const puts = (c: Cluster, pod: string, key: string, value: string) => eventually(async () => (await etcdctl(c, pod, 'put', key, value)) === 'OK', 60_000, `${key}=${value} written on ${pod}`);

describe('examples/etcd (3 members over 3 nodes)', { skip: why }, () => {
  it('forms a 3-member cluster and keeps its members and data through a deleted pod, scaling, re-creation and a restart of petset up', { timeout: 480_000 }, async () => {
    await withCluster('petset-etcd-e2e-', ['--nodes', '3'], async (s) => {
      let c = s.c;
      const t0 = Date.now();
      await c.kubectl(['apply', '-f', exampleDir('etcd') + '/etcd.yaml']);
      await rollout(c, 'etcd');
      const ids = await members(c, 'etcd-0');
      await puts(c, 'etcd-0', 'greeting', 'hello');
      await reads(c, 'etcd-2', 'greeting', 'hello');
      const servers = await serverPids(c, 'etcd', 'etcd-');
      assert.equal(servers.length, 3, 'three etcd processes, one per pod IP');
      s.watch(servers);
      console.log(`# bench: etcd, 3 members with a key written on etcd-0 read on etcd-2 ${Date.now() - t0} ms after kubectl apply; servers' RSS ${rssMiB(servers)} MiB`);
      const nodes = new Set((await pods(c)).filter((p) => p.metadata.name.startsWith('etcd-')).map((p) => p.spec.nodeName));
      assert.equal(nodes.size, 3, 'one member per node');

      // a deleted pod comes back as the same member
      const uid1 = (await pods(c)).find((p) => p.metadata.name === 'etcd-1')!.metadata.uid;
      await c.kubectl(['delete', 'pod', 'etcd-1']);
      await readyPod(c, 'etcd-1', uid1);
      s.watch(await serverPids(c, 'etcd', 'etcd-'));
      await reads(c, 'etcd-1', 'greeting', 'hello');
      assert.deepEqual(await members(c, 'etcd-1'), ids, 'the same three members after the deleted pod');

      // 3 → 1 → 3: etcd-0 keeps its data without quorum; the others return as themselves
      await puts(c, 'etcd-0', 'before-scaling', 'yes');
      await c.kubectl(['scale', 'sts/etcd', '--replicas=1']);
      await eventually(async () => (await pods(c)).filter((p) => p.metadata.name.startsWith('etcd-')).length === 1, 120_000, 'one member left');
      await c.kubectl(['scale', 'sts/etcd', '--replicas=3']);
      await rollout(c, 'etcd');
      s.watch(await serverPids(c, 'etcd', 'etcd-'));
      assert.deepEqual(await members(c, 'etcd-2'), ids, 'the same three members after scaling');
      await reads(c, 'etcd-2', 'before-scaling', 'yes');
      await puts(c, 'etcd-1', 'after-scaling', 'yes');

      // the StatefulSet deleted and re-created: the members come back on their claims
      await c.kubectl(['delete', 'sts', 'etcd']);
      await eventually(async () => !(await pods(c)).some((p) => p.metadata.name.startsWith('etcd-')), 120_000, 'the members gone with their StatefulSet');
      await c.kubectl(['apply', '-f', exampleDir('etcd') + '/etcd.yaml']);
      await rollout(c, 'etcd');
      s.watch(await serverPids(c, 'etcd', 'etcd-'));
      assert.deepEqual(await members(c, 'etcd-0'), ids, 'the same three members after the re-creation');
      await reads(c, 'etcd-0', 'after-scaling', 'yes');
      await puts(c, 'etcd-2', 'after-re-creation', 'yes');

      // petset up restarts
      c = await s.restart();
      await rollout(c, 'etcd');
      s.watch(await serverPids(c, 'etcd', 'etcd-'));
      assert.deepEqual(await members(c, 'etcd-1'), ids, 'the same three members after the restart');
      for (const [k, pod] of [['greeting', 'etcd-0'], ['before-scaling', 'etcd-1'], ['after-scaling', 'etcd-2'], ['after-re-creation', 'etcd-0']]) await reads(c, pod, k, k === 'greeting' ? 'hello' : 'yes');
    });
  });
});
