// The roles and bindings a new cluster has, as upstream's bootstrappolicy: cluster-admin for
// system:masters; admin, edit and view aggregated from the system:aggregate-to-* roles (so
// that CRDs can extend them); discovery, public-info and basic-user for everyone
// authenticated; system:node (bound to no one: nodes are decided by the Node authorizer) and
// the roles of the other parts. Each carries kubernetes.io/bootstrapping=rbac-defaults and is
// put back at start when missing; one still marked autoupdate=true gains the rules (or
// subjects) it lacks, as upstream's reconciliation does, and nothing is taken away.
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import type { ApiServer } from '../handler.js';
import { NODE_RULES } from './node.js';
import { uncoveredRules, type PolicyRule } from './rbac.js';
import { COREDNS_RULES, CONTROLLER_ROLES, EXTERNAL_ATTACHER_RULES, KUBE_CONTROLLER_MANAGER_RULES, KUBE_SCHEDULER_RULES, LOCAL_PATH_PROVISIONER_RULES, NETWORK_POLICY_AGENT_RULES, VOLUME_SCHEDULER_RULES } from './controller-policy.js';

const RBAC = 'rbac.authorization.k8s.io';
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const READ_WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const CSR_ROLE = 'system:certificates.k8s.io:certificatesigningrequests';
/** the group kubeadm gives the bootstrap tokens it makes for joining nodes */
export const DEFAULT_NODE_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
const BOOTSTRAP_LABEL = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AGGREGATE = (to: string) => ({ [`rbac.authorization.k8s.io/aggregate-to-${to}`]: 'true' });

const r = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({ apiGroups, resources, verbs });
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ nonResourceURLs, verbs });

function clusterRole(name: string, rules: PolicyRule[], extra: { labels?: Record<string, string>; aggregateFrom?: string; annotations?: Record<string, string> } = {}): KubeObject {
  const role: KubeObject = {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAP_LABEL, ...extra.labels }, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
    rules,
  };
  if (extra.aggregateFrom) role.aggregationRule = { clusterRoleSelectors: [{ matchLabels: AGGREGATE(extra.aggregateFrom) }] };
  return role;
}

