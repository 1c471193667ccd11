// The API server's authorizer, as kube-apiserver's --authorization-mode=Node,RBAC: members of
// system:masters may do anything (upstream's privileged-group authorizer), nodes are decided by
// the Node authorizer, everyone else by RBAC. RBAC's objects are read from the store and kept
// until one of them changes. Also the RBAC storage's escalation and bind checks, as admission.
import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resourceRef } from '../../api/registry.js';
import type { UserInfo } from '../../api/request.js';
import type { Watcher } from '../../store/store.js';
import { resourcePrefix } from '../keys.js';
import type { Admission, ResourceStorage } from '../resource-storage.js';
import type { Registry } from '../../api/registry.js';
import type { Attributes, AuthorizerAnswer } from './attributes.js';
import { nodeAuthorize, nodeNameOf, type NodeGraph } from './node.js';
import { rbacAuthorize, rulesFor, uncoveredRules, type PolicyRule, type RbacPolicy } from './rbac.js';

export const PRIVILEGED_GROUP = 'system:masters';
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const RBAC_PLURALS = ['clusterroles', 'roles', 'clusterrolebindings', 'rolebindings'];

export class Authorizer {
  private policy: RbacPolicy | undefined;
  private loading: Promise<RbacPolicy> | undefined;
  private watcher: Watcher | undefined;
  private dirty = true;

  constructor(
    private readonly storage: ResourceStorage,
    private readonly registry: Registry,
    /** what the Node authorizer knows of pods and their nodes */
    readonly nodeGraph?: NodeGraph,
  ) {}

  async authorize(a: Attributes): Promise<AuthorizerAnswer> {
    if (a.user.groups.includes(PRIVILEGED_GROUP)) return { decision: 'allow', reason: '' };
    const reasons: string[] = [];
    if (this.nodeGraph) {
      const node = await nodeAuthorize(a, this.nodeGraph);
      if (node.decision !== 'no-opinion') return node;
      if (node.reason) reasons.push(node.reason);
    }
    const rbac = rbacAuthorize(await this.currentPolicy(), a);
    if (rbac.decision !== 'no-opinion') return rbac;
    if (rbac.reason) reasons.push(rbac.reason);
    return { decision: 'no-opinion', reason: reasons.join('\n') };
  }

