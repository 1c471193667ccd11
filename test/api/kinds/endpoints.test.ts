import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endpointsKind, formatEndpoints } from '../../../src/api/kinds/endpoints.js';
import { endpointSliceKind } from '../../../src/api/kinds/endpointslice.js';
import type { KubeObject } from '../../../src/api/object.js';
import { create, created, row, update } from './pipeline.js';

const ep = (subsets: unknown[]): KubeObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets });
const addr = (ip: string) => ({ ip });

describe('Endpoints', () => {
  it('defaults port protocols and accepts loopback pod addresses', () => {
    const obj = created(endpointsKind, ep([{ addresses: [addr('127.0.1.5')], ports: [{ port: 80 }] }]));
    assert.equal(obj.subsets[0].ports[0].protocol, 'TCP');
  });

  it('validates subsets like upstream', () => {
    const { errors } = create(
      endpointsKind,
      ep([{ ports: [{ port: 80 }] }, { addresses: [addr('10.0.0.300')], ports: [{ port: 80, name: 'a' }, { port: 0 }] }]),
    );
    assert.deepEqual(errors, [
      'subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`',
      'subsets[1].addresses[0].ip: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      'subsets[1].ports[1].name: Required value',
      'subsets[1].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive',
    ]);
  });

  it('prints the first three endpoints and how many more', () => {
    const many = ep([
      { addresses: ['10.0.0.1', '10.0.0.2'].map(addr), ports: [{ port: 80 }] },
      { addresses: ['10.0.0.3', '10.0.0.4'].map(addr), ports: [{ port: 80 }] },
    ]);
    assert.equal(formatEndpoints(many), '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...');
    assert.equal(formatEndpoints(ep([])), '<none>');
    assert.equal(formatEndpoints(ep([{ addresses: [addr('10.0.0.9')] }])), '10.0.0.9');
    assert.equal(formatEndpoints(ep([{ addresses: [addr('fd00::1')], ports: [{ port: 53 }] }])), '[fd00::1]:53');
    assert.deepEqual(row(endpointsKind, created(endpointsKind, many)), { Name: 'web', Endpoints: '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...', Age: '5m' });
  });
});

function slice(extra: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc12', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [],
    ...extra,
  };
}

describe('EndpointSlice', () => {
  it('defaults port name and protocol', () => {
    const obj = created(endpointSliceKind, slice({ ports: [{ port: 80 }], endpoints: [{ addresses: ['127.0.1.2'], conditions: { ready: true } }] }));
    assert.deepEqual(obj.ports, [{ port: 80, name: '', protocol: 'TCP' }]);
  });

  it('validates addresses by type, ports and the address type', () => {
    const { errors } = create(
      endpointSliceKind,
      slice({ addressType: 'IPv4', endpoints: [{ addresses: [] }, { addresses: ['fd00::1'] }], ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }),
    );
    assert.deepEqual(errors, [
      'endpoints[0].addresses: Required value: must contain at least 1 address',
      'endpoints[1].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address',
      'ports[1].name: Duplicate value: "http"',
    ]);
    assert.deepEqual(create(endpointSliceKind, slice({ addressType: 'IPX' })).errors, ['addressType: Unsupported value: "IPX": supported values: "FQDN", "IPv4", "IPv6"']);
  });

  it('keeps addressType fixed', () => {
    const current = created(endpointSliceKind, slice({}));
    assert.deepEqual(update(endpointSliceKind, { ...current, addressType: 'IPv6' }, current).errors, ['addressType: Invalid value: "IPv6": field is immutable']);
  });

  it('prints ports and endpoints with <unset> and "more"', () => {
    const obj = created(
      endpointSliceKind,
      slice({
        ports: [{ port: 80 }, { name: 'metrics' }],
        endpoints: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].map((a) => ({ addresses: [a] })),
      }),
    );
    assert.deepEqual(row(endpointSliceKind, obj), {
      Name: 'web-abc12',
      AddressType: 'IPv4',
      Ports: '80,metrics',
      Endpoints: '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...',
      Age: '5m',
    });
    assert.equal(row(endpointSliceKind, created(endpointSliceKind, slice({})))['Ports'], '<unset>');
  });
});
