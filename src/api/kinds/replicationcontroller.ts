// core/v1 ReplicationController: listed but not run by petset (no controller here reconciles it), so clients that
// enumerate the standard kinds (kubectl get all, apply --prune, cluster-info dump) work.
// Lists are empty and writes are refused until petset runs it.
import type { KindDef } from '../registry.js';
import { UNSERVED } from './support.js';

export const replicationControllerKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  definition: 'io.k8s.api.core.v1.ReplicationController',
  readOnly: UNSERVED,
  openapiStrategicMerge: false,
};
