// The Node a node agent registers and the status it keeps reporting, and its Lease in
// kube-node-lease: the shapes and texts the kubelet uses (nodestatus setters, the node
// lease controller).
import { createHash } from 'node:crypto';
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { deepEqual, timestamp, type KubeObject } from '../api/object.js';
import { nodeAddressFor, podCIDRFor } from './network.js';
import type { Cidr } from './podnet/cidr.js';

type Obj = Record<string, any>;

export const KUBELET_VERSION = 'v1.32.0';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const KUBELET_PORT = 10250;

export interface NodeDescription {
  name: string;
  index: number;
  /** the cluster's pod range the node's /24 is cut from (default: petset's loopback range) */
  podRange?: Cidr;
  runtimeType: string;
  runtimeVersion: string;
  capacity: Record<string, string>;
  labels: Record<string, string>;
  bootID: string;
  /** where the agent's server listens (daemonEndpoints.kubeletEndpoint.Port); default KUBELET_PORT */
  kubeletPort?: number;
  /** attachable volumes mounted by the node's pods (status.volumesInUse) */
  volumesInUse?: string[];
  /** the node's address on its machine's network (the kubelet's --node-ip); default .1 of its /24 */
  nodeIP?: string;
}

/** Go's GOARCH names for the machine, as kubernetes.io/arch carries them. */
export function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

/** What this machine has, in the units the kubelet reports. */
export function machineCapacity(): Record<string, string> {
  let storageKi = 100 * 1024 * 1024;
  try {
    const fs = statfsSync('/');
    storageKi = Math.floor((fs.blocks * fs.bsize) / 1024);
  } catch {
    // keep the default
  }
  return {
    cpu: String(os.availableParallelism()),
    'ephemeral-storage': `${storageKi}Ki`,
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: '110',
  };
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1];
  } catch {
    // not Linux, or no os-release
  }
  return `${os.type()} ${os.release()}`;
}

const hashed = (text: string) => createHash('sha256').update(text).digest('hex');
const asUuid = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;

export function nodeLabels(d: NodeDescription): Record<string, string> {
  const arch = goArch();
  return {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': d.name,
    'kubernetes.io/os': 'linux',
    'petset.io/runtime': d.runtimeType,
    ...d.labels,
  };
}

/** The Node object a new agent creates (nodes accept status on create). */
export function newNode(d: NodeDescription, now = new Date()): KubeObject {
  const cidr = podCIDRFor(d.index, d.podRange);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: d.name,
      labels: nodeLabels(d),
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: { podCIDR: cidr, podCIDRs: [cidr] },
    status: nodeStatus(d, undefined, now),
  };
}

/** The status the agent reports, keeping transition times of conditions that did not change. */
export function nodeStatus(d: NodeDescription, current: Obj | undefined, now = new Date()): Obj {
  const ts = timestamp(now);
  const condition = (type: string, status: string, reason: string, message: string) => {
    const old = (current?.conditions ?? []).find((c: Obj) => c.type === type);
    return {
      type,
      status,
      lastHeartbeatTime: ts,
      lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : ts,
      reason,
      message,
    };
  };
  const machine = hashed(`petset-node/${d.name}`);
  return {
    capacity: { ...d.capacity },
    allocatable: { ...d.capacity },
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: d.nodeIP ?? nodeAddressFor(d.index, d.podRange) },
      { type: 'Hostname', address: d.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: d.kubeletPort ?? KUBELET_PORT } },
    // volumesAttached is the attach/detach controller's to write; the agent reports what it mounted
    volumesInUse: d.volumesInUse ?? [],
    nodeInfo: {
      machineID: machine.slice(0, 32),
      systemUUID: asUuid(machine.slice(32)),
      bootID: d.bootID,
      kernelVersion: os.release(),
      osImage: osImage(),
      containerRuntimeVersion: d.runtimeVersion,
      kubeletVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: goArch(),
    },
  };
}

/** Whether a report would change anything beyond heartbeat times. */
export function nodeStatusDiffers(desired: Obj, current: Obj | undefined): boolean {
  const strip = (s: Obj | undefined): Obj => ({
    ...s,
    conditions: (s?.conditions ?? [])
      .map(({ lastHeartbeatTime: _, ...c }: Obj) => c)
      .sort((a: Obj, b: Obj) => (a.type < b.type ? -1 : 1)),
  });
  const cur = strip(current);
  const want = strip(desired);
  return Object.keys(want).some((k) => !deepEqual(want[k], cur[k]));
}

/** RFC 3339 with microseconds, as metav1.MicroTime is written. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function nodeLease(node: KubeObject, durationSeconds: number, now = new Date()): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: node.metadata.name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.metadata.name!, uid: node.metadata.uid! }],
    },
    spec: { holderIdentity: node.metadata.name, leaseDurationSeconds: durationSeconds, renewTime: microTime(now) },
  };
}
