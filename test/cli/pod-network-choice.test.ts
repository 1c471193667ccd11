// Which pod network `petset up` builds, and why (the decision alone; the network itself is tested in test/agent/podnet.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { choosePodNetwork, podNetworkId } from '../../src/cli/pod-network-choice.js';

const can = async () => undefined;
const cannot = async () => 'it needs root (pods share the host network on loopback addresses instead)';

describe('choosing the pod network', () => {
  it('auto: root with real pods where it can run, the host network otherwise, saying why', async () => {
    assert.equal((await choosePodNetwork('auto', 'process', {}, can)).mode, 'root');
    assert.deepEqual(await choosePodNetwork('auto', 'sim', {}, can), { mode: 'host', why: 'the simulated runtime runs no real pods' });
    assert.match((await choosePodNetwork('auto', 'process', {}, cannot)).why, /cannot run here: it needs root/);
    assert.deepEqual(await choosePodNetwork('auto', 'process', { podCIDR: '127.70.0.0/21' }, can), { mode: 'host', why: '--pod-cidr 127.70.0.0/21 is a loopback range' });
  });

  it('root when asked, or a clear error', async () => {
    assert.equal((await choosePodNetwork('root', 'process', { podCIDR: '10.200.0.0/16' }, can)).mode, 'root');
    await assert.rejects(choosePodNetwork('root', 'sim', {}, can), /--pod-network root needs real pods: use it with --runtime process/);
    await assert.rejects(choosePodNetwork('root', 'process', {}, cannot), /--pod-network root cannot run here: it needs root/);
    await assert.rejects(choosePodNetwork('root', 'process', { serviceCIDR: '127.97.0.0/24' }, can), /cannot use the loopback range 127\.97\.0\.0\/24 \(--service-cluster-ip-range\)/);
    await assert.rejects(choosePodNetwork('bridge', 'process', {}, can), /--pod-network must be root, host or auto \(got "bridge"\)/);
    assert.equal((await choosePodNetwork('host', 'process', {}, can)).mode, 'host');
  });

  it('names the network by the data dir, so a restart after a crash finds what the last run left', () => {
    assert.match(podNetworkId('/tmp/a'), /^[0-9a-f]{6}$/);
    assert.equal(podNetworkId('/tmp/a'), podNetworkId('/tmp/b/../a'));
    assert.notEqual(podNetworkId('/tmp/a'), podNetworkId('/tmp/b'));
  });
});
