// A node's info kept up to date pod by pod (the scheduler's cache) must say exactly what one
// rebuilt from the node's current pods says: room, ports, spreading counts, anti-affinity holders.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import { addPod, nodeInfo, removePod, type NodeInfo } from '../../src/scheduler/filters.js';

const node: KubeObject = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'n1' },
  status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } },
};

function pod(name: string, opts: { cpu?: string; port?: number; owner?: string; antiAffinity?: boolean; phase?: string; labels?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: opts.labels ?? { app: 'web' },
      ...(opts.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: opts.owner, uid: `uid-${opts.owner}`, controller: true }] } : {}),
    },
    spec: {
      nodeName: 'n1',
      containers: [
        {
          name: 'c',
          image: 'x',
          ...(opts.cpu ? { resources: { requests: { cpu: opts.cpu } } } : {}),
          ...(opts.port ? { ports: [{ containerPort: 80, hostPort: opts.port }] } : {}),
        },
      ],
      ...(opts.antiAffinity
        ? { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } } }
        : {}),
    },
    status: { phase: opts.phase ?? 'Running' },
  };
}

/** What a user of the scheduler would see differ: the figures, not the order pods were counted in. */
function summary(info: NodeInfo) {
  return {
    pods: info.pods.map((p) => p.metadata.name).sort(),
    requested: Object.fromEntries([...info.requested].filter(([, v]) => v !== 0n).sort()),
    nonZeroRequested: Object.fromEntries([...info.nonZeroRequested].filter(([, v]) => v !== 0n).sort()),
    usedPorts: info.usedPorts.map((p) => `${p.protocol}/${p.hostIP}:${p.port}`).sort(),
    antiAffinity: info.podsWithRequiredAntiAffinity.map((p) => p.metadata.name).sort(),
    byController: Object.fromEntries([...info.podsByController].sort()),
  };
}

describe('node info kept up to date pod by pod', () => {
  it('matches a rebuild after pods are added, changed, finished and removed', () => {
    const current = new Map<string, KubeObject>();
    const info = nodeInfo(node, []);
    const set = (p: KubeObject) => {
      const before = current.get(p.metadata.name!);
      if (before) removePod(info, before);
      addPod(info, p);
      current.set(p.metadata.name!, p);
      assert.deepEqual(summary(info), summary(nodeInfo(node, current.values())));
    };
    const drop = (name: string) => {
      removePod(info, current.get(name)!);
      current.delete(name);
      assert.deepEqual(summary(info), summary(nodeInfo(node, current.values())));
    };
    set(pod('a', { cpu: '500m', owner: 'web' }));
    set(pod('b', { cpu: '1', port: 8080, owner: 'web', antiAffinity: true }));
    set(pod('c', { owner: 'db', port: 9090 }));
    // a status change: a new object with the same facts
    set(pod('a', { cpu: '500m', owner: 'web' }));
    // a pod that finished takes no room any more, and again when it is removed
    set(pod('b', { cpu: '1', port: 8080, owner: 'web', antiAffinity: true, phase: 'Succeeded' }));
    drop('b');
    set(pod('d', { cpu: '250m', port: 8080, owner: 'web' }));
    drop('a');
    drop('c');
    assert.deepEqual(summary(info), { pods: ['d'], requested: { cpu: 250_000_000n }, nonZeroRequested: summary(nodeInfo(node, [current.get('d')!])).nonZeroRequested, usedPorts: summary(info).usedPorts, antiAffinity: [], byController: { 'default\u0000uid-web': 1 } });
    assert.equal(info.usedPorts.length, 1);
  });
});
