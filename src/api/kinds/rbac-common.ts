// What rbac.authorization.k8s.io's four kinds share: upstream's validation of rules, role
// references and subjects, the defaults of a binding, and the printers.
import type { KubeObject } from '../object.js';
import type { Column } from '../registry.js';
import { field, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { age, ageColumn, list, nameColumn, record } from './support.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** upstream's ValidatePathSegmentName: RBAC names may hold colons (system:node) */
export function pathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const out: string[] = [];
  for (const c of ['/', '%']) if (name.includes(c)) out.push(`may not contain '${c}'`);
  return out;
}

export function validateRules(obj: KubeObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  list<Record<string, any>>(obj.rules).forEach((rule, i) => {
    const p = `rules[${i}]`;
    if (!list(rule?.verbs).length) errs.push(field.required(`${p}.verbs`, 'verbs must contain at least one value'));
    if (list(rule?.nonResourceURLs).length) {
      if (namespaced) errs.push(field.invalid(`${p}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
      if (list(rule.apiGroups).length || list(rule.resources).length) {
        errs.push(field.invalid(`${p}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
      }
      return;
    }
    if (!list(rule?.apiGroups).length) errs.push(field.required(`${p}.apiGroups`, 'resource rules must supply at least one api group'));
    if (!list(rule?.resources).length) errs.push(field.required(`${p}.resources`, 'resource rules must supply at least one resource'));
  });
  return errs;
}

/** SetDefaults_Subject and the roleRef's group, as upstream defaults bindings */
export function defaultBinding(b: KubeObject): void {
  const ref = record(b.roleRef);
  if (b.roleRef && !ref.apiGroup) b.roleRef.apiGroup = RBAC_GROUP;
  for (const s of list<Record<string, any>>(b.subjects)) {
    if (!s || typeof s !== 'object' || s.apiGroup) continue;
    // a ServiceAccount's group is the core one, "", which upstream's JSON leaves out (omitempty)
    if (s.kind === 'ServiceAccount') delete s.apiGroup;
    else if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  }
}

export function validateBinding(b: KubeObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = record(b.roleRef);
  if (ref.apiGroup !== RBAC_GROUP) errs.push(field.notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) errs.push(field.notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (!ref.name) errs.push(field.required('roleRef.name', ''));
  else for (const m of pathSegmentName(String(ref.name))) errs.push(field.invalid('roleRef.name', ref.name, m));
  list<Record<string, any>>(b.subjects).forEach((s, i) => errs.push(...validateSubject(record(s), `subjects[${i}]`, namespaced)));
  return errs;
}

function validateSubject(s: Record<string, any>, p: string, bindingNamespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!s.name) errs.push(field.required(`${p}.name`, ''));
  switch (s.kind) {
    case 'ServiceAccount':
      if (s.name) for (const m of isDNS1123Subdomain(String(s.name))) errs.push(field.invalid(`${p}.name`, s.name, m));
      if (s.apiGroup) errs.push(field.notSupported(`${p}.apiGroup`, s.apiGroup, ['']));
      if (!bindingNamespaced && !s.namespace) errs.push(field.required(`${p}.namespace`, ''));
      break;
    case 'User':
    case 'Group':
      if (s.apiGroup !== RBAC_GROUP) errs.push(field.notSupported(`${p}.apiGroup`, s.apiGroup ?? '', [RBAC_GROUP]));
      break;
    default:
      errs.push(field.notSupported(`${p}.kind`, s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

export function validateRoleRefUnchanged(b: KubeObject, old: KubeObject): FieldError[] {
  return JSON.stringify(b.roleRef) === JSON.stringify(old.roleRef) ? [] : [field.invalid('roleRef', b.roleRef, 'cannot change roleRef')];
}

const createdAtColumn: Column = { name: 'Created At', type: 'date', description: 'When the role was created.' };

export const roleTable = {
  columns: [nameColumn, createdAtColumn],
  cells: (r: KubeObject) => [r.metadata.name, r.metadata.creationTimestamp],
};

const subjectNames = (b: KubeObject, kind: string) =>
  list<Record<string, any>>(b.subjects)
    .filter((s) => s?.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? b.metadata.namespace ?? ''}/${s.name}` : s.name))
    .join(', ');

export const bindingTable = {
  columns: [
    nameColumn,
    { name: 'Role', type: 'string', description: 'The role granted.' } as Column,
    ageColumn,
    { name: 'Users', type: 'string', priority: 1, description: 'Users bound.' } as Column,
    { name: 'Groups', type: 'string', priority: 1, description: 'Groups bound.' } as Column,
    { name: 'ServiceAccounts', type: 'string', priority: 1, description: 'Service accounts bound.' } as Column,
  ],
  cells: (b: KubeObject, now: number) => [
    b.metadata.name,
    `${record(b.roleRef).kind ?? ''}/${record(b.roleRef).name ?? ''}`,
    age(b, now),
    subjectNames(b, 'User'),
    subjectNames(b, 'Group'),
    subjectNames(b, 'ServiceAccount'),
  ],
};
