// A small cluster for the node agent's volume tests: the real in-process API server with
// storage admission, the volume controllers (provisioner, binder, attach/detach) and the
// default StorageClass, and one node agent per name.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNodeAgent, type NodeAgent, type NodeAgentOptions } from '../../src/agent/agent.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { installStorageAdmission } from '../../src/apiserver/storage-admission.js';
import { ControllerRunner } from '../../src/client/controller-runner.js';
import { SharedInformerFactory } from '../../src/client/informer.js';
import { ensureDefaultStorageClass, volumeControllers } from '../../src/controllers/volume/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

export interface VolumeCluster {
  srv: TestServer;
  /** the volumes' and nodes' directories (nodes/<name> is each agent's) */
  dataDir: string;
  agents: NodeAgent[];
  stop(): Promise<void>;
}

export async function startVolumeCluster(prefix: string, nodes: string[], agentOptions: Partial<NodeAgentOptions>): Promise<VolumeCluster> {
  const srv = await startTestServer();
  installStorageAdmission(srv.api);
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  const informers = new SharedInformerFactory(srv.client);
  const controllers = volumeControllers({ dataDir, singleMachine: true, serveForeignProvisioners: true, resyncMs: 200 });
  const runner = new ControllerRunner(srv.client, defaultRegistry(), informers);
  await runner.start(controllers);
  await ensureDefaultStorageClass(srv.client);
  const agents: NodeAgent[] = [];
  for (const [i, name] of nodes.entries()) {
    agents.push(
      await startNodeAgent({
        client: srv.client,
        nodeName: name,
        nodeIndex: i,
        dataDir: path.join(dataDir, 'nodes', name),
        backOff: { initialMs: 500, maxMs: 1000 },
        leaseRenewIntervalMs: 500,
        ...agentOptions,
      }),
    );
  }
  return {
    srv,
    dataDir,
    agents,
    async stop() {
      for (const a of agents) await a.stop();
      for (const c of controllers) c.stop();
      await runner.stop();
      await srv.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
