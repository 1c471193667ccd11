// Wires petset's parts into one process: store, API server (HTTPS), admission, and the
// controllers, all talking through the API. The only file that knows every part.
import path from 'node:path';
import { ApiServer } from '../apiserver/handler.js';
import { startHttpServer, tokenAuthenticator, type RunningHttpServer } from '../apiserver/http.js';
import { installAdmission } from '../apiserver/admission.js';
import { installPodSubresources } from '../apiserver/pod-subresources.js';
import { installPodConnect } from '../apiserver/connect/pods.js';
import { bootstrapObjects } from '../apiserver/bootstrap.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { defaultRegistry } from '../api/kinds/index.js';
import { Client } from '../client/client.js';
import { InProcessTransport } from '../client/inprocess-transport.js';
import { ensureCredentials, lockDataDir, type DataDirLock } from './datadir.js';
import { writeKubeconfig } from './kubeconfig.js';
import { LocalNodes, serveControlSocket, type AgentTimings } from './nodes.js';
import type { ContainerRuntime } from '../agent/runtime/runtime.js';
import { defaultControllers, startControllers, type RunningControllers } from '../controllers/manager.js';
import type { NodeLifecycleOptions } from '../controllers/nodelifecycle/controller.js';
import { ensureDefaultStorageClass, volumeControllers } from '../controllers/volume/index.js';

export interface ControlPlaneOptions {
  dataDir: string;
  host?: string;
  port?: number;
  /** run the controllers (default true) */
  controllers?: boolean;
  /** node agents to run in this process (default 1) */
  nodes?: number;
  /** serve StorageClasses of provisioners nothing here runs (kubernetes.io/gce-pd ...) with the local one (default true) */
  serveForeignProvisioners?: boolean;
  /** node health timings (upstream's kube-controller-manager defaults otherwise) */
  nodeLifecycle?: NodeLifecycleOptions;
  /** heartbeat timings of the local agents (upstream's kubelet defaults otherwise) */
  agentTimings?: AgentTimings;
  /** the container runtime of each local node (default: the simulated one) */
  runtime?: (nodeName: string) => ContainerRuntime;
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
  stop(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const lock: DataDirLock = lockDataDir(opts.dataDir);
  let store: Store | undefined;
  let http: RunningHttpServer | undefined;
  let controllers: RunningControllers | undefined;
  let nodes: LocalNodes | undefined;
  let closeControl: (() => Promise<void>) | undefined;
  try {
    const host = opts.host ?? '127.0.0.1';
    const creds = ensureCredentials(opts.dataDir, host === '127.0.0.1' || host === 'localhost' ? [] : [host]);
    store = openSqliteStore(path.join(opts.dataDir, 'state.db'));
    const registry = defaultRegistry();
    // the API server's credential for its connections to the agents (logs, exec, port-forward);
    // kept in the data dir so that agents in other processes (petset agent) can be given it
    const nodeConnectionToken = creds.nodeConnectionToken;
    const api = new ApiServer(registry, store, { nodeConnectionToken });
    installAdmission(api);
    installPodSubresources(api);
    installPodConnect(api);
    await bootstrapObjects(api);
    const tokens = new Map([[creds.adminToken, { name: 'petset-admin', groups: ['system:masters', 'system:authenticated'] }]]);
    http = await startHttpServer({
      handler: api.handle,
      tls: { cert: creds.serving.certPem, key: creds.serving.keyPem, ca: creds.ca.certPem },
      authenticate: tokenAuthenticator(tokens),
      onUpgrade: api.handleUpgrade,
      onRawRequest: api.handleRaw,
      host,
      port: opts.port ?? 0,
    }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') throw new Error(`port ${opts.port} on ${host} is already in use; start with --port 0 to pick a free one, or choose another --port`);
      if (e.code === 'EADDRNOTAVAIL') throw new Error(`cannot listen on ${host}: no such address on this machine; use --host 127.0.0.1`);
      throw e;
    });
    api.options.serverAddress = `${http.host}:${http.port}`;
    const hostForUrl = host.includes(':') ? `[${host}]` : host;
    const url = `https://${hostForUrl}:${http.port}`;
    const kubeconfigPath = path.join(opts.dataDir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, { server: url, caPem: creds.ca.certPem, token: creds.adminToken });
    const client = new Client(new InProcessTransport(api.handle, { name: 'petset-admin', groups: ['system:masters'] }), {
      userAgent: 'petset-controlplane',
    });
    await ensureDefaultStorageClass(client);
    if (opts.controllers !== false) {
      controllers = await startControllers(client, [
        ...defaultControllers({ nodeLifecycle: opts.nodeLifecycle }),
        ...volumeControllers({ dataDir: opts.dataDir, singleMachine: true, serveForeignProvisioners: opts.serveForeignProvisioners !== false }),
      ]);
    }
    nodes = new LocalNodes(api.handle, opts.dataDir, nodeConnectionToken, opts.runtime);
    await nodes.start(opts.nodes ?? 1, opts.agentTimings);
    closeControl = await serveControlSocket(opts.dataDir, nodes);
    const running = { store, http, controllers, nodes, closeControl };
    return {
      api,
      http,
      store,
      client,
      kubeconfigPath,
      url,
      nodes,
      async stop() {
        await running.closeControl();
        await running.nodes.stop();
        await running.controllers?.stop();
        await running.http.close();
        await running.store.close();
        lock.release();
      },
    };
  } catch (e) {
    await closeControl?.().catch(() => {});
    await nodes?.stop().catch(() => {});
    await controllers?.stop().catch(() => {});
    await http?.close().catch(() => {});
    await store?.close().catch(() => {});
    lock.release();
    throw e;
  }
}
