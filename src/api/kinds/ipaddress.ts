// networking.k8s.io/v1 IPAddress (upstream's allocation of service cluster IPs since 1.33):
// the object's name is the address; its existence is the allocation.
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { age, ageColumn, column, nameColumn, record } from './support.js';

/** An IPv4 address in canonical dotted form (no leading zeros), as the name must be. */
function isCanonicalIPv4(v: string): boolean {
  const parts = v.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export const ipAddressKind: KindDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'IPAddress',
  plural: 'ipaddresses',
  singular: 'ipaddress',
  namespaced: false,
  shortNames: ['ip'],
  definition: 'io.k8s.api.networking.v1.IPAddress',
  nameValidator: (name) => (isCanonicalIPv4(name) ? [] : ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']),

  validate(ip) {
    const ref = record(record(ip.spec).parentRef);
    const errs: FieldError[] = [];
    if (!ip.spec?.parentRef) errs.push(field.required('spec.parentRef'));
    else {
      if (!ref.resource) errs.push(field.required('spec.parentRef.resource'));
      if (!ref.name) errs.push(field.required('spec.parentRef.name'));
    }
    return errs;
  },

  validateUpdate(ip, old) {
    return JSON.stringify(ip.spec?.parentRef ?? null) === JSON.stringify(old.spec?.parentRef ?? null) ? [] : [field.invalid('spec.parentRef', ip.spec?.parentRef, 'field is immutable')];
  },

  table: {
    columns: [nameColumn, column('ParentRef', 'The object holding the address.'), ageColumn],
    cells: (ip, now) => {
      const r = record(record(ip.spec).parentRef);
      return [ip.metadata.name, r.resource ? `${r.resource}${r.group ? `.${r.group}` : ''}/${r.namespace ? `${r.namespace}/` : ''}${r.name}` : '', age(ip, now)];
    },
  },
};
