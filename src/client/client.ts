// The typed client every part uses to reach the API: URL building, query options,
// Status-to-ApiError translation, and watches as async iterables.
import { ApiError, type Status } from '../api/errors.js';
import type { KubeList, KubeObject } from '../api/object.js';
import { apiVersionOf } from '../api/object.js';
import { CONTENT, type ApiRequest, type ApiResponse, type ApiStream, type WatchEvent } from '../api/request.js';
import type { Transport } from './transport.js';

export interface ResourceType {
  group: string;
  version: string;
  /** plural, e.g. "statefulsets" */
  resource: string;
  namespaced: boolean;
  /** e.g. "StatefulSet"; used to fill kind on list items that lack it */
  kind?: string;
}

const core = (resource: string, kind: string, namespaced = true): ResourceType => ({ group: '', version: 'v1', resource, kind, namespaced });

/** The resources petset's own parts use most. */
export const resources = {
  pods: core('pods', 'Pod'),
  services: core('services', 'Service'),
  endpoints: core('endpoints', 'Endpoints'),
  events: core('events', 'Event'),
  persistentVolumeClaims: core('persistentvolumeclaims', 'PersistentVolumeClaim'),
  persistentVolumes: core('persistentvolumes', 'PersistentVolume', false),
  nodes: core('nodes', 'Node', false),
  namespaces: core('namespaces', 'Namespace', false),
  statefulSets: { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  controllerRevisions: { group: 'apps', version: 'v1', resource: 'controllerrevisions', kind: 'ControllerRevision', namespaced: true },
  endpointSlices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true },
  storageClasses: { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', kind: 'StorageClass', namespaced: false },
  podDisruptionBudgets: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true },
} satisfies Record<string, ResourceType>;

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  timeoutSeconds?: number;
}

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export interface PatchOptions extends WriteOptions {
  subresource?: string;
  /** server-side apply: take ownership of conflicting fields */
  force?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ClientOptions {
  userAgent?: string;
  /** fieldManager sent on writes that do not name one */
  fieldManager?: string;
  /** how often a 429 answer is retried after its Retry-After (default 5) */
  maxThrottleRetries?: number;
}

const PATCH_CONTENT: Record<PatchType, string> = {
  merge: CONTENT.mergePatch,
  strategic: CONTENT.strategicPatch,
  json: CONTENT.jsonPatch,
  apply: CONTENT.applyPatch,
};

export interface RawRequest {
  method: ApiRequest['method'];
  path: string;
  query?: URLSearchParams | Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  body?: unknown;
}

export class Client {
  constructor(
    readonly transport: Transport,
    readonly options: ClientOptions = {},
  ) {}

  resource<T extends KubeObject = KubeObject>(type: ResourceType, namespace?: string): ResourceClient<T> {
    return new ResourceClient<T>(this, type, type.namespaced ? namespace : undefined);
  }

  /** One request; answers with the decoded body, throws ApiError for non-2xx. */
  async request<R = unknown>(raw: RawRequest): Promise<R> {
    const res = await this.send(raw);
    return res.body as R;
  }

  /** Like request, but keeps the whole response (headers, warnings, stream). */
  async send(raw: RawRequest): Promise<ApiResponse> {
    const req: ApiRequest = {
      method: raw.method,
      path: raw.path,
      query: raw.query instanceof URLSearchParams ? raw.query : toQuery(raw.query ?? {}),
      headers: { accept: 'application/json', ...raw.headers },
    };
    if (this.options.userAgent) req.headers['user-agent'] = this.options.userAgent;
    if (raw.body !== undefined) {
      req.body = raw.body;
      req.headers['content-type'] ??= CONTENT.json;
    }
    const retries = this.options.maxThrottleRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      const res = await this.transport.request(req);
      if (res.status >= 200 && res.status < 300) return res;
      if (res.stream) res.stream.stop();
      const err = apiErrorFromResponse(res);
      if (err.code !== 429 || attempt >= retries) throw err;
      const fromHeader = Number(res.headers?.['retry-after'] ?? NaN);
      await sleep(1000 * (err.details?.retryAfterSeconds ?? (Number.isFinite(fromHeader) ? fromHeader : 1)));
    }
  }

  pods<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.pods, namespace);
  }
  services<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.services, namespace);
  }
  endpoints<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.endpoints, namespace);
  }
  events<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.events, namespace);
  }
  persistentVolumeClaims<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.persistentVolumeClaims, namespace);
  }
  persistentVolumes<T extends KubeObject = KubeObject>() {
    return this.resource<T>(resources.persistentVolumes);
  }
  nodes<T extends KubeObject = KubeObject>() {
    return this.resource<T>(resources.nodes);
  }
  namespaces<T extends KubeObject = KubeObject>() {
    return this.resource<T>(resources.namespaces);
  }
  statefulSets<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.statefulSets, namespace);
  }
  controllerRevisions<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.controllerRevisions, namespace);
  }
  endpointSlices<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.endpointSlices, namespace);
  }
  leases<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.leases, namespace);
  }
  storageClasses<T extends KubeObject = KubeObject>() {
    return this.resource<T>(resources.storageClasses);
  }
  podDisruptionBudgets<T extends KubeObject = KubeObject>(namespace?: string) {
    return this.resource<T>(resources.podDisruptionBudgets, namespace);
  }
}

