import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import type { ApiRequest, ApiResponse } from '../../src/api/request.js';
import { startNodeAgent, type NodeAgent, type NodeAgentOptions } from '../../src/agent/agent.js';
import { SimRuntime } from '../../src/agent/runtime/sim.js';
import { formatDuration } from '../../src/agent/timers.js';
import type { ContainerRuntime } from '../../src/agent/runtime/runtime.js';
import { Client } from '../../src/client/client.js';
import type { Transport } from '../../src/client/transport.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

type Obj = Record<string, any>;

let srv: TestServer;
let nextIndex = 0;
const agents: NodeAgent[] = [];

before(async () => {
  srv = await startTestServer();
});

after(async () => {
  for (const a of agents) await a.stop();
  await srv.stop();
});

const pods = () => srv.client.pods('default');

async function agentFor(node: string, opts: Partial<NodeAgentOptions> = {}): Promise<NodeAgent> {
  const agent = await startNodeAgent({ client: srv.client, nodeName: node, nodeIndex: nextIndex++, leaseRenewIntervalMs: 200, nodeStatusUpdateIntervalMs: 200, ...opts });
  agents.push(agent);
  return agent;
}

function pod(name: string, node: string, extra: { annotations?: Record<string, string>; spec?: Obj } = {}): KubeObject {
  return {
    metadata: { name, annotations: extra.annotations },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'nginx:1.25' }], ...extra.spec },
  };
}

/** Every state of a pod the watch delivers, from creation on. */
async function track(name: string): Promise<{ seen: KubeObject[]; deleted: () => boolean; stop: () => void }> {
  const w = await pods().watch({ fieldSelector: `metadata.name=${name}` });
  const seen: KubeObject[] = [];
  let gone = false;
  void (async () => {
    for await (const ev of w) {
      if (ev.type === 'DELETED') gone = true;
      else if (ev.type !== 'BOOKMARK' && ev.type !== 'ERROR') seen.push(ev.object as KubeObject);
    }
  })();
  return { seen, deleted: () => gone, stop: () => w.stop() };
}

const condition = (p: KubeObject | undefined, type: string): Obj | undefined => p?.status?.conditions?.find((c: Obj) => c.type === type);
const ready = (p: KubeObject | undefined) => condition(p, 'Ready')?.status === 'True';
const container = (p: KubeObject | undefined, name = 'app'): Obj | undefined => p?.status?.containerStatuses?.find((c: Obj) => c.name === name);

async function podWhen(name: string, test: (p: KubeObject) => unknown, what: string, timeoutMs = 5000): Promise<KubeObject> {
  return waitFor(async () => {
    const p = await pods().get(name);
    return test(p) ? p : undefined;
  }, timeoutMs, what);
}

async function gone(name: string, timeoutMs = 5000): Promise<void> {
  await waitFor(
    async () => {
      try {
        await pods().get(name);
        return false;
      } catch (e) {
        return isApiError(e, 'NotFound');
      }
    },
    timeoutMs,
    `pod ${name} to disappear`,
  );
}

async function eventsFor(name: string): Promise<string[]> {
  const list = await srv.client.events('default').list();
  return list.items.filter((e) => e.involvedObject?.name === name).map((e) => `${e.type} ${e.reason} ${e.message}`);
}

