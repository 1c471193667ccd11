// coordination.k8s.io/v1 Lease: node heartbeats (namespace kube-node-lease, one per node)
// and leader election.
import type { KindDef } from '../registry.js';
import { field, isQualifiedName, type FieldError } from '../validation.js';
import { age, ageColumn, column, isSet, nameColumn, record } from './support.js';

const STRATEGIES = ['OldestEmulationVersion'];

export const leaseKind: KindDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  definition: 'io.k8s.api.coordination.v1.Lease',

  validate(lease) {
    const spec = record(lease.spec);
    const errs: FieldError[] = [];
    if (isSet(spec.leaseDurationSeconds) && !(spec.leaseDurationSeconds > 0)) {
      errs.push(field.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
    }
    if (isSet(spec.leaseTransitions) && spec.leaseTransitions < 0) {
      errs.push(field.invalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'));
    }
    if (isSet(spec.strategy)) {
      // upstream reports these one level too deep; the path is kept as it prints
      const path = 'spec.strategy.strategy';
      const strategy = String(spec.strategy);
      if (!strategy.includes('/')) {
        if (!STRATEGIES.includes(strategy)) errs.push(field.notSupported(path, strategy, STRATEGIES));
      } else {
        errs.push(...isQualifiedName(strategy).map((m) => field.invalid(path, strategy, m)));
      }
    }
    if (spec.preferredHolder && !spec.strategy) {
      errs.push(field.forbidden('spec.preferredHolder', 'may only be specified if `strategy` is defined'));
    }
    return errs;
  },

  table: {
    columns: [nameColumn, column('Holder', 'Who holds the lease.'), ageColumn],
    cells: (lease, now) => [lease.metadata.name, lease.spec?.holderIdentity ?? '', age(lease, now)],
  },
};
