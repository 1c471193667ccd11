// /metrics in Prometheus' text format, with upstream's metric names and labels:
// apiserver_request_total, apiserver_request_duration_seconds, apiserver_longrunning_requests,
// apiserver_registered_watchers, apiserver_watch_events_total, and the storage latencies
// kube-apiserver reports for etcd (etcd_request_duration_seconds, etcd_requests_total).
import type { Registry } from '../api/registry.js';
import type { ApiHandler, ApiRequest, ApiResponse } from '../api/request.js';
import type { Store } from '../store/store.js';

/** kube-apiserver's buckets for request and etcd latencies (seconds). */
export const LATENCY_BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  // A metric's label sets share one shape: its sorted order is worked out once.
  const shape = keys.join(',');
  let sorted = SORTED_SHAPES.get(shape);
  if (sorted === undefined) SORTED_SHAPES.set(shape, (sorted = [...keys].sort()));
  let out = '{';
  for (let i = 0; i < sorted.length; i++) {
    const k = sorted[i]!;
    out += `${i ? ',' : ''}${k}="${escapeLabel(labels[k]!)}"`;
  }
  return out + '}';
}

const SORTED_SHAPES = new Map<string, string[]>();

/** Prometheus' escaping of a label value; most values have nothing to escape. */
function escapeLabel(v: string): string {
  return NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

const NEEDS_ESCAPE = /[\\"\n]/;

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' = 'counter',
  ) {}
  add(labels: Labels, by = 1): void {
    this.addUnder(labelText(labels), labels, by);
  }
  /** An adder for one label set, for hot paths that count under the same labels again and again. */
  series(labels: Labels): (by?: number) => void {
    const key = labelText(labels);
    return (by = 1) => this.addUnder(key, labels, by);
  }
  private addUnder(key: string, labels: Labels, by: number): void {
    const v = this.values.get(key);
    if (v) v.value += by;
    else this.values.set(key, { labels, value: by });
  }
  get(labels: Labels): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const [key, v] of this.values) out.push(`${this.name}${key} ${v.value}`);
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets = LATENCY_BUCKETS,
  ) {}
  observe(labels: Labels, seconds: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (seconds <= this.buckets[i]) s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
  }
}

export class ApiMetrics {
  readonly requestTotal = new Counter(
    'apiserver_request_total',
    'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
  );
  readonly requestDuration = new Histogram(
    'apiserver_request_duration_seconds',
    'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
  );
  readonly longRunning = new Counter(
    'apiserver_longrunning_requests',
    'Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.',
    'gauge',
  );
  readonly registeredWatchers = new Counter(
    'apiserver_registered_watchers',
    'Number of currently registered watchers for a given resources',
    'gauge',
  );
  readonly watchEvents = new Counter('apiserver_watch_events_total', 'Number of events sent in watch clients');
  readonly etcdDuration = new Histogram('etcd_request_duration_seconds', 'Etcd request latency in seconds for each operation and object type.');
  readonly etcdTotal = new Counter('etcd_requests_total', 'Etcd request counts for each operation and object type.');

  render(): string {
    const out: string[] = [];
    for (const m of [this.requestTotal, this.requestDuration, this.longRunning, this.registeredWatchers, this.watchEvents, this.etcdDuration, this.etcdTotal]) {
      m.render(out);
    }
    return out.join('\n') + '\n';
  }
}

/** What upstream's RequestInfo resolver makes of a request, for metric labels. */
export interface RequestLabels {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  /** the kind is not known here; watchers are counted by resource */
  isResource: boolean;
}

const CONNECT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);

export function requestLabels(req: Pick<ApiRequest, 'method' | 'path' | 'query' | 'headers'>): RequestLabels {
  const parts = req.path.split('/').filter(Boolean);
  let group = '';
  let version = '';
  let rest: string[] = [];
  if (parts[0] === 'api' && parts.length >= 2) {
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  }
  let watch = false;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespaced = false;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespaced = true;
    rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1];
  const subresource = rest[2] ?? '';
  const method = req.method.toUpperCase();
  if (!resource) return { verb: method, group: '', version: '', resource: '', subresource: '', scope: '', isResource: false };
  const w = req.query.get('watch');
  if (w !== null && !(w === '0' || w.toLowerCase() === 'false')) watch = true;
  let verb = method;
  if (CONNECT_SUBRESOURCES.has(subresource)) verb = 'CONNECT';
  else if (method === 'GET') verb = watch ? 'WATCH' : name ? 'GET' : 'LIST';
  else if (method === 'PATCH' && (req.headers['content-type'] ?? '').startsWith('application/apply-patch')) verb = 'APPLY';
  else if (method === 'DELETE' && !name) verb = 'DELETECOLLECTION';
  const scope = name ? 'resource' : namespaced ? 'namespace' : 'cluster';
  return { verb, group, version, resource, subresource, scope, isResource: true };
}

