// The registry of kinds. Adding a kind means adding one file under kinds/ that exports a
// KindDef; the API server, discovery, OpenAPI, tables and the client all read from here.
import type { ResourceRef } from './errors.js';
import type { KubeObject } from './object.js';
import { apiVersionOf } from './object.js';
import type { Definitions, Schema } from './schema.js';
import type { FieldError, NameValidator } from './validation.js';

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0 shows always; 1 only with -o wide */
  priority?: number;
}

export interface TableDef<T extends KubeObject = KubeObject> {
  /** every column, Name first, as upstream's printer declares them */
  columns: Column[];
  /** one cell per column */
  cells(obj: T, now: number): unknown[];
}

export interface ScaleDef {
  /** dotted paths into the object */
  specReplicasPath: string;
  statusReplicasPath: string;
  /** returns the label selector as a string (Scale.status.selector) */
  selector(obj: KubeObject): string;
}

export interface KindDef<T extends KubeObject = KubeObject> {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** the schema definition name, e.g. "io.k8s.api.apps.v1.StatefulSet" */
  definition: string;
  /** ephemeralContainers: pods' `ephemeralcontainers` subresource, the only way to change spec.ephemeralContainers */
  subresources?: { status?: boolean; scale?: ScaleDef; ephemeralContainers?: boolean };
  /** metadata.generation starts at 1 and is bumped when spec changes (and on graceful deletion). */
  tracksGeneration?: boolean;
  /** Names must pass this (default: DNS-1123 subdomain). */
  nameValidator?: NameValidator;
  /** PUT without metadata.resourceVersion allowed (default true). */
  allowUnconditionalUpdate?: boolean;
  /**
   * Served for reading only, with this reason: petset runs nothing for the kind, so it holds
   * none; lists are empty and writes are refused (405) rather than stored and never acted on.
   */
  readOnly?: string;
  /**
   * Another version of the same resource stores the objects (autoscaling/v1 over v2): requests
   * to this one are converted to that version and back. Controllers that walk every kind skip it.
   */
  conversion?: { storedVersion: string; toStored(obj: KubeObject): KubeObject; fromStored(obj: KubeObject): KubeObject };
  /** Only ever created, answered and never stored (the access reviews): no list kind, no other verbs. */
  createOnly?: boolean;
  /** DELETE answers with the object rather than a Status (pods, PVCs, PVs, namespaces). */
  returnDeletedObject?: boolean;
  /** The propagation used when the client gives none (upstream: Background, Orphan for a few old kinds). */
  defaultPropagation?: 'Background' | 'Orphan' | 'Foreground';
  /**
   * Advertise strategic merge patch for this kind in OpenAPI (default true). kubectl apply then
   * computes its patches from our schema, so turn it off while the schema is incomplete: kubectl
   * falls back to its compiled-in types instead of warning about unknown fields.
   */
  openapiStrategicMerge?: boolean;

  /** Fill defaults in place, on create and update, before validation. */
  defaults?(obj: T): void;
  /** Server-owned changes on create (reset status, set phase ...). */
  prepareForCreate?(obj: T): void;
  /** Server-owned changes on update of the main resource; old is the stored object. */
  prepareForUpdate?(obj: T, old: T): void;
  /**
   * Server-owned changes on a write through the status subresource (or one stored like it, such
   * as CertificateSigningRequests' approval, named by subresource); old is the stored object.
   */
  prepareForStatusUpdate?(obj: T, old: T, subresource: string): void;
  validate?(obj: T): FieldError[];
  validateUpdate?(obj: T, old: T): FieldError[];
  validateStatusUpdate?(obj: T, old: T): FieldError[];
  /** Checks only a create makes (beyond validate). */
  validateCreate?(obj: T): FieldError[];
  /** Checks of a write through the ephemeralcontainers subresource (instead of validate/validateUpdate). */
  validateEphemeralContainersUpdate?(obj: T, old: T): FieldError[];
  /** Warnings returned in Warning headers on create/update. */
  warnings?(obj: T): string[];

