// `petset apiserver`: the API server alone (no controllers, scheduler or nodes), as
// kube-apiserver; over an external etcd several can serve the same cluster.
import path from 'node:path';
import { flag, flagDuration, flagInt, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import { startControlPlane } from './controlplane.js';
import { ETCD_FLAGS_USAGE, etcdFlags } from './etcd-flags.js';
import { serviceRange } from '../apiserver/service-ips.js';

export const APISERVER_USAGE = `Usage: petset apiserver [--etcd-servers URL[,URL]] [--secure-port N] [--bind-address ADDR] [--data-dir DIR]

Serves the Kubernetes API over HTTPS and nothing else: run petset controller-manager,
petset scheduler and petset agent against it (with the kubeconfig it writes).
  --data-dir DIR       certificates and the kubeconfig (and the SQLite store without
                       --etcd-servers) (default ~/.petset)
  --secure-port N      HTTPS port; 0 picks a free one (default 6443)
  --bind-address ADDR  address to listen on (default 127.0.0.1)
  --service-cluster-ip-range CIDR  services' cluster IPs (default 127.96.0.0/12)
  --etcd-compaction-interval D  (default 5m; 0 never)
  --admission-control-config-file FILE  PodSecurity defaults and exemptions (AdmissionConfiguration)
  --audit-log-path FILE  one audit.k8s.io/v1 Event per request (level Metadata), JSON lines
${ETCD_FLAGS_USAGE}`;

export async function apiserverCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, ['help']);
  if (flag(args, 'help')) {
    process.stdout.write(APISERVER_USAGE);
    return 0;
  }
  const dataDir = flag(args, 'data-dir') ?? defaultDataDir();
  const port = flagInt(args, 'secure-port', 6443);
  const host = flag(args, 'bind-address') ?? '127.0.0.1';
  const etcd = etcdFlags(args);
  const compactionIntervalMs = flagDuration(args, 'etcd-compaction-interval', 300_000);
  const admissionControlConfigFile = flag(args, 'admission-control-config-file');
  const auditLogPath = flag(args, 'audit-log-path');
  const serviceClusterIPRange = flag(args, 'service-cluster-ip-range');
  if (serviceClusterIPRange) serviceRange(serviceClusterIPRange); // a bad range fails before anything starts
  const cp = await startControlPlane({ serviceClusterIPRange, dataDir, port, host, etcd, compactionIntervalMs, admissionControlConfigFile, auditLogPath, controllers: false, nodes: 0, dns: false, proxy: false });
  const out = process.stdout;
  out.write(`petset apiserver is up at ${cp.url} (${etcd ? `objects in etcd at ${etcd.servers.join(',')}` : `data in ${dataDir}`})\n`);
  out.write(`For the other components and kubectl:\n  export KUBECONFIG=${cp.kubeconfigPath}\n`);
  // each component may instead run on a credential with only its role's rights, as kubeadm sets them up
  out.write(
    `Or each on its own credential:\n  petset controller-manager --kubeconfig ${path.join(dataDir, 'controller-manager.conf')} --use-service-account-credentials\n` +
      `  petset scheduler --kubeconfig ${path.join(dataDir, 'scheduler.conf')}\n  petset agent --kubeconfig FILE (petset node kubeconfig NAME --data-dir ${dataDir} > FILE)\n`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cp.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise(() => {});
  return 0;
}
