// Wires petset's parts into one process: store, API server (HTTPS), admission, and the
// controllers, all talking through the API. The only file that knows every part.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiServer } from '../apiserver/handler.js';
import { requestAuthenticator, startHttpServer, type RunningHttpServer } from '../apiserver/http.js';
import { installAuthorization } from '../apiserver/authz/index.js';
import { installServiceAccountTokens } from '../apiserver/authn/token-request.js';
import { bootstrapTokenAuthenticator } from '../apiserver/authn/bootstrap-token.js';
import { installCertificates } from '../apiserver/certificates.js';
import { installAdmission } from '../apiserver/admission.js';
import { podSecurityConfiguration, type PodSecurityConfig } from '../apiserver/pod-security.js';
import yaml from 'js-yaml';
import { isApiError } from '../api/errors.js';
import { installPodSubresources } from '../apiserver/pod-subresources.js';
import { installPodConnect } from '../apiserver/connect/pods.js';
import { bootstrapObjects } from '../apiserver/bootstrap.js';
import { startEventExpiry, type EventExpiry } from '../apiserver/event-ttl.js';
import { ApiMetrics, instrumentHandler, instrumentStore } from '../apiserver/metrics.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { EtcdTlsOptions } from '../store/etcd.js';
import type { Store } from '../store/store.js';
import { defaultRegistry } from '../api/kinds/index.js';
import { Client } from '../client/client.js';
import { InProcessTransport } from '../client/inprocess-transport.js';
import { ensureCredentials, lockDataDir, makePrivate, secureDataDir, type Credentials, type DataDirLock } from './datadir.js';
import { describe, involvedObjectOf, quarantineUnservable, type SetAside } from './quarantine.js';
import { EventRecorder } from '../client/events.js';
import { moveServicesIntoRange } from '../apiserver/service-ip-repair.js';
import { startIPAddressRepair } from '../apiserver/ipaddress-repair.js';
import { writeKubeconfig } from './kubeconfig.js';
import { createClientCert } from './pki.js';
import { LocalNodes, serveControlSocket, type AgentTimings } from './nodes.js';
import type { ContainerRuntime } from '../agent/runtime/runtime.js';
import { controllerServiceAccount, defaultControllers, startControllers, type Controller, type RunningControllers } from '../controllers/manager.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { UserInfo } from '../api/request.js';
import type { ImageSource } from '../agent/runtime/process/runtime.js';
import type { NodeLifecycleOptions } from '../controllers/nodelifecycle/controller.js';
import { ensureDefaultStorageClass, volumeControllers } from '../controllers/volume/index.js';
import { SharedInformerFactory } from '../client/informer.js';
import { fenceVolume, isVolumeFree } from '../agent/runtime/volume-locks.js';
import type { KubeObject } from '../api/object.js';
import { DnsServer, type Upstream } from '../dns/server.js';
import { ensureKubeDnsService } from '../dns/service.js';
import { kubeDnsServiceIP, kubernetesServiceIP, ROOT_SERVICE_CLUSTER_IP_RANGE, serviceRange } from '../apiserver/service-ips.js';
import { ServiceProxy } from '../proxy/proxier.js';
import { reconcileKubernetesEndpoints } from '../apiserver/kubernetes-endpoints.js';
import { PodNetwork } from '../agent/podnet/pod-network.js';
import { NetworkPolicyEnforcer } from '../agent/podnet/policy-enforcer.js';
import { DEFAULT_POD_CIDR, nodeAddressFor, podRange, ROOT_POD_CIDR } from '../agent/network.js';
import { podNetworkId, sandboxNetwork } from './pod-network-choice.js';

type ProcessRuntimeOptions = { catalogFile?: string; imageSource?: ImageSource; podPidsLimit?: number };

