// kube-controller-manager's --use-service-account-credentials for a controller manager in a
// process of its own: each controller calls the API with a token of its kube-system
// ServiceAccount (made if missing), requested through the TokenRequest API by the manager's
// own credential and requested again before it expires, so every controller holds only its
// role's rights (upstream's SAControllerClientBuilder).
import type { ApiRequest, ApiResponse } from '../api/request.js';
import { isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import type { Client, ResourceType } from './client.js';
import type { Transport } from './transport.js';

/** upstream asks for an hour and renews once 80% of a token's life has passed */
const TOKEN_SECONDS = 3600;
const RENEW_AT = 0.8;
const SERVICE_ACCOUNTS: ResourceType = { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true };

export class ServiceAccountTransport implements Transport {
  private current: { transport: Transport; renewAt: number } | undefined;
  private pending: Promise<Transport> | undefined;
  private readonly retired: Transport[] = [];

  constructor(
    /** the controller manager's own client: reads and makes the account, asks for its tokens */
    private readonly root: Client,
    readonly namespace: string,
    readonly name: string,
    /** a transport to the same server presenting this token */
    private readonly withToken: (token: string) => Transport,
    private readonly now: () => number = Date.now,
  ) {}

  async request(req: ApiRequest): Promise<ApiResponse> {
    return (await this.transport()).request(req);
  }

  close(): void {
    this.current?.transport.close?.();
    for (const t of this.retired.splice(0)) t.close?.();
  }

  private transport(): Promise<Transport> {
    if (this.current && this.now() < this.current.renewAt) return Promise.resolve(this.current.transport);
    this.pending ??= this.renew().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async renew(): Promise<Transport> {
    const accounts = this.root.resource<KubeObject>(SERVICE_ACCOUNTS, this.namespace);
    try {
      await accounts.get(this.name);
    } catch (e) {
      if (!isApiError(e, 'NotFound')) throw e;
      await accounts.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: this.name, namespace: this.namespace } }).catch((err: unknown) => {
        if (!isApiError(err, 'AlreadyExists')) throw err;
      });
    }
    const issued = this.now();
    const review = await accounts.createSubresource<KubeObject>(this.name, 'token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: TOKEN_SECONDS },
    });
    const token: string | undefined = review.status?.token;
    if (!token) throw new Error(`no token issued for ServiceAccount ${this.namespace}/${this.name}`);
    const expires = Date.parse(review.status?.expirationTimestamp ?? '') || issued + TOKEN_SECONDS * 1000;
    // watches opened with the old token keep their connections; its transport is closed with this one
    if (this.current) this.retired.push(this.current.transport);
    this.current = { transport: this.withToken(token), renewAt: issued + (expires - issued) * RENEW_AT };
    return this.current.transport;
  }
}
