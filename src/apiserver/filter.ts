// Label and field selectors compiled for one kind: which field labels the kind supports,
// and a matcher over decoded objects.
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import type { AnyKindDef } from '../api/registry.js';
import { parseFieldSelector, parseLabelSelector } from '../api/selectors.js';

export interface CompiledSelectors {
  /** no selector at all */
  empty: boolean;
  /** set when the field selector pins metadata.name to one value */
  exactName?: string;
  matches(obj: KubeObject): boolean;
}

export function fieldValues(kind: AnyKindDef, obj: KubeObject): Record<string, string> {
  const out: Record<string, string> = { 'metadata.name': obj.metadata.name ?? '' };
  if (kind.namespaced) out['metadata.namespace'] = obj.metadata.namespace ?? '';
  for (const [label, fn] of Object.entries(kind.fields ?? {})) out[label] = fn(obj);
  return out;
}

export function supportedFieldLabels(kind: AnyKindDef): Set<string> {
  const s = new Set(['metadata.name']);
  if (kind.namespaced) s.add('metadata.namespace');
  for (const k of Object.keys(kind.fields ?? {})) s.add(k);
  return s;
}

export function compileSelectors(kind: AnyKindDef, labelSelector?: string, fieldSelector?: string): CompiledSelectors {
  const ls = labelSelector && labelSelector.trim() ? parseLabelSelector(labelSelector) : undefined;
  const fs = fieldSelector && fieldSelector.trim() ? parseFieldSelector(fieldSelector) : undefined;
  let exactName: string | undefined;
  if (fs) {
    const supported = supportedFieldLabels(kind);
    for (const r of fs.requirements) {
      if (!supported.has(r.field)) throw errors.badRequest(`field label not supported: ${r.field}`);
      if (r.field === 'metadata.name' && r.operator !== '!=') exactName = r.value;
    }
  }
  if (!ls && !fs) return { empty: true, matches: () => true };
  return {
    empty: false,
    exactName,
    matches(obj: KubeObject): boolean {
      if (ls && !ls.matches(obj.metadata.labels ?? {})) return false;
      if (fs && !fs.matches(fieldValues(kind, obj))) return false;
      return true;
    },
  };
}
