// /metrics over real HTTPS: upstream's metric names and labels in Prometheus' text format.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { ApiMetrics, requestLabels } from '../../src/apiserver/metrics.js';
import { waitFor } from '../support/server.js';
import { startHttpsTestServer, type HttpsTestServer } from './http-support.js';

/** The value of one sample line, by metric name and the labels it must carry. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

describe('/metrics', () => {
  let srv: HttpsTestServer;
  before(async () => {
    srv = await startHttpsTestServer({ metrics: new ApiMetrics() });
  });
  after(async () => {
    await srv.stop();
  });

  it('names verbs, scopes and resources as upstream\'s request info does', () => {
    const q = new URLSearchParams();
    const l = (method: string, path: string, query = q, headers: Record<string, string> = {}) => requestLabels({ method: method as any, path, query, headers });
    assert.deepEqual(
      { ...l('GET', '/api/v1/namespaces/default/pods') },
      { verb: 'LIST', group: '', version: 'v1', resource: 'pods', subresource: '', scope: 'namespace', isResource: true },
    );
    assert.equal(l('GET', '/apis/apps/v1/statefulsets', new URLSearchParams('watch=true')).verb, 'WATCH');
    assert.equal(l('GET', '/api/v1/watch/namespaces/default/pods').verb, 'WATCH');
    assert.equal(l('GET', '/api/v1/nodes/n1').scope, 'resource');
    assert.equal(l('PATCH', '/apis/apps/v1/namespaces/x/statefulsets/web', q, { 'content-type': 'application/apply-patch+yaml' }).verb, 'APPLY');
    assert.equal(l('DELETE', '/api/v1/namespaces/x/pods').verb, 'DELETECOLLECTION');
    assert.equal(l('POST', '/api/v1/namespaces/x/pods/p/exec').verb, 'CONNECT');
    assert.equal(l('PUT', '/apis/apps/v1/namespaces/x/statefulsets/web/status').subresource, 'status');
  });

  it('counts requests by verb and code, times them, and reports watchers and store latency', async () => {
    const created = await srv.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm1' } });
    assert.equal(created.status, 201);
    assert.equal((await srv.request('GET', '/api/v1/namespaces/default/configmaps/nope')).status, 404);
    assert.equal((await srv.request('GET', '/api/v1/namespaces/default/configmaps')).status, 200);
    // an open watch
    const watchReq = https.request(`${srv.http.url}/api/v1/namespaces?watch=true`, { ca: srv.ca, headers: { authorization: 'Bearer test-token' } });
    const watching = new Promise<import('node:http').IncomingMessage>((resolve) => watchReq.on('response', resolve));
    watchReq.end();
    const watchRes = await watching;
    watchRes.resume();

    const text = await waitFor(async () => {
      const r = await srv.request('GET', '/metrics');
      return sample(r.text, 'apiserver_registered_watchers', { kind: 'Namespace', version: 'v1' }) === 1 ? r : undefined;
    }, 10_000, 'the watcher to be counted');
    assert.equal(text.status, 200);
    assert.match(String(text.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const t = text.text;
    assert.equal(sample(t, 'apiserver_request_total', { verb: 'POST', resource: 'configmaps', code: '201', version: 'v1', group: '', scope: 'namespace', component: 'apiserver' }), 1);
    assert.equal(sample(t, 'apiserver_request_total', { verb: 'GET', resource: 'configmaps', code: '404', scope: 'resource' }), 1);
    assert.equal(sample(t, 'apiserver_request_total', { verb: 'LIST', resource: 'configmaps', code: '200' }), 1);
    assert.equal(sample(t, 'apiserver_request_total', { verb: 'WATCH', resource: 'namespaces', code: '200' }), 1);
    assert.equal(sample(t, 'apiserver_request_duration_seconds_count', { verb: 'POST', resource: 'configmaps' }), 1);
    assert.equal(sample(t, 'apiserver_request_duration_seconds_bucket', { verb: 'POST', resource: 'configmaps', le: '+Inf' }), 1);
    assert.equal(sample(t, 'apiserver_longrunning_requests', { verb: 'WATCH', resource: 'namespaces' }), 1);
    assert.ok((sample(t, 'apiserver_watch_events_total', { kind: 'Namespace' }) ?? 0) >= 1);
    assert.ok((sample(t, 'etcd_request_duration_seconds_count', { operation: 'create', type: 'configmaps' }) ?? 0) >= 1);
    assert.ok((sample(t, 'etcd_requests_total', { operation: 'get', type: 'configmaps' }) ?? 0) >= 1);

    watchReq.destroy();
    await waitFor(async () => sample((await srv.request('GET', '/metrics')).text, 'apiserver_registered_watchers', { kind: 'Namespace' }) === 0, 10_000, 'the watcher to leave');
  });

  it('is refused without credentials', async () => {
    const r = await srv.request('GET', '/metrics', undefined, { authorization: '' });
    assert.equal(r.status, 401);
  });
});
