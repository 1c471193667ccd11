// The RBAC authorizer: a request is allowed when a rule of a role bound to the user allows it.
// ClusterRoleBindings grant everywhere; RoleBindings only in their namespace. Rules match as
// upstream's (verbs, API groups, resource or "resource/subresource", "*/subresource",
// resourceNames, nonResourceURLs with a trailing *). There is no deny: RBAC answers allow or
// no opinion, with the errors met on the way (a binding to a missing role) as the reason.
import type { KubeObject } from '../../api/object.js';
import type { UserInfo } from '../../api/request.js';
import type { Attributes, AuthorizerAnswer } from './attributes.js';

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind?: string;
  apiGroup?: string;
  name?: string;
  namespace?: string;
}

/** The RBAC objects of the cluster, as the authorizer reads them. */
export interface RbacPolicy {
  clusterRoles: Map<string, KubeObject>;
  /** by namespace, then name */
  roles: Map<string, Map<string, KubeObject>>;
  clusterRoleBindings: KubeObject[];
  /** by namespace */
  roleBindings: Map<string, KubeObject[]>;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return nonResourceURLMatches(rule, a.path);
  return has(rule.apiGroups, a.apiGroup) && resourceMatches(rule, a.resource, a.subresource) && resourceNameMatches(rule, a.name);
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  return !rule.resourceNames?.length || rule.resourceNames.includes(name);
}

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** upstream's appliesTo: a ServiceAccount subject names system:serviceaccount:<ns>:<name>, its namespace defaulting to the binding's */
export function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return user.name === s.name;
    case 'Group':
      return !!s.name && user.groups.includes(s.name);
    case 'ServiceAccount':
      return user.name === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
    default:
      return false;
  }
}

/**
 * Calls visit with each rule the user holds that applies to the namespace ("" = cluster-wide
 * only), stopping when visit answers true. Errors (missing roles) are reported as upstream words them.
 */
export function visitRules(policy: RbacPolicy, user: UserInfo, namespace: string, visit: (rule: PolicyRule) => boolean, errors: string[]): boolean {
  for (const b of policy.clusterRoleBindings) {
    if (!((b.subjects as Subject[] | undefined) ?? []).some((s) => subjectMatches(s, user, ''))) continue;
    const role = policy.clusterRoles.get(b.roleRef?.name);
    if (!role) {
      errors.push(`clusterrole.rbac.authorization.k8s.io ${JSON.stringify(b.roleRef?.name ?? '')} not found`);
      continue;
    }
    for (const r of (role.rules as PolicyRule[] | undefined) ?? []) if (visit(r)) return true;
  }
  if (!namespace) return false;
  for (const b of policy.roleBindings.get(namespace) ?? []) {
    if (!((b.subjects as Subject[] | undefined) ?? []).some((s) => subjectMatches(s, user, namespace))) continue;
    const role = b.roleRef?.kind === 'ClusterRole' ? policy.clusterRoles.get(b.roleRef.name) : policy.roles.get(namespace)?.get(b.roleRef?.name);
    if (!role) {
      errors.push(`${b.roleRef?.kind === 'ClusterRole' ? 'clusterrole' : 'role'}.rbac.authorization.k8s.io ${JSON.stringify(b.roleRef?.name ?? '')} not found`);
      continue;
    }
    // a namespaced grant never reaches non-resource URLs
    for (const r of (role.rules as PolicyRule[] | undefined) ?? []) if (!r.nonResourceURLs?.length && visit(r)) return true;
  }
  return false;
}

export function rbacAuthorize(policy: RbacPolicy, a: Attributes): AuthorizerAnswer {
  const errors: string[] = [];
  if (visitRules(policy, a.user, a.namespace, (r) => ruleAllows(a, r), errors)) return { decision: 'allow', reason: '' };
  return { decision: 'no-opinion', reason: errors.length ? `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}` : '' };
}

/** Every rule the user holds in the namespace (SelfSubjectRulesReview). */
export function rulesFor(policy: RbacPolicy, user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
  const rules: PolicyRule[] = [];
  const errors: string[] = [];
  visitRules(policy, user, namespace, (r) => (rules.push(r), false), errors);
  return { rules, errors };
}

/**
 * The escalation check (upstream's ConfirmNoEscalation): every rule of a role being written must
 * be covered by rules its author holds in that namespace. Answers the rules not covered.
 */
export function uncoveredRules(held: PolicyRule[], wanted: PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of wanted) {
    for (const piece of breakdown(rule)) {
      if (!held.some((h) => covers(h, piece))) missing.push(piece);
    }
  }
  return missing;
}

/** one rule per verb × group × resource × name (or verb × URL), as upstream's BreakdownRule */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of rule.verbs ?? []) {
    for (const g of rule.apiGroups ?? []) {
      for (const r of rule.resources ?? []) {
        if (rule.resourceNames?.length) for (const n of rule.resourceNames) out.push({ verbs: [verb], apiGroups: [g], resources: [r], resourceNames: [n] });
        else out.push({ verbs: [verb], apiGroups: [g], resources: [r] });
      }
    }
    for (const u of rule.nonResourceURLs ?? []) out.push({ verbs: [verb], nonResourceURLs: [u] });
  }
  return out;
}

/** whether owner's rule covers a single-valued rule, as upstream's ruleCovers */
function covers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verb = sub.verbs![0];
  if (!has(owner.verbs, verb)) return false;
  if (sub.nonResourceURLs?.length) {
    const u = sub.nonResourceURLs[0];
    return (owner.nonResourceURLs ?? []).some((o) => o === '*' || o === u || (o.endsWith('*') && u.startsWith(o.slice(0, -1))));
  }
  if (!has(owner.apiGroups, sub.apiGroups![0])) return false;
  const r = sub.resources![0];
  const ownerResources = owner.resources ?? [];
  const resourceOk = ownerResources.some((o) => o === '*' || o === r || (r.includes('/') && o === `*/${r.split('/')[1]}`));
  if (!resourceOk) return false;
  if (!owner.resourceNames?.length) return true;
  return !!sub.resourceNames?.length && owner.resourceNames.includes(sub.resourceNames[0]);
}
