// The node agent's own server, as a kubelet's: the API server connects here for a pod's
// logs, exec, attach and port-forward (it finds the address in the Node's status.addresses
// and the port in status.daemonEndpoints.kubeletEndpoint.Port). Requests must carry the
// bearer token the API server was given for its node connections.
//
//   GET  /healthz
//   GET  /stats/summary   (CPU and memory usage of the node and its pods, as the kubelet's Summary API)
//   GET  /containerLogs/{ns}/{pod}/{container}?follow&tailLines&sinceTime&sinceSeconds&timestamps&previous&limitBytes
//   WS   /exec/{ns}/{pod}/{container}?command=...&stdin&stdout&stderr&tty   (v5.channel.k8s.io)
//   WS   /attach/{ns}/{pod}/{container}?stdin&stdout&stderr&tty             (v5.channel.k8s.io)
//   UPGRADE /portForward/{ns}/{pod}?port=N   (Upgrade: tcp; after 101 the socket is the connection to the pod's port)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CHANNEL,
  channelFrame,
  exitCodeStatus,
  failureStatus,
  parseTerminalSize,
  successStatus,
  type StreamStatus,
  type TerminalSize,
} from '../../api/stream-protocol.js';
import { ContainerNotRunningError, type ContainerRuntime, type LogLine, type LogOptions } from '../runtime/runtime.js';
import type { Summary } from '../stats.js';

/** What the server needs from its agent. */
export interface KubeletServerHost {
  readonly runtime: ContainerRuntime;
  /** the runtime's id of a container's current (or previous) instance; throws a message for the user when there is none */
  containerId(namespace: string, pod: string, container: string, previous?: boolean): string;
  /** the pod's sandbox; throws a message for the user when it has none */
  sandboxId(namespace: string, pod: string): Promise<string>;
  /** the node's and its pods' resource usage */
  usageSummary(): Summary;
}

export interface KubeletServerOptions {
  /** the node's address (its InternalIP) */
  host: string;
  /** default 0: the OS picks */
  port?: number;
  /** the bearer token callers must present */
  token: string;
}

export interface RunningKubeletServer {
  port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(agent: KubeletServerHost, opts: KubeletServerOptions): Promise<RunningKubeletServer> {
  const expected = Buffer.from(`Bearer ${opts.token}`);
  const authorized = (req: http.IncomingMessage) => {
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => (p.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : false) });
  const server = http.createServer((req, res) => {
    if (!authorized(req)) {
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('Unauthorized\n');
      return;
    }
    const target = parseTarget(req.url);
    if (!target) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('malformed request path\n');
      return;
    }
    const { url, parts } = target;
    if (req.method === 'GET' && url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method === 'GET' && url.pathname === '/stats/summary') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(agent.usageSummary()));
      return;
    }
    if (req.method === 'GET' && parts[0] === 'containerLogs' && parts.length === 4) {
      void serveLogs(agent, parts[1], parts[2], parts[3], url.searchParams, req, res);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`404 page not found: ${url.pathname}\n`);
  });
  server.requestTimeout = 0;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    if (!authorized(req)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const target = parseTarget(req.url);
    if (!target) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const { url, parts } = target;
    if ((parts[0] === 'exec' || parts[0] === 'attach') && parts.length === 4) {
      const refusal = parts[0] === 'attach' ? attachRefusal(agent, parts[1], parts[2], parts[3]) : undefined;
      if (refusal) {
        // before the upgrade, as a kubelet answers: kubectl shows "unable to upgrade connection: <text>" and, in run, reads the logs
        return answerAndClose(socket, 500, refusal);
      }
      wss.handleUpgrade(req, socket, head, (ws) => void serveRemoteCommand(agent, parts[0] as 'exec' | 'attach', parts[1], parts[2], parts[3], url.searchParams, ws));
      return;
    }
    if (parts[0] === 'portForward' && parts.length === 3) {
      void servePortForward(agent, parts[1], parts[2], url.searchParams, socket, head);
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const ws of wss.clients) ws.terminate();
        for (const s of sockets) s.destroy();
      }),
  };
}

/** A plain-text error answer on a connection that asked for an upgrade, which then closes. */
function answerAndClose(socket: Duplex, code: number, message: string): void {
  socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
}

/** The kubelet's words for an attach to a container that does not run (not started, or ended). */
export function attachNotFound(ns: string, pod: string, container: string): string {
  return `container ${container} not found in pod ${pod}_${ns}`;
}

/** Why an attach cannot start (the container has no running instance), or undefined. */
function attachRefusal(agent: KubeletServerHost, ns: string, pod: string, container: string): string | undefined {
  try {
    const id = agent.containerId(ns, pod, container);
    if (agent.runtime.running && !agent.runtime.running(id)) return attachNotFound(ns, pod, container);
  } catch {
    return attachNotFound(ns, pod, container);
  }
  return undefined;
}

