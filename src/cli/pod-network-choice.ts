// Which pod network `petset up` builds: the root one (a network namespace per pod on a petset
// bridge, pods from 10.244.0.0/16, services from 10.96.0.0/12) where this machine allows it
// and pods are real processes, else the host network on loopback addresses; and why.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { RuntimeKind } from './runtime-choice.js';
import { PodNetwork, podNetworkUnavailable } from '../agent/podnet/pod-network.js';
import type { SandboxNetwork } from '../agent/runtime/process/runtime.js';
import type { NetworkPolicyEnforcer } from '../agent/podnet/policy-enforcer.js';

export type PodNetworkMode = 'root' | 'host';

export interface PodNetworkChoice {
  mode: PodNetworkMode;
  /** one line for `up` to print: why this mode */
  why: string;
}

/** auto: root with the process runtime where root, ip and nft are there; root: required (throws when impossible); host: as asked. */
export async function choosePodNetwork(
  requested: string,
  /** a promise when the runtime is still being chosen: waited for only when the choice depends on it */
  runtime: RuntimeKind | Promise<RuntimeKind>,
  /** the ranges given on the command line: loopback ones mean the host network */
  ranges: { podCIDR?: string; serviceCIDR?: string } = {},
  unavailable: () => Promise<string | undefined> = podNetworkUnavailable,
): Promise<PodNetworkChoice> {
  if (requested === 'host') return { mode: 'host', why: 'asked for with --pod-network host' };
  if (requested !== 'root' && requested !== 'auto') throw new Error(`--pod-network must be root, host or auto (got "${requested}")`);
  // loopback addresses cannot be routed into network namespaces (they are martians there)
  for (const [name, cidr] of [['--pod-cidr', ranges.podCIDR], ['--service-cluster-ip-range', ranges.serviceCIDR]] as const) {
    if (!cidr?.startsWith('127.')) continue;
    if (requested === 'root') throw new Error(`--pod-network root cannot use the loopback range ${cidr} (${name}); give a range such as ${name === '--pod-cidr' ? '10.244.0.0/16' : '10.96.0.0/12'}`);
    return { mode: 'host', why: `${name} ${cidr} is a loopback range` };
  }
  if ((await runtime) !== 'process') {
    if (requested === 'root') throw new Error('--pod-network root needs real pods: use it with --runtime process');
    return { mode: 'host', why: 'the simulated runtime runs no real pods' };
  }
  const why = await unavailable();
  if (why) {
    if (requested === 'root') throw new Error(`--pod-network root cannot run here: ${why}`);
    return { mode: 'host', why: `the root pod network cannot run here: ${why}` };
  }
  return { mode: 'root', why: requested === 'root' ? 'asked for with --pod-network root' : 'running as root with ip and nft, and pods are real processes' };
}

/** The id in every name the root pod network of this data directory makes (so a restart after a crash finds its leftovers). */
export function podNetworkId(dataDir: string): string {
  return createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 6);
}

/** The process runtime's view of the pod network: one namespace per sandbox, keyed by the sandbox's id, with the pod's policy. */
export function sandboxNetwork(pn: PodNetwork, policy?: NetworkPolicyEnforcer): SandboxNetwork {
  return {
    attach: async (sandboxId, ip, pod) => {
      const { netnsPath } = await pn.addPod(sandboxId, ip);
      try {
        await policy?.attached(sandboxId, netnsPath, ip, pod);
      } catch (e) {
        policy?.detached(sandboxId);
        await pn.removePod(sandboxId);
        throw e;
      }
      return netnsPath;
    },
    detach: async (sandboxId) => {
      policy?.detached(sandboxId);
      await pn.removePod(sandboxId);
    },
  };
}
