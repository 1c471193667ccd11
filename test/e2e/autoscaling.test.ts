// Autoscaling through `petset up` (simulated nodes) and the real kubectl: metrics.k8s.io
// answers `kubectl top`, `kubectl autoscale` creates an autoscaling/v1 HPA, the HPA's own
// behavior field shortens the scale-down stabilization, and a Deployment under load (the
// simulated runtime's petset.io/sim-cpu usage model) scales up to the HPA's max and back down
// to its min once the load stops, with upstream's events, conditions and columns.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startCluster, type Cluster } from './harness.js';

const NS = 'autoscale';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: wordpress}
spec:
  replicas: 2
  selector: {matchLabels: {app: wordpress}}
  template:
    metadata:
      labels: {app: wordpress}
      # the simulated runtime's usage model: each container burns 150m (3x its 50m target)
      annotations: {petset.io/sim-cpu: "150m", petset.io/sim-memory: "48Mi"}
    spec:
      containers:
      - name: wordpress
        image: wordpress:6
        resources: {requests: {cpu: 100m, memory: 64Mi}}
`;

describe('HorizontalPodAutoscaler and metrics.k8s.io against petset up', () => {
  let c: Cluster;
  const kubectl = (args: string[], input?: string) => c.kubectl(['-n', NS, ...args], { timeoutMs: 60_000, input });
  const replicas = async () => JSON.parse((await kubectl(['get', 'deployment', 'wordpress', '-o', 'json'])).stdout).spec.replicas as number;
  const events = async () => (await kubectl(['get', 'events', '--field-selector', 'involvedObject.kind=HorizontalPodAutoscaler', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}'])).stdout;

  before(async () => {
    c = await startCluster({ extraArgs: ['--nodes', '2', '--horizontal-pod-autoscaler-sync-period', '3s'] });
    await c.kubectl(['create', 'namespace', NS]);
  });
  after(async () => {
    await c?.stop();
  });

  it('serves pod and node usage to kubectl top', async () => {
    await kubectl(['apply', '-f', '-'], DEPLOYMENT);
    // rates need two readings of each container: until then top says the metrics are not available yet
    const top = await eventually(async () => {
      const r = await kubectl(['top', 'pod', '--no-headers']).catch(() => undefined);
      const lines = r?.stdout.trim().split('\n').map((l) => l.trim()).filter(Boolean) ?? [];
      return lines.length === 2 && lines.every((l) => /\s150m\s+48Mi$/.test(l)) ? lines : undefined;
    }, 30_000, 'kubectl top pod to show both pods at 150m');
    assert.match(top[0], /^wordpress-[a-z0-9]+-[a-z0-9]+\s/);
    const containers = (await kubectl(['top', 'pod', '--containers', '--no-headers'])).stdout;
    assert.match(containers, /wordpress\s+150m\s+48Mi/);
    const nodes = (await c.kubectl(['top', 'node', '--no-headers'])).stdout.trim().split('\n').map((l) => l.trim());
    assert.equal(nodes.length, 2);
    for (const line of nodes) assert.match(line, /^node-\d\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%$/);
    // the metrics API serves reads only, as metrics-server
    const raw = JSON.parse((await c.kubectl(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/namespaces/${NS}/pods`])).stdout);
    assert.equal(raw.kind, 'PodMetricsList');
    assert.equal(raw.items[0].containers[0].usage.cpu.endsWith('n'), true);
    const del = await kubectl(['delete', '--raw', `/apis/metrics.k8s.io/v1beta1/namespaces/${NS}/pods/${raw.items[0].metadata.name}`]).catch((e: Error) => e.message);
    assert.match(String(del), /MethodNotAllowed|not allowed|405/i);
  });

  it('refuses an invalid HPA with field paths', async () => {
    const bad = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: bad}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: wordpress}
  minReplicas: 3
  maxReplicas: 2
  behavior: {scaleDown: {stabilizationWindowSeconds: 7200}}
`;
    const r = await c.kubectl(['-n', NS, 'apply', '-f', '-'], { input: bad, allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`/);
    assert.match(r.stderr, /spec\.behavior\.scaleDown\.stabilizationWindowSeconds: Invalid value: 7200: must be less than or equal to 3600/);
  });

  it('scales up under load and back down once it stops (stabilization shortened by the HPA behavior)', async () => {
    // kubectl autoscale writes autoscaling/v1; the behavior is then set through v2
    await kubectl(['autoscale', 'deployment', 'wordpress', '--min=2', '--max=5', '--cpu-percent=50']);
    await kubectl(['patch', 'hpa', 'wordpress', '--type=merge', '-p', '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":10}}}}']);
    const v1 = JSON.parse((await c.kubectl(['get', '--raw', `/apis/autoscaling/v1/namespaces/${NS}/horizontalpodautoscalers/wordpress`])).stdout);
    assert.equal(v1.spec.targetCPUUtilizationPercentage, 50);
    assert.match(v1.metadata.annotations['autoscaling.alpha.kubernetes.io/behavior'], /"stabilizationWindowSeconds":10/);

    await eventually(async () => (await replicas()) === 5, 60_000, 'the Deployment to be scaled to the HPA max of 5');
    const row = await eventually(async () => {
      const out = (await kubectl(['get', 'hpa', 'wordpress', '--no-headers'])).stdout.trim();
      return /^wordpress\s+Deployment\/wordpress\s+cpu: 150%\/50%\s+2\s+5\s+5\s/.test(out) ? out : undefined;
    }, 30_000, 'kubectl get hpa to show 150%/50% at 5 replicas');
    assert.ok(row);
    assert.match(await events(), /SuccessfulRescale: New size: \d; reason: cpu resource utilization \(percentage of request\) above target/);
    const status = JSON.parse((await kubectl(['get', 'hpa', 'wordpress', '-o', 'json'])).stdout).status;
    const limited = status.conditions.find((x: any) => x.type === 'ScalingLimited');
    assert.deepEqual([limited.status, limited.reason], ['True', 'TooManyReplicas']);

    // the load stops: every pod (the new ones too) now idles
    await eventually(async () => JSON.parse((await kubectl(['get', 'pods', '-l', 'app=wordpress', '-o', 'json'])).stdout).items.length === 5, 30_000, 'five pods');
    await kubectl(['annotate', 'pods', '-l', 'app=wordpress', 'petset.io/sim-cpu=5m', '--overwrite']);
    await eventually(async () => (await replicas()) === 2, 90_000, 'the Deployment to be scaled back to the HPA min of 2');
    assert.match(await events(), /SuccessfulRescale: New size: 2; reason: All metrics below target/);
    const described = (await kubectl(['describe', 'hpa', 'wordpress'])).stdout;
    assert.match(described, /ScalingActive\s+True\s+ValidMetricFound\s+the HPA was able to successfully calculate a replica count from cpu resource utilization \(percentage of request\)/);
    assert.match(described, /Stabilization Window: 10 seconds/);
  });
});
