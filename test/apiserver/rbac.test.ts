// The pure parts of authorization: request attributes from paths, RBAC rule matching,
// upstream's 403 texts, the escalation coverage check and cluster role aggregation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forbidden, requestAttributes } from '../../src/apiserver/authz/attributes.js';
import { rbacAuthorize, ruleAllows, uncoveredRules, type RbacPolicy } from '../../src/apiserver/authz/rbac.js';
import { aggregatedRules } from '../../src/controllers/clusterroleaggregation/controller.js';
import { bootstrapClusterRoles } from '../../src/apiserver/authz/bootstrap-policy.js';

const alice = { name: 'alice', groups: ['system:authenticated'] };
const q = (s = '') => new URLSearchParams(s);

test('request attributes follow upstream RequestInfo', () => {
  const a = requestAttributes(alice, 'GET', '/api/v1/namespaces/default/pods', q());
  assert.deepEqual([a.verb, a.resource, a.namespace, a.name, a.resourceRequest], ['list', 'pods', 'default', '', true]);
  assert.equal(requestAttributes(alice, 'GET', '/api/v1/namespaces/default/pods', q('watch=true')).verb, 'watch');
  assert.equal(requestAttributes(alice, 'GET', '/api/v1/watch/namespaces/default/pods', q()).verb, 'watch');
  assert.equal(requestAttributes(alice, 'DELETE', '/apis/apps/v1/namespaces/x/statefulsets', q()).verb, 'deletecollection');
  const sub = requestAttributes(alice, 'PATCH', '/apis/apps/v1/namespaces/x/statefulsets/web/scale', q());
  assert.deepEqual([sub.verb, sub.apiGroup, sub.resource, sub.subresource, sub.name], ['patch', 'apps', 'statefulsets', 'scale', 'web']);
  const ns = requestAttributes(alice, 'GET', '/api/v1/namespaces/kube-system', q());
  assert.deepEqual([ns.verb, ns.resource, ns.name, ns.namespace], ['get', 'namespaces', 'kube-system', 'kube-system']);
  const status = requestAttributes(alice, 'PUT', '/api/v1/namespaces/x/status', q());
  assert.deepEqual([status.resource, status.name, status.subresource], ['namespaces', 'x', 'status']);
  const one = requestAttributes(alice, 'GET', '/api/v1/namespaces/default/secrets', q('fieldSelector=metadata.name%3Dtls'));
  assert.equal(one.name, 'tls');
  const nonRes = requestAttributes(alice, 'GET', '/apis/apps', q());
  assert.deepEqual([nonRes.resourceRequest, nonRes.verb, nonRes.path], [false, 'get', '/apis/apps']);
});

test('403 texts are upstream\'s', () => {
  const e = forbidden(requestAttributes(alice, 'GET', '/api/v1/namespaces/default/pods', q()), '');
  assert.equal(e.message, 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"');
  assert.equal(e.code, 403);
  const named = forbidden(requestAttributes(alice, 'DELETE', '/apis/apps/v1/namespaces/d/statefulsets/web', q()), '');
  assert.equal(named.message, 'statefulsets.apps "web" is forbidden: User "alice" cannot delete resource "statefulsets" in API group "apps" in the namespace "d"');
  assert.deepEqual(named.toStatus().details, { name: 'web', group: 'apps', kind: 'statefulsets' });
  const cluster = forbidden(requestAttributes(alice, 'GET', '/api/v1/nodes', q()), 'RBAC: clusterrole.rbac.authorization.k8s.io "x" not found');
  assert.equal(cluster.message, 'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io "x" not found');
  const path = forbidden(requestAttributes(alice, 'GET', '/metrics', q()), '');
  assert.equal(path.message, 'forbidden: User "alice" cannot get path "/metrics"');
  const sub = forbidden(requestAttributes(alice, 'POST', '/api/v1/namespaces/d/pods/p/exec', q()), '');
  assert.equal(sub.message, 'pods "p" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "d"');
});

test('rules match verbs, groups, resource/subresource, */subresource, names and URL prefixes', () => {
  const a = (m: string, p: string, s = '') => requestAttributes(alice, m, p, q(s));
  assert.ok(ruleAllows(a('GET', '/api/v1/namespaces/d/pods/p/log'), { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }));
  assert.ok(!ruleAllows(a('GET', '/api/v1/namespaces/d/pods/p/log'), { verbs: ['get'], apiGroups: [''], resources: ['pods'] }));
  assert.ok(ruleAllows(a('PUT', '/apis/apps/v1/namespaces/d/statefulsets/w/status'), { verbs: ['update'], apiGroups: ['*'], resources: ['*/status'] }));
  assert.ok(ruleAllows(a('GET', '/api/v1/namespaces/d/secrets/tls'), { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] }));
  assert.ok(!ruleAllows(a('GET', '/api/v1/namespaces/d/secrets'), { verbs: ['list'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] }));
  assert.ok(ruleAllows(a('GET', '/healthz/etcd'), { verbs: ['get'], nonResourceURLs: ['/healthz/*'] }));
  assert.ok(!ruleAllows(a('GET', '/healthz'), { verbs: ['get'], nonResourceURLs: ['/healthz/*'] }));
});

