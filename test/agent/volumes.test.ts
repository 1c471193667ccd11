// The node agent's volumes against the real in-process API server and volume controllers:
// claims resolved to their volumes' directories and handed to the runtime, emptyDirs made
// and removed with their pod, unbound claims and access-mode conflicts keeping a pod in
// ContainerCreating with FailedMount events until they clear.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNodeAgent, type NodeAgent } from '../../src/agent/agent.js';
import { isApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { waitFor, type TestServer } from '../support/server.js';
import { startVolumeCluster, type VolumeCluster } from './volume-cluster.js';

const NS = 'default';
let cluster: VolumeCluster;
let srv: TestServer;
let dataDir: string;
let agents: NodeAgent[];

before(async () => {
  cluster = await startVolumeCluster('petset-agent-volumes-', ['node-a', 'node-b'], { nodeStatusUpdateIntervalMs: 500 });
  ({ srv, dataDir, agents } = cluster);
});

after(() => cluster.stop());

const pods = () => srv.client.pods(NS);
const claims = () => srv.client.persistentVolumeClaims(NS);
const agent = (node: string) => agents.find((a) => a.nodeName === node)!;

function claimSpec(name: string, accessModes = ['ReadWriteOnce'], extra: Record<string, unknown> = {}): KubeObject {
  return { metadata: { name }, spec: { accessModes, resources: { requests: { storage: '1Gi' } }, ...extra } };
}

function podOn(node: string, name: string, volumes: Record<string, unknown>[]): KubeObject {
  return { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'app', image: 'nginx:1.25' }], volumes } };
}

const claimVolume = (claimName: string, name = 'data') => ({ name, persistentVolumeClaim: { claimName } });

async function boundClaim(name: string): Promise<KubeObject> {
  return waitFor(async () => {
    const pvc = await claims().get(name);
    return pvc.status?.phase === 'Bound' ? pvc : undefined;
  }, 5000, `claim ${name} Bound`);
}

async function running(name: string): Promise<KubeObject> {
  return waitFor(async () => {
    const p = await pods().get(name);
    return p.status?.phase === 'Running' ? p : undefined;
  }, 8000, `pod ${name} Running`);
}

async function failedMount(name: string, message: RegExp): Promise<KubeObject> {
  return waitFor(async () => {
    const events = (await srv.client.events(NS).list()).items;
    return events.find((e) => e.involvedObject?.name === name && e.reason === 'FailedMount' && message.test(e.message));
  }, 5000, `FailedMount on ${name}`);
}

async function sandboxPaths(node: string, uid: string): Promise<Record<string, string> | undefined> {
  return (await agent(node).runtime.listSandboxes()).find((s) => s.podUid === uid)?.volumePaths;
}

async function deleteAndWait(name: string): Promise<void> {
  await pods().delete(name);
  await waitFor(
    async () => {
      try {
        await pods().get(name);
        return false;
      } catch (e) {
        return isApiError(e, 'NotFound');
      }
    },
    8000,
    `pod ${name} gone`,
  );
}

const containerWaiting = (p: KubeObject) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason;

