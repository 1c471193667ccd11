// A small in-memory API server for the client tests: enough of Kubernetes' REST
// semantics (CRUD, resourceVersions, list pages, watch with history and 410) to exercise
// transports, informers and the event recorder. Not a model of the real server.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ApiError, errors, type Status } from '../../src/api/errors.js';
import { apiVersionOf, clone, isPlainObject, timestamp, type KubeObject } from '../../src/api/object.js';
import type { ApiHandler, ApiRequest, ApiResponse, WatchEvent } from '../../src/api/request.js';

interface Target {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

interface Watcher {
  collection: string;
  namespace?: string;
  labelSelector?: string;
  send(ev: WatchEvent): void;
  end(): void;
  stopped: boolean;
}

interface HistoryEntry {
  rv: number;
  collection: string;
  event: WatchEvent;
}

const KINDS: Record<string, string> = {
  pods: 'Pod',
  nodes: 'Node',
  events: 'Event',
  statefulsets: 'StatefulSet',
  namespaces: 'Namespace',
};

export class FakeApi {
  rv = 100;
  /** watches asking for an RV below this get 410 */
  compactedRv = 0;
  readonly objects = new Map<string, KubeObject>();
  readonly history: HistoryEntry[] = [];
  readonly watchers = new Set<Watcher>();
  readonly requests: ApiRequest[] = [];
  /** when false, changes are kept in history but not sent to open watches (a stalled stream) */
  deliver = true;
  /** answer watch requests whose RV is compacted with a 410 response instead of an in-stream ERROR */
  expiredAsResponse = false;
  /** queued canned answers, used before normal handling */
  readonly canned: ((req: ApiRequest) => ApiResponse | undefined)[] = [];
  private uid = 0;

  readonly handler: ApiHandler = async (req) => {
    this.requests.push(req);
    for (let i = 0; i < this.canned.length; i++) {
      const answer = this.canned[i];
      let res: ApiResponse | undefined;
      try {
        res = answer(req);
      } catch (e) {
        this.canned.splice(i, 1);
        throw e;
      }
      if (res) {
        this.canned.splice(i, 1);
        return res;
      }
    }
    try {
      return this.handle(req);
    } catch (e) {
      if (e instanceof ApiError) return { status: e.code, body: e.toStatus() };
      throw e;
    }
  };

  /** Puts an object straight into the store (emitting ADDED). */
  seed(group: string, version: string, resource: string, obj: KubeObject): KubeObject {
    const t: Target = { group, version, resource, namespace: obj.metadata.namespace };
    return this.create(t, clone(obj));
  }

  /** Ends every open watch, as a server restart or timeout would. */
  endWatches(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }

  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  bookmark(): void {
    for (const w of this.watchers) w.send({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } });
  }

  count(method: string, pathPart: string, watch?: boolean): number {
    return this.requests.filter((r) => r.method === method && r.path.includes(pathPart) && (watch === undefined || (r.query.get('watch') === 'true') === watch)).length;
  }

