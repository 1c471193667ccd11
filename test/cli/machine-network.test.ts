// What `petset agent|join --pod-network root` asks for, and the clear errors when something is missing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { interfaceOf, machineNetworkSettings } from '../../src/cli/machine-network.js';

const can = async () => undefined;

describe('a joined machine\'s pod network settings', () => {
  it('host (the default) asks for nothing', async () => {
    assert.equal(await machineNetworkSettings('host', false, undefined, undefined, undefined, can), undefined);
  });

  it('root names each missing flag', async () => {
    await assert.rejects(machineNetworkSettings('bridge', true, '192.0.2.1', '10.244.0.0/16', '10.96.0.0/16', can), /--pod-network must be root or host \(got "bridge"\)/);
    await assert.rejects(machineNetworkSettings('root', false, '192.0.2.1', '10.244.0.0/16', '10.96.0.0/16', can), /use it with --runtime process/);
    await assert.rejects(machineNetworkSettings('root', true, undefined, '10.244.0.0/16', '10.96.0.0/16', can), /needs --node-ip/);
    await assert.rejects(machineNetworkSettings('root', true, '192.0.2.1', undefined, '10.96.0.0/16', can), /needs --pod-cidr/);
    await assert.rejects(machineNetworkSettings('root', true, '192.0.2.1', '10.244.0.0/16', undefined, can), /needs --service-cluster-ip-range/);
    await assert.rejects(machineNetworkSettings('root', true, '192.0.2.1', '127.64.0.0/12', '10.96.0.0/16', can), /cannot use the loopback range 127\.64\.0\.0\/12 \(--pod-cidr\)/);
    await assert.rejects(machineNetworkSettings('root', true, '192.0.2.1', '10.244.0.0/16', '10.96.0.0/16', async () => 'it needs root'), /cannot run here: it needs root/);
    // 192.0.2.1 (TEST-NET-1) is no address of this machine
    await assert.rejects(machineNetworkSettings('root', true, '192.0.2.1', '10.244.0.0/16', '10.96.0.0/16', can), /--node-ip 192\.0\.2\.1 is not an address of this machine/);
  });

  it('the uplink is the interface holding the node IP', () => {
    const ifs = { lo: [{ address: '127.0.0.1', internal: true }], eth0: [{ address: '192.168.5.11', internal: false }] } as any;
    assert.equal(interfaceOf('192.168.5.11', ifs), 'eth0');
    assert.equal(interfaceOf('127.0.0.1', ifs), undefined);
  });
});
