// `petset controller-manager` and `petset scheduler`: the controllers and the scheduler as
// processes of their own against any API server (the kubeconfig's), with kube-controller-manager's
// and kube-scheduler's leader election: several may run, one works (Lease kube-system/
// kube-controller-manager or kube-scheduler), a standby takes over when the leader dies.
import fs from 'node:fs';
import os from 'node:os';
import type { CertKeyPair } from './pki.js';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from '../client/client.js';
import { fromKubeconfig } from '../client/http-transport.js';
import { startLeaderElection } from '../client/leaderelection.js';
import type { Controller } from '../client/controller-runner.js';
import { controllerServiceAccount, defaultControllers, startControllers, type RunningControllers } from '../controllers/manager.js';
import { ServiceAccountTransport } from '../client/serviceaccount-credentials.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { volumeControllers } from '../controllers/volume/index.js';
import { flag, flagDuration, parseArgs, type ParsedArgs } from './args.js';
import { defaultDataDir } from './datadir.js';

const ELECTION_USAGE = `  --kubeconfig FILE  the API server and credentials (default: $KUBECONFIG, else ~/.petset/kubeconfig)
  --leader-elect[=false]
                     campaign for the Lease before working, so several copies can run (default true)
  --leader-elect-lease-duration D   how long a standby waits after the last renewal (default 15s)
  --leader-elect-renew-deadline D   a leader that cannot renew for this long stops (default 10s)
  --leader-elect-retry-period D     how often candidates try and the leader renews (default 2s)
  --leader-elect-resource-name NAME, --leader-elect-resource-namespace NS
                     the Lease (default %NAME% in kube-system)
`;

export const CONTROLLER_MANAGER_USAGE = `Usage: petset controller-manager [--kubeconfig FILE] [--leader-elect] ...

Runs petset's controllers (StatefulSet, ReplicaSet, Deployment, Job, garbage collector, the
volume controllers ...) against the API server named in the kubeconfig, as kube-controller-manager.
  --data-dir DIR     where the local-path provisioner makes volumes (default ~/.petset)
  --use-service-account-credentials
                     each controller calls the API with a token of its own kube-system
                     ServiceAccount (bound to system:controller:<name>); the kubeconfig's
                     credential (petset apiserver writes <data-dir>/controller-manager.conf,
                     user system:kube-controller-manager) only lists, watches and asks for tokens
  --cluster-signing-cert-file FILE, --cluster-signing-key-file FILE
                     the CA that signs approved node client certificates (CSRs of
                     kubernetes.io/kube-apiserver-client-kubelet); default the data dir's
                     pki/ca.crt and pki/ca.key when present
  --cluster-signing-duration D
                     the longest certificate the signer issues (default 8760h0m0s); a CSR's
                     spec.expirationSeconds may ask for less
  --root-ca-file FILE
                     the cluster CA published to every namespace as ConfigMap kube-root-ca.crt
                     (pods' service account volumes mount it); default the data dir's pki/ca.crt
                     when present
  --allocate-node-cidrs --cluster-cidr CIDR
                     give each Node without spec.podCIDR the lowest free /24 of CIDR
${ELECTION_USAGE.replace('%NAME%', 'kube-controller-manager')}`;

export const SCHEDULER_USAGE = `Usage: petset scheduler [--kubeconfig FILE] [--leader-elect] ...

Binds pending pods to nodes, against the API server named in the kubeconfig, as kube-scheduler.
${ELECTION_USAGE.replace('%NAME%', 'kube-scheduler')}`;

const BOOLEAN_FLAGS = ['help', 'leader-elect', 'use-service-account-credentials', 'allocate-node-cidrs'];

export function controllerManagerCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, BOOLEAN_FLAGS);
  const dataDir = flag(args, 'data-dir') ?? defaultDataDir();
  const clusterSigning = signingCA(flag(args, 'cluster-signing-cert-file') ?? path.join(dataDir, 'pki', 'ca.crt'), flag(args, 'cluster-signing-key-file') ?? path.join(dataDir, 'pki', 'ca.key'));
  const clusterCIDR = flag(args, 'cluster-cidr');
  if (flag(args, 'allocate-node-cidrs') === 'true' && !clusterCIDR) throw new Error('--allocate-node-cidrs needs --cluster-cidr (the cluster\'s pod range)');
  const allocateNodeCIDRs = flag(args, 'allocate-node-cidrs') === 'true' ? clusterCIDR : undefined;
  const rootCAFile = flag(args, 'root-ca-file') ?? path.join(dataDir, 'pki', 'ca.crt');
  const rootCA = fs.existsSync(rootCAFile) ? fs.readFileSync(rootCAFile, 'utf8') : undefined;
  const clusterSigningDurationSeconds = signingDuration(args);
  const controllers = () => [
    // the scheduler runs as its own component, as upstream's
    ...defaultControllers({ clusterSigning, clusterSigningDurationSeconds, allocateNodeCIDRs, rootCA }).filter((c) => !(c instanceof Scheduler)),
    // local volumes live under the data dir; every agent runs on this machine (as petset agent does today)
    ...volumeControllers({ dataDir, singleMachine: true, serveForeignProvisioners: true }),
  ];
  return electedComponent(argv, 'controller-manager', 'kube-controller-manager', CONTROLLER_MANAGER_USAGE, controllers);
}

