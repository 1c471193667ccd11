// The pods/binding and pods/eviction subresources: how the scheduler places a pod on a node,
// and how voluntary disruptions (kubectl drain) delete a pod only when its
// PodDisruptionBudget allows it.
import { ApiError, errors, renderFieldError, type FieldErrorLike, type Status, type StatusCause } from '../api/errors.js';
import { isPlainObject, timestamp, type KubeObject } from '../api/object.js';
import { pdbSelectsPod, updateDisruptionAllowedCondition } from '../api/pdb.js';
import { isPodReady, updatePodCondition } from '../api/pod-status.js';
import { resourceRef, type AnyKindDef } from '../api/registry.js';
import type { ApiRequest, ApiResponse } from '../api/request.js';
import { field } from '../api/validation.js';
import { decodeTyped } from '../api/typed.js';
import type { ApiServer, ResourceRoute } from './handler.js';
import type { DeleteOptions, WriteContext } from './resource-storage.js';

/** Retries of the eviction's read-check-write loops (upstream EvictionsRetry: 20 steps of 500 ms). */
const EVICTION_RETRIES = 20;
const EVICTION_RETRY_MS = 500;
/** The PDB controller forgets evictions it never saw through; past this the map is refused. */
const MAX_DISRUPTED_PODS = 2000;

const BUDGET_VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

export function installPodSubresources(api: ApiServer): void {
  api.addSubresource('pods/binding', (req, route, server) => createBinding(req, route, server));
  api.addSubresource('pods/eviction', (req, route, server) => new Eviction(req, route, server).run());
}

/* ---------- binding ---------- */

async function createBinding(req: ApiRequest, route: ResourceRoute, api: ApiServer): Promise<ApiResponse> {
  const { name, namespace } = checkRoute(req, route);
  const binding = decodeBody(checkBody(req, namespace, 'Binding'), api, 'io.k8s.api.core.v1.Binding', 'Binding', 'v1');
  if (binding.metadata.name !== name) throw errors.badRequest('name in URL does not match name in Binding object');
  const target = isPlainObject(binding.target) ? binding.target : {};
  const problems: FieldErrorLike[] = [];
  if (target.kind && target.kind !== 'Node') problems.push(field.notSupported('target.kind', target.kind, ['Node', '<empty>']));
  if (!target.name) problems.push(field.required('target.name'));
  // upstream hands back the bare aggregate, which the API server reports as a 500 without reason
  if (problems.length) throw new ApiError(500, '', aggregate(problems.map(renderFieldError)));

  const ctx = writeContext(req);
  const podRef = resourceRef(route.kind);
  const { uid, resourceVersion } = binding.metadata;
  await api.storage.rawUpdate(route.kind, namespace, name, ctx, (pod) => {
    checkPreconditions(pod, uid, resourceVersion);
    const fail = (why: string) => errors.conflict({ group: '', resource: 'pods/binding' }, name, why);
    if (pod.metadata.deletionTimestamp) throw fail(`pod ${name} is being deleted, cannot be assigned to a host`);
    if (pod.spec?.nodeName) throw fail(`pod ${name} is already assigned to node ${JSON.stringify(pod.spec.nodeName)}`);
    if (Array.isArray(pod.spec?.schedulingGates) && pod.spec.schedulingGates.length) throw fail(`pod ${name} has non-empty .spec.schedulingGates`);
    pod.spec.nodeName = target.name;
    const annotations = isPlainObject(binding.metadata.annotations) ? binding.metadata.annotations : {};
    if (Object.keys(annotations).length) pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), ...annotations };
    pod.status ??= {};
    updatePodCondition(pod.status, { type: 'PodScheduled', status: 'True', lastProbeTime: null });
    return pod;
  });
  return created();

  function checkPreconditions(pod: KubeObject, wantUid?: string, wantRV?: string): void {
    if (wantUid && wantUid !== pod.metadata.uid) {
      throw errors.conflict(podRef, name, `Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${pod.metadata.uid}`);
    }
    if (wantRV && wantRV !== pod.metadata.resourceVersion) {
      throw errors.conflict(podRef, name, `Precondition failed: ResourceVersion in precondition: ${wantRV}, ResourceVersion in object meta: ${pod.metadata.resourceVersion}`);
    }
  }
}

/* ---------- eviction ---------- */

class Eviction {
  private readonly name: string;
  private readonly namespace: string;
  private readonly pods: AnyKindDef;
  private readonly pdbs: AnyKindDef;

  constructor(
    private readonly req: ApiRequest,
    route: ResourceRoute,
    private readonly api: ApiServer,
  ) {
    ({ name: this.name, namespace: this.namespace } = checkRoute(req, route));
    this.pods = route.kind;
    this.pdbs = api.registry.resource('policy', 'v1', 'poddisruptionbudgets')!;
  }