describe('node agent', () => {
  it('says once, with a Warning event on its Node, when its runtime cannot apply resource limits', async () => {
    const runtime = Object.assign(new SimRuntime(), { limitsUnavailable: () => 'no cgroup memory controller (test)' });
    await agentFor('node-nolimits', { runtime });
    const events = await waitFor(async () => {
      const e = await eventsFor('node-nolimits');
      return e.length ? e : undefined;
    }, 5000, 'the node event');
    assert.deepEqual(events, ["Warning ResourceLimitsUnavailable Containers' resource limits cannot be applied on this node: no cgroup memory controller (test); pods run without them"]);
  });

  it('registers its Node and renews its Lease', async () => {
    await agentFor('node-reg', { labels: { zone: 'a' }, capacity: { cpu: '8' } });
    const node = await srv.client.nodes().get('node-reg');
    assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], 'node-reg');
    assert.equal(node.metadata.labels?.['kubernetes.io/os'], 'linux');
    assert.ok(node.metadata.labels?.['kubernetes.io/arch']);
    assert.equal(node.metadata.labels?.zone, 'a');
    assert.equal(node.status.capacity.cpu, '8');
    assert.equal(node.status.capacity.pods, '110');
    assert.deepEqual(node.status.allocatable, node.status.capacity);
    const byType = Object.fromEntries(node.status.conditions.map((c: Obj) => [c.type, c]));
    assert.deepEqual(Object.keys(byType), ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
    assert.equal(byType.Ready.status, 'True');
    assert.equal(byType.Ready.reason, 'KubeletReady');
    assert.equal(byType.Ready.message, 'kubelet is posting ready status');
    assert.equal(byType.MemoryPressure.reason, 'KubeletHasSufficientMemory');
    assert.ok(byType.Ready.lastHeartbeatTime && byType.Ready.lastTransitionTime);
    assert.deepEqual(
      node.status.addresses.map((a: Obj) => a.type),
      ['InternalIP', 'Hostname'],
    );
    assert.match(node.status.addresses[0].address, /^127\.64\.\d+\.1$/);
    assert.match(node.spec.podCIDR, /^127\.64\.\d+\.0\/24$/);
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.32.0');
    assert.equal(node.status.nodeInfo.containerRuntimeVersion, 'petset-sim://0.1');
    assert.equal(node.status.nodeInfo.operatingSystem, 'linux');

    const lease = await srv.client.leases('kube-node-lease').get('node-reg');
    assert.equal(lease.spec.holderIdentity, 'node-reg');
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.deepEqual(lease.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'node-reg', uid: node.metadata.uid }]);
    await waitFor(async () => (await srv.client.leases('kube-node-lease').get('node-reg')).spec.renewTime > lease.spec.renewTime, 2000, 'a lease renewal');
  });

  it('takes a pod from ContainerCreating to Running and Ready', async () => {
    await agentFor('node-basic', { sim: { 'start-delay': '300ms' } });
    const t = await track('basic');
    await pods().create(pod('basic', 'node-basic'));
    const p = await podWhen('basic', ready, 'Ready');
    t.stop();
    const creating = t.seen.find((s) => container(s)?.state?.waiting?.reason === 'ContainerCreating');
    assert.ok(creating, 'saw ContainerCreating');
    assert.equal(creating.status.phase, 'Pending');
    assert.equal(condition(creating, 'Ready')?.status, 'False');
    assert.equal(condition(creating, 'Ready')?.reason, 'ContainersNotReady');
    assert.equal(condition(creating, 'Ready')?.message, 'containers with unready status: [app]');

    assert.equal(p.status.phase, 'Running');
    assert.deepEqual(
      p.status.conditions.map((c: Obj) => `${c.type}=${c.status}`).sort(),
      ['ContainersReady=True', 'Initialized=True', 'PodReadyToStartContainers=True', 'PodScheduled=True', 'Ready=True'],
    );
    for (const c of p.status.conditions) assert.equal(c.lastProbeTime ?? null, null);
    const cs = container(p)!;
    assert.ok(cs.state.running.startedAt);
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.equal(cs.image, 'nginx:1.25');
    assert.match(cs.containerID, /^petset-sim:\/\/[0-9a-f]{64}$/);
    assert.match(cs.imageID, /^nginx@sha256:[0-9a-f]{64}$/);
    assert.match(p.status.podIP, /^127\.64\.\d+\.\d+$/);
    assert.deepEqual(p.status.podIPs, [{ ip: p.status.podIP }]);
    assert.equal(p.status.hostIP, (await srv.client.nodes().get('node-basic')).status.addresses[0].address);
    assert.ok(p.status.startTime);
    assert.equal(p.status.qosClass, 'BestEffort');
    await waitFor(async () => (await eventsFor('basic')).length >= 3, 2000, 'events');
    assert.deepEqual((await eventsFor('basic')).slice(0, 3), [
      'Normal Pulled Container image "nginx:1.25" already present on machine',
      'Normal Created Created container: app',
      'Normal Started Started container app',
    ]);
  });

  it('runs init containers one at a time, in order', async () => {
    await agentFor('node-init', { sim: { 'start-delay': '150ms' } });
    const t = await track('init');
    await pods().create(
      pod('init', 'node-init', {
        spec: {
          initContainers: [
            { name: 'init-a', image: 'busybox' },
            { name: 'init-b', image: 'busybox' },
          ],
        },
      }),
    );
    const p = await podWhen('init', ready, 'Ready');
    t.stop();
    const first = t.seen.find((s) => s.status?.initContainerStatuses);
    assert.ok(first);
    assert.equal(first.status.phase, 'Pending');
    assert.equal(condition(first, 'Initialized')?.status, 'False');
    assert.equal(condition(first, 'Initialized')?.message, 'containers with incomplete status: [init-a init-b]');
    assert.equal(container(first)?.state?.waiting?.reason, 'PodInitializing');
    for (const s of t.seen) {
      const [a, b] = s.status?.initContainerStatuses ?? [];
      if (b && !b.state.waiting) assert.equal(a.state.terminated?.exitCode, 0, 'init-b ran only after init-a completed');
      if (container(s)?.state?.running) assert.equal(b.state.terminated?.reason, 'Completed', 'app ran only after init-b completed');
    }
    assert.ok(t.seen.some((s) => s.status?.initContainerStatuses?.[1]?.state?.waiting && s.status.initContainerStatuses[0].state.terminated));
    assert.deepEqual(
      p.status.initContainerStatuses.map((c: Obj) => [c.name, c.state.terminated.reason, c.ready]),
      [
        ['init-a', 'Completed', true],
        ['init-b', 'Completed', true],
      ],
    );
    assert.equal(condition(p, 'Initialized')?.status, 'True');
  });

  it('restarts a crashing container with CrashLoopBackOff', async () => {
    await agentFor('node-crash', { backOff: { initialMs: 400, maxMs: 5000 } });
    await pods().create(pod('crasher', 'node-crash', { annotations: { 'petset.io/sim-crash-after': '100ms', 'petset.io/sim-exit-code': '3' } }));
    const p = await podWhen('crasher', (x) => container(x)?.restartCount >= 2 && container(x)?.state?.waiting?.reason === 'CrashLoopBackOff', 'a crash loop');
    const cs = container(p)!;
    assert.equal(p.status.phase, 'Running');
    // the first restart is immediate; then 400 ms, doubling
    const backOff = formatDuration(400 * 2 ** (cs.restartCount - 1));
    assert.equal(cs.state.waiting.message, `back-off ${backOff} restarting failed container=app pod=crasher_default(${p.metadata.uid})`);
    assert.equal(cs.lastState.terminated.exitCode, 3);
    assert.equal(cs.lastState.terminated.reason, 'Error');
    assert.ok(cs.lastState.terminated.startedAt && cs.lastState.terminated.finishedAt);
    assert.equal(cs.ready, false);
    assert.equal(condition(p, 'Ready')?.status, 'False');
    await waitFor(async () => (await eventsFor('crasher')).some((e) => e === `Warning BackOff Back-off restarting failed container app in pod crasher_default(${p.metadata.uid})`), 2000, 'BackOff event');
  });

  it('fails a pod with restartPolicy Never when its container exits non-zero', async () => {
    await agentFor('node-never');
    await pods().create(pod('once', 'node-never', { annotations: { 'petset.io/sim-crash-after': '100ms', 'petset.io/sim-exit-code': '7' }, spec: { restartPolicy: 'Never' } }));
    const p = await podWhen('once', (x) => x.status?.phase === 'Failed', 'Failed');
    const cs = container(p)!;
    assert.equal(cs.state.terminated.exitCode, 7);
    assert.equal(cs.state.terminated.reason, 'Error');
    assert.equal(cs.restartCount, 0);
    assert.equal(condition(p, 'Ready')?.reason, 'PodFailed');
    assert.equal(condition(p, 'ContainersReady')?.reason, 'PodFailed');
    await podWhen('once', (x) => condition(x, 'PodReadyToStartContainers')?.status === 'False', 'the sandbox to go');

    await pods().create(pod('done', 'node-never', { annotations: { 'petset.io/sim-crash-after': '50ms', 'petset.io/sim-exit-code': '0' }, spec: { restartPolicy: 'OnFailure' } }));
    const done = await podWhen('done', (x) => x.status?.phase === 'Succeeded', 'Succeeded');
    assert.equal(container(done)?.state.terminated.reason, 'Completed');
    assert.equal(condition(done, 'Ready')?.reason, 'PodCompleted');
  });

  it('gates readiness on startup and readiness probes, and restarts on liveness failure', async () => {
    await agentFor('node-probe');
    const probe = { exec: { command: ['true'] }, periodSeconds: 1, failureThreshold: 1 };
    await pods().create(
      pod('unready', 'node-probe', {
        annotations: { 'petset.io/sim-ready': 'false' },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25', readinessProbe: { httpGet: { port: 80 }, periodSeconds: 1 } }] },
      }),
    );
    await pods().create(
      pod('unlive', 'node-probe', {
        annotations: { 'petset.io/sim-live': 'until 500ms' },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25', livenessProbe: probe }] },
      }),
    );
    await pods().create(
      pod('slowstart', 'node-probe', {
        annotations: { 'petset.io/sim-startup': 'after 500ms' },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25', startupProbe: { ...probe, failureThreshold: 3 }, readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }] },
      }),
    );
    const starting = await podWhen('slowstart', (x) => container(x)?.state?.running, 'slowstart running');
    assert.equal(container(starting)?.started, false, 'not started before the startup probe passes');
    assert.equal(container(starting)?.ready, false);
    const running = await podWhen('unready', (x) => container(x)?.state?.running, 'running');
    assert.equal(running.status.phase, 'Running');
    await new Promise((r) => setTimeout(r, 1300));
    let p = await pods().get('unready');
    assert.equal(container(p)?.ready, false);
    assert.equal(container(p)?.started, true);
    assert.equal(condition(p, 'Ready')?.status, 'False');
    assert.equal(condition(p, 'Ready')?.message, 'containers with unready status: [app]');
    assert.ok((await eventsFor('unready')).includes('Warning Unhealthy Readiness probe failed: HTTP probe failed with statuscode: 503'));

    // annotations steer the simulated runtime live
    await pods().patch('unready', { metadata: { annotations: { 'petset.io/sim-ready': 'true' } } });
    p = await podWhen('unready', ready, 'Ready after the probe was fixed', 3000);
    assert.equal(container(p)?.ready, true);

    const started = await podWhen('slowstart', ready, 'slowstart Ready', 4000);
    assert.equal(container(started)?.started, true);
    assert.equal(container(started)?.restartCount, 0);

    const restarted = await podWhen('unlive', (x) => container(x)?.restartCount >= 1, 'a liveness restart', 4000);
    assert.equal(restarted.status.phase, 'Running');
    assert.equal(container(restarted)?.lastState.terminated.exitCode, 143);
    assert.ok((await eventsFor('unlive')).includes('Normal Killing Container app failed liveness probe, will be restarted'));
  });

  it('stops a gracefully deleted pod (preStop, grace period) and confirms the deletion', async () => {
    await agentFor('node-del', { sim: { 'hook-delay': '300ms', 'term-delay': '200ms' } });
    await pods().create(
      pod('graceful', 'node-del', {
        spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'app', image: 'nginx:1.25', lifecycle: { preStop: { exec: { command: ['sleep', '1'] } } } }] },
      }),
    );
    await pods().create(pod('stubborn', 'node-del', { annotations: { 'petset.io/sim-term-delay': 'never' }, spec: { terminationGracePeriodSeconds: 1 } }));
    await podWhen('graceful', ready, 'Ready');
    await podWhen('stubborn', ready, 'Ready');
    const t = await track('graceful');
    const s = await track('stubborn');
    const began = Date.now();
    // what kubectl delete sends
    await srv.client.request({ method: 'DELETE', path: pods().path('graceful'), body: { propagationPolicy: 'Background' } });
    await srv.client.request({ method: 'DELETE', path: pods().path('stubborn'), body: { propagationPolicy: 'Background' } });
    await gone('graceful');
    const tookGraceful = Date.now() - began;
    await gone('stubborn');
    const tookStubborn = Date.now() - began;
    t.stop();
    s.stop();
    assert.ok(tookGraceful >= 450, `preStop and stop took their time (${tookGraceful} ms)`);
    const last = t.seen.at(-1)!;
    assert.ok(last.metadata.deletionTimestamp);
    assert.equal(last.status.phase, 'Failed');
    assert.equal(container(last)?.state.terminated.exitCode, 143);
    assert.ok((await eventsFor('graceful')).includes('Normal Killing Stopping container app'));
    // SIGTERM ignored: killed when the grace period (at least 2 s on the node) runs out
    assert.ok(tookStubborn >= 1900, `killed after the minimum grace (${tookStubborn} ms)`);
    assert.equal(container(s.seen.at(-1))?.state.terminated.exitCode, 137);
  });

  it('fails a pod that outlives its activeDeadlineSeconds', async () => {
    await agentFor('node-deadline');
    await pods().create(pod('deadline', 'node-deadline', { spec: { activeDeadlineSeconds: 1 } }));
    // the phase turns Failed as the kill starts; the container's end is reported when it has ended
    const p = await podWhen('deadline', (x) => x.status?.phase === 'Failed' && !!container(x)?.state?.terminated, 'DeadlineExceeded', 8000);
    assert.equal(p.status.reason, 'DeadlineExceeded');
    assert.equal(p.status.message, 'Pod was active on the node longer than the specified deadline');
    assert.equal(container(p)?.state.terminated.exitCode, 143);
  });

  it('runs sidecars beside the containers and stops them last', async () => {
    await agentFor('node-side');
    await pods().create(
      pod('side', 'node-side', {
        spec: {
          terminationGracePeriodSeconds: 1,
          initContainers: [
            { name: 'setup', image: 'busybox' },
            { name: 'proxy', image: 'envoy', restartPolicy: 'Always' },
          ],
        },
      }),
    );
    const p = await podWhen('side', ready, 'Ready');
    assert.deepEqual(
      p.status.initContainerStatuses.map((c: Obj) => [c.name, Object.keys(c.state)[0], c.ready]),
      [
        ['setup', 'terminated', true],
        ['proxy', 'running', true],
      ],
    );
    await pods().delete('side');
    await gone('side');
    // the events are written beside the stopping, so the last may land after the pod is gone
    let killing: string[] = [];
    await waitFor(async () => (killing = (await eventsFor('side')).filter((e) => e.includes('Killing'))).length >= 2, 10_000, 'both Killing events').catch(() => {});
    assert.deepEqual(killing, ['Normal Killing Stopping container app', 'Normal Killing Stopping container proxy']);
  });

  it('rejects a pod whose host port is taken on the node', async () => {
    await agentFor('node-ports');
    const withPort = (name: string) => pod(name, 'node-ports', { spec: { containers: [{ name: 'app', image: 'nginx:1.25', ports: [{ containerPort: 80, hostPort: 21017 }] }] } });
    await pods().create(withPort('holder'));
    await podWhen('holder', ready, 'holder Ready');
    await pods().create(withPort('clash'));
    const p = await podWhen('clash', (x) => x.status?.phase === 'Failed', 'rejection');
    assert.equal(p.status.reason, 'NodePorts');
    assert.equal(p.status.message, "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports");
    await pods().delete('clash');
    await pods().delete('holder', { gracePeriodSeconds: 0 });
    await gone('holder');
    await waitFor(async () => {
      // the port frees once the force-deleted holder is stopped locally
      await pods().create(withPort('taker')).catch(() => undefined);
      const taker = await pods().get('taker');
      if (taker.status?.phase === 'Failed') await pods().delete('taker');
      return ready(taker);
    }, 6000, 'the port to be free again');
  });
});