  /** Field selector labels this kind supports beyond metadata.name and metadata.namespace. */
  fields?: Record<string, (obj: T) => string>;

  /** Graceful deletion: the grace period to apply, or 0 to delete at once. Only pods have it. */
  gracePeriod?(obj: T, requested: number | undefined): number;

  table?: TableDef<T>;

  /**
   * Set on kinds a CustomResourceDefinition defines: bodies are unstructured JSON, pruned by
   * the definition's structural schema rather than decoded as Go structs, and served as JSON only.
   */
  custom?: CustomKindInfo;
}

export interface CustomKindInfo {
  /** the CustomResourceDefinition's name */
  crd: string;
  listKind: string;
  /** Drops, in place, the fields the schema does not specify; returns their paths. */
  prune(obj: KubeObject): string[];
  /** the definition is being deleted: no new objects */
  terminating: boolean;
  /** the Warning every request to this (deprecated) version gets */
  deprecationWarning?: string;
}

export type AnyKindDef = KindDef<any>;

export function resourceRef(k: AnyKindDef): ResourceRef {
  return { group: k.group, resource: k.plural, kind: k.kind };
}

export function kindApiVersion(k: AnyKindDef): string {
  return apiVersionOf(k.group, k.version);
}

export interface GroupInfo {
  group: string;
  versions: string[];
}

export class Registry {
  readonly kinds: AnyKindDef[];
  private readonly byRes = new Map<string, AnyKindDef>();
  private readonly byGVK = new Map<string, AnyKindDef>();

  constructor(
    kinds: AnyKindDef[],
    readonly definitions: Definitions,
  ) {
    this.kinds = kinds;
    for (const k of kinds) {
      this.byRes.set(`${k.group}/${k.version}/${k.plural}`, k);
      this.byGVK.set(`${k.group}/${k.version}/${k.kind}`, k);
      if (!definitions[k.definition]) throw new Error(`kind ${k.kind}: no schema definition named ${k.definition}`);
    }
  }

  resource(group: string, version: string, plural: string): AnyKindDef | undefined {
    return this.byRes.get(`${group}/${version}/${plural}`);
  }

  kind(group: string, version: string, kind: string): AnyKindDef | undefined {
    return this.byGVK.get(`${group}/${version}/${kind}`);
  }

  /** by "apps/v1" + "StatefulSet" */
  forObject(apiVersion: string, kind: string): AnyKindDef | undefined {
    const i = apiVersion.indexOf('/');
    const group = i < 0 ? '' : apiVersion.slice(0, i);
    const version = i < 0 ? apiVersion : apiVersion.slice(i + 1);
    return this.kind(group, version, kind);
  }

  /** Groups in a stable order: core first, then as the kinds were declared. */
  groups(): GroupInfo[] {
    const out: GroupInfo[] = [];
    for (const k of this.kinds) {
      let g = out.find((x) => x.group === k.group);
      if (!g) out.push((g = { group: k.group, versions: [] }));
      if (!g.versions.includes(k.version)) g.versions.push(k.version);
    }
    return out.sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : 0));
  }

  kindsIn(group: string, version: string): AnyKindDef[] {
    return this.kinds.filter((k) => k.group === group && k.version === version);
  }

  /**
   * This registry plus the kinds of CustomResourceDefinitions, as a new registry (registries
   * are immutable: caches keyed by one stay right). A custom kind never shadows a built-in one.
   */
  withCustomKinds(kinds: AnyKindDef[], definitions: Definitions): Registry {
    const added = kinds.filter((k) => !this.byRes.has(`${k.group}/${k.version}/${k.plural}`) && !this.byGVK.has(`${k.group}/${k.version}/${k.kind}`));
    const out = new Registry([...this.kinds, ...added], { ...definitions, ...this.definitions });
    out.base = this.base ?? this;
    return out;
  }

  /** The registry of built-in kinds this one extends (itself when it has no custom kinds). */
  base?: Registry;

  schema(k: AnyKindDef): Schema {
    return { $ref: k.definition };
  }
}