/** kube-controller-manager's --cluster-signing-duration, in seconds (default a year). */
export function signingDuration(args: ParsedArgs): number {
  const ms = flagDuration(args, 'cluster-signing-duration', 365 * 24 * 3600_000);
  if (!(ms >= 1000)) throw new Error('--cluster-signing-duration must be at least 1s');
  return Math.floor(ms / 1000);
}

/** The signing CA's files, or undefined when they are not there (no signer runs then). */
function signingCA(certFile: string, keyFile: string): CertKeyPair | undefined {
  if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) return undefined;
  return { certPem: fs.readFileSync(certFile, 'utf8'), keyPem: fs.readFileSync(keyFile, 'utf8') };
}

export function schedulerCommand(argv: string[]): Promise<number> {
  return electedComponent(argv, 'scheduler', 'kube-scheduler', SCHEDULER_USAGE, () => [new Scheduler()]);
}

async function electedComponent(argv: string[], component: string, leaseName: string, usage: string, controllers: () => Controller[]): Promise<number> {
  const args = parseArgs(argv, {}, BOOLEAN_FLAGS);
  if (flag(args, 'help')) {
    process.stdout.write(usage);
    return 0;
  }
  const kubeconfig = flag(args, 'kubeconfig') ?? process.env.KUBECONFIG ?? path.join(defaultDataDir(), 'kubeconfig');
  const election = electionFlags(args, leaseName);
  // upstream's identity: the host name and a unique suffix
  const identity = `${os.hostname()}_${randomUUID()}`;
  const client = new Client(fromKubeconfig(kubeconfig), { userAgent: `petset-${component}/${identity}` });
  const out = (line: string) => process.stdout.write(`petset ${component}: ${line}\n`);
  let running: RunningControllers | undefined;
  let starting: Promise<void> | undefined;
  const perAccount = new Map<string, Client>();
  const ownCredentials = component === 'controller-manager' && ['', 'true'].includes(flag(args, 'use-service-account-credentials') ?? 'false');
  const clientFor = (c: Controller): Client => {
    const sa = controllerServiceAccount(c);
    if (!sa) return client;
    if (!perAccount.has(sa)) {
      const transport = new ServiceAccountTransport(client, 'kube-system', sa, (token) => fromKubeconfig(kubeconfig, undefined, { token, clientCert: undefined, clientKey: undefined }));
      perAccount.set(sa, new Client(transport, { userAgent: `petset-${component}/${identity}` }));
    }
    return perAccount.get(sa)!;
  };
  const start = async () => {
    starting = (async () => {
      running = await startControllers(client, controllers(), ownCredentials ? clientFor : undefined);
      out(`working (${running.controllers.length} controllers)`);
    })();
    await starting;
  };

  if (!election) {
    await start();
  }
  const elector = election
    ? startLeaderElection(client, {
        ...election,
        identity,
        log: out,
        onStartedLeading: () => void start().catch((e: Error) => fail(`cannot start: ${e.message}`)),
        onStoppedLeading: () => {
          if (!stopping) fail('leaderelection lost');
        },
      })
    : undefined;
  out(election ? `identity ${identity}; campaigning for lease ${election.namespace}/${election.name}` : 'working without leader election');

  let stopping = false;
  // as upstream: a component that lost its lease exits, so no two ever work at once
  function fail(why: string): void {
    process.stderr.write(`petset ${component}: ${why}\n`);
    process.exit(1);
  }
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await starting?.catch(() => {});
    await running?.stop();
    await elector?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise(() => {});
  return 0;
}

function electionFlags(args: ParsedArgs, leaseName: string) {
  if (flag(args, 'leader-elect') === 'false') return undefined;
  const leaseDurationMs = flagDuration(args, 'leader-elect-lease-duration', 15_000);
  const renewDeadlineMs = flagDuration(args, 'leader-elect-renew-deadline', 10_000);
  const retryPeriodMs = flagDuration(args, 'leader-elect-retry-period', 2_000);
  // upstream's validation of the three
  if (!(leaseDurationMs > renewDeadlineMs)) throw new Error('--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline');
  if (!(renewDeadlineMs > retryPeriodMs * 1.2)) throw new Error('--leader-elect-renew-deadline must be greater than 1.2 times --leader-elect-retry-period');
  if (retryPeriodMs <= 0) throw new Error('--leader-elect-retry-period must be greater than zero');
  return {
    name: flag(args, 'leader-elect-resource-name') ?? leaseName,
    namespace: flag(args, 'leader-elect-resource-namespace') ?? 'kube-system',
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
  };
}