  private handle(req: ApiRequest): ApiResponse {
    const t = parsePath(req.path);
    const ref = { group: t.group, resource: t.resource };
    const collection = `${t.group}/${t.resource}`;
    const key = (ns: string | undefined, name: string): string => `${collection}/${ns ?? ''}/${name}`;
    switch (req.method) {
      case 'GET': {
        if (t.name) {
          const obj = this.objects.get(key(t.namespace, t.name));
          if (!obj) throw errors.notFound(ref, t.name);
          if (t.subresource === 'scale') return ok(scaleOf(obj));
          return ok(obj);
        }
        if (req.query.get('watch') === 'true') return this.watch(t, collection, req.query);
        return ok(this.list(t, collection, req.query));
      }
      case 'POST': {
        if (t.name && t.subresource === 'binding') {
          const obj = this.mustGet(key(t.namespace, t.name), ref, t.name);
          const next = clone(obj);
          next.spec = { ...next.spec, nodeName: (req.body as any).target.name };
          this.write(collection, next, 'MODIFIED');
          return { status: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
        }
        const obj = req.body as KubeObject;
        if (req.query.get('dryRun') === 'All') return { status: 201, body: obj };
        return { status: 201, body: this.create(t, obj) };
      }
      case 'PUT': {
        const obj = req.body as KubeObject;
        const old = this.mustGet(key(t.namespace, t.name!), ref, t.name!);
        if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion) throw errors.modified(ref, t.name!);
        const next = t.subresource === 'status' ? { ...clone(old), status: obj.status } : { ...obj, status: old.status };
        next.metadata = { ...old.metadata, ...(t.subresource === 'status' ? {} : obj.metadata) };
        return ok(this.write(collection, next, 'MODIFIED'));
      }
      case 'PATCH': {
        const old = this.mustGet(key(t.namespace, t.name!), ref, t.name!);
        if (req.headers['content-type'] === 'application/json-patch+json') throw errors.unsupportedMediaType(['application/merge-patch+json']);
        const patch = t.subresource === 'scale' ? { spec: { replicas: (req.body as any).spec.replicas } } : req.body;
        const next = mergePatch(clone(old), patch) as KubeObject;
        const written = this.write(collection, next, 'MODIFIED');
        return ok(t.subresource === 'scale' ? scaleOf(written) : written);
      }
      case 'DELETE': {
        if (!t.name) {
          for (const [k, obj] of this.objects) if (k.startsWith(`${collection}/`) && (!t.namespace || obj.metadata.namespace === t.namespace)) this.remove(k, collection, obj);
          return ok({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
        }
        const k = key(t.namespace, t.name);
        const obj = this.mustGet(k, ref, t.name);
        const pre = (req.body as any)?.preconditions;
        if (pre?.uid && pre.uid !== obj.metadata.uid) {
          throw errors.conflict(ref, t.name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`);
        }
        this.remove(k, collection, obj);
        return ok({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: t.name, group: t.group, kind: t.resource, uid: obj.metadata.uid } });
      }
      default:
        throw errors.badRequest('unsupported');
    }
  }

  private mustGet(k: string, ref: { group: string; resource: string }, name: string): KubeObject {
    const obj = this.objects.get(k);
    if (!obj) throw errors.notFound(ref, name);
    return obj;
  }

  private create(t: Target, obj: KubeObject): KubeObject {
    const collection = `${t.group}/${t.resource}`;
    const namespace = obj.metadata.namespace ?? t.namespace;
    const name = obj.metadata.name ?? `${obj.metadata.generateName ?? ''}${(++this.uid).toString(36)}`;
    if (this.objects.has(`${collection}/${namespace ?? ''}/${name}`)) throw errors.alreadyExists({ group: t.group, resource: t.resource }, name);
    obj.apiVersion = apiVersionOf(t.group, t.version);
    obj.kind = KINDS[t.resource] ?? 'Thing';
    obj.metadata = { ...obj.metadata, name, uid: `uid-${++this.uid}`, creationTimestamp: timestamp() };
    if (namespace) obj.metadata.namespace = namespace;
    return this.write(collection, obj, 'ADDED');
  }

  private write(collection: string, obj: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject {
    obj.metadata.resourceVersion = String(++this.rv);
    this.objects.set(`${collection}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, obj);
    this.emit(collection, { type, object: obj });
    return obj;
  }

  private remove(k: string, collection: string, obj: KubeObject): void {
    this.objects.delete(k);
    const last = clone(obj);
    last.metadata.resourceVersion = String(++this.rv);
    this.emit(collection, { type: 'DELETED', object: last });
  }

  private emit(collection: string, event: WatchEvent): void {
    this.history.push({ rv: this.rv, collection, event });
    if (!this.deliver) return;
    for (const w of this.watchers) if (w.collection === collection && matches(w, event.object as KubeObject)) w.send(event);
  }

  private list(t: Target, collection: string, q: URLSearchParams) {
    const all = [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(`${collection}/`) && (!t.namespace || o.metadata.namespace === t.namespace))
      .filter(([, o]) => matches({ labelSelector: q.get('labelSelector') ?? undefined }, o))
      .map(([, o]) => {
        // Real list items carry no kind/apiVersion.
        const { kind, apiVersion, ...rest } = o;
        return rest as KubeObject;
      });
    const start = Number(q.get('continue') ?? 0);
    const limit = Number(q.get('limit') ?? 0);
    const items = limit ? all.slice(start, start + limit) : all.slice(start);
    const more = limit > 0 && start + limit < all.length;
    return {
      kind: `${KINDS[t.resource] ?? 'Thing'}List`,
      apiVersion: apiVersionOf(t.group, t.version),
      metadata: { resourceVersion: String(this.rv), ...(more ? { continue: String(start + limit) } : {}) },
      items,
    };
  }

  private watch(t: Target, collection: string, q: URLSearchParams): ApiResponse {
    const from = q.get('resourceVersion') ?? '';
    const fromRv = Number(from);
    const expired = from !== '' && from !== '0' && fromRv < this.compactedRv;
    if (expired && this.expiredAsResponse) throw errors.gone(`too old resource version: ${from} (${this.compactedRv + 1})`);
    const w: Watcher = { collection, namespace: t.namespace, labelSelector: q.get('labelSelector') ?? undefined, send: () => {}, end: () => {}, stopped: false };
    return {
      status: 200,
      stream: {
        start: (send, end) => {
          w.send = (ev) => !w.stopped && send(ev);
          w.end = () => {
            if (w.stopped) return;
            w.stopped = true;
            end();
          };
          if (expired) {
            const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${this.compactedRv + 1})`, reason: 'Expired', code: 410 };
            send({ type: 'ERROR', object: status });
            w.end();
            return;
          }
          if (from === '' || from === '0') {
            for (const [k, o] of this.objects) if (k.startsWith(`${collection}/`) && matches(w, o)) send({ type: 'ADDED', object: o });
          } else {
            for (const h of this.history) if (h.rv > fromRv && h.collection === collection && matches(w, h.event.object as KubeObject)) send(h.event);
          }
          this.watchers.add(w);
        },
        stop: () => {
          w.stopped = true;
          this.watchers.delete(w);
        },
      },
    };
  }
}

function ok(body: unknown): ApiResponse {
  return { status: 200, body };
}

function scaleOf(obj: KubeObject): KubeObject {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, resourceVersion: obj.metadata.resourceVersion },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0 },
  };
}

function matches(w: { namespace?: string; labelSelector?: string }, o: KubeObject): boolean {
  if (w.namespace && o.metadata.namespace !== w.namespace) return false;
  if (!w.labelSelector) return true;
  return w.labelSelector.split(',').every((req) => {
    const [k, v] = req.split('=');
    return o.metadata.labels?.[k] === v;
  });
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function parsePath(p: string): Target {
  const seg = p.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    version = seg[1];
    rest = seg.slice(2);
  } else {
    group = seg[1];
    version = seg[2];
    rest = seg.slice(3);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  return { group, version, resource: rest[0], namespace, name: rest[1], subresource: rest[2] };
}

/** Serves an ApiHandler over HTTP the way the API server would (newline-delimited watch). */
export async function serveHttp(
  handler: ApiHandler,
  opts: { seen?: (req: http.IncomingMessage) => void; tls?: https.ServerOptions } = {},
): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
  const listener: http.RequestListener = async (req, res) => {
    opts.seen?.(req);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url!, 'http://x');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const answer = await handler({
      method: req.method as ApiRequest['method'],
      path: url.pathname,
      query: url.searchParams,
      headers,
      body: raw ? JSON.parse(raw) : undefined,
      bodyBytes: raw.length,
    }).catch((e: unknown) => ({ status: 500, body: errors.internal(e).toStatus() }) as ApiResponse);
    res.setHeader('content-type', 'application/json');
    for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
    if (answer.warnings) res.setHeader('warning', answer.warnings.map((w) => `299 - "${w.replace(/"/g, '\\"')}"`));
    if (answer.stream) {
      const stream = answer.stream;
      res.writeHead(200);
      res.flushHeaders();
      req.socket.on('close', () => stream.stop());
      stream.start(
        (ev) => res.write(`${JSON.stringify(ev)}\n`),
        () => res.end(),
      );
      return;
    }
    res.writeHead(answer.status);
    res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
  };
  const server = opts.tls ? https.createServer(opts.tls, listener) : http.createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
