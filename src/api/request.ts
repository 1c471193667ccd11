// The shape of one API request and its answer, independent of HTTP. The API server's
// handler takes these; the HTTP front end and the in-process client transport both
// translate to and from them, so in-process callers get the same semantics as kubectl.
import type { KubeObject } from './object.js';
import type { Status } from './errors.js';

export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  /** extra attributes (a ServiceAccount token's pod name and uid, the credential's id) */
  extra?: Record<string, string[]>;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  /** URL path, e.g. /apis/apps/v1/namespaces/default/statefulsets/web */
  path: string;
  query: URLSearchParams;
  /** lower-case header names */
  headers: Record<string, string | undefined>;
  /** the parsed body (JSON or YAML), if any */
  body?: unknown;
  /** the body's byte length, for the size limit */
  bodyBytes?: number;
  /** why the body could not be parsed; raised once the path is known to exist */
  bodyError?: unknown;
  user?: UserInfo;
  /** the request's audit annotations (upstream's audit.AddAuditAnnotation), filled by admission */
  auditAnnotations?: Record<string, string>;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  object: T | Status;
}

/** A long-running response: watch streams, logs, proxies. */
export interface ApiStream {
  /** Starts delivery. `send` gets each chunk (an event for watches, text for logs); `end` closes. */
  start(send: (chunk: WatchEvent | string | Buffer) => void, end: () => void): void;
  /** The client went away. */
  stop(): void;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  /** a JSON-able body (object, list, Table, Status) or raw bytes/text */
  body?: unknown;
  stream?: ApiStream;
  /** warnings for Warning: headers */
  warnings?: string[];
}

export type ApiHandler = (req: ApiRequest) => Promise<ApiResponse>;

/**
 * Request bodies no one else holds a reference to (the HTTP front end parsed them, or the
 * in-process transport copied them, for this one request): create and update take them
 * over instead of working on a copy.
 */
export const unsharedBodies = new WeakSet<object>();

/**
 * Response bodies the server built for this one response and keeps no reference to (a list
 * decoded from the store): an in-process caller takes them over without a copy. Apart from
 * unsharedBodies, as a request body taken over may be stored and answered with.
 */
export const unsharedResponses = new WeakSet<object>();

export const CONTENT = {
  json: 'application/json',
  yaml: 'application/yaml',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  strategicPatch: 'application/strategic-merge-patch+json',
  applyPatch: 'application/apply-patch+yaml',
  protobuf: 'application/vnd.kubernetes.protobuf',
} as const;
