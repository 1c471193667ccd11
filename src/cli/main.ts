// The `petset` command.
import { up } from './up.js';
import { agentCommand } from './agent-cmd.js';
import { nodeCommand } from './node-cmd.js';
import { whyCommand } from './why-cmd.js';
import { apiserverCommand } from './apiserver-cmd.js';
import { controllerManagerCommand, schedulerCommand } from './controller-manager-cmd.js';
import { dnsCommand } from './dns-cmd.js';
import { tokenCommand } from './token-cmd.js';
import { joinCommand } from './join-cmd.js';

const USAGE = `petset: StatefulSets the Kubernetes way, on one machine.

Usage: petset <command> [flags]

Commands:
  up        start the control plane (API server, controllers, node agents) in the foreground
  agent     run one node agent against an API server
  apiserver           the API server alone (over an external etcd with --etcd-servers)
  controller-manager  the controllers alone, with leader election (Lease kube-controller-manager)
  scheduler           the scheduler alone, with leader election (Lease kube-scheduler)
  dns                 the cluster DNS alone (the kube-dns Service), as kubeadm's CoreDNS
  token     bootstrap tokens for joining machines: petset token create --print-join-command
  join      add this machine to a running cluster as a node (the printout of token create)
  node      failure drills on a running cluster: crash, partition, heal a node
  why       what the StatefulSet controller waits for: petset why sts/NAME [-n NS]
  version   print the version

Run 'petset <command> --help' for a command's flags.
`;

/** The commands that serve until stopped (a control plane part, a node, the DNS). */
const SERVING = new Set(['up', 'agent', 'join', 'apiserver', 'controller-manager', 'scheduler', 'dns']);

/**
 * A serving process reports a rejected promise that nothing awaited and keeps serving: such a
 * rejection is a bug in one operation (a background write, a stream), and ending the process
 * for it (Node's default) would take the whole cluster down and leave its pods and pod network
 * without the orderly stop that removes them.
 */
function reportStrayRejections(): void {
  process.on('unhandledRejection', (reason) => {
    const what = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    process.stderr.write(`petset: an operation failed with nobody waiting for its result; petset keeps running (please report this): ${what}\n`);
  });
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (SERVING.has(cmd)) reportStrayRejections();
  switch (cmd) {
    case 'up':
      return up(rest);
    case 'agent':
      return agentCommand(rest);
    case 'node':
      return nodeCommand(rest);
    case 'token':
      return tokenCommand(rest);
    case 'join':
      return joinCommand(rest);
    case 'why':
      return whyCommand(rest);
    case 'apiserver':
      return apiserverCommand(rest);
    case 'controller-manager':
      return controllerManagerCommand(rest);
    case 'scheduler':
      return schedulerCommand(rest);
    case 'dns':
      return dnsCommand(rest);
    case 'version':
    case '--version':
      process.stdout.write('petset 0.1.0 (Kubernetes API v1.32)\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`petset: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}
