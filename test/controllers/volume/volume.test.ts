// The volume controllers and storage admission against the real in-process API server:
// provisioning, binding, reclaim, protection, expansion, delayed binding and the
// multi-machine layout, with directories in a temporary data dir.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isApiError } from '../../../src/api/errors.js';
import { defaultRegistry } from '../../../src/api/kinds/index.js';
import type { KubeObject } from '../../../src/api/object.js';
import { RESIZE_NOT_ALLOWED, installStorageAdmission } from '../../../src/apiserver/storage-admission.js';
import type { Client } from '../../../src/client/client.js';
import { ControllerRunner } from '../../../src/client/controller-runner.js';
import { SharedInformerFactory } from '../../../src/client/informer.js';
import type { Controller } from '../../../src/controllers/manager.js';
import { LocalPathProvisioner, ensureDefaultStorageClass, volumeControllers } from '../../../src/controllers/volume/index.js';
import { startTestServer, waitFor, type TestServer } from '../../support/server.js';

interface Cluster {
  server: TestServer;
  client: Client;
  dataDir: string;
  stop(): Promise<void>;
}

async function startCluster(controllers: (dataDir: string) => Controller[]): Promise<Cluster> {
  const server = await startTestServer();
  installStorageAdmission(server.api);
  const client = server.client;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'petset-volumes-'));
  const informers = new SharedInformerFactory(client);
  const running = controllers(dataDir);
  const runner = new ControllerRunner(client, defaultRegistry(), informers);
  await runner.start(running);
  return {
    server,
    client,
    dataDir,
    async stop() {
      await runner.stop();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const NS = 'default';
let c: Cluster;

const claims = () => c.client.persistentVolumeClaims(NS);
const volumes = () => c.client.persistentVolumes();

function claimSpec(name: string, spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS, annotations },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
  };
}

function hostPathVolume(name: string, size: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], storageClassName: '', hostPath: { path: path.join(c.dataDir, 'static', name) }, ...spec },
  };
}

function storageClass(name: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner: 'petset.io/local-path', ...extra };
}

async function boundClaim(name: string, timeoutMs = 5000): Promise<KubeObject> {
  return waitFor(async () => {
    const pvc = await claims().get(name);
    return pvc.status?.phase === 'Bound' ? pvc : undefined;
  }, timeoutMs, `claim ${name} Bound`);
}

async function gone(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return false;
  } catch (e) {
    if (isApiError(e, 'NotFound')) return true;
    throw e;
  }
}

async function eventsFor(name: string): Promise<KubeObject[]> {
  return (await c.client.events(NS).list()).items.filter((e) => e.involvedObject?.name === name);
}