  /** The rules a user holds in a namespace (SelfSubjectRulesReview); masters hold everything. */
  async rulesFor(user: UserInfo, namespace: string): Promise<{ rules: PolicyRule[]; errors: string[]; incomplete?: boolean }> {
    if (user.groups.includes(PRIVILEGED_GROUP)) {
      return { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }], errors: [] };
    }
    const rbac = rulesFor(await this.currentPolicy(), user, namespace);
    // as upstream's Node authorizer: a node's rights depend on its pods, so they cannot be listed
    if (this.nodeGraph && nodeNameOf(user)) return { rules: rbac.rules, errors: ['node authorizer does not support user rule resolution', ...rbac.errors], incomplete: true };
    return rbac;
  }

  stop(): void {
    this.watcher?.stop();
    this.watcher = undefined;
  }

  private async currentPolicy(): Promise<RbacPolicy> {
    if (!this.watcher) {
      const rev = await this.storage.store.revision();
      // the four RBAC resources live under four prefixes (upstream's layout): one watch each, any event marks the policy stale
      const lost = () => {
        this.dirty = true;
        this.watcher?.stop();
        this.watcher = undefined;
      };
      const watchers = RBAC_PLURALS.map((plural) =>
        this.storage.store.watch(resourcePrefix(this.registry.resource(RBAC_GROUP, 'v1', plural)!), rev, {
          onEvents: () => (this.dirty = true),
          onError: lost,
          onCompacted: lost,
        }),
      );
      this.watcher ??= { stop: () => watchers.forEach((w) => w.stop()) };
      this.dirty = true;
    }
    if (!this.dirty && this.policy) return this.policy;
    if (!this.loading) {
      this.dirty = false;
      this.loading = this.load().finally(() => (this.loading = undefined));
    }
    this.policy = await this.loading;
    return this.policy;
  }

  private async load(): Promise<RbacPolicy> {
    const list = async (plural: string) => (await this.storage.list(this.registry.resource(RBAC_GROUP, 'v1', plural)!, undefined)).items;
    const [clusterRoles, roles, clusterRoleBindings, roleBindings] = await Promise.all([list('clusterroles'), list('roles'), list('clusterrolebindings'), list('rolebindings')]);
    const byNs = <T>(items: KubeObject[], add: (m: Map<string, T>, o: KubeObject) => void) => {
      const m = new Map<string, T>();
      for (const o of items) add(m, o);
      return m;
    };
    return {
      clusterRoles: new Map(clusterRoles.map((r) => [r.metadata.name!, r])),
      roles: byNs<Map<string, KubeObject>>(roles, (m, r) => {
        const ns = r.metadata.namespace!;
        if (!m.has(ns)) m.set(ns, new Map());
        m.get(ns)!.set(r.metadata.name!, r);
      }),
      clusterRoleBindings,
      roleBindings: byNs<KubeObject[]>(roleBindings, (m, b) => {
        const ns = b.metadata.namespace!;
        if (!m.has(ns)) m.set(ns, []);
        m.get(ns)!.push(b);
      }),
    };
  }

  /**
   * upstream's RBAC storage checks: a role may only be written with rules its author holds
   * (or by one allowed to `escalate`), a binding only to a role its author holds (or may `bind`).
   */
  escalationAdmission(): Admission {
    const check = async (kind: { group: string; plural: string; kind: string; namespaced: boolean }, obj: KubeObject, user: UserInfo | undefined) => {
      if (kind.group !== RBAC_GROUP || !user || user.groups.includes(PRIVILEGED_GROUP)) return;
      const namespace = kind.namespaced ? obj.metadata.namespace ?? '' : '';
      const name = obj.metadata.name ?? '';
      const base = { user, resourceRequest: true, path: '', apiGroup: RBAC_GROUP, apiVersion: 'v1', subresource: '', namespace } as const;
      let wanted: PolicyRule[];
      if (kind.plural === 'roles' || kind.plural === 'clusterroles') {
        const may = await this.authorize({ ...base, verb: 'escalate', resource: kind.plural, name });
        if (may.decision === 'allow') return;
        wanted = (obj.rules as PolicyRule[] | undefined) ?? [];
      } else if (kind.plural === 'rolebindings' || kind.plural === 'clusterrolebindings') {
        const ref = obj.roleRef ?? {};
        const roleResource = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
        const may = await this.authorize({ ...base, verb: 'bind', resource: roleResource, name: ref.name ?? '' });
        if (may.decision === 'allow') return;
        const policy = await this.currentPolicy();
        const role = ref.kind === 'ClusterRole' ? policy.clusterRoles.get(ref.name) : policy.roles.get(namespace)?.get(ref.name);
        if (!role) return; // upstream: the role's rules cannot be resolved, so nothing is granted yet (validation reports bad refs)
        wanted = (role.rules as PolicyRule[] | undefined) ?? [];
      } else return;
      const held = rulesFor(await this.currentPolicy(), user, namespace); // RBAC's rules only, as upstream's escalation check
      const missing = uncoveredRules(held.rules, wanted);
      if (!missing.length) return;
      let msg = `user ${JSON.stringify(user.name)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${[...new Set(compact(missing).map(compactString))].sort().join('\n')}`;
      if (held.errors.length) msg += `; resolution errors: [${held.errors.join(' ')}]`;
      throw errors.forbidden(resourceRef(kind as never), name, msg);
    };
    return {
      create: (kind, obj, ctx) => check(kind, obj, ctx.user),
      update: (kind, obj, _old, ctx) => check(kind, obj, ctx.user),
    };
  }
}

/** Go's %q of a []string: ["a" "b"] */
function goQuoteList(v: string[]): string {
  return `[${v.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** upstream's CompactRules: single-resource rules differing only in verbs are merged */
function compact(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const byKey = new Map<string, PolicyRule>();
  for (const r of rules) {
    if (r.nonResourceURLs?.length || r.resourceNames?.length) {
      out.push(r);
      continue;
    }
    const key = `${r.apiGroups?.[0]}\0${r.resources?.[0]}`;
    const have = byKey.get(key);
    if (have) {
      for (const v of r.verbs ?? []) if (!have.verbs!.includes(v)) have.verbs!.push(v);
    } else {
      const copy = { apiGroups: r.apiGroups, resources: r.resources, verbs: [...(r.verbs ?? [])] };
      byKey.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}

/** upstream's CompactString: {APIGroups:["apps"], Resources:["pods"], Verbs:["get" "list"]} */
function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs?.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}
