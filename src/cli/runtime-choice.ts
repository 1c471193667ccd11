// Which container runtime `petset up` gives its nodes: real processes where this machine
// allows them (root, bubblewrap, namespaces), the simulated runtime otherwise, and why.
import path from 'node:path';
import type { Client } from '../client/client.js';
import type { ContainerRuntime } from '../agent/runtime/runtime.js';
import { ImageCatalog } from '../agent/runtime/process/catalog.js';
import { ProcessRuntime, processRuntimeUnavailable, processRuntimeUnavailableAsync, type ImageSource, type SandboxNetwork } from '../agent/runtime/process/runtime.js';

export type RuntimeKind = 'process' | 'sim';

export interface RuntimeChoice {
  kind: RuntimeKind;
  /** why the process runtime is not used (when it was asked for or would have been the default) */
  why?: string;
}

/** auto: process where possible; process: required (throws when impossible); sim: as asked. */
export function chooseRuntime(requested: string, unavailable: () => string | undefined = processRuntimeUnavailable): RuntimeChoice {
  return checksProcessRuntime(requested) ? runtimeFor(requested, unavailable()) : { kind: 'sim' };
}

/** chooseRuntime with the bubblewrap check run off the main thread (a bad --runtime still throws at once). */
export function chooseRuntimeAsync(requested: string, unavailable: () => Promise<string | undefined> = processRuntimeUnavailableAsync): Promise<RuntimeChoice> {
  return checksProcessRuntime(requested) ? unavailable().then((why) => runtimeFor(requested, why)) : Promise.resolve({ kind: 'sim' });
}

/** Whether the answer depends on the process runtime's check (process, auto); sim does not; anything else throws. */
function checksProcessRuntime(requested: string): boolean {
  if (requested === 'sim') return false;
  if (requested !== 'process' && requested !== 'auto') throw new Error(`--runtime must be process, sim or auto (got "${requested}")`);
  return true;
}

function runtimeFor(requested: string, why: string | undefined): RuntimeChoice {
  if (!why) return { kind: 'process' };
  if (requested === 'process') throw new Error(`--runtime process cannot run here: ${why}`);
  return { kind: 'sim', why };
}

/**
 * The kubelet's --pod-max-pids: -1 (the default, unlimited) or a positive number of processes;
 * answers the limit, or undefined for unlimited.
 */
export function podMaxPids(value: string | undefined): number | undefined {
  const n = Number(value ?? '-1');
  if (!Number.isInteger(n) || n < -1 || n === 0) throw new Error(`--pod-max-pids must be -1 (unlimited) or a positive whole number (got "${value}")`);
  return n > 0 ? n : undefined;
}

export interface ProcessRuntimeSettings {
  /** petset's data directory: hidden from pods */
  dataDir: string;
  /** extra catalog entries (--image-catalog) */
  catalogFile?: string;
  /** where images come from (--image-source) */
  imageSource?: ImageSource;
  /** the cluster DNS's address for pods' resolv.conf (the kube-dns service's cluster IP) */
  clusterDNS?: string;
  /** the root pod network: a network namespace per sandbox (none: pods share the host network) */
  network?: SandboxNetwork;
  /** the most processes one pod may have (--pod-max-pids; -1 or undefined: unlimited) */
  podPidsLimit?: number;
  /** the node's InternalIP (--node-ip), pods' status.hostIP */
  nodeIP?: string;
}

/** A factory for one node's process runtime, its state in <nodeDir>/runtime. */
export function processRuntimeFactory(settings: ProcessRuntimeSettings, nodeDir: string): (client: Client) => ContainerRuntime {
  const extra = settings.catalogFile ? ImageCatalog.fromFile(settings.catalogFile) : [];
  return (client) => new ProcessRuntime({ stateDir: path.join(nodeDir, 'runtime'), client, catalog: new ImageCatalog(extra), imageSource: settings.imageSource, hide: [settings.dataDir], clusterDNS: settings.clusterDNS, nodeIP: settings.nodeIP, network: settings.network, podPidsLimit: settings.podPidsLimit });
}
