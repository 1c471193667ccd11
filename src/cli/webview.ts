// The live view `petset up` serves on a loopback port: static files from web/ (plain HTML and
// JS, no build step) and a pass-through to the API server. The page is a client like any
// other: it lists and watches through /api and /apis with the kubeconfig's bearer token, which
// the browser sends on every call and the API server checks; this server holds no credential
// of its own and refuses calls without one. /petset/why/NS/NAME answers the StatefulSet
// controller's blocking reason, read through the API with the caller's token.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { Client } from '../client/client.js';
import { HttpTransport } from '../client/http-transport.js';
import { fetchWhy } from './why-cmd.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** web/ at the repository root, from dist/src/cli or src/cli */
export const webRoot = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../web' : '../../web');

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export interface WebView {
  /** http://127.0.0.1:PORT/ */
  url: string;
  close(): Promise<void>;
}

export interface ApiEndpoint {
  server: string;
  caPem: string;
  token: string;
}

/** The API server's address, CA and admin token from the kubeconfig `petset up` wrote. */
export function readKubeconfigEndpoint(file: string): ApiEndpoint {
  const cfg: any = yaml.load(fs.readFileSync(file, 'utf8')) ?? {};
  const ctx = cfg.contexts?.find((c: any) => c.name === cfg['current-context'])?.context;
  const cluster = cfg.clusters?.find((c: any) => c.name === ctx?.cluster)?.cluster;
  const user = cfg.users?.find((u: any) => u.name === ctx?.user)?.user;
  if (!cluster?.server || !user?.token) throw new Error(`kubeconfig ${file} names no server or token`);
  return { server: cluster.server, caPem: Buffer.from(cluster['certificate-authority-data'] ?? '', 'base64').toString('utf8'), token: user.token };
}

export async function startWebView(api: ApiEndpoint, opts: { host?: string; port?: number } = {}): Promise<WebView> {
  const base = new URL(api.server);
  const agent = new https.Agent({ keepAlive: true, ca: api.caPem });
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/apis/') || url.pathname.startsWith('/petset/')) {
      const auth = req.headers.authorization;
      if (!auth || !/^Bearer \S+$/.test(auth)) return status(res, 401, 'Unauthorized', 'Unauthorized: the live view needs the kubeconfig token (open the address petset up printed)');
      if (url.pathname.startsWith('/petset/')) return void serveWhy(url, auth.slice(7), res);
      return proxy(req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return status(res, 405, 'MethodNotAllowed', 'the live view serves files with GET only');
    const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    if (!/^[a-z0-9-]+\.(html|js|css)$/.test(file)) return status(res, 404, 'NotFound', `${url.pathname} not found`);
    fs.readFile(path.join(webRoot, file), (err, data) => {
      if (err) return status(res, 404, 'NotFound', `${url.pathname} not found`);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)], 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  });
  server.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));

  /** The request as the browser made it, to the API server; watches stream through. */
  function proxy(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const headers: http.OutgoingHttpHeaders = { authorization: req.headers.authorization, accept: req.headers.accept ?? 'application/json', 'user-agent': 'petset-live-view' };
    if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    const upstream = https.request(
      { agent, protocol: 'https:', hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port, method: req.method, path: url.pathname + url.search, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, { 'content-type': up.headers['content-type'] ?? 'application/json', 'cache-control': 'no-cache' });
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => (res.headersSent ? res.destroy() : status(res, 502, 'ServiceUnavailable', `the API server did not answer: ${e.message}`)));
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  async function serveWhy(url: URL, token: string, res: http.ServerResponse): Promise<void> {
    const m = /^\/petset\/why\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!m) return status(res, 404, 'NotFound', `${url.pathname} not found; use /petset/why/NAMESPACE/NAME`);
    const transport = new HttpTransport({ server: api.server, caPem: api.caPem, token });
    try {
      const why = await fetchWhy(new Client(transport, { userAgent: 'petset-live-view' }), decodeURIComponent(m[1]), decodeURIComponent(m[2]));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(why));
    } catch (e) {
      const { code, reason } = e as { code?: number; reason?: string };
      status(res, typeof code === 'number' && code >= 400 ? code : 500, reason ?? 'InternalError', (e as Error).message);
    } finally {
      transport.close();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as import('node:net').AddressInfo;
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}
