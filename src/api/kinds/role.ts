// rbac.authorization.k8s.io/v1 Role: a set of permissions in one namespace.
import type { KindDef } from '../registry.js';
import { pathSegmentName, RBAC_GROUP, roleTable, validateRules } from './rbac-common.js';

export const roleKind: KindDef = {
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'Role',
  plural: 'roles',
  singular: 'role',
  namespaced: true,
  definition: 'io.k8s.api.rbac.v1.Role',
  nameValidator: pathSegmentName,
  validate: (r) => validateRules(r, true),
  table: roleTable,
};
