// An in-memory stand-in for the API server that performs plans the way the act layer does,
// so decide() can be driven through whole scenarios (scale up, roll out, fail) in milliseconds.
import { clone, timestamp, type KubeObject } from '../../../src/api/object.js';
import { defaultPodTemplate } from '../../../src/api/pod-defaults.js';
import { ApiError } from '../../../src/api/errors.js';
import { perform, type ApiAction } from '../../../src/controllers/statefulset/act.js';
import type { Action, Purpose } from '../../../src/controllers/statefulset/actions.js';
import { decide, type Gates, type Plan } from '../../../src/controllers/statefulset/decide.js';
import { ordinalOf } from '../../../src/controllers/statefulset/identity.js';

export const START = Date.parse('2026-01-01T00:00:00Z');

export type Policy = 'Retain' | 'SetDeleteOnly' | 'ScaleDownOnly' | 'Delete' | 'nullPolicy';
export const POLICIES: Policy[] = ['Retain', 'SetDeleteOnly', 'ScaleDownOnly', 'Delete', 'nullPolicy'];

function policyObject(p: Policy): unknown {
  switch (p) {
    case 'Retain':
      return { whenDeleted: 'Retain', whenScaled: 'Retain' };
    case 'SetDeleteOnly':
      return { whenDeleted: 'Delete', whenScaled: 'Retain' };
    case 'ScaleDownOnly':
      return { whenDeleted: 'Retain', whenScaled: 'Delete' };
    case 'Delete':
      return { whenDeleted: 'Delete', whenScaled: 'Delete' };
    case 'nullPolicy':
      return undefined;
  }
}

export interface SetOptions {
  replicas?: number;
  parallel?: boolean;
  policy?: Policy;
  image?: string;
  start?: number;
  minReadySeconds?: number;
  updateStrategy?: unknown;
  revisionHistoryLimit?: number;
}