export interface ControlPlaneOptions {
  dataDir: string;
  host?: string;
  port?: number;
  /** run the controllers (default true) */
  controllers?: boolean;
  /** node agents to run in this process (default 1) */
  nodes?: number;
  /** more node agents after those, on the simulated runtime whatever the others run (--sim-nodes) */
  simNodes?: number;
  /** serve StorageClasses of provisioners nothing here runs (kubernetes.io/gce-pd ...) with the local one (default true) */
  serveForeignProvisioners?: boolean;
  /** node health timings (upstream's kube-controller-manager defaults otherwise) */
  nodeLifecycle?: NodeLifecycleOptions;
  /** kube-controller-manager's --horizontal-pod-autoscaler-sync-period (default 15 s) */
  hpaSyncPeriodMs?: number;
  /** kube-controller-manager's --cluster-signing-duration, in seconds (default a year) */
  clusterSigningDurationSeconds?: number;
  /** heartbeat timings of the local agents (upstream's kubelet defaults otherwise) */
  agentTimings?: AgentTimings;
  /** the container runtime of each local node (default: the simulated one) */
  runtime?: (nodeName: string) => ContainerRuntime;
  /** upstream's maxWaitForUnmountDuration: an unreachable node's volumes are force-detached after it (default 6 min) */
  maxWaitForUnmountMs?: number;
  /** where services' cluster IPs come from (default 127.96.0.0/12; 10.96.0.0/12 with the root pod network) */
  serviceClusterIPRange?: string;
  /** pods' addresses, one /24 per node (default 127.64.0.0/12; 10.244.0.0/16 with the root pod network) */
  podCIDR?: string;
  /** give Nodes that register without a podCIDR (joined machines) a /24 of podCIDR (kube-controller-manager's --allocate-node-cidrs) */
  allocateNodeCIDRs?: boolean;
  /**
   * The root pod network: a network namespace per pod, veths into one petset bridge, and the
   * guard (see agent/podnet). Needs root and the process runtime. Default: pods share the
   * host network on loopback addresses.
   */
  rootPodNetwork?: boolean;
  /** serve Services' cluster IPs, node ports and load balancer addresses (default true) */
  proxy?: boolean;
  /** cluster DNS: where it listens (default 127.0.0.1, a free port) and where other names go; false: no DNS */
  dns?: false | { host?: string; port?: number; upstreams?: Upstream[] };
  /** how long events live after their last write (kube-apiserver's --event-ttl, 1 h) */
  eventTtlMs?: number;
  /** non-long-running requests end with 504 after this (kube-apiserver's --request-timeout, 60 s) */
  requestTimeoutMs?: number;
  /** run the local nodes' pods as real processes (default: simulated) */
  processRuntime?: ProcessRuntimeOptions | Promise<ProcessRuntimeOptions | undefined>;
  /** how long pods of real processes get to exit when the control plane stops (default 10 s) */
  stopGraceMs?: number;
  /** where start-up warnings go (a shared data dir, quarantined objects, the space alarm); default stderr */
  log?: (line: string) => void;
  /** how often old revisions are compacted (default 5 minutes, as kube-apiserver; 0 never) */
  compactionIntervalMs?: number;
  /** bytes the store keeps reserved on its disk for deletes when the disk fills (default 8 MiB) */
  spaceReserveBytes?: number;
  /** commit without fsync (--unsafe-no-fsync; the SQLite store only) */
  unsafeNoFsync?: boolean;
  /** kube-apiserver's --admission-control-config-file (the PodSecurity plugin's defaults and exemptions) */
  admissionControlConfigFile?: string;
  /** kube-apiserver's --audit-log-path: one audit.k8s.io/v1 Event per request (level Metadata), JSON lines */
  auditLogPath?: string;
  /** open watches one user may hold at once over HTTPS (default 1000) */
  maxWatchesPerUser?: number;
  /** other requests one user may have in flight over HTTPS (default 400) */
  maxRequestsInFlightPerUser?: number;
  /** keep objects in this external etcd instead of the data dir's SQLite file (kube-apiserver's --etcd-servers) */
  etcd?: { servers: string[]; tls?: EtcdTlsOptions };
}

