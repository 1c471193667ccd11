// Bad input from outside, over the real HTTPS port of a real `petset up`: mutated objects of
// every registered kind (type flips, nulls, huge and negative numbers, deep nesting, long
// strings, lists for objects and back) sent as creates, updates and every patch format,
// malformed bodies of every content type, odd query parameters, and the cases that once took
// the server down. No answer may be a 5xx, the process must stay up and ready, and `up` must
// start again on the same data directory afterwards.
//
// Bounded in time: FUZZ_SECONDS (default 40) of random requests; FUZZ_SEED replays a run.
import assert from 'node:assert/strict';
import https from 'node:https';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import yaml from 'js-yaml';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import type { AnyKindDef } from '../../src/api/registry.js';
import { startCluster, type Cluster } from '../e2e/harness.js';
import { waitFor } from '../support/server.js';

const FUZZ_MS = Number(process.env.FUZZ_SECONDS ?? 40) * 1000;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const NS = 'fuzz';

interface Answer {
  status: number;
  body: string;
  warnings: string[];
}

/** A keep-alive HTTPS client with the kubeconfig's CA and token. */
class Raw {
  private readonly agent: https.Agent;
  constructor(
    readonly url: URL,
    readonly ca: string,
    readonly token: string,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca });
  }

  static fromKubeconfig(file: string): Raw {
    const kc = yaml.load(fs.readFileSync(file, 'utf8')) as any;
    const cluster = kc.clusters[0].cluster;
    return new Raw(new URL(cluster.server), Buffer.from(cluster['certificate-authority-data'], 'base64').toString(), kc.users[0].user.token);
  }

  request(method: string, path: string, body?: string | Buffer, contentType?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
      if (body !== undefined) {
        headers['Content-Length'] = Buffer.byteLength(body);
        if (contentType !== undefined) headers['Content-Type'] = contentType;
      }
      const req = https.request(
        { hostname: this.url.hostname, port: this.url.port, path, method, headers, agent: this.agent, timeout: 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const warnings: string[] = [];
            for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i].toLowerCase() === 'warning') warnings.push(res.rawHeaders[i + 1]);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), warnings });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      if (body !== undefined) req.end(body);
      else req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A small seeded generator (mulberry32), so a failing run can be replayed with FUZZ_SEED. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}

