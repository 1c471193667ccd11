// core/v1 ConfigMap: plain configuration data, optionally frozen with `immutable`.
import { deepEqual } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, type FieldError } from '../validation.js';
import { IMMUTABLE_WHEN_SET, MAX_SECRET_SIZE, age, ageColumn, column, emptyToUndefined, nameColumn, record } from './support.js';

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** IsConfigMapKey: the key rules ConfigMaps and Secrets share. */
export function configKeyProblems(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) errs.push(CONFIG_KEY_MSG);
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** Decoded size of a base64 value, as upstream counts bytes of binary data. */
export function base64Size(v: unknown): number {
  return typeof v === 'string' ? Buffer.from(v, 'base64').length : 0;
}

export const configMapKind: KindDef = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  definition: 'io.k8s.api.core.v1.ConfigMap',

  validate(cm) {
    const errs: FieldError[] = [];
    const data = record(cm.data);
    const binary = record(cm.binaryData);
    let size = 0;
    for (const [key, value] of Object.entries(data)) {
      for (const m of configKeyProblems(key)) errs.push(field.invalid(`data[${key}]`, key, m));
      if (key in binary) errs.push(field.invalid(`data[${key}]`, key, 'duplicate of key present in binaryData'));
      size += typeof value === 'string' ? Buffer.byteLength(value) : 0;
    }
    for (const [key, value] of Object.entries(binary)) {
      for (const m of configKeyProblems(key)) errs.push(field.invalid(`binaryData[${key}]`, key, m));
      if (key in data) errs.push(field.invalid(`binaryData[${key}]`, key, 'duplicate of key present in data'));
      size += base64Size(value);
    }
    if (size > MAX_SECRET_SIZE) errs.push(field.tooLong('', MAX_SECRET_SIZE));
    return errs;
  },

  validateUpdate(cm, old) {
    if (old.immutable !== true) return [];
    const errs: FieldError[] = [];
    if (cm.immutable !== true) errs.push(field.forbidden('immutable', IMMUTABLE_WHEN_SET));
    if (!deepEqual(emptyToUndefined(cm.data), emptyToUndefined(old.data))) errs.push(field.forbidden('data', IMMUTABLE_WHEN_SET));
    if (!deepEqual(emptyToUndefined(cm.binaryData), emptyToUndefined(old.binaryData))) {
      errs.push(field.forbidden('binaryData', IMMUTABLE_WHEN_SET));
    }
    return errs;
  },

  table: {
    columns: [nameColumn, column('Data', 'Number of keys, text and binary.'), ageColumn],
    cells: (cm, now) => [cm.metadata.name, Object.keys(record(cm.data)).length + Object.keys(record(cm.binaryData)).length, age(cm, now)],
  },
};
