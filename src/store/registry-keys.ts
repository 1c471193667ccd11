// Where kube-apiserver keeps each resource in etcd, so that `etcdctl get --prefix
// /registry/statefulsets` reads what petset wrote: built-in resources under
// /registry/<resource>/ whatever their group (a few under their historical names: services
// under services/specs, endpoints under services/endpoints, nodes as minions,
// replicationcontrollers as controllers, ingresses as ingress), CustomResourceDefinitions
// under /registry/apiextensions.k8s.io/customresourcedefinitions/ and custom resources under
// /registry/<group>/<plural>/. Namespaced objects nest under their namespace.
//
// Before this layout petset wrote /registry/<group, "core" for the core group>/<plural>/...;
// legacyToUpstreamKey maps such a key, for the SQLite store's one-time migration.

/** Groups of resources kube-apiserver serves itself (custom resources never use them). */
export const BUILT_IN_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apps',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

/** upstream's storage prefixes that are not the resource's plural */
const SPECIAL: Record<string, string> = {
  '/services': 'services/specs',
  '/endpoints': 'services/endpoints',
  '/nodes': 'minions',
  '/replicationcontrollers': 'controllers',
  'networking.k8s.io/ingresses': 'ingress',
  'extensions/ingresses': 'ingress',
  'events.k8s.io/events': 'events',
};

/** The prefix of every object of a resource, e.g. "/registry/statefulsets/", "/registry/example.com/crontabs/". */
export function registryPrefix(group: string, plural: string): string {
  if (!BUILT_IN_GROUPS.has(group)) return `/registry/${group}/${plural}/`;
  return `/registry/${SPECIAL[`${group}/${plural}`] ?? plural}/`;
}

/** A key of petset's earlier layout in the upstream layout; other keys are returned as they are. */
export function legacyToUpstreamKey(key: string): string {
  const m = /^\/registry\/([^/]+)\/([^/]+)\/(.*)$/s.exec(key);
  if (!m) return key;
  const [, g, plural, rest] = m;
  const group = g === 'core' ? '' : g;
  // custom resources and CRDs kept their place: /registry/<group>/<plural>/ either way
  if (!BUILT_IN_GROUPS.has(group) || group === 'apiextensions.k8s.io') return key;
  return `${registryPrefix(group, plural)}${rest}`;
}
