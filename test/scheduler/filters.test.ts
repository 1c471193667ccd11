// The scheduler's filters and messages as pure functions over plain objects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import { volumeAccessCheck } from '../../src/api/volume-access.js';
import { affinityState, buildNodeInfos, filterNode, fitErrorMessage, type CycleState } from '../../src/scheduler/filters.js';
import { nodeMatchesSelectorTerms } from '../../src/scheduler/node-selectors.js';
import { podHostPorts, podRequests } from '../../src/scheduler/resources.js';
import { pickNode } from '../../src/scheduler/score.js';
import { planVolumes, podClaims, type VolumeCache } from '../../src/scheduler/volumes.js';

const node = (name: string, opts: { labels?: Record<string, string>; taints?: any[]; unschedulable?: boolean; cpu?: string; pods?: string } = {}): KubeObject => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
  spec: { taints: opts.taints, unschedulable: opts.unschedulable },
  status: { allocatable: { cpu: opts.cpu ?? '2', memory: '4Gi', pods: opts.pods ?? '110' } },
});

const pod = (name: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = { app: 'web' }): KubeObject => ({
  metadata: { name, namespace: 'default', labels },
  spec: { containers: [{ name: 'c', image: 'x' }], ...spec },
});

const noVolumes: VolumeCache = { claim: () => undefined, volume: () => undefined, storageClass: () => undefined, volumes: () => [] };

function check(p: KubeObject, nodes: KubeObject[], assigned: KubeObject[] = [], volumeAccess: CycleState['volumeAccess'] = () => undefined) {
  const infos = buildNodeInfos(nodes, assigned);
  const state: CycleState = {
    pod: p,
    requests: podRequests(p),
    ports: podHostPorts(p),
    claims: { bound: [], delayed: [] },
    volumes: noVolumes,
    affinity: affinityState(p, infos, () => ({})),
    volumePlans: new Map(),
    volumeAccess,
  };
  const statuses = infos.map((i) => filterNode(state, i));
  return { infos, statuses, feasible: infos.filter((_, i) => !statuses[i]).map((i) => i.name) };
}

const antiAffinity = {
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }],
    },
  },
};

