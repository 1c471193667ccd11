// Kubernetes Status errors. Every API error leaves the server through ApiError, so that
// message formats match upstream exactly (clients and users match on them).

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { resourceVersion?: string; continue?: string };
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

/** What an error needs to know about the resource it is about. */
export interface ResourceRef {
  group: string;
  /** plural resource name, e.g. "statefulsets" */
  resource: string;
  /** Kind, e.g. "StatefulSet" (used by Invalid errors) */
  kind?: string;
}

export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly details?: StatusDetails,
    public readonly statusMeta: Status['metadata'] = {},
  ) {
    super(message);
  }

  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: this.statusMeta, status: 'Failure', message: this.message };
    if (this.reason) s.reason = this.reason;
    if (this.details) s.details = cleanDetails(this.details);
    s.code = this.code;
    return s;
  }
}

function cleanDetails(d: StatusDetails): StatusDetails {
  const out: StatusDetails = {};
  if (d.name) out.name = d.name;
  if (d.group) out.group = d.group;
  if (d.kind) out.kind = d.kind;
  if (d.uid) out.uid = d.uid;
  if (d.causes && d.causes.length) out.causes = d.causes;
  if (d.retryAfterSeconds) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

/** "statefulsets.apps" or "pods" */
export function qualifiedResource(r: ResourceRef): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

/** "StatefulSet.apps" or "Pod" */
export function qualifiedKind(r: ResourceRef): string {
  const kind = r.kind ?? r.resource;
  return r.group ? `${kind}.${r.group}` : kind;
}

export function isApiError(e: unknown, reason?: string): e is ApiError {
  return e instanceof ApiError && (reason === undefined || e.reason === reason);
}

export const errors = {
  notFound(r: ResourceRef, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, { name, group: r.group, kind: r.resource });
  },
  alreadyExists(r: ResourceRef, name: string, beingDeleted = false): ApiError {
    const msg = `${qualifiedResource(r)} "${name}" already exists`;
    return new ApiError(409, 'AlreadyExists', beingDeleted ? `object is being deleted: ${msg}` : msg, { name, group: r.group, kind: r.resource });
  },
  conflict(r: ResourceRef, name: string, why: string): ApiError {
    return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${why}`, {
      name,
      group: r.group,
      kind: r.resource,
    });
  },
  /** The optimistic-concurrency conflict on update. */
  modified(r: ResourceRef, name: string): ApiError {
    return errors.conflict(r, name, 'the object has been modified; please apply your changes to the latest version and try again');
  },
  invalid(r: ResourceRef, name: string, causes: FieldErrorLike[]): ApiError {
    const rendered = causes.map(renderFieldError);
    const agg = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
    return new ApiError(422, 'Invalid', `${qualifiedKind(r)} "${name}" is invalid: ${agg}`, {
      name,
      group: r.group,
      kind: r.kind ?? r.resource,
      causes: causes.map((c) => ({ reason: c.type, message: fieldErrorBody(c), field: c.field })),
    });
  },
  badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  },
  forbidden(r: ResourceRef, name: string | undefined, why: string): ApiError {
    const msg = name ? `${qualifiedResource(r)} "${name}" is forbidden: ${why}` : `${qualifiedResource(r)} is forbidden: ${why}`;
    return new ApiError(403, 'Forbidden', msg, { name, group: r.group, kind: r.resource });
  },
  unauthorized(): ApiError {
    return new ApiError(401, 'Unauthorized', 'Unauthorized');
  },
  methodNotSupported(r: ResourceRef, action: string): ApiError {
    return new ApiError(405, 'MethodNotAllowed', `${action} is not supported on resources of kind "${qualifiedResource(r)}"`, {
      group: r.group,
      kind: r.resource,
    });
  },
  gone(message: string): ApiError {
    return new ApiError(410, 'Expired', message);
  },
  requestEntityTooLarge(message: string): ApiError {
    return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`);
  },
  unsupportedMediaType(accepted: string[]): ApiError {
    return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
  },
  tooManyRequests(message: string, retryAfterSeconds?: number, causes?: StatusCause[]): ApiError {
    return new ApiError(429, 'TooManyRequests', message, { retryAfterSeconds, causes });
  },
  internal(err: unknown): ApiError {
    const m = err instanceof Error ? err.message : String(err);
    return new ApiError(500, 'InternalError', `Internal error occurred: ${m}`, { causes: [{ message: m }] });
  },
  serviceUnavailable(message: string): ApiError {
    return new ApiError(503, 'ServiceUnavailable', message);
  },
  timeout(message: string, retryAfterSeconds?: number): ApiError {
    return new ApiError(504, 'Timeout', `Timeout: ${message}`, { retryAfterSeconds });
  },
  notAcceptable(message: string): ApiError {
    return new ApiError(406, 'NotAcceptable', message);
  },
};

/* ---------- field errors (pkg/util/validation/field) ---------- */

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTooShort'
  | 'FieldValueTooFew'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

export interface FieldErrorLike {
  type: FieldErrorType;
  field: string;
  /** the offending value; rendered only for the types that show it */
  value?: unknown;
  hasValue?: boolean;
  detail?: string;
}

const TYPE_STRING: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTooShort: 'Too short',
  FieldValueTooFew: 'Too few',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

const SHOWS_VALUE = new Set<FieldErrorType>([
  'FieldValueInvalid',
  'FieldValueNotSupported',
  'FieldValueNotFound',
  'FieldValueDuplicate',
  'FieldValueTooMany',
  'FieldValueTooFew',
  'FieldValueTypeInvalid',
]);

/**
 * A bad value already spelled the way upstream prints it: Go's %#v of maps and structs
 * (e.g. `map[string]string{"app":"web"}`), which JSON cannot reproduce.
 */
export class GoValue {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

function renderValue(v: unknown): string {
  if (v instanceof GoValue) return v.text;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The part of a field error after "<field>: ". */
export function fieldErrorBody(e: FieldErrorLike): string {
  let s = TYPE_STRING[e.type];
  if (SHOWS_VALUE.has(e.type) && (e.hasValue ?? true) && !(e.type === 'FieldValueTooMany' && e.value === undefined)) {
    s += `: ${renderValue(e.value)}`;
  }
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

export function renderFieldError(e: FieldErrorLike): string {
  return e.field ? `${e.field}: ${fieldErrorBody(e)}` : fieldErrorBody(e);
}
