// The pod network of a machine that joined a cluster (`petset agent|join --pod-network root`):
// the machine's own pod bridge for its node's /24 (with the guard of petset up's pod network),
// host-gateway routes to the other nodes' /24s, and a service proxy of its own for the
// cluster IPs (reading EndpointSlices with the node's credential, as a kube-proxy does). The
// cluster DNS is reached through the kube-dns Service's cluster IP like any Service.
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import { podCIDRFor, podRange } from '../agent/network.js';
import { parseCidr } from '../agent/podnet/cidr.js';
import { HostGateway } from '../agent/podnet/host-gateway.js';
import { PodNetwork, podNetworkUnavailable } from '../agent/podnet/pod-network.js';
import type { SandboxNetwork } from '../agent/runtime/process/runtime.js';
import { resources, type Client } from '../client/client.js';
import { SharedInformerFactory } from '../client/informer.js';
import { ServiceProxy } from '../proxy/proxier.js';
import { sandboxNetwork } from './pod-network-choice.js';

export interface MachineNetworkSettings {
  podCIDR: string;
  serviceCIDR: string;
  nodeIP: string;
  /** the interface that holds nodeIP */
  uplink: string;
}

/** The interface of this machine holding the address (undefined when none does). */
export function interfaceOf(address: string, interfaces = os.networkInterfaces()): string | undefined {
  for (const [name, list] of Object.entries(interfaces)) if (list?.some((a) => a.address === address && !a.internal)) return name;
  return undefined;
}

/** What --pod-network asks of a joined agent; throws with the missing flag or why it cannot run. */
export async function machineNetworkSettings(
  mode: string,
  processRuntime: boolean,
  nodeIP: string | undefined,
  podCIDR: string | undefined,
  serviceCIDR: string | undefined,
  unavailable: () => Promise<string | undefined> = podNetworkUnavailable,
): Promise<MachineNetworkSettings | undefined> {
  if (mode === 'host') return undefined;
  if (mode !== 'root') throw new Error(`--pod-network must be root or host (got "${mode}")`);
  if (!processRuntime) throw new Error('--pod-network root needs real pods: use it with --runtime process');
  if (!nodeIP) throw new Error('--pod-network root needs --node-ip: the address of this machine the other machines route this node\'s pods to');
  if (!podCIDR) throw new Error('--pod-network root needs --pod-cidr: the cluster\'s pod range, as given to petset up');
  if (!serviceCIDR) throw new Error('--pod-network root needs --service-cluster-ip-range: the cluster\'s service range, as given to petset up');
  const pods = podRange(podCIDR);
  const services = parseCidr(serviceCIDR);
  for (const [flag, c] of [['--pod-cidr', pods], ['--service-cluster-ip-range', services]] as const) {
    if (c.text.startsWith('127.')) throw new Error(`--pod-network root cannot use the loopback range ${c.text} (${flag})`);
  }
  const why = await unavailable();
  if (why) throw new Error(`--pod-network root cannot run here: ${why}`);
  const uplink = interfaceOf(nodeIP);
  if (!uplink) throw new Error(`--node-ip ${nodeIP} is not an address of this machine`);
  return { podCIDR: pods.text, serviceCIDR: services.text, nodeIP, uplink };
}

/** The kube-dns Service's cluster IP, for pods' resolv.conf (undefined, said, when there is none). */
export async function kubeDnsAddress(client: Client, log: (line: string) => void): Promise<string | undefined> {
  try {
    const svc = await client.resource<KubeObject>(resources.services, 'kube-system').get('kube-dns');
    const ip = svc.spec?.clusterIP;
    if (typeof ip === 'string' && ip !== 'None' && ip !== '') return ip;
  } catch (e) {
    if (!isApiError(e, 'NotFound')) log(`cannot look up the cluster DNS: ${e instanceof Error ? e.message : String(e)}`);
  }
  log('no kube-system/kube-dns Service: pods get no cluster DNS (give --cluster-dns)');
  return undefined;
}

export class MachinePodNetwork {
  private network?: PodNetwork;
  private proxy?: ServiceProxy;
  private gateway?: HostGateway;
  private informers?: SharedInformerFactory;

  constructor(private readonly opts: MachineNetworkSettings & { nodeName: string; nodeDir: string; client: Client; log: (line: string) => void }) {}

  /** Bridge and guard for the node's /24, then the proxy and the routes; before any pod starts. */
  async setup(nodeIndex: number): Promise<void> {
    const o = this.opts;
    const nodeCidr = podCIDRFor(nodeIndex, podRange(o.podCIDR));
    // one id per node directory, so a restart finds (and removes) what a crashed agent left
    const id = createHash('sha256').update(path.resolve(o.nodeDir)).digest('hex').slice(0, 6);
    this.network = new PodNetwork({ id, podCidr: o.podCIDR, serviceCidr: o.serviceCIDR, nodeCidr, uplink: o.uplink, log: o.log });
    await this.network.setup();
    this.informers = new SharedInformerFactory(o.client);
    this.proxy = new ServiceProxy(o.client, { endpointSlices: true, loadBalancerStatus: false, log: o.log });
    this.gateway = new HostGateway(this.network, o.nodeName, o.log);
    await this.gateway.start(this.informers);
    await this.proxy.start(this.informers);
    o.log(`pod network of this machine: bridge ${this.network.bridge} ${this.network.gateway}/24 for ${nodeCidr}, other nodes' pods via ${o.uplink}, cluster IPs of ${o.serviceCIDR} served here`);
  }

  /** The process runtime's view: pods attach once setup() has run. */
  sandboxNetwork(): SandboxNetwork {
    const ready = () => {
      if (!this.network) throw new Error('the pod network of this machine is not set up yet');
      return sandboxNetwork(this.network);
    };
    return { attach: (id, ip, pod) => ready().attach(id, ip, pod), detach: (id) => ready().detach(id) };
  }

  /** Packets the guard dropped. */
  guardDrops(): Promise<number> {
    return this.network ? this.network.guardDrops() : Promise.resolve(0);
  }

  async teardown(): Promise<void> {
    this.gateway?.stop();
    await this.proxy?.stop();
    this.informers?.stop();
    await this.network?.teardown();
  }
}
