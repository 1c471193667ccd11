// apps/v1 ControllerRevision: the immutable template snapshots StatefulSets roll between.
import { controllerRef, humanAge, splitApiVersion, type KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, nonNegative, type FieldError } from '../validation.js';
import { semanticEqual } from './pod.js';

function validateControllerRevision(rev: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (rev.data === undefined || rev.data === null) errs.push(field.required('data', 'data is mandatory'));
  errs.push(...nonNegative(rev.revision, 'revision'));
  return errs;
}

/** "statefulset.apps/web", as kubectl names the owning controller. */
function controllerName(rev: KubeObject): string {
  const ref = controllerRef(rev);
  if (!ref) return '<none>';
  const { group } = splitApiVersion(ref.apiVersion);
  const kind = group ? `${ref.kind}.${group}` : ref.kind;
  return `${kind.toLowerCase()}/${ref.name}`;
}

export const controllerRevisionKind: KindDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  definition: 'io.k8s.api.apps.v1.ControllerRevision',

  defaults(rev) {
    rev.revision ??= 0;
  },

  validate: validateControllerRevision,

  validateUpdate(rev, old) {
    return semanticEqual(rev.data, old.data) ? [] : [field.invalid('data', rev.data, 'field is immutable')];
  },

  table: {
    columns: [
      { name: 'Name', type: 'string', format: 'name', description: 'Unique name of the revision in its namespace.' },
      { name: 'Controller', type: 'string', description: 'The controller that owns the revision, as kind.group/name.' },
      { name: 'Revision', type: 'integer', description: 'Number of the revision in its owner history.' },
      { name: 'Age', type: 'string', description: 'Time since the revision was created.' },
    ],
    cells(rev, now) {
      return [rev.metadata.name, controllerName(rev), rev.revision ?? 0, humanAge(rev.metadata.creationTimestamp, now)];
    },
  },
};