describe('node agent volumes', () => {
  it('hands the runtime the directory of a bound claim', async () => {
    await claims().create(claimSpec('data-web-0'));
    const pvc = await boundClaim('data-web-0');
    const pv = await srv.client.persistentVolumes().get(pvc.spec.volumeName);
    const created = await pods().create(podOn('node-a', 'web-0', [claimVolume('data-web-0')]));
    await running('web-0');
    assert.deepEqual(await sandboxPaths('node-a', created.metadata.uid!), { data: pv.spec.hostPath.path });
    assert.ok(existsSync(pv.spec.hostPath.path));
    await deleteAndWait('web-0');
  });

  it('makes emptyDirs per pod, creates hostPath directories, and removes the emptyDirs with the pod', async () => {
    const host = path.join(dataDir, 'host', 'logs');
    const created = await pods().create(
      podOn('node-a', 'scratch', [
        { name: 'cache', emptyDir: {} },
        { name: 'logs', hostPath: { path: host, type: 'DirectoryOrCreate' } },
      ]),
    );
    await running('scratch');
    const uid = created.metadata.uid!;
    const cache = path.join(dataDir, 'nodes', 'node-a', 'pods', uid, 'volumes', 'cache');
    assert.deepEqual(await sandboxPaths('node-a', uid), { cache, logs: host });
    assert.ok(existsSync(cache));
    assert.ok(existsSync(host));
    await deleteAndWait('scratch');
    await waitFor(() => !existsSync(path.join(dataDir, 'nodes', 'node-a', 'pods', uid)), 5000, 'the pod directory to go');
    assert.ok(existsSync(host), 'a hostPath outlives the pod');
  });

  it('removes the directories of pods deleted while the agent was down', async () => {
    const created = await pods().create(podOn('node-b', 'lost', [{ name: 'cache', emptyDir: {} }]));
    await running('lost');
    const podDir = path.join(dataDir, 'nodes', 'node-b', 'pods', created.metadata.uid!);
    assert.ok(existsSync(podDir));
    const old = agent('node-b');
    old.crash();
    await pods().delete('lost', { gracePeriodSeconds: 0 });
    agents.splice(agents.indexOf(old), 1);
    agents.push(await startNodeAgent({ client: srv.client, nodeName: 'node-b', nodeIndex: 1, dataDir: path.join(dataDir, 'nodes', 'node-b'), backOff: { initialMs: 500, maxMs: 1000 } }));
    await waitFor(() => !existsSync(podDir), 5000, 'the orphaned pod directory to go');
  });

  it('keeps a pod ContainerCreating while its claim is unbound, and starts it once bound', async () => {
    await claims().create(claimSpec('manual-claim', ['ReadWriteOnce'], { storageClassName: 'manual' }));
    await pods().create(podOn('node-a', 'waiter', [claimVolume('manual-claim')]));
    const event = await failedMount('waiter', /PVC is not bound/);
    assert.equal(
      event.message,
      'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: error processing PVC default/manual-claim: PVC is not bound',
    );
    const waiting = await pods().get('waiter');
    assert.equal(waiting.status?.phase, 'Pending');
    assert.equal(containerWaiting(waiting), 'ContainerCreating');

    const dir = path.join(dataDir, 'static', 'manual');
    await srv.client.persistentVolumes().create({
      metadata: { name: 'manual-pv' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'manual', hostPath: { path: dir, type: 'DirectoryOrCreate' } },
    });
    const p = await running('waiter');
    assert.deepEqual(await sandboxPaths('node-a', p.metadata.uid!), { data: dir });
    assert.ok(existsSync(dir));
    await deleteAndWait('waiter');
  });

  it('names a missing claim', async () => {
    await pods().create(podOn('node-a', 'orphan', [claimVolume('nowhere')]));
    const event = await failedMount('orphan', /not found/);
    assert.match(event.message, /error processing PVC default\/nowhere: failed to fetch PVC from API server: persistentvolumeclaims "nowhere" not found$/);
    await deleteAndWait('orphan');
  });

  it('does not mount a ReadWriteOnce volume in use on another node until that pod is gone', async () => {
    await claims().create(claimSpec('rwo'));
    const pvc = await boundClaim('rwo');
    await pods().create(podOn('node-a', 'holder', [claimVolume('rwo')]));
    await running('holder');
    await pods().create(podOn('node-b', 'intruder', [claimVolume('rwo')]));
    const event = await failedMount('intruder', /Multi-Attach/);
    assert.equal(event.message, `Multi-Attach error for volume "${pvc.spec.volumeName}" Volume is already used by pod(s) holder`);
    assert.equal(containerWaiting(await pods().get('intruder')), 'ContainerCreating');
    // another pod on the holder's node shares it
    await pods().create(podOn('node-a', 'neighbour', [claimVolume('rwo')]));
    await running('neighbour');

    await deleteAndWait('holder');
    await deleteAndWait('neighbour');
    await running('intruder');
    await deleteAndWait('intruder');
  });

  it('does not let a second pod on the node use a ReadWriteOncePod claim', async () => {
    await claims().create(claimSpec('solo', ['ReadWriteOncePod']));
    const pvc = await boundClaim('solo');
    await pods().create(podOn('node-a', 'first', [claimVolume('solo')]));
    await running('first');
    await pods().create(podOn('node-a', 'second', [claimVolume('solo')]));
    const event = await failedMount('second', /ReadWriteOncePod/);
    assert.equal(
      event.message,
      `MountVolume.SetUp failed for volume "${pvc.spec.volumeName}" : the volume's claim has the ReadWriteOncePod access mode and is already used by pod(s) first`,
    );
    assert.equal(containerWaiting(await pods().get('second')), 'ContainerCreating');
    await deleteAndWait('first');
    await running('second');
    await deleteAndWait('second');
  });
});