  async run(): Promise<ApiResponse> {
    const eviction = decodeBody(checkBody(this.req, this.namespace, 'Eviction', ['policy/v1', 'policy/v1beta1']), this.api, 'io.k8s.api.policy.v1.Eviction', 'Eviction', 'v1');
    if (eviction.metadata.name !== this.name) throw errors.badRequest('name in URL does not match name in Eviction object');
    const options = this.deleteOptions(eviction);
    const callerSetRV = !!options.preconditions?.resourceVersion;

    // Pods that are not running (or already going) are deleted without consulting any budget.
    let pod: KubeObject | undefined;
    for (let attempt = 1; ; attempt++) {
      pod = await this.api.storage.get(this.pods, this.namespace, this.name);
      if (!canIgnoreBudget(pod)) break;
      const opts = mustPinVersion(pod) && !callerSetRV ? withResourceVersion(options, pod.metadata.resourceVersion!) : options;
      try {
        await this.markAndDelete(opts);
        return created();
      } catch (e) {
        if (callerSetRV || !isConflict(e) || attempt >= EVICTION_RETRIES) throw e;
        await sleep(EVICTION_RETRY_MS);
      }
    }

    const budgets = (await this.api.storage.list(this.pdbs, this.namespace)).items.filter((b) => pdbSelectsPod(b, pod!));
    if (budgets.length > 1) {
      throw new ApiError(500, '', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    }
    let pinVersion = false;
    const budget = budgets[0];
    if (budget) pinVersion = await this.takeFromBudget(pod, budget, !!options.dryRun?.length);

    const opts = pinVersion ? withResourceVersion(options, pod.metadata.resourceVersion!) : options;
    try {
      await this.markAndDelete(opts);
    } catch (e) {
      // a pod that became ready meanwhile must go through the budget: let the client retry
      if (isConflict(e) && pinVersion && !callerSetRV) throw stillProcessing(budget.metadata.name!);
      throw e;
    }
    return created();
  }

  /**
   * Checks the budget and uses one disruption from it. Answers true when the pod may go
   * without using any (it is unready and the budget is met), as long as it stays unready.
   */
  private async takeFromBudget(pod: KubeObject, first: KubeObject, dryRun: boolean): Promise<boolean> {
    const ready = isPodReady(pod);
    if (!ready && first.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow') return true;
    let pdb = first;
    for (let attempt = 1; attempt <= EVICTION_RETRIES; attempt++) {
      if (attempt > 1) {
        await sleep(EVICTION_RETRY_MS);
        pdb = await this.api.storage.get(this.pdbs, this.namespace, first.metadata.name!);
      }
      const status = pdb.status ?? {};
      if (!ready && (status.currentHealthy ?? 0) >= (status.desiredHealthy ?? 0) && (status.desiredHealthy ?? 0) > 0) return true;
      try {
        await this.checkAndDecrement(pdb, dryRun);
        return false;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
    throw errors.timeout(`couldn't update PodDisruptionBudget ${JSON.stringify(first.metadata.name)} due to conflicts`, 10);
  }

  private async checkAndDecrement(pdb: KubeObject, dryRun: boolean): Promise<void> {
    const name = pdb.metadata.name!;
    const status = (pdb.status ??= {});
    const ref = { group: 'policy', resource: 'poddisruptionbudget' };
    if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) throw stillProcessing(name);
    if ((status.disruptionsAllowed ?? 0) < 0) throw errors.forbidden(ref, name, 'pdb disruptions allowed is negative');
    if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) {
      throw errors.forbidden(ref, name, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
    }
    if ((status.disruptionsAllowed ?? 0) === 0) {
      const message = `The disruption budget ${name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`;
      throw errors.tooManyRequests(BUDGET_VIOLATION, undefined, [budgetCause(message)]);
    }
    status.disruptionsAllowed--;
    if (status.disruptionsAllowed === 0) updateDisruptionAllowedCondition(status);
    if (dryRun) return;
    status.disruptedPods = { ...(status.disruptedPods ?? {}), [this.name]: timestamp() };
    await this.api.storage.update(this.pdbs, this.namespace, name, pdb, { user: this.req.user }, 'status');
  }

  /** Marks the pod as a disruption target, then deletes it the ordinary (graceful) way. */
  private async markAndDelete(options: DeleteOptions): Promise<void> {
    const ctx: WriteContext = { dryRun: !!options.dryRun?.length, user: this.req.user };
    let opts = options;
    if (!ctx.dryRun) {
      const updated = await this.api.storage.guaranteedUpdate(
        this.pods,
        this.namespace,
        this.name,
        (pod) => {
          const p = options.preconditions;
          if (p?.uid && p.uid !== pod.metadata.uid) {
            throw errors.conflict(
              { group: '', resource: 'Pod' },
              this.name,
              `the UID in the precondition (${p.uid}) does not match the UID in record (${pod.metadata.uid}). The object might have been deleted and then recreated`,
            );
          }
          if (p?.resourceVersion && p.resourceVersion !== pod.metadata.resourceVersion) {
            throw errors.conflict(
              { group: '', resource: 'Pod' },
              this.name,
              `the ResourceVersion in the precondition (${p.resourceVersion}) does not match the ResourceVersion in record (${pod.metadata.resourceVersion}). The object might have been modified`,
            );
          }
          pod.status ??= {};
          updatePodCondition(pod.status, { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' });
          return pod;
        },
        ctx,
        'status',
      );
      // our own write moved the version the caller pinned
      if (options.preconditions?.resourceVersion) opts = withResourceVersion(options, updated.metadata.resourceVersion!);
    }
    await this.api.storage.delete(this.pods, this.namespace, this.name, opts, ctx);
  }

  /** The eviction's deleteOptions, with dryRun from the query when the body has none. */
  private deleteOptions(eviction: KubeObject): DeleteOptions {
    const fromQuery = this.req.query.getAll('dryRun');
    const body: DeleteOptions = isPlainObject(eviction.deleteOptions) ? structuredClone(eviction.deleteOptions) : {};
    if (!body.dryRun?.length) body.dryRun = fromQuery.length ? fromQuery : undefined;
    else if (fromQuery.length && JSON.stringify(fromQuery) !== JSON.stringify(body.dryRun)) {
      throw new ApiError(500, '', `Non-matching dry-run options in request and content: [${fromQuery.join(' ')}] and [${body.dryRun.join(' ')}]`);
    }
    for (const d of body.dryRun ?? []) {
      if (d !== 'All') throw errors.invalid({ group: '', resource: 'DeleteOptions', kind: 'DeleteOptions' }, '', [field.notSupported('dryRun', d, ['All'])]);
    }
    return body;
  }
}

function canIgnoreBudget(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata.deletionTimestamp;
}

/** Terminal and terminating pods cannot become healthy again, so their version need not be pinned. */
function mustPinVersion(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !(phase === 'Succeeded' || phase === 'Failed' || pod.metadata.deletionTimestamp);
}

function withResourceVersion(options: DeleteOptions, resourceVersion: string): DeleteOptions {
  return { ...options, preconditions: { ...(options.preconditions ?? {}), resourceVersion } };
}

function budgetCause(message: string): StatusCause {
  return { reason: 'DisruptionBudget', message };
}

function stillProcessing(pdbName: string): ApiError {
  return errors.tooManyRequests(BUDGET_VIOLATION, 10, [budgetCause(`The disruption budget ${pdbName} is still being processed by the server.`)]);
}

function isConflict(e: unknown): boolean {
  return e instanceof ApiError && e.code === 409;
}

/* ---------- shared ---------- */

function checkRoute(req: ApiRequest, route: ResourceRoute): { name: string; namespace: string } {
  if (route.namespace === undefined || !route.name || route.subpath) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  if (req.method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  return { name: route.name, namespace: route.namespace };
}

function checkBody(req: ApiRequest, namespace: string, kind: string, apiVersions = ['v1']): KubeObject {
  if (!isPlainObject(req.body)) throw errors.badRequest('the body of the request must be a JSON or YAML object');
  const obj = req.body as KubeObject;
  if (obj.kind !== undefined && obj.kind !== kind) {
    throw errors.badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${kind})`);
  }
  if (obj.apiVersion !== undefined && !apiVersions.includes(obj.apiVersion)) {
    throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersions[0]})`);
  }
  if (!isPlainObject(obj.metadata)) obj.metadata = {};
  if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  return obj;
}

/** The body in its type's shape (a number for a node name is a 400 here, not a pod with a number for spec.nodeName). */
function decodeBody(obj: KubeObject, api: ApiServer, ref: string, kind: string, version: string): KubeObject {
  const res = decodeTyped(obj, { $ref: ref }, api.registry.definitions, { kindName: kind });
  if (res.error) throw errors.badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${res.error}`);
  return res.value as KubeObject;
}

function writeContext(req: ApiRequest): WriteContext {
  const dry = req.query.getAll('dryRun');
  for (const d of dry) {
    if (d !== 'All') throw errors.invalid({ group: '', resource: 'DryRun', kind: 'DryRun' }, '', [field.notSupported('dryRun', d, ['All'])]);
  }
  return { dryRun: dry.length > 0, user: req.user };
}

function created(): ApiResponse {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  return { status: 201, body: status, headers: { 'Content-Type': 'application/json' } };
}

function aggregate(msgs: string[]): string {
  return msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
