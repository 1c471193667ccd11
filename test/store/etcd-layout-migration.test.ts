// etcd data written by petset before it used upstream's key layout (/registry/core/pods/...,
// /registry/apps/statefulsets/...) moves to that layout when a store opens, over Debian's
// etcd: etcdctl then lists the upstream keys, the API server serves the objects, a second start
// moves nothing, two API servers starting at once move every key once, and a key whose
// upstream place is taken is left and reported.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { ApiServer } from '../../src/apiserver/handler.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { Client } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';

let etcd: TestEtcd;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

const etcdctl = (...args: string[]) => execFileSync('etcdctl', ['--endpoints', etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' });
const keys = (prefix = '/registry/') => etcdctl('get', '--prefix', '--keys-only', prefix).split('\n').filter(Boolean).sort();

const obj = (apiVersion: string, kind: string, name: string, namespace?: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}), uid: `uid-${name}`, creationTimestamp: '2026-12-01T00:00:00Z' }, ...extra });

/** What an older petset left in etcd: its layout, /registry/<group or core>/<plural>/... */
const OLD: Record<string, string> = {
  '/registry/core/namespaces/default': obj('v1', 'Namespace', 'default', undefined, { spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }),
  '/registry/core/configmaps/default/settings': obj('v1', 'ConfigMap', 'settings', 'default', { data: { mode: 'old-layout' } }),
  '/registry/core/services/default/db': obj('v1', 'Service', 'db', 'default', { spec: { clusterIP: 'None', ports: [{ port: 3306 }] } }),
  '/registry/core/nodes/node-1': obj('v1', 'Node', 'node-1'),
  '/registry/core/replicationcontrollers/default/rc': obj('v1', 'ReplicationController', 'rc', 'default'),
  '/registry/apps/statefulsets/default/web': obj('apps/v1', 'StatefulSet', 'web', 'default', { spec: { replicas: 0 } }),
  '/registry/networking.k8s.io/ingresses/default/front': obj('networking.k8s.io/v1', 'Ingress', 'front', 'default'),
  '/registry/rbac.authorization.k8s.io/clusterroles/reader': obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'reader'),
  // CRDs and custom resources had upstream's place already
  '/registry/apiextensions.k8s.io/customresourcedefinitions/crontabs.example.com': obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'crontabs.example.com'),
  '/registry/example.com/crontabs/default/nightly': obj('example.com/v1', 'CronTab', 'nightly', 'default'),
};
const UPSTREAM = [
  '/registry/apiextensions.k8s.io/customresourcedefinitions/crontabs.example.com',
  '/registry/clusterroles/reader',
  '/registry/configmaps/default/settings',
  '/registry/controllers/default/rc',
  '/registry/example.com/crontabs/default/nightly',
  '/registry/ingress/default/front',
  '/registry/minions/node-1',
  '/registry/namespaces/default',
  '/registry/services/specs/default/db',
  '/registry/statefulsets/default/web',
];

async function seed(extra: Record<string, string> = {}): Promise<void> {
  etcdctl('del', '--prefix', '/registry/');
  for (const [k, v] of Object.entries({ ...OLD, ...extra })) etcdctl('put', k, v);
}

async function open(lines: string[]): Promise<EtcdStore> {
  return openEtcdStore({ endpoints: [etcd.endpoint], autoCompact: false, log: (l) => lines.push(l) });
}

describe('etcd data in the old key layout', () => {
  it('moves to the upstream layout at start, once, and is served from there', async () => {
    await seed();
    const lines: string[] = [];
    const store = await open(lines);
    try {
      assert.deepEqual(keys(), UPSTREAM);
      assert.deepEqual(lines, ['petset store: 8 keys in etcd moved to the upstream layout (/registry/<resource>/...)']);
      // values moved unchanged
      assert.equal(etcdctl('get', '/registry/configmaps/default/settings', '--print-value-only').trim(), OLD['/registry/core/configmaps/default/settings']);
      // what kubectl get would show: the objects, from their new keys
      const api = new ApiServer(defaultRegistry(), store, {});
      const client = new Client(new InProcessTransport(api.handle, { name: 'admin', groups: ['system:masters'] }));
      const cm = await client.resource({ group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true }, 'default').get('settings');
      assert.deepEqual(cm.data, { mode: 'old-layout' });
      const sts = await client.resource({ group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', namespaced: true }, 'default').list();
      assert.deepEqual(sts.items.map((s) => s.metadata.uid), ['uid-web']);
    } finally {
      await store.close();
    }
    // a second start finds nothing to move
    const again: string[] = [];
    await (await open(again)).close();
    assert.deepEqual(again, []);
    assert.deepEqual(keys(), UPSTREAM);
  });

  it('two API servers starting at once move every key once', async () => {
    await seed();
    const lines: string[] = [];
    const stores = await Promise.all([open(lines), open(lines)]);
    try {
      assert.deepEqual(keys(), UPSTREAM);
      const moved = lines.map((l) => Number(/(\d+) keys? in etcd moved/.exec(l)?.[1] ?? 0));
      assert.equal(moved.reduce((a, b) => a + b, 0), 8, lines.join('\n'));
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it('leaves an old key whose upstream place is taken, and says so', async () => {
    await seed({ '/registry/configmaps/default/settings': obj('v1', 'ConfigMap', 'settings', 'default', { data: { mode: 'new' } }) });
    const lines: string[] = [];
    await (await open(lines)).close();
    assert.deepEqual(keys(), [...UPSTREAM, '/registry/core/configmaps/default/settings'].sort());
    assert.match(etcdctl('get', '/registry/configmaps/default/settings', '--print-value-only'), /"mode":"new"/);
    assert.deepEqual(lines, [
      'petset store: 7 keys in etcd moved to the upstream layout (/registry/<resource>/...)',
      'petset store: /registry/core/configmaps/default/settings was not moved: /registry/configmaps/default/settings exists (it is the one served); delete the old key with etcdctl del /registry/core/configmaps/default/settings',
    ]);
    etcdctl('del', '--prefix', '/registry/');
  });
});
