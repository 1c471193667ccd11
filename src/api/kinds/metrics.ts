// metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics: resource usage, as metrics-server serves it.
// Not stored: the API server answers get and list from the node agents' usage summaries
// (src/apiserver/kinds/metrics.ts), so `kubectl top` and the HorizontalPodAutoscaler read them.
import type { KindDef } from '../registry.js';

// read-only, so controllers that walk every kind (garbage collector, namespace deletion) pass them by
const COMPUTED = 'metrics are measured on the nodes, not stored';

export const nodeMetricsKind: KindDef = {
  group: 'metrics.k8s.io',
  version: 'v1beta1',
  kind: 'NodeMetrics',
  plural: 'nodes',
  singular: '',
  namespaced: false,
  definition: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics',
  readOnly: COMPUTED,
};

export const podMetricsKind: KindDef = {
  group: 'metrics.k8s.io',
  version: 'v1beta1',
  kind: 'PodMetrics',
  plural: 'pods',
  singular: '',
  namespaced: true,
  definition: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics',
  readOnly: COMPUTED,
};
