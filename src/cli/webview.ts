// The live view `petset up` serves on a loopback port: static files from web/ (plain HTML and
// JS, no build step) and a pass-through to the API server. The page is a client like any
// other: it lists and watches through /api and /apis with the kubeconfig's bearer token, which
// the browser sends on every call and the API server checks; this server holds no credential
// of its own and refuses calls without one. The StatefulSet controller's blocking reason comes
// with each set (its Blocked condition). Two things the API does not serve come from here,
// each after the API has allowed the caller's token: /petset/dns/NS/SERVICE asks the cluster
// DNS server what it answers for a service right now (A and SRV, real queries), and
// POST /petset/nodes/NAME/crash|partition|heal runs a node drill as `petset node` does.
// /petset/watch carries the page's watches in one response: a browser opens at most six
// connections to one HTTP/1.1 server, and seven watches would leave none for anything else.
// /petset/list/KIND answers the page's lists from this server's own list-and-watch copy, each
// object cut to the fields the page draws (a thousand pods in half a megabyte, not four), after
// a SelfSubjectAccessReview says the page's token may list KIND; the watches' events are cut alike.
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dnsPacket from 'dns-packet';
import yaml from 'js-yaml';

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

export interface WebViewOptions {
  host?: string;
  port?: number;
  /** the cluster DNS server, for the DNS answers of headless services */
  dns?: { host: string; port: number };
  /** `petset up`'s control socket, for the node drills */
  controlSocket?: string;
}

const DRILLS = ['crash', 'partition', 'heal'];

/** What /petset/watch may watch, by the names the page uses. */
export const WATCHABLE: Record<string, string> = {
  statefulsets: '/apis/apps/v1/statefulsets',
  pods: '/api/v1/pods',
  pvcs: '/api/v1/persistentvolumeclaims',
  pvs: '/api/v1/persistentvolumes',
  nodes: '/api/v1/nodes',
  endpoints: '/api/v1/endpoints',
  events: '/api/v1/events',
};

/** How many of the most recent events the page gets when it lists them (it shows the newest 100). */
export const EVENTS_KEPT = 300;

const pick = <T extends object>(o: T | undefined, keys: string[]): any => {
  if (!o) return undefined;
  const out: any = {};
  for (const k of keys) if ((o as any)[k] !== undefined) out[k] = (o as any)[k];
  return out;
};
const meta = (m: any, more: string[] = []) => pick(m, ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', ...more]);

/**
 * Per resource, the object cut to what web/app.js reads (keep the two in step): the page is
 * petset's own, the API stays the API (kubectl and every other client get whole objects).
 */
export const PROJECT: Record<string, (o: any) => any> = {
  statefulsets: (o) => {
    const { template, ...spec } = o.spec ?? {};
    const vct = spec.volumeClaimTemplates?.map((t: any) => ({ metadata: { name: t.metadata?.name } }));
    return { metadata: meta(o.metadata), spec: { ...spec, ...(vct ? { volumeClaimTemplates: vct } : {}) }, status: o.status };
  },
  pods: (o) => {
    const m = o.metadata ?? {};
    const rev = m.labels?.['controller-revision-hash'];
    const mirror = m.annotations?.['kubernetes.io/config.mirror'];
    return {
      metadata: {
        ...meta(m),
        ...(m.ownerReferences ? { ownerReferences: m.ownerReferences.map((r: any) => pick(r, ['kind', 'name', 'uid', 'controller'])) } : {}),
        ...(rev !== undefined ? { labels: { 'controller-revision-hash': rev } } : {}),
        ...(mirror !== undefined ? { annotations: { 'kubernetes.io/config.mirror': mirror } } : {}),
      },
      spec: pick(o.spec, ['nodeName']),
      status: {
        ...pick(o.status, ['phase', 'podIP']),
        ...(o.status?.conditions ? { conditions: o.status.conditions.filter((c: any) => c.type === 'Ready').map((c: any) => pick(c, ['type', 'status'])) } : {}),
        ...(o.status?.containerStatuses ? { containerStatuses: o.status.containerStatuses.map((c: any) => pick(c, ['name', 'restartCount'])) } : {}),
      },
    };
  },
  pvcs: (o) => ({ metadata: meta(o.metadata), spec: pick(o.spec, ['volumeName']), status: pick(o.status, ['phase']) }),
  pvs: (o) => ({ metadata: meta(o.metadata), spec: pick(o.spec, ['hostPath', 'local', 'persistentVolumeReclaimPolicy', 'claimRef']), status: pick(o.status, ['phase']) }),
  nodes: (o) => ({
    metadata: meta(o.metadata),
    spec: pick(o.spec, ['unschedulable', 'taints']),
    status: { conditions: (o.status?.conditions ?? []).map((c: any) => pick(c, ['type', 'status', 'reason'])) },
  }),
  endpoints: (o) => ({
    metadata: meta(o.metadata),
    ...(o.subsets ? { subsets: o.subsets.map((s: any) => ({ addresses: (s.addresses ?? []).map((a: any) => ({ ip: a.ip })) })) } : {}),
  }),
  events: (o) => ({
    metadata: meta(o.metadata),
    involvedObject: pick(o.involvedObject ?? o.regarding, ['kind', 'name', 'namespace']),
    ...pick(o, ['type', 'reason', 'message', 'note', 'count', 'lastTimestamp', 'eventTime']),
  }),
};

const eventTime = (e: any): string => e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';

/** The n most recent events, newest first. */
export function recentEvents(items: any[], n: number): any[] {
  return items
    .map((e) => [eventTime(e), e] as const)
    .sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))
    .slice(0, n)
    .map(([, e]) => e);
}

