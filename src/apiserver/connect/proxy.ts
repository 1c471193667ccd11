// The proxy subresources: pods/proxy, services/proxy and nodes/proxy. A request under
//   /api/v1/namespaces/NS/pods/[scheme:]NAME[:PORT]/proxy/<path>?<query>
//   /api/v1/namespaces/NS/services/[scheme:]NAME[:PORT]/proxy/<path>?<query>
//   /api/v1/nodes/NAME[:PORT]/proxy/<path>?<query>
// is sent on, method, path, query and body as they are, to the pod's IP, to a ready
// endpoint of the service port, or to the node's agent; the answer streams back (redirects
// and HTML links to the target rewritten under the proxy path, see proxy-rewrite.ts), and
// upgrades (WebSocket) are spliced through.
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { ApiError, errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import type { UserInfo } from '../../api/request.js';
import { errorResponse, type ApiServer } from '../handler.js';
import { isLocalAddress, NodeConnections } from './node-connection.js';
import { proxyPrefix, rewriteBody, rewriteHeaders, rewritesBody, type RewriteContext } from './proxy-rewrite.js';

const PROXY_PATH = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?(pods|services|nodes)\/([^/]+)\/proxy(\/.*)?$/;

interface ProxyTarget {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** headers the target needs (the node agent's token) */
  headers?: Record<string, string>;
}

interface ParsedProxy {
  namespace?: string;
  resource: 'pods' | 'services' | 'nodes';
  scheme: string;
  name: string;
  port: string;
  /** the path below .../proxy, at least "/" */
  path: string;
  search: string;
}

export function installProxy(api: ApiServer): void {
  const nodes = new NodeConnections(api.storage, api.registry, () => api.options.nodeConnectionToken, () => [api.options.podCIDR, api.options.nodeNetwork]);
  const resolve = async (p: ParsedProxy) => {
    const t = await resolveTarget(api, nodes, p);
    // pod and endpoint addresses are user-writable: only this machine's loopback is dialled
    if (!isLocalAddress(t.host, api.options.podCIDR)) throw errors.badRequest(`address not allowed`);
    return t;
  };
  api.rawHandlers.push((req, res, user, body) => {
    let p: ParsedProxy | undefined;
    try {
      p = parse(req.url ?? '/');
    } catch (e) {
      writeError(res, e);
      return true;
    }
    if (!p) return false;
    const url = new URL(req.url ?? '/', 'http://x');
    void api
      .authorizeRequest(user, req.method ?? 'GET', url.pathname, url.searchParams, req.headers)
      .then((acting) => proxyRequest(req, res, p, acting, body, resolve))
      .catch((e: unknown) => writeError(res, e));
    return true;
  });
  for (const resource of ['pods', 'services', 'nodes'] as const) {
    api.addUpgrade(`${resource}/proxy`, async (u) => {
      const p = parse(u.req.url ?? '/');
      if (!p) throw errors.badRequest('invalid proxy request');
      await proxyUpgrade(u.req, u.socket, u.head, await resolve(p));
    });
  }
}

/** Splits "[scheme:]name[:port]" as upstream's SplitSchemeNamePort. */
export function splitSchemeNamePort(id: string): { scheme: string; name: string; port: string } | undefined {
  const parts = id.split(':');
  let scheme = '';
  let name: string;
  let port = '';
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) [name, port] = parts;
  else if (parts.length === 3) [scheme, name, port] = parts;
  else return undefined;
  if (!name || !['', 'http', 'https'].includes(scheme)) return undefined;
  return { scheme, name, port };
}

function parse(url: string): ParsedProxy | undefined {
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const m = PROXY_PATH.exec(pathname);
  if (!m) return undefined;
  const resource = m[2] as ParsedProxy['resource'];
  if ((resource === 'nodes') !== (m[1] === undefined)) return undefined;
  const decode = (x: string) => {
    try {
      return decodeURIComponent(x);
    } catch {
      throw errors.badRequest(`malformed path ${JSON.stringify(pathname)}`);
    }
  };
  const id = decode(m[3]);
  const split = splitSchemeNamePort(id);
  if (!split) throw errors.badRequest(`invalid ${resource === 'pods' ? 'pod' : resource === 'services' ? 'service' : 'node'} request ${JSON.stringify(id)}`);
  return { namespace: m[1] && decode(m[1]), resource, ...split, path: m[4] || '/', search: q < 0 ? '' : url.slice(q) };
}

async function resolveTarget(api: ApiServer, nodes: NodeConnections, p: ParsedProxy): Promise<ProxyTarget> {
  const kind = api.registry.resource('', 'v1', p.resource)!;
  const obj = await api.storage.get(kind, p.namespace, p.name);
  const scheme = (p.scheme || 'http') as ProxyTarget['scheme'];
  if (p.resource === 'pods') {
    const ip = obj.status?.podIP;
    if (!ip) throw errors.serviceUnavailable(`address not allowed`);
    return { scheme, host: ip, port: podPort(obj, p.port) };
  }
  if (p.resource === 'services') return serviceTarget(api, obj, p, scheme);
  // a node: its agent's server (the kubelet port) unless another port is named
  const loc = await nodes.location(p.name);
  const port = p.port ? Number(p.port) : loc.port;
  const token = api.options.nodeConnectionToken;
  return { scheme: 'http', host: loc.host, port, headers: port === loc.port && token ? { Authorization: `Bearer ${token}` } : undefined };
}

function podPort(pod: KubeObject, port: string): number {
  const containers: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> = pod.spec?.containers ?? [];
  if (!port) return containers.find((c) => c.ports?.length)?.ports?.[0].containerPort ?? 80;
  if (/^\d+$/.test(port)) return Number(port);
  for (const c of containers) for (const cp of c.ports ?? []) if (cp.name === port) return cp.containerPort;
  throw errors.badRequest(`no port named ${JSON.stringify(port)} in pod ${pod.metadata.name}`);
}

async function serviceTarget(api: ApiServer, svc: KubeObject, p: ParsedProxy, scheme: ProxyTarget['scheme']): Promise<ProxyTarget> {
  const ports: Array<{ name?: string; port: number }> = svc.spec?.ports ?? [];
  const svcPort = ports.find((sp) => (sp.name ?? '') === p.port || String(sp.port) === p.port);
  if (!svcPort) throw errors.serviceUnavailable(`no service port ${JSON.stringify(p.port)} found for service ${JSON.stringify(p.name)}`);
  const endpointsKind = api.registry.resource('', 'v1', 'endpoints');
  const ep = endpointsKind ? await api.storage.tryGet(endpointsKind, p.namespace, p.name) : undefined;
  const candidates: Array<{ host: string; port: number }> = [];
  for (const ss of ep?.subsets ?? []) {
    for (const port of ss.ports ?? []) {
      if ((port.name ?? '') !== (svcPort.name ?? '')) continue;
      for (const a of ss.addresses ?? []) if (a.ip) candidates.push({ host: a.ip, port: port.port });
    }
  }
  if (!candidates.length) throw errors.serviceUnavailable(`no endpoints available for service ${JSON.stringify(p.name)}`);
  const pick = candidates[Math.floor(Math.random() * candidates.length)];
  return { scheme, ...pick };
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'authorization', 'proxy-authorization'];

function forwardHeaders(req: http.IncomingMessage, target: ProxyTarget, keepUpgrade = false): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    if (HOP_BY_HOP.includes(k) && !(keepUpgrade && (k === 'connection' || k === 'upgrade'))) continue;
    out[k] = v;
  }
  out.host = hostPort(target);
  // where the client asked, as upstream's transport tells the target
  out['x-forwarded-uri'] = (req.url ?? '/').split('?')[0];
  const xff = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = [xff, req.socket.remoteAddress].filter(Boolean).join(', ');
  return { ...out, ...(target.headers ?? {}) };
}

