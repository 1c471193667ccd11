// Bounds per client: the requests one user has in flight (and so the request bodies the server
// holds for it) and the watches it holds open; past them, 429 TooManyRequests with Retry-After,
// as upstream's in-flight limit answers, while other users go on.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { tokenAuthenticator } from '../../src/apiserver/http.js';
import { startHttpsTestServer, TOKEN, type HttpsTestServer } from './http-support.js';
import { waitFor } from '../support/server.js';

describe('per-user bounds of the HTTP front end', () => {
  let srv: HttpsTestServer;
  let release!: () => void;
  const stuck = new Promise<void>((r) => (release = r));
  let entered = 0;
  before(async () => {
    srv = await startHttpsTestServer({
      authenticate: tokenAuthenticator(
        new Map([
          [TOKEN, { name: 'busy', groups: ['system:masters'] }],
          ['other', { name: 'other', groups: ['system:masters'] }],
        ]),
      ),
      maxRequestsInFlightPerUser: 2,
      maxWatchesPerUser: 1,
      wrap: (h) => async (req) => {
        if (req.path.startsWith('/api/v1/namespaces/stuck/')) {
          entered++;
          await stuck;
        }
        return h(req);
      },
    });
  });
  after(async () => {
    release();
    await srv.stop();
  });

  /** each on a connection of its own, so they are in flight together */
  const send = (path: string, token = TOKEN, method = 'GET', body?: string) =>
    new Promise<{ status: number; retryAfter?: string; json: any; req: import('node:http').ClientRequest }>((resolve, reject) => {
      const req = https.request(`${srv.http.url}${path}`, { method, ca: srv.ca, agent: false, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
        if (path.includes('watch=1') && res.statusCode === 200) return resolve({ status: 200, json: undefined, req });
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, json: text ? JSON.parse(text) : undefined, req }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('answers 429 beyond the requests one user has in flight, and serves other users meanwhile', async () => {
    const held = [send('/api/v1/namespaces/stuck/configmaps'), send('/api/v1/namespaces/stuck/configmaps', TOKEN, 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b'.repeat(100_000) } }))];
    await waitFor(() => entered === 2, 10_000, 'two requests in flight');
    const third = await send('/api/v1/namespaces/default/configmaps');
    assert.equal(third.status, 429);
    assert.equal(third.retryAfter, '1');
    assert.equal(third.json.kind, 'Status');
    assert.equal(third.json.reason, 'TooManyRequests');
    assert.equal(third.json.message, 'Too many requests, please try again later.');
    assert.deepEqual(third.json.details, { retryAfterSeconds: 1 });
    assert.equal((await send('/api/v1/namespaces/default/configmaps', 'other')).status, 200);
    release();
    const done = await Promise.all(held);
    assert.equal(done[0].status, 200);
    // the places are free again
    assert.equal((await send('/api/v1/namespaces/default/configmaps')).status, 200);
  });

  it('answers 429 beyond the watches one user holds open; a closed one frees its place', async () => {
    const first = await send('/api/v1/namespaces/default/configmaps?watch=1');
    assert.equal(first.status, 200);
    const second = await send('/api/v1/namespaces/default/configmaps?watch=1');
    assert.equal(second.status, 429);
    assert.equal(second.json.reason, 'TooManyRequests');
    // ordinary requests are counted apart
    assert.equal((await send('/api/v1/namespaces/default/configmaps')).status, 200);
    first.req.destroy();
    const again = await waitFor(async () => {
      const r = await send('/api/v1/namespaces/default/configmaps?watch=1');
      if (r.status === 200) return r;
      return undefined;
    }, 10_000, 'a watch place freed');
    again.req.destroy();
  });
});
