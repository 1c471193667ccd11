// The scheduler's queue against the real API server: a pod turned away because its claim is
// not bound yet is tried again as soon as that claim binds, not after its back-off (here ten
// minutes, so only the event can have brought it back), as upstream's queueing hints and
// SchedulerPopFromBackoffQ do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { installPodSubresources } from '../../src/apiserver/pod-subresources.js';
import type { ControllerRunner } from '../../src/client/controller-runner.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { runControllers, startTestServer, waitFor, type TestServer } from '../support/server.js';

let server: TestServer;
let runner: ControllerRunner;
const scheduler = new Scheduler({ initialBackoffMs: 600_000, maxBackoffMs: 600_000 });

before(async () => {
  server = await startTestServer();
  installPodSubresources(server.api);
  ({ runner } = await runControllers(server, [scheduler]));
});

after(async () => {
  scheduler.stop();
  await runner.stop();
  await server.stop();
});

const pods = () => server.client.pods('default');
const claims = () => server.client.persistentVolumeClaims('default');

function claimPod(name: string, claimName: string) {
  return { metadata: { name }, spec: { containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] } };
}

async function scheduledMessage(name: string): Promise<string | undefined> {
  return ((await pods().get(name)).status?.conditions ?? []).find((x: any) => x.type === 'PodScheduled')?.message;
}

/** What the provisioner and the volume binder do for an Immediate claim. */
async function bindClaim(name: string): Promise<void> {
  const claim = await claims().get(name);
  await server.client.persistentVolumes().create({
    metadata: { name: `pv-${name}` },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast',
      hostPath: { path: `/tmp/pv-${name}` },
      claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'default', name, uid: claim.metadata.uid },
    },
  });
  await claims().update({ ...claim, spec: { ...claim.spec, volumeName: `pv-${name}` } });
  const withVolume = await claims().get(name);
  await claims().updateStatus({ ...withVolume, status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } } });
}

describe('scheduler queueing', () => {
  it('tries a pod again when its claim binds, without waiting out its back-off', async () => {
    await server.client.nodes().create({
      metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      },
    });
    await server.client.storageClasses().create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fast' },
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'Immediate',
    });
    for (const n of [0, 1]) {
      await claims().create({ metadata: { name: `data-db-${n}` }, spec: { storageClassName: 'fast', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
      await pods().create(claimPod(`db-${n}`, `data-db-${n}`));
    }
    for (const n of [0, 1]) {
      const message = await waitFor(() => scheduledMessage(`db-${n}`), 5000, `db-${n} turned away`);
      assert.match(message!, /pod has unbound immediate PersistentVolumeClaims/);
    }

    await bindClaim('data-db-1');
    const node = await waitFor(async () => (await pods().get('db-1')).spec.nodeName as string | undefined, 5000, 'db-1 to be scheduled');
    assert.equal(node, 'node-1');
    // the other pod's claim is still unbound: it stays where it was
    assert.equal((await pods().get('db-0')).spec.nodeName, undefined);

    await bindClaim('data-db-0');
    assert.equal(await waitFor(async () => (await pods().get('db-0')).spec.nodeName as string | undefined, 5000, 'db-0 to be scheduled'), 'node-1');
  });
});
