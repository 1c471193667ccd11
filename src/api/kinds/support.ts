// Pieces the non-workload kinds share: table columns, upstream's common validators (ports,
// IPs, qualified names, label and node selectors, quantities) and a few printers helpers.
import { isIP } from 'node:net';
import { GoValue } from '../errors.js';
import { deepEqual, humanAge, isPlainObject, type KubeObject } from '../object.js';
import { QuantityError, parseQuantity, type Quantity } from '../quantity.js';
import type { Column } from '../registry.js';
import { field, isDNS1123Subdomain, isQualifiedName, isValidLabelValue, validateLabels, type FieldError } from '../validation.js';

export type Obj = Record<string, any>;

const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';
export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
export const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
export const VOLUME_MODES = ['Block', 'Filesystem'];
export const IMMUTABLE_WHEN_SET = 'field is immutable when `immutable` is set';
/** Upstream's cap on the total size of a ConfigMap's or Secret's values. */
export const MAX_SECRET_SIZE = 1024 * 1024;
/** Why writes of a kind petset lists but does not run are refused. */
export const UNSERVED = 'petset lists this kind but runs no controller for it';
/** The legacy annotation that wins over storageClassName when present. */
export const BETA_STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

/* ---------- tables ---------- */

export const nameColumn: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name of the object, unique in its namespace.' };
export const ageColumn: Column = { name: 'Age', type: 'string', description: 'Time since the object was created.' };

export function column(name: string, description: string, extra: Partial<Column> = {}): Column {
  return { name, type: 'string', description, ...extra };
}

export function age(obj: KubeObject, now: number): string {
  return humanAge(obj.metadata.creationTimestamp, now);
}

/** kubectl's abbreviations for access modes, in upstream's fixed order, duplicates dropped. */
export function accessModesString(modes: unknown): string {
  const have = new Set(list<string>(modes));
  const out: string[] = [];
  if (have.has('ReadWriteOnce')) out.push('RWO');
  if (have.has('ReadOnlyMany')) out.push('ROX');
  if (have.has('ReadWriteMany')) out.push('RWX');
  if (have.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/** The storage class of a PV or PVC: the legacy annotation first, then spec.storageClassName. */
export function storageClassOf(obj: KubeObject): string {
  const annotated = obj.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION];
  if (annotated !== undefined) return annotated;
  return typeof obj.spec?.storageClassName === 'string' ? obj.spec.storageClassName : '';
}

/* ---------- shape helpers ---------- */

export function list<T = Obj>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

export function record(v: unknown): Obj {
  return isPlainObject(v) ? v : {};
}

export function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Nil and empty maps and lists are the same thing once stored (omitempty). */
export function emptyToUndefined<T>(v: T): T | undefined {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v) && v.length === 0) return undefined;
  if (isPlainObject(v) && Object.keys(v).length === 0) return undefined;
  return v;
}

/** How Go's %#v prints a []string, which upstream shows in some field errors. */
export function goStrings(values: unknown): GoValue {
  return new GoValue(`[]string{${list<string>(values).map((v) => JSON.stringify(v)).join(', ')}}`);
}

/* ---------- validators (k8s.io/apimachinery/pkg/util/validation and core validation) ---------- */

export function validatePortNumber(port: unknown, path: string): FieldError[] {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [field.invalid(path, port ?? 0, PORT_RANGE_MSG)];
}

