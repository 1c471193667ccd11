// The garbage collector's picture of ownership: every object the informers have shown it,
// plus "virtual" nodes for owners it only knows from a dependent's reference, linked
// owner → dependents by uid. No I/O: changes are reported through callbacks, which queue
// the nodes that need a look against the live API.
import type { KubeObject, OwnerReference } from '../../api/object.js';
import { deepEqual, splitApiVersion } from '../../api/object.js';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** Where an object lives. namespace is set only for objects of namespaced kinds. */
export interface Identity {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  namespace?: string;
}

export class GraphNode {
  owners: OwnerReference[] = [];
  readonly dependents = new Set<GraphNode>();
  /** seen through an informer, not only named by some dependent's reference */
  observed = false;
  beingDeleted = false;
  deletingDependents = false;

  constructor(public identity: Identity) {}

  /** Dependents whose reference to this node holds back its foreground deletion. */
  blockingDependents(): GraphNode[] {
    const uid = this.identity.uid;
    return [...this.dependents].filter((d) => d.owners.some((r) => r.uid === uid && r.blockOwnerDeletion === true));
  }
}

export interface GraphCallbacks {
  /** node needs a check (owner verification, collection, or finalizing its foreground deletion) */
  attemptToDelete(node: GraphNode, later?: boolean): void;
  /** node is being deleted with the orphan policy */
  attemptToOrphan(node: GraphNode): void;
  /** dependent refers to an owner observed in another namespace */
  invalidNamespace(dependent: GraphNode, ref: OwnerReference): void;
}

/** Owners verified absent, keyed by their coordinates, so that siblings skip the lookup. */
export class AbsentOwners {
  private readonly keys = new Map<string, true>();

  constructor(private readonly capacity = 10_000) {}

  add(id: Identity): void {
    const key = coordinatesKey(id);
    this.keys.delete(key);
    this.keys.set(key, true);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.keys().next().value!);
  }

  has(id: Identity): boolean {
    return this.keys.has(coordinatesKey(id));
  }
}

export class DependencyGraph {
  readonly nodes = new Map<string, GraphNode>();

  constructor(
    private readonly on: GraphCallbacks,
    readonly absent: AbsentOwners,
    /** whether a kind is namespaced; undefined for kinds the registry does not know */
    private readonly isNamespaced: (apiVersion: string, kind: string) => boolean | undefined,
  ) {}

  /** An informer added or updated obj (old: its previous state, if the informer had one). */
  observe(id: Identity, obj: KubeObject, old?: KubeObject): void {
    const refs = obj.metadata.ownerReferences ?? [];
    let node = this.nodes.get(id.uid);
    if (!node) {
      node = new GraphNode(id);
      node.observed = true;
      node.owners = refs;
      this.nodes.set(id.uid, node);
      this.addDependentToOwners(node, refs);
    } else {
      if (!node.observed) {
        if (!sameIdentity(node.identity, id)) {
          // some dependents named this owner wrongly; let them be checked against the truth
          for (const dep of node.dependents) {
            if (dependentMatches(dep, id)) continue;
            if (id.namespace && dep.identity.namespace !== id.namespace) {
              const ref = dep.owners.find((r) => r.uid === id.uid);
              if (ref) this.on.invalidNamespace(dep, ref);
            }
            this.on.attemptToDelete(dep);
          }
          node.identity = id;
        }
        node.observed = true;
      }
      const { added, removed, changed } = diffReferences(node.owners, refs);
      if (added.length || removed.length || changed.length) {
        // an owner waiting for this dependent may be free to go now
        for (const r of [...removed, ...changed]) {
          const owner = this.nodes.get(r.uid);
          if (owner?.deletingDependents) this.on.attemptToDelete(owner);
        }
        node.owners = refs;
        this.addDependentToOwners(node, added);
        this.removeDependentFromOwners(node, removed);
      }
    }
    node.beingDeleted = !!obj.metadata.deletionTimestamp;
    node.deletingDependents = isDeletingDependents(obj);
    if (isOrphaning(obj) && !(old && isOrphaning(old))) {
      this.on.attemptToOrphan(node);
      return;
    }
    if (node.deletingDependents && !(old && isDeletingDependents(old))) {
      for (const dep of node.dependents) this.on.attemptToDelete(dep);
      this.on.attemptToDelete(node);
    }
  }

  /** An informer saw obj go away. */
  forget(id: Identity): void {
    const node = this.nodes.get(id.uid);
    if (!node) return;
    this.nodes.delete(id.uid);
    this.removeDependentFromOwners(node, node.owners);
    if (node.dependents.size) this.absent.add(id);
    for (const dep of node.dependents) this.on.attemptToDelete(dep);
    for (const r of node.owners) {
      const owner = this.nodes.get(r.uid);
      if (owner?.deletingDependents) this.on.attemptToDelete(owner);
    }
  }

