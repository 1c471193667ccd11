// `petset agent`: one node agent as its own process, against any petset API server.
import { startNodeAgent } from '../agent/agent.js';
import { Client } from '../client/client.js';
import { fromKubeconfig } from '../client/http-transport.js';
import { flag, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import fs from 'node:fs';
import { ImageCatalog } from '../agent/runtime/process/catalog.js';
import { chooseRuntime, processRuntimeFactory } from './runtime-choice.js';
import path from 'node:path';
import os from 'node:os';

export const AGENT_USAGE = `Usage: petset agent [--kubeconfig FILE] [--node-name NAME] [--server-token-file FILE] [--runtime sim|process]

Runs one node agent that registers its Node with the API server named in the kubeconfig and
runs the pods scheduled to it.
  --kubeconfig FILE  default: $KUBECONFIG, else ~/.petset/kubeconfig
  --node-name NAME   default: this machine's host name
  --pod-cidr CIDR    the cluster's pod range (as given to petset up); the node takes a /24
                     of it (default 127.64.0.0/12)
  --server-token-file FILE
                     serve logs, exec, attach and port-forward to the API server, which
                     presents the token in FILE (petset up keeps it in <data-dir>/pki/node-connection.token)
  --runtime R        sim (default): simulated pods; process: real processes in bubblewrap
                     sandboxes (root). Pods outlive the agent: when it stops or is killed they
                     keep running, and the next agent of this node re-adopts them (same
                     processes, container ids, restart counts and logs), as a kubelet restart does
  --data-dir DIR     where the node keeps its pods' files, sandboxes and logs (default
                     ~/.petset/agent-NAME); hidden from pods
  --image-catalog FILE
                     extra image → host-program entries for the process runtime (JSON array)
`;

export async function agentCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, ['help']);
  if (flag(args, 'help')) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  const kubeconfig = flag(args, 'kubeconfig') ?? process.env.KUBECONFIG ?? path.join(defaultDataDir(), 'kubeconfig');
  const nodeName = flag(args, 'node-name') ?? os.hostname().toLowerCase();
  const client = new Client(fromKubeconfig(kubeconfig), { userAgent: `petset-agent/${nodeName}` });
  const tokenFile = flag(args, 'server-token-file');
  const server = tokenFile ? { token: fs.readFileSync(tokenFile, 'utf8').trim() } : undefined;
  const runtimeKind = flag(args, 'runtime') ?? 'sim';
  if (runtimeKind !== 'sim' && runtimeKind !== 'process') throw new Error(`--runtime must be sim or process (got "${runtimeKind}")`);
  const real = runtimeKind === 'process' ? chooseRuntime('process') : undefined;
  const dataDir = path.resolve(flag(args, 'data-dir') ?? path.join(defaultDataDir(), `agent-${nodeName}`));
  const catalogFile = flag(args, 'image-catalog');
  if (catalogFile) ImageCatalog.fromFile(catalogFile); // a bad file fails fast
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const agent = await startNodeAgent({
    client,
    nodeName,
    server,
    podCIDR: flag(args, 'pod-cidr'),
    ...(real ? { dataDir: path.join(dataDir, 'node'), runtime: processRuntimeFactory({ dataDir, catalogFile }, dataDir), adopt: true } : {}),
  });
  process.stdout.write(`petset agent: node ${nodeName} registered with the API server in ${kubeconfig} (runtime ${runtimeKind}${real ? `, files in ${dataDir}` : ''})\n`);
  const stop = async () => {
    if (real) {
      // as a kubelet that stops: the pods run on, for the next agent of this node to re-adopt
      agent.detach();
      process.stdout.write(`petset agent: stopped; the pods of node ${nodeName} keep running until an agent of this node takes them over again\n`);
    } else await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise(() => {});
  return 0;
}
