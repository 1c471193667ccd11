// core/v1 Secret: base64 data by key, with stringData folded in on write and per-type
// required keys.
import { deepEqual } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { base64Size, configKeyProblems } from './configmap.js';
import { IMMUTABLE_WHEN_SET, MAX_SECRET_SIZE, age, ageColumn, column, emptyToUndefined, immutable, nameColumn, record } from './support.js';

const BASE64_CHARS = /[^A-Za-z0-9+/=]/;

/** Where a value stops being strict, padded base64 (Go's StdEncoding), or -1 when it is fine. */
function base64Problem(v: string): number {
  const bad = v.search(BASE64_CHARS);
  if (bad >= 0) return bad;
  const padding = v.indexOf('=');
  if (padding >= 0 && (padding < v.length - 2 || /=[^=]/.test(v.slice(padding)))) return padding;
  return v.length % 4 === 0 ? -1 : v.length - (v.length % 4);
}

/** Keys each well-known secret type must carry. */
function typeErrors(type: string, data: Record<string, unknown>, annotations: Record<string, string>): FieldError[] {
  const need = (key: string) => (key in data ? [] : [field.required(`data[${key}]`)]);
  switch (type) {
    case 'kubernetes.io/service-account-token':
      return annotations['kubernetes.io/service-account.name'] ? [] : [field.required('metadata.annotations[kubernetes.io/service-account.name]')];
    case 'kubernetes.io/dockercfg':
      return need('.dockercfg');
    case 'kubernetes.io/dockerconfigjson':
      return need('.dockerconfigjson');
    case 'kubernetes.io/basic-auth':
      return 'username' in data || 'password' in data ? [] : [...need('username'), ...need('password')];
    case 'kubernetes.io/ssh-auth':
      return base64Size(data['ssh-privatekey']) ? [] : [field.required('data[ssh-privatekey]')];
    case 'kubernetes.io/tls':
      return [...need('tls.crt'), ...need('tls.key')];
    default:
      return [];
  }
}

export const secretKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  definition: 'io.k8s.api.core.v1.Secret',

  defaults(secret) {
    secret.type ||= 'Opaque';
    // stringData is write-only: it overwrites data and is never stored
    const plain = record(secret.stringData);
    if (Object.keys(plain).length) {
      secret.data = { ...record(secret.data) };
      for (const [k, v] of Object.entries(plain)) secret.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    }
    delete secret.stringData;
  },

  validate(secret) {
    const errs: FieldError[] = [];
    const data = record(secret.data);
    let size = 0;
    for (const [key, value] of Object.entries(data)) {
      for (const m of configKeyProblems(key)) errs.push(field.invalid(`data[${key}]`, key, m));
      const at = typeof value === 'string' ? base64Problem(value) : 0;
      if (at >= 0) errs.push(field.invalid(`data[${key}]`, '<secret contents redacted>', `illegal base64 data at input byte ${at}`));
      size += base64Size(value);
    }
    if (size > MAX_SECRET_SIZE) errs.push(field.tooLong('data', MAX_SECRET_SIZE));
    errs.push(...typeErrors(secret.type ?? '', data, secret.metadata.annotations ?? {}));
    return errs;
  },

  validateUpdate(secret, old) {
    const errs = immutable('type', secret.type, old.type);
    if (old.immutable === true) {
      if (secret.immutable !== true) errs.push(field.forbidden('immutable', IMMUTABLE_WHEN_SET));
      if (!deepEqual(emptyToUndefined(secret.data), emptyToUndefined(old.data))) errs.push(field.forbidden('data', IMMUTABLE_WHEN_SET));
    }
    return errs;
  },

  fields: {
    type: (secret) => secret.type ?? '',
  },

  table: {
    columns: [nameColumn, column('Type', 'What the secret holds.'), column('Data', 'Number of keys.'), ageColumn],
    cells: (secret, now) => [secret.metadata.name, secret.type ?? '', Object.keys(record(secret.data)).length, age(secret, now)],
  },
};