function nest(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** One valid object of every kind petset serves (namespaced ones in NS). */
function seeds(name: string): Record<string, any> {
  const meta = (extra: Record<string, unknown> = {}) => ({ name, labels: { app: 'fuzz' }, ...extra });
  const podSpec = {
    containers: [
      {
        name: 'c',
        image: 'busybox',
        command: ['sleep', '3600'],
        ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }],
        env: [{ name: 'A', value: 'b' }],
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
        readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 10 },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
    tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
    terminationGracePeriodSeconds: 0,
  };
  return {
    Namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: meta() },
    Pod: { apiVersion: 'v1', kind: 'Pod', metadata: meta(), spec: { ...podSpec, nodeName: 'no-such-node' } },
    Service: { apiVersion: 'v1', kind: 'Service', metadata: meta(), spec: { selector: { app: 'fuzz' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
    Endpoints: { apiVersion: 'v1', kind: 'Endpoints', metadata: meta(), subsets: [{ addresses: [{ ip: '10.9.0.1' }], ports: [{ name: 'http', port: 80 }] }] },
    ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(), data: { a: 'b' }, binaryData: { c: 'ZA==' } },
    Secret: { apiVersion: 'v1', kind: 'Secret', metadata: meta(), type: 'Opaque', data: { a: 'Yg==' }, stringData: { c: 'd' } },
    Event: {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: meta(),
      involvedObject: { kind: 'Pod', name: 'x', namespace: NS },
      reason: 'Fuzz',
      message: 'fuzzing',
      type: 'Normal',
      count: 1,
      firstTimestamp: '2026-01-01T00:00:00Z',
    },
    Node: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: meta(),
      spec: { unschedulable: true, taints: [{ key: 'fuzz', value: 'x', effect: 'NoSchedule' }] },
      status: { capacity: { cpu: '1', memory: '1Gi', pods: '10' }, conditions: [{ type: 'Ready', status: 'False' }] },
    },
    PersistentVolume: {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: meta(),
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/fuzz' }, persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'fuzz-none' },
    },
    PersistentVolumeClaim: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta(),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'fuzz-none' },
    },
    ServiceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(), automountServiceAccountToken: false },
    StatefulSet: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta(),
      spec: {
        replicas: 0,
        serviceName: 'fuzz',
        selector: { matchLabels: { app: 'fuzz' } },
        template: { metadata: { labels: { app: 'fuzz' } }, spec: podSpec },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
        volumeClaimTemplates: [{ metadata: { name: 'claim' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    },
    ControllerRevision: { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: meta(), data: { spec: { template: { a: 1 } } }, revision: 1 },
    StorageClass: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: meta(),
      provisioner: 'fuzz.example.com/none',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
      parameters: { a: 'b' },
    },
    Lease: {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: meta(),
      spec: { holderIdentity: 'me', leaseDurationSeconds: 10, renewTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 0 },
    },
    EndpointSlice: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: meta(),
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.9.0.1'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    },
    VolumeAttachment: {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: meta(),
      spec: { attacher: 'fuzz.example.com/none', source: { persistentVolumeName: 'fuzz-pv' }, nodeName: 'no-such-node' },
      status: { attached: false, attachmentMetadata: { a: 'b' }, attachError: { time: '2026-01-01T00:00:00Z', message: 'x' } },
    },
    NetworkPolicy: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(),
      spec: { podSelector: { matchLabels: { app: 'fuzz' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80, protocol: 'TCP' }], from: [{ podSelector: {} }] }] },
    },
    ReplicationController: {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: meta(),
      spec: { replicas: 0, selector: { app: 'fuzz' }, template: { metadata: { labels: { app: 'fuzz' } }, spec: podSpec } },
    },
    Deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(),
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'fuzz' } },
        template: { metadata: { labels: { app: 'fuzz' } }, spec: podSpec },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      },
    },
    ReplicaSet: {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: meta(),
      spec: { replicas: 0, selector: { matchLabels: { app: 'fuzz' } }, template: { metadata: { labels: { app: 'fuzz' } }, spec: podSpec } },
    },
    DaemonSet: {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta(),
      spec: { selector: { matchLabels: { app: 'fuzz-ds' } }, template: { metadata: { labels: { app: 'fuzz-ds' } }, spec: { ...podSpec, nodeSelector: { 'fuzz-none': 'x' } } } },
    },
    Job: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta(),
      spec: { suspend: true, backoffLimit: 0, template: { metadata: { labels: { app: 'fuzz-job' } }, spec: { ...podSpec, restartPolicy: 'Never' } } },
    },
    CronJob: {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta(),
      spec: { schedule: '*/5 * * * *', suspend: true, jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: 'OnFailure' } } } } },
    },
    Ingress: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(),
      spec: { rules: [{ host: 'fuzz.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'fuzz', port: { number: 80 } } } }] } }] },
    },
    PodDisruptionBudget: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(),
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'fuzz' } } },
    },
  };
}

/** A valid object of the kind: the hand-written seed, or (for a kind added since) its bare metadata. */
function seedFor(kind: AnyKindDef, name: string): any {
  const s = seeds(name)[kind.kind];
  if (s) return s;
  return { apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version, kind: kind.kind, metadata: { name, labels: { app: 'fuzz' } } };
}

function collectPaths(v: unknown, path: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) v.forEach((c, i) => (out.push([...path, i]), collectPaths(c, [...path, i], out)));
  else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) out.push([...path, k]), collectPaths(c, [...path, k], out);
  return out;
}

function setPath(obj: any, path: Array<string | number>, value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) cur = cur[path[i]];
  if (value === undefined) {
    if (Array.isArray(cur)) cur.splice(path[path.length - 1] as number, 1);
    else delete cur[path[path.length - 1]];
  } else cur[path[path.length - 1]] = value;
}

const NASTY: unknown[] = [
  null,
  1e308,
  -1e308,
  -1,
  0,
  1.5,
  2147483648,
  2147483647,
  100_000,
  -2147483649,
  9007199254740993,
  true,
  false,
  '',
  'None',
  '1Gx',
  '-1',
  '100%',
  '2026-13-45T99:99:99Z',
  '\u0000\uffff',
  'x'.repeat(300),
  [],
  [null],
  [1, 'a', {}, []],
  {},
  { a: null },
  { foo: { bar: [1, 2] } },
];

function nastyValue(r: ReturnType<typeof rng>): unknown {
  const k = r.int(20);
  if (k === 0) return 'y'.repeat(100_000 + r.int(200_000));
  if (k === 1) return nest(5 + r.int(60));
  if (k === 2) return Array.from({ length: 1000 }, (_, i) => i);
  const v = r.pick(NASTY);
  // a copy: a later mutation inside it must not reach the shared value (or make a cycle)
  return v === null || typeof v !== 'object' ? v : JSON.parse(JSON.stringify(v));
}

