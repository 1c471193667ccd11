// `petset agent`: one node agent as its own process, against any petset API server.
import { startNodeAgent } from '../agent/agent.js';
import { Client } from '../client/client.js';
import { fromKubeconfig } from '../client/http-transport.js';
import { flag, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import { chooseRuntime, podMaxPids, processRuntimeFactory } from './runtime-choice.js';
import { tlsBootstrap } from './tls-bootstrap.js';
import { startCertificateRotation } from './cert-rotation.js';
import { ImageCatalog } from '../agent/runtime/process/catalog.js';
import fs from 'node:fs';
import net from 'node:net';
import { kubeDnsAddress, machineNetworkSettings, MachinePodNetwork } from './machine-network.js';
import path from 'node:path';
import os from 'node:os';

export const AGENT_USAGE = `Usage: petset agent [--kubeconfig FILE] [--bootstrap-kubeconfig FILE] [--node-name NAME] [--runtime sim|process|auto]

Runs one node agent that registers its Node with the API server named in the kubeconfig and
runs the pods scheduled to it.
  --kubeconfig FILE  the node's credential (default: $KUBECONFIG, else ~/.petset/kubeconfig;
                     with --bootstrap-kubeconfig: <data-dir>/nodes/NAME/kubeconfig, written
                     by the TLS bootstrap)
  --bootstrap-kubeconfig FILE
                     a kubeconfig with a bootstrap token (petset token create): when
                     --kubeconfig holds no live certificate for this node, the agent asks for
                     one (a CertificateSigningRequest the controller manager approves and signs)
                     and writes it to --kubeconfig
  --rotate-certificates[=false]
                     renew the node's client certificate (system:node:NAME) before it expires,
                     at 70-90 % of its lifetime, through a new CertificateSigningRequest, and
                     switch to it without a restart (default true)
  --node-name NAME   default: this machine's host name
  --runtime R        sim (default): simulated pods; process: real processes in bubblewrap
                     sandboxes (root); auto: process where possible. Real pods outlive the
                     agent: when it stops or is killed they keep running, and the next agent of
                     this node re-adopts them (same processes, container ids, restart counts and
                     logs), as a kubelet restart does
  --data-dir DIR     where the node keeps its credential, its pods' files, sandboxes and logs
                     (under <data-dir>/nodes/NAME; default ~/.petset); hidden from pods
  --image-catalog FILE
                     extra image → host-program entries for the process runtime (JSON array)
  --pod-max-pids N   the most processes one pod may have on the process runtime, set as
                     pids.max on the pod's cgroup (kubelet's podPidsLimit; default -1: unlimited)
  --pod-cidr CIDR    the cluster's pod range (as given to petset up); the node takes a /24
                     of it (default 127.64.0.0/12)
  --server-token-file FILE
                     serve logs, exec, attach and port-forward to the API server, which
                     presents the token in FILE (petset up keeps it in <data-dir>/pki/node-connection.token)
  --node-ip IP       the node's address on this machine's network, reported as its InternalIP
                     (default: .1 of the node's /24, for nodes on the control plane's machine)
  --cluster-dns IP   the nameserver written into pods' resolv.conf (default: the cluster IP of
                     the kube-system/kube-dns Service, looked up at start)
  --pod-network M    host (default): pods share this machine's network; root: this machine's
                     own pod bridge for the node's /24 (needs root, ip, nft, --runtime process,
                     --node-ip, --pod-cidr and --service-cluster-ip-range): routes to the other
                     nodes' /24s via their InternalIPs (host-gateway), a service proxy for the
                     cluster IPs, and the same guard as petset up's pod network. The node's /24
                     comes from the controller manager (petset up --allocate-node-cidrs). When
                     the agent stops, its pods stop and the pod network is removed
  --service-cluster-ip-range CIDR
                     the cluster's service range (as given to petset up), with --pod-network root
`;

export async function agentCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, ['help', 'rotate-certificates']);
  if (flag(args, 'help')) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  const nodeName = flag(args, 'node-name') ?? os.hostname().toLowerCase();
  const dataDir = path.resolve(flag(args, 'data-dir') ?? defaultDataDir());
  const nodeDir = path.join(dataDir, 'nodes', nodeName);
  const bootstrapKubeconfig = flag(args, 'bootstrap-kubeconfig');
  const kubeconfig = flag(args, 'kubeconfig') ?? (bootstrapKubeconfig ? path.join(nodeDir, 'kubeconfig') : (process.env.KUBECONFIG ?? path.join(defaultDataDir(), 'kubeconfig')));
  const log = (line: string) => process.stdout.write(`petset agent: ${line}\n`);
  const catalogFile = flag(args, 'image-catalog');
  if (catalogFile) ImageCatalog.fromFile(catalogFile); // a bad file fails fast
  const podPidsLimit = podMaxPids(flag(args, 'pod-max-pids'));
  const choice = chooseRuntime(flag(args, 'runtime') ?? 'sim');
  if (choice.why) log(`simulated runtime: ${choice.why}`);
  const real = choice.kind === 'process';
  const nodeIP = flag(args, 'node-ip');
  if (nodeIP !== undefined && !net.isIPv4(nodeIP)) throw new Error(`--node-ip must be an IPv4 address of this machine (got "${nodeIP}")`);
  const root = await machineNetworkSettings(flag(args, 'pod-network') ?? 'host', real, nodeIP, flag(args, 'pod-cidr'), flag(args, 'service-cluster-ip-range'));
  fs.mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
  if (bootstrapKubeconfig) await tlsBootstrap({ bootstrapKubeconfig, kubeconfig, nodeName, log });
  const transport = fromKubeconfig(kubeconfig);
  const client = new Client(transport, { userAgent: `petset-agent/${nodeName}` });
  const rotation = flag(args, 'rotate-certificates') === 'false' ? undefined : startCertificateRotation({ kubeconfig, nodeName, transport, bootstrapKubeconfig, log });
  const tokenFile = flag(args, 'server-token-file');
  const server = tokenFile ? { token: fs.readFileSync(tokenFile, 'utf8').trim() } : undefined;
  const clusterDNS = flag(args, 'cluster-dns') ?? (await kubeDnsAddress(client, log));
  if (clusterDNS !== undefined && !net.isIPv4(clusterDNS)) throw new Error(`--cluster-dns must be an IPv4 address (got "${clusterDNS}")`);
  const machine = root ? new MachinePodNetwork({ ...root, nodeName, nodeDir, client, log }) : undefined;
  let agent: Awaited<ReturnType<typeof startNodeAgent>>;
  try {
    agent = await startNodeAgent({
      client,
      nodeName,
      server,
      podCIDR: flag(args, 'pod-cidr'),
      nodeIP,
      // a machine of its own: its /24 comes from the controller manager's node IPAM, so machines may join at once
      podCIDRFromController: !!machine,
      onNodeIndex: machine && ((index) => machine.setup(index)),
      // with a pod network of this machine's own, leftover pods lost their network with the old one: they are stopped, not adopted
      ...(real ? { dataDir: path.join(nodeDir, 'node'), runtime: processRuntimeFactory({ dataDir, catalogFile, podPidsLimit, clusterDNS, nodeIP, network: machine?.sandboxNetwork() }, nodeDir), adopt: !machine } : {}),
    });
  } catch (e) {
    await machine?.teardown();
    throw e;
  }
  log(`node ${nodeName} registered with the API server in ${kubeconfig} (runtime ${choice.kind}${real ? `, files in ${nodeDir}` : ''}${clusterDNS ? `, cluster DNS ${clusterDNS}` : ''})`);
  const stop = async () => {
    rotation?.stop();
    if (machine) {
      // the machine leaves: its pods stop, then its bridge, routes, proxy and guard go
      await agent.stop(10_000);
      await machine.teardown();
      log(`stopped; the pods of node ${nodeName} and its pod network are gone`);
    } else if (real) {
      // as a kubelet that stops: the pods run on, for the next agent of this node to re-adopt
      agent.detach();
      log(`stopped; the pods of node ${nodeName} keep running until an agent of this node takes them over again`);
    } else await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise(() => {});
  return 0;
}
