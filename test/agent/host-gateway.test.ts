// Which host-gateway routes a machine wants from the Nodes, and what changes to get there
// (the decisions alone; the routes themselves are made in test/e2e/machines.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { wantedGatewayRoutes } from '../../src/agent/podnet/host-gateway.js';
import { gatewayRouteChanges, PodNetwork } from '../../src/agent/podnet/pod-network.js';
import { parseCidr } from '../../src/agent/podnet/cidr.js';

const pods = parseCidr('10.244.0.0/16');
const services = parseCidr('10.96.0.0/12');
const node = (name: string, podCIDR?: string, internalIP?: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: podCIDR ? { podCIDR } : {},
  status: { addresses: [...(internalIP ? [{ type: 'InternalIP', address: internalIP }] : []), { type: 'Hostname', address: name }] },
});

describe('host-gateway routes', () => {
  it('one route per other node: its /24 via its InternalIP, sorted, never to itself', () => {
    const nodes = [node('c', '10.244.2.0/24', '192.168.5.13'), node('a', '10.244.0.0/24', '192.168.5.11'), node('b', '10.244.1.0/24', '192.168.5.12')];
    assert.deepEqual(wantedGatewayRoutes(nodes, 'a', pods, services, '10.244.0.0/24'), [
      { cidr: '10.244.1.0/24', via: '192.168.5.12' },
      { cidr: '10.244.2.0/24', via: '192.168.5.13' },
    ]);
    assert.deepEqual(wantedGatewayRoutes([...nodes].reverse(), 'a', pods, services, '10.244.0.0/24'), wantedGatewayRoutes(nodes, 'a', pods, services, '10.244.0.0/24'));
  });

  it('skips nodes without a /24 of the range or a usable address, nodes on the control plane machine, and /24s claimed twice', () => {
    const nodes = [
      node('no-cidr', undefined, '192.168.5.20'),
      node('no-ip', '10.244.3.0/24'),
      node('elsewhere', '10.1.4.0/24', '192.168.5.21'),
      node('wide', '10.244.0.0/23', '192.168.5.22'),
      // a node of a single-machine petset up: its address is .1 of its own /24, on the bridge there
      node('local', '10.244.5.0/24', '10.244.5.1'),
      node('svc', '10.244.6.0/24', '10.96.0.7'),
      node('twin-1', '10.244.7.0/24', '192.168.5.23'),
      node('twin-2', '10.244.7.0/24', '192.168.5.24'),
      node('mine-too', '10.244.8.0/24', '192.168.5.25'),
      node('ok', '10.244.9.0/24', '192.168.5.26'),
    ];
    assert.deepEqual(wantedGatewayRoutes(nodes, 'self', pods, services, '10.244.8.0/24'), [{ cidr: '10.244.9.0/24', via: '192.168.5.26' }]);
  });

  it('changes: add what is wanted and missing (or moved), remove what is no longer wanted', () => {
    const current = [{ cidr: '10.244.1.0/24', via: '192.168.5.12' }, { cidr: '10.244.2.0/24', via: '192.168.5.13' }, { cidr: '10.244.3.0/24', via: '192.168.5.14' }];
    const wanted = [{ cidr: '10.244.1.0/24', via: '192.168.5.12' }, { cidr: '10.244.2.0/24', via: '192.168.5.99' }, { cidr: '10.244.4.0/24', via: '192.168.5.15' }];
    assert.deepEqual(gatewayRouteChanges(current, wanted), {
      added: [{ cidr: '10.244.2.0/24', via: '192.168.5.99' }, { cidr: '10.244.4.0/24', via: '192.168.5.15' }],
      removed: [{ cidr: '10.244.2.0/24', via: '192.168.5.13' }, { cidr: '10.244.3.0/24', via: '192.168.5.14' }],
    });
    assert.deepEqual(gatewayRouteChanges(wanted, wanted), { added: [], removed: [] });
  });

  it('a pod network spanning machines needs its node /24 inside the pod range, and an uplink', () => {
    assert.throws(() => new PodNetwork({ id: 'abc123', podCidr: '10.244.0.0/16', nodeCidr: '10.244.3.0/24' }), /go together/);
    assert.throws(() => new PodNetwork({ id: 'abc123', podCidr: '10.244.0.0/16', nodeCidr: '10.245.3.0/24', uplink: 'eth0' }), /must be a \/24 of the pod range 10\.244\.0\.0\/16/);
    assert.throws(() => new PodNetwork({ id: 'abc123', podCidr: '10.244.0.0/16', nodeCidr: '10.244.0.0/23', uplink: 'eth0' }), /must be a \/24/);
    assert.throws(() => new PodNetwork({ id: 'abc123', podCidr: '10.244.0.0/16', nodeCidr: '10.244.3.0/24', uplink: 'eth0; rm' }), /not an interface name/);
    const pn = new PodNetwork({ id: 'abc123', podCidr: '10.244.0.0/16', nodeCidr: '10.244.3.0/24', uplink: 'eth0' });
    assert.equal(pn.gateway, '10.244.3.1');
    assert.equal(pn.bridgeCidr.text, '10.244.3.0/24');
  });
});
