// fieldValidation=Strict|Warn: which fields of a request body the schema does not know.
import { isPlainObject } from '../api/object.js';
import { resolveSchema, type Definitions, type Schema } from '../api/schema.js';

/** Dotted paths (upstream style: `spec.foo`, `spec.containers[0].bar`) of fields the schema lacks. */
export function checkUnknownFields(body: unknown, schema: Schema, defs: Definitions): string[] {
  const out: string[] = [];
  walk(body, schema, defs, '', out);
  return out;
}

function walk(v: unknown, schema: Schema | undefined, defs: Definitions, path: string, out: string[]): void {
  const s = resolveSchema(defs, schema);
  if (!s || s['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(v)) {
    if (s.items) v.forEach((item, i) => walk(item, s.items, defs, `${path}[${i}]`, out));
    return;
  }
  if (!isPlainObject(v)) return;
  if (s.properties) {
    for (const [k, child] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      const ps = s.properties[k];
      if (ps) walk(child, ps, defs, p, out);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(child, s.additionalProperties, defs, p, out);
      else if (!s.additionalProperties) out.push(p);
    }
  } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    for (const [k, child] of Object.entries(v)) walk(child, s.additionalProperties, defs, path ? `${path}.${k}` : k, out);
  }
}
