// A Service's backends read from its EndpointSlices (what a proxy with a node's credential reads).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endpointsFromSlices } from '../../src/proxy/endpoint-slices.js';
import { backendsFor } from '../../src/proxy/rules.js';

const slice = (endpoints: Array<{ ip: string; ready?: boolean }>, ports: Array<{ name?: string; port: number; protocol?: string }>) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 's', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: e.ready === undefined ? {} : { ready: e.ready } })),
  ports,
});

describe('endpoints from EndpointSlices', () => {
  it('ready (or unset) addresses of every slice, on the slice port named as the service port', () => {
    const ep = endpointsFromSlices([
      slice([{ ip: '10.244.1.2', ready: true }, { ip: '10.244.1.3', ready: false }], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
      slice([{ ip: '10.244.2.2' }], [{ name: 'http', port: 8081, protocol: 'TCP' }]),
    ]);
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80 }] } };
    assert.deepEqual(backendsFor(svc, ep, { name: 'http', port: 80 }), [{ ip: '10.244.1.2', port: 8080 }, { ip: '10.244.2.2', port: 8081 }]);
    assert.deepEqual(backendsFor(svc, ep, { name: 'http', port: 80, protocol: 'UDP' }), []);
  });

  it('no slices: no endpoints (the service has no backends yet)', () => {
    assert.equal(endpointsFromSlices([]), undefined);
  });

  it('FQDN slices are not addresses', () => {
    const s = { ...slice([{ ip: 'db.example.com' }], [{ port: 5432 }]), addressType: 'FQDN' };
    assert.deepEqual(endpointsFromSlices([s])!.subsets, []);
  });
});