/** A StatefulSet as the API server stores it after defaulting. */
export function newSet(name: string, o: SetOptions = {}): KubeObject {
  const template: any = {
    metadata: { labels: { app: name } },
    spec: {
      containers: [{ name: 'nginx', image: o.image ?? 'nginx:1', volumeMounts: [{ name: 'datadir', mountPath: '/data' }] }],
      volumes: [{ name: 'home', hostPath: { path: '/tmp/home' } }],
    },
  };
  defaultPodTemplate(template);
  const set: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default', uid: `uid-set-${name}`, generation: 1, resourceVersion: '1' },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: name } },
      serviceName: 'svc',
      podManagementPolicy: o.parallel ? 'Parallel' : 'OrderedReady',
      updateStrategy: o.updateStrategy ?? { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: o.revisionHistoryLimit ?? 10,
      template,
      volumeClaimTemplates: [
        { metadata: { name: 'datadir' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
      ],
    },
    status: { replicas: 0, availableReplicas: 0 },
  };
  const policy = policyObject(o.policy ?? 'Retain');
  if (policy) set.spec.persistentVolumeClaimRetentionPolicy = policy;
  if (o.start !== undefined) set.spec.ordinals = { start: o.start };
  if (o.minReadySeconds) set.spec.minReadySeconds = o.minReadySeconds;
  return set;
}

interface Injected {
  match: (a: Action) => boolean;
  reason: string;
  times: number;
}

class CallError extends ApiError {
  constructor(reason: string, message: string) {
    super(reason === 'NotFound' ? 404 : 500, reason, message);
  }
}

export interface Performed {
  verb: string;
  purpose: Purpose;
  name?: string;
}

export class FakeCluster {
  set: KubeObject;
  readonly pods = new Map<string, KubeObject>();
  readonly claims = new Map<string, KubeObject>();
  readonly revisions = new Map<string, KubeObject>();
  readonly events: { type: string; reason: string; message: string }[] = [];
  readonly performed: Performed[] = [];
  statusWrites = 0;
  now = START;
  lastPlan?: Plan;
  /** make pod deletions graceful: the pod stays, terminating, until finish() */
  gracefulDeletes = false;
  /** the nodes and Unhealthy events the controller sees (its Blocked condition's text reads them) */
  nodes?: KubeObject[];
  unhealthyEvents?: KubeObject[];
  private seq = 100;
  private failures: Injected[] = [];

  constructor(
    set: KubeObject,
    readonly gates: Partial<Gates> = {},
  ) {
    this.set = clone(set);
  }

  private rv(): string {
    return String(++this.seq);
  }

  /** The next call matching this fails with the given Status reason. */
  failNext(match: Partial<Pick<Performed, 'verb' | 'purpose' | 'name'>>, reason = 'InternalError', times = 1): void {
    const fits = (a: Action) =>
      (!match.verb || a.verb === match.verb) &&
      (!match.purpose || a.purpose === match.purpose) &&
      (!match.name || ('name' in a && a.name === match.name));
    this.failures.push({ match: fits, reason, times });
  }

  plan(): Plan {
    return decide({
      set: this.set,
      pods: [...this.pods.values()],
      revisions: [...this.revisions.values()],
      claims: [...this.claims.values()],
      now: this.now,
      gates: this.gates,
      nodes: this.nodes,
      events: this.unhealthyEvents,
    });
  }

  /** One reconcile: decide, then perform the plan through the real act layer. */
  async sync(): Promise<{ plan: Plan; errors: string[] }> {
    const plan = this.plan();
    this.lastPlan = plan;
    const errors = await perform(plan, {
      call: async (action) => this.perform(action),
      record: (type, reason, message) => this.events.push({ type, reason, message }),
    });
    return { plan, errors };
  }

  private perform(action: ApiAction): void {
    this.performed.push({ verb: action.verb, purpose: action.purpose, name: action.name });
    const injected = this.failures.find((f) => f.times > 0 && f.match(action));
    if (injected) {
      injected.times--;
      throw new CallError(injected.reason, `injected ${injected.reason}`);
    }
    this.call(action);
  }

  private store(resource: string): Map<string, KubeObject> {
    return resource === 'pods' ? this.pods : resource === 'persistentvolumeclaims' ? this.claims : this.revisions;
  }

  private call(a: ApiAction): void {
    if (a.verb === 'verifyOwner') {
      if (this.set.metadata.uid !== a.uid || this.set.metadata.deletionTimestamp) throw new CallError('Conflict', 'owner changed');
      return;
    }
    if (a.verb === 'updateStatus') {
      this.statusWrites++;
      this.set = { ...this.set, metadata: { ...this.set.metadata, resourceVersion: this.rv() }, status: clone(a.body.status) };
      return;
    }
    const store = this.store(a.resource);
    const existing = store.get(a.name);
    const notFound = () => new CallError('NotFound', `${a.resource} "${a.name}" not found`);
    switch (a.verb) {
      case 'create': {
        if (existing) throw new CallError('AlreadyExists', `${a.resource} "${a.name}" already exists`);
        const obj = clone(a.body);
        obj.metadata.uid = `uid-${a.name}-${this.rv()}`;
        obj.metadata.resourceVersion = this.rv();
        obj.metadata.creationTimestamp = timestamp(new Date(this.now + this.seq * 1000));
        if (a.resource === 'pods') obj.status = { phase: 'Pending' };
        store.set(a.name, obj);
        return;
      }
      case 'update': {
        if (!existing) throw notFound();
        const obj = clone(a.body);
        obj.metadata.uid = existing.metadata.uid;
        obj.metadata.resourceVersion = this.rv();
        if (a.resource === 'pods') obj.status = existing.status;
        store.set(a.name, obj);
        return;
      }
      case 'patch': {
        if (!existing) throw notFound();
        const meta: any = a.patch.metadata;
        const obj = clone(existing);
        for (const ref of meta.ownerReferences) {
          if (ref.$patch === 'delete') obj.metadata.ownerReferences = obj.metadata.ownerReferences?.filter((r) => r.uid !== ref.uid);
          else obj.metadata.ownerReferences = [...(obj.metadata.ownerReferences ?? []), ref];
        }
        store.set(a.name, obj);
        return;
      }
      case 'delete': {
        if (!existing) throw notFound();
        if (a.resource === 'pods' && (this.gracefulDeletes || existing.metadata.finalizers?.length)) {
          existing.metadata.deletionTimestamp ??= timestamp(new Date(this.now));
        } else this.remove(store, a.name);
        return;
      }
    }
  }

  /** Removes an object and, like the garbage collector, the claims it controlled. */
  private remove(store: Map<string, KubeObject>, name: string): void {
    const uid = store.get(name)?.metadata.uid;
    store.delete(name);
    for (const [claimName, claim] of this.claims) {
      if (claim.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller)) this.claims.delete(claimName);
    }
  }

  /* ---------- what kubelets and users do between syncs ---------- */

  pod(ordinal: number): KubeObject {
    const pod = [...this.pods.values()].find((p) => ordinalOf(p) === ordinal);
    if (!pod) throw new Error(`no pod with ordinal ${ordinal}`);
    return pod;
  }

  sortedPods(): KubeObject[] {
    return [...this.pods.values()].sort((a, b) => ordinalOf(a) - ordinalOf(b));
  }

  setPhase(ordinal: number, phase: string): void {
    this.pod(ordinal).status = { ...this.pod(ordinal).status, phase };
  }

  /** Running and Ready, the Ready condition having turned true `readyFor` ms ago. */
  setReady(ordinal: number, readyFor = 0): void {
    const pod = this.pod(ordinal);
    pod.status = {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: timestamp(new Date(this.now - readyFor)) }],
    };
  }

  setNotReady(ordinal: number): void {
    this.pod(ordinal).status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  }

  /** The pod object disappears (graceful deletion finished, or a user force-deleted it). */
  removePod(ordinal: number): void {
    this.remove(this.pods, this.pod(ordinal).metadata.name!);
  }

  /** Finishes every graceful deletion. */
  finishDeletions(): void {
    for (const pod of [...this.pods.values()]) if (pod.metadata.deletionTimestamp) this.remove(this.pods, pod.metadata.name!);
  }

  /** A user edit of the spec: the API server bumps the generation. */
  editSpec(edit: (spec: any) => void): void {
    const spec = clone(this.set.spec);
    edit(spec);
    this.set = { ...this.set, metadata: { ...this.set.metadata, generation: (this.set.metadata.generation ?? 0) + 1 }, spec };
  }

  setImage(image: string): void {
    this.editSpec((spec) => (spec.template.spec.containers[0].image = image));
  }

  /** Every replica exists and is Running and Ready. */
  allReady(): boolean {
    const want = this.set.spec.replicas;
    return (this.set.status.readyReplicas ?? 0) === want && this.pods.size === want;
  }

  /** allReady, and every pod is on the update revision. */
  rolledOut(): boolean {
    const s = this.set.status;
    return this.allReady() && (s.updatedReplicas ?? 0) === this.set.spec.replicas && s.currentRevision === s.updateRevision;
  }

  /**
   * Syncs, checking invariants after each pass, and between passes moves one random pod a step
   * forward (Pending → Running → Ready) and lets terminating pods go, until `done`.
   */
  async progress(rand: () => number, check: () => void, done: () => boolean = () => this.allReady(), limit = 1000): Promise<void> {
    for (let i = 0; i < limit; i++) {
      await this.sync();
      check();
      if (done()) return;
      this.finishDeletions();
      const pods = this.sortedPods();
      if (!pods.length) continue;
      const pod = pods[Math.floor(rand() * pods.length)];
      const phase = pod.status?.phase;
      if (phase === 'Pending') this.setPhase(ordinalOf(pod), 'Running');
      else if (phase === 'Running' && pod.status?.conditions?.[0]?.status !== 'True') this.setReady(ordinalOf(pod));
    }
    throw new Error(`did not converge: ${JSON.stringify(this.set.status)}`);
  }
}

/** A small deterministic PRNG so that "random" progress is reproducible. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function actionsOf(plan: Plan, step?: string): Action[] {
  return plan.steps.filter((s) => !step || s.name === step).flatMap((s) => s.batches.flat(2));
}
