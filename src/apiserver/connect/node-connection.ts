// How the API server reaches a node's agent, as kube-apiserver reaches a kubelet: the
// address from the Node's status.addresses (InternalIP first), the port from
// status.daemonEndpoints.kubeletEndpoint.Port, and a bearer token the agents were given.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { ApiError, errors } from '../../api/errors.js';
import type { Registry } from '../../api/registry.js';
import type { ResourceStorage } from '../resource-storage.js';

const ADDRESS_PREFERENCE = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'Hostname'];

/**
 * Whether the API server may connect to this address. Every node and pod address petset
 * hands out is on this machine: on its loopback, or in the cluster's pod range of the root
 * pod network (a bridge on this host); addresses come from objects users can write (Node
 * status, Pod status, Endpoints), so anything else is refused rather than dialled: no
 * connection, and no node credential, may leave the machine.
 */
export function isLocalAddress(host: string, podCIDR?: string | Array<string | undefined>): boolean {
  const ranges = (Array.isArray(podCIDR) ? podCIDR : [podCIDR]).filter((c): c is string => c !== undefined);
  if (net.isIPv4(host)) return host.startsWith('127.') || ranges.some((c) => inRange(host, c));
  return host === '::1';
}

function ipv4(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

function inRange(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  if (!base || !net.isIPv4(base) || !bits) return false;
  const size = 2 ** (32 - Number(bits));
  const start = ipv4(base) - (ipv4(base) % size);
  const n = ipv4(ip);
  return n >= start && n < start + size;
}

export interface NodeLocation {
  host: string;
  port: number;
}

export class NodeConnections {
  constructor(
    private readonly storage: ResourceStorage,
    private readonly registry: Registry,
    private readonly token: () => string | undefined,
    /** the cluster's pod range when pods live on a bridge of this host (root pod network), and the network of the machines nodes join from */
    private readonly podCIDR: () => string | Array<string | undefined> | undefined = () => undefined,
  ) {}

  async location(nodeName: string): Promise<NodeLocation> {
    const node = await this.storage.get(this.registry.resource('', 'v1', 'nodes')!, undefined, nodeName);
    const addresses: Array<{ type?: string; address?: string }> = node.status?.addresses ?? [];
    let host: string | undefined;
    for (const t of ADDRESS_PREFERENCE) {
      host = addresses.find((a) => a.type === t && a.address)?.address;
      if (host) break;
    }
    const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port);
    if (!host || !port) throw new ApiError(500, 'InternalError', `no preferred addresses found; known addresses: [${addresses.map((a) => a.address).join(' ')}]`);
    if (!isLocalAddress(host, this.podCIDR())) throw errors.badRequest(`address not allowed: node ${nodeName} reports ${host}, which is not on this machine's loopback, pod network or the network the API server serves on`);
    return { host, port };
  }

  private headers(): Record<string, string> {
    const t = this.token();
    if (!t) throw errors.badRequest('this API server has no credentials for node connections (it was started without node agents it can reach)');
    return { Authorization: `Bearer ${t}` };
  }

  private url(loc: NodeLocation, path: string, query?: URLSearchParams, scheme = 'http'): string {
    const host = loc.host.includes(':') ? `[${loc.host}]` : loc.host;
    const q = query && [...query.keys()].length ? `?${query}` : '';
    return `${scheme}://${host}:${loc.port}${path}${q}`;
  }

  /** A GET to the agent; answers the response once its headers have arrived (any status). */
  async get(nodeName: string, path: string, query: URLSearchParams): Promise<http.IncomingMessage> {
    const loc = await this.location(nodeName);
    const headers = this.headers();
    return new Promise((resolve, reject) => {
      const req = http.get(this.url(loc, path, query), { headers }, resolve);
      req.on('error', (e) => reject(dialError(nodeName, loc, e)));
    });
  }

  /** A channel-protocol WebSocket to the agent (exec, attach), paused: the caller resumes it once it listens. */
  async webSocket(nodeName: string, path: string, query: URLSearchParams): Promise<WebSocket> {
    const loc = await this.location(nodeName);
    const ws = new WebSocket(this.url(loc, path, query, 'ws'), ['v5.channel.k8s.io'], { headers: this.headers() });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        // the agent may answer at once; nothing may be read before the caller listens
        ws.pause();
        resolve(ws);
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => reject(new NodeRefusal(res.statusCode ?? 500, body.trim() || `node ${nodeName} answered ${res.statusCode}`)));
      });
      ws.once('error', (e) => reject(dialError(nodeName, loc, e)));
    });
  }

  /** An upgraded connection the agent splices to a port inside the pod (port-forward). */
  async dial(nodeName: string, path: string, query: URLSearchParams): Promise<Duplex> {
    const loc = await this.location(nodeName);
    const headers = { ...this.headers(), Connection: 'Upgrade', Upgrade: 'tcp' };
    return new Promise((resolve, reject) => {
      const req = http.request(this.url(loc, path, query), { headers, method: 'POST' });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => reject(new Error(body.trim() || `node ${nodeName} answered ${res.statusCode}`)));
      });
      req.on('error', (e) => reject(dialError(nodeName, loc, e)));
      req.end();
    });
  }
}

/** The node agent answered an upgrade with an error of its own (as a kubelet refuses an attach to an ended container): its text as it gave it. */
export class NodeRefusal extends ApiError {
  constructor(code: number, readonly text: string) {
    super(code, 'InternalError', text);
  }
}

function dialError(nodeName: string, loc: NodeLocation, e: Error): ApiError {
  return new ApiError(500, 'InternalError', `error dialing backend: dial tcp ${loc.host}:${loc.port}: ${e.message} (node ${nodeName})`);
}
