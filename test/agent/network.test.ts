import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostPortTable, hostPortsOf, nodeAddressFor, nodeIndexOfCIDR, podCIDRFor, PodIPAllocator } from '../../src/agent/network.js';

describe('pod addresses', () => {
  it('gives each node index its own /24 in 127.64.0.0/12', () => {
    assert.equal(podCIDRFor(0), '127.64.0.0/24');
    assert.equal(podCIDRFor(1), '127.64.1.0/24');
    assert.equal(podCIDRFor(256), '127.65.0.0/24');
    assert.equal(podCIDRFor(4095), '127.79.255.0/24');
    assert.equal(nodeAddressFor(3), '127.64.3.1');
    assert.throws(() => podCIDRFor(4096));
    assert.equal(nodeIndexOfCIDR('127.65.2.0/24'), 258);
    assert.equal(nodeIndexOfCIDR('10.244.0.0/24'), undefined);
    assert.equal(nodeIndexOfCIDR(undefined), undefined);
  });

  it('allocates round-robin from .2 to .254 and reuses released addresses later', () => {
    const a = new PodIPAllocator(2);
    assert.equal(a.allocate(), '127.64.2.2');
    assert.equal(a.allocate(), '127.64.2.3');
    a.release('127.64.2.2');
    assert.equal(a.allocate(), '127.64.2.4', 'a freed address is not reused at once');
    const rest = Array.from({ length: 251 }, () => a.allocate());
    assert.equal(rest.at(-1), '127.64.2.2', 'it wraps around to the freed one');
    assert.throws(() => a.allocate(), /no free pod address/);
    a.release('127.64.9.9');
    assert.throws(() => a.allocate());
  });
});

describe('host ports', () => {
  const pod = (uid: string, ...ports: Record<string, unknown>[]) => ({ metadata: { uid }, spec: { containers: [{ name: 'c', ports: ports.map((p) => ({ containerPort: 80, ...p })) }] } });

  it('lets one pod hold a port, by protocol and address', () => {
    const t = new HostPortTable();
    assert.equal(t.claim('a', hostPortsOf(pod('a', { hostPort: 8080 }))), true);
    assert.equal(t.claim('b', hostPortsOf(pod('b', { hostPort: 8080 }))), false);
    assert.equal(t.claim('b', hostPortsOf(pod('b', { hostPort: 8080, protocol: 'UDP' }))), true);
    assert.equal(t.claim('c', hostPortsOf(pod('c', { hostPort: 9090, hostIP: '127.0.0.2' }))), true);
    assert.equal(t.claim('d', hostPortsOf(pod('d', { hostPort: 9090, hostIP: '127.0.0.3' }))), true);
    assert.equal(t.claim('e', hostPortsOf(pod('e', { hostPort: 9090 }))), false, '0.0.0.0 overlaps every address');
    assert.equal(t.claim('f', hostPortsOf(pod('f', {}))), true, 'no host port, nothing to hold');
    t.release('a');
    assert.equal(t.claim('g', hostPortsOf(pod('g', { hostPort: 8080 }))), true);
  });
});
