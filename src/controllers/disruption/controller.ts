// The disruption controller: keeps each PodDisruptionBudget's status (expected, desired and
// currently healthy pods, disruptions allowed, pending evictions) current from the pods it
// selects and the scale of their controllers. The eviction subresource spends what it allows.
import { isApiError } from '../../api/errors.js';
import { controllerRef, splitApiVersion, type KubeObject, type OwnerReference } from '../../api/object.js';
import { setStatusCondition } from '../../api/conditions.js';
import { DISRUPTION_ALLOWED, pdbSelectsPod } from '../../api/pdb.js';
import { resources } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { countHealthy, expectedAndDesired, needsControllerScale, nextStatus, pendingDisruptions } from './status.js';

export class DisruptionController implements Controller {
  readonly name = 'disruption';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private recorder!: EventRecorder;
  private pdbs!: Informer;
  private pods!: Informer;
  private sets!: Informer;

  constructor(private readonly options: { workers?: number } = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = new EventRecorder(ctx.client, 'controllermanager');
    this.pdbs = ctx.informers.informerFor(resources.podDisruptionBudgets);
    this.pods = ctx.informers.informerFor(resources.pods);
    this.sets = ctx.informers.informerFor(resources.statefulSets);
    const enqueue = (pdb: KubeObject) => this.queue.add(keyOf(pdb));
    this.pdbs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, pdb) => enqueue(pdb), onDelete: enqueue });
    const podChanged = (pod: KubeObject) => {
      for (const pdb of this.pdbs.list(pod.metadata.namespace)) if (pdbSelectsPod(pdb, pod)) enqueue(pdb);
    };
    this.pods.addEventHandler({
      onAdd: podChanged,
      onUpdate: (old, pod) => {
        podChanged(pod);
        podChanged(old);
      },
      onDelete: podChanged,
    });
    ctx.runWorkers(this.queue, this.options.workers ?? 2, (key) => this.sync(key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const pdb = this.pdbs.get(key);
    if (!pdb) return;
    try {
      return await this.trySync(pdb);
    } catch (e) {
      if (isApiError(e, 'Conflict')) throw e;
      await this.failSafe(pdb, e);
    }
  }

  private async trySync(pdb: KubeObject): Promise<ReconcileResult | void> {
    const pods = this.pods.list(pdb.metadata.namespace).filter((p) => pdbSelectsPod(pdb, p));
    if (!pods.length) this.recorder.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
    let scale = 0;
    if (needsControllerScale(pdb)) {
      let unmanaged: string[];
      try {
        ({ scale, unmanaged } = await this.controllersScale(pods));
      } catch (e) {
        this.recorder.event(pdb, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${errorText(e)}`);
        throw e;
      }
      if (unmanaged.length) {
        this.recorder.event(
          pdb,
          'Warning',
          'UnmanagedPods',
          `Pods selected by this PodDisruptionBudget (selector: ${goLabelSelector(pdb.spec?.selector)}) were found to be unmanaged. ` +
            'As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. ' +
            'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
        );
      }
    }
    const { expected, desired } = expectedAndDesired(pdb, pods.length, scale);
    const now = Date.now();
    const { pending, overdue, recheckAt } = pendingDisruptions(pdb, pods, now);
    for (const pod of overdue) {
      // upstream prints the namespace twice here
      const ns = pdb.metadata.namespace;
      this.recorder.event(pod, 'Warning', 'NotDeleted', `Pod was expected by PDB ${ns}/${ns} to be deleted but it wasn't`);
    }
    const counts = { currentHealthy: countHealthy(pods, pending, now), desiredHealthy: desired, expectedPods: expected };
    const status = nextStatus(pdb, counts, pending, new Date(now));
    if (status) await this.writeStatus(pdb, status);
    if (recheckAt !== undefined) return { requeueAfter: Math.max(1, recheckAt - now) };
  }

  /** The replicas of the distinct controllers owning the pods, and the pods without one. */
  private async controllersScale(pods: KubeObject[]): Promise<{ scale: number; unmanaged: string[] }> {
    const byUid = new Map<string, number>();
    const unmanaged: string[] = [];
    for (const pod of pods) {
      const ref = controllerRef(pod);
      if (!ref) {
        unmanaged.push(pod.metadata.name!);
        continue;
      }
      if (byUid.has(ref.uid)) continue;
      const replicas = await this.controllerReplicas(ref, pod.metadata.namespace!);
      if (replicas === undefined) throw new Error(`found no controllers for pod ${JSON.stringify(pod.metadata.name)}`);
      byUid.set(ref.uid, replicas);
    }
    return { scale: [...byUid.values()].reduce((a, b) => a + b, 0), unmanaged };
  }

  /** spec.replicas of the owner, read from the cache for StatefulSets and through /scale for other kinds. */
  private async controllerReplicas(ref: OwnerReference, namespace: string): Promise<number | undefined> {
    const { group, version } = splitApiVersion(ref.apiVersion);
    if (group === 'apps' && ref.kind === 'StatefulSet') {
      const set = this.sets.get(`${namespace}/${ref.name}`);
      return set && set.metadata.uid === ref.uid ? (set.spec?.replicas ?? 1) : undefined;
    }
    const kind = this.ctx.registry.kinds.find((k) => k.group === group && k.version === version && k.kind === ref.kind);
    if (!kind) throw new Error(`no matches for kind ${JSON.stringify(ref.kind)} in version ${JSON.stringify(ref.apiVersion)}`);
    if (!kind.subresources?.scale) throw new Error(`${kind.plural}${group ? `.${group}` : ''} does not implement the scale subresource`);
    const type = { group, version, resource: kind.plural, namespaced: kind.namespaced, kind: kind.kind };
    try {
      const scale = await this.ctx.client.resource(type, namespace).getScale(ref.name);
      return scale.metadata.uid === ref.uid ? (scale.spec?.replicas ?? 0) : undefined;
    } catch (e) {
      if (isApiError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  /** A budget that cannot be computed allows nothing. */
  private async failSafe(pdb: KubeObject, err: unknown): Promise<void> {
    const status = structuredClone(pdb.status ?? {});
    status.disruptionsAllowed = 0;
    status.conditions ??= [];
    setStatusCondition(status.conditions, {
      type: DISRUPTION_ALLOWED,
      status: 'False',
      reason: 'SyncFailed',
      message: errorText(err),
      observedGeneration: status.observedGeneration,
    });
    await this.writeStatus(pdb, status);
  }

  private async writeStatus(pdb: KubeObject, status: Record<string, any>): Promise<void> {
    await this.ctx.client.podDisruptionBudgets(pdb.metadata.namespace).updateStatus({ ...pdb, status });
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Go's %v of a *metav1.LabelSelector (its generated String()). */
function goLabelSelector(sel: any): string {
  if (!sel) return 'nil';
  const labels = Object.keys(sel.matchLabels ?? {})
    .sort()
    .map((k) => `${k}: ${sel.matchLabels[k]},`)
    .join('');
  const exprs = (sel.matchExpressions ?? [])
    .map((e: any) => `LabelSelectorRequirement{Key:${e.key},Operator:${e.operator},Values:[${(e.values ?? []).join(' ')}],},`)
    .join('');
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${exprs}},}`;
}