export interface ControlPlane {
  api: ApiServer;
  http: RunningHttpServer;
  store: Store;
  /** an in-process admin client with the same semantics as HTTPS callers */
  client: Client;
  kubeconfigPath: string;
  url: string;
  nodes: LocalNodes;
  /** the cluster DNS server, when it runs */
  dns?: DnsServer;
  /** the service proxy, when it runs */
  proxy?: ServiceProxy;
  /** the root pod network, when it runs */
  podNetwork?: PodNetwork;
  stop(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  for (const w of secureDataDir(opts.dataDir)) log(w);
  const lock: DataDirLock = lockDataDir(opts.dataDir);
  let store: Store | undefined;
  let http: RunningHttpServer | undefined;
  let controllers: RunningControllers | undefined;
  let nodes: LocalNodes | undefined;
  let closeControl: (() => Promise<void>) | undefined;
  let dns: DnsServer | undefined;
  let api: ApiServer | undefined;
  let dnsInformers: SharedInformerFactory | undefined;
  let proxy: ServiceProxy | undefined;
  // writes at start that must not keep petset from serving on a full disk: retried until done
  const startupWrites: Array<{ stop(): void }> = [];
  let proxyInformers: SharedInformerFactory | undefined;
  let eventExpiry: EventExpiry | undefined;
  let auditLog: fs.WriteStream | undefined;
  let podNetwork: PodNetwork | undefined;
  let policy: NetworkPolicyEnforcer | undefined;
  let policyInformers: SharedInformerFactory | undefined;
  let credentials: Promise<Credentials> | undefined;
  const serviceClusterIPRange = opts.serviceClusterIPRange ?? (opts.rootPodNetwork ? ROOT_SERVICE_CLUSTER_IP_RANGE : undefined);
  const podCIDR = opts.podCIDR ?? (opts.rootPodNetwork ? ROOT_POD_CIDR : undefined);
  const host = opts.host ?? '127.0.0.1';

  /**
   * Stops every part that started, in order, each whatever the ones before it threw: one part
   * failing to stop must not leave the pods, the pod network or the data dir's lock behind
   * (a rejected step used to end the sequence, and `up` with it). Returns what failed.
   */
  const teardown = async (graceMs: number): Promise<string[]> => {
    const failed: string[] = [];
    const step = async (what: string, act: () => unknown) => {
      try {
        await act();
      } catch (e) {
        failed.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    await step('startup writes', () => startupWrites.forEach((w) => w.stop()));
    await step('event expiry', () => eventExpiry?.stop());
    await step('the control socket', () => closeControl?.());
    await step('the nodes', () => nodes?.stop(graceMs));
    await step('the cluster DNS', () => dns?.close());
    await step('the cluster DNS informers', () => dnsInformers?.stop());
    await step('the service proxy', () => proxy?.stop());
    await step('the service proxy informers', () => proxyInformers?.stop());
    // the pods are gone: their namespaces, the bridge, routes and the guard go too
    await step('the network policy agent', () => policy?.stop());
    await step('the network policy informers', () => policyInformers?.stop());
    await step('the pod network', () => podNetwork?.teardown());
    await step('the controllers', () => controllers?.stop());
    await step('the API server', () => http?.close());
    await step('the audit log', () => new Promise<void>((resolve) => (auditLog ? auditLog.end(resolve) : resolve())));
    await step('the custom resources', () => api?.customResources.stop());
    await step('the store', () => store?.close());
    lock.release();
    return failed;
  };
  try {
    if (opts.rootPodNetwork) {
      // first of all: blackholes and the guard before any address of the ranges is used;
      // whatever a crashed run of this data dir left is found by its id and removed
      podNetwork = new PodNetwork({ id: podNetworkId(opts.dataDir), podCidr: podCIDR, serviceCidr: serviceClusterIPRange, log });
      await podNetwork.setup();
      const range = podRange(podCIDR);
      for (let i = 0; i < (opts.nodes ?? 1); i++) await podNetwork.addHostAddress(nodeAddressFor(i, range));
    }
    // the `kubernetes` service's address is in the serving certificate, for in-cluster clients
    const apiServiceIP = kubernetesServiceIP(serviceRange(serviceClusterIPRange));
    // the new files' fsyncs run in the thread pool while the store opens; nothing reads them before the await below
    credentials = ensureCredentials(opts.dataDir, [...(host === '127.0.0.1' || host === 'localhost' ? [] : [host]), apiServiceIP]);
    credentials.catch(() => {}); // its error is thrown by that await (a store failing first must not leave it unhandled)
    const metrics = new ApiMetrics();
    const compaction = opts.compactionIntervalMs === 0 ? false : { intervalMinutes: (opts.compactionIntervalMs ?? 300_000) / 60_000 };
    const setAside: SetAside[] = [];
    // what a full disk looks like to the start-up: only SQLite's own disk raises the alarm here
    let spaceAlarm: { spaceAlarmRaised: boolean } = { spaceAlarmRaised: false };
    if (opts.etcd) {
      // loaded only for an etcd store: its client brings gRPC and compiles etcd's protos at load
      const { openEtcdStore } = await import('../store/etcd.js');
      store = instrumentStore(await openEtcdStore({ endpoints: opts.etcd.servers, tls: opts.etcd.tls, autoCompact: compaction, log }), metrics);
    } else {
      const dbFile = path.join(opts.dataDir, 'state.db');
      const sqlite = openSqliteStore(dbFile, { log, spaceReserveBytes: opts.spaceReserveBytes, autoCompact: compaction, fsync: !opts.unsafeNoFsync });
      spaceAlarm = sqlite;
      store = instrumentStore(sqlite, metrics);
      for (const f of [`${dbFile}-wal`, `${dbFile}-shm`, `${dbFile}.reserve`]) makePrivate(f);
      setAside.push(...sqlite.setAsideWhileLoading().map((q) => ({ ...q })));
    }
    const creds = await credentials;
    const registry = defaultRegistry();
    // nothing that reads objects runs before the ones it could not serve are set aside
    for (const q of setAside) log(describe(q));
    setAside.push(...(await quarantineUnservable(store, registry, log)));
    // the API server's credential for its connections to the agents (logs, exec, port-forward);
    // kept in the data dir so that agents in other processes (petset agent) can be given it
    const nodeConnectionToken = creds.nodeConnectionToken;
    const podSecurity = opts.admissionControlConfigFile ? readAdmissionConfig(opts.admissionControlConfigFile) : undefined;
    api = new ApiServer(registry, store, { serviceClusterIPRange, nodeConnectionToken, podCIDR: podNetwork ? podCIDR : undefined, nodeNetwork: networkOf(host), podSecurity });
    // every caller (kubectl over HTTPS, controllers and agents in-process) is counted, as upstream's are
    const handle = instrumentHandler(api.handle, metrics, registry);
    // a data dir used with another service range (host mode, then root, or the reverse): its
    // services move into this one before anything allocates, and up says which moved
    // not fatal: on a full disk the moves wait for the next start, and the API serves meanwhile
    const moved = await moveServicesIntoRange(api).catch((e: Error) => {
      log(`warning: services outside the service range ${serviceRange(serviceClusterIPRange).text} keep their cluster IPs until the next start: ${e.message}`);
      return [];
    });
    for (const m of moved) log(`service ${m.namespace}/${m.name}: cluster IP ${m.from} is outside the service range ${serviceRange(serviceClusterIPRange).text} (this data dir was used with another range, e.g. in the other pod network mode); it now has ${m.to}`);
    if (moved.length) log(`  running pods keep the old address in their *_SERVICE_HOST variables until they restart; DNS names follow at once`);
    installAdmission(api);
    installPodSubresources(api);
    installPodConnect(api);
    installCertificates(api);
    await bootstrapObjects(api);
    // the kinds of stored CustomResourceDefinitions are served before anyone can ask for them
    await api.customResources.start();
    startupWrites.push(await installAuthorization(api));
    eventExpiry = startEventExpiry(api.storage, { ttlMs: opts.eventTtlMs });
    const tokens = new Map([[creds.adminToken, { name: 'petset-admin', groups: ['system:masters', 'system:authenticated'] }]]);
    const serviceAccountToken = installServiceAccountTokens(api, creds.serviceAccountKeyPem);
    if (opts.auditLogPath) {
      const file = fs.createWriteStream(opts.auditLogPath, { flags: 'a', mode: 0o600 });
      file.on('error', (e) => log(`warning: audit log ${opts.auditLogPath}: ${e.message}`));
      auditLog = file;
    }
    const audit = auditLog && ((event: Record<string, unknown>) => void auditLog!.write(JSON.stringify(event) + '\n'));
    const bootstrapToken = bootstrapTokenAuthenticator(api);
    http = await startHttpServer({
      handler: handle,
      audit,
      maxWatchesPerUser: opts.maxWatchesPerUser,
      maxRequestsInFlightPerUser: opts.maxRequestsInFlightPerUser,
      // the chain ends with the CA, so that `petset join` can pin it by its hash before trusting it
      tls: { cert: creds.serving.certPem + creds.ca.certPem, key: creds.serving.keyPem, ca: creds.ca.certPem },
      authenticate: requestAuthenticator(async (t) => tokens.get(t) ?? (await serviceAccountToken(t)) ?? (await bootstrapToken(t))),
      onUpgrade: api.handleUpgrade,
      onRawRequest: api.handleRaw,
      host,
      port: opts.port ?? 0,
      timeouts: opts.requestTimeoutMs ? { requestMs: opts.requestTimeoutMs } : undefined,
    }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') throw new Error(`port ${opts.port} on ${host} is already in use; start with --port 0 to pick a free one, or choose another --port`);
      if (e.code === 'EADDRNOTAVAIL') throw new Error(`cannot listen on ${host}: no such address on this machine; use --host 127.0.0.1`);
      throw e;
    });
    api.options.serverAddress = `${http.host}:${http.port}`;
    const hostForUrl = host.includes(':') ? `[${host}]` : host;
    const url = `https://${hostForUrl}:${http.port}`;
    const kubeconfigPath = path.join(opts.dataDir, 'kubeconfig');
    try {
      writeKubeconfig(kubeconfigPath, { server: url, caPem: creds.ca.certPem, token: creds.adminToken, clientCertPem: creds.adminCert.certPem, clientKeyPem: creds.adminCert.keyPem });
      // the components' own credentials, as kubeadm writes them: for `petset controller-manager
      // --use-service-account-credentials` and `petset scheduler` in processes of their own
      for (const [file, user] of [['controller-manager.conf', 'system:kube-controller-manager'], ['scheduler.conf', 'system:kube-scheduler']] as const) {
        const cert = createClientCert(creds.ca, { commonName: user });
        writeKubeconfig(path.join(opts.dataDir, file), { server: url, caPem: creds.ca.certPem, clientCertPem: cert.certPem, clientKeyPem: cert.keyPem, user, context: user });
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
      // a full disk must not keep petset from serving (deletes through the API free space)
      log(`warning: could not write ${kubeconfigPath}: the disk is full; it still names the previous address (this one is ${url})`);
    }
    // the API server's own loopback client (upstream's system:apiserver in system:masters):
    // start-up writes, the kubernetes service's endpoints, quarantine events
    const client = new Client(new InProcessTransport(handle, { name: 'petset-admin', groups: ['system:masters'] }), {
      userAgent: 'petset-controlplane',
    });
    // every other part calls in as its own identity with only its role's rights (bootstrap policy)
    const clientAs = (user: UserInfo) => new Client(new InProcessTransport(handle, { ...user, groups: [...user.groups, 'system:authenticated'] }), { userAgent: 'petset-controlplane' });
    const accounts = new Set<string>();
    const serviceAccount = (name: string): UserInfo => {
      accounts.add(name);
      return { name: `system:serviceaccount:kube-system:${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'] };
    };
    if (setAside.length) {
      const recorder = new EventRecorder(client, 'petset-apiserver');
      for (const a of setAside) {
        recorder.event(
          involvedObjectOf(a),
          'Warning',
          'Quarantined',
          `The stored object could not be served and was set aside at start-up (moved to the quarantine table of state.db): ${a.reason}`,
        );
      }
    }
    if (moved.length) {
      const recorder = new EventRecorder(client, 'petset-apiserver');
      for (const m of moved) {
        recorder.event(
          { apiVersion: 'v1', kind: 'Service', metadata: { namespace: m.namespace, name: m.name, uid: m.uid } },
          'Normal',
          'ClusterIPReallocated',
          `Cluster IP ${m.from} is not within the service range ${serviceRange(serviceClusterIPRange).text}; the service now has ${m.to}`,
        );
      }
    }
    await ensureDefaultStorageClass(client);
    // upstream's ipallocator repair: IPAddresses whose Service is gone, Services whose IPAddress is missing
    startupWrites.push(startIPAddressRepair(client, serviceRange(serviceClusterIPRange), { log }));
    // the `kubernetes` service leads to this API server, as upstream's endpoint reconciler keeps it
    const apiAddress = { ip: host === '0.0.0.0' || host === '::' || host === 'localhost' ? '127.0.0.1' : host, port: http.port };
    startupWrites.push(untilWritten('the kubernetes service\'s endpoints', () => reconcileKubernetesEndpoints(client, apiAddress), log));
    if (opts.controllers !== false) {
      // kube-controller-manager with --use-service-account-credentials: the shared informers
      // read as system:kube-controller-manager, each controller writes as its ServiceAccount
      const controllerManager = clientAs({ name: 'system:kube-controller-manager', groups: [] });
      const scheduler = clientAs({ name: 'system:kube-scheduler', groups: [] });
      const perController = new Map<string, Client>();
      const clientFor = (c: Controller) => {
        if (c instanceof Scheduler) return scheduler;
        const sa = controllerServiceAccount(c);
        if (!sa) return controllerManager;
        if (!perController.has(sa)) perController.set(sa, clientAs(serviceAccount(sa)));
        return perController.get(sa)!;
      };
      controllers = await startControllers(controllerManager, [
        ...defaultControllers({ allocateNodeCIDRs: opts.allocateNodeCIDRs ? (podCIDR ?? DEFAULT_POD_CIDR) : undefined, nodeLifecycle: opts.nodeLifecycle, horizontalPodAutoscaler: { syncPeriodMs: opts.hpaSyncPeriodMs }, rootCA: creds.ca.certPem, clusterSigning: creds.ca, clusterSigningDurationSeconds: opts.clusterSigningDurationSeconds }),
        ...volumeControllers({
          dataDir: opts.dataDir,
          singleMachine: true,
          serveForeignProvisioners: opts.serveForeignProvisioners !== false,
          // every node runs on this machine: a volume whose lock no live sandbox holds is not in use anywhere
          attachDetach: { maxWaitForUnmountMs: opts.maxWaitForUnmountMs, lockFree: volumeLockFree, fence: fenceVolumeOf },
        }),
      ], clientFor);
    }
    if (opts.dns !== false) {
      // Cluster DNS is a client of the API like any other part, with informers of its own.
      dnsInformers = new SharedInformerFactory(clientAs(serviceAccount('coredns')));
      dns = await DnsServer.forCluster(dnsInformers, { host: opts.dns?.host, port: opts.dns?.port, upstreams: opts.dns?.upstreams });
      const dnsAddress = dns.address;
      startupWrites.push(untilWritten('the kube-dns service', () => ensureKubeDnsService(client, kubeDnsServiceIP(serviceRange(serviceClusterIPRange)), dnsAddress), log));
    }
    if (podNetwork) {
      const pn = podNetwork;
      policyInformers = new SharedInformerFactory(clientAs(serviceAccount('network-policy-agent')));
      policy = new NetworkPolicyEnforcer(() => ({ hostAddresses: pn.hostAddresses(), serviceCidr: pn.serviceCidr.text }), log);
      await policy.start(policyInformers);
    }
    if (opts.proxy !== false) {
      // the proxy reads as kube-proxy (system:node-proxier); the load balancer addresses it
      // writes are a cloud's service controller's work, so they are written as that one
      proxyInformers = new SharedInformerFactory(clientAs({ name: 'system:kube-proxy', groups: [] }));
      // in the root pod network, a Service leads only where NetworkPolicy lets the client go
      const enforcer = policy;
      proxy = new ServiceProxy(clientAs(serviceAccount('service-controller')), enforcer ? { admit: (from, backend, protocol) => enforcer.allowsServiceConnection(from, backend.ip, backend.port, protocol) } : {});
      await proxy.start(proxyInformers);
    }
    // pods ask the cluster DNS through the kube-dns service's cluster IP
    // (up's runtime choice may still be under way: only the nodes wait for it)
    const processRuntimeOptions = await opts.processRuntime;
    const processRuntime = processRuntimeOptions && { ...processRuntimeOptions, network: podNetwork && sandboxNetwork(podNetwork, policy), clusterDNS: opts.dns !== false ? kubeDnsServiceIP(serviceRange(serviceClusterIPRange)) : undefined };
    nodes = new LocalNodes(handle, opts.dataDir, processRuntime, nodeConnectionToken, opts.runtime, podCIDR);
    const agentsUp = nodes.start(opts.nodes ?? 1, opts.agentTimings, opts.simNodes ?? 0);
    if (!(await untilDoneOrDiskFull(agentsUp, spaceAlarm))) {
      // on a full disk the agents cannot register until there is room; the API must serve meanwhile (deletes free space)
      log('warning: the disk is full: the nodes will register once writes are possible again');
      agentsUp.catch((e: Error) => log(`error starting the nodes: ${e.message}`));
    }
    // the accounts the parts call as exist, as upstream's controller manager makes them
    startupWrites.push(untilWritten('the kube-system service accounts', () => ensureServiceAccounts(client, [...accounts]), log));
    closeControl = await serveControlSocket(opts.dataDir, nodes);
    return {
      api,
      http,
      store,
      client,
      kubeconfigPath,
      url,
      nodes,
      dns,
      proxy,
      podNetwork,
      async stop() {
        const failed = await teardown(opts.stopGraceMs ?? 10_000);
        if (failed.length) throw new Error(`petset stopped, but not cleanly: ${failed.join('; ')}`);
      },
    };
  } catch (e) {
    // the credentials' renames finish before the lock goes: nothing of this start touches pki/ after it
    await credentials?.catch(() => {});
    await teardown(0);
    throw e;
  }
}

async function ensureServiceAccounts(client: Client, names: string[]): Promise<void> {
  const sas = client.resource<KubeObject>({ group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true }, 'kube-system');
  for (const name of names) {
    await sas.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'kube-system' } }).catch((e: unknown) => {
      if (!isApiError(e, 'AlreadyExists')) throw e;
    });
  }
}

/** The PodSecurity configuration of an AdmissionConfiguration file (a plugin's path is relative to it). */
function readAdmissionConfig(file: string): PodSecurityConfig | undefined {
  const load = (f: string) => {
    try {
      return yaml.load(fs.readFileSync(f, 'utf8'));
    } catch (e) {
      throw new Error(`--admission-control-config-file: cannot read ${f}: ${(e as Error).message}`);
    }
  };
  try {
    return podSecurityConfiguration(load(file), (p) => load(path.resolve(path.dirname(file), p)));
  } catch (e) {
    throw new Error(`--admission-control-config-file ${file}: ${(e as Error).message}`);
  }
}

function volumeLockFree(pv: KubeObject): boolean | undefined {
  const dir: string | undefined = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
  return dir ? isVolumeFree(dir) : undefined;
}

/** An out-of-service node's sandboxes on the volume are stopped before it moves (see volume-locks.ts). */
async function fenceVolumeOf(pv: KubeObject, node: string): Promise<boolean> {
  const dir: string | undefined = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
  return dir ? fenceVolume(dir, node) : true;
}

/** Waits for `work`; true when it finished, false as soon as the store's space alarm is raised first. */
async function untilDoneOrDiskFull(work: Promise<unknown>, store: { spaceAlarmRaised: boolean }): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const alarm = new Promise<false>((resolve) => {
    const check = () => (store.spaceAlarmRaised ? resolve(false) : (timer = setTimeout(check, 100)));
    check();
  });
  try {
    return await Promise.race([work.then(() => true as const), alarm]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a start-up write now, and again every 2 s while it fails (a full disk: the space
 * alarm refuses writes until there is room), without holding up the start.
 */
function untilWritten(what: string, write: () => Promise<unknown>, log: (line: string) => void): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;
  const attempt = () => {
    if (stopped) return;
    write().then(
      () => {
        if (warned) log(`${what} written`);
      },
      (e: Error) => {
        if (stopped) return;
        if (!warned) log(`warning: could not write ${what} yet (${e.message}); retrying`);
        warned = true;
        timer = setTimeout(attempt, 2000);
      },
    );
  };
  attempt();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The network (CIDR) of one of this machine's addresses, other than loopback; undefined for wildcards and loopback. */
function networkOf(address: string): string | undefined {
  if (address.startsWith('127.') || address === '::1' || address === '0.0.0.0' || address === '::') return undefined;
  for (const list of Object.values(os.networkInterfaces())) {
    const hit = list?.find((a) => a.address === address && a.family === 'IPv4' && !a.internal);
    if (hit?.cidr) return hit.cidr;
  }
  return undefined;
}
