// How a Client reaches an API server: either the server's handler in the same process or
// HTTPS. Both speak the request model of src/api/request.ts, so everything above the
// transport behaves the same whichever one is used.
import type { ApiRequest, ApiResponse } from '../api/request.js';

export interface Transport {
  /**
   * Sends one request. Non-2xx answers are returned, not thrown; only failures to reach
   * the server at all reject. Watch answers carry `stream`.
   */
  request(req: ApiRequest): Promise<ApiResponse>;
  /** Releases sockets and the like. */
  close?(): void;
}

export function isWatchRequest(req: ApiRequest): boolean {
  const w = req.query.get('watch');
  return w === 'true' || w === '1';
}