/**
 * Operations on one resource type. Built with a namespace, it works in that namespace;
 * built without one (for a namespaced type), list/watch/deleteCollection span all
 * namespaces and writes take the namespace from the object.
 */
export class ResourceClient<T extends KubeObject = KubeObject> {
  constructor(
    readonly client: Client,
    readonly type: ResourceType,
    readonly namespace?: string,
  ) {}

  /** The collection path, or an object's path when name is given. */
  path(name?: string, subresource?: string, namespace = this.namespace): string {
    const t = this.type;
    let p = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
    if (t.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${t.resource}`;
    if (name !== undefined) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  async get(name: string, opts: { resourceVersion?: string } = {}): Promise<T> {
    return this.client.request<T>({ method: 'GET', path: this.objectPath(name), query: { resourceVersion: opts.resourceVersion } });
  }

  /** One page (or the whole list when no limit is given). Items get kind/apiVersion filled in. */
  async list(opts: ListOptions = {}): Promise<KubeList<T>> {
    const list = await this.client.request<KubeList<T>>({ method: 'GET', path: this.path(), query: { ...opts } });
    list.items ??= [];
    const apiVersion = list.apiVersion ?? apiVersionOf(this.type.group, this.type.version);
    const kind = this.type.kind ?? list.kind?.replace(/List$/, '');
    for (const item of list.items) {
      item.apiVersion ??= apiVersion;
      if (kind) item.kind ??= kind;
    }
    return list;
  }

  /** Follows continue tokens until the list is complete; the result carries the first page's resourceVersion. */
  async listAll(opts: Omit<ListOptions, 'continue'> = {}): Promise<KubeList<T>> {
    const first = await this.list(opts);
    let token = first.metadata?.continue;
    while (token) {
      const page = await this.list({ ...opts, resourceVersion: undefined, continue: token });
      first.items.push(...page.items);
      token = page.metadata?.continue;
    }
    if (first.metadata) delete first.metadata.continue;
    return first;
  }

  async create(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.client.request<T>({ method: 'POST', path: this.path(undefined, undefined, this.nsFor(obj)), query: this.writeQuery(opts), body: obj });
  }

  async update(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.client.request<T>({ method: 'PUT', path: this.objectPath(obj.metadata.name, undefined, obj), query: this.writeQuery(opts), body: obj });
  }

  async updateStatus(obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.client.request<T>({ method: 'PUT', path: this.objectPath(obj.metadata.name, 'status', obj), query: this.writeQuery(opts), body: obj });
  }

  async patch(name: string, body: unknown, type: PatchType = 'merge', opts: PatchOptions = {}): Promise<T> {
    const query = this.writeQuery(opts);
    if (opts.force) query.force = true;
    if (type === 'apply' && !query.fieldManager) throw new Error('server-side apply needs a fieldManager');
    return this.client.request<T>({
      method: 'PATCH',
      path: this.objectPath(name, opts.subresource),
      query,
      headers: { 'content-type': PATCH_CONTENT[type] },
      body,
    });
  }

  /** Answers with the object (for kinds deleted gracefully or by finalizers) or a Success Status. */
  async delete(name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    return this.client.request<T | Status>({ method: 'DELETE', path: this.objectPath(name), body: deleteBody(opts) });
  }

  async deleteCollection(opts: ListOptions & DeleteOptions = {}): Promise<KubeList<T> | Status> {
    const { labelSelector, fieldSelector, limit, resourceVersion, timeoutSeconds } = opts;
    return this.client.request({
      method: 'DELETE',
      path: this.path(),
      query: { labelSelector, fieldSelector, limit, resourceVersion, timeoutSeconds },
      body: deleteBody(opts),
    });
  }

  /** Starts a watch; rejects with ApiError when the server refuses it. */
  async watch(opts: WatchOptions = {}): Promise<Watch<T>> {
    const res = await this.client.send({ method: 'GET', path: this.path(), query: { watch: true, ...opts } });
    if (!res.stream) throw new Error(`watch on ${this.path()} answered without a stream`);
    return new Watch<T>(res.stream);
  }

  async getSubresource<R = unknown>(name: string, subresource: string): Promise<R> {
    return this.client.request<R>({ method: 'GET', path: this.objectPath(name, subresource) });
  }

  /** POST to a subresource, e.g. pods/{name}/binding or pods/{name}/eviction. */
  async createSubresource<R = unknown>(name: string, subresource: string, body: unknown, opts: WriteOptions = {}): Promise<R> {
    return this.client.request<R>({ method: 'POST', path: this.objectPath(name, subresource), query: this.writeQuery(opts), body });
  }

  async updateSubresource<R = unknown>(name: string, subresource: string, body: unknown, opts: WriteOptions = {}): Promise<R> {
    return this.client.request<R>({ method: 'PUT', path: this.objectPath(name, subresource), query: this.writeQuery(opts), body });
  }

  async getScale(name: string): Promise<KubeObject> {
    return this.getSubresource<KubeObject>(name, 'scale');
  }

  /** Writes a Scale read before (upstream's scale client Update: a conflict if the target changed since). */
  async updateScale(scale: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.client.request<KubeObject>({ method: 'PUT', path: this.objectPath(scale.metadata.name, 'scale'), query: this.writeQuery(opts), body: scale });
  }

  /** Sets spec.replicas through the scale subresource (a merge patch, as kubectl scale does). */
  async patchScale(name: string, replicas: number, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.patch(name, { spec: { replicas } }, 'merge', { ...opts, subresource: 'scale' });
  }

  private nsFor(obj?: T): string | undefined {
    return this.namespace ?? obj?.metadata.namespace;
  }

  private objectPath(name: string | undefined, subresource?: string, obj?: T): string {
    if (!name) throw new Error(`${this.type.resource}: a name is required`);
    const ns = this.nsFor(obj);
    if (this.type.namespaced && !ns) throw new Error(`${this.type.resource} "${name}": a namespace is required`);
    return this.path(name, subresource, ns);
  }

  private writeQuery(opts: WriteOptions): Record<string, string | boolean | undefined> {
    return { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? this.client.options.fieldManager };
  }
}

/**
 * A running watch. Iterate it with `for await`; iteration ends when the server closes the
 * stream or `stop()` is called (breaking out of the loop stops it too). In-stream errors
 * arrive as events of type ERROR whose object is a Status.
 */
export class Watch<T extends KubeObject = KubeObject> implements AsyncIterable<WatchEvent<T>> {
  private readonly buffered: WatchEvent<T>[] = [];
  private wake?: () => void;
  private ended = false;
  private readonly stream: ApiStream;

  constructor(stream: ApiStream) {
    this.stream = stream;
    stream.start(
      (chunk) => {
        if (this.ended || typeof chunk !== 'object' || Buffer.isBuffer(chunk)) return;
        this.buffered.push(chunk as WatchEvent<T>);
        this.wake?.();
      },
      () => this.finish(),
    );
  }

  stop(): void {
    this.buffered.length = 0;
    if (this.ended) return;
    this.finish();
    this.stream.stop();
  }

  private finish(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    try {
      for (;;) {
        const next = this.buffered.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      this.stop();
    }
  }
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as Status).kind === 'Status';
}

/** Rebuilds the server's error from a Status, so callers can match on reason. */
export function apiErrorFromStatus(status: Status, httpCode?: number): ApiError {
  const code = status.code ?? httpCode ?? 500;
  return new ApiError(code, status.reason ?? REASON_BY_CODE[code] ?? 'Unknown', status.message ?? '', status.details, status.metadata ?? {});
}

export function apiErrorFromResponse(res: ApiResponse): ApiError {
  if (isStatus(res.body)) return apiErrorFromStatus(res.body, res.status);
  const text = typeof res.body === 'string' ? res.body.trim() : Buffer.isBuffer(res.body) ? res.body.toString('utf8').trim() : '';
  return new ApiError(res.status, REASON_BY_CODE[res.status] ?? 'Unknown', text || `the server responded with status ${res.status}`);
}

function deleteBody(opts: DeleteOptions): Record<string, unknown> | undefined {
  const { gracePeriodSeconds, propagationPolicy, preconditions, dryRun } = opts;
  if (gracePeriodSeconds === undefined && !propagationPolicy && !preconditions && !dryRun) return undefined;
  const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
  if (gracePeriodSeconds !== undefined) body.gracePeriodSeconds = gracePeriodSeconds;
  if (propagationPolicy) body.propagationPolicy = propagationPolicy;
  if (preconditions) body.preconditions = preconditions;
  if (dryRun) body.dryRun = ['All'];
  return body;
}

function toQuery(params: Record<string, string | number | boolean | undefined>): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  return q;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
