// Calls the API server's handler directly. Neither side can change what the other holds (the
// isolation HTTP gives): request and response bodies are copied, and watch events, which the
// server hands to every watcher of them at once, are shared deep-frozen instead of copied per
// watcher (a watcher that writes to one gets a TypeError).
import { ApiError } from '../api/errors.js';
import { unsharedBodies, unsharedResponses, type ApiHandler, type ApiRequest, type ApiResponse, type ApiStream, type UserInfo, type WatchEvent } from '../api/request.js';
import { clone, deepFreeze } from '../api/object.js';
import type { Transport } from './transport.js';

export class InProcessTransport implements Transport {
  constructor(
    private readonly handler: ApiHandler,
    private readonly user?: UserInfo,
  ) {}

  async request(req: ApiRequest): Promise<ApiResponse> {
    const body = copyBody(req.body);
    const inbound: ApiRequest = {
      method: req.method,
      path: req.path,
      query: new URLSearchParams(req.query),
      headers: { ...req.headers },
      user: req.user ?? this.user,
    };
    if (body !== undefined) {
      // the copy is this request's alone: the server may take it over
      if (typeof body === 'object' && body !== null && !Buffer.isBuffer(body)) unsharedBodies.add(body);
      inbound.body = body;
      // The size is not measured (a JSON encoding just for that cost as much as the copy): the
      // callers here are the control plane's own parts, the request limit guards the server's
      // HTTP reads (which count the bytes they read), and the store still refuses any object
      // too big to keep (413) whichever way it came.
      if (req.bodyBytes !== undefined) inbound.bodyBytes = req.bodyBytes;
    }
    let res: ApiResponse;
    try {
      res = await this.handler(inbound);
    } catch (e) {
      // A handler that throws its Status instead of returning it still answers like a server.
      if (e instanceof ApiError) return { status: e.code, body: e.toStatus() };
      throw e;
    }
    const out: ApiResponse = { status: res.status };
    if (res.headers) out.headers = { ...res.headers };
    if (res.warnings) out.warnings = [...res.warnings];
    // a body the server built for this response alone needs no copy
    if (res.body !== undefined) out.body = typeof res.body === 'object' && res.body !== null && unsharedResponses.has(res.body) ? res.body : copyBody(res.body);
    if (res.stream) out.stream = freezingStream(res.stream);
    return out;
  }
}

/** A copy of a body that shares nothing with it (clone gives what a JSON round trip gives). */
function copyBody(body: unknown): unknown {
  if (body === undefined || typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return Buffer.from(body);
  return clone(body);
}

/**
 * The server hands the same object to every watcher of an event: in-process watchers share it,
 * frozen once (the first watcher's delivery freezes it; the rest find it frozen), so none can
 * change what another watcher, or the server, holds.
 */
function freezingStream(stream: ApiStream): ApiStream {
  return {
    start(send, end) {
      stream.start((chunk) => send(isEvent(chunk) ? { type: chunk.type, object: deepFreeze(chunk.object) } : chunk), end);
    },
    stop() {
      stream.stop();
    },
  };
}

function isEvent(chunk: WatchEvent | string | Buffer): chunk is WatchEvent {
  return typeof chunk === 'object' && !Buffer.isBuffer(chunk);
}