/** The handler with every request counted and timed, and GET /metrics answered. */
export function instrumentHandler(handler: ApiHandler, metrics: ApiMetrics, registry?: Registry): ApiHandler {
  return async (req) => {
    if (req.path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      return { status: 200, body: metrics.render(), headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' } };
    }
    const started = process.hrtime.bigint();
    const l = requestLabels(req);
    const base: Record<string, string> = {
      verb: l.verb,
      dry_run: req.query.getAll('dryRun').join(','),
      group: l.group,
      version: l.version,
      resource: l.resource,
      subresource: l.subresource,
      scope: l.scope,
      component: 'apiserver',
    };
    const res: ApiResponse = await handler(req);
    metrics.requestTotal.add({ ...base, code: String(res.status) });
    if (!res.stream) {
      metrics.requestDuration.observe(base, Number(process.hrtime.bigint() - started) / 1e9);
      return res;
    }
    const kind = registry?.resource(l.group, l.version, l.resource)?.kind ?? l.resource;
    return { ...res, stream: countedStream(res, metrics, base, l, kind, started) };
  };
}

function countedStream(res: ApiResponse, metrics: ApiMetrics, base: Record<string, string>, l: RequestLabels, kind: string, started: bigint): ApiResponse['stream'] {
  const inner = res.stream!;
  const gauge = { verb: l.verb, group: l.group, version: l.version, resource: l.resource, subresource: l.subresource, scope: l.scope, component: 'apiserver' };
  const watchers = { group: l.group, version: l.version, kind };
  const isWatch = l.verb === 'WATCH';
  const countEvent = metrics.watchEvents.series(watchers);
  let open = false;
  const finish = () => {
    if (!open) return;
    open = false;
    metrics.longRunning.add(gauge, -1);
    if (isWatch) metrics.registeredWatchers.add(watchers, -1);
    metrics.requestDuration.observe(base, Number(process.hrtime.bigint() - started) / 1e9);
  };
  return {
    start(send, end) {
      open = true;
      metrics.longRunning.add(gauge, 1);
      if (isWatch) metrics.registeredWatchers.add(watchers, 1);
      inner.start(
        (chunk) => {
          if (isWatch && typeof chunk === 'object' && !Buffer.isBuffer(chunk)) countEvent();
          send(chunk);
        },
        () => {
          finish();
          end();
        },
      );
    },
    stop() {
      finish();
      inner.stop();
    },
  };
}

/** The storage type upstream labels etcd metrics with: the resource, with its group when it has one. */
function storageType(key: string): string {
  // upstream's layout (src/store/registry-keys.ts): /registry/<resource or its historical name>/...,
  // custom resources and CRDs under /registry/<group>/<plural>/...; read segment by segment
  // rather than split, as every store call asks
  const PREFIX = '/registry/';
  if (!key.startsWith(PREFIX)) return 'unknown';
  const segment = (from: number) => {
    const end = key.indexOf('/', from);
    return end < 0 ? key.slice(from) : key.slice(from, end);
  };
  const first = segment(PREFIX.length);
  if (!first) return 'unknown';
  const second = () => segment(PREFIX.length + first.length + 1);
  if (first === 'services') {
    const sub = second();
    if (sub === 'specs' || sub === 'endpoints') return sub === 'specs' ? 'services' : 'endpoints';
  }
  if (HISTORICAL_NAMES[first]) return HISTORICAL_NAMES[first];
  if (first.includes('.')) {
    const plural = second();
    if (plural) return `${plural}.${first}`;
  }
  return first;
}
const HISTORICAL_NAMES: Record<string, string> = { minions: 'nodes', controllers: 'replicationcontrollers', ingress: 'ingresses' };

const TIMED_OPERATIONS = new Set(['get', 'list', 'create', 'update', 'delete']);

/** The store with each read and write timed under etcd_request_duration_seconds{operation,type}. */
export function instrumentStore<S extends Store>(store: S, metrics: ApiMetrics): S {
  // One wrapper per method, made on first use: the proxy sits under every store call.
  const wrapped = new Map<string | symbol, { of: unknown; fn: unknown }>();
  const labelsByType = new Map<string, Labels>();
  const labelsFor = (operation: string, key: string): Labels => {
    const type = storageType(key);
    const id = `${operation} ${type}`;
    let labels = labelsByType.get(id);
    if (labels === undefined) labelsByType.set(id, (labels = { operation, type }));
    return labels;
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const known = wrapped.get(prop);
      if (known !== undefined && known.of === value) return known.fn;
      const operation = prop as string;
      const fn =
        typeof prop !== 'string' || !TIMED_OPERATIONS.has(prop)
          ? value.bind(target)
          : // no async frame of its own: the call's promise is answered as it is, timed on its way
            (key: string, ...rest: unknown[]) => {
              const started = performance.now();
              const record = () => {
                const labels = labelsFor(operation, key);
                metrics.etcdDuration.observe(labels, (performance.now() - started) / 1000);
                metrics.etcdTotal.add(labels);
              };
              let answer: Promise<unknown>;
              try {
                answer = Promise.resolve(value.call(target, key, ...rest));
              } catch (e) {
                record();
                return Promise.reject(e);
              }
              answer.then(record, record);
              return answer;
            };
      wrapped.set(prop, { of: value, fn });
      return fn;
    },
  });
}
