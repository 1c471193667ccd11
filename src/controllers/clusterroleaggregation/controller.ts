// The clusterrole-aggregation controller: a ClusterRole with an aggregationRule gets as its
// rules the union of the rules of every other ClusterRole its selectors match, in the order of
// the roles' names, each rule once (upstream's ClusterRoleAggregationController). That is how
// admin, edit and view grow when a CRD's author labels a role aggregate-to-view.
import { deepEqual, type KubeObject } from '../../api/object.js';
import { labelSelectorFromObject } from '../../api/selectors.js';
import type { ResourceType } from '../../client/client.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';

export const CLUSTER_ROLES: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', kind: 'ClusterRole', namespaced: false };

/** The rules an aggregated role should have (pure). */
export function aggregatedRules(role: KubeObject, all: KubeObject[]): unknown[] {
  const selectors = ((role.aggregationRule?.clusterRoleSelectors as unknown[]) ?? []).map((s) => labelSelectorFromObject(s as never));
  const sources = all
    .filter((r) => r.metadata.name !== role.metadata.name && selectors.some((sel) => sel.matches(r.metadata.labels ?? {})))
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const rules: unknown[] = [];
  for (const src of sources) for (const rule of (src.rules as unknown[]) ?? []) if (!rules.some((have) => deepEqual(have, rule))) rules.push(rule);
  return rules;
}

export class ClusterRoleAggregationController implements Controller {
  readonly name = 'clusterrole-aggregation';
  private readonly queue = new WorkQueue<string>();
  private ctx!: ControllerContext;
  private roles!: Informer;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.roles = ctx.informers.informerFor(CLUSTER_ROLES);
    // any change to any role may change what an aggregated role gathers: look at them all
    const all = () => {
      for (const r of this.roles.list()) if (r.aggregationRule) this.queue.add(keyOf(r));
    };
    this.roles.addEventHandler({ onAdd: all, onUpdate: all, onDelete: all });
    ctx.runWorkers(this.queue, 1, (key) => this.sync(key));
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<void> {
    const role = this.roles.get(key);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, this.roles.list());
    if (deepEqual(role.rules ?? [], rules)) return;
    await this.ctx.client.resource(CLUSTER_ROLES).update({ ...role, rules });
  }
}
