// networking.k8s.io/v1 Ingress: listed but not run by petset (no controller here reconciles it), so clients that
// enumerate the standard kinds (kubectl get all, apply --prune, cluster-info dump) work.
// Lists are empty and writes are refused until petset runs it.
import type { KindDef } from '../registry.js';
import { UNSERVED } from './support.js';

export const ingressKind: KindDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'Ingress',
  plural: 'ingresses',
  singular: 'ingress',
  namespaced: true,
  shortNames: ['ing'],
  definition: 'io.k8s.api.networking.v1.Ingress',
  readOnly: UNSERVED,
  openapiStrategicMerge: false,
};
