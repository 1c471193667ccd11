import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeKind, nodeStatusText } from '../../../src/api/kinds/node.js';
import type { KubeObject } from '../../../src/api/object.js';
import { create, created, row, update } from './pipeline.js';

function node(extra: Record<string, any> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/hostname': 'node-1' } },
    spec: {},
    status: {
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.2' },
        { type: 'Hostname', address: 'node-1' },
      ],
      nodeInfo: { kubeletVersion: 'v1.32.0-petset', osImage: 'Petset Simulated', kernelVersion: '6.1.0', containerRuntimeVersion: 'sim://1.0' },
    },
    ...extra,
  };
}

describe('Node', () => {
  it('keeps the status it is registered with; allocatable defaults to capacity', () => {
    const obj = created(nodeKind, node());
    assert.deepEqual(obj.status.allocatable, { cpu: '4', memory: '8Gi', pods: '110' });
    assert.equal(obj.status.conditions[0].type, 'Ready');
  });

  it('validates taints', () => {
    const { errors } = create(
      nodeKind,
      node({
        spec: {
          taints: [
            { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
            { key: 'dedicated', value: 'web', effect: 'NoSchedule' },
            { key: 'x', effect: 'Sometimes' },
            { key: 'y' },
          ],
        },
      }),
    );
    assert.deepEqual(errors, [
      'spec.taints[1]: Duplicate value: {"key":"dedicated","value":"web","effect":"NoSchedule"}: taints must be unique by key and effect pair',
      'spec.taints[2].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
      'spec.taints[3].effect: Required value',
    ]);
  });

  it('podCIDRs and providerID are set once', () => {
    const current = created(nodeKind, node({ spec: { podCIDRs: ['10.244.0.0/24'], providerID: 'petset://node-1' } }));
    const { errors } = update(nodeKind, node({ spec: { podCIDRs: ['10.244.1.0/24'], providerID: 'other://x' } }), current);
    assert.deepEqual(errors, [
      'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
      'spec.providerID: Forbidden: node updates may not change providerID except from "" to valid',
    ]);
  });

  it('a spec update keeps the stored status; /status keeps the spec', () => {
    const current = created(nodeKind, node());
    const cordoned = update(nodeKind, node({ spec: { unschedulable: true }, status: {} }), current);
    assert.equal(cordoned.obj.spec.unschedulable, true);
    assert.equal(cordoned.obj.status.nodeInfo.kubeletVersion, 'v1.32.0-petset');
    assert.equal(nodeKind.fields!['spec.unschedulable'](cordoned.obj), 'true');
    assert.equal(nodeKind.fields!['spec.unschedulable'](current), 'false');
  });

  it('status text follows the Ready condition and cordoning', () => {
    const n = created(nodeKind, node());
    assert.equal(nodeStatusText(n), 'Ready');
    n.spec.unschedulable = true;
    assert.equal(nodeStatusText(n), 'Ready,SchedulingDisabled');
    n.status.conditions[0].status = 'Unknown';
    assert.equal(nodeStatusText(n), 'NotReady,SchedulingDisabled');
    n.status.conditions = [];
    n.spec.unschedulable = false;
    assert.equal(nodeStatusText(n), 'Unknown');
  });

  it('prints upstream node columns', () => {
    assert.deepEqual(row(nodeKind, created(nodeKind, node())), {
      Name: 'node-1',
      Status: 'Ready',
      Roles: 'control-plane',
      Age: '5m',
      Version: 'v1.32.0-petset',
      'Internal-IP': '127.0.0.2',
      'External-IP': '<none>',
      'OS-Image': 'Petset Simulated',
      'Kernel-Version': '6.1.0',
      'Container-Runtime': 'sim://1.0',
    });
    const plain = created(nodeKind, node({ metadata: { name: 'n2' }, status: {} }));
    assert.equal(row(nodeKind, plain).Roles, '<none>');
    assert.equal(row(nodeKind, plain)['OS-Image'], '<unknown>');
  });
});
