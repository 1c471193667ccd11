// core/v1 Namespace. Deleting one marks it Terminating; the namespace controller empties it
// and then clears spec.finalizers through the finalize subresource (both in the API server).
import type { KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Label, isQualifiedName, type FieldError } from '../validation.js';
import { age, ageColumn, column, list, nameColumn } from './support.js';

/** The finalizer the namespace controller removes once the namespace is empty. */
export const NAMESPACE_FINALIZER = 'kubernetes';
/** Every namespace carries its own name under this label, so selectors can pick namespaces by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const STANDARD_FINALIZERS = new Set([NAMESPACE_FINALIZER, 'orphan', 'foregroundDeletion']);

function labelWithName(ns: KubeObject): void {
  if (!ns.metadata.name) return;
  ns.metadata.labels = { ...(ns.metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: ns.metadata.name };
}

function validateFinalizer(name: string, path: string): FieldError[] {
  const errs = isQualifiedName(name).map((m) => field.invalid(path, name, m));
  if (!name.includes('/') && !STANDARD_FINALIZERS.has(name)) {
    errs.push(field.invalid(path, name, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return errs;
}

export const namespaceKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  definition: 'io.k8s.api.core.v1.Namespace',
  subresources: { status: true },
  returnDeletedObject: true,
  nameValidator: isDNS1123Label,

  defaults(ns) {
    labelWithName(ns);
    ns.status ??= {};
    ns.status.phase ||= 'Active';
  },

  prepareForCreate(ns) {
    ns.status = { phase: 'Active' };
    ns.spec ??= {};
    const finalizers = list<string>(ns.spec.finalizers);
    ns.spec.finalizers = finalizers.includes(NAMESPACE_FINALIZER) ? finalizers : [...finalizers, NAMESPACE_FINALIZER];
    labelWithName(ns);
  },

  prepareForUpdate(ns, old) {
    // spec.finalizers only changes through the finalize subresource
    ns.spec = { ...(ns.spec ?? {}) };
    if (old.spec?.finalizers) ns.spec.finalizers = [...old.spec.finalizers];
    else delete ns.spec.finalizers;
  },

  validate(ns) {
    return list<string>(ns.spec?.finalizers).flatMap((f) => validateFinalizer(f, 'spec.finalizers'));
  },

  validateStatusUpdate(ns) {
    const phase = ns.status?.phase;
    if (!ns.metadata.deletionTimestamp) {
      return phase === 'Active' ? [] : [field.invalid('status.Phase', phase ?? '', "may only be 'Active' if `deletionTimestamp` is empty")];
    }
    return phase === 'Terminating' ? [] : [field.invalid('status.Phase', phase ?? '', "may only be 'Terminating' if `deletionTimestamp` is not empty")];
  },

  fields: {
    'status.phase': (ns) => ns.status?.phase ?? '',
  },

  table: {
    columns: [nameColumn, column('Status', 'Lifecycle phase of the namespace.'), ageColumn],
    cells: (ns, now) => [ns.metadata.name, ns.status?.phase ?? '', age(ns, now)],
  },
};
