// Access modes in the scheduler against the real API server: a ReadWriteOncePod claim in
// use keeps every other pod of it unscheduled (upstream's VolumeRestrictions message), and
// a ReadWriteOnce claim in use keeps its other pods on the node already using it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { ControllerRunner } from '../../src/client/controller-runner.js';
import { SharedInformerFactory } from '../../src/client/informer.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

let server: TestServer;
let informers: SharedInformerFactory;
let runner: ControllerRunner;
const scheduler = new Scheduler({ initialBackoffMs: 50, maxBackoffMs: 200 });

before(async () => {
  server = await startTestServer();
  informers = new SharedInformerFactory(server.client);
  runner = new ControllerRunner(server.client, defaultRegistry(), informers);
  await runner.start([scheduler]);
  for (const name of ['node-1', 'node-2']) {
    await server.client.nodes().create({
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
});

after(async () => {
  scheduler.stop();
  await runner.stop();
  await server.stop();
});

const pods = () => server.client.pods('default');

/** A claim bound to a volume of its own, as the binder would leave it. */
async function boundClaim(name: string, accessModes: string[]): Promise<void> {
  const claims = server.client.persistentVolumeClaims('default');
  const claim = await claims.create({ metadata: { name }, spec: { storageClassName: '', accessModes, resources: { requests: { storage: '1Gi' } } } });
  await server.client.persistentVolumes().create({
    metadata: { name: `pv-${name}` },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes,
      storageClassName: '',
      hostPath: { path: `/tmp/pv-${name}` },
      claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'default', name, uid: claim.metadata.uid },
    },
  });
  const withVolume = await claims.update({ ...claim, spec: { ...claim.spec, volumeName: `pv-${name}` } });
  await claims.updateStatus({ ...withVolume, status: { phase: 'Bound', accessModes, capacity: { storage: '1Gi' } } });
}

function user(name: string, claimName: string, node?: string): KubeObject {
  return {
    metadata: { name },
    spec: {
      nodeSelector: node ? { 'kubernetes.io/hostname': node } : undefined,
      containers: [{ name: 'c', image: 'x' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
  };
}

const nodeOf = (name: string) => waitFor(async () => (await pods().get(name)).spec.nodeName as string | undefined, 5000, `${name} to be scheduled`);

async function unschedulable(name: string, message: string): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      const c = ((await pods().get(name)).status?.conditions ?? []).find((x: any) => x.type === 'PodScheduled');
      last = c?.message;
      return c?.status === 'False' && c.reason === 'Unschedulable' && c.message === message;
    },
    5000,
    `${name} Unschedulable`,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last message: ${last}`);
  });
}

describe('scheduler access modes', () => {
  it('never lets two pods use a ReadWriteOncePod claim', async () => {
    await boundClaim('solo', ['ReadWriteOncePod']);
    await pods().create(user('solo-a', 'solo'));
    await nodeOf('solo-a');
    await pods().create(user('solo-b', 'solo'));
    await unschedulable(
      'solo-b',
      '0/2 nodes are available: 2 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..',
    );
    await pods().delete('solo-a', { gracePeriodSeconds: 0 });
    assert.ok(await nodeOf('solo-b'));
    await pods().delete('solo-b', { gracePeriodSeconds: 0 });
  });

  it('keeps the pods of a ReadWriteOnce claim on the node already using it', async () => {
    await boundClaim('shared', ['ReadWriteOnce']);
    await pods().create(user('shared-a', 'shared', 'node-1'));
    assert.equal(await nodeOf('shared-a'), 'node-1');
    await pods().create(user('shared-b', 'shared', 'node-2'));
    await unschedulable(
      'shared-b',
      "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) unavailable due to a ReadWriteOnce PersistentVolumeClaim in use on another node. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling..",
    );
    // node-2 is emptier, so only the access mode sends this one to node-1
    await pods().create(user('shared-c', 'shared'));
    assert.equal(await nodeOf('shared-c'), 'node-1');

    // a finished pod no longer holds the claim
    for (const name of ['shared-a', 'shared-c']) {
      const p = await pods().get(name);
      await pods().updateStatus({ ...p, status: { ...p.status, phase: 'Succeeded' } });
    }
    assert.equal(await nodeOf('shared-b'), 'node-2');
  });

  it('lets ReadWriteMany claims spread', async () => {
    await boundClaim('many', ['ReadWriteMany']);
    await pods().create(user('many-a', 'many', 'node-1'));
    await pods().create(user('many-b', 'many', 'node-2'));
    assert.equal(await nodeOf('many-a'), 'node-1');
    assert.equal(await nodeOf('many-b'), 'node-2');
  });
});
