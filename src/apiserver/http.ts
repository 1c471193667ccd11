// The HTTP(S) front end: authentication, body parsing and limits, response encoding
// (JSON, text, bytes, chunked watch streams, Warning headers), connection handling
// (pipelining, timeouts, plain HTTP on the TLS port, graceful shutdown). All API semantics
// live in the handler; this file only translates.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { errors } from '../api/errors.js';
import { CONTENT, type ApiHandler, type ApiRequest, type ApiResponse, type UserInfo, type WatchEvent } from '../api/request.js';
import { errorResponse } from './handler.js';
import { decodeRequestBody } from './decode.js';
import { requestAttributes } from './authz/attributes.js';

export type Authenticator = (req: http.IncomingMessage) => UserInfo | undefined | Promise<UserInfo | undefined>;

/** Handles an HTTP upgrade (exec, attach, port-forward, proxy websockets) of an authenticated user. */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer, user: UserInfo) => void;

export interface HttpTimeouts {
  /** non-long-running requests end with 504 after this long (kube-apiserver's --request-timeout, 60 s) */
  requestMs?: number;
  /** a client must send its request headers within this (kube-apiserver's ReadHeaderTimeout, 32 s) */
  headersMs?: number;
  /** idle keep-alive connections are closed after this (kube-apiserver's IdleTimeout, 90 s) */
  idleMs?: number;
  /** on close, connections still busy after this are cut (in-flight requests and streams end cleanly first) */
  shutdownGraceMs?: number;
}

export interface HttpServerOptions {
  handler: ApiHandler;
  /** omit for plain HTTP (tests only: kubectl sends no token over http) */
  tls?: { cert: string; key: string; ca?: string };
  authenticate: Authenticator;
  host?: string;
  port?: number;
  /** hook for upgrade requests (exec, attach, port-forward, proxy websockets) */
  onUpgrade?: UpgradeHandler;
  timeouts?: HttpTimeouts;
  /**
   * kube-apiserver's audit log backend at level Metadata: one audit.k8s.io/v1 Event per
   * request once its answer is complete (with admission's audit annotations)
   */
  audit?: (event: Record<string, unknown>) => void;
  /** open watches one user may hold at once; more are answered 429 (default 1000) */
  maxWatchesPerUser?: number;
  /** requests other than watches and streams one user may have in flight; more are answered 429 (default 400) */
  maxRequestsInFlightPerUser?: number;
  /** takes a request with its body read but not parsed (the proxy subresources); answers false to leave it to the handler */
  onRawRequest?: (req: http.IncomingMessage, res: http.ServerResponse, user: UserInfo, body: Buffer) => boolean;
}

export interface RunningHttpServer {
  server: http.Server;
  host: string;
  port: number;
  url: string;
  /** adds or replaces the upgrade hook after start */
  setUpgradeHandler(h: UpgradeHandler | undefined): void;
  /** Stops accepting, ends watch streams with their chunked terminator, lets in-flight requests answer, then closes. */
  close(): Promise<void>;
}

const BODY_LIMIT = 3 * 1024 * 1024;
/** requests of one connection whose bodies are read ahead of their turn */
const MAX_BODIES_AHEAD = 8;
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

export const DEFAULT_TIMEOUTS: Required<HttpTimeouts> = {
  requestMs: 60_000,
  headersMs: 32_000,
  idleMs: 90_000,
  shutdownGraceMs: 10_000,
};

/** Go's answer to plain HTTP on a TLS port (net/http's server, for a record header that looks like HTTP). */
const PLAIN_HTTP_ANSWER = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
const HTTP_METHOD_STARTS = ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO'];

/** Finds the user a bearer token belongs to (a fixed table, ServiceAccount JWTs); undefined for an unknown token. */
export type TokenAuthenticator = (token: string) => UserInfo | undefined | Promise<UserInfo | undefined>;

const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/**
 * Kubernetes' request authentication, in upstream's order: a client certificate verified by the
 * CA (user = CN, groups = O) wins, whatever Authorization header comes with it; then the
 * bearer token (scheme case-insensitive, `Bearer <token>` split on single spaces, so an empty
 * token is refused); then, on WebSocket upgrades, a token in the
 * `base64url.bearer.authorization.k8s.io.` subprotocol. Every authenticated user also gets
 * the group system:authenticated.
 */