describe('node agent: start failures', () => {
  it('an image that cannot be pulled: ErrImagePull, then ImagePullBackOff, upstream events, never Ready', async () => {
    await agentFor('node-pull', { backOff: { initialMs: 300, maxMs: 2000 } });
    await pods().create(pod('nopull', 'node-pull', { spec: { containers: [{ name: 'app', image: 'does-not-exist:1' }] } }));
    const t = await track('nopull');
    const backing = await podWhen('nopull', (x) => container(x)?.state?.waiting?.reason === 'ImagePullBackOff', 'ImagePullBackOff');
    assert.equal(container(backing)?.state.waiting.message, 'Back-off pulling image "does-not-exist:1"');
    assert.equal(backing.status.phase, 'Pending');
    assert.equal(container(backing)?.restartCount, 0);
    // the pull is retried after the back-off: ErrImagePull again, then back-off again
    await waitFor(() => t.seen.filter((p) => container(p)?.state?.waiting?.reason === 'ErrImagePull').length >= 2 || undefined, 5000, 'a second pull attempt');
    const errPull = t.seen.find((p) => container(p)?.state?.waiting?.reason === 'ErrImagePull')!;
    assert.match(container(errPull)?.state.waiting.message, /does-not-exist:1/);
    assert.ok(t.seen.every((p) => !ready(p)), 'never Ready');
    t.stop();
    const events = await waitFor(async () => {
      const e = await eventsFor('nopull');
      return e.includes('Normal BackOff Back-off pulling image "does-not-exist:1"') && e.includes('Warning Failed Error: ImagePullBackOff') ? e : undefined;
    }, 3000, 'pull events');
    assert.ok(events.includes('Warning Failed Error: ErrImagePull'));
    assert.ok(events.some((e) => e.startsWith('Warning Failed Failed to pull image "does-not-exist:1": ')));
    // nothing ever ran: the deletion is confirmed at once, not after the 30 s grace period
    await pods().delete('nopull');
    await gone('nopull', 5000);
  });

  it('CreateContainerConfigError and RunContainerError from the runtime show as kubelet shows them', async () => {
    await agentFor('node-cfg', { backOff: { initialMs: 300, maxMs: 2000 } });
    await pods().create(pod('nocfg', 'node-cfg', { annotations: { 'petset.io/sim-start-error': 'CreateContainerConfigError: configmap "cfg" not found' } }));
    await pods().create(pod('norun', 'node-cfg', { annotations: { 'petset.io/sim-start-error': 'RunContainerError: exec: "nope": executable file not found in $PATH' } }));
    const cfg = await podWhen('nocfg', (x) => container(x)?.state?.waiting?.reason === 'CreateContainerConfigError', 'CreateContainerConfigError');
    assert.equal(container(cfg)?.state.waiting.message, 'configmap "cfg" not found');
    assert.equal(cfg.status.phase, 'Pending');
    await waitFor(async () => (await eventsFor('nocfg')).includes('Warning Failed Error: configmap "cfg" not found') || undefined, 3000, 'the config event');
    const run = await podWhen('norun', (x) => container(x)?.restartCount >= 1, 'a restart after RunContainerError');
    assert.equal(container(run)?.lastState.terminated.exitCode, 128);
    assert.equal(container(run)?.lastState.terminated.reason, 'StartError');
    assert.equal(ready(run), false);
    // fixed by the user: the next attempt starts it
    await pods().patch('nocfg', { metadata: { annotations: { 'petset.io/sim-start-error': null } } });
    await podWhen('nocfg', ready, 'Ready once the config exists', 5000);
  });

  it('deletes at once a pod whose container never started, whatever its grace period', async () => {
    await agentFor('node-slow');
    await pods().create(pod('slow', 'node-slow', { annotations: { 'petset.io/sim-start-delay': '1h' }, spec: { terminationGracePeriodSeconds: 30 } }));
    await podWhen('slow', (x) => container(x)?.state?.waiting?.reason === 'ContainerCreating' && condition(x, 'PodReadyToStartContainers')?.status === 'True', 'ContainerCreating');
    await srv.client.request({ method: 'DELETE', path: pods().path('slow'), body: { propagationPolicy: 'Background' } });
    // well inside the 30 s grace period
    await gone('slow', 5000);
  });
});

