// Server-side apply and managedFields through the real handler and write pipeline (in-process
// server over in-memory SQLite): PatchOptions checks, strict decoding, create-on-apply, dry
// run, Update entries from fieldManager or User-Agent, resets, status writes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiRequest, ApiResponse } from '../../src/api/request.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CM = '/api/v1/namespaces/default/configmaps';
const STS = '/apis/apps/v1/namespaces/default/statefulsets';

function req(method: ApiRequest['method'], path: string, query: Record<string, string>, body?: unknown, headers: Record<string, string> = {}): ApiRequest {
  return { method, path, query: new URLSearchParams(query), headers: { 'content-type': 'application/json', ...headers }, body };
}
const applyReq = (path: string, body: unknown, query: Record<string, string> = {}) =>
  req('PATCH', path, { fieldManager: 'tester', ...query }, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/apply-patch+yaml' });

const sts = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: 'default' },
  spec: {
    serviceName: name,
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
});

describe('server-side apply through the API server', () => {
  let srv: TestServer;
  let call: (r: ApiRequest) => Promise<ApiResponse & { body: any }>;
  before(async () => {
    srv = await startTestServer();
    call = (r) => srv.api.handle(r) as Promise<ApiResponse & { body: any }>;
  });
  after(() => srv.stop());

  it('refuses an apply without fieldManager, and force on other patches, with PatchOptions errors', async () => {
    const r = await call(req('PATCH', `${CM}/x`, {}, '{}', { 'content-type': 'application/apply-patch+yaml' }));
    assert.equal(r.status, 422);
    assert.equal(r.body.message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    assert.deepEqual(r.body.details.causes, [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }]);
    const f = await call(req('PATCH', `${CM}/x`, { force: 'true' }, '{}', { 'content-type': 'application/merge-patch+json' }));
    assert.equal(f.status, 422);
    assert.equal(f.body.message, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  });

  it('checks fieldManager on every write; the server\'s own objects name kube-apiserver', async () => {
    const long = 'm'.repeat(129);
    const r = await call(req('POST', CM, { fieldManager: long }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'long' } }));
    assert.equal(r.status, 422);
    assert.match(r.body.message, /^CreateOptions\.meta\.k8s\.io "" is invalid: fieldManager: Too long: may not be (more than|longer than) 128/);
    const ns = await call(req('GET', '/api/v1/namespaces/default', {}));
    assert.deepEqual(ns.body.metadata.managedFields.map((e: any) => [e.manager, e.operation]), [['kube-apiserver', 'Update']]);
  });

  it('creates via apply (201), from YAML, with an Apply entry; dryRun stores nothing', async () => {
    const yamlBody = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y1\ndata:\n  a: "1"\n';
    const dry = await call(applyReq(`${CM}/y1`, yamlBody, { dryRun: 'All' }));
    assert.equal(dry.status, 201);
    assert.equal(dry.body.metadata.managedFields[0].manager, 'tester');
    assert.equal((await call(req('GET', `${CM}/y1`, {}))).status, 404);
    const r = await call(applyReq(`${CM}/y1`, yamlBody));
    assert.equal(r.status, 201);
    assert.deepEqual(
      r.body.metadata.managedFields.map((e: any) => [e.manager, e.operation, e.apiVersion, e.fieldsType]),
      [['tester', 'Apply', 'v1', 'FieldsV1']],
    );
    assert.deepEqual(r.body.metadata.managedFields[0].fieldsV1, { 'f:data': { 'f:a': {} } });
    const again = await call(applyReq(`${CM}/y1`, yamlBody));
    assert.equal(again.status, 200);
    assert.equal(again.body.metadata.resourceVersion, r.body.metadata.resourceVersion, 'a no-op apply writes nothing');
  });

  it('fieldValidation=Strict refuses unknown and duplicate fields with upstream texts; Warn warns', async () => {
    const unknown = await call(applyReq(`${CM}/s1`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 's1', namespace: 'default' }, bogus: 1 }, { fieldValidation: 'Strict' }));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.message, 'failed to create typed patch object (default/s1; /v1, Kind=ConfigMap): .bogus: field not declared in schema');
    const dupText = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s1"},"data":{"a":"1","a":"2"}}';
    const dup = await call(applyReq(`${CM}/s1`, dupText, { fieldValidation: 'Strict' }));
    assert.equal(dup.status, 400);
    assert.equal(dup.body.message, 'error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 1: key "a" already set in map');
    const warned = await call(applyReq(`${CM}/s1`, dupText, { fieldValidation: 'Warn' }));
    assert.equal(warned.status, 201);
    assert.deepEqual(warned.warnings, ['line 1: key "a" already set in map']);
    assert.deepEqual(warned.body.data, { a: '2' });
    const version = await call(applyReq(`${CM}/s1`, { apiVersion: 'v2', kind: 'ConfigMap', metadata: { name: 's1' } }));
    assert.equal(version.status, 400);
    assert.equal(version.body.message, 'Incorrect version specified in apply patch. Specified patch version: v2, expected: v1');
  });

  it('records Update entries for create, update and patch, named by fieldManager or the User-Agent', async () => {
    const created = await call(
      req('POST', CM, {}, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u1' }, data: { a: '1' } }, { 'user-agent': 'kubectl/v1.33.0 (linux/amd64) kubernetes/abc' }),
    );
    assert.equal(created.status, 201);
    const e = created.body.metadata.managedFields;
    assert.deepEqual(e.map((x: any) => [x.manager, x.operation, x.apiVersion]), [['kubectl', 'Update', 'v1']]);
    assert.deepEqual(e[0].fieldsV1, { 'f:data': { '.': {}, 'f:a': {} } });
    const patched = await call(req('PATCH', `${CM}/u1`, { fieldManager: 'kubectl-edit' }, '{"data":{"b":"2"}}', { 'content-type': 'application/merge-patch+json' }));
    assert.deepEqual(
      patched.body.metadata.managedFields.map((x: any) => [x.manager, x.fieldsV1]),
      [
        ['kubectl', { 'f:data': { '.': {}, 'f:a': {} } }],
        ['kubectl-edit', { 'f:data': { 'f:b': {} } }],
      ],
    );
    // apply conflicts with the updater, force takes the field over
    const cfg = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'u1' }, data: { b: '3' } };
    const conflict = await call(applyReq(`${CM}/u1`, cfg));
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.reason, 'Conflict');
    assert.equal(conflict.body.message, 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.b');
    assert.deepEqual(conflict.body.details, { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using v1', field: '.data.b' }] });
    const forced = await call(applyReq(`${CM}/u1`, cfg, { force: 'true' }));
    assert.equal(forced.status, 200);
    assert.equal(forced.body.data.b, '3');
    assert.deepEqual(forced.body.metadata.managedFields.map((x: any) => x.manager), ['tester', 'kubectl']);
    // managedFields: [] resets them
    const reset = await call(req('PATCH', `${CM}/u1`, {}, '{"metadata":{"managedFields":[]}}', { 'content-type': 'application/merge-patch+json' }));
    assert.equal(reset.body.metadata.managedFields, undefined);
  });

  it('status writes are Update entries of the status subresource; apply re-applied without a field removes it', async () => {
    const created = await call(applyReq(`${STS}/w1`, sts('w1', 2)));
    assert.equal(created.status, 201);
    const cur = created.body;
    const st = await call(req('PUT', `${STS}/w1/status`, {}, { ...cur, status: { ...cur.status, observedGeneration: 1 } }, { 'user-agent': 'kube-controller-manager/v1.32.0' }));
    assert.equal(st.status, 200);
    const entry = st.body.metadata.managedFields.find((x: any) => x.manager === 'kube-controller-manager');
    assert.equal(entry.subresource, 'status');
    assert.equal(entry.operation, 'Update');
    assert.ok(entry.fieldsV1['f:status']);
    const withLabel = sts('w1', 2) as any;
    withLabel.metadata.labels = { team: 'a', keep: 'x' };
    await call(applyReq(`${STS}/w1`, withLabel));
    withLabel.metadata.labels = { keep: 'x' };
    const dropped = await call(applyReq(`${STS}/w1`, withLabel));
    assert.deepEqual(dropped.body.metadata.labels, { keep: 'x' });
    // scale is recorded as its own subresource
    const scaled = await call(req('PATCH', `${STS}/w1/scale`, {}, '{"spec":{"replicas":4}}', { 'content-type': 'application/merge-patch+json', 'user-agent': 'kubectl/v1.30' }));
    assert.equal(scaled.status, 200);
    const got = await call(req('GET', `${STS}/w1`, {}));
    const scaleEntry = got.body.metadata.managedFields.find((x: any) => x.subresource === 'scale');
    assert.deepEqual([scaleEntry.manager, scaleEntry.fieldsV1], ['kubectl', { 'f:spec': { 'f:replicas': {} } }]);
    const c = await call(applyReq(`${STS}/w1`, sts('w1', 3)));
    assert.equal(c.status, 409);
    assert.equal(c.body.message, 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');
  });

  it('applies to the status subresource as its own manager; a resourceVersion in the configuration is a precondition', async () => {
    const created = await call(applyReq(`${STS}/w2`, sts('w2', 1)));
    const statusCfg = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'w2' }, spec: { replicas: 9 }, status: { observedGeneration: 1, replicas: 0, availableReplicas: 0 } };
    const st = await call(req('PATCH', `${STS}/w2/status`, { fieldManager: 'status-applier' }, JSON.stringify(statusCfg), { 'content-type': 'application/apply-patch+yaml' }));
    assert.equal(st.status, 200);
    assert.equal(st.body.status.observedGeneration, 1);
    assert.equal(st.body.spec.replicas, 1, 'spec is not the status endpoint\'s to change');
    const e = st.body.metadata.managedFields.find((x: any) => x.manager === 'status-applier');
    assert.deepEqual([e.operation, e.subresource], ['Apply', 'status']);
    assert.equal(e.fieldsV1['f:spec'], undefined);
    const stale = { ...sts('w2', 2), metadata: { name: 'w2', resourceVersion: created.body.metadata.resourceVersion } };
    const r = await call(applyReq(`${STS}/w2`, stale));
    assert.equal(r.status, 409);
    assert.match(r.body.message, /the object has been modified/);
  });

  // ported from upstream's test/integration/apiserver/apply (TestApplyManagedFields and friends)
  describe('upstream apply integration cases', () => {
    const cmCfg = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'test-cm', namespace: 'default', labels: { 'test-label': 'test' } },
      data: { key: 'value' },
    };
    const merge = (path: string, body: string, query: Record<string, string> = {}) =>
      call(req('PATCH', path, query, body, { 'content-type': 'application/merge-patch+json' }));

    it('TestApplyManagedFields: the updater takes the key it changed, entries merge per manager', async () => {
      assert.equal((await call(req('PATCH', `${CM}/test-cm`, { fieldManager: 'apply_test' }, JSON.stringify(cmCfg), { 'content-type': 'application/apply-patch+yaml' }))).status, 201);
      await merge(`${CM}/test-cm`, '{"data":{"new-key": "value"}}', { fieldManager: 'updater' });
      const last = await merge(`${CM}/test-cm`, '{"data":{"key": "new value"}}', { fieldManager: 'updater' });
      assert.deepEqual(last.body.data, { key: 'new value', 'new-key': 'value' });
      assert.deepEqual(
        last.body.metadata.managedFields.map(({ time: _t, ...e }: any) => e),
        [
          { manager: 'apply_test', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:test-label': {} } } } },
          { manager: 'updater', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:key': {}, 'f:new-key': {} } } },
        ],
      );
      assert.deepEqual(Object.keys(last.body.metadata.managedFields[0]), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
    });

    it('TestClearManagedFieldsWithMergePatch / StrategicMergePatch: [{}] clears them', async () => {
      for (const [i, type] of ['application/merge-patch+json', 'application/strategic-merge-patch+json'].entries()) {
        const name = `clear-${i}`;
        const cfg = { ...cmCfg, metadata: { ...cmCfg.metadata, name } };
        await call(req('PATCH', `${CM}/${name}`, { fieldManager: 'apply_test' }, JSON.stringify(cfg), { 'content-type': 'application/apply-patch+yaml' }));
        const r = await call(req('PATCH', `${CM}/${name}`, {}, '{"metadata":{"managedFields": [{}]}}', { 'content-type': type }));
        assert.equal(r.status, 200);
        assert.equal((await call(req('GET', `${CM}/${name}`, {}))).body.metadata.managedFields, undefined);
      }
    });

    it('TestApplyRemovesEmptyManagedFields: an apply that sets nothing leaves no entry', async () => {
      const empty = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'empty-cm', namespace: 'default' } };
      for (let i = 0; i < 2; i++) assert.ok((await call(applyReq(`${CM}/empty-cm`, empty))).status < 300);
      assert.equal((await call(req('GET', `${CM}/empty-cm`, {}))).body.metadata.managedFields, undefined);
    });

    it('TestApplyRemoveContainerPort: a port no longer applied is removed', async () => {
      const withPorts = sts('ports', 3) as any;
      withPorts.spec.template.spec.containers[0].ports = [{ containerPort: 80, protocol: 'TCP' }];
      await call(applyReq(`${STS}/ports`, withPorts));
      const r = await call(applyReq(`${STS}/ports`, sts('ports', 3)));
      assert.equal(r.status, 200);
      assert.equal(r.body.spec.template.spec.containers[0].ports, undefined);
    });
  });
});
