// The HTTP(S) front end: authentication, body parsing and limits, response encoding
// (JSON, text, bytes, chunked watch streams, Warning headers). All API semantics live in
// the handler; this file only translates.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import yaml from 'js-yaml';
import { errors } from '../api/errors.js';
import { CONTENT, type ApiHandler, type ApiRequest, type ApiResponse, type UserInfo, type WatchEvent } from '../api/request.js';
import { errorResponse } from './handler.js';
import { unsharedBodies } from './resource-storage.js';
import { decodeKubernetesProtobuf } from './protobuf.js';

export type Authenticator = (req: http.IncomingMessage) => UserInfo | undefined;

export interface HttpServerOptions {
  handler: ApiHandler;
  /** omit for plain HTTP (tests only: kubectl sends no token over http) */
  tls?: { cert: string; key: string; ca?: string };
  authenticate: Authenticator;
  host?: string;
  port?: number;
  /** hook for upgrade requests (exec, attach, port-forward, proxy websockets) */
  onUpgrade?: (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer, user: UserInfo) => void;
  /** takes a request as it is, body unread (the proxy subresources); answers false to leave it to the handler */
  onRawRequest?: (req: http.IncomingMessage, res: http.ServerResponse, user: UserInfo) => boolean;
}

export interface RunningHttpServer {
  server: http.Server;
  host: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

const BODY_LIMIT = 3 * 1024 * 1024;
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

/** A bearer-token authenticator over a fixed token table. */
export function tokenAuthenticator(tokens: Map<string, UserInfo>): Authenticator {
  return (req) => {
    const h = req.headers.authorization;
    if (h && h.startsWith('Bearer ')) {
      const user = tokens.get(h.slice(7).trim());
      if (user) return user;
    }
    const sock = req.socket as TLSSocket;
    if (typeof sock.getPeerCertificate === 'function' && sock.authorized) {
      const cert = sock.getPeerCertificate();
      const cn = cert?.subject?.CN;
      if (cn) {
        const o = cert.subject.O;
        return { name: Array.isArray(cn) ? cn[0] : cn, groups: Array.isArray(o) ? o : o ? [o] : [] };
      }
    }
    return undefined;
  };
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handleHttp(opts, req, res).catch((e) => {
      if (!res.headersSent) send(res, errorResponse(e));
      else res.destroy();
    });
  };
  const server = opts.tls
    ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: !!opts.tls.ca, rejectUnauthorized: false }, onRequest)
    : http.createServer(onRequest);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.requestTimeout = 0; // watches and logs stream for a long time
  if (opts.onUpgrade) {
    const onUpgrade = opts.onUpgrade;
    server.on('upgrade', (req: http.IncomingMessage, socket, head) => {
      const user = opts.authenticate(req);
      if (!user) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' + JSON.stringify(errors.unauthorized().toStatus()));
        return;
      }
      onUpgrade(req, socket, head, user);
    });
  }
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.address;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    host,
    port: addr.port,
    url: `${opts.tls ? 'https' : 'http'}://${hostForUrl}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function handleHttp(opts: HttpServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { path, query } = splitTarget(req.url ?? '/');
  const user = opts.authenticate(req);
  if (!user && !PUBLIC_PATHS.has(path)) {
    req.resume();
    send(res, errorResponse(errors.unauthorized()));
    return;
  }
  if (user && opts.onRawRequest?.(req, res, user)) return;
  const raw = hasBody(req) ? await readBody(req) : NO_BODY;
  if (raw === 'too-large') {
    send(res, errorResponse(errors.requestEntityTooLarge(`limit is ${BODY_LIMIT}`)));
    return;
  }
  const headers: Record<string, string | undefined> = {};
  for (const k in req.headers) {
    const v = req.headers[k];
    headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  let body: unknown;
  try {
    body = raw.length ? parseBody(raw, headers['content-type'] ?? '') : undefined;
  } catch (e) {
    send(res, errorResponse(e));
    return;
  }
  const apiReq: ApiRequest = {
    method: (req.method ?? 'GET').toUpperCase() as ApiRequest['method'],
    path,
    query,
    headers,
    body,
    bodyBytes: raw.length,
    user,
  };
  const out = await opts.handler(apiReq);
  if (out.stream) {
    streamResponse(req, res, out);
    return;
  }
  send(res, out);
}

// Targets made only of these characters (no dot segments, no "//", no percent-escapes, no
// fragment) are what the WHATWG URL parser would return unchanged, so it need not run.
const PLAIN_TARGET = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\/?(?:\?[A-Za-z0-9._~=&,:/-]*)?$/;

function splitTarget(target: string): { path: string; query: URLSearchParams } {
  if (PLAIN_TARGET.test(target)) {
    const q = target.indexOf('?');
    return q < 0 ? { path: target, query: new URLSearchParams() } : { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
  }
  const url = new URL(target, 'http://x');
  return { path: url.pathname, query: url.searchParams };
}

const NO_BODY = Buffer.alloc(0);

/** A request has a body only when it announces one (RFC 9112 section 6.3). */
function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function readBody(req: http.IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      if (!tooLarge) chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(raw: Buffer, contentType: string): unknown {
  const ct = contentType.split(';')[0].trim().toLowerCase();
  const text = raw.toString('utf8');
  if (ct === CONTENT.jsonPatch || ct === CONTENT.mergePatch || ct === CONTENT.strategicPatch) return text;
  // client-go's typed clients (kubectl create configmap/secret/namespace/...) send protobuf
  if (ct === CONTENT.protobuf) return decodeKubernetesProtobuf(raw);
  if (ct === CONTENT.yaml || ct === 'application/x-yaml' || ct === 'text/yaml' || ct === CONTENT.applyPatch) {
    try {
      return yaml.load(text);
    } catch (e) {
      throw errors.badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
  }
  try {
    const parsed: unknown = JSON.parse(text);
    // plain JSON values, held by nothing else: storage may use them as they are
    if (typeof parsed === 'object' && parsed !== null) unsharedBodies.add(parsed);
    return parsed;
  } catch (e) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

/** A watch event's line framed as one HTTP chunk, and where the line lies inside the frame. */
interface EventFrame {
  frame: Buffer;
  lineStart: number;
  lineEnd: number;
}

// Built once per object and event type, however many watchers receive it.
const eventFrames = new WeakMap<object, Map<string, EventFrame>>();

function eventFrame(ev: WatchEvent): EventFrame {
  let byType = eventFrames.get(ev.object);
  if (!byType) eventFrames.set(ev.object, (byType = new Map()));
  let f = byType.get(ev.type);
  if (!f) {
    const line = `{"type":"${ev.type}","object":${JSON.stringify(ev.object)}}\n`;
    const length = Buffer.byteLength(line);
    const head = `${length.toString(16)}\r\n`;
    f = { frame: Buffer.from(`${head}${line}\r\n`), lineStart: head.length, lineEnd: head.length + length };
    byType.set(ev.type, f);
  }
  return f;
}

const CRLF = Buffer.from('\r\n', 'latin1');

function chunkFrame(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, CRLF]);
}

function warningHeaders(res: http.ServerResponse, warnings: string[] | undefined): void {
  if (!warnings?.length) return;
  res.setHeader(
    'Warning',
    warnings.map((w) => `299 - "${w.replace(/["\\]/g, (c) => '\\' + c)}"`),
  );
}