export function requestAuthenticator(tokens: TokenAuthenticator | Map<string, UserInfo>): Authenticator {
  const byToken: TokenAuthenticator = tokens instanceof Map ? (t) => tokens.get(t) : tokens;
  return async (req) => {
    const fromCert = certificateUser(req);
    if (fromCert) return withAuthenticated(fromCert);
    const token = bearerToken(req.headers.authorization) ?? websocketToken(req);
    if (!token) return undefined;
    const user = await byToken(token);
    return user ? withAuthenticated(user) : undefined;
  };
}

/** The earlier name of requestAuthenticator over a fixed token table. */
export function tokenAuthenticator(tokens: Map<string, UserInfo>): Authenticator {
  return requestAuthenticator(tokens);
}

function withAuthenticated(u: UserInfo): UserInfo {
  return u.groups.includes('system:authenticated') || u.groups.includes('system:unauthenticated') ? u : { ...u, groups: [...u.groups, 'system:authenticated'] };
}

/** upstream's bearertoken: SplitN(header, " ", 3), scheme compared in lower case, an empty token is invalid */
function bearerToken(header: string | undefined): string | undefined {
  const auth = (header ?? '').trim();
  if (!auth) return undefined;
  const parts = auth.split(' ');
  if (parts.length < 2 || parts[0].toLowerCase() !== 'bearer') return undefined;
  return parts[1]; // '' (two spaces) is no token at all: the request stays unauthenticated
}

const WS_TOKEN_PREFIX = 'base64url.bearer.authorization.k8s.io.';
function websocketToken(req: http.IncomingMessage): string | undefined {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return undefined;
  for (const p of String(req.headers['sec-websocket-protocol'] ?? '').split(',')) {
    const v = p.trim();
    if (!v.startsWith(WS_TOKEN_PREFIX)) continue;
    const encoded = v.slice(WS_TOKEN_PREFIX.length);
    if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return undefined;
    return Buffer.from(encoded, 'base64url').toString('utf8') || undefined;
  }
  return undefined;
}

function certificateUser(req: http.IncomingMessage): UserInfo | undefined {
  const sock = req.socket as TLSSocket;
  if (typeof sock.getPeerCertificate !== 'function' || !sock.authorized) return undefined;
  const cert = sock.getPeerCertificate();
  if (!cert?.subject) return undefined;
  // as upstream's x509 authenticator, the certificate is checked at every request, not only at
  // the handshake: a connection kept alive past its client certificate's notAfter is no longer that user
  const now = Date.now();
  if (!(Date.parse(cert.valid_to) >= now) || !(Date.parse(cert.valid_from) <= now)) return undefined;
  // Go verifies the chain with KeyUsages [ClientAuth]: a certificate limited to other uses is no client's
  const eku = (cert as { ext_key_usage?: string[] }).ext_key_usage;
  if (eku && eku.length && !eku.includes(CLIENT_AUTH_EKU) && !eku.includes(ANY_EKU)) return undefined;
  const cn = cert.subject.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (!name) return undefined;
  const o = cert.subject.O;
  return { name, groups: Array.isArray(o) ? [...o] : o ? [o] : [] };
}

/** What the front end knows of one connection. */
interface Conn {
  socket: net.Socket;
  /** the answer to the last request received; the next one waits for it (HTTP/1.1 answers in order) */
  lane: Promise<void>;
  /** requests received and not yet answered */
  pending: number;
  /** a request whose body is still arriving (so a request timeout is answered with a Status) */
  receiving?: http.IncomingMessage;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const conns = new Map<net.Socket, Conn>();
  const streams = new Set<() => void>();
  let closing = false;
  let upgradeHandler = opts.onUpgrade;

  const connOf = (socket: net.Socket): Conn => {
    let c = conns.get(socket);
    if (!c) {
      conns.set(socket, (c = { socket, lane: Promise.resolve(), pending: 0 }));
      socket.once('close', () => conns.delete(socket));
    }
    return c;
  };