function mutate(obj: any, r: ReturnType<typeof rng>): any {
  const out = JSON.parse(JSON.stringify(obj));
  const rounds = 1 + r.int(3);
  for (let i = 0; i < rounds; i++) {
    const paths = collectPaths(out).filter((p) => !(p.length === 2 && p[0] === 'metadata' && (p[1] === 'name' || p[1] === 'namespace')) && p[0] !== 'apiVersion' && p[0] !== 'kind');
    if (!paths.length) break;
    const p = r.pick(paths);
    const op = r.int(10);
    if (op === 0) setPath(out, p, undefined);
    else if (op === 1) {
      // an unknown field next to a known one
      const parent = p.slice(0, -1);
      let cur = out;
      for (const k of parent) cur = cur[k];
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) cur[`fuzz${r.int(100)}`] = nastyValue(r);
    } else setPath(out, p, nastyValue(r));
  }
  return out;
}

function pathFor(kind: AnyKindDef, name?: string, sub?: string): string {
  const base = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
  const ns = kind.namespaced ? `/namespaces/${NS}` : '';
  return `${base}${ns}/${kind.plural}${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
}

const UPSTREAM_5XX = [
  /"reason":"Timeout".*"ResourceVersionTooLarge"/,
  /^\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"\[?target\.(kind|name): /,
  /"message":"This pod has more than one PodDisruptionBudget, which the eviction subresource does not support\."/,
];

class Tally {
  requests = 0;
  byStatus = new Map<number, number>();
  fivexx: string[] = [];
  /**
   * Upstream's own 5xx, kept on purpose: a list or watch from a future resourceVersion (a 504
   * the client retries), a binding whose target is unusable (the bare aggregate upstream
   * reports as a 500) and an eviction of a pod under two budgets (upstream's 500).
   */
  upstream5xx = 0;
  transportErrors: string[] = [];
  note(what: string, a: Answer): void {
    this.requests++;
    this.byStatus.set(a.status, (this.byStatus.get(a.status) ?? 0) + 1);
    if (UPSTREAM_5XX.some((re) => re.test(a.body)) && a.status >= 500) this.upstream5xx++;
    else if (a.status >= 500) this.fivexx.push(`${what} -> ${a.status} ${a.body.slice(0, 300)}`);
  }
  summary(): string {
    const codes = [...this.byStatus.entries()].sort((a, b) => a[0] - b[0]);
    const sum = (lo: number, hi: number) => codes.filter(([c]) => c >= lo && c < hi).reduce((n, [, k]) => n + k, 0);
    return [
      `requests ${this.requests}, 2xx ${sum(200, 300)}, 4xx ${sum(400, 500)}, 5xx ${sum(500, 600)} (of which ${this.upstream5xx} upstream's own: future resourceVersion, unusable binding target, two budgets), transport errors ${this.transportErrors.length}`,
      `by code: ${codes.map(([c, n]) => `${c}=${n}`).join(' ')}`,
    ].join('\n');
  }
}