function send(res: http.ServerResponse, out: ApiResponse): void {
  const body = out.body;
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : body === undefined ? '' : JSON.stringify(body);
  warningHeaders(res, out.warnings);
  res.writeHead(out.status, { 'Content-Type': 'application/json', ...out.headers, 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

function streamResponse(req: http.IncomingMessage, res: http.ServerResponse, out: ApiResponse): void {
  const stream = out.stream!;
  res.writeHead(out.status, { 'Content-Type': 'application/json', ...(out.headers ?? {}), 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  // With the headers out and the connection this response's own (not queued behind another
  // response), chunks go straight to the socket already framed, without ServerResponse's
  // per-chunk cork, framing and re-encoding, and with the same bytes for every watcher of an
  // event. A committed batch arrives as several chunks in one tick: the first leaves at once,
  // the rest are held back and leave together when the tick ends.
  const socket = res.socket && res.chunkedEncoding ? res.socket : undefined;
  let inTick = false;
  let corked = false;
  const endTick = () => {
    inTick = false;
    if (corked) {
      corked = false;
      socket!.uncork();
    }
  };
  const write = (framed: Buffer) => {
    if (!inTick) {
      inTick = true;
      process.nextTick(endTick);
    } else if (!corked) {
      corked = true;
      socket!.cork();
    }
    socket!.write(framed);
  };
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    stream.stop();
  };
  req.socket.on('close', close);
  res.on('close', close);
  stream.start(
    (chunk) => {
      if (closed) return;
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) {
        const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (!data.length) return; // an empty chunk would end the response
        if (socket) write(chunkFrame(data));
        else res.write(data);
        return;
      }
      const f = eventFrame(chunk);
      if (socket) write(f.frame);
      else res.write(f.frame.subarray(f.lineStart, f.lineEnd));
    },
    () => {
      if (closed) return;
      closed = true;
      res.end();
    },
  );
}
