// The kinds a CustomResourceDefinition defines, one KindDef per served version, so custom
// objects go through the same generic machinery as built-in ones (storage, watch, patch,
// apply, tables, discovery, OpenAPI). What is custom: bodies are unstructured JSON pruned by
// the structural schema (not decoded as Go structs), defaults and validation come from the
// schema, columns from additionalPrinterColumns, and versions differ only in apiVersion
// (conversion None).
import type { CustomResourceDefinition, CRDVersion } from './kinds/customresourcedefinition.js';
import { deepEqual, humanAge, isPlainObject, type KubeObject } from './object.js';
import type { Column, KindDef, ScaleDef } from './registry.js';
import type { Definition, Definitions, Schema } from './schema.js';
import { s } from './schema.js';
import { decodeTyped, type TypedDecodeResult } from './typed.js';
import { applyDefaults, jsonPathValues, pruneUnknown, validateStructural, type JSONSchemaProps } from './structural.js';

/** `io.kruise.apps.v1beta1.StatefulSet` for apps.kruise.io/v1beta1 StatefulSet, as upstream names CRD definitions. */
export function customDefinitionName(group: string, version: string, kind: string): string {
  return [...group.split('.').reverse(), version, kind].join('.');
}

/** The storage version's name (the one objects are written in). */
export function storageVersion(crd: CustomResourceDefinition): string {
  return crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name ?? '';
}

