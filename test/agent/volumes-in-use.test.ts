// What a node tells the attach/detach controller about its volumes, against the real
// in-process API server and volume controllers: status.volumesInUse lists the claims'
// volumes its pods mounted, and drops one when its pod is gone, without waiting for the
// periodic node status (here ten minutes away), so the controller detaches it. Also the
// VolumeAttachments of one node, by the spec.nodeName field selector the agents watch with.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isApiError } from '../../src/api/errors.js';
import { PETSET_ATTACHER, uniqueVolumeName } from '../../src/api/kinds/volumeattachment.js';
import type { KubeObject } from '../../src/api/object.js';
import { volumeAttachments } from '../../src/controllers/volume/index.js';
import { waitFor, type TestServer } from '../support/server.js';
import { startVolumeCluster, type VolumeCluster } from './volume-cluster.js';

const NS = 'default';
const NODES = ['vol-node-a', 'vol-node-b'];
let cluster: VolumeCluster;
let srv: TestServer;

before(async () => {
  cluster = await startVolumeCluster('petset-volumes-in-use-', NODES, {
    // the periodic status sync never comes during the test: only the prompt report can pass it
    nodeStatusUpdateIntervalMs: 600_000,
  });
  ({ srv } = cluster);
});

after(() => cluster.stop());

const pods = () => srv.client.pods(NS);
const claims = () => srv.client.persistentVolumeClaims(NS);

async function boundVolume(name: string): Promise<string> {
  return waitFor(async () => {
    const pvc = await claims().get(name);
    return pvc.status?.phase === 'Bound' ? (pvc.spec.volumeName as string) : undefined;
  }, 5000, `claim ${name} Bound`);
}

function podOn(node: string, name: string, claimName: string): KubeObject {
  return {
    metadata: { name },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'nginx:1.25' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] },
  };
}

async function volumesInUse(node: string): Promise<string[]> {
  return (await srv.client.nodes().get(node)).status?.volumesInUse ?? [];
}

async function attachmentsOf(node: string): Promise<string[]> {
  const list = await srv.client.resource(volumeAttachments).list({ fieldSelector: `spec.nodeName=${node}` });
  return list.items.map((va) => va.spec.source.persistentVolumeName as string).sort();
}

describe('volumes in use on a node', () => {
  it('reports the volumes its pods mounted, and drops one at once when its pod is gone so it is detached', async () => {
    const [a, b] = NODES as [string, string];
    const names = ['in-use-0', 'in-use-1', 'in-use-2'];
    for (const n of names) await claims().create({ metadata: { name: n }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    const pvs = await Promise.all(names.map(boundVolume));
    // three pods starting together on one node, one on the other
    await pods().create(podOn(a, 'user-0', 'in-use-0'));
    await pods().create(podOn(a, 'user-1', 'in-use-1'));
    await pods().create(podOn(b, 'user-2', 'in-use-2'));
    const unique = pvs.map((pv) => uniqueVolumeName(PETSET_ATTACHER, pv));
    await waitFor(async () => JSON.stringify(await volumesInUse(a)) === JSON.stringify([unique[0], unique[1]].sort()), 8000, `${a} reports two volumes in use`);
    await waitFor(async () => JSON.stringify(await volumesInUse(b)) === JSON.stringify([unique[2]]), 8000, `${b} reports its volume in use`);

    // each node's attachments, selected by node
    assert.deepEqual(await attachmentsOf(a), [pvs[0], pvs[1]].sort());
    assert.deepEqual(await attachmentsOf(b), [pvs[2]]);

    await pods().delete('user-1', { gracePeriodSeconds: 0 });
    await waitFor(async () => JSON.stringify(await volumesInUse(a)) === JSON.stringify([unique[0]]), 8000, `${a} drops the released volume`);
    await waitFor(async () => JSON.stringify(await attachmentsOf(a)) === JSON.stringify([pvs[0]]), 8000, `the released volume detached from ${a}`);
    assert.deepEqual(await volumesInUse(b), [unique[2]]);

    for (const p of ['user-0', 'user-2']) await pods().delete(p, { gracePeriodSeconds: 0 });
    await waitFor(async () => (await volumesInUse(a)).length === 0 && (await volumesInUse(b)).length === 0, 8000, 'no volume in use');
    for (const n of names) await claims().delete(n);
  });

  it('selects VolumeAttachments by spec.nodeName, and still refuses field labels it does not know', async () => {
    const api = srv.client.resource(volumeAttachments);
    const va = (pv: string, node: string): KubeObject => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name: `select-${pv}-${node}` },
      spec: { attacher: 'example.com/driver', source: { persistentVolumeName: pv }, nodeName: node },
    });
    await api.create(va('pv-x', 'far-node-1'));
    await api.create(va('pv-y', 'far-node-2'));
    try {
      const one = await api.list({ fieldSelector: 'spec.nodeName=far-node-1' });
      assert.deepEqual(one.items.map((x) => x.metadata.name), ['select-pv-x-far-node-1']);
      const byName = await api.list({ fieldSelector: 'metadata.name=select-pv-y-far-node-2' });
      assert.deepEqual(byName.items.map((x) => x.metadata.name), ['select-pv-y-far-node-2']);
      await assert.rejects(
        () => api.list({ fieldSelector: 'spec.attacher=example.com/driver' }),
        (e: unknown) => isApiError(e) && e.code === 400 && /field label not supported: spec\.attacher/.test(e.message),
      );
    } finally {
      await api.delete('select-pv-x-far-node-1').catch(() => {});
      await api.delete('select-pv-y-far-node-2').catch(() => {});
    }
  });
});
