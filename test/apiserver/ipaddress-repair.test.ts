// The ipallocator repair loop over a real API server and SQLite store: an IPAddress a user
// deleted is made again for its Service, one whose Service is gone is deleted once older than
// the grace period (not before: its Service may be on its way), one naming a Service that holds
// another address is deleted, one of another manager is left alone, and each repair is a
// Warning event in upstream's words on the Service or the IPAddress.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiServer } from '../../src/apiserver/handler.js';
import { installAdmission } from '../../src/apiserver/admission.js';
import { bootstrapObjects } from '../../src/apiserver/bootstrap.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { Client } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { EventRecorder } from '../../src/client/events.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { serviceRange } from '../../src/apiserver/service-ips.js';
import { decideIPAddressRepairs, repairIPAddresses, startIPAddressRepair, REPAIR_COMPONENT } from '../../src/apiserver/ipaddress-repair.js';
import type { KubeObject } from '../../src/api/object.js';
import { moveServicesIntoRange } from '../../src/apiserver/service-ip-repair.js';

const RANGE = '10.123.46.0/26';
const IPS = { group: 'networking.k8s.io', version: 'v1', resource: 'ipaddresses', kind: 'IPAddress', namespaced: false };
const SERVICES = { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true };
const EVENTS = { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true };
const MANAGED = { 'ipaddress.kubernetes.io/ip-family': 'IPv4', 'ipaddress.kubernetes.io/managed-by': 'ipallocator.k8s.io' };

const svc = (name: string, clusterIP?: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], ...(clusterIP ? { clusterIP } : {}) } });
const ipAddress = (ip: string, service: string, labels: Record<string, string> = MANAGED): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IPAddress',
  metadata: { name: ip, labels },
  spec: { parentRef: { group: '', resource: 'services', namespace: 'default', name: service } },
});

async function cluster() {
  const store = openSqliteStore(':memory:', { autoCompact: false });
  const api = new ApiServer(defaultRegistry(), store, { serviceClusterIPRange: RANGE });
  installAdmission(api);
  await bootstrapObjects(api);
  const client = new Client(new InProcessTransport(api.handle, { name: 'admin', groups: ['system:masters'] }));
  return { store, client };
}

/** What `kubectl get events -A` would show of the repair: type, reason, object and message. */
async function repairEvents(client: Client): Promise<string[]> {
  const events = (await client.resource(EVENTS).list()).items.filter((e) => e.source?.component === REPAIR_COMPONENT);
  return events.map((e) => `${e.type} ${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message}`).sort();
}

