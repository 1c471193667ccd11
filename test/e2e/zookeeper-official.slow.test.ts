// The official `zookeeper` image (Docker's library/zookeeper contract) on Debian's ZooKeeper,
// through `petset up` on real pods and the real kubectl: a single server from the image's
// defaults (zoo.cfg generated in /conf, myid 1, data in /data and /datalog, standalone on
// 2181), and a three-member ensemble from ZOO_SERVERS with ZOO_MY_ID from the pod's ordinal,
// which elects one leader and serves a znode written through one member from another (the
// headless service publishes members before they are ready, as ZooKeeper manifests do: a
// member is ready once it is in a quorum, which needs its peers' names).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { inPodOf, pidsOf } from './examples/support.js';
import { eventually, processAlive, startCluster, type Cluster } from './harness.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/usr/share/java/zookeeper.jar') ? undefined : 'zookeeper is not installed (apt-get install zookeeper)');
if (why) console.log(`# skipping the official zookeeper image test: ${why}`);

const servers = [0, 1, 2].map((i) => `server.${i + 1}=zoo-${i}.zoo-hs.default.svc.cluster.local:2888:3888;2181`).join(' ');

const MANIFEST = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'zk' }, spec: { containers: [{ name: 'zookeeper', image: 'zookeeper:3.8' }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'zoo-hs' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'zoo' }, ports: [{ name: 'client', port: 2181 }, { name: 'server', port: 2888 }, { name: 'election', port: 3888 }] } },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'zoo' },
      spec: {
        serviceName: 'zoo-hs',
        replicas: 3,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: 'zoo' } },
        template: {
          metadata: { labels: { app: 'zoo' } },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: 'zookeeper',
                image: 'zookeeper:3.8',
                // the usual way to give each member its id: from the StatefulSet ordinal
                command: ['bash', '-c', 'export ZOO_MY_ID=$((${HOSTNAME##*-} + 1)); exec /docker-entrypoint.sh zkServer.sh start-foreground'],
                env: [{ name: 'ZOO_SERVERS', value: servers }, { name: 'ZOO_4LW_COMMANDS_WHITELIST', value: 'srvr,ruok' }],
                ports: [{ containerPort: 2181, name: 'client' }, { containerPort: 2888, name: 'server' }, { containerPort: 3888, name: 'election' }],
                readinessProbe: { exec: { command: ['zkServer.sh', 'status'] }, periodSeconds: 2 },
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    },
  ],
};

/** Host pids of this cluster's ZooKeeper servers (to check they are all gone at the end). */
function zkPids(dataDir: string): number[] {
  return pidsOf((a) => a.includes('org.apache.zookeeper.server.quorum.QuorumPeerMain') && a.some((x) => x.endsWith('/conf/zoo.cfg'))).filter(
    (pid) => processAlive(pid) && inPodOf(pid, dataDir),
  );
}

describe('the official zookeeper image on real pods', { skip: why }, () => {
  let c: Cluster;
  const seen = new Set<number>();
  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process'] });
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(MANIFEST) });
  });
  after(async () => {
    if (c) for (const p of zkPids(c.dataDir)) seen.add(p);
    await c?.stop('SIGINT');
    await eventually(() => [...seen].every((p) => !processAlive(p)), 30_000, 'the ZooKeeper servers to stop');
  });

  const exec = async (pod: string, ...cmd: string[]) => {
    const r = await c.kubectl(['exec', pod, '--', ...cmd], { allowFail: true, timeoutMs: 60_000 });
    return r.code === 0 ? r.stdout : undefined;
  };

  it('runs a standalone server from the image defaults: zoo.cfg generated in /conf, myid 1, data in /data', { timeout: 180_000 }, async () => {
    const status = await eventually(async () => (await exec('zk', 'zkServer.sh', 'status'))?.match(/Mode: (\w+)/)?.[1], 120_000, 'the single server to answer');
    assert.equal(status, 'standalone');
    const cfg = (await exec('zk', 'cat', '/conf/zoo.cfg'))!;
    assert.match(cfg, /^dataDir=\/data$/m);
    assert.match(cfg, /^dataLogDir=\/datalog$/m);
    assert.match(cfg, /^tickTime=2000$/m);
    assert.match(cfg, /^server\.1=.*;.*2181$/m);
    assert.equal((await exec('zk', 'cat', '/data/myid'))?.trim(), '1');
    assert.ok(await exec('zk', 'zkCli.sh', 'create', '/single', 'one'));
    assert.match((await exec('zk', 'zkCli.sh', 'get', '/single'))!, /^one$/m);
    assert.match((await exec('zk', 'ls', '/datalog'))!, /version-2/);
    // the server runs as the zookeeper user, as the image's entrypoint drops to it
    assert.match((await exec('zk', 'sh', '-c', 'ls -ln /data | tail -1'))!, new RegExp(` ${fs.readFileSync('/etc/passwd', 'utf8').match(/^zookeeper:x:(\d+):/m)![1]} `));
  });

  it('forms a three-member ensemble from ZOO_SERVERS and ZOO_MY_ID; a znode written through zoo-0 is read through zoo-2', { timeout: 240_000 }, async () => {
    await c.kubectl(['rollout', 'status', 'sts/zoo', '--timeout=200s'], { timeoutMs: 210_000 });
    const modes = await Promise.all(['zoo-0', 'zoo-1', 'zoo-2'].map(async (p) => (await exec(p, 'zkServer.sh', 'status'))?.match(/Mode: (\w+)/)?.[1]));
    assert.deepEqual([...modes].sort(), ['follower', 'follower', 'leader']);
    assert.deepEqual(await Promise.all(['zoo-0', 'zoo-1', 'zoo-2'].map(async (p) => (await exec(p, 'cat', '/data/myid'))?.trim())), ['1', '2', '3']);
    assert.ok(await exec('zoo-0', 'zkCli.sh', 'create', '/hello', 'world'));
    await eventually(async () => /^world$/m.test((await exec('zoo-2', 'zkCli.sh', 'get', '/hello')) ?? ''), 60_000, '/hello through zoo-2');
  });
});
