// The attach/detach decisions on plain objects: attach what scheduled pods need, refuse a
// second node for a ReadWriteOnce volume (Multi-Attach), and detach only when it is safe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/object.js';
import { decideAttachments, type AttachInputs } from '../../../src/controllers/volume/attach-decide.js';
import { PETSET_ATTACHER, uniqueVolumeName, volumeAttachmentName } from '../../../src/api/kinds/volumeattachment.js';

const NOW = Date.parse('2026-12-07T00:00:00Z');
const pod = (name: string, node: string | undefined, claim = `data-${name}`, phase = 'Running'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: { nodeName: node, volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] },
  status: { phase },
});
const claim = (name: string, pv: string, modes = ['ReadWriteOnce']): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default', uid: `claim-${name}` },
  spec: { volumeName: pv, accessModes: modes },
  status: { phase: 'Bound', accessModes: modes },
});
const pv = (name: string, claimName: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name },
  spec: { hostPath: { path: `/tmp/${name}` }, claimRef: { name: claimName, namespace: 'default', uid: `claim-${claimName}` } },
});
const node = (name: string, ready = true, extra: { inUse?: string[]; taints?: any[] } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { taints: extra.taints ?? [] },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown' }], volumesInUse: extra.inUse ?? [], volumesAttached: [] },
});
const attachment = (pvName: string, nodeName: string, attached = true): KubeObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'VolumeAttachment',
  metadata: { name: volumeAttachmentName(pvName, PETSET_ATTACHER, nodeName), uid: `va-${pvName}-${nodeName}` },
  spec: { attacher: PETSET_ATTACHER, nodeName, source: { persistentVolumeName: pvName } },
  status: { attached },
});

function inputs(o: { pods: KubeObject[]; claims: KubeObject[]; pvs: KubeObject[]; nodes: KubeObject[]; attachments?: KubeObject[]; since?: Map<string, number>; lockFree?: boolean; now?: number }): AttachInputs {
  return {
    pods: o.pods,
    claim: (_ns, n) => o.claims.find((c) => c.metadata.name === n),
    volume: (n) => o.pvs.find((p) => p.metadata.name === n),
    node: (n) => o.nodes.find((x) => x.metadata.name === n),
    attachments: o.attachments ?? [],
    detachWantedSince: o.since ?? new Map(),
    lockFree: () => o.lockFree,
    now: o.now ?? NOW,
    maxWaitForUnmountMs: 6 * 60_000,
  };
}

const world = { claims: [claim('data-web-1', 'pv-1')], pvs: [pv('pv-1', 'data-web-1')] };
const inUse = [uniqueVolumeName(PETSET_ATTACHER, 'pv-1')];

test('a scheduled pod gets its volume attached to its node; an unscheduled or finished one does not', () => {
  const plan = decideAttachments(inputs({ ...world, pods: [pod('web-1', 'node-1')], nodes: [node('node-1')] }));
  assert.deepEqual(plan.actions.map((a) => a.type), ['attach']);
  assert.equal((plan.actions[0] as any).name, volumeAttachmentName('pv-1', PETSET_ATTACHER, 'node-1'));
  assert.deepEqual(decideAttachments(inputs({ ...world, pods: [pod('web-1', undefined)], nodes: [] })).actions, []);
  assert.deepEqual(decideAttachments(inputs({ ...world, pods: [pod('web-1', 'node-1', 'data-web-1', 'Succeeded')], nodes: [node('node-1')] })).actions, []);
});

test('an attached volume is listed in the node status', () => {
  const plan = decideAttachments(inputs({ ...world, pods: [pod('web-1', 'node-1')], nodes: [node('node-1')], attachments: [attachment('pv-1', 'node-1')] }));
  assert.deepEqual(plan.actions, [{ type: 'nodeVolumesAttached', nodeName: 'node-1', volumesAttached: [{ name: inUse[0], devicePath: '' }] }]);
});

test('a replacement on another node waits while the partitioned node still holds the volume (Multi-Attach)', () => {
  const plan = decideAttachments(inputs({ ...world, pods: [pod('web-1', 'node-3')], nodes: [node('node-2', false, { inUse }), node('node-3')], attachments: [attachment('pv-1', 'node-2')], lockFree: false }));
  const multi = plan.actions.find((a) => a.type === 'multiAttach') as any;
  assert.ok(multi, JSON.stringify(plan.actions));
  assert.match(multi.message, /^Multi-Attach error for volume "pv-1" Volume is already exclusively attached to one node and can't be attached to another: node node-2 \(NotReady\) still holds it/);
  assert.match(multi.message, /petset node heal node-2/);
  assert.match(multi.message, /node\.kubernetes\.io\/out-of-service/);
  assert.match(multi.message, /maxWaitForUnmountDuration 6m0s/);
  assert.ok(!plan.actions.some((a) => a.type === 'detach' || a.type === 'attach'));
  assert.equal(plan.recheckAt, NOW + 6 * 60_000);
});

test('what releases the old attachment: unmount reported, out-of-service taint, node deleted, lock free, or the timeout', () => {
  const base = { ...world, pods: [pod('web-1', 'node-3')], attachments: [attachment('pv-1', 'node-2')] };
  const types = (i: AttachInputs) => decideAttachments(i).actions.map((a) => a.type).filter((t) => t !== 'nodeVolumesAttached');
  assert.deepEqual(types(inputs({ ...base, nodes: [node('node-2', true), node('node-3')], lockFree: false })), ['detach', 'attach']);
  assert.deepEqual(types(inputs({ ...base, nodes: [node('node-2', false, { inUse, taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] }), node('node-3')], lockFree: false })), ['detach', 'attach']);
  assert.deepEqual(types(inputs({ ...base, nodes: [node('node-3')], lockFree: false })), ['detach', 'attach']);
  assert.deepEqual(types(inputs({ ...base, nodes: [node('node-2', false, { inUse }), node('node-3')], lockFree: true })), ['detach', 'attach']);
  const name = volumeAttachmentName('pv-1', PETSET_ATTACHER, 'node-2');
  const since = new Map([[name, NOW - 6 * 60_000]]);
  assert.deepEqual(types(inputs({ ...base, nodes: [node('node-2', false, { inUse }), node('node-3')], lockFree: false, since })), ['detach', 'attach']);
  // a Ready node that still has it mounted keeps it (no timeout for healthy nodes)
  assert.deepEqual(types(inputs({ ...base, nodes: [node('node-2', true, { inUse }), node('node-3')], lockFree: false, since })), ['multiAttach']);
});

test('ReadWriteMany volumes attach to several nodes at once', () => {
  const rwx = { claims: [claim('shared', 'pv-1', ['ReadWriteMany'])], pvs: [pv('pv-1', 'shared')] };
  const plan = decideAttachments(inputs({ ...rwx, pods: [pod('a', 'node-1', 'shared'), pod('b', 'node-2', 'shared')], nodes: [node('node-1'), node('node-2')], attachments: [attachment('pv-1', 'node-1')] }));
  assert.deepEqual(plan.actions.map((a) => a.type).sort(), ['attach', 'nodeVolumesAttached']);
});
