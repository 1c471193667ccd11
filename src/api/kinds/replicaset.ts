// apps/v1 ReplicaSet: listed but not run by petset (no controller here reconciles it), so clients that
// enumerate the standard kinds (kubectl get all, apply --prune, cluster-info dump) work.
// Lists are empty and writes are refused until petset runs it.
import type { KindDef } from '../registry.js';
import { UNSERVED } from './support.js';

export const replicaSetKind: KindDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  definition: 'io.k8s.api.apps.v1.ReplicaSet',
  readOnly: UNSERVED,
  openapiStrategicMerge: false,
};
