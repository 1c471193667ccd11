// The roles of the parts of the control plane, as upstream's bootstrappolicy
// (controller_policy.go and the component roles of policy.go): each controller writes as the
// ServiceAccount kube-system/<name> (kube-controller-manager's --use-service-account-credentials)
// bound to system:controller:<name>; the controller manager itself (user
// system:kube-controller-manager) only lists and watches, for the shared informers; the
// scheduler is system:kube-scheduler. Names and rules are upstream's, for the controllers
// petset runs. Also the roles of the add-ons petset runs in-process: CoreDNS (system:coredns,
// as kubeadm installs it), the local-path provisioner and the network-policy agent.
import type { PolicyRule } from './rbac.js';

const READ = ['get', 'list', 'watch'];
const r = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule =>
  resourceNames ? { apiGroups, resources, verbs, resourceNames } : { apiGroups, resources, verbs };
const EVENTS = r(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']);

/** kube-system ServiceAccount name -> the rules of its system:controller:<name> role */
export const CONTROLLER_ROLES: Record<string, PolicyRule[]> = {
  'attachdetach-controller': [
    r(['list', 'watch'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
    r(READ, [''], ['nodes']),
    r(['patch', 'update'], [''], ['nodes/status']),
    r(['list', 'watch'], [''], ['pods']),
    EVENTS,
    r(['create', 'delete', 'get', 'list', 'watch'], ['storage.k8s.io'], ['volumeattachments']),
    r(READ, ['storage.k8s.io'], ['csidrivers']),
    r(READ, ['storage.k8s.io'], ['csinodes']),
  ],
  // csrapproving and csrsigning (and upstream's csrcleaner) share this account
  'certificate-controller': [
    r(['delete', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    r(['update'], ['certificates.k8s.io'], ['certificatesigningrequests/approval', 'certificatesigningrequests/status']),
    r(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/legacy-unknown']),
    r(['sign'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client', 'kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/kubelet-serving', 'kubernetes.io/legacy-unknown']),
    r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    EVENTS,
  ],
  'clusterrole-aggregation-controller': [r(['escalate', 'get', 'list', 'patch', 'update', 'watch'], ['rbac.authorization.k8s.io'], ['clusterroles'])],
  'cronjob-controller': [
    r(['get', 'list', 'update', 'watch'], ['batch'], ['cronjobs']),
    r(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['batch'], ['jobs']),
    r(['update'], ['batch'], ['cronjobs/status']),
    r(['update'], ['batch'], ['cronjobs/finalizers']),
    r(['delete', 'list', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'daemon-set-controller': [
    r(READ, ['apps', 'extensions'], ['daemonsets']),
    r(['update'], ['apps', 'extensions'], ['daemonsets/status']),
    r(['update'], ['apps', 'extensions'], ['daemonsets/finalizers']),
    r(['list', 'watch'], [''], ['nodes']),
    r(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
    r(['create'], [''], ['pods/binding']),
    r(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps'], ['controllerrevisions']),
    EVENTS,
  ],
  'deployment-controller': [
    r(['get', 'list', 'update', 'watch'], ['apps', 'extensions'], ['deployments']),
    r(['update'], ['apps', 'extensions'], ['deployments/status']),
    r(['update'], ['apps', 'extensions'], ['deployments/finalizers']),
    r(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps', 'extensions'], ['replicasets']),
    r(['get', 'list', 'update', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'disruption-controller': [
    r(READ, ['apps', 'extensions'], ['deployments']),
    r(READ, ['apps', 'extensions'], ['replicasets']),
    r(READ, [''], ['replicationcontrollers']),
    r(READ, ['policy'], ['poddisruptionbudgets']),
    r(READ, ['apps'], ['statefulsets']),
    r(['update'], ['policy'], ['poddisruptionbudgets/status']),
    r(['patch', 'update'], [''], ['pods/status']),
    r(['get'], ['*'], ['*/scale']),
    EVENTS,
  ],
  'endpoint-controller': [
    r(READ, [''], ['pods', 'services']),
    r(['create', 'delete', 'get', 'list', 'update', 'watch'], [''], ['endpoints']),
    r(['create'], [''], ['endpoints/restricted']),
    EVENTS,
  ],
  'endpointslice-controller': [
    r(READ, [''], ['nodes', 'pods', 'services']),
    r(['update'], [''], ['services/finalizers']),
    r(['create', 'delete', 'get', 'list', 'update', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    EVENTS,
  ],
  'expand-controller': [
    r(['get', 'list', 'patch', 'update', 'watch'], [''], ['persistentvolumes']),
    r(['patch', 'update'], [''], ['persistentvolumeclaims/status']),
    r(READ, [''], ['persistentvolumeclaims']),
    EVENTS,
  ],
  'generic-garbage-collector': [r(['delete', 'get', 'list', 'patch', 'update', 'watch'], ['*'], ['*']), EVENTS],
  'horizontal-pod-autoscaler': [
    r(READ, ['autoscaling'], ['horizontalpodautoscalers']),
    r(['update'], ['autoscaling'], ['horizontalpodautoscalers/status']),
    r(['get', 'update'], ['*'], ['*/scale']),
    r(['list', 'watch'], [''], ['pods']),
    r(['list', 'watch'], ['metrics.k8s.io'], ['pods']),
    r(READ, ['custom.metrics.k8s.io'], ['*']),
    r(READ, ['external.metrics.k8s.io'], ['*']),
    EVENTS,
  ],
  'job-controller': [
    r(['get', 'list', 'patch', 'update', 'watch'], ['batch'], ['jobs']),
    r(['update'], ['batch'], ['jobs/status']),
    r(['update'], ['batch'], ['jobs/finalizers']),
    r(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'namespace-controller': [
    r(['delete', 'get', 'list', 'watch'], [''], ['namespaces']),
    r(['update'], [''], ['namespaces/finalize', 'namespaces/status']),
    r(['delete', 'deletecollection', 'get', 'list', 'watch'], ['*'], ['*']),
  ],
  'node-controller': [
    r(['delete', 'get', 'list', 'patch', 'update', 'watch'], [''], ['nodes']),
    r(['patch', 'update'], [''], ['nodes/status']),
    r(['patch', 'update'], [''], ['pods/status']),
    r(['delete', 'get', 'list', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'persistent-volume-binder': [
    r(['create', 'delete', 'get', 'list', 'update', 'watch'], [''], ['persistentvolumes']),
    r(['update'], [''], ['persistentvolumes/status']),
    r(['get', 'list', 'update', 'watch'], [''], ['persistentvolumeclaims']),
    r(['update'], [''], ['persistentvolumeclaims/status']),
    r(['create', 'delete', 'get', 'list', 'watch'], [''], ['pods']),
    r(READ, ['storage.k8s.io'], ['storageclasses']),
    r(['list', 'watch'], [''], ['nodes']),
    EVENTS,
    r(['watch'], [''], ['events']),
  ],
  'pv-protection-controller': [r(['get', 'list', 'update', 'watch'], [''], ['persistentvolumes']), EVENTS],
  'pvc-protection-controller': [
    r(['get', 'list', 'update', 'watch'], [''], ['persistentvolumeclaims']),
    r(['update'], [''], ['persistentvolumeclaims/status']),
    r(READ, [''], ['pods']),
    EVENTS,
  ],
  'replicaset-controller': [
    r(['get', 'list', 'update', 'watch'], ['apps', 'extensions'], ['replicasets']),
    r(['update'], ['apps', 'extensions'], ['replicasets/status']),
    r(['update'], ['apps', 'extensions'], ['replicasets/finalizers']),
    r(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'replication-controller': [
    r(['get', 'list', 'update', 'watch'], [''], ['replicationcontrollers']),
    r(['update'], [''], ['replicationcontrollers/status']),
    r(['update'], [''], ['replicationcontrollers/finalizers']),
    r(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
    EVENTS,
  ],
  'resourcequota-controller': [r(['list', 'watch'], ['*'], ['*']), r(['update'], [''], ['resourcequotas/status']), EVENTS],
  'root-ca-cert-publisher': [r(['create', 'update'], [''], ['configmaps']), EVENTS],
  'service-controller': [
    r(READ, [''], ['services']),
    r(['patch', 'update'], [''], ['services/status']),
    r(['list', 'watch'], [''], ['nodes']),
    EVENTS,
  ],
  'service-account-controller': [r(['create'], [''], ['serviceaccounts']), EVENTS],
  'ttl-after-finished-controller': [r(['delete', 'get', 'list', 'watch'], ['batch'], ['jobs']), EVENTS],
  'statefulset-controller': [
    r(['list', 'watch'], [''], ['pods']),
    r(READ, ['apps'], ['statefulsets']),
    r(['update'], ['apps'], ['statefulsets/status']),
    r(['update'], ['apps'], ['statefulsets/finalizers']),
    r(['create', 'delete', 'get', 'patch', 'update'], [''], ['pods']),
    r(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps'], ['controllerrevisions']),
    r(['create', 'get', 'list', 'watch'], [''], ['persistentvolumeclaims']),
    r(['delete', 'update'], [''], ['persistentvolumeclaims']),
    r(['update'], [''], ['pods/finalizers']),
    EVENTS,
  ],
};

/** upstream's system:kube-controller-manager: its own election and the shared informers' list and watch of everything */
export const KUBE_CONTROLLER_MANAGER_RULES: PolicyRule[] = [
  EVENTS,
  r(['create'], ['coordination.k8s.io'], ['leases']),
  r(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
  r(['create'], [''], ['endpoints']),
  r(['get', 'update'], [''], ['endpoints'], ['kube-controller-manager']),
  r(['create'], [''], ['secrets', 'serviceaccounts']),
  r(['delete'], [''], ['secrets']),
  r(['get'], [''], ['configmaps', 'namespaces', 'secrets', 'serviceaccounts']),
  r(['update'], [''], ['secrets', 'serviceaccounts']),
  r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
  r(['list', 'watch'], ['*'], ['*']),
  r(['create'], [''], ['serviceaccounts/token']),
];

/** upstream's system:kube-scheduler */
export const KUBE_SCHEDULER_RULES: PolicyRule[] = [
  EVENTS,
  r(['create'], ['coordination.k8s.io'], ['leases']),
  r(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
  r(['create'], [''], ['endpoints']),
  r(['get', 'update'], [''], ['endpoints'], ['kube-scheduler']),
  r(READ, [''], ['nodes']),
  r(['delete', 'get', 'list', 'watch'], [''], ['pods']),
  r(['create'], [''], ['bindings', 'pods/binding']),
  r(['patch', 'update'], [''], ['pods/status']),
  r(READ, [''], ['replicationcontrollers', 'services']),
  r(READ, ['apps', 'extensions'], ['replicasets']),
  r(READ, ['apps'], ['statefulsets']),
  r(READ, ['policy'], ['poddisruptionbudgets']),
  r(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
  r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
  r(READ, ['storage.k8s.io'], ['csinodes']),
  r(READ, [''], ['namespaces']),
  r(READ, ['storage.k8s.io'], ['csidrivers']),
  r(READ, ['storage.k8s.io'], ['csistoragecapacities']),
];

/** upstream's system:volume-scheduler, also bound to the scheduler */
export const VOLUME_SCHEDULER_RULES: PolicyRule[] = [
  r(['get', 'list', 'patch', 'update', 'watch'], [''], ['persistentvolumes']),
  r(READ, ['storage.k8s.io'], ['storageclasses']),
  r(['get', 'list', 'patch', 'update', 'watch'], [''], ['persistentvolumeclaims']),
];

/** CoreDNS's ClusterRole as kubeadm installs it (system:coredns, bound to kube-system/coredns) */
export const COREDNS_RULES: PolicyRule[] = [
  r(['list', 'watch'], [''], ['endpoints', 'services', 'pods', 'namespaces']),
  r(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
];

/**
 * The local-path provisioner's role as its own manifest has it (local-path-provisioner-role,
 * bound to kube-system/local-path-provisioner-service-account).
 */
export const LOCAL_PATH_PROVISIONER_RULES: PolicyRule[] = [
  r(READ, [''], ['nodes', 'persistentvolumeclaims', 'configmaps', 'pods', 'pods/log']),
  r(['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'], [''], ['persistentvolumes']),
  r(['create', 'patch'], [''], ['events']),
  r(READ, ['storage.k8s.io'], ['storageclasses']),
];

/**
 * The CSI external-attacher's role (external-attacher-runner, as its manifest has it): petset's
 * attach/detach controller also does the attacher's part and marks attachments attached.
 */
export const EXTERNAL_ATTACHER_RULES: PolicyRule[] = [
  r(['get', 'list', 'watch', 'patch'], [''], ['persistentvolumes']),
  r(READ, ['storage.k8s.io'], ['csinodes']),
  r(['get', 'list', 'watch', 'patch'], ['storage.k8s.io'], ['volumeattachments']),
  r(['patch'], ['storage.k8s.io'], ['volumeattachments/status']),
];

/** A network-policy agent's reads (as kube-router's or Calico's node role): policies, pods, namespaces. */
export const NETWORK_POLICY_AGENT_RULES: PolicyRule[] = [
  r(['list', 'watch'], [''], ['pods', 'namespaces', 'services']),
  r(['list', 'watch'], ['networking.k8s.io'], ['networkpolicies']),
];
