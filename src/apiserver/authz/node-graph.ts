// The Node authorizer's view of which pods run where, kept in memory from a watch of the
// store (upstream's node authorizer graph, fed by informers), so a node's read of a claim,
// volume, Secret or ConfigMap looks at the pods bound to it instead of decoding every pod
// of the namespace per request: with one such read per pod start, that made starting N
// pods cost N² decodes.
//
// The cache is eventually consistent, as upstream's graph is. A relationship the cache does
// not (yet) show is looked up in the store before the request is refused, so a pod bound a
// moment ago is never refused its claim; an allow from the cache may lag a pod's deletion by
// the time the watch takes to deliver it, as upstream's does.
import type { KubeObject } from '../../api/object.js';
import { CompactedError, type StoreEvent, type Watcher } from '../../store/store.js';
import type { AnyKindDef } from '../../api/registry.js';
import type { ResourceStorage } from '../resource-storage.js';
import { resourcePrefix } from '../keys.js';
import type { NodeGraph } from './node.js';

/** The parts of a pod the Node authorizer reads (see podUses in node.ts): kept instead of the whole pod. */
function slim(pod: KubeObject): KubeObject {
  const spec = pod.spec ?? {};
  const refsOnly = (c: any) => ({ env: c?.env?.filter((e: any) => e?.valueFrom), envFrom: c?.envFrom });
  return {
    metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
    spec: {
      nodeName: spec.nodeName,
      serviceAccountName: spec.serviceAccountName,
      imagePullSecrets: spec.imagePullSecrets,
      volumes: spec.volumes,
      containers: (spec.containers ?? []).map(refsOnly),
      initContainers: (spec.initContainers ?? []).map(refsOnly),
      ephemeralContainers: (spec.ephemeralContainers ?? []).map(refsOnly),
    },
  };
}

export class PodGraph {
  /** node → pod key → the pod's slim form */
  private readonly byNode = new Map<string, Map<string, KubeObject>>();
  private readonly nodeOf = new Map<string, string>();
  private watcher?: Watcher;
  private ready?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly storage: ResourceStorage,
    private readonly pods: AnyKindDef,
  ) {}

  /** Pods bound to the node (in one namespace, or all), from the cache; the first call fills it. */
  async podsOn(nodeName: string, namespace?: string): Promise<KubeObject[]> {
    await (this.ready ??= this.sync().catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    }));
    const pods = [...(this.byNode.get(nodeName)?.values() ?? [])];
    return namespace === undefined ? pods : pods.filter((p) => p.metadata.namespace === namespace);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
  }

  /** Lists the pods, then follows their changes from that revision on; a lost watch starts over. */
  private async sync(): Promise<void> {
    const prefix = resourcePrefix(this.pods);
    const { items, revision } = await this.storage.store.list(prefix);
    this.byNode.clear();
    this.nodeOf.clear();
    for (const kv of items) this.put(kv.key, this.storage.decode(kv));
    if (this.stopped) return;
    const resync = () => {
      this.watcher?.stop();
      this.watcher = undefined;
      if (this.stopped) return;
      // the next request waits for a fresh list
      this.ready = undefined;
    };
    try {
      this.watcher = this.storage.store.watch(prefix, revision, {
        onEvents: (events) => {
          for (const ev of events) this.apply(ev);
        },
        onError: resync,
        onCompacted: resync,
      });
    } catch (e) {
      if (!(e instanceof CompactedError)) throw e;
      resync();
    }
  }

  private apply(ev: StoreEvent): void {
    if (ev.type === 'delete') this.remove(ev.kv.key);
    // slim() keeps parts of the pod it never changes: a shared decoded form is enough
    else this.put(ev.kv.key, this.storage.decodeReadOnly(ev.kv));
  }

  private put(key: string, pod: KubeObject): void {
    const node: string | undefined = pod.spec?.nodeName;
    if (this.nodeOf.get(key) !== node) this.remove(key);
    if (!node) return;
    let pods = this.byNode.get(node);
    if (!pods) this.byNode.set(node, (pods = new Map()));
    pods.set(key, slim(pod));
    this.nodeOf.set(key, node);
  }

  private remove(key: string): void {
    const node = this.nodeOf.get(key);
    if (node === undefined) return;
    this.nodeOf.delete(key);
    const pods = this.byNode.get(node);
    pods?.delete(key);
    if (pods && !pods.size) this.byNode.delete(node);
  }
}

/**
 * The graph the Node authorizer asks: pods per node from the cache, and from the store when
 * the cache shows no relationship (podsOnFresh).
 */
export function cachedNodeGraph(storage: ResourceStorage, pods: AnyKindDef, pvs: AnyKindDef, graph = new PodGraph(storage, pods)): NodeGraph & { stop(): void } {
  return {
    podsOn: (nodeName, namespace) => graph.podsOn(nodeName, namespace),
    async podsOnFresh(nodeName: string, namespace?: string): Promise<KubeObject[]> {
      return (await storage.list(pods, namespace, { fieldSelector: `spec.nodeName=${nodeName}` })).items;
    },
    pod: (namespace, name) => storage.tryGetShared(pods, namespace, name),
    async volumeClaimOf(pvName) {
      const pv = await storage.tryGetShared(pvs, undefined, pvName);
      const ref = pv?.spec?.claimRef;
      return ref?.name && ref?.namespace ? { namespace: ref.namespace, name: ref.name } : undefined;
    },
    stop: () => graph.stop(),
  };
}
