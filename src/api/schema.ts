// One description of each type. It feeds /openapi/v3 and /openapi/v2, drives strategic
// merge patch (merge keys, strategies) and unknown-field checks, and gives `kubectl explain`
// its text. The vocabulary is OpenAPI's, with Kubernetes' x- extensions, so the published
// documents are close to a pass-through.

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface Schema {
  type?: SchemaType;
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  /** A named definition, e.g. "io.k8s.api.core.v1.Container". */
  $ref?: string;
  /** Alternatives, as upstream writes Quantity (string or number) and IntOrString. */
  oneOf?: Schema[];
  enum?: string[];
  default?: unknown;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-unions'?: unknown[];
}

/** A named definition; top-level kinds carry their group/version/kind. */
export interface Definition extends Schema {
  'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
}

export type Definitions = Record<string, Definition>;

/* ---------- small builders so schema files read like the Go types they mirror ---------- */

export const s = {
  str(description: string, extra: Partial<Schema> = {}): Schema {
    return { type: 'string', description, ...extra };
  },
  enumOf(values: string[], description: string): Schema {
    return { type: 'string', description, enum: values };
  },
  int32(description: string, extra: Partial<Schema> = {}): Schema {
    return { type: 'integer', format: 'int32', description, ...extra };
  },
  int64(description: string, extra: Partial<Schema> = {}): Schema {
    return { type: 'integer', format: 'int64', description, ...extra };
  },
  num(description: string): Schema {
    return { type: 'number', format: 'double', description };
  },
  bool(description: string): Schema {
    return { type: 'boolean', description };
  },
  /** A reference to a named definition, with a field-level description. */
  ref(name: string, description?: string, extra: Partial<Schema> = {}): Schema {
    return description ? { $ref: name, description, ...extra } : { $ref: name, ...extra };
  },
  /** A list of items (atomic unless merge metadata is given). */
  list(items: Schema, description: string, extra: Partial<Schema> = {}): Schema {
    return { type: 'array', items, description, ...extra };
  },
  /** A list merged by key in strategic merge patch, like `containers` by `name`. */
  mergeList(items: Schema, key: string, description: string, extra: Partial<Schema> = {}): Schema {
    return {
      type: 'array',
      items,
      description,
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': key,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': [key],
      ...extra,
    };
  },
  /** A list of strings merged as a set. */
  setList(items: Schema, description: string): Schema {
    return { type: 'array', items, description, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' };
  },
  stringMap(description: string): Schema {
    return { type: 'object', additionalProperties: { type: 'string', default: '' }, description };
  },
  map(values: Schema, description: string): Schema {
    return { type: 'object', additionalProperties: values, description };
  },
  obj(properties: Record<string, Schema>, description: string, extra: Partial<Schema> = {}): Schema {
    return { type: 'object', description, properties, ...extra };
  },
  /** Free-form JSON (RawExtension-like). */
  any(description: string): Schema {
    return { type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true };
  },
  quantity(description: string): Schema {
    return { $ref: 'io.k8s.apimachinery.pkg.api.resource.Quantity', description };
  },
  intOrString(description: string): Schema {
    return { $ref: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString', description };
  },
  time(description: string): Schema {
    return { $ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.Time', description };
  },
  /** ObjectMeta, as every kind has it. */
  meta(): Schema {
    return {
      $ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
      description:
        "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
      default: {},
    };
  },
  apiVersion(): Schema {
    return {
      type: 'string',
      description:
        'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.',
    };
  },
  kind(): Schema {
    return {
      type: 'string',
      description:
        'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.',
    };
  },
};

/** The top-level definition of a kind: apiVersion, kind, metadata plus its own fields. */
export function kindDefinition(
  gvk: { group: string; version: string; kind: string },
  description: string,
  properties: Record<string, Schema>,
  extra: Partial<Definition> = {},
): Definition {
  return {
    type: 'object',
    description,
    properties: { apiVersion: s.apiVersion(), kind: s.kind(), metadata: s.meta(), ...properties },
    'x-kubernetes-group-version-kind': [gvk],
    ...extra,
  };
}

/** Follows $ref chains. The description at the use site wins over the definition's. */
export function resolveSchema(defs: Definitions, schema: Schema | undefined): Schema | undefined {
  let cur = schema;
  let guard = 0;
  while (cur && cur.$ref && guard++ < 20) {
    const target = defs[cur.$ref];
    if (!target) return undefined;
    const { $ref: _ignored, ...rest } = cur;
    cur = { ...target, ...stripUndefined(rest) };
    if (!rest.description && target.description) cur.description = target.description;
  }
  return cur;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as any)[k] = v;
  return out;
}

/** The schema of a named property of an object schema, resolved. */
export function propertySchema(defs: Definitions, schema: Schema | undefined, name: string): Schema | undefined {
  const r = resolveSchema(defs, schema);
  if (!r) return undefined;
  if (r.properties && r.properties[name]) return resolveSchema(defs, r.properties[name]);
  if (r.additionalProperties && typeof r.additionalProperties === 'object') return resolveSchema(defs, r.additionalProperties);
  return undefined;
}