/** The published schema: the CRD's own, with apiVersion, kind and ObjectMeta as upstream adds them. */
function definitionOf(crd: CustomResourceDefinition, v: CRDVersion, root: JSONSchemaProps): Definition {
  const props = { ...(root.properties ?? {}) } as Record<string, Schema>;
  props.apiVersion = s.apiVersion();
  props.kind = s.kind();
  props.metadata = { $ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', description: s.meta().description };
  const def: Definition = { ...(root as Schema), type: 'object', properties: props };
  def['x-kubernetes-group-version-kind'] = [{ group: crd.spec.group, version: v.name, kind: crd.spec.names.kind }];
  return def;
}

function getDotted(obj: unknown, jsonPath: string): unknown {
  const found = jsonPathValues(obj, jsonPath);
  return found[0];
}

function scaleDefOf(scale: NonNullable<NonNullable<CRDVersion['subresources']>['scale']>): ScaleDef {
  return {
    specReplicasPath: scale.specReplicasPath.replace(/^\./, ''),
    statusReplicasPath: scale.statusReplicasPath.replace(/^\./, ''),
    selector(obj) {
      if (!scale.labelSelectorPath) return '';
      const v = getDotted(obj, scale.labelSelectorPath);
      return typeof v === 'string' ? v : '';
    },
  };
}

/** A printer column's cell, as upstream's table convertor types it; undefined prints <none>. */
function cell(type: string, values: unknown[], now: number): unknown {
  if (!values.length || values[0] === undefined || values[0] === null) return undefined;
  const v = values[0];
  switch (type) {
    case 'integer':
      return typeof v === 'number' ? Math.trunc(v) : undefined;
    case 'number':
      return typeof v === 'number' ? v : undefined;
    case 'boolean':
      return typeof v === 'boolean' ? v : undefined;
    case 'date':
      return typeof v === 'string' ? humanAge(v, now) : undefined;
    default:
      return typeof v === 'string' ? v : JSON.stringify(v);
  }
}

function tableOf(v: CRDVersion): KindDef['table'] {
  const given = v.additionalPrinterColumns ?? [];
  const cols = given.length ? given : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: '' }];
  const columns: Column[] = [
    { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' },
    ...cols.map((c) => ({
      name: c.name,
      // dates are sent as ages already (what kubectl prints for them)
      type: (c.type === 'date' ? 'string' : c.type) as Column['type'],
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
  ];
  return {
    columns,
    cells: (obj: KubeObject, now: number) => [obj.metadata.name, ...cols.map((c) => cell(c.type, jsonPathValues(obj, c.jsonPath), now))],
  };
}

/** Upstream's warning for a deprecated version: it names the newest served version that is not deprecated. */
function defaultDeprecationWarning(crd: CustomResourceDefinition, version: string): string {
  const { group, names } = crd.spec;
  const msg = `${group}/${version} ${names.kind} is deprecated`;
  const newer = crd.spec.versions.filter((x) => x.served && !x.deprecated && compareKubeVersions(x.name, version) < 0).sort((a, b) => compareKubeVersions(a.name, b.name));
  return newer.length ? `${msg}; use ${group}/${newer[0].name} ${names.kind}` : msg;
}

/** Field selectors a version offers beyond metadata.name/namespace: its selectableFields, by path without the leading dot. */
function selectableFields(v: CRDVersion): KindDef['fields'] {
  const fields = v.selectableFields ?? [];
  if (!fields.length) return undefined;
  return Object.fromEntries(
    fields.map((f) => [
      f.jsonPath.replace(/^\./, ''),
      (obj: KubeObject) => {
        const found = jsonPathValues(obj, f.jsonPath)[0];
        return found === undefined || found === null ? '' : String(found);
      },
    ]),
  );
}

/** The KindDef of one served version. */
function versionKind(crd: CustomResourceDefinition, v: CRDVersion): { kind: KindDef; definition: Definition } {
  const spec = crd.spec;
  const root = (v.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as JSONSchemaProps;
  const definition = definitionOf(crd, v, root);
  const hasStatus = !!v.subresources?.status;
  const names = crd.status?.acceptedNames?.plural ? { ...spec.names, ...crd.status.acceptedNames } : spec.names;
  const deprecation = v.deprecated ? (v.deprecationWarning ?? defaultDeprecationWarning(crd, v.name)) : undefined;
  const kind: KindDef = {
    group: spec.group,
    version: v.name,
    kind: names.kind,
    plural: names.plural,
    singular: names.singular || names.kind.toLowerCase(),
    namespaced: spec.scope === 'Namespaced',
    shortNames: names.shortNames?.length ? names.shortNames : undefined,
    categories: names.categories?.length ? names.categories : undefined,
    definition: customDefinitionName(spec.group, v.name, names.kind),
    subresources: { status: hasStatus || undefined, scale: v.subresources?.scale ? scaleDefOf(v.subresources.scale) : undefined },
    tracksGeneration: true,
    openapiStrategicMerge: false,
    custom: {
      crd: crd.metadata.name!,
      listKind: names.listKind || `${names.kind}List`,
      prune(obj) {
        return pruneUnknown(obj, root);
      },
      terminating: !!crd.metadata.deletionTimestamp,
      deprecationWarning: deprecation,
    },
    fields: selectableFields(v),
    defaults(obj) {
      applyDefaults(obj, root);
    },
    prepareForCreate(obj) {
      if (hasStatus) delete obj.status;
    },
    prepareForUpdate(obj, old) {
      // any change but metadata (and status, when it is a subresource) is a new generation, as upstream
      const strip = (o: KubeObject) => {
        const { metadata: _m, status: _s, ...rest } = o;
        return hasStatus ? rest : { ...rest, status: _s };
      };
      if (!deepEqual(strip(obj), strip(old))) obj.metadata.generation = (old.metadata.generation ?? 0) + 1;
    },
    validate(obj) {
      return validateStructural(obj, root);
    },
    validateUpdate(obj, old) {
      // transition rules (those with oldSelf) only: validate() has run the rest
      const withOld = validateStructural(obj, root, '', true, old);
      if (!withOld.length) return withOld;
      const seen = new Set(validateStructural(obj, root).map((e) => `${e.field}\u0000${e.detail}`));
      return withOld.filter((e) => !seen.has(`${e.field}\u0000${e.detail}`));
    },
    validateStatusUpdate(obj, old) {
      return validateStructural(obj, root, '', true, old);
    },
    table: tableOf(v),
  };
  return { kind, definition };
}

/** Every served version's kind and schema definition. */
export function customKindsOf(crd: CustomResourceDefinition): { kinds: KindDef[]; definitions: Definitions } {
  const kinds: KindDef[] = [];
  const definitions: Definitions = {};
  if (!isPlainObject(crd.spec) || !Array.isArray(crd.spec.versions)) return { kinds, definitions };
  // served versions in upstream's priority order: GA before beta before alpha, higher first
  const versions = crd.spec.versions.filter((v) => v.served).sort((a, b) => compareKubeVersions(a.name, b.name));
  for (const v of versions) {
    const { kind, definition } = versionKind(crd, v);
    kinds.push(kind);
    definitions[kind.definition] = definition;
  }
  return { kinds, definitions };
}

/** Kubernetes' version priority: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else (alphabetical). */
export function compareKubeVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number, string] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0, v];
    const stage = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0), v];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
  return ra[3] < rb[3] ? -1 : ra[3] > rb[3] ? 1 : 0;
}

const CUSTOM_TOP: Schema = {
  type: 'object',
  properties: { metadata: { $ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' } },
  'x-kubernetes-preserve-unknown-fields': true,
};

/**
 * decodeTyped for any kind: built-in kinds decode as their Go structs; a custom kind's body is
 * unstructured JSON (never a type error: the schema's validation reports those with field
 * paths), its metadata decoded as ObjectMeta and the rest pruned by the structural schema.
 */
export function decodeKindValue(value: unknown, kind: KindDef, defs: Definitions, opts: { mutate?: boolean; sharesWith?: object } = {}): TypedDecodeResult {
  if (!kind.custom) return decodeTyped(value, { $ref: kind.definition }, defs, { mutate: opts.mutate, kindName: kind.kind, sharesWith: opts.sharesWith });
  const meta = decodeTyped(value, CUSTOM_TOP, defs, { mutate: opts.mutate, kindName: kind.kind });
  if (meta.error || !isPlainObject(meta.value)) return meta;
  const target = opts.mutate || meta.value !== value ? meta.value : structuredClone(value);
  const pruned = kind.custom.prune(target as KubeObject);
  return { unknown: [...meta.unknown, ...pruned], value: target };
}
