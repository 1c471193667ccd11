// The DNS specification's records, checked on plain objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { canonicalIP, podLabelToIP, resolveInZone, resolveReverse, reverseEntries, reverseNameToIP, type DnsView } from '../../src/dns/zone.js';

function svc(name: string, spec: Record<string, any>, ns = 'default'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec };
}
function eps(name: string, subsets: any[], ns = 'default'): KubeObject {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns }, subsets } as KubeObject;
}

function viewOf(objs: KubeObject[], namespaces = ['default', 'kube-system']): DnsView {
  const services = new Map(objs.filter((o) => o.kind === 'Service').map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  const endpoints = new Map(objs.filter((o) => o.kind === 'Endpoints').map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  return {
    service: (ns, n) => services.get(`${ns}/${n}`),
    endpoints: (ns, n) => endpoints.get(`${ns}/${n}`),
    namespaceExists: (ns) => namespaces.includes(ns),
    namesForIP: (ip) => [...services.values()].flatMap((s) => reverseEntries(s, endpoints.get(`${s.metadata.namespace}/${s.metadata.name}`), 'cluster.local')).filter((e) => e.ip === ip).map((e) => e.name),
  };
}

// The spec's worked example: StatefulSet web, headless service nginx with port web 80/TCP.
const nginx = svc('nginx', { clusterIP: 'None', ports: [{ name: 'web', port: 80, protocol: 'TCP' }] });
const nginxEps = eps('nginx', [
  {
    addresses: [
      { ip: '10.244.0.10', hostname: 'web-0' },
      { ip: '10.244.0.11', hostname: 'web-1' },
      { ip: '10.244.0.12', hostname: 'web-2' },
    ],
    notReadyAddresses: [{ ip: '10.244.0.13', hostname: 'web-3' }],
    ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
  },
]);
const kubernetes = svc('kubernetes', { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP' }] });
const view = viewOf([nginx, nginxEps, kubernetes]);

test('headless service: one A per ready endpoint, not-ready ones left out', () => {
  const a = resolveInZone('nginx.default.svc.cluster.local', 'A', view);
  assert.equal(a.rcode, 'NOERROR');
  assert.deepEqual(a.answers.map((r) => r.data).sort(), ['10.244.0.10', '10.244.0.11', '10.244.0.12']);
  assert.ok(a.answers.every((r) => r.ttl === 5));
});

test('a pet by name, case-insensitive; an unknown pet or a not-ready one is NXDOMAIN', () => {
  assert.deepEqual(resolveInZone('WEB-1.nginx.default.svc.cluster.local.', 'A', view).answers.map((r) => r.data), ['10.244.0.11']);
  assert.equal(resolveInZone('web-3.nginx.default.svc.cluster.local', 'A', view).rcode, 'NXDOMAIN');
  assert.equal(resolveInZone('web-9.nginx.default.svc.cluster.local', 'A', view).rcode, 'NXDOMAIN');
});

test('SRV per named port targets each pet, with their A records as additionals', () => {
  const r = resolveInZone('_web._tcp.nginx.default.svc.cluster.local', 'SRV', view);
  assert.equal(r.answers.length, 3);
  assert.deepEqual(r.answers.map((x) => x.data.target).sort(), ['web-0.nginx.default.svc.cluster.local', 'web-1.nginx.default.svc.cluster.local', 'web-2.nginx.default.svc.cluster.local']);
  assert.ok(r.answers.every((x) => x.data.port === 80));
  assert.equal(r.additionals.length, 3);
  assert.equal(resolveInZone('_db._tcp.nginx.default.svc.cluster.local', 'SRV', view).rcode, 'NXDOMAIN');
});

test("the seeds' bare-name SRV query answers one SRV per pet and the A records in ADDITIONAL", () => {
  const r = resolveInZone('nginx.default.svc.cluster.local', 'SRV', view);
  assert.equal(r.rcode, 'NOERROR');
  assert.equal(r.answers.filter((x) => x.type === 'SRV').length, 3);
  assert.deepEqual(r.additionals.map((x) => `${x.name} ${x.data}`).sort(), [
    'web-0.nginx.default.svc.cluster.local 10.244.0.10',
    'web-1.nginx.default.svc.cluster.local 10.244.0.11',
    'web-2.nginx.default.svc.cluster.local 10.244.0.12',
  ]);
});

test('publishNotReadyAddresses publishes every endpoint', () => {
  const all = svc('nginx', { ...nginx.spec, publishNotReadyAddresses: true });
  const v = viewOf([all, nginxEps]);
  assert.equal(resolveInZone('nginx.default.svc.cluster.local', 'A', v).answers.length, 4);
  assert.equal(resolveInZone('web-3.nginx.default.svc.cluster.local', 'A', v).answers[0].data, '10.244.0.13');
});

test('a headless service with no ready endpoint is NXDOMAIN; a missing service too', () => {
  const v = viewOf([nginx, eps('nginx', [{ notReadyAddresses: [{ ip: '10.244.0.10', hostname: 'web-0' }], ports: [{ name: 'web', port: 80, protocol: 'TCP' }] }])]);
  assert.equal(resolveInZone('nginx.default.svc.cluster.local', 'A', v).rcode, 'NXDOMAIN');
  assert.equal(resolveInZone('nope.default.svc.cluster.local', 'A', v).rcode, 'NXDOMAIN');
});

test('ClusterIP service: A, SRV per named port, NODATA for AAAA', () => {
  assert.deepEqual(resolveInZone('kubernetes.default.svc.cluster.local', 'A', view).answers.map((r) => r.data), ['10.96.0.1']);
  const srv = resolveInZone('_https._tcp.kubernetes.default.svc.cluster.local', 'SRV', view);
  assert.deepEqual(srv.answers[0].data, { priority: 0, weight: 100, port: 443, target: 'kubernetes.default.svc.cluster.local' });
  const aaaa = resolveInZone('kubernetes.default.svc.cluster.local', 'AAAA', view);
  assert.equal(aaaa.rcode, 'NOERROR');
  assert.equal(aaaa.answers.length, 0);
  assert.equal(aaaa.authorities[0].type, 'SOA');
});

test('ExternalName answers a CNAME', () => {
  const v = viewOf([svc('ext', { type: 'ExternalName', externalName: 'db.example.org' })]);
  const r = resolveInZone('ext.default.svc.cluster.local', 'A', v);
  assert.deepEqual(r.answers, [{ name: 'ext.default.svc.cluster.local', type: 'CNAME', ttl: 5, data: 'db.example.org' }]);
});

test('NXDOMAIN vs NODATA for names that exist without records', () => {
  assert.equal(resolveInZone('default.svc.cluster.local', 'A', view).rcode, 'NOERROR');
  assert.equal(resolveInZone('svc.cluster.local', 'A', view).rcode, 'NOERROR');
  assert.equal(resolveInZone('nons.svc.cluster.local', 'A', view).rcode, 'NXDOMAIN');
  assert.equal(resolveInZone('foo.cluster.local', 'A', view).rcode, 'NXDOMAIN');
  // what a search path produces: NXDOMAIN, fast
  assert.equal(resolveInZone('web-0.nginx.default.svc.cluster.local.default.svc.cluster.local', 'A', view).rcode, 'NXDOMAIN');
});

test('dns-version and pod records', () => {
  assert.deepEqual(resolveInZone('dns-version.cluster.local', 'TXT', view).answers[0].data, ['1.1.0']);
  assert.equal(resolveInZone('10-244-0-5.default.pod.cluster.local', 'A', view).answers[0].data, '10.244.0.5');
  assert.equal(podLabelToIP('10-244-0-999'), undefined);
});

test('PTR for cluster IPs and pets with a hostname', () => {
  assert.equal(reverseNameToIP('11.0.244.10.in-addr.arpa.'), '10.244.0.11');
  assert.deepEqual(resolveReverse('11.0.244.10.in-addr.arpa', 'PTR', view)!.answers.map((r) => r.data), ['web-1.nginx.default.svc.cluster.local']);
  assert.deepEqual(resolveReverse('1.0.96.10.in-addr.arpa', 'PTR', view)!.answers.map((r) => r.data), ['kubernetes.default.svc.cluster.local']);
  assert.equal(resolveReverse('99.0.244.10.in-addr.arpa', 'PTR', view), undefined);
  assert.equal(canonicalIP('fd00::1'), 'fd00:0:0:0:0:0:0:1');
});
