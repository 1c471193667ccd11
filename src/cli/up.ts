// `petset up`: the whole control plane in the foreground.
import net from 'node:net';
import fs from 'node:fs';
import { flag, flagDuration, flagInt, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import { startControlPlane } from './controlplane.js';
import { signingDuration } from './controller-manager-cmd.js';
import { applyObjects, readManifests } from './manifests.js';
import { loopbackResolvers, parseUpstream } from '../dns/server.js';
import { serviceRange } from '../apiserver/service-ips.js';
import { DEFAULT_POD_CIDR, maxNodeIndex, podRange, ROOT_POD_CIDR } from '../agent/network.js';
import { choosePodNetwork } from './pod-network-choice.js';
import { chooseRuntime, chooseRuntimeAsync, podMaxPids } from './runtime-choice.js';
import { ImageCatalog } from '../agent/runtime/process/catalog.js';
import type { ImageSource } from '../agent/runtime/process/runtime.js';
import { ETCD_FLAGS_USAGE, etcdFlags } from './etcd-flags.js';
import { controlSocketPath } from './nodes.js';
import { readKubeconfigEndpoint, startWebView, type WebView } from './webview.js';

export const UP_USAGE = `Usage: petset up [--data-dir DIR] [--port N] [--host ADDR] [--nodes N] [-f MANIFEST]...

Starts the petset control plane in the foreground and serves the Kubernetes API over HTTPS.
  --data-dir DIR   where state, certificates and the kubeconfig live (default ~/.petset)
  --port N         API port; 0 picks a free one (default 6443)
  --host ADDR      address to listen on (default 127.0.0.1)
  --nodes N        nodes to run, named node-1 ... node-N (default 1), on the --runtime
  --sim-nodes M    M more nodes, node-(N+1) ... node-(N+M), on the simulated runtime whatever
                   --runtime is (a few real nodes beside many simulated ones; default 0)
  --runtime R      how nodes run pods: process (real processes in bubblewrap sandboxes; needs
                   root and bubblewrap), sim (simulated), auto (default: process where possible)
  --image-catalog FILE
                   extra image → host-program entries for the process runtime (JSON array)
  --image-source S where the process runtime takes images: registry (pulled from a registry
                   on this machine only), host (the host-program catalog only), auto (default:
                   an image named on a registry of this machine is pulled, others are the catalog's)
  --pod-max-pids N the most processes one pod may have on the process runtime, set as pids.max
                   on the pod's cgroup (kubelet's podPidsLimit; default -1: unlimited)
  --serve-foreign-storage-classes=false
                   do not serve StorageClasses of cloud provisioners with the local one
  -f FILE          apply a manifest once the API is ready (repeatable; - reads stdin)
  --web-port N     the live view's port on 127.0.0.1; 0 picks a free one, off serves none (default 0)
  --pod-network M  root: a network namespace per pod on a petset bridge (needs root, ip, nft
                   and --runtime process); host: pods share the host network on loopback
                   addresses and must bind their pod IP; auto (default): root where possible
  --pod-cidr CIDR  pods' addresses, one /24 per node by its index, written to the Node's
                   spec.podCIDR (the node takes .1 of it) (default 127.64.0.0/12 on loopback;
                   10.244.0.0/16 with the root pod network)
  --service-cluster-ip-range CIDR
                   services' cluster IPs (default 127.96.0.0/12: loopback, no setup; 10.96.0.0/12
                   with the root pod network, local to this host); the
                   kubernetes service takes the first address, kube-dns the tenth
  --allocate-node-cidrs
                   give each Node that registers without a podCIDR (machines joined with
                   --pod-network root) the lowest free /24 of --pod-cidr, as
                   kube-controller-manager's --allocate-node-cidrs: machines joining at the
                   same moment never share one
  --dns-port N     cluster DNS port on 127.0.0.1, UDP and TCP; 0 picks a free one (default 0)
  --dns-address ADDR
                   where the cluster DNS listens instead of 127.0.0.1: an address of this
                   machine that nodes on other machines reach (their service proxies relay
                   the kube-dns service's cluster IP to it), e.g. the address given to --host
  --dns-upstream ADDR[:PORT]|none
                   where names outside cluster.local go (default: the loopback resolvers
                   of /etc/resolv.conf, if any; petset sends nothing off the machine unless told)
  --event-ttl D    how long events are kept after they were last recorded (default 1h0m0s)
  --request-timeout D
                   requests other than watches and streams end with 504 after this (default 1m0s)
  --admission-control-config-file FILE
                   an AdmissionConfiguration whose PodSecurity plugin sets cluster-wide
                   enforce/audit/warn levels and exemptions (usernames, runtimeClasses, namespaces)
  --audit-log-path FILE
                   append one audit.k8s.io/v1 Event per request (level Metadata, with
                   admission's annotations) to FILE as JSON lines, as kube-apiserver's flag
  --max-watches-per-user N
                   open watches one user may hold at once; more are answered 429 (default 1000)
  --max-requests-inflight-per-user N
                   other requests one user may have in flight; more are answered 429 (default 400)
  --etcd-compaction-interval D
                   how often old revisions are compacted, as kube-apiserver's flag (default 5m;
                   0 never); watches from compacted resourceVersions get 410 Gone and relist
  --unsafe-no-fsync
                   commit without waiting for the disk, as etcd's flag: faster, and a crash of
                   the machine (not of petset) may lose the last writes; for rehearsals and CI,
                   never for state you keep (the SQLite store; give etcd its own flag)
${ETCD_FLAGS_USAGE}
Node health timings, as kube-controller-manager's and the kubelet's flags (durations such
as 500ms, 5s, 1m30s); shorten them to see node failures handled in seconds:
  --node-monitor-period D          how often node health is checked (default 5s)
  --node-monitor-grace-period D    silence after which a node turns NotReady (Unknown) (default 50s)
  --node-startup-grace-period D    the same for a node that never posted Ready (default 1m0s)
  --node-lease-duration-seconds N  the agents' Lease duration; renewed every quarter of it (default 40)
  --node-status-update-frequency D how often the agents compute node status (default 10s)
  --max-wait-for-unmount-duration D
                                   an unreachable node's ReadWriteOnce volumes are force-detached
                                   after this (upstream's maxWaitForUnmountDuration, default 6m0s)
Autoscaling, as kube-controller-manager's flag:
  --horizontal-pod-autoscaler-sync-period D
                                   how often each HorizontalPodAutoscaler is evaluated (default 15s)
Certificates, as kube-controller-manager's flag:
  --cluster-signing-duration D     the longest client certificate the CSR signer issues, joined
                                   nodes' included (default 8760h0m0s); nodes renew theirs at
                                   70-90 % of its lifetime
Pods leave a NotReady node after their tolerationSeconds for node.kubernetes.io/not-ready
and unreachable (300 unless the pod sets its own).
`;

export async function up(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { f: 'filename', filename: 'filename' }, ['help', 'allocate-node-cidrs', 'unsafe-no-fsync']);
  if (flag(args, 'help')) {
    process.stdout.write(UP_USAGE);
    return 0;
  }
  const dataDir = flag(args, 'data-dir') ?? defaultDataDir();
  const port = flagInt(args, 'port', 6443);
  const host = flag(args, 'host') ?? '127.0.0.1';
  const files = args.flags.get('filename') ?? [];
  const nodes = flagInt(args, 'nodes', 1);
  const simNodes = flagInt(args, 'sim-nodes', 0);
  if (simNodes < 0) throw new Error(`--sim-nodes must be 0 or more (got ${simNodes})`);
  const requestedRuntime = flag(args, 'runtime') ?? 'auto';
  // auto: bubblewrap's check (a sandbox spawned and waited for) runs while the control plane
  // starts; the nodes wait for its answer. An impossible --runtime process fails before anything starts.
  const runtimeChoice = requestedRuntime === 'auto' ? chooseRuntimeAsync(requestedRuntime) : Promise.resolve(chooseRuntime(requestedRuntime));
  const catalogFile = flag(args, 'image-catalog');
  if (catalogFile) ImageCatalog.fromFile(catalogFile); // a bad file fails fast
  const imageSource = flag(args, 'image-source') ?? 'auto';
  if (imageSource !== 'auto' && imageSource !== 'registry' && imageSource !== 'host') throw new Error(`--image-source must be auto, registry or host (got "${imageSource}")`);
  const podPidsLimit = podMaxPids(flag(args, 'pod-max-pids'));
  const serveForeignProvisioners = flag(args, 'serve-foreign-storage-classes') !== 'false';
  const nodeLifecycle = {
    monitorPeriodMs: positive(flagDuration(args, 'node-monitor-period', 5000), 'node-monitor-period'),
    gracePeriodMs: flagDuration(args, 'node-monitor-grace-period', 50_000),
    startupGracePeriodMs: flagDuration(args, 'node-startup-grace-period', 60_000),
  };
  const leaseDurationSeconds = positive(flagInt(args, 'node-lease-duration-seconds', 40), 'node-lease-duration-seconds');
  const agentTimings = {
    leaseDurationSeconds,
    // the kubelet renews at a quarter of the duration; the local agents renew faster when the
    // grace period is shortened for a drill, so healthy nodes never look silent
    leaseRenewIntervalMs: Math.max(100, Math.min(leaseDurationSeconds * 250, Math.floor(nodeLifecycle.gracePeriodMs / 4))),
    nodeStatusUpdateIntervalMs: positive(flagDuration(args, 'node-status-update-frequency', 10_000), 'node-status-update-frequency'),
  };
  const clusterSigningDurationSeconds = signingDuration(args);
  const hpaSyncPeriodMs = positive(flagDuration(args, 'horizontal-pod-autoscaler-sync-period', 15_000), 'horizontal-pod-autoscaler-sync-period');
  const maxWaitForUnmountMs = positive(flagDuration(args, 'max-wait-for-unmount-duration', 6 * 60_000), 'max-wait-for-unmount-duration');
  const serviceClusterIPRange = flag(args, 'service-cluster-ip-range');
  if (serviceClusterIPRange) serviceRange(serviceClusterIPRange); // a bad range fails before anything starts
  const podNetwork = await choosePodNetwork(flag(args, 'pod-network') ?? 'auto', runtimeChoice.then((r) => r.kind), { podCIDR: flag(args, 'pod-cidr'), serviceCIDR: serviceClusterIPRange });
  const rootPodNetwork = podNetwork.mode === 'root';
  const podCIDR = flag(args, 'pod-cidr') ?? (rootPodNetwork ? ROOT_POD_CIDR : undefined);
  if (podCIDR) {
    const range = podRange(podCIDR); // a bad range fails before anything starts
    if (nodes > maxNodeIndex(range) + 1) throw new Error(`--pod-cidr ${podCIDR} has room for ${maxNodeIndex(range) + 1} node(s) (one /24 each), not ${nodes}`);
  }
  const dnsPort = flagInt(args, 'dns-port', 0);
  const dnsHost = flag(args, 'dns-address');
  if (dnsHost !== undefined && !net.isIP(dnsHost)) throw new Error(`--dns-address must be an IP address of this machine (got "${dnsHost}")`);
  const dnsUpstream = flag(args, 'dns-upstream');
  const upstreams = dnsUpstream === undefined ? loopbackResolvers() : dnsUpstream === 'none' ? [] : dnsUpstream.split(',').map(parseUpstream);
  const eventTtlMs = positive(flagDuration(args, 'event-ttl', 3_600_000), 'event-ttl');
  const requestTimeoutMs = positive(flagDuration(args, 'request-timeout', 60_000), 'request-timeout');
  const auditLogPath = flag(args, 'audit-log-path');
  const admissionControlConfigFile = flag(args, 'admission-control-config-file');
  const maxWatchesPerUser = flagInt(args, 'max-watches-per-user', 1000);
  if (maxWatchesPerUser < 1) throw new Error('--max-watches-per-user must be at least 1');
  const maxRequestsInFlightPerUser = flagInt(args, 'max-requests-inflight-per-user', 400);
  if (maxRequestsInFlightPerUser < 1) throw new Error('--max-requests-inflight-per-user must be at least 1');
  const compactionIntervalMs = flagDuration(args, 'etcd-compaction-interval', 300_000);
  if (compactionIntervalMs < 0) throw new Error('--etcd-compaction-interval must not be negative');
  const etcd = etcdFlags(args);
  const unsafeNoFsync = flag(args, 'unsafe-no-fsync') === 'true';
  if (unsafeNoFsync && etcd) throw new Error('--unsafe-no-fsync applies to petset\'s own SQLite store: with --etcd-servers, start etcd with --unsafe-no-fsync instead');
  const webPortFlag = flag(args, 'web-port') ?? '0';
  const webPort = webPortFlag === 'off' ? undefined : flagInt(args, 'web-port', 0);
  const manifests = files.flatMap((f) => readManifests(f)); // read before starting: a bad file fails fast
  keepLoggingOnFullDisk();

  const started = Date.now();
  const processRuntime = runtimeChoice.then((runtime) => {
    if (runtime.why) process.stdout.write(`Using the simulated runtime: ${runtime.why}\n`);
    return runtime.kind === 'process' ? { catalogFile, imageSource: imageSource as ImageSource, podPidsLimit } : undefined;
  });
  const allocateNodeCIDRs = flag(args, 'allocate-node-cidrs') === 'true';
  // cluster IPs off loopback are local to a machine only with a pod network there: without one
  // (a control-plane machine whose nodes join from other machines) a proxy here could serve none
  const servicesElsewhere = !rootPodNetwork && serviceClusterIPRange !== undefined && !serviceClusterIPRange.startsWith('127.');
  const cp = await startControlPlane({ proxy: !servicesElsewhere, allocateNodeCIDRs, dataDir, port, host, nodes, simNodes, serveForeignProvisioners, nodeLifecycle, hpaSyncPeriodMs, clusterSigningDurationSeconds, agentTimings, processRuntime, maxWaitForUnmountMs, serviceClusterIPRange, podCIDR, rootPodNetwork, eventTtlMs, requestTimeoutMs, compactionIntervalMs, unsafeNoFsync, etcd, auditLogPath, maxWatchesPerUser, maxRequestsInFlightPerUser, admissionControlConfigFile, dns: { host: dnsHost, port: dnsPort, upstreams } });
  const out = process.stdout;
  const where = etcd ? `objects in etcd at ${etcd.servers.join(',')}, certificates in ${dataDir}` : `data in ${dataDir}`;
  out.write(`petset is up at ${cp.url} (${where}, started in ${Date.now() - started} ms)\n`);
  out.write(`Node runtimes: ${cp.nodes.runtimes().join(', ') || 'none'}\n`);
  out.write(`Nodes: ${cp.nodes.names().join(', ') || 'none'} (drills: petset node crash|restart|partition|heal|pods NAME --data-dir ${dataDir})\n`);
  if (cp.dns) {
    const { host: dh, port: dp } = cp.dns.address;
    const fwd = upstreams.length ? `other names go to ${upstreams.map((u) => `${u.host}:${u.port}`).join(', ')}` : 'other names are refused (--dns-upstream to forward them)';
    out.write(`Cluster DNS (cluster.local) at ${dh}:${dp}, UDP and TCP; ${fwd}. Try: dig @${dh} -p ${dp} kubernetes.default.svc.cluster.local\n`);
  }
  if (cp.podNetwork) {
    out.write(`Pod network: root (${podNetwork.why}): a network namespace per pod on bridge ${cp.podNetwork.bridge}, pods from ${cp.podNetwork.podCidr.text}, services from ${cp.podNetwork.serviceCidr.text}; nothing of these ranges leaves this machine (guard table inet ${cp.podNetwork.guardTable})\n`);
    out.write('NetworkPolicy objects are enforced for pod ingress and egress between pods, also through Services (the service proxy relays only what the client pod may reach); traffic from this host itself, e.g. probes, is always allowed.\n');
  } else if (servicesElsewhere && nodes === 0) {
    out.write(`Pod network: none on this machine (no nodes here): machines that join with --pod-network root bring their own, pods from ${podCIDR ?? DEFAULT_POD_CIDR}, services from ${serviceClusterIPRange} (served by each machine's proxy)\n`);
  } else {
    out.write(`Pod network: host (${podNetwork.why}): pods share the host network on loopback addresses in ${podCIDR ?? DEFAULT_POD_CIDR} and must bind their pod IP\n`);
    out.write('NetworkPolicy objects are accepted and validated but not enforced: pods share the host network on loopback addresses.\n');
  }
  let web: WebView | undefined;
  if (webPort !== undefined) {
    try {
      web = await startWebView(readKubeconfigEndpoint(cp.kubeconfigPath), { port: webPort, dns: cp.dns?.address, controlSocket: controlSocketPath(dataDir) });
      // the token rides in the fragment, which browsers never send to a server
      out.write(`Live view: ${web.url}#token=${readKubeconfigEndpoint(cp.kubeconfigPath).token} (the page lists and watches through the API with the kubeconfig's token)\n`);
    } catch (e) {
      process.stderr.write(`warning: the live view did not start: ${(e as Error).message}\n`);
    }
  }
  out.write(`To use it with kubectl:\n  export KUBECONFIG=${cp.kubeconfigPath}\n  kubectl get all\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    out.write(`\n${signal} received, stopping petset...\n`);
    await web?.close().catch(() => {});
    try {
      await cp.stop();
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\nAll state is kept in ${dataDir}; \`petset up --data-dir ${dataDir}\` cleans up what this run left (its pods' sandboxes and pod network) when it starts.\n`);
      process.exit(1);
    }
    out.write('petset stopped; all state is kept in ' + dataDir + '\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (manifests.length) {
    try {
      for (const line of await applyObjects(cp.client, () => cp.api.registry, manifests)) out.write(line + '\n');
    } catch (e) {
      process.stderr.write(`error applying manifests: ${(e as Error).message}\n`);
    }
  }
  await new Promise(() => {}); // serve until a signal arrives
  return 0;
}

/**
 * A log on a full disk must not end the control plane (it is what frees space through the
 * API): output redirected to a file is written directly, and a failed write drops that line
 * instead of destroying the stream; later lines are written again once there is room.
 */
function keepLoggingOnFullDisk(): void {
  for (const [stream, fd] of [
    [process.stdout, 1],
    [process.stderr, 2],
  ] as const) {
    stream.on('error', () => {});
    let isFile = false;
    try {
      isFile = fs.fstatSync(fd).isFile();
    } catch {
      /* closed */
    }
    if (!isFile) continue;
    stream.write = ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown) => {
      const done = typeof encoding === 'function' ? encoding : cb;
      try {
        fs.writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch {
        /* ENOSPC and the like: the line is lost, petset goes on */
      }
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    }) as typeof stream.write;
  }
}

function positive(value: number, name: string): number {
  if (value <= 0) throw new Error(`--${name} must be greater than zero`);
  return value;
}