/** The request target's URL and decoded path segments; undefined when it cannot be decoded. */
function parseTarget(target: string | undefined): { url: URL; parts: string[] } | undefined {
  try {
    const url = new URL(target ?? '/', 'http://x');
    return { url, parts: url.pathname.split('/').filter(Boolean).map(decodeURIComponent) };
  } catch {
    return undefined;
  }
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

/** RFC 3339 with nanoseconds, as the kubelet prefixes lines with --timestamps. */
function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

async function serveLogs(agent: KubeletServerHost, ns: string, pod: string, container: string, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let lines: AsyncIterable<LogLine>;
  const opts: LogOptions = { follow: flag(q, 'follow') };
  if (q.has('tailLines')) opts.tailLines = Number(q.get('tailLines'));
  if (q.has('sinceTime')) opts.since = new Date(q.get('sinceTime')!);
  else if (q.has('sinceSeconds')) opts.since = new Date(Date.now() - Number(q.get('sinceSeconds')) * 1000);
  const timestamps = flag(q, 'timestamps');
  let remaining = q.has('limitBytes') ? Number(q.get('limitBytes')) : Infinity;
  try {
    const id = agent.containerId(ns, pod, container, flag(q, 'previous'));
    lines = agent.runtime.logs(id, opts);
  } catch (e) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end((e as Error).message);
    return;
  }
  let gone = false;
  req.socket.on('close', () => (gone = true));
  const it = lines[Symbol.asyncIterator]();
  let first = true;
  try {
    for (;;) {
      const next = await it.next();
      if (first) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.flushHeaders();
        first = false;
      }
      if (next.done || gone) break;
      const l = next.value;
      let text = `${timestamps ? rfc3339Nano(l.time) + ' ' : ''}${l.text}\n`;
      if (Buffer.byteLength(text) > remaining) text = Buffer.from(text).subarray(0, remaining).toString();
      remaining -= Buffer.byteLength(text);
      res.write(text);
      if (remaining <= 0) break;
    }
    await it.return?.();
  } catch (e) {
    if (first) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end((e as Error).message);
      return;
    }
  }
  res.end();
}

class Queue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake?: () => void;
  private ended = false;
  push(v: T): void {
    this.items.push(v);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length) yield this.items.shift()!;
      else if (this.ended) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
}

async function serveRemoteCommand(
  agent: KubeletServerHost,
  verb: 'exec' | 'attach',
  ns: string,
  pod: string,
  container: string,
  q: URLSearchParams,
  ws: WebSocket,
): Promise<void> {
  const tty = flag(q, 'tty');
  const stdin = flag(q, 'stdin') ? new PassThrough() : undefined;
  const resize = tty ? new Queue<TerminalSize>() : undefined;
  const writer = (channel: number) => {
    const w = new Writable({
      write(chunk: Buffer, _e, cb) {
        if (ws.readyState !== ws.OPEN) return cb();
        ws.send(channelFrame(channel, chunk), { binary: true }, () => cb());
      },
    });
    // a runtime writing after the session ended must not take the agent down
    w.on('error', () => {});
    return w;
  };
  stdin?.on('error', () => {});
  ws.on('error', () => {});
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary || !data.length) return;
    if (data[0] === CHANNEL.stdin) {
      if (stdin && !stdin.writableEnded) stdin.write(Buffer.from(data.subarray(1)));
    }
    else if (data[0] === CHANNEL.resize) {
      const s = parseTerminalSize(data.subarray(1).toString());
      if (s) resize?.push(s);
    } else if (data[0] === CHANNEL.close && data[1] === CHANNEL.stdin && stdin && !stdin.writableEnded) stdin.end();
  });
  ws.on('close', () => {
    if (stdin && !stdin.writableEnded) stdin.end();
    resize?.end();
  });
  const stdout = flag(q, 'stdout') ? writer(CHANNEL.stdout) : undefined;
  const stderr = flag(q, 'stderr') && !tty ? writer(CHANNEL.stderr) : undefined;
  let status: StreamStatus;
  try {
    const id = agent.containerId(ns, pod, container);
    const streams = { tty, stdin, stdout, stderr, resize };
    if (verb === 'exec') {
      const command = q.getAll('command');
      const r = await agent.runtime.exec(id, { ...streams, command });
      status = r.exitCode === 0 ? successStatus() : exitCodeStatus(r.exitCode, command);
      if (r.exitCode !== 0 && r.message) status.message = r.message;
    } else {
      await agent.runtime.attach(id, streams);
      status = successStatus();
    }
  } catch (e) {
    // the container ended between the check before the upgrade and the attach
    status = failureStatus(e instanceof ContainerNotRunningError ? attachNotFound(ns, pod, container) : (e as Error).message);
  }
  // what the command wrote goes out before the status
  await Promise.all([stdout, stderr].map((w) => w && new Promise<void>((r) => w.end(r))));
  resize?.end();
  if (ws.readyState === ws.OPEN) {
    await new Promise<void>((r) => ws.send(channelFrame(CHANNEL.error, JSON.stringify(status)), { binary: true }, () => r()));
    ws.close(1000);
  }
}

async function servePortForward(agent: KubeletServerHost, ns: string, pod: string, q: URLSearchParams, socket: Duplex, head: Buffer): Promise<void> {
  const port = Number(q.get('port'));
  const fail = (code: number, message: string): void => answerAndClose(socket, code, message);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return void fail(400, `invalid port ${JSON.stringify(q.get('port'))}`);
  let conn: Duplex;
  try {
    conn = await agent.runtime.portForward(await agent.sandboxId(ns, pod), port);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return fail(500, `error forwarding port ${port} to pod ${pod}: ${err.message}`);
  }
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n');
  if (head.length) conn.write(head);
  conn.on('error', () => socket.destroy());
  socket.on('error', () => conn.destroy());
  socket.pipe(conn);
  conn.pipe(socket);
  socket.on('close', () => conn.destroy());
  conn.on('close', () => socket.destroy());
}
