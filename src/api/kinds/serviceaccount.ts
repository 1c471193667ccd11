// core/v1 ServiceAccount: an identity for pods. The API server's pod admission names
// "default" when a pod gives none; a controller is expected to create it in every namespace.
import type { KindDef } from '../registry.js';
import { age, ageColumn, column, list, nameColumn } from './support.js';

export const serviceAccountKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  definition: 'io.k8s.api.core.v1.ServiceAccount',

  table: {
    columns: [nameColumn, column('Secrets', 'Number of secrets listed for the account.'), ageColumn],
    cells: (sa, now) => [sa.metadata.name, list(sa.secrets).length, age(sa, now)],
  },
};
