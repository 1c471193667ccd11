// The node IPAM controller's decision (kube-controller-manager's --allocate-node-cidrs), and
// the controller against a real API server: Nodes registered at once get different /24s.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterRange, decideNodeCIDR } from '../../src/controllers/nodeipam/controller.js';

const node = (name: string, podCIDR?: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: podCIDR ? { podCIDR } : {} });
const range = clusterRange('10.244.0.0/16');

describe('node IPAM', () => {
  it('the lowest /24 of the cluster CIDR no other node holds; nothing for a node that has one', () => {
    assert.deepEqual(decideNodeCIDR(node('a'), [], range), { cidr: '10.244.0.0/24' });
    assert.deepEqual(decideNodeCIDR(node('b'), ['10.244.0.0/24', '10.244.2.0/24'], range), { cidr: '10.244.1.0/24' });
    // taken ranges of other shapes or elsewhere do not count
    assert.deepEqual(decideNodeCIDR(node('c'), ['10.245.0.0/24', '10.244.0.0/23', 'junk'], range), { cidr: '10.244.0.0/24' });
    assert.equal(decideNodeCIDR(node('d', '10.244.7.0/24'), [], range), undefined);
  });

  it('a full range is an error, not a shared /24', () => {
    const small = clusterRange('10.1.0.0/23');
    assert.deepEqual(decideNodeCIDR(node('x'), ['10.1.0.0/24', '10.1.1.0/24'], small), { error: 'every /24 of the cluster CIDR 10.1.0.0/23 is taken' });
  });

  it('the cluster CIDR is an IPv4 range with room for a /24', () => {
    assert.equal(clusterRange('10.244.3.7/16').text, '10.244.0.0/16');
    assert.throws(() => clusterRange('10.244.0.0/25'), /must be an IPv4 range from \/8 to \/24/);
    assert.throws(() => clusterRange('fd00::/64'), /must be an IPv4 range/);
  });
});
