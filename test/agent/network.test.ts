import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostPortTable, hostPortsOf, maxNodeIndex, nodeAddressFor, nodeIndexOfCIDR, podAddresses, podCIDRFor, PodIPAllocator, podRange, type AddressHolders } from '../../src/agent/network.js';
import type { KubeObject } from '../../src/api/object.js';

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

  it('cuts a cluster pod range given with --pod-cidr into /24s, and finds the index again', () => {
    const r = podRange('10.244.0.0/16');
    assert.equal(maxNodeIndex(r), 255);
    assert.equal(podCIDRFor(0, r), '10.244.0.0/24');
    assert.equal(podCIDRFor(7, r), '10.244.7.0/24');
    assert.equal(nodeAddressFor(7, r), '10.244.7.1');
    assert.equal(nodeIndexOfCIDR('10.244.7.0/24', r), 7);
    assert.throws(() => podCIDRFor(256, r), /outside 0-255/);
    // a range of its own (the e2e harness gives each cluster one): other clusters' /24s are not ours
    const small = podRange('127.70.8.0/21');
    assert.equal(maxNodeIndex(small), 7);
    assert.equal(podCIDRFor(2, small), '127.70.10.0/24');
    assert.equal(nodeIndexOfCIDR('127.70.10.0/24', small), 2);
    assert.equal(nodeIndexOfCIDR('127.70.16.0/24', small), undefined);
    assert.equal(nodeIndexOfCIDR('127.64.0.0/24', small), undefined);
    assert.equal(new PodIPAllocator(1, undefined, small).allocate(), '127.70.9.2');
    assert.throws(() => podRange('10.0.0.0/25'), /smaller than one node's \/24/);
    assert.throws(() => podRange('nope'), /not an IPv4 range/);
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

/** Who holds an address among `pods`, read again at each call as the agent's informer index is. */
const addressHolders =
  (pods: KubeObject[]): AddressHolders =>
  (ip) =>
    pods.filter((p) => podAddresses(p).includes(ip)).map((p) => p.metadata.uid!);

describe('pod addresses across agent restarts', () => {
  const pod = (uid: string, podIP?: string, phase = 'Running') => ({ metadata: { uid }, status: { phase, ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}) } }) as any;

  it('never hands a live pod\'s address to another pod after a restart, and gives each pod its own back', () => {
    // the API after a crash: web-59 and web-61 ran with .21 and .22; the restarted agent remembers nothing
    const api = [pod('web-59', '127.64.2.21'), pod('web-61', '127.64.2.22'), pod('web-62')];
    const ips = new PodIPAllocator(2, addressHolders(api));
    // a pod without an address is started first: it must not get .21 or .22 even though round-robin starts at .2
    const taken = Array.from({ length: 25 }, (_, i) => ips.allocate(`new-${i}`));
    assert.ok(!taken.includes('127.64.2.21') && !taken.includes('127.64.2.22'), `handed out a live pod's address: ${taken}`);
    assert.equal(new Set(taken).size, taken.length);
    // each restarted pod gets back the address its status shows
    assert.equal(ips.allocate('web-61', '127.64.2.22'), '127.64.2.22');
    assert.equal(ips.allocate('web-59', '127.64.2.21'), '127.64.2.21');
    // a pod whose status shows an address another pod holds gets a fresh one
    assert.notEqual(ips.allocate('web-62', '127.64.2.21'), '127.64.2.21');
  });

  it('gives an address two pods show to neither of them, and frees the addresses of terminal pods', () => {
    const api = [pod('a', '127.64.2.21'), pod('b', '127.64.2.21'), pod('done', '127.64.2.2', 'Succeeded')];
    const ips = new PodIPAllocator(2, addressHolders(api));
    const a = ips.allocate('a', '127.64.2.21');
    const b = ips.allocate('b', '127.64.2.21');
    assert.notEqual(a, '127.64.2.21');
    assert.notEqual(b, '127.64.2.21');
    assert.notEqual(a, b);
    assert.equal(a, '127.64.2.2', 'a Succeeded pod no longer holds its address');
  });

  it('never gives one address to two pods, whatever order allocations and releases come in', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const api: any[] = [];
    let ips = new PodIPAllocator(5, addressHolders(api));
    const live = new Map<string, string>();
    for (let step = 0; step < 5000; step++) {
      const uid = `p${rand(300)}`;
      if (live.has(uid)) {
        if (rand(2)) {
          ips.release(live.get(uid));
          live.delete(uid);
        }
      } else if (live.size < 240) {
        // sometimes a pod asks for an address someone else has (a stale status)
        const previous = rand(3) === 0 ? [...live.values()][rand(live.size || 1)] : undefined;
        live.set(uid, ips.allocate(uid, previous));
      }
      const values = [...live.values()];
      assert.equal(new Set(values).size, values.length, `duplicate address at step ${step}`);
      // a "crash" now and then: a new allocator that only knows what the API shows
      if (rand(500) === 0) {
        api.length = 0;
        for (const [u, ip] of live) api.push(pod(u, ip));
        ips = new PodIPAllocator(5, addressHolders(api));
        // the restarted agent starts every pod again, each asking for the address its status shows
        for (const [u, ip] of live) live.set(u, ips.allocate(u, ip));
        const again = [...live.values()];
        assert.equal(new Set(again).size, again.length, `duplicate address after a restart at step ${step}`);
      }
    }
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
