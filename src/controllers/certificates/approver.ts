// The csrapproving controller: approves node client CertificateSigningRequests whose
// requester may ask for them (upstream's sarapprove): a SubjectAccessReview for create on
// certificatesigningrequests/selfnodeclient when a node renews its own certificate, else
// .../nodeclient (granted to bootstrap tokens). Anything else is left for a person to
// approve or deny (kubectl certificate approve|deny).
import { timestamp, type KubeObject } from '../../api/object.js';
import type { ResourceType } from '../../client/client.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { CSRS, hasCondition, nodeClientProblem, parseRequest } from './node-client.js';

const SARS: ResourceType = { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews', kind: 'SubjectAccessReview', namespaced: false };

/** What to do with one CSR: nothing, or ask whether its requester may have this kind of certificate. */
export function decideApproval(csr: KubeObject): { check: 'selfnodeclient' | 'nodeclient' } | undefined {
  if (hasCondition(csr, 'Approved') || hasCondition(csr, 'Denied') || csr.status?.certificate) return undefined;
  const parsed = parseRequest(csr);
  if ('error' in parsed || nodeClientProblem(csr, parsed.csr)) return undefined;
  return { check: parsed.csr.commonName === csr.spec?.username ? 'selfnodeclient' : 'nodeclient' };
}

export class CSRApprovingController implements Controller {
  readonly name = 'csrapproving';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private csrs!: Informer;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.csrs = ctx.informers.informerFor(CSRS);
    const add = (o: KubeObject) => this.queue.add(o.metadata.name!);
    this.csrs.addEventHandler({ onAdd: add, onUpdate: (_o, n) => add(n) });
    ctx.runWorkers(this.queue, 1, (name) => this.sync(name));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(name: string): Promise<void> {
    const csr = this.csrs.get(name);
    if (!csr) return;
    const decision = decideApproval(csr);
    if (!decision) return;
    const spec = csr.spec ?? {};
    const review = (await this.ctx.client.resource(SARS).create({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {},
      spec: {
        user: spec.username,
        uid: spec.uid,
        groups: spec.groups,
        extra: spec.extra,
        resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', subresource: decision.check, verb: 'create' },
      },
    })) as KubeObject;
    if (!review.status?.allowed) return;
    const now = timestamp();
    const approved = {
      ...csr,
      status: {
        ...(csr.status ?? {}),
        conditions: [
          ...((csr.status?.conditions ?? []) as KubeObject[]),
          { type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'Auto approving kubelet client certificate after SubjectAccessReview.', lastUpdateTime: now, lastTransitionTime: now },
        ],
      },
    };
    await this.ctx.client.request({ method: 'PUT', path: this.ctx.client.resource(CSRS).path(name, 'approval'), body: approved });
  }
}