  // Node answers pipelined requests in order by holding later answers in memory, and once
  // they pass the socket's high-water mark it pauses its parser in the middle of a body,
  // which then fails with HPE_PAUSED and resets the connection. So each connection's
  // requests are answered one after another, as Go's server does: a request's body is read
  // as soon as it arrives, and its answer is written only when the previous one is finished.
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const conn = connOf(req.socket);
    conn.pending++;
    // A client that queues many requests has the later bodies read only in their turn, so
    // one connection cannot make the server hold more than a few bodies at once.
    let body: Promise<Buffer | 'too-large'> | undefined;
    if (!hasBody(req)) body = Promise.resolve(NO_BODY);
    else if (conn.pending <= MAX_BODIES_AHEAD) body = readBody(req, conn);
    body?.catch(() => {}); // read errors are answered in turn
    const turn = conn.lane.then(async () => {
      body ??= readBody(req, conn);
      try {
        if (closing) res.setHeader('Connection', 'close');
        await handleHttp(opts, timeouts, req, res, body, streams, () => closing);
      } catch (e) {
        if (!res.headersSent && !res.destroyed) send(res, errorResponse(e));
        else res.destroy();
      }
      await finished(res);
    });
    conn.lane = turn.finally(() => {
      conn.pending--;
      if (closing && conn.pending === 0) conn.socket.end();
    });
  };

  const tlsServer = opts.tls
    ? https.createServer(
        {
          cert: opts.tls.cert,
          key: opts.tls.key,
          ca: opts.tls.ca,
          requestCert: !!opts.tls.ca,
          rejectUnauthorized: false,
          connectionsCheckingInterval: checkingInterval(timeouts),
        },
        onRequest,
      )
    : undefined;
  const server = tlsServer ?? http.createServer({ connectionsCheckingInterval: checkingInterval(timeouts) }, onRequest);
  server.keepAliveTimeout = timeouts.idleMs;
  // Node's requestTimeout covers receiving the whole request (headers and body), not the
  // answer: watches and logs stream on after it. The handler's own deadline is applied below.
  server.requestTimeout = timeouts.requestMs;
  server.headersTimeout = Math.min(timeouts.headersMs, timeouts.requestMs);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, conns.get(socket as net.Socket)));
  server.on('upgrade', async (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const user = await Promise.resolve(opts.authenticate(req)).catch(() => undefined);
    if (!user) {
      socket.end(rawResponse(401, 'Unauthorized', errors.unauthorized().toStatus()));
      return;
    }
    if (!upgradeHandler) {
      socket.end(rawResponse(400, 'Bad Request', errors.badRequest('the server does not allow upgrading this request').toStatus()));
      return;
    }
    upgradeHandler(req, socket, head, user);
  });

  // every accepted TCP connection, and the ones that speak HTTP (TLS sockets for https)
  const rawSockets = new Set<net.Socket>();
  const sockets = new Set<net.Socket>();
  const trackIn = (set: Set<net.Socket>) => (s: net.Socket) => {
    set.add(s);
    s.once('close', () => set.delete(s));
  };
  const track = trackIn(rawSockets);
  server.on(tlsServer ? 'secureConnection' : 'connection', trackIn(sockets));
  server.on('connection', track);
  if (tlsServer) {
    // A connection's first bytes decide: a TLS handshake goes on to the TLS layer, plain HTTP
    // gets Go's 400 answer. (The TLS server's own connection listener is called by the sniffer.)
    const tlsListeners = tlsServer.listeners('connection').filter((l) => l !== track) as Array<(s: net.Socket) => void>;
    for (const l of tlsListeners) tlsServer.off('connection', l);
    tlsServer.on('connection', (s: net.Socket) => sniffTls(s, () => {
      for (const l of tlsListeners) l.call(tlsServer, s);
    }));
  }
  const listener = server;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const addr = listener.address() as net.AddressInfo;
  const host = addr.address;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    host,
    port: addr.port,
    url: `${opts.tls ? 'https' : 'http'}://${hostForUrl}:${addr.port}`,
    setUpgradeHandler: (h) => {
      upgradeHandler = h;
    },
    close: async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const end of [...streams]) end();
      for (const s of sockets) {
        const c = conns.get(s);
        if (!c || c.pending === 0) s.end();
      }
      if (rawSockets.size) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...rawSockets].map((s) => new Promise((r) => (s.destroyed ? r(undefined) : s.once('close', r))))),
          new Promise((r) => (timer = setTimeout(r, timeouts.shutdownGraceMs))),
        ]);
        clearTimeout(timer);
        for (const s of rawSockets) s.destroy();
      }
      await stopped;
    },
  };
}

function checkingInterval(t: Required<HttpTimeouts>): number {
  return Math.max(20, Math.min(30_000, Math.floor(Math.min(t.requestMs, t.headersMs) / 4)));
}