function hostPort(target: ProxyTarget): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

function request(target: ProxyTarget, options: http.RequestOptions): http.ClientRequest {
  const base = { host: target.host, port: target.port, ...options };
  return target.scheme === 'https' ? https.request({ ...base, rejectUnauthorized: false }) : http.request(base);
}

async function proxyRequest(req: http.IncomingMessage, res: http.ServerResponse, p: ParsedProxy, _user: UserInfo, body: Buffer, resolve: (p: ParsedProxy) => Promise<ProxyTarget>): Promise<void> {
  const target = await resolve(p);
  const out = request(target, { method: req.method, path: p.path + p.search, headers: forwardHeaders(req, target) });
  // redirects and HTML links to the target stay under the proxy's path, as upstream's transport keeps them
  const ctx: RewriteContext = { prefix: proxyPrefix((req.url ?? '/').split('?')[0], p.path), targetHost: hostPort(target), requestHost: req.headers.host ?? '' };
  out.on('response', (up) => {
    let headers = { ...up.headers };
    for (const h of ['connection', 'keep-alive', 'transfer-encoding']) delete headers[h];
    headers = rewriteHeaders(headers, ctx);
    up.on('error', () => res.destroy());
    if (!rewritesBody(up.statusCode ?? 502, headers)) {
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    up.on('data', (d: Buffer) => chunks.push(d));
    up.on('end', () => {
      let body: Buffer = Buffer.concat(chunks);
      try {
        body = rewriteBody(body, headers['content-encoding'] as string | undefined, ctx);
      } catch {
        // an undecodable body goes back as it came
      }
      headers['content-length'] = String(body.length);
      res.writeHead(up.statusCode ?? 502, headers);
      res.end(body);
    });
  });
  out.on('error', (e) => {
    if (!res.headersSent) writeError(res, errors.serviceUnavailable(`error trying to reach service: dial tcp ${target.host}:${target.port}: ${e.message}`));
    else res.destroy();
  });
  res.on('close', () => out.destroy());
  // the front end has read the body already (it bounds what one request may hold)
  out.end(body);
}

function writeError(res: http.ServerResponse, e: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const r = errorResponse(e instanceof ApiError ? e : errors.internal(e));
  const body = JSON.stringify(r.body);
  res.writeHead(r.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Splices an upgraded connection (a WebSocket to a pod) through to the target. */
function proxyUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget): Promise<void> {
  const p = parse(req.url ?? '/')!;
  return new Promise((resolve, reject) => {
    const out = request(target, { method: req.method, path: p.path + p.search, headers: forwardHeaders(req, target, true) });
    out.on('upgrade', (up, upSocket, upHead) => {
      const lines = [`HTTP/1.1 ${up.statusCode} ${up.statusMessage}`];
      for (let i = 0; i < up.rawHeaders.length; i += 2) lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.on('error', () => socket.destroy());
      socket.pipe(upSocket);
      upSocket.pipe(socket);
      socket.on('close', () => upSocket.destroy());
      upSocket.on('close', () => socket.destroy());
      resolve();
    });
    out.on('response', (up) => {
      // the target refused the upgrade: its answer goes back as it is
      const lines = [`HTTP/1.1 ${up.statusCode} ${up.statusMessage}`];
      for (let i = 0; i < up.rawHeaders.length; i += 2) if (!/^(connection|transfer-encoding)$/i.test(up.rawHeaders[i])) lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
      lines.push('Connection: close');
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      up.pipe(socket);
      resolve();
    });
    out.on('error', (e) => reject(errors.serviceUnavailable(`error trying to reach service: dial tcp ${target.host}:${target.port}: ${e.message}`)));
    out.end();
  });
}
