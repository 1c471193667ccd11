// batch/v1 Job: listed but not run by petset (no controller here reconciles it), so clients that
// enumerate the standard kinds (kubectl get all, apply --prune, cluster-info dump) work.
// Lists are empty and writes are refused until petset runs it.
import type { KindDef } from '../registry.js';
import { UNSERVED } from './support.js';

export const jobKind: KindDef = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  namespaced: true,
  categories: ['all'],
  definition: 'io.k8s.api.batch.v1.Job',
  readOnly: UNSERVED,
  openapiStrategicMerge: false,
};