/** A watch event's line with its object projected; a line that is not JSON or carries a Status goes out as it came. */
function projectEventLine(r: string, line: string): string {
  let ev: any;
  try {
    ev = JSON.parse(line);
  } catch {
    return line;
  }
  if (ev.type === 'ERROR' || !ev.object || ev.object.kind === 'Status') return line;
  if (ev.type === 'BOOKMARK') return JSON.stringify({ type: ev.type, object: { metadata: { resourceVersion: ev.object.metadata?.resourceVersion } } });
  return JSON.stringify({ type: ev.type, object: PROJECT[r](ev.object) });
}

export async function startWebView(api: ApiEndpoint, opts: WebViewOptions = {}): Promise<WebView> {
  const base = new URL(api.server);
  const agent = new https.Agent({ keepAlive: true, ca: api.caPem });
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/apis/') || url.pathname.startsWith('/petset/')) {
      const auth = req.headers.authorization;
      if (!auth || !/^Bearer \S+$/.test(auth)) return status(res, 401, 'Unauthorized', 'Unauthorized: the live view needs the kubeconfig token (open the address petset up printed)');
      if (url.pathname === '/petset/watch') return watchAll(req, res, url, auth);
      if (url.pathname.startsWith('/petset/list/') && req.method === 'GET') return void listProjected(url, auth, res);
      if (url.pathname.startsWith('/petset/')) return void servePetset(req, url, auth, res);
      return proxy(req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return status(res, 405, 'MethodNotAllowed', 'the live view serves files with GET only');
    if (url.pathname === '/' || url.pathname === '/index.html') return servePage(req, res);
    const file = url.pathname.slice(1);
    if (!/^[a-z0-9-]+\.(html|js|css)$/.test(file)) return status(res, 404, 'NotFound', `${url.pathname} not found`);
    fs.readFile(path.join(webRoot, file), (err, data) => {
      if (err) return status(res, 404, 'NotFound', `${url.pathname} not found`);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)], 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
  });
  /**
   * The page with its style sheet and script in it: one answer instead of three, which on a busy
   * machine (the API server, controllers and nodes share this process) saves a round trip.
   */
  function servePage(req: http.IncomingMessage, res: http.ServerResponse): void {
    Promise.all(['index.html', 'style.css', 'app.js'].map((f) => fs.promises.readFile(path.join(webRoot, f), 'utf8'))).then(
      ([html, css, js]) => {
        const page = html
          .replace('<link rel="stylesheet" href="style.css">', () => `<style>\n${css}</style>`)
          .replace('<script src="app.js"></script>', () => `<script>\n${js.replace(/<\/script/gi, '<\\/script')}</script>`);
        res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : page);
      },
      () => status(res, 404, 'NotFound', 'the live view\'s files are missing'),
    );
  }
  server.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));

  /** The request as the browser made it, to the API server; watches stream through. */
  function proxy(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const headers: http.OutgoingHttpHeaders = { authorization: req.headers.authorization, accept: req.headers.accept ?? 'application/json', 'user-agent': 'petset-live-view' };
    if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    // Node sends a DELETE's body unframed unless told its length (a delete with DeleteOptions)
    if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
    else if (req.headers['transfer-encoding']) headers['transfer-encoding'] = req.headers['transfer-encoding'];
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

  /**
   * GET /petset/watch?r=pods:RV,nodes:RV,…: one API watch per entry, with the caller's token,
   * from that resourceVersion; every event goes out as a line {"r":"pods","e":EVENT}. The
   * first watch to end ends the response (the page watches again from what it has seen); a
   * watch the API refuses goes out as an ERROR event of its resource.
   */
  function watchAll(req: http.IncomingMessage, res: http.ServerResponse, url: URL, auth: string): void {
    const entries = (url.searchParams.get('r') ?? '').split(',').filter(Boolean).map((e) => e.split(':'));
    const bad = entries.find(([r, rv]) => !WATCHABLE[r] || !/^\d*$/.test(rv ?? ''));
    if (!entries.length || bad) return status(res, 400, 'BadRequest', `r must list RESOURCE:RESOURCEVERSION pairs of ${Object.keys(WATCHABLE).join(', ')}${bad ? `; got ${bad.join(':')}` : ''}`);
    const upstreams: http.ClientRequest[] = [];
    let done = false;
    // The answer starts once the first watch has (a token the API refuses gets its refusal: it
    // refuses every watch); each watch's events go out as soon as it has started, without waiting
    // for the slowest, and a line {"started":true} says when all have.
    let accepted = 0;
    const send = (line: string) => res.write(line);
    const finish = () => {
      if (done) return;
      done = true;
      for (const u of upstreams) u.destroy();
      if (!res.headersSent) status(res, 502, 'ServiceUnavailable', 'a watch ended before it started');
      else res.end();
    };
    res.on('close', finish);
    for (const [r, rv] of entries) {
      const p = `${WATCHABLE[r]}?watch=1&allowWatchBookmarks=true${rv ? `&resourceVersion=${rv}` : ''}`;
      const headers = { authorization: auth, accept: 'application/json', 'user-agent': 'petset-live-view' };
      const u = https.request({ agent, protocol: 'https:', hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port, method: 'GET', path: p, headers }, (up) => {
        let buf = '';
        up.setEncoding('utf8');
        if (up.statusCode === 200 && !done) {
          if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
          if (++accepted === entries.length) res.write('{"started":true}\n');
        }
        up.on('data', (d: string) => {
          buf += d;
          if (up.statusCode !== 200) return;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line && !done) send(`{"r":${JSON.stringify(r)},"e":${projectEventLine(r, line)}}\n`);
          }
        });
        up.on('end', () => {
          if (up.statusCode !== 200 && !done) {
            const body = safeJson(buf, up.statusCode ?? 502);
            if (!res.headersSent) {
              done = true;
              for (const o of upstreams) o.destroy();
              res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json' });
              res.end(JSON.stringify(body));
              return;
            }
            res.write(`${JSON.stringify({ r, e: { type: 'ERROR', object: body } })}\n`);
          }
          finish();
        });
        up.on('error', finish);
      });
      u.on('error', finish);
      u.end();
      upstreams.push(u);
    }
  }

  /**
   * GET /petset/list/KIND[?fieldSelector=…]: the API's list of KIND with the caller's token, each
   * item cut to the fields the page draws (a thousand pods' full JSON is megabytes the page would
   * parse and keep for nothing); the events only the most recent EVENTS_KEPT of them.
   */
  async function listProjected(url: URL, auth: string, res: http.ServerResponse): Promise<void> {
    const kind = url.pathname.slice('/petset/list/'.length);
    if (!WATCHABLE[kind]) return status(res, 404, 'NotFound', `no list ${kind}; use ${Object.keys(WATCHABLE).join(', ')}`);
    const fsel = url.searchParams.get('fieldSelector');
    try {
      const m = mirrors.get(kind) ?? mirrors.set(kind, startMirror(kind)).get(kind)!;
      if (!fsel && m.synced) {
        // the page's own copy, after the API has said the caller may list this resource
        const allowed = await mayList(auth, kind);
        if (allowed !== true) return status(res, allowed.code, allowed.reason, allowed.message);
        const items = kind === 'events' ? recentEvents([...m.items.values()], EVENTS_KEPT) : [...m.items.values()];
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
        return void res.end(JSON.stringify({ metadata: { resourceVersion: m.rv }, items }));
      }
      const l = await apiCall(auth, 'GET', `${WATCHABLE[kind]}${fsel ? `?fieldSelector=${encodeURIComponent(fsel)}` : ''}`);
      if (l.code !== 200) {
        res.writeHead(l.code, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify(l.json));
      }
      let items: any[] = (l.json.items ?? []).map((o: any) => PROJECT[kind](o));
      if (kind === 'events') items = recentEvents(items, EVENTS_KEPT);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
      res.end(JSON.stringify({ metadata: { resourceVersion: l.json.metadata?.resourceVersion }, items }));
    } catch (e) {
      status(res, 502, 'ServiceUnavailable', `the API server did not answer: ${(e as Error).message}`);
    }
  }

  /**
   * The projected objects of one resource, kept by a list and watch of this server's own (with
   * the kubeconfig's token petset up gave it), started when a page first lists the resource: a
   * page's load then costs no list of a thousand pods at the API server. A page is served from it
   * only after the API allowed the page's token to list the resource (mayList).
   */
  interface Mirror {
    items: Map<string, any>;
    rv: string;
    synced: boolean;
  }
  const mirrors = new Map<string, Mirror>();
  let closed = false;
  const live = new Set<http.ClientRequest>();
  const okey = (o: any) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

  function startMirror(kind: string): Mirror {
    const m: Mirror = { items: new Map(), rv: '', synced: false };
    const admin = `Bearer ${api.token}`;
    void (async () => {
      while (!closed) {
        try {
          if (!m.synced) {
            const l = await apiCall(admin, 'GET', WATCHABLE[kind]);
            if (l.code !== 200) throw new Error(l.json?.message ?? `HTTP ${l.code}`);
            m.items = new Map((l.json.items ?? []).map((o: any) => [okey(o), PROJECT[kind](o)]));
            m.rv = l.json.metadata?.resourceVersion ?? '';
            m.synced = true;
          }
          await mirrorWatch(kind, m, admin);
        } catch {
          m.synced = false;
          if (!closed) await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
    return m;
  }

  /** Follows one watch from m.rv until it ends; a 410 or a broken watch lists again. */
  function mirrorWatch(kind: string, m: Mirror, auth: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const p = `${WATCHABLE[kind]}?watch=1&allowWatchBookmarks=true&resourceVersion=${m.rv}`;
      const headers = { authorization: auth, accept: 'application/json', 'user-agent': 'petset-live-view' };
      const u = https.request({ agent, protocol: 'https:', hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port, method: 'GET', path: p, headers }, (up) => {
        if (up.statusCode !== 200) {
          up.resume();
          return reject(new Error(`watch ${kind}: HTTP ${up.statusCode}`));
        }
        let buf = '';
        up.setEncoding('utf8');
        up.on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = safeJson(line, 500);
            if (ev.type === 'ERROR' || !ev.object) {
              u.destroy();
              return reject(new Error(`watch ${kind}: ${ev.object?.message ?? 'error'}`));
            }
            m.rv = ev.object.metadata?.resourceVersion ?? m.rv;
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'DELETED') m.items.delete(okey(ev.object));
            else m.items.set(okey(ev.object), PROJECT[kind](ev.object));
          }
        });
        up.on('end', () => resolve());
        up.on('error', reject);
      });
      live.add(u);
      u.on('close', () => live.delete(u));
      u.on('error', reject);
      u.end();
    });
  }

  /** Whether the API lets this token list the resource (SelfSubjectAccessReview), remembered for 30 s. */
  const allowedFor = new Map<string, { at: number; answer: true | { code: number; reason: string; message: string } }>();
  async function mayList(auth: string, kind: string): Promise<true | { code: number; reason: string; message: string }> {
    const k = `${auth} ${kind}`;
    const hit = allowedFor.get(k);
    if (hit && Date.now() - hit.at < 30_000) return hit.answer;
    const [, group, , resource] = /^\/apis?\/(?:([^/]+)\/)?([^/]+)\/(.+)$/.exec(WATCHABLE[kind])!;
    const review = await apiCall(auth, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'list', group: WATCHABLE[kind].startsWith('/apis/') ? group : '', resource } },
    });
    let answer: true | { code: number; reason: string; message: string };
    if (review.code === 401) answer = { code: 401, reason: 'Unauthorized', message: 'Unauthorized' };
    else if (review.code >= 300) answer = { code: review.code, reason: review.json?.reason ?? 'Unknown', message: review.json?.message ?? `HTTP ${review.code}` };
    else if (!review.json?.status?.allowed) answer = { code: 403, reason: 'Forbidden', message: `cannot list resource "${resource}" at the cluster scope` };
    else answer = true;
    if (allowedFor.size > 1000) allowedFor.clear();
    allowedFor.set(k, { at: Date.now(), answer });
    return answer;
  }

  /** One call to the API server with the caller's credential; answers the status code and JSON body. */
  function apiCall(auth: string, method: string, p: string, body?: unknown): Promise<{ code: number; json: any }> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { authorization: auth, accept: 'application/json', 'user-agent': 'petset-live-view' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = https.request({ agent, protocol: 'https:', hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port, method, path: p, headers }, (up) => {
        let text = '';
        up.setEncoding('utf8');
        up.on('data', (d) => (text += d));
        up.on('end', () => {
          try {
            resolve({ code: up.statusCode ?? 502, json: JSON.parse(text) });
          } catch {
            resolve({ code: up.statusCode ?? 502, json: { message: text } });
          }
        });
      });
      r.on('error', reject);
      r.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async function servePetset(req: http.IncomingMessage, url: URL, auth: string, res: http.ServerResponse): Promise<void> {
    try {
      const dnsPath = /^\/petset\/dns\/([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(url.pathname);
      const drill = /^\/petset\/nodes\/([^/]+)\/(\w+)$/.exec(url.pathname);
      if (dnsPath && req.method === 'GET') {
        if (!opts.dns) return status(res, 503, 'ServiceUnavailable', 'petset up runs no cluster DNS server');
        const [, ns, name] = dnsPath;
        // the caller sees the answers only if the API lets it read the service
        const svc = await apiCall(auth, 'GET', `/api/v1/namespaces/${ns}/services/${name}`);
        if (svc.code !== 200) return status(res, svc.code, svc.json?.reason ?? 'Unknown', svc.json?.message ?? `HTTP ${svc.code}`);
        const qname = `${name}.${ns}.svc.cluster.local`;
        const [a, srv] = await Promise.all([dnsQuery(opts.dns, qname, 'A'), dnsQuery(opts.dns, qname, 'SRV')]);
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
        return void res.end(JSON.stringify({ name: qname, server: `${opts.dns.host}:${opts.dns.port}`, A: a, SRV: srv }));
      }
      if (drill && req.method === 'POST') {
        const [, node, action] = drill;
        if (!DRILLS.includes(action)) return status(res, 404, 'NotFound', `no drill ${action}; use ${DRILLS.join(', ')}`);
        if (!opts.controlSocket) return status(res, 503, 'ServiceUnavailable', 'this petset up runs no local nodes');
        // a drill is as strong as any write to the node: the caller must be allowed every verb on it
        const review = await apiCall(auth, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { verb: '*', group: '', resource: 'nodes', name: decodeURIComponent(node) } },
        });
        if (review.code === 401) return status(res, 401, 'Unauthorized', 'Unauthorized');
        if (review.code >= 300 || !review.json?.status?.allowed) return status(res, 403, 'Forbidden', `the node drills need every verb on nodes/${decodeURIComponent(node)}`);
        const out = await controlRequest(opts.controlSocket, `/nodes/${node}/${action}`);
        res.writeHead(out.code === 200 ? 200 : 400, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end(out.text);
      }
      status(res, 404, 'NotFound', `${req.method} ${url.pathname} not found`);
    } catch (e) {
      status(res, 502, 'ServiceUnavailable', (e as Error).message);
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
        closed = true;
        for (const u of live) u.destroy();
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface DnsAnswer {
  rcode: string;
  /** "A 10.0.0.1" or "SRV 0 50 80 web-0.nginx.default.svc.cluster.local" */
  records: string[];
  truncated?: boolean;
}

function answerOf(p: dnsPacket.Packet): DnsAnswer {
  const records = (p.answers ?? []).map((r: any) =>
    r.type === 'SRV' ? `SRV ${r.data.priority} ${r.data.weight} ${r.data.port} ${r.data.target}` : `${r.type} ${typeof r.data === 'string' ? r.data : JSON.stringify(r.data)}`,
  );
  // a truncated answer is shown as such, never as the whole truth
  return { rcode: (p as any).rcode ?? 'NOERROR', records, ...((p as any).flag_tc ? { truncated: true } : {}) };
}

/**
 * One real query to the cluster DNS server: over UDP with EDNS0's 4096 bytes, as dig asks,
 * and again over TCP when the answer did not fit (a set of a thousand pets).
 */
async function dnsQuery(server: { host: string; port: number }, name: string, type: 'A' | 'SRV'): Promise<DnsAnswer> {
  const udp = await dnsUdpQuery(server, name, type);
  return udp.truncated ? dnsTcpQuery(server, name, type) : udp;
}

function dnsUdpQuery(server: { host: string; port: number }, name: string, type: 'A' | 'SRV'): Promise<DnsAnswer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
    const id = Math.floor(Math.random() * 65535);
    const timer = setTimeout(() => (sock.close(), reject(new Error(`the cluster DNS server at ${server.host}:${server.port} did not answer`))), 2000);
    sock.on('message', (msg) => {
      const p = dnsPacket.decode(msg);
      if (p.id !== id) return;
      clearTimeout(timer);
      sock.close();
      resolve(answerOf(p));
    });
    sock.on('error', (e) => (clearTimeout(timer), sock.close(), reject(e)));
    const query = { type: 'query' as const, id, flags: 256, questions: [{ type, name }], additionals: [{ type: 'OPT' as const, name: '.', udpPayloadSize: 4096 }] };
    sock.send(dnsPacket.encode(query as any), server.port, server.host);
  });
}

function dnsTcpQuery(server: { host: string; port: number }, name: string, type: 'A' | 'SRV'): Promise<DnsAnswer> {
  return new Promise((resolve, reject) => {
    const id = Math.floor(Math.random() * 65535);
    const sock = net.connect(server.port, server.host);
    let buf = Buffer.alloc(0);
    const fail = (e: Error) => (clearTimeout(timer), sock.destroy(), reject(e));
    const timer = setTimeout(() => fail(new Error(`the cluster DNS server at ${server.host}:${server.port} did not answer over TCP`)), 3000);
    sock.on('connect', () => sock.write(dnsPacket.streamEncode({ type: 'query', id, flags: 256, questions: [{ type, name }] })));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      clearTimeout(timer);
      sock.destroy();
      resolve(answerOf(dnsPacket.streamDecode(buf)));
    });
    sock.on('error', fail);
  });
}

function controlRequest(socketPath: string, p: string): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ socketPath, method: 'POST', path: p }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ code: res.statusCode ?? 500, text }));
    });
    r.on('error', reject);
    r.end();
  });
}

function safeJson(text: string, code: number): any {
  try {
    return JSON.parse(text);
  } catch {
    return { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: text.trim() || `HTTP ${code}`, code };
  }
}

function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}
