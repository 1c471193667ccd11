// core/v1 PodTemplate: a stored pod template and nothing more (no controller acts on it).
import { isPlainObject } from '../object.js';
import { defaultPodTemplate } from '../pod-defaults.js';
import type { KindDef } from '../registry.js';
import { isDNS1123Subdomain, validateAnnotations, validateLabels, field, type FieldError } from '../validation.js';
import { validatePodSpec } from './pod.js';
import { nameColumn, list, type Obj } from './support.js';

/** ValidatePodTemplateSpec: any restart policy, the template need not carry an image. */
function validatePodTemplate(template: unknown): FieldError[] {
  if (!isPlainObject(template)) return [field.required('template')];
  const errs: FieldError[] = [];
  errs.push(...validateLabels(template.metadata?.labels, 'template.metadata.labels'));
  errs.push(...validateAnnotations(template.metadata?.annotations, 'template.metadata.annotations'));
  errs.push(...validatePodSpec(isPlainObject(template.spec) ? template.spec : {}, 'template.spec', { requireImage: false }));
  return errs;
}

function labelsCell(labels: Obj | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

export const podTemplateKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'PodTemplate',
  plural: 'podtemplates',
  singular: 'podtemplate',
  namespaced: true,
  definition: 'io.k8s.api.core.v1.PodTemplate',
  nameValidator: isDNS1123Subdomain,
  defaults(pt) {
    if (isPlainObject(pt.template)) defaultPodTemplate(pt.template);
  },
  validate: (pt) => validatePodTemplate(pt.template),
  table: {
    columns: [
      { ...nameColumn, description: 'Name of the template.' },
      { name: 'Containers', type: 'string', description: 'Names of each container in the template.' },
      { name: 'Images', type: 'string', description: 'Images referenced by each container in the template.' },
      { name: 'Pod Labels', type: 'string', description: 'The labels for the pod template.' },
    ],
    cells: (pt) => {
      const containers = list(pt.template?.spec?.containers);
      return [
        pt.metadata.name,
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image).join(','),
        labelsCell(pt.template?.metadata?.labels),
      ];
    },
  },
};
