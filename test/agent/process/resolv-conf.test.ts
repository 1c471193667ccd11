// The pods' resolv.conf for each dnsPolicy, as kubelet writes it (pure).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { onMachineResolvers, parseResolvConf, resolvConf } from '../../../src/agent/runtime/process/sandbox-args.js';

const node = parseResolvConf('# the node\nnameserver 127.0.0.53\nnameserver 127.0.0.54 # second\nsearch corp.example lab.example\noptions edns0 trust-ad\n');
const pod = (spec: Record<string, unknown>) => ({ metadata: { namespace: 'team' }, spec });

describe("pods' resolv.conf by dnsPolicy", () => {
  it("reads the node's resolver configuration", () => {
    assert.deepEqual(node, { nameservers: ['127.0.0.53', '127.0.0.54'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'trust-ad'] });
  });

  it("passes on only the node's resolvers on this machine; without one, the cluster DNS", () => {
    const mixed = parseResolvConf('nameserver 10.255.255.53\nnameserver 127.0.0.53\nsearch corp.example\n');
    assert.deepEqual(onMachineResolvers(mixed, '10.96.0.10').nameservers, ['127.0.0.53']);
    const offMachine = parseResolvConf('nameserver 10.255.255.53\nnameserver 8.8.8.8\nsearch corp.example\n');
    assert.deepEqual(onMachineResolvers(offMachine, '10.96.0.10'), { nameservers: ['10.96.0.10'], searches: ['corp.example'], options: [] });
  });

  it("ClusterFirst (the default): the cluster DNS, kubelet's search path then the node's, ndots:5", () => {
    const want = 'nameserver 10.96.0.10\nsearch team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\noptions ndots:5\n';
    assert.equal(resolvConf(pod({}), '10.96.0.10', node), want);
    assert.equal(resolvConf(pod({ dnsPolicy: 'ClusterFirst' }), '10.96.0.10', node), want);
    assert.equal(resolvConf(pod({ dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true }), '10.96.0.10', node), want);
  });

  it("Default, and ClusterFirst on the host network: the node's own resolvers", () => {
    const want = 'nameserver 127.0.0.53\nnameserver 127.0.0.54\nsearch corp.example lab.example\noptions edns0 trust-ad\n';
    assert.equal(resolvConf(pod({ dnsPolicy: 'Default' }), '10.96.0.10', node), want);
    assert.equal(resolvConf(pod({ dnsPolicy: 'ClusterFirst', hostNetwork: true }), '10.96.0.10', node), want);
  });

  it('None: only dnsConfig; dnsConfig adds to the others, an option of the same name replaced, at most three nameservers', () => {
    assert.equal(resolvConf(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['10.0.0.2'], searches: ['a.example'], options: [{ name: 'ndots', value: '1' }] } }), '10.96.0.10', node), 'nameserver 10.0.0.2\nsearch a.example\noptions ndots:1\n');
    assert.equal(
      resolvConf(pod({ dnsConfig: { nameservers: ['10.0.0.2', '10.0.0.3', '10.0.0.4'], searches: ['x.local', 'cluster.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), '10.96.0.10'),
      'nameserver 10.96.0.10\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch team.svc.cluster.local svc.cluster.local cluster.local x.local\noptions ndots:2 edns0\n',
    );
    assert.equal(resolvConf(pod({ dnsPolicy: 'Default', dnsConfig: { options: [{ name: 'edns0' }, { name: 'timeout', value: '2' }] } }), '10.96.0.10', node).split('\n')[3], 'options edns0 trust-ad timeout:2');
  });
});
