// Wires petset's parts into one process: store, API server (HTTPS), admission, and the
// controllers, all talking through the API. The only file that knows every part.
import path from 'node:path';
import { ApiServer } from '../apiserver/handler.js';
import { startHttpServer, tokenAuthenticator, type RunningHttpServer } from '../apiserver/http.js';
import { installAdmission } from '../apiserver/admission.js';
import { installPodSubresources } from '../apiserver/pod-subresources.js';
import { bootstrapObjects } from '../apiserver/bootstrap.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { defaultRegistry } from '../api/kinds/index.js';
import { Client } from '../client/client.js';
import { InProcessTransport } from '../client/inprocess-transport.js';
import { ensureCredentials, lockDataDir, makePrivate, secureDataDir, type DataDirLock } from './datadir.js';
import { describe, involvedObjectOf, quarantineUnservable, type SetAside } from './quarantine.js';
import { EventRecorder } from '../client/events.js';
import { writeKubeconfig } from './kubeconfig.js';
import { LocalNodes, serveControlSocket, type AgentTimings } from './nodes.js';
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
  /** where start-up warnings go (a shared data dir, quarantined objects, the space alarm); default stderr */
  log?: (line: string) => void;
  /** how often old revisions are compacted (default 5 minutes, as kube-apiserver; 0 never) */
  compactionIntervalMs?: number;
  /** bytes the store keeps reserved on its disk for deletes when the disk fills (default 8 MiB) */
  spaceReserveBytes?: number;
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
  const log = opts.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  for (const w of secureDataDir(opts.dataDir)) log(w);
  const lock: DataDirLock = lockDataDir(opts.dataDir);
  let store: Store | undefined;
  let http: RunningHttpServer | undefined;
  let controllers: RunningControllers | undefined;
  let nodes: LocalNodes | undefined;
  let closeControl: (() => Promise<void>) | undefined;
  try {
    const host = opts.host ?? '127.0.0.1';
    const creds = ensureCredentials(opts.dataDir, host === '127.0.0.1' || host === 'localhost' ? [] : [host]);
    const dbFile = path.join(opts.dataDir, 'state.db');
    const sqlite = openSqliteStore(dbFile, {
      log,
      spaceReserveBytes: opts.spaceReserveBytes,
      autoCompact: opts.compactionIntervalMs === 0 ? false : { intervalMinutes: (opts.compactionIntervalMs ?? 300_000) / 60_000 },
    });
    store = sqlite;
    for (const f of [`${dbFile}-wal`, `${dbFile}-shm`, `${dbFile}.reserve`]) makePrivate(f);
    const registry = defaultRegistry();
    // nothing that reads objects runs before the ones it could not serve are set aside
    const setAside: SetAside[] = sqlite.setAsideWhileLoading().map((q) => ({ ...q }));
    for (const q of setAside) log(describe(q));
    setAside.push(...(await quarantineUnservable(store, registry, log)));
    const api = new ApiServer(registry, store);
    installAdmission(api);
    installPodSubresources(api);
    await bootstrapObjects(api);
    const tokens = new Map([[creds.adminToken, { name: 'petset-admin', groups: ['system:masters', 'system:authenticated'] }]]);
    http = await startHttpServer({
      handler: api.handle,
      tls: { cert: creds.serving.certPem, key: creds.serving.keyPem, ca: creds.ca.certPem },
      authenticate: tokenAuthenticator(tokens),
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
    try {
      writeKubeconfig(kubeconfigPath, { server: url, caPem: creds.ca.certPem, token: creds.adminToken });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
      // a full disk must not keep petset from serving (deletes through the API free space)
      log(`warning: could not write ${kubeconfigPath}: the disk is full; it still names the previous address (this one is ${url})`);
    }
    const client = new Client(new InProcessTransport(api.handle, { name: 'petset-admin', groups: ['system:masters'] }), {
      userAgent: 'petset-controlplane',
    });
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
    await ensureDefaultStorageClass(client);
    if (opts.controllers !== false) {
      controllers = await startControllers(client, [
        ...defaultControllers({ nodeLifecycle: opts.nodeLifecycle }),
        ...volumeControllers({ dataDir: opts.dataDir, singleMachine: true, serveForeignProvisioners: opts.serveForeignProvisioners !== false }),
      ]);
    }
    nodes = new LocalNodes(api.handle, opts.dataDir);
    const agentsUp = nodes.start(opts.nodes ?? 1, opts.agentTimings);
    if (!(await untilDoneOrDiskFull(agentsUp, sqlite))) {
      // on a full disk the agents cannot register until there is room; the API must serve meanwhile (deletes free space)
      log('warning: the disk is full: the nodes will register once writes are possible again');
      agentsUp.catch((e: Error) => log(`error starting the nodes: ${e.message}`));
    }
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