  /** A live lookup found no object at id (NotFound, or another uid under that name). */
  verifiedAbsent(id: Identity): void {
    const node = this.nodes.get(id.uid);
    if (!node) return;
    if (node.observed) {
      // An observed object may only be dropped for its own coordinates (the informer lags
      // behind); a lookup under other coordinates only disproves the dependents using them.
      if (sameIdentity(node.identity, id)) return this.forget(id);
      this.collectMatching(node, id);
      return;
    }
    const others = this.collectMatching(node, id);
    if (!others.length) {
      this.nodes.delete(id.uid);
      return;
    }
    if (sameIdentity(node.identity, id)) {
      // other dependents name this owner differently: try their coordinates next
      const ref = others[0].owners.find((r) => r.uid === id.uid)!;
      node.identity = this.ownerIdentity(ref, others[0].identity.namespace);
      this.on.attemptToDelete(node, true);
    }
  }

  /** Queues the dependents whose reference matches id (now known absent); answers the rest. */
  private collectMatching(node: GraphNode, id: Identity): GraphNode[] {
    const others: GraphNode[] = [];
    let matched = false;
    for (const dep of node.dependents) {
      if (dependentMatches(dep, id)) {
        matched = true;
        this.on.attemptToDelete(dep);
      } else others.push(dep);
    }
    if (matched) this.absent.add(id);
    return others;
  }

  /** The coordinates a reference gives its owner, seen from a dependent in dependentNamespace. */
  ownerIdentity(ref: OwnerReference, dependentNamespace: string | undefined): Identity {
    const id: Identity = { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid };
    // namespaced owners can only be in the dependent's own namespace; an unknown kind is
    // assumed namespaced, the likelier case
    if (this.isNamespaced(ref.apiVersion, ref.kind) !== false && dependentNamespace) id.namespace = dependentNamespace;
    return id;
  }

  private addDependentToOwners(node: GraphNode, refs: OwnerReference[]): void {
    let suspicious = false;
    for (const ref of refs) {
      let owner = this.nodes.get(ref.uid);
      if (!owner) {
        owner = new GraphNode(this.ownerIdentity(ref, node.identity.namespace));
        this.nodes.set(ref.uid, owner);
        owner.dependents.add(node);
        this.on.attemptToDelete(owner);
        // a cluster-scoped object cannot be owned by a namespaced one
        if (!node.identity.namespace && this.isNamespaced(ref.apiVersion, ref.kind)) suspicious = true;
        continue;
      }
      owner.dependents.add(node);
      const ownerNs = owner.identity.namespace;
      if (ownerNs && ownerNs !== node.identity.namespace) {
        if (owner.observed) this.on.invalidNamespace(node, ref);
        suspicious = true;
      } else if (!referenceMatches(ref, owner.identity)) {
        suspicious = true;
      }
    }
    // verify against the live API whether those references hold
    if (suspicious) this.on.attemptToDelete(node);
  }

  private removeDependentFromOwners(node: GraphNode, refs: OwnerReference[]): void {
    for (const r of refs) this.nodes.get(r.uid)?.dependents.delete(node);
  }
}

export function isOrphaning(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).includes(ORPHAN_FINALIZER);
}

export function isDeletingDependents(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER);
}

/** Same uid, name, kind and API group (the version does not matter), as upstream compares. */
export function referenceMatches(ref: OwnerReference, id: Identity): boolean {
  return (
    ref.uid === id.uid &&
    ref.name === id.name &&
    ref.kind === id.kind &&
    splitApiVersion(ref.apiVersion).group === splitApiVersion(id.apiVersion).group
  );
}

function dependentMatches(dep: GraphNode, owner: Identity): boolean {
  if (owner.namespace && dep.identity.namespace !== owner.namespace) return false;
  const ref = dep.owners.find((r) => r.uid === owner.uid);
  return !!ref && referenceMatches(ref, owner);
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && a.apiVersion === b.apiVersion && a.namespace === b.namespace;
}

function coordinatesKey(id: Identity): string {
  return [splitApiVersion(id.apiVersion).group, id.kind, id.namespace ?? '', id.name, id.uid].join('|');
}

function diffReferences(old: OwnerReference[], next: OwnerReference[]) {
  const oldByUid = new Map(old.map((r) => [r.uid, r]));
  const nextUids = new Set(next.map((r) => r.uid));
  const added: OwnerReference[] = [];
  const changed: OwnerReference[] = [];
  for (const r of next) {
    const was = oldByUid.get(r.uid);
    if (!was) added.push(r);
    else if (!deepEqual(was, r)) changed.push(r);
  }
  const removed = old.filter((r) => !nextUids.has(r.uid));
  return { added, removed, changed };
}
