// The node agents `petset up --nodes N` runs in its own process, and the control socket
// through which `petset node crash|restart|partition|heal` reaches them.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startNodeAgent, type NodeAgent, type NodeAgentOptions } from '../agent/agent.js';
import type { ApiHandler } from '../api/request.js';
import type { ContainerRuntime } from '../agent/runtime/runtime.js';
import { Client } from '../client/client.js';
import { InProcessTransport } from '../client/inprocess-transport.js';
import { processRuntimeFactory, type ProcessRuntimeSettings } from './runtime-choice.js';

/** The kubelet timings `petset up` passes to its agents. */
export type AgentTimings = Pick<NodeAgentOptions, 'leaseDurationSeconds' | 'leaseRenewIntervalMs' | 'nodeStatusUpdateIntervalMs'>;

export function nodeName(i: number): string {
  return `node-${i}`;
}

/** Agents by node name; a crashed node can be brought back by heal. */
export class LocalNodes {
  private readonly agents = new Map<string, NodeAgent>();
  private timings: AgentTimings = {};

  /** each node keeps its own files (emptyDirs) in <dataDir>/nodes/<name> */
  constructor(
    private readonly handler: ApiHandler,
    private readonly dataDir: string,
    /** run pods as real processes (the process runtime) rather than simulated */
    private readonly processRuntime?: Omit<ProcessRuntimeSettings, 'dataDir'>,
    /** the token the API server brings to the agents' servers */
    private readonly serverToken?: string,
    private readonly runtime?: (nodeName: string) => ContainerRuntime,
    /** the cluster's pod range (--pod-cidr), cut into one /24 per node */
    private readonly podCIDR?: string,
  ) {}

  private client(name: string): Client {
    return new Client(new InProcessTransport(this.handler, { name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] }), {
      userAgent: `petset-agent/${name}`,
    });
  }

  /** count nodes, then simCount more on the simulated runtime (`--nodes 3 --sim-nodes 100`) */
  async start(count: number, timings: AgentTimings = {}, simCount = 0): Promise<void> {
    this.timings = timings;
    for (let i = count + 1; i <= count + simCount; i++) this.simulated.add(nodeName(i));
    for (let i = 1; i <= count + simCount; i++) await this.startOne(nodeName(i), i - 1);
  }

  /** nodes that run the simulated runtime whatever the others run */
  private readonly simulated = new Set<string>();

  private async startOne(name: string, index?: number, adopt = false): Promise<NodeAgent> {
    const agent = await startNodeAgent({
      ...this.timings,
      adopt,
      client: this.client(name),
      nodeName: name,
      nodeIndex: index,
      podCIDR: this.podCIDR,
      dataDir: path.join(this.dataDir, 'nodes', name),
      runtime: this.runtime?.(name) ?? (this.processRuntime && !this.simulated.has(name) ? processRuntimeFactory({ ...this.processRuntime, dataDir: this.dataDir }, path.join(this.dataDir, 'nodes', name)) : undefined),
      server: this.serverToken ? { token: this.serverToken } : undefined,
    });
    this.agents.set(name, agent);
    return agent;
  }

  names(): string[] {
    return [...this.agents.keys()];
  }

  /** What the node's runtime runs right now, as `petset node pods` prints it. */
  async pods(name: string): Promise<string> {
    const agent = this.agents.get(name);
    if (!agent) throw new Error(`no node "${name}" runs in this petset (nodes: ${this.names().join(', ') || 'none'})`);
    const rows = [['NAMESPACE', 'NAME', 'UID'], ...(await agent.runtimePods()).map((p) => [p.namespace, p.name, p.uid])];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i] + 3) : cell)).join('')).join('\n');
  }

  /** The drills: crash (the agent and its pods die), partition (cut off from the API), heal. */
  async drill(name: string, action: string): Promise<string> {
    const agent = this.agents.get(name);
    if (!agent) throw new Error(`no node "${name}" runs in this petset (nodes: ${this.names().join(', ') || 'none'})`);
    switch (action) {
      case 'crash':
        agent.crash();
        this.crashed.add(name);
        return `node ${name} crashed: its agent and pods are gone; the control plane will mark it NotReady after the grace period`;
      case 'restart':
        if (this.crashed.has(name)) throw new Error(`node ${name} has crashed: bring it back with heal`);
        agent.detach();
        await this.startOne(name, agent.nodeIndex >= 0 ? agent.nodeIndex : undefined, true);
        return agent.runtime.type === 'petset-sim'
          ? `node ${name}'s agent restarted: its simulated pods did not outlive it and start again`
          : `node ${name}'s agent restarted: its pods kept running and the new agent re-adopted them`;
      case 'partition':
        agent.partition();
        return `node ${name} partitioned: its pods keep running but it can no longer reach the API`;
      case 'heal':
        if (this.crashed.delete(name)) {
          await this.startOne(name, agent.nodeIndex >= 0 ? agent.nodeIndex : undefined);
          return `node ${name} restarted`;
        }
        if (!agent.partitioned) return `node ${name} is not partitioned or crashed; nothing to heal`;
        await agent.heal();
        return `node ${name} healed: it reconnected and stopped the pods the API no longer lets it run`;
      default:
        throw new Error(`unknown drill "${action}": use crash, restart, partition or heal`);
    }
  }

  private readonly crashed = new Set<string>();

  /** Stops every agent; with graceMs, pods of real processes get that long to exit. */
  async stop(graceMs = 0): Promise<void> {
    // every agent stops its pods whatever another one's stop throws (one rejection must not
    // end the wait while the others' pods are still stopping)
    const results = await Promise.allSettled([...this.agents.values()].map((a) => a.stop(graceMs)));
    const failed = [...this.agents.keys()].flatMap((name, i) => {
      const r = results[i];
      return r.status === 'rejected' ? [`node ${name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : [];
    });
    if (failed.length) throw new Error(failed.join('; '));
  }

  /** Each node's runtime, as `petset up` prints it. */
  runtimes(): string[] {
    return [...this.agents].map(([name, a]) => `${name}=${a.runtime.type === 'petset-sim' ? 'sim' : 'process'}`);
  }
}

export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, 'control.sock');
}

/** A small HTTP server on a unix socket in the data directory, for the drill commands. */
export async function serveControlSocket(dataDir: string, nodes: LocalNodes): Promise<() => Promise<void>> {
  const sock = controlSocketPath(dataDir);
  fs.rmSync(sock, { force: true });
  const server = http.createServer((req, res) => {
    const m = /^\/nodes\/([^/]+)\/(\w+)$/.exec(req.url ?? '');
    const answer = !m
      ? undefined
      : req.method === 'POST'
        ? nodes.drill(decodeURIComponent(m[1]), m[2])
        : req.method === 'GET' && m[2] === 'pods'
          ? nodes.pods(decodeURIComponent(m[1]))
          : undefined;
    if (!answer) {
      res.writeHead(404).end('unknown request\n');
      return;
    }
    answer.then(
      (msg) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(msg + '\n'),
      (e) => res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${(e as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  fs.chmodSync(sock, 0o600);
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      fs.rmSync(sock, { force: true });
    });
}
