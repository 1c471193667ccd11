// Enforces NetworkPolicy in the root pod network: a client of the API (pods, namespaces,
// network policies through informers) that keeps, in every local pod's network namespace,
// the nftables table podPolicyRules decides. A new pod's table is written before its
// containers start; every change of pods, namespaces or policies rewrites the tables that
// differ (level-triggered: the whole answer is computed again each time).
import { execFile } from 'node:child_process';
import type { KubeObject } from '../../api/object.js';
import { resources, type ResourceType } from '../../client/client.js';
import type { Informer, SharedInformerFactory } from '../../client/informer.js';
import { podPolicyRules, replaceScript, serviceConnectionAllowed, type PolicyContext } from './policy.js';

const networkPolicies: ResourceType = { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true };

interface LocalPod {
  netnsPath: string;
  ip: string;
  pod: KubeObject;
}

/** Runs an nft script inside a network namespace. */
export function nftIn(netnsPath: string, script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/nsenter', [`--net=${netnsPath}`, '--', 'nft', '-f', '-'], { timeout: 20_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`nft in ${netnsPath}: ${String(stderr).trim() || err.message}`)) : resolve(),
    );
    child.stdin!.end(script);
  });
}

export class NetworkPolicyEnforcer {
  private pods?: Informer;
  private namespaces?: Informer;
  private policies?: Informer;
  private services?: Informer;
  /** by sandbox id */
  private readonly local = new Map<string, LocalPod>();
  private readonly applied = new Map<string, string | undefined>();
  private scheduled = false;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly ctx: () => PolicyContext,
    private readonly log: (line: string) => void = (l) => console.warn(`[netpol] ${l}`),
  ) {}

  async start(informers: SharedInformerFactory): Promise<void> {
    this.pods = informers.informerFor(resources.pods);
    this.namespaces = informers.informerFor(resources.namespaces);
    this.policies = informers.informerFor(networkPolicies);
    this.services = informers.informerFor(resources.services);
    const kick = () => this.schedule();
    for (const inf of [this.pods, this.namespaces, this.policies, this.services]) inf.addEventHandler({ onAdd: kick, onUpdate: kick, onDelete: kick });
    informers.start();
    await Promise.all([this.pods.synced(), this.namespaces.synced(), this.policies.synced(), this.services.synced()]);
  }

  stop(): void {
    this.stopped = true;
  }

  /** A new pod's namespace: its table is in place before this returns (its containers start after). */
  async attached(sandboxId: string, netnsPath: string, ip: string, pod: KubeObject): Promise<void> {
    this.local.set(sandboxId, { netnsPath, ip, pod });
    this.applied.delete(sandboxId);
    await this.serially(() => this.syncOne(sandboxId, true));
  }

  detached(sandboxId: string): void {
    this.local.delete(sandboxId);
    this.applied.delete(sandboxId);
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.serially(() => this.syncAll());
    });
  }

  /** One write at a time, in order, so the table last written is the one last decided. */
  private serially(fn: () => Promise<void>): Promise<void> {
    const next = (this.running ?? Promise.resolve()).then(fn);
    this.running = next.catch(() => {});
    return next;
  }

  private async syncAll(): Promise<void> {
    for (const id of [...this.local.keys()]) await this.syncOne(id);
  }

  /**
   * Whether the service proxy may relay `from` (its client's address) to a backend: the
   * policies the pods' tables would apply to that connection made directly (see
   * serviceConnectionAllowed), decided from this enforcer's informers.
   */
  allowsServiceConnection(from: string, to: string, port: number, protocol: string): boolean {
    const policies = this.policies?.list() ?? [];
    if (!policies.length) return true; // the common case, decided without looking at pods
    const world = { pods: this.pods?.list() ?? [], namespaces: this.namespaces?.list() ?? [], policies, services: this.services?.list() ?? [] };
    return serviceConnectionAllowed(from, to, port, protocol, world, this.ctx());
  }

  /** strict: a failure throws (a new pod must not start unprotected) */
  private async syncOne(sandboxId: string, strict = false): Promise<void> {
    const l = this.local.get(sandboxId);
    if (!l || this.stopped) return;
    // the API's latest labels when it has the pod, the sandbox's own copy until then
    const pod = this.pods?.list().find((p) => p.metadata.uid === l.pod.metadata.uid) ?? l.pod;
    const world = { pods: this.pods?.list() ?? [], namespaces: this.namespaces?.list() ?? [], policies: this.policies?.list() ?? [], services: this.services?.list() ?? [] };
    const rules = podPolicyRules({ pod, ip: l.ip }, world, this.ctx());
    if (this.applied.has(sandboxId) && this.applied.get(sandboxId) === rules) return;
    try {
      await nftIn(l.netnsPath, replaceScript(rules));
      if (this.local.get(sandboxId) === l) this.applied.set(sandboxId, rules);
    } catch (e) {
      if (strict) throw e;
      // a namespace removed meanwhile is fine; anything else is retried on the next change
      if (this.local.get(sandboxId) === l) this.log(`policy of ${pod.metadata.namespace}/${pod.metadata.name}: ${(e as Error).message}`);
    }
  }
}
