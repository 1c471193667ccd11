// The agent's usage summary: CPU rates from two readings, memory as the working set, pods
// without a second reading reported without a rate (metrics.k8s.io then leaves them out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageSampler } from '../../src/agent/stats.js';
import { SimRuntime } from '../../src/agent/runtime/sim.js';

test('rates come from two readings at least a second apart; a counter going back reads as idle', () => {
  const cpu = new Map<string, number>([['c1', 0], ['c2', 0]]);
  const sampler = new UsageSampler((id) => ({ cpuCoreNanoSeconds: cpu.get(id)!, workingSetBytes: 1024 * 1024 }));
  const pods = [{ namespace: 'ns', name: 'p', uid: 'u', containers: [{ name: 'a', id: 'c1' }, { name: 'b', id: 'c2' }] }];
  sampler.sample(['c1', 'c2'], 0);
  let s = sampler.summary('node-1', pods);
  assert.equal(s.pods[0].cpu.usageNanoCores, undefined);
  assert.equal(s.pods[0].memory.workingSetBytes, 2 * 1024 * 1024);
  cpu.set('c1', 0.25e9 * 2); // a quarter of a core for two seconds
  cpu.set('c2', 1e9 * 2); // one core
  sampler.sample(['c1', 'c2'], 2000);
  s = sampler.summary('node-1', pods);
  assert.deepEqual(s.pods[0].containers.map((c) => c.cpu.usageNanoCores), [250_000_000, 1_000_000_000]);
  assert.equal(s.pods[0].cpu.usageNanoCores, 1_250_000_000);
  assert.equal(s.node.cpu.usageNanoCores, 1_250_000_000);
  assert.equal(s.windowSeconds, 2);
  // a reading too soon after the last leaves the rate alone
  sampler.sample(['c1', 'c2'], 2500);
  assert.equal(sampler.summary('node-1', pods).pods[0].containers[0].cpu.usageNanoCores, 250_000_000);
  cpu.set('c1', 0);
  sampler.sample(['c1', 'c2'], 4000);
  assert.equal(sampler.summary('node-1', pods).pods[0].containers[0].cpu.usageNanoCores, 0);
});

test('the simulated runtime reports the cpu and memory its annotations set', async () => {
  const rt = new SimRuntime();
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u1', annotations: { 'petset.io/sim-cpu': '500m', 'petset.io/sim-memory.app': '64Mi' } }, spec: { containers: [{ name: 'app', image: 'x' }] } };
  const sb = await rt.createSandbox({ pod, ip: '127.0.0.2', volumePaths: {} } as any);
  const c = await rt.startContainer(sb, { container: pod.spec.containers[0], init: false } as any, () => {});
  const t0 = Date.now();
  const first = rt.containerUsage(c.id)!;
  assert.equal(first.workingSetBytes, 64 * 1024 * 1024);
  // CPU time accrues with the clock at the annotated rate: wait until some has passed
  while (Date.now() - t0 < 20) await new Promise((r) => setImmediate(r));
  const second = rt.containerUsage(c.id)!;
  const elapsedMs = Date.now() - t0;
  const rate = (second.cpuCoreNanoSeconds - first.cpuCoreNanoSeconds) / (elapsedMs * 1e6);
  assert.ok(rate > 0.3 && rate <= 0.5 + 1e-9, `rate ${rate}`);
  rt.killAll();
});
