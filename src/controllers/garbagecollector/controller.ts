// The garbage collector: watches every kind, keeps the ownership graph, and acts on it
// through the API: deletes dependents whose owners are all gone, strips references to
// owners that are gone or being orphaned, and finalizes foreground and orphan deletions.
// Every decision is checked against live GETs first, since informer caches lag.
import { isApiError } from '../../api/errors.js';
import type { KubeObject, OwnerReference } from '../../api/object.js';
import { apiVersionOf, splitApiVersion } from '../../api/object.js';
import type { AnyKindDef, Registry } from '../../api/registry.js';
import type { Client, ResourceClient, ResourceType } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue, type ReconcileResult } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { customKindsOf } from '../../api/customresources.js';
import type { CustomResourceDefinition } from '../../api/kinds/customresourcedefinition.js';
import { decideDependent, type ClassifiedOwners, type PropagationPolicy } from './decide.js';
import { AbsentOwners, DependencyGraph, FOREGROUND_FINALIZER, isDeletingDependents, ORPHAN_FINALIZER, type GraphNode, type Identity } from './graph.js';

const CRDS: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', namespaced: false, kind: 'CustomResourceDefinition' };

/** Too many and too short-lived to own anything (upstream ignores them too). */
const IGNORED_RESOURCES = new Set(['/events', 'events.k8s.io/events']);
const DELETE_WORKERS = 8;
const ORPHAN_WORKERS = 2;
const ORPHAN_PATCH_PARALLELISM = 16;
const FINALIZE_CONFLICT_RETRIES = 5;

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  private readonly deleteQueue = new WorkQueue<string>();
  private readonly orphanQueue = new WorkQueue<string>();
  private readonly graph: DependencyGraph;
  private client!: Client;
  private registry!: Registry;
  private recorder!: EventRecorder;
  private removeHandlers: (() => void)[] = [];
  /** the kinds of CustomResourceDefinitions seen, by "<group>/<plural>" (served versions, preferred first) */
  private readonly customKinds = new Map<string, { kinds: AnyKindDef[]; type: ResourceType; remove: () => void }>();
  private stopped = false;

  constructor() {
    this.graph = new DependencyGraph(
      {
        attemptToDelete: (node, later) => (later ? this.deleteQueue.addRateLimited(node.identity.uid) : this.deleteQueue.add(node.identity.uid)),
        attemptToOrphan: (node) => this.orphanQueue.add(node.identity.uid),
        invalidNamespace: (dep, ref) => this.reportInvalidNamespace(dep.identity, ref),
      },
      new AbsentOwners(),
      (apiVersion, kind) => this.kindOf(apiVersion, kind)?.namespaced,
    );
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.registry = ctx.registry;
    this.recorder = new EventRecorder(ctx.client, 'garbage-collector-controller');
    const informers: Informer[] = [];
    for (const kind of ctx.registry.kinds) {
      // kinds listed read-only hold no objects, so there is nothing of theirs to own or collect
      if (IGNORED_RESOURCES.has(`${kind.group}/${kind.plural}`) || kind.readOnly || kind.conversion) continue;
      const informer = ctx.informers.informerFor(resourceType(kind));
      const id = (obj: KubeObject) => identityOf(kind, obj);
      this.removeHandlers.push(
        informer.addEventHandler({
          onAdd: (obj) => this.graph.observe(id(obj), obj),
          onUpdate: (old, obj) => this.graph.observe(id(obj), obj, old),
          onDelete: (obj) => this.graph.forget(id(obj)),
        }),
      );
      informers.push(informer);
    }
    // custom kinds come and go with their definitions: each established one is watched too
    const crds = ctx.informers.informerFor(CRDS);
    const onCRD = (crd: KubeObject) => this.watchCustomKind(ctx, crd as CustomResourceDefinition);
    this.removeHandlers.push(crds.addEventHandler({ onAdd: onCRD, onUpdate: (_old, crd) => onCRD(crd), onDelete: (crd) => this.forgetCustomKind(ctx, crd as CustomResourceDefinition) }));
    const onError = (uid: string, err: unknown) => {
      const node = this.graph.nodes.get(uid);
      const what = node ? describe(node.identity) : uid;
      console.warn(`[garbagecollector] ${what}: ${err instanceof Error ? err.message : String(err)}`);
    };
    // workers start once the whole graph is known: orphaning from half a graph would miss dependents
    ctx.runWorkers(this.deleteQueue, DELETE_WORKERS, (uid) => this.attemptToDelete(uid), { onError });
    ctx.runWorkers(this.orphanQueue, ORPHAN_WORKERS, (uid) => this.attemptToOrphan(uid), { onError });
  }

  stop(): void {
    this.stopped = true;
    for (const remove of this.removeHandlers.splice(0)) remove();
    for (const c of this.customKinds.values()) c.remove();
    this.customKinds.clear();
    this.deleteQueue.shutDown();
    this.orphanQueue.shutDown();
  }

  /**
   * One look at a node: an owner known only by reference is verified, a foreground
   * deletion is finalized when nothing blocks it, a dependent is kept, stripped of stale
   * references or deleted.
   */
  private async attemptToDelete(uid: string): Promise<ReconcileResult | void> {
    const node = this.graph.nodes.get(uid);
    if (this.stopped || !node) return;
    // plain terminating objects are waited for, not deleted again
    if (node.beingDeleted && !node.deletingDependents) return;
    const id = node.identity;
    const rc = this.resourceFor(id);
    if (!rc) return; // an unknown kind, or a namespaced one without a namespace: nothing to verify it by
    const latest = await getIfExists(rc, id.name);
    if (!latest || latest.metadata.uid !== uid) {
      this.graph.verifiedAbsent(id);
      return;
    }
    // it exists, but only the informer can tell us its state: wait for it
    if (!node.observed) return { requeue: true };
    if (node.deletingDependents) return this.processDeletingDependents(node);
    if (latest.metadata.deletionTimestamp) return;
    const refs = latest.metadata.ownerReferences ?? [];
    if (!refs.length) return;
    const owners = await this.classify(id, refs);
    if (!owners) return;
    const action = decideDependent(owners, {
      finalizers: latest.metadata.finalizers ?? [],
      hasDependents: node.dependents.size > 0,
      hasDependentDeletingDependents: [...node.dependents].some((d) => d.deletingDependents),
    });
    switch (action.type) {
      case 'none':
        return;
      case 'removeReferences':
        return this.removeReferences(rc, id, action.uids);
      case 'delete':
        if (action.unblockFirst) await this.unblockReferences(rc, id, refs);
        return this.deleteObject(rc, id, action.propagationPolicy);
    }
  }

  /** An owner in foreground deletion: finalize it once no dependent blocks, else make sure they are going. */
  private async processDeletingDependents(node: GraphNode): Promise<void> {
    const blocking = node.blockingDependents();
    if (!blocking.length) return this.removeFinalizer(node.identity, FOREGROUND_FINALIZER);
    for (const dep of blocking) if (!dep.beingDeleted) this.deleteQueue.add(dep.identity.uid);
  }

  private async attemptToOrphan(uid: string): Promise<void> {
    const node = this.graph.nodes.get(uid);
    if (this.stopped || !node) return;
    await forEachLimited([...node.dependents], ORPHAN_PATCH_PARALLELISM, async (dep) => {
      const rc = this.resourceFor(dep.identity);
      if (rc) await this.removeReferences(rc, dep.identity, [uid]);
    });
    await this.removeFinalizer(node.identity, ORPHAN_FINALIZER);
  }

  /** Looks every owner up live; undefined when the references cannot be judged at all. */
  private async classify(dependent: Identity, refs: OwnerReference[]): Promise<ClassifiedOwners | undefined> {
    const owners: ClassifiedOwners = { solid: [], dangling: [], waiting: [] };
    for (const ref of refs) {
      const kind = this.kindOf(ref.apiVersion, ref.kind);
      // an owner of a kind this server does not serve can never be verified: keep the dependent
      if (!kind) {
        owners.solid.push(ref);
        continue;
      }
      if (kind.namespaced && !dependent.namespace) {
        console.warn(`[garbagecollector] ${describe(dependent)} is cluster-scoped but refers to a namespaced owner ${kind.kind} ${ref.name}; never collected`);
        return undefined;
      }
      const ownerId = this.graph.ownerIdentity(ref, dependent.namespace);
      if (this.graph.absent.has(ownerId)) {
        owners.dangling.push(ref);
        continue;
      }
      const owner = await getIfExists(this.client.resource(resourceType(kind), ownerId.namespace), ref.name);
      if (!owner || owner.metadata.uid !== ref.uid) {
        this.graph.absent.add(ownerId);
        owners.dangling.push(ref);
      } else if (isDeletingDependents(owner)) owners.waiting.push(ref);
      else owners.solid.push(ref);
    }
    return owners;
  }

  private async removeReferences(rc: ResourceClient, id: Identity, ownerUids: string[]): Promise<void> {
    const patch = { metadata: { ownerReferences: ownerUids.map((uid) => ({ $patch: 'delete', uid })), uid: id.uid } };
    await ignoreNotFound(rc.patch(id.name, patch, 'strategic'));
  }

  private async unblockReferences(rc: ResourceClient, id: Identity, refs: OwnerReference[]): Promise<void> {
    const unblocked = refs.filter((r) => r.blockOwnerDeletion).map((r) => ({ ...r, blockOwnerDeletion: false }));
    if (unblocked.length) await ignoreNotFound(rc.patch(id.name, { metadata: { ownerReferences: unblocked, uid: id.uid } }, 'strategic'));
  }

  private async deleteObject(rc: ResourceClient, id: Identity, propagationPolicy: PropagationPolicy): Promise<void> {
    await ignoreNotFound(rc.delete(id.name, { propagationPolicy, preconditions: { uid: id.uid } }));
  }

  /** Drops one finalizer, guarded by resourceVersion; the API server removes the object when none remain. */
  private async removeFinalizer(id: Identity, finalizer: string): Promise<void> {
    const rc = this.resourceFor(id);
    if (!rc) return;
    for (let attempt = 0; ; attempt++) {
      const obj = await getIfExists(rc, id.name);
      if (!obj || obj.metadata.uid !== id.uid) return;
      const finalizers = obj.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      const rest = finalizers.filter((f) => f !== finalizer);
      const patch = { metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers: rest.length ? rest : null } };
      try {
        await ignoreNotFound(rc.patch(id.name, patch, 'merge'));
        return;
      } catch (e) {
        if (!isApiError(e, 'Conflict') || attempt >= FINALIZE_CONFLICT_RETRIES) throw e;
      }
    }
  }

  private reportInvalidNamespace(dependent: Identity, ref: OwnerReference): void {
    const ns = dependent.namespace ?? '';
    const obj: KubeObject = {
      apiVersion: dependent.apiVersion,
      kind: dependent.kind,
      metadata: { name: dependent.name, namespace: dependent.namespace, uid: dependent.uid },
    };
    const owner = `[${ref.apiVersion}/${ref.kind}, namespace: ${ns}, name: ${ref.name}, uid: ${ref.uid}]`;
    this.recorder.event(obj, 'Warning', 'OwnerRefInvalidNamespace', `ownerRef ${owner} does not exist in namespace "${ns}"`);
  }

  /** The kind an (apiVersion, kind) names; another version of the same group and kind will do. */
  private kindOf(apiVersion: string, kind: string): AnyKindDef | undefined {
    const exact = this.registry.forObject(apiVersion, kind);
    if (exact) return exact;
    const { group, version } = splitApiVersion(apiVersion);
    const builtIn = this.registry.kinds.find((k) => k.group === group && k.kind === kind);
    if (builtIn) return builtIn;
    const custom = [...this.customKinds.values()].flatMap((c) => c.kinds).filter((k) => k.group === group && k.kind === kind);
    return custom.find((k) => k.version === version) ?? custom[0];
  }

  /** Watches the objects of an established CustomResourceDefinition's kind (once per resource). */
  private watchCustomKind(ctx: ControllerContext, crd: CustomResourceDefinition): void {
    if (this.stopped || !crd.spec?.group || !crd.status?.acceptedNames?.plural) return;
    if (!(crd.status.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True')) return;
    const kinds = customKindsOf(crd).kinds;
    if (!kinds.length) return;
    const key = `${crd.spec.group}/${crd.status.acceptedNames.plural}`;
    const known = this.customKinds.get(key);
    if (known) {
      known.kinds = kinds;
      return;
    }
    const kind = kinds[0];
    const informer = ctx.informers.informerFor(resourceType(kind));
    const id = (obj: KubeObject) => identityOf(kind, obj);
    const remove = informer.addEventHandler({
      onAdd: (obj) => this.graph.observe(id(obj), obj),
      onUpdate: (old, obj) => this.graph.observe(id(obj), obj, old),
      onDelete: (obj) => this.graph.forget(id(obj)),
    });
    this.customKinds.set(key, { kinds, type: resourceType(kind), remove });
  }

  /** A deleted definition: its objects went with it (each one's DELETED event has been seen), so its watch goes too. */
  private forgetCustomKind(ctx: ControllerContext, crd: CustomResourceDefinition): void {
    const key = `${crd.spec?.group}/${crd.status?.acceptedNames?.plural}`;
    const known = this.customKinds.get(key);
    if (!known) return;
    this.customKinds.delete(key);
    known.remove();
    ctx.informers.forget?.(known.type);
  }

  private resourceFor(id: Identity): ResourceClient | undefined {
    const kind = this.kindOf(id.apiVersion, id.kind);
    if (!kind || (kind.namespaced && !id.namespace)) return undefined;
    return this.client.resource(resourceType(kind), id.namespace);
  }
}

function resourceType(k: AnyKindDef): ResourceType {
  return { group: k.group, version: k.version, resource: k.plural, namespaced: k.namespaced, kind: k.kind };
}

function identityOf(k: AnyKindDef, obj: KubeObject): Identity {
  const id: Identity = { apiVersion: apiVersionOf(k.group, k.version), kind: k.kind, name: obj.metadata.name!, uid: obj.metadata.uid! };
  if (k.namespaced) id.namespace = obj.metadata.namespace;
  return id;
}

function describe(id: Identity): string {
  return `${id.kind} ${id.namespace ? `${id.namespace}/` : ''}${id.name}`;
}

async function getIfExists(rc: ResourceClient, name: string): Promise<KubeObject | undefined> {
  try {
    return await rc.get(name);
  } catch (e) {
    if (isApiError(e, 'NotFound')) return undefined;
    throw e;
  }
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isApiError(e, 'NotFound')) throw e;
  }
}

/** Runs fn over items, at most limit at a time; rejects with the first failure once all have settled. */
async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== undefined) throw failure;
}