describe('scheduler filters', () => {
  it('spreads by hostname anti-affinity and words the failure as upstream does', () => {
    const nodes = ['node-1', 'node-2', 'node-3'].map((n) => node(n)).concat(node('node-4', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] }));
    const placed = ['node-1', 'node-2', 'node-3'].map((n, i) => ({ ...pod(`web-${i}`, { ...antiAffinity, nodeName: n }) }));
    const incoming = pod('web-3', antiAffinity);
    const { statuses, feasible } = check(incoming, nodes, placed);
    assert.deepEqual(feasible, []);
    assert.equal(
      fitErrorMessage(incoming, 4, statuses.filter((s) => !!s)),
      "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 3 node(s) didn't match pod anti-affinity rules. " +
        'preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod..',
    );
  });

  it("respects other pods' anti-affinity and required pod affinity", () => {
    const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } })];
    const loner = pod('loner', {
      nodeName: 'a',
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'zone' }] } },
    }, { app: 'loner' });
    assert.deepEqual(check(pod('w'), nodes, [loner]).feasible, ['b']);
    const follower = pod('f', {
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'loner' } }, topologyKey: 'zone' }] } },
    }, { app: 'f' });
    assert.deepEqual(check(follower, nodes, [loner]).feasible, ['a']);
    // the first of a self-affine group may go anywhere
    const first = pod('g', { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'g' } }, topologyKey: 'zone' }] } } }, { app: 'g' });
    assert.deepEqual(check(first, nodes).feasible, ['a', 'b']);
  });

  it('checks node selectors, node affinity, cordons and tolerations', () => {
    const nodes = [
      node('ssd', { labels: { disk: 'ssd', gen: '5' } }),
      node('hdd', { labels: { disk: 'hdd', gen: '3' } }),
      node('cordoned', { labels: { disk: 'ssd', gen: '9' }, unschedulable: true }),
      node('tainted', { labels: { disk: 'ssd', gen: '9' }, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
    ];
    assert.deepEqual(check(pod('p', { nodeSelector: { disk: 'ssd' } }), nodes).feasible, ['ssd']);
    const gt = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }] } } };
    assert.deepEqual(check(pod('p', { affinity: gt }), nodes).feasible, ['ssd']);
    const tolerant = pod('p', {
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
      ],
    });
    assert.deepEqual(check(tolerant, nodes).feasible, ['cordoned', 'hdd', 'ssd', 'tainted']);
    const { statuses } = check(pod('p', { nodeSelector: { disk: 'nvme' } }), nodes);
    assert.equal(
      fitErrorMessage(pod('p'), 4, statuses.filter((s) => !!s)),
      "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. " +
        'preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling..',
    );
    assert.equal(nodeMatchesSelectorTerms(nodes[0], [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['ssd'] }] }]), true);
    assert.equal(nodeMatchesSelectorTerms(nodes[0], [{}]), false);
  });

  it('fits requests against allocatable minus what is already placed', () => {
    const big = (name: string, cpu: string, nodeName?: string) =>
      pod(name, { nodeName, containers: [{ name: 'c', image: 'x', resources: { requests: { cpu, memory: '1Gi' } } }] });
    const nodes = [node('n1', { cpu: '2' }), node('n2', { cpu: '4', pods: '1' })];
    const { statuses, feasible } = check(big('new', '1500m'), nodes, [big('old', '1', 'n1'), big('other', '100m', 'n2')]);
    assert.deepEqual(feasible, []);
    assert.deepEqual(statuses.map((s) => s?.reasons), [['Insufficient cpu'], ['Too many pods']]);
    assert.equal(
      fitErrorMessage(big('new', '1500m'), 2, statuses.filter((s) => !!s)),
      '0/2 nodes are available: 1 Insufficient cpu, 1 Too many pods. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..',
    );
    // init containers count by their peak, sidecars add up
    const withInit = pod('i', {
      initContainers: [
        { name: 'side', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
        { name: 'init', image: 'x', resources: { requests: { cpu: '2' } } },
      ],
      containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '500m' } } }],
    });
    assert.equal(podRequests(withInit).get('cpu'), 2_100_000_000n);
  });

  it('keeps host ports apart', () => {
    const withPort = (name: string, nodeName?: string) => pod(name, { nodeName, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }] }] });
    const { feasible, statuses } = check(withPort('new'), [node('n1'), node('n2')], [withPort('old', 'n1')]);
    assert.deepEqual(feasible, ['n2']);
    assert.deepEqual(statuses[0]?.reasons, ["node(s) didn't have free ports for the requested pod ports"]);
  });

  it('prefers the least allocated node, then the first by name', () => {
    const infos = buildNodeInfos([node('b'), node('a'), node('c', { cpu: '8' })], []);
    assert.equal(pickNode(pod('p'), infos).name, 'c');
    assert.equal(pickNode(pod('p'), infos.slice(0, 2)).name, 'a');
  });
});

