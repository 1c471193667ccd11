// apiextensions.k8s.io/v1 CustomResourceDefinition: the definition itself (names, versions,
// schemas, validation of the definition). The kinds it defines are built in customresources.ts;
// the API server registers them and keeps the status (conditions, accepted names) current.
import { deepEqual, isPlainObject, type KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { APIEXT } from '../schemas/apiextensions.js';
import { structuralProblems, unsupportedRules } from '../structural.js';
import { DNS1035_LABEL_MSG, DNS1123_LABEL_MSG, field, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { nameColumn, column } from './support.js';

export type Obj = Record<string, any>;

export interface CRDNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CRDVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema?: { openAPIV3Schema?: Obj };
  subresources?: { status?: Obj; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
  additionalPrinterColumns?: Array<{ name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }>;
  selectableFields?: Array<{ jsonPath: string }>;
}

export interface CustomResourceDefinition extends KubeObject {
  spec: { group: string; names: CRDNames; scope: 'Namespaced' | 'Cluster'; versions: CRDVersion[]; conversion?: { strategy: string; webhook?: Obj }; preserveUnknownFields?: boolean };
  status?: { conditions?: Obj[]; acceptedNames?: CRDNames; storedVersions?: string[] };
}

/** The finalizer that holds a deleted definition until its objects are gone. */
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const API_APPROVED = 'api-approved.kubernetes.io';
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];

function storageVersionOf(crd: CustomResourceDefinition): string | undefined {
  return crd.spec?.versions?.find((v) => v.storage)?.name;
}

function validateNames(n: Obj | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isPlainObject(n)) return [field.required(path)];
  if (!n.plural) errs.push(field.required(`${path}.plural`));
  else if (!DNS1123_LABEL.test(n.plural)) errs.push(field.invalid(`${path}.plural`, n.plural, DNS1123_LABEL_MSG));
  if (n.singular && !DNS1123_LABEL.test(n.singular)) errs.push(field.invalid(`${path}.singular`, n.singular, DNS1123_LABEL_MSG));
  if (!n.kind) errs.push(field.required(`${path}.kind`));
  else if (!/^[A-Za-z][A-Za-z0-9]*$/.test(n.kind)) errs.push(field.invalid(`${path}.kind`, n.kind, 'may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?'));
  if (n.listKind && n.listKind === n.kind) errs.push(field.invalid(`${path}.listKind`, n.listKind, 'kind and listKind may not be the same'));
  (n.shortNames ?? []).forEach((s: unknown, i: number) => {
    if (typeof s !== 'string' || !DNS1123_LABEL.test(s)) errs.push(field.invalid(`${path}.shortNames[${i}]`, s, DNS1123_LABEL_MSG));
  });
  (n.categories ?? []).forEach((s: unknown, i: number) => {
    if (typeof s !== 'string' || !DNS1123_LABEL.test(s)) errs.push(field.invalid(`${path}.categories[${i}]`, s, DNS1123_LABEL_MSG));
  });
  return errs;
}

function validateVersion(v: CRDVersion, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!v.name) errs.push(field.required(`${path}.name`));
  else if (!DNS1035_LABEL.test(v.name)) errs.push(field.invalid(`${path}.name`, v.name, DNS1035_LABEL_MSG));
  const schema = v.schema?.openAPIV3Schema;
  if (!schema) errs.push(field.required(`${path}.schema.openAPIV3Schema`, 'schemas are required'));
  else {
    errs.push(...structuralProblems(schema, `${path}.schema.openAPIV3Schema`));
    const meta = (schema as Obj).properties?.metadata;
    if (isPlainObject(meta)) {
      for (const k of Object.keys((meta as Obj).properties ?? {})) {
        if (k !== 'name' && k !== 'generateName') {
          errs.push(field.forbidden(`${path}.schema.openAPIV3Schema.properties[metadata].properties[${k}]`, 'must not be specified'));
        }
      }
    }
  }
  const scale = v.subresources?.scale;
  if (scale) {
    if (!scale.specReplicasPath?.startsWith('.spec.')) errs.push(field.invalid(`${path}.subresources.scale.specReplicasPath`, scale.specReplicasPath ?? '', 'should be a json path under .spec'));
    if (!scale.statusReplicasPath?.startsWith('.status.')) errs.push(field.invalid(`${path}.subresources.scale.statusReplicasPath`, scale.statusReplicasPath ?? '', 'should be a json path under .status'));
    if (scale.labelSelectorPath && !/^\.(spec|status)\./.test(scale.labelSelectorPath)) {
      errs.push(field.invalid(`${path}.subresources.scale.labelSelectorPath`, scale.labelSelectorPath, 'should be a json path under either .spec or .status'));
    }
  }
  (v.additionalPrinterColumns ?? []).forEach((c, i) => {
    const p = `${path}.additionalPrinterColumns[${i}]`;
    if (!c.name) errs.push(field.required(`${p}.name`));
    if (!c.type) errs.push(field.required(`${p}.type`));
    else if (!COLUMN_TYPES.includes(c.type)) errs.push(field.notSupported(`${p}.type`, c.type, COLUMN_TYPES));
    if (!c.jsonPath) errs.push(field.required(`${p}.jsonPath`));
    if (c.priority !== undefined && c.priority < 0) errs.push(field.invalid(`${p}.priority`, c.priority, 'must be greater than or equal to 0'));
  });
  return errs;
}

