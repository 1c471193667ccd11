// Calls the API server's handler directly. Everything crossing the boundary is copied,
// so neither side can mutate what the other holds (the same isolation HTTP gives).
import { ApiError } from '../api/errors.js';
import { unsharedBodies, unsharedResponses, type ApiHandler, type ApiRequest, type ApiResponse, type ApiStream, type UserInfo, type WatchEvent } from '../api/request.js';
import { clone } from '../api/object.js';
import type { Transport } from './transport.js';

export class InProcessTransport implements Transport {
  constructor(
    private readonly handler: ApiHandler,
    private readonly user?: UserInfo,
  ) {}

  async request(req: ApiRequest): Promise<ApiResponse> {
    const { body, bytes } = copyBody(req.body, req.bodyBytes === undefined);
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
      inbound.bodyBytes = req.bodyBytes ?? bytes;
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
    if (res.body !== undefined) out.body = typeof res.body === 'object' && res.body !== null && unsharedResponses.has(res.body) ? res.body : copyBody(res.body, false).body;
    if (res.stream) out.stream = copyingStream(res.stream);
    return out;
  }
}

/**
 * A copy of a body that shares nothing with it (clone gives what a JSON round trip gives) and,
 * when asked, the size of its JSON encoding, which the server checks against its body limit.
 */
function copyBody(body: unknown, measure: boolean): { body: unknown; bytes: number } {
  if (body === undefined) return { body, bytes: 0 };
  if (Buffer.isBuffer(body)) return { body: Buffer.from(body), bytes: body.length };
  if (typeof body === 'string') return { body, bytes: measure ? Buffer.byteLength(body) : 0 };
  return { body: clone(body), bytes: measure ? Buffer.byteLength(JSON.stringify(body)) : 0 };
}

/**
 * The server hands the same object to every watcher of an event; each in-process watcher gets
 * its own copy.
 */
function copyingStream(stream: ApiStream): ApiStream {
  return {
    start(send, end) {
      stream.start((chunk) => send(isEvent(chunk) ? { type: chunk.type, object: clone(chunk.object) } : chunk), end);
    },
    stop() {
      stream.stop();
    },
  };
}

function isEvent(chunk: WatchEvent | string | Buffer): chunk is WatchEvent {
  return typeof chunk === 'object' && !Buffer.isBuffer(chunk);
}