async function waitForEvent(name: string, reason: string, message?: string | RegExp): Promise<KubeObject> {
  return waitFor(async () => {
    const evs = await eventsFor(name);
    return evs.find((e) => e.reason === reason && (message === undefined || (typeof message === 'string' ? e.message === message : message.test(e.message))));
  }, 5000, `event ${reason} on ${name}`);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('volume controllers on one machine', () => {
  before(async () => {
    c = await startCluster((dataDir) => volumeControllers({ dataDir, singleMachine: true, serveForeignProvisioners: true, resyncMs: 300 }));
    await ensureDefaultStorageClass(c.client);
  });
  after(async () => {
    await c.stop();
  });

  it('creates the default class once, and keeps it across restarts', async () => {
    const sc = await c.client.storageClasses().get('standard');
    assert.equal(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.equal(sc.provisioner, 'petset.io/local-path');
    assert.equal((await ensureDefaultStorageClass(c.client))?.metadata.uid, sc.metadata.uid);
  });

  it('provisions a directory for a claim of the default class and binds both ways', async () => {
    const created = await claims().create(claimSpec('dyn'));
    assert.equal(created.spec.storageClassName, 'standard', 'admission fills in the default class');
    const pvc = await boundClaim('dyn');
    const pv = await volumes().get(pvc.spec.volumeName);
    assert.equal(pv.metadata.name, `pvc-${pvc.metadata.uid}`);
    assert.equal(pv.spec.claimRef.uid, pvc.metadata.uid);
    assert.equal(pv.status.phase, 'Bound');
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], 'petset.io/local-path');
    assert.equal(pv.spec.nodeAffinity, undefined, 'one machine: reachable from every node');
    assert.equal(pv.spec.hostPath.path, path.join(c.dataDir, 'volumes', pv.metadata.name));
    assert.ok(existsSync(pv.spec.hostPath.path));
    assert.equal(pvc.metadata.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    assert.equal(pvc.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'], 'petset.io/local-path');
    assert.deepEqual(pvc.status.capacity, { storage: '1Gi' });
    assert.deepEqual(pvc.status.accessModes, ['ReadWriteOnce']);
    await waitForEvent('dyn', 'ExternalProvisioning', /external provisioner 'petset\.io\/local-path'/);
    await waitForEvent('dyn', 'Provisioning', 'External provisioner is provisioning volume for claim "default/dyn"');
    await waitForEvent('dyn', 'ProvisioningSucceeded', `Successfully provisioned volume ${pv.metadata.name}`);
  });

  it('serves a class whose provisioner nothing here runs, and says so', async () => {
    await c.client.storageClasses().create(storageClass('cloud', { provisioner: 'kubernetes.io/gce-pd' }));
    await claims().create(claimSpec('cloudy', { storageClassName: 'cloud' }));
    const pvc = await boundClaim('cloudy');
    const pv = await volumes().get(pvc.spec.volumeName);
    assert.equal(pv.spec.storageClassName, 'cloud');
    assert.ok(existsSync(pv.spec.hostPath.path));
    await waitForEvent('cloudy', 'ProvisionerSubstituted', /"kubernetes\.io\/gce-pd", which nothing in this cluster serves/);
  });

  it('Delete reclaim removes the directory and the volume with the claim', async () => {
    await claims().create(claimSpec('short-lived'));
    const pvc = await boundClaim('short-lived');
    const pv = await volumes().get(pvc.spec.volumeName);
    await claims().delete('short-lived');
    await waitFor(() => gone(() => volumes().get(pv.metadata.name!)), 5000, 'volume deleted');
    assert.equal(existsSync(pv.spec.hostPath.path), false);
  });

  it('Retain keeps the volume Released with its data, and never rebinds it', async () => {
    await c.client.storageClasses().create(storageClass('keep', { reclaimPolicy: 'Retain' }));
    await claims().create(claimSpec('kept', { storageClassName: 'keep' }));
    const pvc = await boundClaim('kept');
    const pv = await volumes().get(pvc.spec.volumeName);
    writeFileSync(path.join(pv.spec.hostPath.path, 'data.txt'), 'precious');
    await claims().delete('kept');
    await waitFor(async () => (await volumes().get(pv.metadata.name!)).status.phase === 'Released', 5000, 'volume Released');
    assert.ok(existsSync(path.join(pv.spec.hostPath.path, 'data.txt')));

    await claims().create(claimSpec('kept', { storageClassName: 'keep' }));
    const again = await boundClaim('kept');
    assert.notEqual(again.spec.volumeName, pv.metadata.name, 'a new claim with the same name gets a new volume');
    assert.equal((await volumes().get(pv.metadata.name!)).status.phase, 'Released');
  });

  it('binds a static hostPath volume to a matching claim: the smallest big enough one', async () => {
    for (const [name, size] of [['static-small', '500Mi'], ['static-fit', '2Gi'], ['static-big', '5Gi']]) await volumes().create(hostPathVolume(name, size));
    await waitFor(async () => (await volumes().get('static-big')).status.phase === 'Available', 5000, 'volumes Available');
    await claims().create(claimSpec('static', { storageClassName: '' }));
    const pvc = await boundClaim('static');
    assert.equal(pvc.spec.volumeName, 'static-fit');
    assert.equal(pvc.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual(pvc.status.capacity, { storage: '2Gi' });
    const pv = await volumes().get('static-fit');
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.equal((await volumes().get('static-small')).status.phase, 'Available');

    await claims().create(claimSpec('asks-small', { storageClassName: '', volumeName: 'static-small' }));
    await waitForEvent('asks-small', 'VolumeMismatch', 'Cannot bind to requested volume "static-small": requested PV is too small');

    await claims().create(claimSpec('too-big', { storageClassName: '', resources: { requests: { storage: '10Gi' } } }));
    await waitForEvent('too-big', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
    assert.equal((await claims().get('too-big')).status.phase, 'Pending');
  });

  it('binds a static local volume once the chosen node is one it reaches', async () => {
    await c.client.storageClasses().create(
      storageClass('local-disks', { provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' }),
    );
    await volumes().create({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'disk-x' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'local-disks',
        local: { path: path.join(c.dataDir, 'disks', 'x') },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-x'] }] }] } },
      },
    });
    await claims().create(claimSpec('on-disk', { storageClassName: 'local-disks' }));
    await waitForEvent('on-disk', 'WaitForFirstConsumer');
    await claims().patch('on-disk', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-y' } } });
    await waitForEvent('on-disk', 'ProvisioningFailed', 'no volume plugin matched name: kubernetes.io/no-provisioner');
    await claims().patch('on-disk', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-x' } } });
    assert.equal((await boundClaim('on-disk')).spec.volumeName, 'disk-x');
  });

  it('never binds one volume to two claims', async () => {
    await volumes().create(hostPathVolume('contested', '1Gi', { storageClassName: 'contest' }));
    await waitFor(async () => (await volumes().get('contested')).status.phase === 'Available', 5000, 'volume Available');
    const names = ['rival-a', 'rival-b', 'rival-c'];
    // No StorageClass "contest" exists: only the static volume can serve these claims.
    await Promise.all(names.map((n) => claims().create(claimSpec(n, { storageClassName: 'contest' }))));
    await waitFor(async () => (await volumes().get('contested')).status.phase === 'Bound', 5000, 'volume Bound');
    await sleep(800);
    const all = await Promise.all(names.map((n) => claims().get(n)));
    const bound = all.filter((p) => p.status.phase === 'Bound');
    assert.equal(bound.length, 1);
    const pv = await volumes().get('contested');
    assert.equal(pv.spec.claimRef.uid, bound[0].metadata.uid);

    await claims().create(claimSpec('thief', { storageClassName: 'contest', volumeName: 'contested' }));
    await waitForEvent('thief', 'FailedBinding', 'volume "contested" already bound to a different claim.');
    assert.equal((await claims().get('thief')).status.phase, 'Pending');
  });

  it('leaves a claim for a missing class Pending with an event, and provisions once the class exists', async () => {
    await claims().create(claimSpec('wants-fast', { storageClassName: 'fast' }));
    await waitForEvent('wants-fast', 'ProvisioningFailed', 'storageclass.storage.k8s.io "fast" not found');
    assert.equal((await claims().get('wants-fast')).status.phase, 'Pending');
    await c.client.storageClasses().create(storageClass('fast'));
    await boundClaim('wants-fast');
  });

  it('grows a claim when its class allows expansion, and refuses otherwise', async () => {
    await claims().create(claimSpec('grow'));
    await boundClaim('grow');
    await claims().patch('grow', { spec: { resources: { requests: { storage: '3Gi' } } } });
    const grown = await waitFor(async () => {
      const pvc = await claims().get('grow');
      return pvc.status.capacity?.storage === '3Gi' ? pvc : undefined;
    }, 5000, 'claim capacity 3Gi');
    assert.equal(grown.status.conditions, undefined);
    assert.equal(grown.status.allocatedResources.storage, '3Gi');
    assert.equal((await volumes().get(grown.spec.volumeName)).spec.capacity.storage, '3Gi');
    await waitForEvent('grow', 'Resizing', `External resizer is resizing volume ${grown.spec.volumeName}`);
    await waitForEvent('grow', 'VolumeResizeSuccessful', 'Resize volume succeeded');

    await assert.rejects(claims().patch('grow', { spec: { resources: { requests: { storage: '1Gi' } } } }), (e: unknown) => {
      return isApiError(e, 'Invalid') && /spec\.resources\.requests\.storage: Forbidden: field can not be less than/.test(e.message);
    });

    await c.client.storageClasses().create(storageClass('fixed'));
    await claims().create(claimSpec('stay', { storageClassName: 'fixed' }));
    await boundClaim('stay');
    await assert.rejects(claims().patch('stay', { spec: { resources: { requests: { storage: '2Gi' } } } }), (e: unknown) => {
      return isApiError(e, 'Forbidden') && e.code === 403 && e.message === `persistentvolumeclaims "stay" is forbidden: ${RESIZE_NOT_ALLOWED}`;
    });
  });

  it('holds a deleted claim while a scheduled pod uses it', async () => {
    await claims().create(claimSpec('in-use'));
    const pvc = await boundClaim('in-use');
    await c.client.pods(NS).create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user', namespace: NS },
      spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'busybox' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'in-use' } }] },
    });
    await claims().delete('in-use');
    await sleep(500);
    const held = await claims().get('in-use');
    assert.ok(held.metadata.deletionTimestamp);
    assert.deepEqual(held.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    assert.equal(held.status.phase, 'Bound');

    await c.client.pods(NS).delete('user', { gracePeriodSeconds: 0 });
    await waitFor(() => gone(() => claims().get('in-use')), 5000, 'claim removed');
    await waitFor(() => gone(() => volumes().get(pvc.spec.volumeName)), 5000, 'volume removed');
  });

  it('waits for the first consumer, then provisions for the node the scheduler chose', async () => {
    await c.client.storageClasses().create(storageClass('later', { volumeBindingMode: 'WaitForFirstConsumer' }));
    await claims().create(claimSpec('lazy', { storageClassName: 'later' }));
    await waitForEvent('lazy', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
    await c.client.pods(NS).create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'consumer', namespace: NS },
      spec: { containers: [{ name: 'app', image: 'busybox' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'lazy' } }] },
    });
    await waitForEvent('lazy', 'WaitForPodScheduled', 'waiting for pod consumer to be scheduled');
    assert.equal((await claims().get('lazy')).status.phase, 'Pending');
    assert.equal((await volumes().list()).items.filter((pv) => pv.spec.claimRef?.name === 'lazy').length, 0);

    await claims().patch('lazy', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-1' } } });
    const pvc = await boundClaim('lazy');
    assert.equal((await volumes().get(pvc.spec.volumeName)).spec.nodeAffinity, undefined);
  });
});

