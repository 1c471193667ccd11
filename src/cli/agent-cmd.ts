// `petset agent`: one node agent as its own process, against any petset API server.
import { startNodeAgent } from '../agent/agent.js';
import { Client } from '../client/client.js';
import { fromKubeconfig } from '../client/http-transport.js';
import { flag, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';

export const AGENT_USAGE = `Usage: petset agent [--kubeconfig FILE] [--node-name NAME] [--server-token-file FILE]

Runs one node agent (simulated runtime) that registers its Node with the API server named
in the kubeconfig and runs the pods scheduled to it.
  --kubeconfig FILE  default: $KUBECONFIG, else ~/.petset/kubeconfig
  --node-name NAME   default: this machine's host name
  --pod-cidr CIDR    the cluster's pod range (as given to petset up); the node takes a /24
                     of it (default 127.64.0.0/12)
  --server-token-file FILE
                     serve logs, exec, attach and port-forward to the API server, which
                     presents the token in FILE (petset up keeps it in <data-dir>/pki/node-connection.token)
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
  const agent = await startNodeAgent({ client, nodeName, server, podCIDR: flag(args, 'pod-cidr') });
  process.stdout.write(`petset agent: node ${nodeName} registered with the API server in ${kubeconfig}\n`);
  const stop = async () => {
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise(() => {});
  return 0;
}
