// Autoscaling on real processes (`petset up --runtime process`): busybox containers burn CPU
// (held to 100m by their cgroup CPU quota) until the test tells each to stop; metrics.k8s.io
// reads their cgroups' CPU time, `kubectl top` shows it, and the HPA scales the Deployment up
// under the load and back down once it stops. Run under the shared process-e2e lock.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, type Cluster } from './harness.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the process runtime autoscaling test: ${why}`);

const NS = 'burn';

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata: {name: burner}
spec:
  replicas: 1
  selector: {matchLabels: {app: burner}}
  template:
    metadata: {labels: {app: burner}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: busybox
        # spin until told to stop, then idle
        command: [sh, -c, 'while [ ! -e /flag/stop ]; do :; done; exec sleep 3600']
        resources:
          requests: {cpu: 50m}
          limits: {cpu: 100m}
        volumeMounts: [{name: flag, mountPath: /flag}]
      volumes: [{name: flag, emptyDir: {}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burner}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burner}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 5}
`;

describe('HPA over real CPU usage (process runtime)', { skip: why }, () => {
  let c: Cluster;
  const kubectl = (args: string[], input?: string) => c.kubectl(['-n', NS, ...args], { timeoutMs: 60_000, input });
  const replicas = async () => JSON.parse((await kubectl(['get', 'deployment', 'burner', '-o', 'json'])).stdout).spec.replicas as number;
  const podNames = async () =>
    (JSON.parse((await kubectl(['get', 'pods', '-l', 'app=burner', '-o', 'json'])).stdout).items as any[])
      .filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name as string);

  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process', '--horizontal-pod-autoscaler-sync-period', '3s'] });
    await c.kubectl(['create', 'namespace', NS]);
  });
  after(async () => {
    // stop the burners before the cluster goes, whatever happened
    if (c) for (const p of await podNames().catch(() => [])) await kubectl(['exec', p, '--', 'touch', '/flag/stop']).catch(() => {});
    await c?.stop();
  });

  it('scales a CPU-burning Deployment up to max, then down to min once the burning stops', async () => {
    await kubectl(['apply', '-f', '-'], MANIFEST);
    // the cgroup's CPU time, as a rate: near the 100m quota
    const top = await eventually(async () => {
      const out = (await kubectl(['top', 'pod', '--no-headers']).catch(() => undefined))?.stdout.trim();
      const m = out && /^burner-\S+\s+(\d+)m\s+(\d+)Mi/.exec(out);
      return m && Number(m[1]) >= 60 ? Number(m[1]) : undefined;
    }, 60_000, 'kubectl top pod to show the burner near its 100m quota');
    assert.ok(top <= 130, `the CPU quota holds the burner near 100m (saw ${top}m)`);
    await eventually(async () => (await replicas()) === 3, 90_000, 'the HPA to scale the burner to 3');
    const row = (await kubectl(['get', 'hpa', 'burner', '--no-headers'])).stdout;
    assert.match(row, /^burner\s+Deployment\/burner\s+cpu: \d+%\/50%\s+1\s+3\s+\d\s/);

    // every burner stops (the pods the scale-up added too)
    await eventually(async () => (await podNames()).length === 3, 60_000, 'three running burners');
    for (const p of await podNames()) await kubectl(['exec', p, '--', 'touch', '/flag/stop']);
    await eventually(async () => (await replicas()) === 1, 90_000, 'the HPA to scale the burner back to 1');
    const events = (await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=burner,involvedObject.kind=HorizontalPodAutoscaler', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}'])).stdout;
    assert.match(events, /New size: [23]; reason: cpu resource utilization \(percentage of request\) above target/);
    assert.match(events, /New size: 1; reason: All metrics below target/);
  });
});