/** A transport that notes every write, so tests can see what the agent sent, and when. */
class LoggingTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly log: string[],
  ) {}

  request(req: ApiRequest): Promise<ApiResponse> {
    if (req.method !== 'GET') this.log.push(`api ${req.method} ${req.path}`);
    return this.inner.request(req);
  }
}

/** A runtime that notes sandbox creation and removal by pod uid. */
function loggingRuntime(inner: SimRuntime, log: string[]): ContainerRuntime {
  const owners = new Map<string, string>();
  return Object.assign(Object.create(inner) as ContainerRuntime, {
    async createSandbox(req: Parameters<ContainerRuntime['createSandbox']>[0]) {
      const id = await inner.createSandbox(req);
      owners.set(id, req.pod.metadata.uid!);
      log.push(`create ${req.pod.metadata.uid}`);
      return id;
    },
    async removeSandbox(id: string) {
      log.push(`remove ${owners.get(id)}`);
      return inner.removeSandbox(id);
    },
  });
}

describe('node agent drills', () => {
  it('after a partition, stops what the API no longer allows before anything else', async () => {
    const log: string[] = [];
    const client = new Client(new LoggingTransport(srv.client.transport, log));
    const sim = new SimRuntime();
    const agent = await agentFor('node-part', { client, runtime: loggingRuntime(sim, log) });
    await pods().create(pod('kept', 'node-part'));
    await pods().create(pod('forced', 'node-part'));
    await pods().create(pod('deleting', 'node-part', { spec: { terminationGracePeriodSeconds: 30 } }));
    const kept = await podWhen('kept', ready, 'kept Ready');
    const forced = await podWhen('forced', ready, 'forced Ready');
    const deleting = await podWhen('deleting', ready, 'deleting Ready');

    agent.partition();
    assert.equal(agent.partitioned, true);
    const leaseBefore = (await srv.client.leases('kube-node-lease').get('node-part')).spec.renewTime;
    await pods().delete('forced', { gracePeriodSeconds: 0 });
    await pods().delete('deleting');
    await pods().create(pod('forced', 'node-part'));
    await new Promise((r) => setTimeout(r, 500));
    // no heartbeats, nothing runs or stops
    assert.equal((await srv.client.leases('kube-node-lease').get('node-part')).spec.renewTime, leaseBefore);
    assert.deepEqual(new Set(agent.podUids()), new Set([kept.metadata.uid, forced.metadata.uid, deleting.metadata.uid]));
    assert.equal((await sim.listSandboxes()).length, 3);

    const mark = log.length;
    await agent.heal();
    const replacement = await podWhen('forced', ready, 'the new forced Ready');
    await gone('deleting');
    const afterHeal = log.slice(mark);
    const firstApiWrite = afterHeal.findIndex((l) => l.startsWith('api '));
    const removedForced = afterHeal.indexOf(`remove ${forced.metadata.uid}`);
    const removedDeleting = afterHeal.indexOf(`remove ${deleting.metadata.uid}`);
    const createdReplacement = afterHeal.indexOf(`create ${replacement.metadata.uid}`);
    assert.ok(removedForced >= 0 && removedDeleting >= 0 && createdReplacement >= 0, afterHeal.join('\n'));
    assert.ok(removedForced < createdReplacement, 'the force-deleted pod stopped before its replacement started');
    assert.ok(removedForced < firstApiWrite && removedDeleting < firstApiWrite, `stopped before reporting anything:\n${afterHeal.join('\n')}`);
    assert.ok(!afterHeal.includes(`remove ${kept.metadata.uid}`), 'the pod the API still allows keeps running');
    await waitFor(async () => (await srv.client.leases('kube-node-lease').get('node-part')).spec.renewTime > leaseBefore, 2000, 'heartbeats again');
  });

  it('a new agent for the same node brings its pods back as restarts', async () => {
    const first = await agentFor('node-reboot');
    await pods().create(pod('survivor', 'node-reboot'));
    const before = await podWhen('survivor', ready, 'Ready');
    await first.stop();
    const second = await startNodeAgent({ client: srv.client, nodeName: 'node-reboot' });
    agents.push(second);
    assert.equal(second.nodeIndex, first.nodeIndex, 'the index comes back from the Node podCIDR');
    const p = await podWhen('survivor', (x) => ready(x) && container(x)?.restartCount === 1, 'restarted');
    const cs = container(p)!;
    assert.equal(cs.lastState.terminated.exitCode, 255);
    assert.equal(cs.lastState.terminated.reason, 'Unknown');
    assert.equal(cs.lastState.terminated.containerID, container(before)?.containerID);
    assert.notEqual(cs.containerID, container(before)?.containerID);
    assert.equal(p.status.startTime, before.status.startTime);
  });

  it('a crash stops the pods at once and sends nothing', async () => {
    const log: string[] = [];
    const client = new Client(new LoggingTransport(srv.client.transport, log));
    const sim = new SimRuntime();
    const agent = await agentFor('node-crashy', { client, runtime: sim });
    await pods().create(pod('victim', 'node-crashy'));
    await podWhen('victim', ready, 'victim Ready');
    const mark = log.length;
    agent.crash();
    assert.deepEqual(await sim.listSandboxes(), []);
    await pods().delete('victim');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(log.slice(mark), []);
    const p = await pods().get('victim');
    assert.ok(p.metadata.deletionTimestamp, 'nobody confirms the deletion');
    await pods().delete('victim', { gracePeriodSeconds: 0 });
  });
});
