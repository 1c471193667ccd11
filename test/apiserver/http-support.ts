// An API server over real HTTPS in this process (in-memory SQLite, the real registry,
// admission and bootstrap), for tests of the HTTP front end.
import https from 'node:https';
import tls from 'node:tls';
import type { ApiHandler } from '../../src/api/request.js';
import { ApiServer } from '../../src/apiserver/handler.js';
import { startHttpServer, tokenAuthenticator, type HttpServerOptions, type RunningHttpServer } from '../../src/apiserver/http.js';
import { type SqliteStore } from '../../src/store/sqlite.js';
import { createCA, createServingCert } from '../../src/cli/pki.js';
import { instrumentHandler, instrumentStore, type ApiMetrics } from '../../src/apiserver/metrics.js';
import { newTestApi } from '../support/server.js';
import type { Store } from '../../src/store/store.js';

export const TOKEN = 'test-token';

export interface HttpsTestServer {
  api: ApiServer;
  http: RunningHttpServer;
  store: SqliteStore;
  ca: string;
  agent: https.Agent;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; text: string; json: any }>;
  stop(): Promise<void>;
}

let pki: { ca: string; cert: string; key: string } | undefined;
function testPki() {
  if (!pki) {
    const ca = createCA('petset-test-ca');
    const serving = createServingCert(ca, { commonName: 'petset', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    pki = { ca: ca.certPem, cert: serving.certPem, key: serving.keyPem };
  }
  return pki;
}

/** `wrap` puts something around the real handler (a stuck store, metrics). */
export async function startHttpsTestServer(
  opts: Partial<HttpServerOptions> & { wrap?: (h: ApiHandler) => ApiHandler; metrics?: ApiMetrics } = {},
): Promise<HttpsTestServer> {
  const { wrap: wrapOpt, metrics, ...httpOpts } = opts;
  const { ca, cert, key } = testPki();
  const { api, store: rawStore } = await newTestApi({ wrapStore: metrics ? (st: Store) => instrumentStore(st, metrics) : undefined });
  const wrap = metrics ? (h: ApiHandler) => instrumentHandler(h, metrics, api.registry) : wrapOpt;
  const admin = { name: 'admin', groups: ['system:masters'] };
  const http = await startHttpServer({
    handler: wrap ? wrap(api.handle) : api.handle,
    tls: { cert, key, ca },
    authenticate: tokenAuthenticator(new Map([[TOKEN, admin]])),
    host: '127.0.0.1',
    port: 0,
    ...httpOpts,
  });
  const agent = new https.Agent({ ca, keepAlive: true, maxSockets: 1 });
  const request: HttpsTestServer['request'] = (method, path, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      const req = https.request(
        `${http.url}${path}`,
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${TOKEN}`,
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: any;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode!, headers: res.headers, text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return {
    api,
    http,
    store: rawStore,
    ca,
    agent,
    request,
    async stop() {
      agent.destroy();
      await http.close();
      await rawStore.close();
    },
  };
}

/** A raw TLS connection to the server (for pipelining, slow clients, raw protocol checks). */
export function tlsConnect(srv: HttpsTestServer): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: srv.http.port, ca: srv.ca, servername: 'localhost' }, () => resolve(s));
    s.once('error', reject);
  });
}
