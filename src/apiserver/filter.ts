// Label and field selectors compiled for one kind: which field labels the kind supports,
// and a matcher over decoded objects.
import { errors } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import type { AnyKindDef } from '../api/registry.js';
import { parseFieldSelector, parseLabelSelector } from '../api/selectors.js';

/** Reads one field label's value off an object ("" when absent). */
export type FieldGetter = (obj: KubeObject) => string;

export interface CompiledSelectors {
  /** no selector at all */
  empty: boolean;
  /** set when the field selector pins metadata.name to one value */
  exactName?: string;
  /**
   * A field the selector pins to one value (an "=" requirement): only objects with that value
   * can match, which lets the watch fan-out go straight to the events that carry it. `sole`
   * when that requirement is the whole selector.
   */
  exactField?: { value: string; get: FieldGetter; sole: boolean };
  matches(obj: KubeObject): boolean;
}

// the same function for every kind and selector: watch fan-out indexes events by getter
const metadataName: FieldGetter = (o) => o.metadata.name ?? '';
const metadataNamespace: FieldGetter = (o) => o.metadata.namespace ?? '';

/** How to read a field label of a kind, or undefined when the kind does not support it. */
export function fieldGetter(kind: AnyKindDef, label: string): FieldGetter | undefined {
  if (label === 'metadata.name') return metadataName;
  if (label === 'metadata.namespace' && kind.namespaced) return metadataNamespace;
  return kind.fields && Object.hasOwn(kind.fields, label) ? kind.fields[label] : undefined;
}

export function compileSelectors(kind: AnyKindDef, labelSelector?: string, fieldSelector?: string): CompiledSelectors {
  const ls = labelSelector && labelSelector.trim() ? parseLabelSelector(labelSelector) : undefined;
  const fs = fieldSelector && fieldSelector.trim() ? parseFieldSelector(fieldSelector) : undefined;
  let exactName: string | undefined;
  let exactField: CompiledSelectors['exactField'];
  // each requirement reads only its own field: no need for all of the kind's field values
  const fieldChecks: { get: FieldGetter; value: string; equal: boolean }[] = [];
  for (const r of fs?.requirements ?? []) {
    const get = fieldGetter(kind, r.field);
    if (!get) throw errors.badRequest(`field label not supported: ${r.field}`);
    const equal = r.operator !== '!=';
    if (r.field === 'metadata.name' && equal) exactName = r.value;
    if (equal) exactField ??= { value: r.value, get, sole: !ls && fs!.requirements.length === 1 };
    fieldChecks.push({ get, value: r.value, equal });
  }
  if (!ls && !fs) return { empty: true, matches: () => true };
  return {
    empty: false,
    exactName,
    exactField,
    matches(obj: KubeObject): boolean {
      if (ls && !ls.matches(obj.metadata.labels ?? {})) return false;
      for (const c of fieldChecks) if ((c.get(obj) === c.value) !== c.equal) return false;
      return true;
    },
  };
}