/** IsValidPortName: an IANA service name. */
function portNameProblems(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** ValidatePortNumOrName. */
export function validatePortNumOrName(port: unknown, path: string): FieldError[] {
  if (typeof port === 'string') return portNameProblems(port).map((m) => field.invalid(path, port, m));
  return validatePortNumber(port, path);
}

export function validateQualifiedName(value: string, path: string): FieldError[] {
  return isQualifiedName(value).map((m) => field.invalid(path, value, m));
}

export function validateDNS1123Subdomain(value: string, path: string): FieldError[] {
  return isDNS1123Subdomain(value).map((m) => field.invalid(path, value, m));
}

function isValidIP(value: unknown): boolean {
  return typeof value === 'string' && isIP(value) !== 0;
}

export function validateIP(value: unknown, path: string): FieldError[] {
  return isValidIP(value) ? [] : [field.invalid(path, value ?? '', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')];
}

export function validateNonnegative(value: unknown, path: string): FieldError[] {
  return typeof value === 'number' && value < 0 ? [field.invalid(path, value, 'must be greater than or equal to 0')] : [];
}

/** ValidateLabelSelector (metav1.LabelSelector). */
export function validateLabelSelector(sel: unknown, path: string): FieldError[] {
  if (!isPlainObject(sel)) return [];
  const errs = validateLabels(sel.matchLabels, `${path}.matchLabels`);
  list(sel.matchExpressions).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = list<string>(req.values);
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (!values.length) errs.push(field.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length) errs.push(field.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(field.invalid(`${p}.operator`, req.operator ?? '', 'not a valid selector operator'));
    }
    errs.push(...validateQualifiedName(req.key ?? '', `${p}.key`));
    values.forEach((v, j) => errs.push(...isValidLabelValue(v).map((m) => field.invalid(`${p}.values[${j}]`, v, m))));
  });
  return errs;
}

/** ValidateNodeSelector (core.NodeSelector, as in required node affinity). */
export function validateNodeSelector(sel: Obj, path: string): FieldError[] {
  const terms = list(sel.nodeSelectorTerms);
  if (!terms.length) return [field.required(`${path}.nodeSelectorTerms`, 'must have at least one node selector term')];
  const errs: FieldError[] = [];
  terms.forEach((term, i) => {
    const p = `${path}.nodeSelectorTerms[${i}]`;
    list(term.matchExpressions).forEach((req, j) => errs.push(...validateNodeSelectorRequirement(req, `${p}.matchExpressions[${j}]`)));
    list(term.matchFields).forEach((req, j) => {
      const q = `${p}.matchFields[${j}]`;
      const values = list<string>(req.values);
      if (req.operator === 'In' || req.operator === 'NotIn') {
        if (values.length !== 1) {
          errs.push(field.required(`${q}.values`, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
        }
      } else errs.push(field.invalid(`${q}.operator`, req.operator ?? '', 'not a valid selector operator'));
      if (req.key !== 'metadata.name') errs.push(field.invalid(`${q}.key`, req.key ?? '', 'not a valid field selector key'));
      else values.forEach((v, k) => errs.push(...isDNS1123Subdomain(v).map((m) => field.invalid(`${q}.values[${k}]`, v, m))));
    });
  });
  return errs;
}

function validateNodeSelectorRequirement(req: Obj, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const values = list<string>(req.values);
  switch (req.operator) {
    case 'In':
    case 'NotIn':
      if (!values.length) errs.push(field.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length) errs.push(field.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1) errs.push(field.required(`${p}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(field.invalid(`${p}.operator`, req.operator ?? '', 'not a valid selector operator'));
  }
  errs.push(...validateQualifiedName(req.key ?? '', `${p}.key`));
  values.forEach((v, j) => errs.push(...isValidLabelValue(v).map((m) => field.invalid(`${p}.values[${j}]`, v, m))));
  return errs;
}

/**
 * A quantity that must parse. Upstream rejects a malformed one while decoding (400); here it
 * surfaces as a field error on the same path, with the same text.
 */
export function checkQuantity(value: unknown, path: string, errs: FieldError[]): Quantity | undefined {
  try {
    if (typeof value !== 'string' && typeof value !== 'number') throw new QuantityError('quantities must be a string or a number');
    return parseQuantity(value);
  } catch (e) {
    errs.push(field.invalid(path, value ?? null, (e as Error).message));
    return undefined;
  }
}

/** ValidatePositiveQuantityValue. */
export function validatePositiveQuantity(value: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const q = checkQuantity(value, path, errs);
  if (q && q.nanos <= 0n) errs.push(field.invalid(path, String(value), 'must be greater than zero'));
  return errs;
}

/** ValidateImmutableField. */
export function immutable(path: string, value: unknown, old: unknown): FieldError[] {
  return deepEqual(value ?? null, old ?? null) ? [] : [field.invalid(path, value ?? null, 'field is immutable')];
}

/** A short, readable listing of the top-level fields two objects disagree on. */
export function fieldDiff(before: Obj, after: Obj): string {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const lines: string[] = [];
  for (const k of keys) {
    const a = JSON.stringify(before[k]);
    const b = JSON.stringify(after[k]);
    if (a === b) continue;
    if (a !== undefined) lines.push(`-\t${k}: ${a}`);
    if (b !== undefined) lines.push(`+\t${k}: ${b}`);
  }
  return lines.join('\n');
}
