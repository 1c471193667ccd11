// up's runtime choice with bubblewrap's check run while the control plane starts: the same
// answers as the synchronous choice, and a pod network choice that waits for it only when needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseRuntimeAsync } from '../../src/cli/runtime-choice.js';
import { choosePodNetwork } from '../../src/cli/pod-network-choice.js';

describe('chooseRuntimeAsync', () => {
  const cannot = async () => 'the process runtime needs root';
  it('answers as chooseRuntime does', async () => {
    assert.deepEqual(await chooseRuntimeAsync('auto', async () => undefined), { kind: 'process' });
    assert.deepEqual(await chooseRuntimeAsync('auto', cannot), { kind: 'sim', why: 'the process runtime needs root' });
    assert.deepEqual(await chooseRuntimeAsync('sim', async () => undefined), { kind: 'sim' });
    await assert.rejects(chooseRuntimeAsync('process', cannot), /--runtime process cannot run here: the process runtime needs root/);
    assert.throws(() => chooseRuntimeAsync('docker'), /--runtime must be process, sim or auto/);
  });

  it('lets --pod-network host be chosen before the runtime is known', async () => {
    const never = new Promise<'process' | 'sim'>(() => {});
    assert.deepEqual(await choosePodNetwork('host', never), { mode: 'host', why: 'asked for with --pod-network host' });
    assert.deepEqual(await choosePodNetwork('auto', Promise.resolve('sim')), { mode: 'host', why: 'the simulated runtime runs no real pods' });
  });
});
