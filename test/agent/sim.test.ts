import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import type { ContainerExit, HandlerRequest } from '../../src/agent/runtime/runtime.js';
import { parseProbePlan, SimRuntime } from '../../src/agent/runtime/sim.js';

const pod = (annotations: Record<string, string> = {}): KubeObject => ({ metadata: { name: 'p', namespace: 'default', uid: 'uid-1', annotations }, spec: {} });

async function sandbox(sim: SimRuntime, annotations: Record<string, string> = {}) {
  return sim.createSandbox({ pod: pod(annotations), ip: '127.64.0.2', hostname: 'p', volumePaths: {} });
}

function exits() {
  const seen: ContainerExit[] = [];
  let wake: (() => void) | undefined;
  return {
    seen,
    onExit: (e: ContainerExit) => {
      seen.push(e);
      wake?.();
    },
    next: () => new Promise<void>((r) => (wake = r)),
  };
}

const probe = (purpose: HandlerRequest['purpose'], handler: Record<string, any> = { exec: { command: ['true'] } }): HandlerRequest => ({
  purpose,
  handler,
  podIP: '127.64.0.2',
  timeoutMs: 1000,
});

describe('simulated runtime', () => {
  it('fails starts as a real runtime does: missing images, and the start-error setting', async () => {
    const sim = new SimRuntime();
    const start = async (annotations: Record<string, string>, image = 'nginx:1.25', name = 'app') => {
      const sb = await sandbox(sim, annotations);
      return sim.startContainer(sb, { container: { name, image }, init: false, restartCount: 0 }, () => {}).then(
        () => ({ reason: 'started', message: '' }),
        (e: Error & { reason?: string }) => ({ reason: e.reason, message: e.message }),
      );
    };
    const missing = await start({}, 'registry.example/team/does-not-exist:1');
    assert.equal(missing.reason, 'ErrImagePull');
    assert.match(missing.message, /registry\.example\/team\/does-not-exist:1/);
    assert.deepEqual(await start({ 'petset.io/sim-start-error': 'CreateContainerConfigError: secret "s" not found' }), {
      reason: 'CreateContainerConfigError',
      message: 'secret "s" not found',
    });
    assert.equal((await start({ 'petset.io/sim-start-error.other': 'CreateContainerError' })).reason, 'started', 'per container');
    assert.deepEqual(await start({ 'petset.io/sim-start-error': 'boom' }), { reason: 'RunContainerError', message: 'boom' });
  });

  it('starts after the start delay; init containers complete at once, others keep running', async () => {
    const sim = new SimRuntime({ 'start-delay': '80ms' });
    const sb = await sandbox(sim);
    const began = Date.now();
    const e = exits();
    const app = await sim.startContainer(sb, { container: { name: 'app' }, init: false, restartCount: 0 }, e.onExit);
    assert.ok(Date.now() - began >= 70);
    const exited = e.next();
    await sim.startContainer(sb, { container: { name: 'init' }, init: true, restartCount: 0 }, e.onExit);
    await exited;
    assert.deepEqual(e.seen.map((x) => [x.exitCode, x.reason]), [[0, 'Completed']]);
    assert.equal((await sim.runHandler(app.id, probe('readiness'))).ok, true);
    await sim.removeSandbox(sb);
    assert.equal(e.seen.length, 1, 'removal sends no exit notifications');
  });

  it('crashes after a while with the configured code, per container, a limited number of times', async () => {
    const sim = new SimRuntime({ 'crash-after': '20ms' });
    const sb = await sandbox(sim, { 'petset.io/sim-exit-code.app': '3', 'petset.io/sim-crash-times': '1' });
    const e = exits();
    let exited = e.next();
    await sim.startContainer(sb, { container: { name: 'app' }, init: false, restartCount: 0 }, e.onExit);
    await exited;
    assert.equal(e.seen[0].exitCode, 3);
    assert.equal(e.seen[0].reason, 'Error');
    exited = e.next();
    const second = await sim.startContainer(sb, { container: { name: 'app' }, init: false, restartCount: 1 }, e.onExit);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(e.seen.length, 1, 'the second instance keeps running');
    await sim.stopContainer(second.id, 1000);
    await exited;
    assert.equal(e.seen[1].exitCode, 143);
  });

  it('answers probes by plan, and follows annotation changes', async () => {
    const sim = new SimRuntime();
    const sb = await sandbox(sim, { 'petset.io/sim-ready': 'after 60ms', 'petset.io/sim-live': 'until 60ms', 'petset.io/sim-startup': 'false' });
    const c = await sim.startContainer(sb, { container: { name: 'app' }, init: false, restartCount: 0 }, () => {});
    assert.deepEqual(await sim.runHandler(c.id, probe('readiness', { httpGet: { port: 80 } })), { ok: false, output: 'HTTP probe failed with statuscode: 503' });
    assert.equal((await sim.runHandler(c.id, probe('liveness'))).ok, true);
    assert.deepEqual(await sim.runHandler(c.id, probe('startup', { tcpSocket: { port: 5432 } })), { ok: false, output: 'dial tcp 127.64.0.2:5432: connect: connection refused' });
    await new Promise((r) => setTimeout(r, 70));
    assert.equal((await sim.runHandler(c.id, probe('readiness'))).ok, true);
    assert.equal((await sim.runHandler(c.id, probe('liveness'))).ok, false);
    sim.updateSandbox(sb, pod({ 'petset.io/sim-startup': 'true' }));
    assert.equal((await sim.runHandler(c.id, probe('startup'))).ok, true);
  });

  it('stops with SIGTERM, or kills when the grace period runs out', async () => {
    const sim = new SimRuntime({ 'term-delay': '30ms' });
    const sb = await sandbox(sim, { 'petset.io/sim-term-delay.stubborn': 'never' });
    const e = exits();
    const polite = await sim.startContainer(sb, { container: { name: 'polite' }, init: false, restartCount: 0 }, e.onExit);
    const stubborn = await sim.startContainer(sb, { container: { name: 'stubborn' }, init: false, restartCount: 0 }, e.onExit);
    const began = Date.now();
    await Promise.all([sim.stopContainer(polite.id, 1000), sim.stopContainer(stubborn.id, 100)]);
    assert.ok(Date.now() - began >= 95);
    assert.deepEqual(
      e.seen.map((x) => [x.exitCode, x.signal]),
      [
        [143, undefined],
        [137, 9],
      ],
    );
    const lines: string[] = [];
    for await (const l of sim.logs(stubborn.id)) lines.push(l.text);
    assert.deepEqual(lines.slice(1), ['petset-sim: received SIGTERM', 'petset-sim: exiting with code 137']);
  });

  it('fails starts in progress when the sandbox goes, and kills everything on a crash', async () => {
    const sim = new SimRuntime({ 'start-delay': '1h' });
    const sb = await sandbox(sim);
    const pending = sim.startContainer(sb, { container: { name: 'app' }, init: false, restartCount: 0 }, () => assert.fail('no exit'));
    sim.killAll();
    await assert.rejects(pending, /removed before container app started/);
    assert.deepEqual(await sim.listSandboxes(), []);
  });

  it('parses probe plans', () => {
    assert.deepEqual(parseProbePlan(undefined), { kind: 'always' });
    assert.deepEqual(parseProbePlan('false'), { kind: 'never' });
    assert.deepEqual(parseProbePlan('2s'), { kind: 'after', ms: 2000 });
    assert.deepEqual(parseProbePlan('until 1m'), { kind: 'until', ms: 60_000 });
    assert.equal(parseProbePlan('sometimes'), undefined);
  });
});
