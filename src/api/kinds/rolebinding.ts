// rbac.authorization.k8s.io/v1 RoleBinding: grants a Role or ClusterRole within its namespace to users, groups and service accounts.
import type { KindDef } from '../registry.js';
import { bindingTable, defaultBinding, pathSegmentName, RBAC_GROUP, validateBinding, validateRoleRefUnchanged } from './rbac-common.js';

export const rolebindingKind: KindDef = {
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'RoleBinding',
  plural: 'rolebindings',
  singular: 'rolebinding',
  namespaced: true,
  definition: 'io.k8s.api.rbac.v1.RoleBinding',
  nameValidator: pathSegmentName,
  defaults: defaultBinding,
  validate: (b) => validateBinding(b, true),
  validateUpdate: (b, old) => [...validateBinding(b, true), ...validateRoleRefUnchanged(b, old)],
  table: bindingTable,
};