test('RoleBindings grant in their namespace only, ServiceAccount subjects name system:serviceaccount users', () => {
  const policy: RbacPolicy = {
    clusterRoles: new Map([['reader', { metadata: { name: 'reader' }, rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }] }]]),
    roles: new Map(),
    clusterRoleBindings: [],
    roleBindings: new Map([
      [
        'team',
        [
          { metadata: { name: 'b', namespace: 'team' }, roleRef: { kind: 'ClusterRole', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'bot' }] },
          { metadata: { name: 'ghost', namespace: 'team' }, roleRef: { kind: 'Role', name: 'ghost' }, subjects: [{ kind: 'User', name: 'alice' }] },
        ],
      ],
    ]),
  };
  const bot = { name: 'system:serviceaccount:team:bot', groups: [] };
  assert.equal(rbacAuthorize(policy, requestAttributes(bot, 'GET', '/api/v1/namespaces/team/pods', q())).decision, 'allow');
  assert.equal(rbacAuthorize(policy, requestAttributes(bot, 'GET', '/api/v1/namespaces/other/pods', q())).decision, 'no-opinion');
  assert.equal(rbacAuthorize(policy, requestAttributes(bot, 'GET', '/api/v1/pods', q())).decision, 'no-opinion');
  assert.deepEqual(rbacAuthorize(policy, requestAttributes(alice, 'GET', '/api/v1/namespaces/team/pods', q())), {
    decision: 'no-opinion',
    reason: 'RBAC: role.rbac.authorization.k8s.io "ghost" not found',
  });
});

test('the escalation check finds what the author does not hold', () => {
  const held = [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }, { verbs: ['*'], apiGroups: ['apps'], resources: ['*'] }];
  assert.deepEqual(uncoveredRules(held, [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { verbs: ['delete'], apiGroups: ['apps'], resources: ['statefulsets/scale'] }]), []);
  assert.deepEqual(uncoveredRules(held, [{ verbs: ['get', 'delete'], apiGroups: [''], resources: ['pods'] }]), [{ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }]);
});

test('admin, edit and view aggregate the bootstrap roles as upstream: view ⊂ edit ⊂ admin', () => {
  const roles = bootstrapClusterRoles();
  const byName = (n: string) => roles.find((r) => r.metadata.name === n)!;
  const view = aggregatedRules(byName('view'), roles);
  const edit = aggregatedRules(byName('edit'), roles.map((r) => (r.metadata.name === 'view' ? { ...r, rules: view } : r)));
  assert.ok(view.length > 5);
  assert.ok(edit.length > view.length, 'edit gathers view through its aggregate-to-edit label');
  assert.ok(!JSON.stringify(view).includes('secrets'), 'view does not read secrets');
});