describe('volume controllers across machines', () => {
  before(async () => {
    c = await startCluster((dataDir) => [
      ...volumeControllers({ dataDir, singleMachine: false, serveForeignProvisioners: true, resyncMs: 300 }),
      new LocalPathProvisioner({ dataDir, singleMachine: false, serveForeignProvisioners: false, nodeName: 'node-a' }),
    ]);
    await c.client.storageClasses().create(storageClass('local', { volumeBindingMode: 'WaitForFirstConsumer' }));
    await c.client.storageClasses().create(storageClass('now'));
  });
  after(async () => {
    await c.stop();
  });

  it("puts each volume under its node's directory, pinned to that node", async () => {
    await claims().create(claimSpec('pinned', { storageClassName: 'local' }, { 'volume.kubernetes.io/selected-node': 'node-a' }));
    const pvc = await boundClaim('pinned');
    const pv = await volumes().get(pvc.spec.volumeName);
    assert.equal(pv.spec.local.path, path.join(c.dataDir, 'volumes', 'node-a', pv.metadata.name!));
    assert.ok(existsSync(pv.spec.local.path));
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms, [
      { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-a'] }] },
    ]);

    await claims().delete('pinned');
    await waitFor(() => gone(() => volumes().get(pv.metadata.name!)), 5000, 'volume deleted');
    assert.equal(existsSync(pv.spec.local.path), false);
  });

  it('gives a claim created before any default class the default once one exists', async () => {
    await claims().create(claimSpec('classless'));
    assert.equal((await claims().get('classless')).spec.storageClassName, undefined);
    await waitForEvent('classless', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
    await c.client.storageClasses().create(
      storageClass('late-default', { metadata: { name: 'late-default', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } }),
    );
    await waitFor(async () => (await claims().get('classless')).spec.storageClassName === 'late-default', 5000, 'default class assigned');
  });

  it('leaves claims for other nodes to their own provisioners, and reports claims no node takes', async () => {
    await claims().create(claimSpec('elsewhere', { storageClassName: 'local' }, { 'volume.kubernetes.io/selected-node': 'node-b' }));
    await claims().create(claimSpec('nowhere', { storageClassName: 'now' }));
    await waitForEvent('nowhere', 'ProvisioningFailed', 'failed to provision volume with StorageClass "now": configuration error, no node was specified');
    await sleep(300);
    assert.equal((await claims().get('elsewhere')).status.phase, 'Pending');
    assert.equal((await volumes().list()).items.length, 0);
  });
});
