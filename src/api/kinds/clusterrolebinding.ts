// rbac.authorization.k8s.io/v1 ClusterRoleBinding: grants a ClusterRole everywhere to users, groups and service accounts.
import type { KindDef } from '../registry.js';
import { bindingTable, defaultBinding, pathSegmentName, RBAC_GROUP, validateBinding, validateRoleRefUnchanged } from './rbac-common.js';

export const clusterrolebindingKind: KindDef = {
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'ClusterRoleBinding',
  plural: 'clusterrolebindings',
  singular: 'clusterrolebinding',
  namespaced: false,
  definition: 'io.k8s.api.rbac.v1.ClusterRoleBinding',
  nameValidator: pathSegmentName,
  defaults: defaultBinding,
  validate: (b) => validateBinding(b, false),
  validateUpdate: (b, old) => [...validateBinding(b, false), ...validateRoleRefUnchanged(b, old)],
  table: bindingTable,
};
