// rbac.authorization.k8s.io/v1 ClusterRole: a set of permissions, cluster-wide; with an aggregationRule its rules are the union of the cluster roles it selects (kept by the clusterrole-aggregation controller).
import type { KindDef } from '../registry.js';
import { pathSegmentName, RBAC_GROUP, roleTable, validateRules } from './rbac-common.js';

export const clusterroleKind: KindDef = {
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'ClusterRole',
  plural: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  definition: 'io.k8s.api.rbac.v1.ClusterRole',
  nameValidator: pathSegmentName,
  validate: (r) => validateRules(r, false),
  table: roleTable,
};
