// The node's resource usage summary, as the kubelet's /stats/summary: CPU as a rate
// (usageNanoCores) over the last sampling window, memory as the working set. The runtime gives
// cumulative CPU time; the sampler keeps two readings per container and reports the rate
// between them, as cadvisor's housekeeping does. metrics.k8s.io (kubectl top, the
// HorizontalPodAutoscaler) is served by the API server from these summaries.
import type { ContainerUsage } from './runtime/runtime.js';

export interface Sample {
  at: number;
  cpuNs: number;
  memory: number;
}

export interface UsagePod {
  namespace: string;
  name: string;
  uid: string;
  containers: Array<{ name: string; id: string }>;
}

export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds: number;
}

export interface MemoryStats {
  time: string;
  workingSetBytes: number;
}

export interface ContainerStats {
  name: string;
  cpu: CpuStats;
  memory: MemoryStats;
}

export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  cpu: CpuStats;
  memory: MemoryStats;
  containers: ContainerStats[];
}

export interface Summary {
  node: { nodeName: string; cpu: CpuStats; memory: MemoryStats };
  pods: PodStats[];
  /** the sampling window the rates cover, in seconds (reported as metrics.k8s.io's window) */
  windowSeconds: number;
}

/** Readings closer together than this do not replace the last one: a rate needs a span. */
const MIN_SPAN_MS = 1000;

/** Two readings per container; the rate is taken between them. */
export class UsageSampler {
  private readonly samples = new Map<string, { prev?: Sample; last: Sample }>();

  constructor(private readonly usage: (containerId: string) => ContainerUsage | undefined) {}

  /** Takes a reading of each container; forgets containers not listed. */
  sample(containerIds: string[], now = Date.now()): void {
    const live = new Set(containerIds);
    for (const id of this.samples.keys()) if (!live.has(id)) this.samples.delete(id);
    for (const id of containerIds) {
      const u = this.usage(id);
      if (!u) {
        this.samples.delete(id);
        continue;
      }
      const s: Sample = { at: u.at ?? now, cpuNs: u.cpuCoreNanoSeconds, memory: u.workingSetBytes };
      const entry = this.samples.get(id);
      if (!entry) this.samples.set(id, { last: s });
      else if (s.at - entry.last.at >= MIN_SPAN_MS) this.samples.set(id, { prev: entry.last, last: s });
      else entry.last.memory = s.memory;
    }
  }

  /** The summary from the readings taken so far (containers with one reading have no rate yet). */
  summary(nodeName: string, pods: UsagePod[]): Summary {
    return summarize(nodeName, pods, (id) => this.samples.get(id));
  }
}

/** Pure: the summary from each container's readings. */
export function summarize(nodeName: string, pods: UsagePod[], readings: (id: string) => { prev?: Sample; last: Sample } | undefined): Summary {
  let latest = 0;
  let window = 0;
  const nodeCpu = { nanoCores: 0, ns: 0 };
  let nodeMemory = 0;
  const out: PodStats[] = [];
  for (const pod of pods) {
    const containers: ContainerStats[] = [];
    let podCores = 0;
    let podNs = 0;
    let podMemory = 0;
    let podAt = 0;
    let complete = true;
    for (const c of pod.containers) {
      const r = readings(c.id);
      if (!r) continue;
      const time = new Date(r.last.at).toISOString();
      const cores = r.prev ? rate(r.prev, r.last) : undefined;
      if (cores === undefined) complete = false;
      else if (r.prev) window = Math.max(window, (r.last.at - r.prev.at) / 1000);
      containers.push({
        name: c.name,
        cpu: { time, usageCoreNanoSeconds: Math.round(r.last.cpuNs), ...(cores !== undefined ? { usageNanoCores: cores } : {}) },
        memory: { time, workingSetBytes: r.last.memory },
      });
      podCores += cores ?? 0;
      podNs += r.last.cpuNs;
      podMemory += r.last.memory;
      podAt = Math.max(podAt, r.last.at);
    }
    if (!containers.length) continue;
    latest = Math.max(latest, podAt);
    const time = new Date(podAt).toISOString();
    out.push({
      podRef: { name: pod.name, namespace: pod.namespace, uid: pod.uid },
      cpu: { time, usageCoreNanoSeconds: Math.round(podNs), ...(complete ? { usageNanoCores: podCores } : {}) },
      memory: { time, workingSetBytes: podMemory },
      containers,
    });
    nodeCpu.nanoCores += podCores;
    nodeCpu.ns += podNs;
    nodeMemory += podMemory;
  }
  const time = new Date(latest || Date.now()).toISOString();
  return {
    node: { nodeName, cpu: { time, usageNanoCores: nodeCpu.nanoCores, usageCoreNanoSeconds: Math.round(nodeCpu.ns) }, memory: { time, workingSetBytes: nodeMemory } },
    pods: out,
    windowSeconds: window || 10,
  };
}

/** CPU cores used between two readings, in nanocores; a counter that went back (a process of the group exited) counts as idle. */
function rate(a: Sample, b: Sample): number {
  const dt = b.at - a.at;
  if (dt <= 0) return 0;
  return Math.max(0, Math.round(((b.cpuNs - a.cpuNs) / (dt * 1e6)) * 1e9));
}