export function validateCRD(crd: CustomResourceDefinition): FieldError[] {
  const errs: FieldError[] = [];
  const spec = crd.spec;
  if (!isPlainObject(spec)) return [field.required('spec')];
  const name = crd.metadata.name ?? '';
  if (spec.names?.plural && spec.group && name !== `${spec.names.plural}.${spec.group}`) {
    errs.push(field.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (!spec.group) errs.push(field.required('spec.group'));
  else if (!isDNS1123Subdomain(spec.group)) errs.push(field.invalid('spec.group', spec.group, 'must be a valid DNS subdomain'));
  else if (!spec.group.includes('.')) errs.push(field.invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  // groups of the Kubernetes project need a reviewed API (upstream's api-approved annotation)
  if (typeof spec.group === 'string' && (spec.group === 'k8s.io' || spec.group.endsWith('.k8s.io') || spec.group === 'kubernetes.io' || spec.group.endsWith('.kubernetes.io'))) {
    if (!crd.metadata.annotations?.[API_APPROVED]) {
      errs.push(
        field.required(
          `metadata.annotations[${API_APPROVED}]`,
          `protected groups must have approval annotation "${API_APPROVED}", see https://github.com/kubernetes/enhancements/pull/1111`,
        ),
      );
    }
  }
  if (!spec.scope) errs.push(field.required('spec.scope'));
  else if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced') errs.push(field.notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']));
  errs.push(...validateNames(spec.names, 'spec.names'));
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (!versions.length) errs.push(field.invalid('spec.versions', versions, 'must have exactly one version marked as storage version'));
  else {
    const storage = versions.filter((v) => v.storage).length;
    if (storage !== 1) errs.push(field.invalid('spec.versions', versions.map((v) => v.name), 'must have exactly one version marked as storage version'));
    const seen = new Set<string>();
    versions.forEach((v, i) => {
      if (seen.has(v.name)) errs.push(field.invalid(`spec.versions[${i}].name`, v.name, 'must be unique'));
      seen.add(v.name);
      errs.push(...validateVersion(v, `spec.versions[${i}]`));
    });
    if (!versions.some((v) => v.served)) errs.push(field.invalid('spec.versions', versions.map((v) => v.name), 'must have at least one version marked as served'));
  }
  const strategy = spec.conversion?.strategy;
  if (strategy && strategy !== 'None' && strategy !== 'Webhook') errs.push(field.notSupported('spec.conversion.strategy', strategy, ['None', 'Webhook']));
  if (strategy === 'Webhook' && !spec.conversion?.webhook) errs.push(field.required('spec.conversion.webhook', 'required when strategy is set to Webhook'));
  if (spec.preserveUnknownFields) errs.push(field.invalid('spec.preserveUnknownFields', true, 'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead'));
  return errs;
}

export const customResourceDefinitionKind: KindDef<CustomResourceDefinition> = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  definition: `${APIEXT}CustomResourceDefinition`,
  subresources: { status: true },
  tracksGeneration: true,
  openapiStrategicMerge: false,

  defaults(crd) {
    const spec = crd.spec;
    if (!isPlainObject(spec)) return;
    spec.conversion ??= { strategy: 'None' };
    if (isPlainObject(spec.names) && spec.names.kind) {
      spec.names.singular ||= spec.names.kind.toLowerCase();
      spec.names.listKind ||= `${spec.names.kind}List`;
    }
  },

  prepareForCreate(crd) {
    const storage = storageVersionOf(crd);
    crd.status = { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: storage ? [storage] : [] };
  },

  prepareForUpdate(crd, old) {
    // storedVersions only grows: the new storage version joins those objects may still be in
    const stored = [...(old.status?.storedVersions ?? [])];
    const storage = storageVersionOf(crd);
    if (storage && !stored.includes(storage)) stored.push(storage);
    crd.status = { ...(old.status ?? {}), storedVersions: stored };
  },

  validate: validateCRD,

  warnings(crd) {
    const out = (crd.spec?.versions ?? []).flatMap((v, i) => unsupportedRules(v.schema?.openAPIV3Schema, `spec.versions[${i}].schema.openAPIV3Schema`));
    if (crd.spec?.conversion?.strategy === 'Webhook') {
      out.push('spec.conversion: petset does not call conversion webhooks: objects read in another version than they were written in change only their apiVersion, as with strategy None');
    }
    return out;
  },

  validateUpdate(crd, old) {
    const errs: FieldError[] = [];
    if (old.spec?.scope && crd.spec?.scope !== old.spec.scope) errs.push(field.invalid('spec.scope', crd.spec?.scope, 'field is immutable'));
    if (old.spec?.group && crd.spec?.group !== old.spec.group) errs.push(field.invalid('spec.group', crd.spec?.group, 'field is immutable'));
    // a version objects were stored in may not be dropped while status still lists it
    (old.status?.storedVersions ?? []).forEach((v, i) => {
      if (!(crd.spec?.versions ?? []).some((x) => x.name === v)) errs.push(field.invalid(`status.storedVersions[${i}]`, v, 'must appear in spec.versions'));
    });
    return errs;
  },

  validateStatusUpdate(crd, old) {
    void old;
    const errs: FieldError[] = [];
    if (crd.status?.acceptedNames && crd.status.acceptedNames.plural) errs.push(...validateNames(crd.status.acceptedNames, 'status.acceptedNames'));
    return errs;
  },

  table: {
    columns: [nameColumn, column('Created At', 'When the definition was created.', { type: 'date' })],
    cells: (crd) => [crd.metadata.name, crd.metadata.creationTimestamp],
  },
};

/** True when two definitions serve the same thing (used to skip needless registry rebuilds). */
export function sameServing(a: CustomResourceDefinition, b: CustomResourceDefinition): boolean {
  return deepEqual(a.spec, b.spec) && deepEqual(a.status?.acceptedNames, b.status?.acceptedNames) && !!a.metadata.deletionTimestamp === !!b.metadata.deletionTimestamp;
}