/** Hands TLS on; answers plain HTTP as Go does; drops anything else. */
function sniffTls(s: net.Socket, toTls: () => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    seen = seen.length ? Buffer.concat([seen, d]) : d;
    if (seen[0] === 0x16) {
      done();
      s.unshift(seen);
      toTls();
      return;
    }
    if (seen.length < 5) return;
    done();
    const start = seen.subarray(0, 5).toString('latin1');
    if (HTTP_METHOD_STARTS.includes(start)) s.end(PLAIN_HTTP_ANSWER);
    else s.destroy();
  };
  const onTimeout = () => s.destroy();
  const done = () => {
    s.off('data', onData);
    s.off('error', onError);
    s.setTimeout(0);
    s.off('timeout', onTimeout);
    s.pause();
  };
  const onError = () => s.destroy();
  s.on('data', onData);
  s.on('error', onError);
  // a client that connects and says nothing is cut off like one that sends no headers
  s.setTimeout(60_000);
  s.on('timeout', onTimeout);
}

function rawResponse(code: number, reason: string, body: unknown): string {
  const text = JSON.stringify(body);
  return `HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}

/** Malformed requests and slow clients: the connection ends with an answer where there is one to give. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, conn: Conn | undefined): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    // A body that does not arrive in time gets upstream's timeout Status; a client that never
    // finished its headers is simply disconnected, as Go's ReadHeaderTimeout does.
    const answering = conn?.receiving;
    if (answering && !(answering.socket as any)?._httpMessage?.headersSent) {
      socket.end(rawResponse(504, 'Gateway Timeout', errors.timeout('request did not complete within requested timeout - context deadline exceeded').toStatus()));
    } else socket.destroy();
    return;
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large');
    return;
  }
  socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
}

function finished(res: http.ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      resolve();
    };
    res.on('finish', done);
    res.on('close', done);
  });
}

/** what the audit event of a request needs from its handling */
interface Seen {
  user?: UserInfo;
  annotations: Record<string, string>;
  /** a created object's name, from the body (upstream's LogRequestObject) */
  createdName?: string;
}

/** open watch streams and requests in flight per user, per server */
const openWatches = new WeakMap<HttpServerOptions, Map<string, number>>();
const DEFAULT_MAX_WATCHES_PER_USER = 1000;
/** kube-apiserver's --max-requests-inflight default, here for each user */
const DEFAULT_MAX_REQUESTS_PER_USER = 400;

/** upstream's audit ID header and audit event around each request */
async function handleHttp(
  opts: HttpServerOptions,
  timeouts: Required<HttpTimeouts>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  bodyRead: Promise<Buffer | 'too-large'>,
  streams: Set<() => void>,
  isClosing: () => boolean,
): Promise<void> {
  const received = new Date();
  const auditID = randomUUID();
  res.setHeader('Audit-Id', auditID);
  const seen: Seen = { annotations: {} };
  try {
    await handleHttpRequest(opts, timeouts, req, res, bodyRead, streams, isClosing, seen);
  } finally {
    if (opts.audit) {
      try {
        opts.audit(auditEvent(req, res, auditID, received, seen));
      } catch {
        // a failing audit backend does not fail the request (upstream's log backend drops too)
      }
    }
  }
}

/** an audit.k8s.io/v1 Event at level Metadata, stage ResponseComplete */
function auditEvent(req: http.IncomingMessage, res: http.ServerResponse, auditID: string, received: Date, seen: Seen): Record<string, unknown> {
  const { user, annotations } = seen;
  const { path, query } = splitTarget(req.url ?? '/');
  const method = req.method ?? 'GET';
  const a = requestAttributes(user ?? { name: 'system:anonymous', groups: ['system:unauthenticated'] }, method, path, query);
  const event: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID,
    stage: 'ResponseComplete',
    requestURI: req.url ?? '/',
    verb: a.verb,
    user: user ? { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) } : {},
    sourceIPs: [req.socket.remoteAddress ?? ''],
    ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
  };
  if (a.resourceRequest) {
    event.objectRef = {
      resource: a.resource,
      ...(a.namespace ? { namespace: a.namespace } : {}),
      ...(a.name || seen.createdName ? { name: a.name || seen.createdName } : {}),
      ...(a.apiGroup ? { apiGroup: a.apiGroup } : {}),
      apiVersion: a.apiVersion,
      ...(a.subresource ? { subresource: a.subresource } : {}),
    };
  }
  const code = res.statusCode;
  event.responseStatus = { metadata: {}, ...(code >= 400 ? { status: 'Failure' } : {}), code };
  event.requestReceivedTimestamp = received.toISOString().replace(/Z$/, '000Z');
  event.stageTimestamp = new Date().toISOString().replace(/Z$/, '000Z');
  if (Object.keys(annotations).length) event.annotations = annotations;
  return event;
}

async function handleHttpRequest(
  opts: HttpServerOptions,
  timeouts: Required<HttpTimeouts>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  bodyRead: Promise<Buffer | 'too-large'>,
  streams: Set<() => void>,
  isClosing: () => boolean,
  seen: Seen,
): Promise<void> {
  const { path, query } = splitTarget(req.url ?? '/');
  const user = await opts.authenticate(req);
  seen.user = user;
  if (!user && !PUBLIC_PATHS.has(path)) {
    await bodyRead.catch(() => undefined);
    send(res, errorResponse(errors.unauthorized()));
    return;
  }
  const longRunning = isLongRunning(path, query);
  // upstream's WithRequestDeadline: ?timeout= may shorten the deadline of non-long-running requests
  let deadlineMs = timeouts.requestMs;
  if (!longRunning && query.has('timeout')) {
    const raw = query.get('timeout')!;
    let requested: number;
    try {
      requested = parseGoDuration(raw);
    } catch (e) {
      await bodyRead.catch(() => undefined);
      send(res, errorResponse(errors.badRequest(`invalid timeout specified in the request URL - ${(e as Error).message}`)));
      return;
    }
    if (requested > 0 && requested < deadlineMs) deadlineMs = requested;
  }
  const raw = await bodyRead;
  if (raw === 'too-large') {
    send(res, errorResponse(errors.requestEntityTooLarge(`limit is ${BODY_LIMIT}`)));
    return;
  }
  // the lane that called us waits for the raw handler's answer to finish
  if (user && opts.onRawRequest?.(req, res, user, raw)) return;
  const headers: Record<string, string | undefined> = {};
  for (const k in req.headers) {
    const v = req.headers[k];
    headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  let body: unknown;
  let bodyError: unknown;
  try {
    body = raw.length ? parseBody(raw, headers['content-type'] ?? '', req.method ?? 'GET', path) : undefined;
  } catch (e) {
    // answered by the handler once it knows the path exists: a missing resource is 404, not 415/400
    bodyError = e;
  }
  const createdName = req.method === 'POST' && body && typeof body === 'object' ? (body as { metadata?: { name?: unknown } }).metadata?.name : undefined;
  if (typeof createdName === 'string') seen.createdName = createdName;
  const apiReq: ApiRequest = {
    method: (req.method ?? 'GET').toUpperCase() as ApiRequest['method'],
    path,
    query,
    headers,
    body,
    bodyBytes: raw.length,
    user,
    auditAnnotations: seen.annotations,
    ...(bodyError !== undefined ? { bodyError } : {}),
  };
  // a user's open watches, and its requests in flight (so the bodies the server holds for it),
  // are bounded: one client cannot hold the server's memory in streams nor crowd others out
  const kind = !user ? undefined : !longRunning ? 'request' : isWatch(path, query) ? 'watch' : undefined;
  const key = kind && `${kind}\0${user!.name}`;
  const counts = openWatches.get(opts) ?? new Map<string, number>();
  openWatches.set(opts, counts);
  if (key) {
    const limit = kind === 'watch' ? (opts.maxWatchesPerUser ?? DEFAULT_MAX_WATCHES_PER_USER) : (opts.maxRequestsInFlightPerUser ?? DEFAULT_MAX_REQUESTS_PER_USER);
    if ((counts.get(key) ?? 0) >= limit) {
      const tooMany = errorResponse(errors.tooManyRequests('Too many requests, please try again later.', 1));
      send(res, { ...tooMany, headers: { ...tooMany.headers, 'Retry-After': '1' } });
      return;
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  try {
    await answerRequest(opts, req, res, apiReq, longRunning, deadlineMs, streams, isClosing);
  } finally {
    if (key) {
      const left = (counts.get(key) ?? 1) - 1;
      if (left > 0) counts.set(key, left);
      else counts.delete(key);
    }
  }
}

async function answerRequest(
  opts: HttpServerOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  apiReq: ApiRequest,
  longRunning: boolean,
  deadlineMs: number,
  streams: Set<() => void>,
  isClosing: () => boolean,
): Promise<void> {
  const answer = opts.handler(apiReq);
  let out: ApiResponse;
  if (longRunning) out = await answer;
  else {
    // The handler goes on in the background (as upstream's timeout filter leaves it); the
    // client gets the timeout Status now.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<ApiResponse>((resolve) => {
      timer = setTimeout(() => {
        // whatever the handler still answers goes nowhere; a stream it opens is closed again
        answer.then((late) => late.stream?.stop(), () => {});
        resolve(errorResponse(errors.timeout('request did not complete within requested timeout - context deadline exceeded')));
      }, deadlineMs);
    });
    out = await Promise.race([answer, timedOut]).finally(() => clearTimeout(timer));
  }
  if (res.destroyed) {
    out.stream?.stop();
    return;
  }
  if (out.stream) {
    if (isClosing()) {
      out.stream.stop();
      send(res, errorResponse(errors.serviceUnavailable('apiserver is shutting down')));
      return;
    }
    await streamResponse(req, res, out, streams);
    return;
  }
  send(res, out);
}

function isWatch(path: string, query: URLSearchParams): boolean {
  if (/^\/apis?\/(?:[^/]+\/)?[^/]+\/watch\//.test(path) || /^\/api\/v1\/watch\//.test(path)) return true;
  const w = query.get('watch');
  return w !== null && parseBoolLoose(w);
}

/** upstream's long-running check: watches, and the streaming subresources, have no request deadline */
function isLongRunning(path: string, query: URLSearchParams): boolean {
  if (/^\/apis?\/(?:[^/]+\/)?[^/]+\/watch\//.test(path) || /^\/api\/v1\/watch\//.test(path)) return true;
  const w = query.get('watch');
  if (w !== null && parseBoolLoose(w)) return true;
  return /\/(?:exec|attach|portforward|proxy|log)(?:\/|$)/.test(path);
}

function parseBoolLoose(v: string): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds, with Go's error texts. */
export function parseGoDuration(s: string): number {
  const orig = s;
  const invalid = () => new Error(`time: invalid duration ${JSON.stringify(orig)}`);
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  while (s) {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (!num[0] || num[0] === '.' || (num[1] === '' && !num[2])) throw invalid();
    s = s.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (!unit) throw new Error(`time: missing unit in duration ${JSON.stringify(orig)}`);
    const scale = DURATION_UNITS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(orig)}`);
    s = s.slice(unit.length);
    total += Number(num[0].startsWith('.') ? '0' + num[0] : num[0]) * scale;
  }
  return sign * total;
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