export function bootstrapClusterRoles(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [r(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('system:discovery', [urls(['get'], ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'])]),
    clusterRole('system:monitoring', [urls(['get'], ['/healthz', '/healthz/*', '/livez', '/livez/*', '/metrics', '/metrics/slis', '/readyz', '/readyz/*'])]),
    clusterRole('system:basic-user', [
      r(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      r(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:public-info-viewer', [urls(['get'], ['/healthz', '/livez', '/readyz', '/version', '/version/'])]),
    clusterRole('admin', [], { aggregateFrom: 'admin' }),
    clusterRole('edit', [], { aggregateFrom: 'edit', labels: AGGREGATE('admin') }),
    clusterRole('view', [], { aggregateFrom: 'view', labels: AGGREGATE('edit') }),
    clusterRole(
      'system:aggregate-to-admin',
      [r(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']), r(READ_WRITE, [RBAC], ['rolebindings', 'roles'])],
      { labels: AGGREGATE('admin') },
    ),
    clusterRole(
      'system:aggregate-to-edit',
      [
        r(READ, [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']),
        r(['impersonate'], [''], ['serviceaccounts']),
        r(WRITE, [''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
        r(['create'], [''], ['pods/eviction']),
        r(WRITE, [''], ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy']),
        r(['create'], [''], ['serviceaccounts/token']),
        r(WRITE, ['apps'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale']),
        r(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
        r(WRITE, ['batch'], ['cronjobs', 'jobs']),
        r(WRITE, ['extensions'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'ingresses', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale']),
        r(WRITE, ['policy'], ['poddisruptionbudgets']),
        r(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
        r(READ_WRITE, ['coordination.k8s.io'], ['leases']),
      ],
      { labels: AGGREGATE('edit') },
    ),
    clusterRole(
      'system:aggregate-to-view',
      [
        r(READ, [''], ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status']),
        r(READ, [''], ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status']),
        r(READ, [''], ['namespaces']),
        r(READ, ['discovery.k8s.io'], ['endpointslices']),
        r(READ, ['apps'], ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status']),
        r(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
        r(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
        r(READ, ['extensions'], ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale']),
        r(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
        r(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
      ],
      { labels: AGGREGATE('view') },
    ),
    clusterRole('system:node', NODE_RULES),
    clusterRole('system:node-proxier', [
      r(READ, [''], ['endpoints', 'services']),
      r(READ, [''], ['nodes']),
      r(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
      r(READ, ['discovery.k8s.io'], ['endpointslices']),
    ]),
    clusterRole('system:kube-dns', [r(['list', 'watch'], [''], ['endpoints', 'services'])]),
    clusterRole('system:service-account-issuer-discovery', [
      urls(['get'], ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/']),
    ]),
    // TLS bootstrap of node agents (upstream's roles; bound below as kubeadm binds them)
    clusterRole('system:node-bootstrapper', [r(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])]),
    clusterRole(`${CSR_ROLE}:nodeclient`, [r(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient'])]),
    clusterRole(`${CSR_ROLE}:selfnodeclient`, [r(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient'])]),
    clusterRole('system:auth-delegator', [r(['create'], ['authentication.k8s.io'], ['tokenreviews']), r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews'])]),
    // roles charts bind their own accounts to (storage provisioners, node bootstrap)
    clusterRole('system:persistent-volume-provisioner', [
      r(['get', 'list', 'watch', 'create', 'delete'], [''], ['persistentvolumes']),
      r(['get', 'list', 'watch', 'update'], [''], ['persistentvolumeclaims']),
      r(READ, ['storage.k8s.io'], ['storageclasses']),
      r(['watch'], [''], ['events']),
      r(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
    ]),
    clusterRole('system:node-bootstrapper', [r(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])]),
    clusterRole('system:kube-controller-manager', KUBE_CONTROLLER_MANAGER_RULES),
    clusterRole('system:kube-scheduler', KUBE_SCHEDULER_RULES),
    clusterRole('system:volume-scheduler', VOLUME_SCHEDULER_RULES),
    ...Object.entries(CONTROLLER_ROLES).map(([sa, rules]) => clusterRole(`system:controller:${sa}`, rules)),
    clusterRole('system:coredns', COREDNS_RULES),
    clusterRole('local-path-provisioner-role', LOCAL_PATH_PROVISIONER_RULES),
    clusterRole('external-attacher-runner', EXTERNAL_ATTACHER_RULES),
    clusterRole('system:petset:network-policy-agent', NETWORK_POLICY_AGENT_RULES),
  ];
}

function clusterRoleBinding(name: string, role: string, subjects: Array<{ kind: string; name: string; namespace?: string }>): KubeObject {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAP_LABEL }, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? { ...s, apiGroup: undefined } : { apiGroup: RBAC, ...s })).map((s) => JSON.parse(JSON.stringify(s))),
  };
}

export function bootstrapClusterRoleBindings(): KubeObject[] {
  const group = (name: string) => ({ kind: 'Group', name });
  return [
    clusterRoleBinding('cluster-admin', 'cluster-admin', [group('system:masters')]),
    clusterRoleBinding('system:monitoring', 'system:monitoring', [group('system:monitoring')]),
    clusterRoleBinding('system:discovery', 'system:discovery', [group('system:authenticated')]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    clusterRoleBinding('system:node', 'system:node', []),
    clusterRoleBinding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [group('system:serviceaccounts')]),
    clusterRoleBinding('system:node-proxier', 'system:node-proxier', [{ kind: 'User', name: 'system:kube-proxy' }]),
    // kubeadm's bindings: tokens made by `petset token create` carry DEFAULT_NODE_TOKEN_GROUP
    clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', [group(DEFAULT_NODE_TOKEN_GROUP)]),
    clusterRoleBinding('kubeadm:node-autoapprove-bootstrap', `${CSR_ROLE}:nodeclient`, [group(DEFAULT_NODE_TOKEN_GROUP)]),
    clusterRoleBinding('kubeadm:node-autoapprove-certificate-rotation', `${CSR_ROLE}:selfnodeclient`, [group('system:nodes')]),
    clusterRoleBinding('system:kube-dns', 'system:kube-dns', [{ kind: 'ServiceAccount', name: 'kube-dns', namespace: 'kube-system' }]),
    clusterRoleBinding('system:kube-controller-manager', 'system:kube-controller-manager', [{ kind: 'User', name: 'system:kube-controller-manager' }]),
    clusterRoleBinding('system:kube-scheduler', 'system:kube-scheduler', [{ kind: 'User', name: 'system:kube-scheduler' }]),
    clusterRoleBinding('system:volume-scheduler', 'system:volume-scheduler', [{ kind: 'User', name: 'system:kube-scheduler' }]),
    ...Object.keys(CONTROLLER_ROLES).map((sa) =>
      clusterRoleBinding(`system:controller:${sa}`, `system:controller:${sa}`, [
        { kind: 'ServiceAccount', name: sa, namespace: 'kube-system' },
        // petset's one protection controller does upstream's two, as pvc-protection-controller;
        // its Job controller also deletes finished Jobs after their TTL, as job-controller
        ...(sa === 'pv-protection-controller' ? [{ kind: 'ServiceAccount', name: 'pvc-protection-controller', namespace: 'kube-system' }] : []),
        ...(sa === 'ttl-after-finished-controller' ? [{ kind: 'ServiceAccount', name: 'job-controller', namespace: 'kube-system' }] : []),
      ]),
    ),
    clusterRoleBinding('system:coredns', 'system:coredns', [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }]),
    clusterRoleBinding('csi-attacher-role', 'external-attacher-runner', [{ kind: 'ServiceAccount', name: 'attachdetach-controller', namespace: 'kube-system' }]),
    clusterRoleBinding('local-path-provisioner-bind', 'local-path-provisioner-role', [{ kind: 'ServiceAccount', name: 'local-path-provisioner-service-account', namespace: 'kube-system' }]),
    clusterRoleBinding('system:petset:network-policy-agent', 'system:petset:network-policy-agent', [{ kind: 'ServiceAccount', name: 'network-policy-agent', namespace: 'kube-system' }]),
  ];
}

/** Creates the default roles and bindings that are missing; leaves existing ones as they are. */
export async function ensureBootstrapPolicy(api: ApiServer): Promise<void> {
  const roles = api.registry.resource(RBAC, 'v1', 'clusterroles')!;
  const bindings = api.registry.resource(RBAC, 'v1', 'clusterrolebindings')!;
  // all at once: the store commits writes that arrive together in one transaction, where one
  // by one each waited for its own (about a hundred, a tenth of a second of every first start)
  const ensure = async (kind: typeof roles, obj: KubeObject) => {
    const existing = await api.storage.tryGet(kind, undefined, obj.metadata.name!);
    if (existing) return reconcile(api, kind, existing, obj);
    try {
      await api.storage.create(kind, undefined, obj);
    } catch (e) {
      if (!isApiError(e, 'AlreadyExists')) throw e;
    }
  };
  await Promise.all([...bootstrapClusterRoles().map((r) => ensure(roles, r)), ...bootstrapClusterRoleBindings().map((b) => ensure(bindings, b))]);
}

/**
 * upstream's auto-reconciliation at start: a default role still marked
 * rbac.authorization.kubernetes.io/autoupdate=true gains the rules this version's default has
 * and it lacks (a data dir made by an older petset), a default binding the subjects; nothing
 * is taken away, and one marked "false" is left as it is.
 */
async function reconcile(api: ApiServer, kind: NonNullable<ReturnType<ApiServer['registry']['resource']>>, existing: KubeObject, wanted: KubeObject): Promise<void> {
  if (existing.metadata.annotations?.['rbac.authorization.kubernetes.io/autoupdate'] !== 'true') return;
  let changed: KubeObject | undefined;
  if (wanted.kind === 'ClusterRole') {
    if (existing.aggregationRule) return; // its rules are the aggregation controller's
    const missing = uncoveredRules(existing.rules ?? [], wanted.rules ?? []);
    if (!missing.length) return;
    changed = { ...existing, rules: [...(existing.rules ?? []), ...missing] };
  } else {
    const has = (s: KubeObject) => (existing.subjects ?? []).some((e: KubeObject) => e.kind === s.kind && e.name === s.name && (e.namespace ?? '') === (s.namespace ?? ''));
    const missing = (wanted.subjects ?? []).filter((s: KubeObject) => !has(s));
    if (!missing.length) return;
    changed = { ...existing, subjects: [...(existing.subjects ?? []), ...missing] };
  }
  try {
    await api.storage.update(kind, undefined, existing.metadata.name!, changed);
  } catch (e) {
    // another API server reconciled it meanwhile
    if (!isApiError(e, 'Conflict')) throw e;
  }
}
