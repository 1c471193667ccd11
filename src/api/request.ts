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

export const CONTENT = {
  json: 'application/json',
  yaml: 'application/yaml',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  strategicPatch: 'application/strategic-merge-patch+json',
  applyPatch: 'application/apply-patch+yaml',
  protobuf: 'application/vnd.kubernetes.protobuf',
} as const;