describe('fuzzing the API over HTTPS', { timeout: FUZZ_MS + 240_000 }, () => {
  let cluster: Cluster;
  let raw: Raw;
  const registry = defaultRegistry();
  const tally = new Tally();

  const send = async (what: string, method: string, path: string, body?: string | Buffer, ct?: string): Promise<Answer | undefined> => {
    try {
      const a = await raw.request(method, path, body, ct);
      tally.note(what, a);
      return a;
    } catch (e) {
      tally.transportErrors.push(`${what}: ${(e as Error).message}`);
      return undefined;
    }
  };

  before(async () => {
    cluster = await startCluster();
    raw = Raw.fromKubeconfig(cluster.kubeconfig);
    const ns = await raw.request('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }), 'application/json');
    assert.equal(ns.status, 201, ns.body);
    // a fuzzed workload may ask for 2^31-1 replicas: as on a real cluster, a quota bounds the
    // pods it can make, so the server is not busy creating pods by the thousand while checked
    const quota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'fuzz-pod-cap' }, spec: { hard: { pods: '300' } } };
    const q = await raw.request('POST', `/api/v1/namespaces/${NS}/resourcequotas`, JSON.stringify(quota), 'application/json');
    assert.equal(q.status, 201, q.body);
  });

  after(async () => {
    raw?.close();
    await cluster?.stop();
  });

  it('answers the cases that once crashed the server or got a 5xx with upstream 4xx answers', async () => {
    const sts = seeds('crash-sts').StatefulSet;
    const stsKind = registry.resource('apps', 'v1', 'statefulsets')!;
    const big = await raw.request('POST', pathFor(stsKind), JSON.stringify({ ...sts, spec: { ...sts.spec, replicas: 2147483648 } }), 'application/json');
    assert.equal(big.status, 400, big.body);
    assert.equal(
      JSON.parse(big.body).message,
      'StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal number 2147483648 into Go struct field StatefulSetSpec.spec.replicas of type int32',
    );

    const pvcKind = registry.resource('', 'v1', 'persistentvolumeclaims')!;
    const pvc = seeds('crash-pvc').PersistentVolumeClaim;
    pvc.spec.resources.requests.storage = '1Gx';
    const q = await raw.request('POST', pathFor(pvcKind), JSON.stringify(pvc), 'application/json');
    assert.equal(q.status, 400, q.body);
    assert.equal(
      JSON.parse(q.body).message,
      "PersistentVolumeClaim in version \"v1\" cannot be handled as a PersistentVolumeClaim: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );

    const nodeKind = registry.resource('', 'v1', 'nodes')!;
    const node = seeds('crash-node').Node;
    node.spec.taints = 1e308;
    const n = await raw.request('POST', pathFor(nodeKind), JSON.stringify(node), 'application/json');
    assert.equal(n.status, 400, n.body);
    // encoding/json names the literal only for numeric fields
    assert.match(JSON.parse(n.body).message, /json: cannot unmarshal number into Go struct field NodeSpec\.spec\.taints of type \[\]v1\.Taint$/);
    node.spec.taints = [{ key: 'k', effect: 'NoSchedule', timeAdded: 1e308 }];
    const n2 = await raw.request('POST', pathFor(nodeKind), JSON.stringify(node), 'application/json');
    assert.equal(n2.status, 400, n2.body);
    assert.match(JSON.parse(n2.body).message, /json: cannot unmarshal number into Go value of type string$/);
    node.spec = { podCIDR: '10.0.0.0/24', unschedulable: 1e308 };
    const n3 = await raw.request('POST', pathFor(nodeKind), JSON.stringify(node), 'application/json');
    assert.match(JSON.parse(n3.body).message, /json: cannot unmarshal number into Go struct field NodeSpec\.spec\.unschedulable of type bool$/);

    const pvKind = registry.resource('', 'v1', 'persistentvolumes')!;
    const pv = { ...seeds('crash-pv').PersistentVolume, spec: 'None' };
    const p = await raw.request('POST', pathFor(pvKind), JSON.stringify(pv), 'application/json');
    assert.equal(p.status, 400, p.body);
    assert.match(JSON.parse(p.body).message, /cannot unmarshal string into Go struct field PersistentVolume\.spec of type v1\.PersistentVolumeSpec/);

    const podKind = registry.resource('', 'v1', 'pods')!;
    const pod = seeds('crash-pod').Pod;
    pod.spec.containers[0].ports = [null];
    const pp = await raw.request('POST', pathFor(podKind), JSON.stringify(pod), 'application/json');
    assert.equal(pp.status, 422, pp.body); // a null list element is a zero ContainerPort: containerPort is required
    assert.match(JSON.parse(pp.body).message, /spec\.containers\[0\]\.ports\[0\]\.containerPort/);

    // nesting: refused before anything stores or walks it
    const deep = { ...seeds('crash-deep').StatefulSet };
    deep.spec = { ...deep.spec, template: { ...deep.spec.template, metadata: { labels: { app: 'fuzz' }, annotations: {} }, deep: nest(4000) } };
    const d = await raw.request('POST', pathFor(stsKind), JSON.stringify(deep), 'application/json');
    assert.equal(d.status, 400, d.body);
    assert.match(JSON.parse(d.body).message, /exceeded max depth/);

    // media types
    for (const ct of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '*/*', 'garbage']) {
      const m = await raw.request('POST', pathFor(registry.resource('', 'v1', 'configmaps')!), JSON.stringify(seeds('mt').ConfigMap), ct);
      assert.equal(m.status, 415, `${ct}: ${m.body}`);
      assert.equal(
        JSON.parse(m.body).message,
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
      );
    }

    // a 399-byte YAML with 6 levels of aliases
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i <= 6; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`);
    }
    const bomb = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  annotations:\n${levels.map((l) => `    ${l}`).join('\n')}\n`;
    assert.ok(bomb.length < 600, `bomb is ${bomb.length} bytes`);
    const b = await raw.request('POST', pathFor(registry.resource('', 'v1', 'configmaps')!), bomb, 'application/yaml');
    assert.equal(b.status, 400, b.body);
    assert.equal(JSON.parse(b.body).message, 'error converting YAML to JSON: yaml: document contains excessive aliasing');

    // duplicate and unknown fields: warnings by default, errors under Strict, dropped before storing
    const cmPath = pathFor(registry.resource('', 'v1', 'configmaps')!);
    const dupText = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1","a":"2"},"spec":{"foo":1}}';
    const strict = await raw.request('POST', `${cmPath}?fieldValidation=Strict`, dupText, 'application/json');
    assert.equal(strict.status, 400, strict.body);
    assert.equal(JSON.parse(strict.body).message, 'strict decoding error: duplicate field "data.a", unknown field "spec"');
    const warn = await raw.request('POST', cmPath, dupText, 'application/json');
    assert.equal(warn.status, 201, warn.body);
    assert.deepEqual(warn.warnings.sort(), ['299 - "duplicate field \\"data.a\\""', '299 - "unknown field \\"spec\\""']);
    const stored = JSON.parse(warn.body);
    assert.equal(stored.spec, undefined);
    assert.deepEqual(stored.data, { a: '2' });

    // Strict on patches: upstream's Invalid "patch" field
    const mp = await raw.request('PATCH', `${cmPath}/dup?fieldValidation=Strict`, '{"data":{"b":"c"},"foo":{"bar":1}}', 'application/merge-patch+json');
    assert.equal(mp.status, 422, mp.body);
    assert.match(JSON.parse(mp.body).message, /patch: Invalid value: ".*": strict decoding error: unknown field "foo"$/);
    const smp = await raw.request('PATCH', `${cmPath}/dup`, '{"data":{"b":"c"},"foo":{"bar":1}}', 'application/strategic-merge-patch+json');
    assert.equal(smp.status, 200, smp.body);
    assert.deepEqual(smp.warnings, ['299 - "unknown field \\"foo\\""']);
    assert.equal(JSON.parse(smp.body).foo, undefined);
    const dupPatch = await raw.request('PATCH', `${cmPath}/dup?fieldValidation=Strict`, '{"data":{"x":"1","x":"2"}}', 'application/merge-patch+json');
    assert.equal(dupPatch.status, 422, dupPatch.body);
    assert.match(JSON.parse(dupPatch.body).message, /strict decoding error: duplicate field "data\.x"$/);
    const dupWarn = await raw.request('PATCH', `${cmPath}/dup`, '{"data":{"x":"1","x":"2"}}', 'application/strategic-merge-patch+json');
    assert.equal(dupWarn.status, 200, dupWarn.body);
    assert.deepEqual(dupWarn.warnings, ['299 - "duplicate field \\"data.x\\""']);
    const jp = await raw.request('PATCH', `${cmPath}/dup?fieldValidation=Strict`, '[{"op":"add","path":"/spec","value":{}}]', 'application/json-patch+json');
    assert.equal(jp.status, 422, jp.body);

    // sizes: the request limit, and the store's limit on one object
    const huge = await raw.request('POST', cmPath, JSON.stringify({ ...seeds('huge').ConfigMap, data: { a: 'x'.repeat(3 * 1024 * 1024) } }), 'application/json');
    assert.equal(huge.status, 413, huge.body);
    assert.equal(JSON.parse(huge.body).message, 'Request entity too large: limit is 3145728');
    // under 3 MiB to read, over what one stored object may be (etcd's 1.5 MiB), by create or by patches
    const leasePath = pathFor(registry.resource('coordination.k8s.io', 'v1', 'leases')!);
    const bigLease = { ...seeds('big').Lease, spec: { holderIdentity: 'x'.repeat(2 * 1024 * 1024) } };
    const tooBig = await raw.request('POST', leasePath, JSON.stringify(bigLease), 'application/json');
    assert.equal(tooBig.status, 413, tooBig.body);
    assert.equal(JSON.parse(tooBig.body).message, 'etcdserver: request is too large');
    assert.equal((await raw.request('POST', leasePath, JSON.stringify(seeds('grow').Lease), 'application/json')).status, 201);
    let grew: Answer | undefined;
    for (let i = 1; i <= 6; i++) {
      grew = await raw.request('PATCH', `${leasePath}/grow`, JSON.stringify({ spec: { holderIdentity: 'y'.repeat(i * 300 * 1024) } }), 'application/merge-patch+json');
      if (grew.status !== 200) break;
    }
    assert.equal(grew!.status, 413, grew!.body);
    assert.equal(JSON.parse(grew!.body).message, 'etcdserver: request is too large');
    const stays = JSON.parse((await raw.request('GET', `${leasePath}/grow`)).body);
    assert.ok(JSON.stringify(stays).length < 1.5 * 1024 * 1024);
  });

  it(`survives ${FUZZ_MS / 1000}s of mutated objects of every kind and malformed bodies (seed ${SEED})`, async () => {
    const r = rng(SEED);
    const kinds = registry.kinds;
    // an existing object of every kind, for updates and patches
    const unseeded: string[] = [];
    for (const kind of kinds) {
      const a = await send(`seed ${kind.kind}`, 'POST', pathFor(kind), JSON.stringify(seedFor(kind, `seed-${kind.plural}`)), 'application/json');
      // a kind without a hand-written seed may refuse the bare one; it is fuzzed all the same
      // (kinds petset lists but runs no controller for refuse writes with a 405)
      if (seeds('x')[kind.kind] && a?.status !== 405) assert.ok(a && a.status === 201, `${kind.kind}: ${a?.status} ${a?.body}`);
      else if (a?.status !== 201) unseeded.push(`${kind.kind} (${a?.status})`);
    }
    if (unseeded.length) console.log(`kinds without a valid seed object (fuzzed from a bare one): ${unseeded.join(', ')}`);
    const kindsSeen = new Set<string>();
    let counter = 0;
    const deadline = Date.now() + FUZZ_MS;

    const oneRequest = async (): Promise<void> => {
      const kind = r.pick(kinds);
      kindsSeen.add(`${kind.group}/${kind.version}/${kind.kind}`);
      const seedName = `seed-${kind.plural}`;
      const name = `f${counter++}`;
      const seed = seedFor(kind, name);
      const mutated = mutate(seed, r);
      const choice = r.int(14);
      const what = `${kind.kind} #${choice}`;
      switch (choice) {
        case 0:
        case 1:
        case 2:
          await send(`${what} create json`, 'POST', pathFor(kind) + r.pick(['', '?fieldValidation=Strict', '?fieldValidation=Ignore', '?dryRun=All']), JSON.stringify(mutated), 'application/json');
          return;
        case 3:
          await send(`${what} create yaml`, 'POST', pathFor(kind), yaml.dump(mutated, { noRefs: true }), 'application/yaml');
          return;
        case 4: {
          const m = mutate(seedFor(kind, seedName), r);
          await send(`${what} update`, 'PUT', pathFor(kind, seedName), JSON.stringify(m), 'application/json');
          return;
        }
        case 5: {
          const m = mutate(seedFor(kind, seedName), r);
          await send(`${what} update status`, 'PUT', pathFor(kind, seedName, 'status'), JSON.stringify(m), 'application/json');
          return;
        }
        case 6: {
          const m = mutate(seedFor(kind, seedName), r);
          delete m.apiVersion;
          delete m.kind;
          delete m.metadata;
          await send(`${what} merge patch`, 'PATCH', pathFor(kind, seedName) + r.pick(['', '?fieldValidation=Strict']), JSON.stringify(m), 'application/merge-patch+json');
          return;
        }
        case 7: {
          const m = mutate(seedFor(kind, seedName), r);
          delete m.metadata;
          await send(`${what} strategic patch`, 'PATCH', pathFor(kind, seedName), JSON.stringify(m), 'application/strategic-merge-patch+json');
          return;
        }
        case 8: {
          const paths = collectPaths(seedFor(kind, seedName)).filter((p) => p[0] !== 'metadata');
          const p = paths.length ? r.pick(paths) : ['x'];
          const ops = [{ op: r.pick(['add', 'replace', 'remove', 'test', 'move', 'copy', 'bogus']), path: '/' + p.join('/'), from: '/metadata/labels', value: nastyValue(r) }];
          await send(`${what} json patch`, 'PATCH', pathFor(kind, seedName), JSON.stringify(ops), 'application/json-patch+json');
          return;
        }
        case 9: {
          const m = mutate(seedFor(kind, seedName), r);
          await send(`${what} apply`, 'PATCH', pathFor(kind, seedName) + '?fieldManager=fuzz&force=true', yaml.dump(m, { noRefs: true }), 'application/apply-patch+yaml');
          return;
        }
        case 10: {
          // malformed bodies of every content type
          const text = JSON.stringify(seed);
          const bodies: Array<string | Buffer> = [
            text.slice(0, r.int(text.length)),
            text + '}',
            'null',
            '[]',
            '"s"',
            '1e999',
            '['.repeat(20_000),
            '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
            Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256))),
            Buffer.concat([Buffer.from('k8s\0'), Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256)))]),
            ': : :\n\t- [',
            'a: &a [*a]',
            '{"metadata":{"name":"' + '\\u0000'.repeat(10) + '"}}',
          ];
          const ct = r.pick([
            'application/json',
            'application/yaml',
            'application/vnd.kubernetes.protobuf',
            'application/merge-patch+json',
            'application/json-patch+json',
            'application/strategic-merge-patch+json',
            'application/apply-patch+yaml',
            'text/plain',
            '',
          ]);
          const method = ct.includes('patch') ? 'PATCH' : r.pick(['POST', 'PUT', 'PATCH', 'DELETE']);
          const path = method === 'POST' ? pathFor(kind) : pathFor(kind, seedName);
          await send(`${what} malformed ${method} ${ct}`, method, path, r.pick(bodies), ct || undefined);
          return;
        }
        case 11: {
          // odd query parameters
          const q = r.pick([
            // (Node's HTTP parser refuses request heads over 16 KiB with a 431; upstream's limit is 1 MiB)
            `labelSelector=${encodeURIComponent('a in (' + 'x,'.repeat(1500) + 'y)')}`,
            `fieldSelector=${encodeURIComponent('metadata.name=' + 'x'.repeat(8000))}`,
            'labelSelector=%%%',
            'limit=-5',
            'limit=abc',
            'limit=99999999999999999999',
            'resourceVersion=abc',
            'resourceVersion=99999999999',
            'resourceVersionMatch=Exact',
            'continue=garbage',
            'fieldValidation=Bogus',
            'dryRun=Maybe',
            `x=${'y'.repeat(10_000)}`,
            'watch=true&timeoutSeconds=1&resourceVersion=abc',
            'watch=true&timeoutSeconds=1&resourceVersion=0&labelSelector=a%3D%3D%3Db',
            'watch=1&timeoutSeconds=1&allowWatchBookmarks=maybe&sendInitialEvents=true&resourceVersionMatch=NotOlderThan',
            'watch=true&timeoutSeconds=1&fieldSelector=spec.bogus%3Dx',
          ]);
          await send(`${what} list ${q.slice(0, 40)}`, 'GET', `${pathFor(kind)}?${q}`);
          return;
        }
        case 12: {
          const q = r.pick(['gracePeriodSeconds=-1', 'gracePeriodSeconds=abc', 'propagationPolicy=Bogus', 'dryRun=All', 'orphanDependents=maybe']);
          const body = r.pick([
            undefined,
            '{"preconditions":{"uid":5}}',
            '{"gracePeriodSeconds":"x"}',
            '{"gracePeriodSeconds":1e308}',
            '{"gracePeriodSeconds":-1e15}',
            '{"gracePeriodSeconds":9000000000000000000}',
            '{"propagationPolicy":1e308}',
            '{"dryRun":"All"}',
            '{"preconditions":null,"orphanDependents":"yes"}',
            'garbage',
          ]);
          // an object an earlier request may have created (or not)
          const target = `f${r.int(Math.max(1, counter))}`;
          await send(`${what} delete ${q}`, 'DELETE', `${pathFor(kind, target)}?${q}`, body, body === undefined ? undefined : 'application/json');
          return;
        }
        default: {
          if (kind.kind === 'Pod') {
            // the pod subresources that take bodies: binding and eviction
            const target = r.pick([seedName, `f${r.int(Math.max(1, counter))}`]);
            const binding = mutate({ apiVersion: 'v1', kind: 'Binding', metadata: { name: target }, target: { kind: 'Node', name: 'node-1' } }, r);
            await send(`${what} binding`, 'POST', pathFor(kind, target, 'binding'), JSON.stringify(binding), 'application/json');
            const eviction = mutate(
              { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: target }, deleteOptions: { gracePeriodSeconds: 0, preconditions: { uid: 'x' }, dryRun: ['All'] } },
              r,
            );
            await send(`${what} eviction`, 'POST', pathFor(kind, target, 'eviction'), JSON.stringify(eviction), 'application/json');
            return;
          }
          if (kind.kind !== 'StatefulSet') {
            await send(`${what} get`, 'GET', pathFor(kind, seedName));
            return;
          }
          const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: seedName, namespace: NS }, spec: { replicas: nastyValue(r) } };
          await send(`${what} scale`, 'PUT', pathFor(kind, seedName, 'scale'), JSON.stringify(scale), 'application/json');
          await send(`${what} scale patch`, 'PATCH', pathFor(kind, seedName, 'scale'), JSON.stringify({ spec: { replicas: nastyValue(r) } }), 'application/merge-patch+json');
        }
      }
    };

    const worker = async () => {
      while (Date.now() < deadline && cluster.proc.exitCode === null) await oneRequest();
    };
    await Promise.all([worker(), worker(), worker(), worker()]);

    const log = cluster.output();
    const troubles = log.split('\n').filter((l) => /internal error|TypeError|RangeError|Maximum call stack|FATAL|Cannot read properties|is not a function|is not iterable|failed to sync|reconcile .* failed|handler threw/.test(l));
    console.log(`fuzz seed ${SEED}, ${kindsSeen.size} kinds\n${tally.summary()}\nserver log lines about internal errors: ${troubles.length}`);
    // one line per kind of trouble (names and numbers blanked), for a reader of the output
    const kindsOfTrouble = [...new Set(troubles.map((l) => l.replace(/"[^"]*"/g, '"…"').replace(/\b[\w-]*\d[\w-]*\b/g, 'N').slice(0, 200)))];
    if (kindsOfTrouble.length) console.log(kindsOfTrouble.slice(0, 15).join('\n'));
    if (tally.fivexx.length) console.log(`5xx answers:\n${tally.fivexx.slice(0, 20).join('\n')}`);
    if (tally.transportErrors.length) console.log(`transport errors:\n${tally.transportErrors.slice(0, 20).join('\n')}`);

    assert.equal(cluster.proc.exitCode, null, `petset up exited:\n${cluster.output().slice(-3000)}`);
    assert.equal(kindsSeen.size, kinds.length, 'every kind was fuzzed');
    assert.deepEqual(tally.fivexx, [], 'no 5xx answers');
    // whatever was stored decodes again: every object written back as read is accepted
    const rewrites = new Map<number, number>();
    // the review kinds are answered, never stored, and read-only kinds (metrics) are measured: nothing to write back
    for (const kind of kinds.filter((k) => !k.createOnly && !k.readOnly)) {
      // a page of each kind is enough to show that stored objects decode again
      const list = JSON.parse((await raw.request('GET', pathFor(kind) + '?limit=100')).body);
      for (const item of list.items) {
        if (item.metadata.deletionTimestamp) continue;
        const a = await raw.request('PUT', pathFor(kind, encodeURIComponent(item.metadata.name)), JSON.stringify(item), 'application/json');
        rewrites.set(a.status, (rewrites.get(a.status) ?? 0) + 1);
        assert.ok(a.status === 200 || a.status === 409 || a.status === 404, `${kind.kind} ${item.metadata.name} written back: ${a.status} ${a.body.slice(0, 400)}`);
      }
    }
    console.log(`stored objects written back: ${[...rewrites.entries()].map(([c, n]) => `${c}=${n}`).join(' ')}`);
    const ready = await raw.request('GET', '/readyz');
    assert.equal(ready.status, 200, ready.body);
    assert.ok(tally.requests > 100, `only ${tally.requests} requests were sent`);
    // Node's HTTP server may reset a keep-alive connection when a large body meets an early
    // answer (HPE_PAUSED); the HTTP front end's own fix and test cover it, so a rare reset here
    // is reported, not failed on. A crash or a hang is still caught above.
    assert.ok(tally.transportErrors.length <= tally.requests / 1000, `broken connections: ${tally.transportErrors.join('; ')}`);
  });

  it('starts again on the same data directory and serves every kind', async () => {
    const dataDir = cluster.dataDir;
    raw.close();
    const code = await cluster.stop();
    assert.ok(code === 0 || code === null, `petset up exited with ${code}:\n${cluster.output().slice(-2000)}`);
    cluster = await startCluster({ dataDir });
    raw = Raw.fromKubeconfig(cluster.kubeconfig);
    await waitFor(async () => (await raw.request('GET', '/readyz')).status === 200, 20_000, '/readyz after restart');
    for (const kind of registry.kinds.filter((k) => !k.createOnly)) {
      const list = await raw.request('GET', pathFor(kind));
      assert.equal(list.status, 200, `${kind.kind}: ${list.body.slice(0, 300)}`);
      const seed = await raw.request('GET', pathFor(kind, `seed-${kind.plural}`));
      assert.ok(seed.status === 200 || seed.status === 404, `${kind.kind}: ${seed.status}`);
    }
  });
});
