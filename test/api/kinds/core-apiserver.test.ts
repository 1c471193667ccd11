// The non-workload kinds through the real API server pipeline (storage, admission,
// subresources, tables, patches), in process over an in-memory store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiRequest, ApiResponse } from '../../../src/api/request.js';
import { ApiServer } from '../../../src/apiserver/handler.js';
import { type SqliteStore } from '../../../src/store/sqlite.js';
import { newTestApi } from '../../support/server.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

let store: SqliteStore;
let api: ApiServer;

async function call(method: ApiRequest['method'], path: string, body?: unknown, headers: Record<string, string> = {}, query = ''): Promise<ApiResponse & { body: any }> {
  const res = await api.handle({ method, path, query: new URLSearchParams(query), headers: { 'content-type': 'application/json', ...headers }, body });
  return res as ApiResponse & { body: any };
}

async function ok(method: ApiRequest['method'], path: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
  const res = await call(method, path, body, headers);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

before(async () => {
  ({ api, store } = await newTestApi({ bootstrap: false }));
  await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
});

after(async () => {
  await store.close();
});

describe('core kinds through the API server', () => {
  it('namespaces are created Active with their finalizer and label', async () => {
    const ns = await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    assert.equal(ns.status.phase, 'Active');
    assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
    assert.equal(ns.metadata.labels['kubernetes.io/metadata.name'], 'team-a');
  });

  it('a headless service and a ClusterIP service, then a table', async () => {
    const headless = await ok('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'nginx' },
      spec: { clusterIP: 'None', selector: { app: 'nginx' }, ports: [{ port: 80, name: 'web' }] },
    });
    assert.deepEqual(headless.spec.clusterIPs, ['None']);
    const web = await ok('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 3306 }] },
    });
    assert.match(web.spec.clusterIP, /^127\./);
    assert.deepEqual(web.spec.clusterIPs, [web.spec.clusterIP]);

    // a PUT that leaves the address out keeps it; changing it is refused with upstream's text
    const put = await ok('PUT', '/api/v1/namespaces/default/services/web', { ...web, spec: { selector: { app: 'web' }, ports: [{ port: 3306 }] } });
    assert.equal(put.spec.clusterIP, web.spec.clusterIP);
    const moved = await call('PUT', '/api/v1/namespaces/default/services/web', { ...put, spec: { ...put.spec, clusterIP: '127.96.9.9', clusterIPs: ['127.96.9.9'] } });
    assert.equal(moved.status, 422);
    assert.equal(moved.body.message, `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"127.96.9.9"}: may not change once set`);

    const table = await ok('GET', '/api/v1/namespaces/default/services', undefined, { accept: TABLE });
    const names = table.columnDefinitions.map((c: any) => c.name);
    assert.deepEqual(names, ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
    const nginx = table.rows.find((r: any) => r.cells[0] === 'nginx');
    assert.deepEqual(nginx.cells.slice(0, 5), ['nginx', 'ClusterIP', 'None', '<none>', '80/TCP']);
  });

  it('invalid services get 422 with upstream messages', async () => {
    const res = await call('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'bad' },
      spec: { ports: [{ port: 80 }, { port: 81 }] },
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.message, 'Service "bad" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]');
  });

  it('secrets fold stringData into data and select on type', async () => {
    const s = await ok('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'hunter2' } });
    assert.equal(s.type, 'Opaque');
    assert.equal(s.stringData, undefined);
    assert.equal(Buffer.from(s.data.password, 'base64').toString(), 'hunter2');
    const listed = await call('GET', '/api/v1/namespaces/default/secrets', undefined, {}, 'fieldSelector=type%3DOpaque');
    assert.deepEqual(listed.body.items.map((i: any) => i.metadata.name), ['db']);
  });

  it('claims: create Pending, bind through /status, then grow but not shrink', async () => {
    await ok('POST', '/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'expandable' },
      provisioner: 'petset.io/local-path',
      allowVolumeExpansion: true,
    });
    const base = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data-web-0' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'expandable', resources: { requests: { storage: '1Gi' } } },
    };
    const pvc = await ok('POST', '/api/v1/namespaces/default/persistentvolumeclaims', base);
    assert.equal(pvc.status.phase, 'Pending');
    assert.deepEqual(pvc.metadata.finalizers, ['kubernetes.io/pvc-protection']);

    const named = await ok('PUT', '/api/v1/namespaces/default/persistentvolumeclaims/data-web-0', { ...pvc, spec: { ...pvc.spec, volumeName: 'pv-1' } });
    const boundClaim = await ok('PUT', '/api/v1/namespaces/default/persistentvolumeclaims/data-web-0/status', {
      ...named,
      status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } },
    });
    assert.equal(boundClaim.status.phase, 'Bound');

    const grown = await ok('PUT', '/api/v1/namespaces/default/persistentvolumeclaims/data-web-0', {
      ...boundClaim,
      spec: { ...boundClaim.spec, resources: { requests: { storage: '2Gi' } } },
    });
    const shrunk = await call('PUT', '/api/v1/namespaces/default/persistentvolumeclaims/data-web-0', {
      ...grown,
      spec: { ...grown.spec, resources: { requests: { storage: '500Mi' } } },
    });
    assert.equal(shrunk.status, 422);
    assert.equal(
      shrunk.body.message,
      'PersistentVolumeClaim "data-web-0" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
    );

    const table = await ok('GET', '/api/v1/namespaces/default/persistentvolumeclaims/data-web-0', undefined, { accept: TABLE });
    assert.deepEqual(table.rows[0].cells.slice(0, 5), ['data-web-0', 'Bound', 'pv-1', '1Gi', 'RWO']);
  });

  it('disruption budgets need a resourceVersion to be replaced', async () => {
    const pdb = await ok('POST', '/apis/policy/v1/namespaces/default/poddisruptionbudgets', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } },
    });
    assert.equal(pdb.metadata.generation, 1);
    const { resourceVersion: _rv, ...meta } = pdb.metadata;
    const res = await call('PUT', '/apis/policy/v1/namespaces/default/poddisruptionbudgets/web', { ...pdb, metadata: meta });
    assert.equal(res.status, 422);
    assert.match(res.body.message, /metadata\.resourceVersion: Invalid value: 0: must be specified for an update/);
  });

  it('storage classes print their default marker', async () => {
    await ok('POST', '/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'petset.io/local-path',
    });
    const table = await ok('GET', '/apis/storage.k8s.io/v1/storageclasses/standard', undefined, { accept: TABLE });
    assert.deepEqual(table.rows[0].cells.slice(0, 5), ['standard (default)', 'petset.io/local-path', 'Delete', 'Immediate', false]);
  });
});
