// The pods' connect subresources: log (a plain streamed GET), and exec, attach and
// portforward (upgraded connections). The API server checks the pod and the container as
// upstream does, then relays to the node agent that runs the pod (node-connection.ts),
// translating the client's transport (WebSocket channels, SPDY, SPDY tunnelled in
// WebSocket) to the agent's one (WebSocket v5 channels, or a spliced TCP upgrade).
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { ApiError, errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import {
  CHANNEL,
  channelFrame,
  failureStatus,
  negotiate,
  PORT_FORWARD_PROTOCOL,
  SPDY_CHANNEL_PROTOCOLS,
  WS_CHANNEL_PROTOCOLS,
  WS_TUNNELED_PORT_FORWARD_PROTOCOL,
  type StreamStatus,
} from '../../api/stream-protocol.js';
import { field } from '../../api/validation.js';
import type { ApiRequest, ApiResponse, ApiStream } from '../../api/request.js';
import { answerUpgradeAndClose, type ApiServer, type ResourceRoute, type UpgradeRequest } from '../handler.js';
import { SpdySession, type SpdyStream } from '../streams/spdy.js';
import { spdySession, webSocketSession, type RemoteCommandOptions, type StreamSession } from '../streams/session.js';
import { NodeConnections, NodeRefusal } from './node-connection.js';
import { installProxy } from './proxy.js';

export function installPodConnect(api: ApiServer): void {
  const nodes = new NodeConnections(api.storage, api.registry, () => api.options.nodeConnectionToken, () => [api.options.podCIDR, api.options.nodeNetwork]);
  api.addSubresource('pods/log', (req, route) => podLog(api, nodes, req, route));
  for (const sub of ['exec', 'attach', 'portforward']) {
    // without an upgrade these answer as upstream does
    api.addSubresource(`pods/${sub}`, async (req) => {
      if (req.method !== 'GET' && req.method !== 'POST') throw errors.methodNotSupported({ group: '', resource: `pods/${sub}` }, req.method.toLowerCase());
      throw errors.badRequest('Upgrade request required');
    });
  }
  api.addUpgrade('pods/exec', (u) => remoteCommand(api, nodes, u, 'exec'));
  api.addUpgrade('pods/attach', (u) => remoteCommand(api, nodes, u, 'attach'));
  api.addUpgrade('pods/portforward', (u) => portForward(api, nodes, u));
  installProxy(api);
}

const podsRef = { group: '', resource: 'pods' };

async function getPod(api: ApiServer, route: ResourceRoute): Promise<KubeObject> {
  if (route.namespace === undefined || !route.name) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  return api.storage.get(route.kind, route.namespace, route.name);
}

function containerNames(pod: KubeObject, which: 'containers' | 'initContainers' | 'ephemeralContainers'): string[] {
  return ((pod.spec?.[which] ?? []) as Array<{ name: string }>).map((c) => c.name);
}

/** The container a request is about, checked as upstream's podutil does. */
function pickContainer(pod: KubeObject, requested: string | null): string {
  const name = pod.metadata.name;
  const regular = containerNames(pod, 'containers');
  const init = containerNames(pod, 'initContainers');
  const ephemeral = containerNames(pod, 'ephemeralContainers');
  if (!requested) {
    if (regular.length === 1) return regular[0];
    let msg = `a container name must be specified for pod ${name}, choose one of: [${regular.join(' ')}]`;
    if (init.length) msg += ` or one of the init containers: [${init.join(' ')}]`;
    if (ephemeral.length) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
    throw errors.badRequest(msg);
  }
  if (![...regular, ...init, ...ephemeral].includes(requested)) throw errors.badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

function nodeOf(pod: KubeObject): string {
  const node = pod.spec?.nodeName;
  if (!node) throw errors.badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
  return node;
}

function statusOf(pod: KubeObject, container: string): Record<string, any> | undefined {
  const all = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
  return all.find((s: { name: string }) => s.name === container);
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  // Go's strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw errors.badRequest(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

/* ---------- log ---------- */

async function podLog(api: ApiServer, nodes: NodeConnections, req: ApiRequest, route: ResourceRoute): Promise<ApiResponse> {
  if (req.method !== 'GET') throw errors.methodNotSupported({ group: '', resource: 'pods/log' }, req.method.toLowerCase());
  const q = req.query;
  const pod = await getPod(api, route);
  const name = pod.metadata.name!;
  const opts = {
    follow: boolParam(q, 'follow'),
    previous: boolParam(q, 'previous'),
    timestamps: boolParam(q, 'timestamps'),
    tailLines: intParam(q, 'tailLines'),
    limitBytes: intParam(q, 'limitBytes'),
    sinceSeconds: intParam(q, 'sinceSeconds'),
    sinceTime: q.get('sinceTime') || undefined,
  };
  const problems = [];
  if (opts.tailLines !== undefined && opts.tailLines < 0) problems.push(field.invalid('tailLines', opts.tailLines, 'must be greater than or equal to 0'));
  if (opts.limitBytes !== undefined && opts.limitBytes < 1) problems.push(field.invalid('limitBytes', opts.limitBytes, 'must be greater than 0'));
  if (opts.sinceSeconds !== undefined && opts.sinceTime !== undefined) problems.push(field.forbidden('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'));
  if (opts.sinceSeconds !== undefined && opts.sinceSeconds < 1) problems.push(field.invalid('sinceSeconds', opts.sinceSeconds, 'must be greater than 0'));
  if (opts.sinceTime !== undefined && Number.isNaN(Date.parse(opts.sinceTime))) throw errors.badRequest(`parsing time ${JSON.stringify(opts.sinceTime)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
  if (problems.length) throw errors.invalid({ group: '', resource: 'podlogoptions', kind: 'PodLogOptions' }, name, problems);
  const container = pickContainer(pod, q.get('container'));
  const node = nodeOf(pod);
  const st = statusOf(pod, container);
  if (opts.previous) {
    if (!st?.lastState?.terminated) throw errors.badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  } else if (!st || (st.state?.waiting && !st.lastState?.terminated)) {
    const reason = st?.state?.waiting?.reason ?? 'ContainerCreating';
    throw errors.badRequest(`container "${container}" in pod "${name}" is waiting to start: ${reason}`);
  }
  const agentQuery = new URLSearchParams();
  if (opts.follow) agentQuery.set('follow', 'true');
  if (opts.previous) agentQuery.set('previous', 'true');
  if (opts.timestamps) agentQuery.set('timestamps', 'true');
  if (opts.tailLines !== undefined) agentQuery.set('tailLines', String(opts.tailLines));
  if (opts.limitBytes !== undefined) agentQuery.set('limitBytes', String(opts.limitBytes));
  if (opts.sinceSeconds !== undefined) agentQuery.set('sinceSeconds', String(opts.sinceSeconds));
  if (opts.sinceTime !== undefined) agentQuery.set('sinceTime', new Date(opts.sinceTime).toISOString());
  const path = `/containerLogs/${encodeURIComponent(route.namespace!)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}`;
  const res = await nodes.get(node, path, agentQuery);
  if (res.statusCode !== 200) {
    const body = await readAll(res);
    throw errors.badRequest(body.trim() || `node ${node} answered ${res.statusCode}`);
  }
  const stream: ApiStream = {
    start(send, end) {
      res.on('data', (c: Buffer) => send(c));
      res.on('end', end);
      res.on('error', end);
      res.on('aborted', end);
    },
    stop() {
      res.destroy();
    },
  };
  return { status: 200, headers: { 'Content-Type': 'text/plain' }, stream };
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    res.on('data', (c: Buffer) => (s += c));
    res.on('end', () => resolve(s));
    res.on('error', () => resolve(s));
  });
}

/* ---------- upgrades ---------- */

function isWebSocket(req: http.IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

function isSpdy(req: http.IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase().startsWith('spdy/3.1');
}

/** Completes a WebSocket handshake with the protocol already chosen. */
function acceptWebSocket(u: UpgradeRequest, protocol: string): Promise<WebSocket> {
  return new Promise((resolve) => {
    const server = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: () => protocol });
    server.handleUpgrade(u.req, u.socket, u.head, (ws) => resolve(ws));
  });
}

/** Answers the SPDY upgrade and starts the session on the socket. */
function acceptSpdy(u: UpgradeRequest, protocol: string): SpdySession {
  u.socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  if (u.head.length) u.socket.unshift(u.head);
  return new SpdySession(u.socket);
}

function noProtocol(offered: string | string[] | undefined, ours: readonly string[]): ApiError {
  const list = (Array.isArray(offered) ? offered.join(',') : offered ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return errors.forbidden(podsRef, '', `unable to upgrade: unable to negotiate protocol: client supports [${list.join(' ')}], server supports [${ours.join(' ')}]`);
}

function upgradeRequired(): ApiError {
  return errors.badRequest('Upgrade request required');
}

async function remoteCommand(api: ApiServer, nodes: NodeConnections, u: UpgradeRequest, verb: 'exec' | 'attach'): Promise<void> {
  const q = u.query;
  const pod = await getPod(api, u.route);
  const name = pod.metadata.name!;
  const opts: RemoteCommandOptions = { stdin: boolParam(q, 'stdin'), stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr'), tty: boolParam(q, 'tty') };
  const command = q.getAll('command');
  if (verb === 'exec' && !command.length) throw errors.badRequest('you must specify at least 1 command');
  if (!opts.stdin && !opts.stdout && !opts.stderr) throw errors.badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (opts.tty && opts.stderr) opts.stderr = false; // merged into stdout, as upstream
  const container = pickContainer(pod, q.get('container'));
  const node = nodeOf(pod);

  // the client's transport, chosen before anything is accepted
  let accept: () => Promise<StreamSession>;
  let webSocket = false;
  if (isWebSocket(u.req)) {
    const protocol = negotiate(u.req.headers['sec-websocket-protocol'], WS_CHANNEL_PROTOCOLS);
    // a refusal (not 101) makes kubectl retry over SPDY
    if (!protocol) throw noProtocol(u.req.headers['sec-websocket-protocol'], WS_CHANNEL_PROTOCOLS);
    webSocket = true;
    accept = async () => webSocketSession(await acceptWebSocket(u, protocol), protocol, opts);
  } else if (isSpdy(u.req)) {
    const offered = u.req.headers['x-stream-protocol-version'];
    const protocol = negotiate(offered, SPDY_CHANNEL_PROTOCOLS);
    if (!protocol) throw noProtocol(offered, SPDY_CHANNEL_PROTOCOLS);
    accept = () => spdySession(acceptSpdy(u, protocol), protocol, opts);
  } else {
    throw upgradeRequired();
  }

  const phase = pod.status?.phase;
  const st = statusOf(pod, container);
  if (verb === 'attach') {
    // what the node's kubelet would answer for a container that does not run (upstream's API server checks nothing here)
    if (phase === 'Succeeded' || phase === 'Failed' || !st?.state?.running) return refuseUpgrade(u, webSocket, accept, `container ${container} not found in pod ${name}_${u.route.namespace}`);
  } else {
    if (phase === 'Succeeded' || phase === 'Failed') throw errors.badRequest(`cannot ${verb} into a container in a completed pod; current phase is ${phase}`);
    if (!st?.state?.running) throw errors.badRequest(`container not found ("${container}")`);
  }

  const agentQuery = new URLSearchParams();
  for (const c of command) agentQuery.append('command', c);
  for (const [k, v] of Object.entries(opts)) if (v) agentQuery.set(k, 'true');
  const path = `/${verb}/${encodeURIComponent(u.route.namespace!)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}`;
  // the node first: its refusal (the container has ended) is the answer to the client's upgrade, as upstream
  // relays the kubelet's; the agent's output waits (paused) until the client's session is there
  let agent: WebSocket | undefined;
  let failure: string | undefined;
  try {
    agent = await nodes.webSocket(node, path, agentQuery);
    agent.on('error', () => {});
  } catch (e) {
    if (e instanceof NodeRefusal) return refuseUpgrade(u, webSocket, accept, e.text);
    failure = (e as Error).message;
  }
  let session: StreamSession;
  try {
    session = await accept();
  } catch (e) {
    agent?.terminate();
    throw e;
  }
  if (!agent) {
    await session.finish(failureStatus(failure ?? 'the connection to the node agent was lost'));
    return;
  }
  await relay(session, agent);
}

/**
 * The node's refusal of an exec or attach, given to the client as upstream's API server gives it:
 * over SPDY the kubelet's own answer passes through (kubectl: "unable to upgrade connection: TEXT");
 * over WebSocket the stream translator, whose SPDY upgrade to the kubelet failed, reports an
 * InternalError Status on the error channel.
 */
async function refuseUpgrade(u: UpgradeRequest, webSocket: boolean, accept: () => Promise<StreamSession>, text: string): Promise<void> {
  if (webSocket) {
    const session = await accept();
    await session.finish(failureStatus(`Internal error occurred: unable to upgrade connection: ${text}`));
    return;
  }
  answerUpgradeAndClose(u.socket, 500, 'text/plain; charset=utf-8', text);
}

/** Joins the client's session to the agent's v5 WebSocket until the agent reports the end. */
function relay(session: StreamSession, agent: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    let status: StreamStatus | undefined;
    agent.on('error', () => {});
    const toAgent = (b: Buffer) => {
      if (agent.readyState === agent.OPEN) agent.send(b, { binary: true });
    };
    session.stdin?.on('data', (c: Buffer) => toAgent(channelFrame(CHANNEL.stdin, c)));
    session.stdin?.on('end', () => toAgent(Buffer.from([CHANNEL.close, CHANNEL.stdin])));
    session.stdin?.on('error', () => {});
    if (session.resize) {
      void (async () => {
        for await (const s of session.resize!) toAgent(channelFrame(CHANNEL.resize, JSON.stringify({ Width: s.width, Height: s.height })));
      })();
    }
    agent.on('message', (data: Buffer, isBinary) => {
      if (!isBinary || !data.length) return;
      const payload = Buffer.from(data.subarray(1));
      if (data[0] === CHANNEL.stdout) {
        if (session.stdout && !session.stdout.writableEnded) session.stdout.write(payload);
      } else if (data[0] === CHANNEL.stderr) {
        if (session.stderr && !session.stderr.writableEnded) session.stderr.write(payload);
      }
      else if (data[0] === CHANNEL.error) {
        try {
          status = JSON.parse(payload.toString()) as StreamStatus;
        } catch {
          status = failureStatus(payload.toString());
        }
      }
    });
    agent.on('close', () => {
      void session.finish(status ?? failureStatus('the connection to the node agent was lost')).finally(resolve);
    });
    agent.resume();
    void session.closed.then(() => {
      if (agent.readyState === agent.OPEN || agent.readyState === agent.CONNECTING) agent.close();
    });
  });
}

/* ---------- port-forward ---------- */

async function portForward(api: ApiServer, nodes: NodeConnections, u: UpgradeRequest): Promise<void> {
  const pod = await getPod(api, u.route);
  const name = pod.metadata.name!;
  const namespace = u.route.namespace!;
  const node = nodeOf(pod);
  if (pod.status?.phase !== 'Running') throw errors.badRequest(`pod ${name} is not running (phase ${pod.status?.phase ?? 'unknown'})`);
  let session: SpdySession;
  if (isWebSocket(u.req)) {
    const offered = u.req.headers['sec-websocket-protocol'];
    const channels = negotiate(offered, WS_PORT_FORWARD_CHANNEL_PROTOCOLS);
    if (channels && !negotiate(offered, [WS_TUNNELED_PORT_FORWARD_PROTOCOL])) return channelPortForward(nodes, u, node, namespace, name, channels);
    if (!negotiate(offered, [WS_TUNNELED_PORT_FORWARD_PROTOCOL])) throw noProtocol(offered, [WS_TUNNELED_PORT_FORWARD_PROTOCOL, ...WS_PORT_FORWARD_CHANNEL_PROTOCOLS]);
    const ws = await acceptWebSocket(u, WS_TUNNELED_PORT_FORWARD_PROTOCOL);
    ws.on('error', () => {});
    session = new SpdySession(createWebSocketStream(ws));
  } else if (isSpdy(u.req)) {
    const offered = u.req.headers['x-stream-protocol-version'];
    if (!negotiate(offered, [PORT_FORWARD_PROTOCOL])) throw noProtocol(offered, [PORT_FORWARD_PROTOCOL]);
    session = acceptSpdy(u, PORT_FORWARD_PROTOCOL);
  } else {
    throw upgradeRequired();
  }
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  session.on('stream', (s: SpdyStream) => {
    s.on('error', () => {});
    void s.reply().catch(() => {});
    const type = s.headers['streamtype'];
    const port = Number(s.headers['port']);
    const id = s.headers['requestid'] ?? String(s.id);
    if ((type !== 'error' && type !== 'data') || !Number.isInteger(port) || port < 1 || port > 65535) {
      s.reset();
      return;
    }
    const pair = pairs.get(id) ?? {};
    pairs.set(id, pair);
    pair[type] = s;
    if (type === 'error') s.resume();
    if (!pair.error || !pair.data) return;
    pairs.delete(id);
    const { error, data } = pair as { error: SpdyStream; data: SpdyStream };
    const q = new URLSearchParams({ port: String(port) });
    nodes.dial(node, `/portForward/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, q).then(
      (conn) => splice(data, error, conn),
      (e: Error) => {
        error.end(e.message);
        data.end();
      },
    );
  });
}

/** The kubelet's WebSocket port-forward protocols (what @kubernetes/client-node speaks). */
const WS_PORT_FORWARD_CHANNEL_PROTOCOLS = ['v4.channel.k8s.io', 'channel.k8s.io'];

/**
 * Port-forward over WebSocket channels: the ports come in the query (?ports=80,443); port i
 * has data channel 2i and error channel 2i+1, each opened by the server with the port as two
 * little-endian bytes. One connection per port for the life of the WebSocket.
 */
async function channelPortForward(nodes: NodeConnections, u: UpgradeRequest, node: string, namespace: string, name: string, protocol: string): Promise<void> {
  const ports = u.query.getAll('ports').flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean).map(Number);
  if (!ports.length) throw errors.badRequest('query parameter "port" is required');
  for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw errors.badRequest(`invalid port ${JSON.stringify(String(p))}`);
  const ws = await acceptWebSocket(u, protocol);
  ws.on('error', () => {});
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(channelFrame(channel, data), { binary: true });
  };
  const conns: Array<Duplex | undefined> = [];
  const early: Buffer[][] = ports.map(() => []);
  ports.forEach((port, i) => {
    const head = Buffer.alloc(2);
    head.writeUInt16LE(port);
    send(2 * i, head);
    send(2 * i + 1, head);
  });
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary || !data.length) return;
    const ch = data[0];
    if (ch === CHANNEL.close) {
      const i = data[1] / 2;
      conns[i]?.end();
      return;
    }
    if (ch % 2 !== 0 || ch / 2 >= ports.length) return;
    const i = ch / 2;
    const payload = Buffer.from(data.subarray(1));
    if (conns[i]) conns[i]!.write(payload);
    else early[i].push(payload);
  });
  ws.on('close', () => conns.forEach((c) => c?.destroy()));
  ports.forEach((port, i) => {
    nodes.dial(node, `/portForward/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, new URLSearchParams({ port: String(port) })).then(
      (conn) => {
        conns[i] = conn;
        conn.on('error', () => {});
        for (const b of early[i].splice(0)) conn.write(b);
        conn.on('data', (c: Buffer) => send(2 * i, c));
        conn.on('close', () => {
          if (conns.every((c) => c?.destroyed)) ws.close(1000);
        });
      },
      (e: Error) => {
        send(2 * i + 1, e.message);
        ws.close(1000);
      },
    );
  });
}

function splice(data: SpdyStream, error: SpdyStream, conn: Duplex): void {
  conn.on('error', () => {});
  data.pipe(conn);
  conn.pipe(data);
  conn.on('close', () => {
    if (!data.writableEnded) data.end();
    if (!error.writableEnded) error.end();
  });
  data.on('close', () => conn.destroy());
}
