// Serving CustomResourceDefinitions: the API server watches the stored definitions and, level-
// triggered, (1) decides each one's names and conditions (NamesAccepted, Established,
// Terminating) and writes them to its status, (2) serves the accepted ones' kinds by swapping
// in a registry that has them, so discovery, OpenAPI, routing, tables and watch all see them
// through the generic machinery, and (3) empties a deleted definition of its objects before
// releasing its finalizer (upstream's customresourcecleanup finalizer).
import { errors } from '../api/errors.js';
import { deepEqual, timestamp, type KubeObject } from '../api/object.js';
import type { AnyKindDef, Registry } from '../api/registry.js';
import { customKindsOf } from '../api/customresources.js';
import type { Definitions } from '../api/schema.js';
import { CRD_CLEANUP_FINALIZER, customResourceDefinitionKind, type CRDNames, type CustomResourceDefinition } from '../api/kinds/customresourcedefinition.js';
import type { Watcher } from '../store/store.js';
import type { ApiStream } from '../api/request.js';
import type { ApiServer } from './handler.js';
import { resourcePrefix } from './keys.js';
import type { KindEntry } from './resource-table.js';

type Condition = { type: string; status: string; reason: string; message: string; lastTransitionTime?: string };

/** The names and conditions a definition should have, given the others already accepted in its group. */
export function decideCRDStatus(crd: CustomResourceDefinition, others: CustomResourceDefinition[]): { acceptedNames: CRDNames; conditions: Condition[] } {
  const names = crd.spec.names;
  const taken = { kinds: new Set<string>(), listKinds: new Set<string>(), plurals: new Set<string>(), singulars: new Set<string>(), shortNames: new Set<string>() };
  for (const o of others) {
    if (o.metadata.name === crd.metadata.name || o.spec?.group !== crd.spec.group) continue;
    const a = o.status?.acceptedNames;
    if (!a?.kind) continue;
    taken.kinds.add(a.kind);
    if (a.listKind) taken.listKinds.add(a.listKind);
    taken.plurals.add(a.plural);
    if (a.singular) taken.singulars.add(a.singular);
    for (const s of a.shortNames ?? []) taken.shortNames.add(s);
  }
  let conflict: Condition | undefined;
  const inUse = (reason: string, v: string): Condition => ({ type: 'NamesAccepted', status: 'False', reason, message: `"${v}" is already in use` });
  if (taken.plurals.has(names.plural) || taken.singulars.has(names.plural)) conflict = inUse('PluralConflict', names.plural);
  else if (names.singular && (taken.singulars.has(names.singular) || taken.plurals.has(names.singular))) conflict = inUse('SingularConflict', names.singular);
  else if ((names.shortNames ?? []).some((s) => taken.shortNames.has(s))) conflict = inUse('ShortNamesConflict', names.shortNames!.find((s) => taken.shortNames.has(s))!);
  else if (taken.kinds.has(names.kind) || taken.listKinds.has(names.kind)) conflict = inUse('KindConflict', names.kind);
  else if (names.listKind && (taken.listKinds.has(names.listKind) || taken.kinds.has(names.listKind))) conflict = inUse('ListKindConflict', names.listKind);

  const previous = crd.status?.acceptedNames;
  const acceptedNames = conflict ? (previous?.kind ? previous : { plural: '', kind: '' }) : names;
  const conditions: Condition[] = [];
  conditions.push(conflict ?? { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' });
  const wasEstablished = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  if (!conflict || wasEstablished) conditions.push({ type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' });
  else conditions.push({ type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' });
  if (crd.metadata.deletionTimestamp) {
    conditions.push({ type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress' });
  }
  return { acceptedNames, conditions };
}

/** Conditions with lastTransitionTime kept from the previous ones whose status did not change. */
function withTransitionTimes(next: Condition[], previous: Condition[] | undefined, now: string): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: old && old.status === c.status ? (old.lastTransitionTime ?? now) : now };
  });
}

function established(crd: CustomResourceDefinition): boolean {
  return !!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
}

export class CustomResourceServing {
  private watcher?: Watcher;
  private running = false;
  private again = false;
  private stopped = false;
  private idle: Array<() => void> = [];
  private served = '';
  /** the open watches of each served definition's kinds, by definition name */
  private readonly watches = new Map<string, Set<() => void>>();

  constructor(private readonly api: ApiServer) {}

  /** Serves the stored definitions, then follows their changes. */
  async start(): Promise<void> {
    const rev = await this.api.store.revision();
    await this.sync();
    this.watcher = this.api.store.watch(resourcePrefix(customResourceDefinitionKind), rev, {
      onEvents: () => this.kick(),
      onError: () => this.restartWatch(),
      onCompacted: () => this.restartWatch(),
    });
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
  }

  /** Resolves once every change seen so far has been acted on. */
  settled(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private restartWatch(): void {
    if (this.stopped) return;
    this.watcher?.stop();
    void this.api.store.revision().then((rev) => {
      if (this.stopped) return;
      this.watcher = this.api.store.watch(resourcePrefix(customResourceDefinitionKind), rev, {
        onEvents: () => this.kick(),
        onError: () => this.restartWatch(),
        onCompacted: () => this.restartWatch(),
      });
      this.kick();
    });
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      do {
        this.again = false;
        try {
          await this.sync();
        } catch (e) {
          if (!this.stopped) console.error(`petset: custom resource definitions: ${(e as Error).message}`);
        }
      } while (this.again && !this.stopped);
      this.running = false;
      for (const r of this.idle.splice(0)) r();
    })();
  }

  /** One level-triggered pass over every definition. */
  private async sync(): Promise<void> {
    const storage = this.api.storage;
    const crdKind = storage.registry.resource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    const crds = (await storage.list(crdKind, undefined)).items as CustomResourceDefinition[];
    // names already accepted stay with their holder; then the oldest first: a name conflict is lost by the newcomer
    const holds = (c: CustomResourceDefinition) => (c.status?.acceptedNames?.kind ? 0 : 1);
    crds.sort(
      (a, b) =>
        holds(a) - holds(b) ||
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    );
    const accepted: CustomResourceDefinition[] = [];
    const writes: Array<{ crd: CustomResourceDefinition; status: CustomResourceDefinition['status'] }> = [];
    for (const crd of crds) {
      const decided = decideCRDStatus(crd, accepted);
      const now = timestamp();
      const conditions = withTransitionTimes(decided.conditions, crd.status?.conditions as Condition[] | undefined, now);
      const want = { ...(crd.status ?? {}), acceptedNames: decided.acceptedNames, conditions };
      if (!deepEqual(want, crd.status)) writes.push({ crd, status: want });
      const decidedCRD = { ...crd, status: want };
      if (established(decidedCRD) && want.acceptedNames?.kind) accepted.push(decidedCRD);
    }
    // served before anyone can read Established: `kubectl wait` then a create must find the kind
    this.serve(accepted);
    for (const { crd, status } of writes) {
      try {
        await storage.rawUpdate(crdKind, undefined, crd.metadata.name!, {}, (c) => {
          if (c.metadata.uid !== crd.metadata.uid) return c;
          return { ...c, status: { ...(c.status ?? {}), acceptedNames: status!.acceptedNames, conditions: status!.conditions } };
        });
      } catch {
        // gone or changed meanwhile: the watch brings it back
      }
    }
    for (const crd of accepted) if (crd.metadata.deletionTimestamp) await this.cleanUp(crd);
  }

  /**
   * A watch of a custom kind, ended (as upstream ends them) when its definition is no longer
   * served: clients relist and find the resource gone instead of waiting on a dead stream.
   */
  track(crd: string, stream: ApiStream): ApiStream {
    let ending: (() => void) | undefined;
    const forget = () => {
      if (ending) this.watches.get(crd)?.delete(ending);
    };
    return {
      start: (send, end) => {
        ending = () => {
          stream.stop();
          end();
        };
        let set = this.watches.get(crd);
        if (!set) this.watches.set(crd, (set = new Set()));
        set.add(ending);
        stream.start(send, () => {
          forget();
          end();
        });
      },
      stop: () => {
        forget();
        stream.stop();
      },
    };
  }

  /** Swaps in a registry with the accepted definitions' kinds (when they changed). */
  private serve(crds: CustomResourceDefinition[]): void {
    const key = JSON.stringify(crds.map((c) => [c.metadata.name, c.spec, c.status?.acceptedNames, !!c.metadata.deletionTimestamp]));
    if (key === this.served) return;
    this.served = key;
    const names = new Set(crds.map((c) => c.metadata.name!));
    for (const [crd, ends] of this.watches) {
      if (names.has(crd)) continue;
      this.watches.delete(crd);
      for (const end of ends) end();
    }
    const base = this.api.registry.base ?? this.api.registry;
    const kinds: AnyKindDef[] = [];
    const definitions: Definitions = {};
    for (const crd of crds) {
      const built = customKindsOf(crd);
      kinds.push(...built.kinds);
      Object.assign(definitions, built.definitions);
    }
    const next: Registry = kinds.length ? base.withCustomKinds(kinds, definitions) : base;
    this.api.setRegistry(next);
  }

  /** Deletes a terminating definition's objects; once none are left its finalizer goes, and so does it. */
  private async cleanUp(crd: CustomResourceDefinition): Promise<void> {
    const storage = this.api.storage;
    const kind = storage.registry.kinds.find((k) => k.custom?.crd === crd.metadata.name);
    if (kind) {
      const { items } = await storage.list(kind, undefined);
      for (const obj of items) {
        try {
          await storage.delete(kind, obj.metadata.namespace, obj.metadata.name!, { preconditions: { uid: obj.metadata.uid } });
        } catch {
          // gone already, or held by its own finalizers: the next pass looks again
        }
      }
      if ((await storage.list(kind, undefined, { limit: 1 })).items.length) {
        // objects held by finalizers: look again shortly (their removal is not a CRD event)
        setTimeout(() => this.kick(), 1000).unref();
        return;
      }
    }
    const crdKind = storage.registry.resource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    try {
      await storage.rawUpdate(crdKind, undefined, crd.metadata.name!, {}, (c) => {
        if (c.metadata.uid !== crd.metadata.uid) return c;
        const finalizers = (c.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
        if (finalizers.length) c.metadata.finalizers = finalizers;
        else delete c.metadata.finalizers;
        return c;
      });
    } catch {
      // already gone
    }
  }
}

/** DELETE of a definition: it keeps the cleanup finalizer until its objects are gone. */
export const customResourceDefinitionEntry: KindEntry = {
  async deleteOne(api, _namespace, name, options, ctx) {
    const kind = api.registry.resource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    const current = await api.storage.get(kind, undefined, name);
    if (options.preconditions?.uid && options.preconditions.uid !== current.metadata.uid) {
      throw errors.conflict({ group: kind.group, resource: kind.plural }, name, `Precondition failed: UID in precondition: ${options.preconditions.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (!current.metadata.deletionTimestamp && !(current.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) {
      await api.storage.rawUpdate(kind, undefined, name, ctx, (c: KubeObject) => {
        if (c.metadata.uid !== current.metadata.uid || c.metadata.deletionTimestamp) return c;
        c.metadata.finalizers = [...(c.metadata.finalizers ?? []), CRD_CLEANUP_FINALIZER];
        return c;
      });
    }
    return (await api.storage.delete(kind, undefined, name, options, ctx)).object;
  },
};
