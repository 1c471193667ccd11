// Two API servers over one store allocate service cluster IPs at the same time and never
// hand out the same address: each allocation is an IPAddress object (upstream's allocator
// since 1.33) whose create is the claim. Over SQLite (one store, two servers) and over a
// real etcd (two servers, each with its own etcd connection).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApiServer } from '../../src/apiserver/handler.js';
import { installAdmission } from '../../src/apiserver/admission.js';
import { bootstrapObjects } from '../../src/apiserver/bootstrap.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { Client } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { openEtcdStore } from '../../src/store/etcd.js';
import type { Store } from '../../src/store/store.js';
import type { KubeObject } from '../../src/api/object.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { rejection } from '../support/rejection.js';

const RANGE = '10.123.45.0/26'; // 64 addresses: .11 to .62 for services
const IPS = { group: 'networking.k8s.io', version: 'v1', resource: 'ipaddresses', kind: 'IPAddress', namespaced: false };
const SERVICES = { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true };

function server(store: Store): Client {
  const api = new ApiServer(defaultRegistry(), store, { serviceClusterIPRange: RANGE });
  installAdmission(api);
  return new Client(new InProcessTransport(api.handle, { name: 'admin', groups: ['system:masters'] }));
}

const svc = (name: string, clusterIP?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: [{ port: 80 }], ...(clusterIP ? { clusterIP } : {}) },
});

async function twoServers(a: Client, b: Client): Promise<void> {
  // 48 of the 52 free addresses, half through each server, all at once
  const made = await Promise.all(Array.from({ length: 48 }, (_, i) => (i % 2 ? a : b).resource(SERVICES, 'default').create(svc(`s-${i}`))));
  const ips = made.map((s) => s.spec.clusterIP as string);
  assert.equal(new Set(ips).size, 48, `every address once: ${ips.sort().join(' ')}`);
  // each is recorded, by the service holding it
  const recorded = (await a.resource(IPS).list()).items;
  for (const s of made) {
    const ip = recorded.find((r) => r.metadata.name === s.spec.clusterIP);
    assert.deepEqual(ip?.spec.parentRef, { group: '', resource: 'services', namespace: 'default', name: s.metadata.name });
  }
  // an address another server handed out cannot be asked for
  const taken = made[0].spec.clusterIP;
  const e = await rejection(b.resource(SERVICES, 'default').create(svc('copy', taken)));
  assert.equal(e.code, 422);
  assert.match(e.message, new RegExp(`spec.clusterIPs: Invalid value: .*failed to allocate IP ${taken.replace(/\./g, '\\.')}: provided IP is already allocated`));
  // a dry run takes nothing
  await a.resource(SERVICES, 'default').create(svc('dry'), { dryRun: true });
  assert.equal((await a.resource(IPS).list()).items.length, recorded.length);
  // deleted through one server, the address is free for the other
  await b.resource(SERVICES, 'default').delete(made[0].metadata.name!);
  assert.equal((await a.resource(IPS).list()).items.some((r) => r.metadata.name === taken), false);
  assert.equal((await a.resource(SERVICES, 'default').create(svc('again', taken))).spec.clusterIP, taken);
  // the range runs out for both alike: 52 addresses for services (.11 to .62), 48 held, 4 left
  await Promise.all([a, b, a, b].map((c, i) => c.resource(SERVICES, 'default').create(svc(`last-${i}`))));
  const full = await rejection(b.resource(SERVICES, 'default').create(svc('one-too-many')));
  assert.match(full.message, /range is full/);
  // an address one server releases is found by the other, though it last saw it taken
  const last = await a.resource(SERVICES, 'default').get('last-0');
  await a.resource(SERVICES, 'default').delete('last-0');
  assert.equal((await b.resource(SERVICES, 'default').create(svc('late'))).spec.clusterIP, last.spec.clusterIP);
}

describe('service cluster IPs shared by two API servers', () => {
  it('over one SQLite store', async () => {
    const store = openSqliteStore(':memory:', { autoCompact: false });
    try {
      const a = server(store);
      await bootstrapVia(store);
      await twoServers(a, server(store));
    } finally {
      await store.close();
    }
  });

  let etcd: TestEtcd | undefined;
  after(async () => etcd?.stop());
  it('over etcd, each server with its own connection', async () => {
    etcd = await startEtcd();
    const stores = await Promise.all([0, 1].map(() => openEtcdStore({ endpoints: [etcd!.endpoint], autoCompact: false })));
    try {
      await bootstrapVia(stores[0]);
      await twoServers(server(stores[0]), server(stores[1]));
    } finally {
      for (const s of stores) await s.close();
    }
  });
});

/** The namespaces and the kubernetes service, written once as the first API server does. */
async function bootstrapVia(store: Store): Promise<ApiServer> {
  const api = new ApiServer(defaultRegistry(), store, { serviceClusterIPRange: RANGE });
  installAdmission(api);
  await bootstrapObjects(api);
  return api;
}