describe('ipallocator repair', () => {
  it('makes a missing IPAddress again, deletes leaked and wrongly referring ones, and says so in events', async () => {
    const { store, client } = await cluster();
    try {
      const recorder = new EventRecorder(client, REPAIR_COMPONENT);
      const range = serviceRange(RANGE);
      const a = await client.resource(SERVICES, 'default').create(svc('a', '10.123.46.20'));
      await client.resource(SERVICES, 'default').create(svc('b', '10.123.46.21'));
      // a user deletes a live Service's address; an API server died between claim and store; another manager's address
      await client.resource(IPS).delete('10.123.46.20');
      await client.resource(IPS).create(ipAddress('10.123.46.40', 'gone'));
      await client.resource(IPS).create(ipAddress('10.123.46.41', 'gone', { 'ipaddress.kubernetes.io/managed-by': 'someone-else' }));
      // b's address recorded as a's, which holds another
      await client.resource(IPS).delete('10.123.46.21');
      await client.resource(IPS).create(ipAddress('10.123.46.21', 'a'));

      // within the grace period the orphan is left: its Service may still be on its way
      const early = await repairIPAddresses(client, recorder, range);
      assert.deepEqual(early.map((x) => x.action).sort(), ['create', 'delete']);
      assert.ok(await client.resource(IPS).get('10.123.46.40'));

      // after it, a second pass: the orphan goes, and b (whose wrong record went in the first pass) gets its own
      const later = await repairIPAddresses(client, recorder, range, { now: Date.now() + 61_000 });
      assert.deepEqual(later.map((x) => x.action).sort(), ['create', 'delete']);
      const held = Object.fromEntries((await client.resource(IPS).list()).items.map((i) => [i.metadata.name, i.spec.parentRef.name]));
      assert.deepEqual(held, { '10.123.46.1': 'kubernetes', '10.123.46.20': 'a', '10.123.46.21': 'b', '10.123.46.41': 'gone' });
      const remade = await client.resource(IPS).get('10.123.46.20');
      assert.deepEqual(remade.metadata.labels, MANAGED);
      assert.deepEqual(remade.spec.parentRef, { group: '', resource: 'services', namespace: 'default', name: a.metadata.name });

      await recorder.flush();
      assert.deepEqual(await repairEvents(client), [
        'Warning ClusterIPNotAllocated Service/a: Cluster IP [IPv4]: 10.123.46.20 is not allocated; repairing',
        'Warning ClusterIPNotAllocated Service/b: Cluster IP [IPv4]: 10.123.46.21 is not allocated; repairing',
        'Warning IPAddressNotAllocated IPAddress/10.123.46.40: IPAddress: 10.123.46.40 for Service default/gone appears to have leaked: cleaning up',
        'Warning IPAddressWrongReference IPAddress/10.123.46.21: IPAddress: 10.123.46.21 for Service default/a has a wrong reference; cleaning up',
      ]);
      // all in order now: nothing more to do
      assert.deepEqual(await repairIPAddresses(client, recorder, range, { now: Date.now() + 61_000 }), []);
    } finally {
      await store.close();
    }
  });

  it('reports two Services with one address and one outside the range, and the loop repairs at its start', async () => {
    const range = serviceRange(RANGE);
    const now = Date.parse('2026-01-01T00:10:00Z');
    const s = (name: string, ip: string, uid: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid }, spec: { clusterIP: ip, clusterIPs: [ip] } });
    const rec = (ip: string, name: string): KubeObject => ({ ...ipAddress(ip, name), metadata: { name: ip, labels: MANAGED, creationTimestamp: '2026-01-01T00:00:00Z' } });
    const actions = decideIPAddressRepairs([s('x', '10.123.46.30', '1'), s('y', '10.123.46.30', '2'), s('z', '10.1.2.3', '3')], [rec('10.123.46.30', 'x')], range, now);
    assert.deepEqual(
      actions.map((x) => `${x.action} ${'event' in x && x.event ? `${x.event.reason}: ${x.event.message}` : ''}`),
      [
        'report ClusterIPAlreadyAllocated: Cluster IP [IPv4]:10.123.46.30 was assigned to multiple services; please recreate service',
        'report ClusterIPOutOfRange: Cluster IP [IPv4]: 10.1.2.3 is not within any configured Service CIDR; please recreate service',
      ],
    );

    // the loop as an API server runs it: its first pass repairs at once
    const { store, client } = await cluster();
    try {
      await client.resource(SERVICES, 'default').create(svc('c', '10.123.46.25'));
      await client.resource(IPS).delete('10.123.46.25');
      const loop = startIPAddressRepair(client, range, { intervalMs: 3_600_000 });
      await loop.idle();
      loop.stop();
      assert.equal((await client.resource(IPS).get('10.123.46.25')).spec.parentRef.name, 'c');
      assert.deepEqual(await repairEvents(client), ['Warning ClusterIPNotAllocated Service/c: Cluster IP [IPv4]: 10.123.46.25 is not allocated; repairing']);
    } finally {
      await store.close();
    }
  });

  it('a service moved into a new service range at start takes its new address along: nothing left to repair', async () => {
    const { store, client } = await cluster();
    try {
      const before = await client.resource(SERVICES, 'default').create(svc('moved', '10.123.46.33'));
      // the same store served with another range (a data dir switched between pod network modes)
      const other = '10.124.0.0/26';
      const api = new ApiServer(defaultRegistry(), store, { serviceClusterIPRange: other });
      installAdmission(api);
      const moves = await moveServicesIntoRange(api);
      const mine = moves.find((m) => m.name === 'moved')!;
      assert.equal(mine.from, before.spec.clusterIP);
      const held = await client.resource(IPS).get(mine.to);
      assert.deepEqual(held.spec.parentRef, { group: '', resource: 'services', namespace: 'default', name: 'moved' });
      await assert.rejects(client.resource(IPS).get(mine.from), /not found/);
      const recorder = new EventRecorder(client, REPAIR_COMPONENT);
      const kubernetes = moves.find((m) => m.name === 'kubernetes')!;
      assert.equal(kubernetes.to, '10.124.0.1');
      assert.deepEqual(await repairIPAddresses(client, recorder, serviceRange(other), { now: Date.now() + 61_000 }), []);
    } finally {
      await store.close();
    }
  });
});