describe('scheduler volume checks', () => {
  const cls = (name: string, mode: string, provisioner = 'rancher.io/local-path'): KubeObject => ({ metadata: { name }, provisioner, volumeBindingMode: mode });
  const claim = (name: string, className: string, extra: Record<string, any> = {}): KubeObject => ({
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { storageClassName: className, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...extra.spec },
    status: extra.status ?? { phase: 'Pending' },
  });
  const pv = (name: string, host: string, extra: Record<string, any> = {}): KubeObject => ({
    metadata: { name },
    spec: {
      capacity: { storage: '2Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'local',
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [host] }] }] } },
      ...extra.spec,
    },
    status: { phase: extra.phase ?? 'Available' },
  });
  const cacheOf = (claims: KubeObject[], pvs: KubeObject[], classes: KubeObject[]): VolumeCache => ({
    claim: (_ns, n) => claims.find((c) => c.metadata.name === n),
    volume: (n) => pvs.find((v) => v.metadata.name === n),
    storageClass: (n) => classes.find((c) => c.metadata.name === n),
    volumes: () => pvs,
  });
  const user = (claimName: string) => pod('web-0', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] });

  it('names missing and unbound immediate claims', () => {
    assert.deepEqual(podClaims(user('data-web-0'), cacheOf([], [], [])), { error: 'persistentvolumeclaim "data-web-0" not found' });
    const cache = cacheOf([claim('c', 'fast')], [], [cls('fast', 'Immediate')]);
    assert.deepEqual(podClaims(user('c'), cache), { error: 'pod has unbound immediate PersistentVolumeClaims' });
  });

  it('pins pods to the node of their bound volume', () => {
    const bound = claim('c', 'local', { spec: { volumeName: 'pv-1' }, status: { phase: 'Bound' } });
    const cache = cacheOf([bound], [pv('pv-1', 'n2', { phase: 'Bound' })], [cls('local', 'WaitForFirstConsumer')]);
    const { claims } = podClaims(user('c'), cache);
    assert.deepEqual(planVolumes(claims!, node('n1'), cache).reasons, ['node(s) had volume node affinity conflict']);
    assert.deepEqual(planVolumes(claims!, node('n2'), cache).reasons, []);
  });

  it('keeps a ReadWriteOnce claim on the node using it, and a ReadWriteOncePod claim on no other pod', () => {
    const nodes = [node('n1'), node('n2')];
    const holder = { ...user('c'), metadata: { name: 'web-1', namespace: 'default', uid: 'u1' }, spec: { ...user('c').spec, nodeName: 'n1' } };
    const verdicts = (modes: string[]) => {
      const bound = claim('c', 'local', { spec: { accessModes: modes, volumeName: 'pv-1' }, status: { phase: 'Bound', accessModes: modes } });
      const p = user('c');
      return check(p, nodes, [holder], volumeAccessCheck(p, (n) => (n === 'c' ? bound : undefined), [holder])).statuses.map((st) => st?.reasons[0]);
    };
    assert.deepEqual(verdicts(['ReadWriteOnce']), [undefined, 'node(s) unavailable due to a ReadWriteOnce PersistentVolumeClaim in use on another node']);
    assert.deepEqual(verdicts(['ReadWriteMany']), [undefined, undefined]);
    const rwop = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';
    assert.deepEqual(verdicts(['ReadWriteOncePod']), [rwop, rwop]);
    const p = user('c');
    const statuses = ['n1', 'n2'].map(() => ({ reasons: [rwop], unresolvable: false }));
    assert.equal(
      fitErrorMessage(p, 2, statuses),
      `0/2 nodes are available: 2 ${rwop}. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..`,
    );
  });

  it('binds WaitForFirstConsumer claims to a local volume or provisions them', () => {
    const classes = [cls('local', 'WaitForFirstConsumer', 'kubernetes.io/no-provisioner'), cls('dyn', 'WaitForFirstConsumer')];
    const cache = cacheOf([claim('c', 'local'), claim('d', 'dyn')], [pv('pv-1', 'n2')], classes);
    const staticOnly = podClaims(user('c'), cache).claims!;
    assert.deepEqual(planVolumes(staticOnly, node('n1'), cache).reasons, ["node(s) didn't find available persistent volumes to bind"]);
    assert.equal(planVolumes(staticOnly, node('n2'), cache).plan?.staticBindings[0].volume.metadata.name, 'pv-1');
    const dynamic = podClaims(user('d'), cache).claims!;
    assert.equal(planVolumes(dynamic, node('n1'), cache).plan?.provisions[0].metadata.name, 'd');
  });
});