/** Reads the whole body (a body over the limit is drained and dropped, so the connection stays usable). */
function readBody(req: http.IncomingMessage, conn: Conn): Promise<Buffer | 'too-large'> {
  conn.receiving = req;
  const settle = () => {
    if (conn.receiving === req) conn.receiving = undefined;
  };
  return new Promise<Buffer | 'too-large'>((resolve, reject) => {
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
    req.on('aborted', () => reject(new Error('the client closed the connection before sending its whole body')));
  }).finally(settle);
}

// media types, limits and duplicate keys: decode.ts
function parseBody(raw: Buffer, contentType: string, method: string, path: string): unknown {
  return decodeRequestBody(raw, contentType, method, path);
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

/** Sends a stream's chunks until it ends, the client leaves, or the server closes (then it ends cleanly). */
function streamResponse(req: http.IncomingMessage, res: http.ServerResponse, out: ApiResponse, streams: Set<() => void>): Promise<void> {
  const stream = out.stream!;
  res.writeHead(out.status, { 'Content-Type': 'application/json', ...(out.headers ?? {}), 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  // With the headers out and the connection this response's own (answers are written one
  // at a time per connection), chunks go straight to the socket already framed, without
  // ServerResponse's per-chunk cork, framing and re-encoding, and with the same bytes for
  // every watcher of an event. A committed batch arrives as several chunks in one tick: the
  // first leaves at once, the rest are held back and leave together when the tick ends.
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
  let resolveDone: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const close = () => {
    if (closed) return;
    closed = true;
    streams.delete(endNow);
    stream.stop();
    resolveDone();
  };
  // server shutdown: the stream ends with its terminating chunk, not a reset
  const endNow = () => {
    if (closed) return;
    close();
    if (corked) {
      corked = false;
      socket?.uncork();
    }
    res.end();
  };
  streams.add(endNow);
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
      close();
      if (corked) {
        corked = false;
        socket?.uncork();
      }
      res.end();
    },
  );
  return done;
}
