// metrics.k8s.io/v1beta1, served as metrics-server serves it but from inside the API server: each
// node agent's usage summary (its /stats/summary, reached as a kubelet is) becomes NodeMetrics
// and PodMetrics. Nothing is stored; only get and list are served. As metrics-server, a pod
// appears only once every running container has a CPU rate (two readings), and a node whose
// agent cannot be reached is left out rather than failing the whole list.
import http from 'node:http';
import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { parseLabelSelector } from '../../api/selectors.js';
import type { ApiRequest } from '../../api/request.js';
import type { ApiServer, ResourceRoute } from '../handler.js';
import type { KindEntry } from '../resource-table.js';
import { NodeConnections } from '../connect/node-connection.js';

/** How long one agent may take to answer before its node is left out. */
const SUMMARY_TIMEOUT_MS = 5_000;

interface CpuStats {
  time: string;
  usageNanoCores?: number;
}
interface MemoryStats {
  time: string;
  workingSetBytes: number;
}
interface Summary {
  node: { nodeName: string; cpu: CpuStats; memory: MemoryStats };
  pods: Array<{ podRef: { name: string; namespace: string; uid: string }; cpu: CpuStats; memory: MemoryStats; containers: Array<{ name: string; cpu: CpuStats; memory: MemoryStats }> }>;
  windowSeconds: number;
}

const READ_ONLY = ['create', 'update', 'patch', 'delete', 'deletecollection', 'watch'] as const;

export const nodeMetricsEntry: KindEntry = {
  unsupportedVerbs: [...READ_ONLY],
  reads: {
    list: (api, req, route) => nodeMetrics(api, req, route),
    get: async (api, req, route) => {
      const [m] = await nodeMetrics(api, req, route, route.name);
      if (!m) throw errors.notFound({ group: 'metrics.k8s.io', resource: 'nodes' }, route.name!);
      return m;
    },
  },
};

export const podMetricsEntry: KindEntry = {
  unsupportedVerbs: [...READ_ONLY],
  reads: {
    list: (api, req, route) => podMetrics(api, req, route),
    get: async (api, req, route) => {
      const [m] = await podMetrics(api, req, route, route.name);
      if (!m) throw errors.notFound({ group: 'metrics.k8s.io', resource: 'pods' }, route.name!);
      return m;
    },
  },
};

/** CPU in nanocores and memory in bytes, written as metrics-server writes them. */
export function usageList(nanoCores: number, bytes: number): Record<string, string> {
  const memory = bytes % 1024 === 0 && bytes > 0 ? `${bytes / 1024}Ki` : String(bytes);
  return { cpu: `${Math.round(nanoCores)}n`, memory };
}

function windowText(seconds: number): string {
  return `${Number(seconds.toFixed(3))}s`;
}

async function nodeMetrics(api: ApiServer, req: ApiRequest, route: ResourceRoute, name?: string): Promise<KubeObject[]> {
  const nodesKind = api.registry.resource('', 'v1', 'nodes')!;
  const nodes = name
    ? [await api.storage.get(nodesKind, undefined, name)]
    : (await api.storage.list(nodesKind, undefined, { labelSelector: req.query.get('labelSelector') ?? undefined })).items;
  const summaries = await fetchSummaries(api, nodes.map((n) => n.metadata.name!));
  const out: KubeObject[] = [];
  for (const node of nodes) {
    const s = summaries.get(node.metadata.name!);
    if (!s || s.node.cpu.usageNanoCores === undefined) continue;
    out.push({
      kind: 'NodeMetrics',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: { name: node.metadata.name, labels: node.metadata.labels, creationTimestamp: new Date().toISOString() },
      timestamp: s.node.cpu.time.replace(/\.\d+Z$/, 'Z'),
      window: windowText(s.windowSeconds),
      usage: usageList(s.node.cpu.usageNanoCores, s.node.memory.workingSetBytes),
    });
  }
  void route;
  return out;
}

async function podMetrics(api: ApiServer, req: ApiRequest, route: ResourceRoute, name?: string): Promise<KubeObject[]> {
  const podsKind = api.registry.resource('', 'v1', 'pods')!;
  const labelSelector = req.query.get('labelSelector') ?? undefined;
  if (labelSelector) parseLabelSelector(labelSelector);
  const pods = name
    ? [await api.storage.get(podsKind, route.namespace, name)]
    : (await api.storage.list(podsKind, route.namespace, { labelSelector, fieldSelector: req.query.get('fieldSelector') ?? undefined })).items;
  const running = pods.filter((p) => p.spec?.nodeName && p.status?.phase === 'Running');
  const summaries = await fetchSummaries(api, [...new Set(running.map((p) => p.spec.nodeName as string))]);
  const out: KubeObject[] = [];
  for (const pod of running) {
    const s = summaries.get(pod.spec.nodeName)?.pods.find((p) => p.podRef.uid === pod.metadata.uid);
    if (!s || !s.containers.length || s.containers.some((c) => c.cpu.usageNanoCores === undefined)) continue;
    const window = summaries.get(pod.spec.nodeName)!.windowSeconds;
    out.push({
      kind: 'PodMetrics',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, labels: pod.metadata.labels, creationTimestamp: new Date().toISOString() },
      timestamp: s.cpu.time.replace(/\.\d+Z$/, 'Z'),
      window: windowText(window),
      containers: s.containers.map((c) => ({ name: c.name, usage: usageList(c.cpu.usageNanoCores!, c.memory.workingSetBytes) })),
    });
  }
  return out;
}

/** Each named node's summary, fetched in parallel; nodes that fail to answer are missing from the map. */
async function fetchSummaries(api: ApiServer, nodeNames: string[]): Promise<Map<string, Summary>> {
  const conns = new NodeConnections(api.storage, api.registry, () => api.options.nodeConnectionToken);
  const out = new Map<string, Summary>();
  await Promise.all(
    nodeNames.map(async (n) => {
      try {
        const s = await fetchSummary(conns, n);
        if (s) out.set(n, s);
      } catch {
        // a node whose agent is down or unreachable has no metrics, as with metrics-server
      }
    }),
  );
  return out;
}

async function fetchSummary(conns: NodeConnections, nodeName: string): Promise<Summary | undefined> {
  const res: http.IncomingMessage = await withTimeout(conns.get(nodeName, '/stats/summary', new URLSearchParams()), SUMMARY_TIMEOUT_MS);
  const body = await withTimeout(
    new Promise<string>((resolve, reject) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    }),
    SUMMARY_TIMEOUT_MS,
  ).finally(() => res.destroy());
  if (res.statusCode !== 200) return undefined;
  return JSON.parse(body) as Summary;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)))]).finally(() => clearTimeout(timer));
}
