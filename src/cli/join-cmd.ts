// `petset join SERVER --token T --discovery-token-ca-cert-hash sha256:H` (kubeadm join):
// finds the cluster's CA by its pinned hash, writes a bootstrap kubeconfig with the token,
// and runs this machine's node agent, which gets its own certificate (TLS bootstrap).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentCommand } from './agent-cmd.js';
import { flag, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import { renderKubeconfig } from './kubeconfig.js';
import { discoverCA } from './tls-bootstrap.js';

export const JOIN_USAGE = `Usage: petset join SERVER --token ID.SECRET --discovery-token-ca-cert-hash sha256:HASH [agent flags]

Adds this machine to a running cluster as a node: the printout of
'petset token create --print-join-command' on the cluster.
  --node-name NAME   default: this machine's host name
  --data-dir DIR     the node's state (default ~/.petset)
  --runtime R, --pod-cidr CIDR, --image-catalog FILE, --pod-max-pids N, --node-ip IP,
  --cluster-dns IP, --pod-network M, --service-cluster-ip-range CIDR, --server-token-file FILE,
  --rotate-certificates
                     as for petset agent
  --discovery-token-unsafe-skip-ca-verification   trust whatever CA SERVER presents (not recommended)
`;

export async function joinCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, ['help', 'discovery-token-unsafe-skip-ca-verification', 'rotate-certificates']);
  const [server] = args.positional;
  const token = flag(args, 'token');
  const pin = flag(args, 'discovery-token-ca-cert-hash');
  const unsafe = flag(args, 'discovery-token-unsafe-skip-ca-verification') === 'true';
  if (flag(args, 'help') || !server || !token) {
    process.stdout.write(JOIN_USAGE);
    return flag(args, 'help') ? 0 : 2;
  }
  if (!pin && !unsafe) {
    process.stderr.write('petset join: give --discovery-token-ca-cert-hash (or --discovery-token-unsafe-skip-ca-verification)\n');
    return 2;
  }
  const nodeName = flag(args, 'node-name') ?? os.hostname().toLowerCase();
  const dataDir = flag(args, 'data-dir') ?? defaultDataDir();
  const nodeDir = path.join(dataDir, 'nodes', nodeName);
  const caPem = await discoverCA(server, unsafe ? undefined : pin);
  fs.mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
  const bootstrapKubeconfig = path.join(nodeDir, 'bootstrap-kubeconfig');
  fs.writeFileSync(bootstrapKubeconfig, renderKubeconfig({ server, caPem, token, user: 'tls-bootstrap-token-user', context: 'tls-bootstrap' }), { mode: 0o600 });
  process.stdout.write(`petset join: the cluster CA at ${server} matches the pinned hash; bootstrap kubeconfig in ${bootstrapKubeconfig}\n`);
  const pass = ['runtime', 'pod-cidr', 'image-catalog', 'pod-max-pids', 'server-token-file', 'node-ip', 'cluster-dns', 'pod-network', 'service-cluster-ip-range', 'rotate-certificates'].flatMap((f) => {
    const v = flag(args, f);
    return v === undefined ? [] : [`--${f}=${v}`];
  });
  return agentCommand([...pass, '--bootstrap-kubeconfig', bootstrapKubeconfig, '--node-name', nodeName, '--data-dir', dataDir]);
}
