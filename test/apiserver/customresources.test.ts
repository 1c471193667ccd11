// The API server's side of CustomResourceDefinitions, in process: a definition's validation
// errors, its conditions and name conflicts, the kinds it serves in discovery and OpenAPI,
// media types (custom resources are JSON only), creates refused while it terminates, and the
// objects removed with it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiRequest } from '../../src/api/request.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
  await server.api.customResources.start();
});
after(async () => {
  server.api.customResources.stop();
  await server.stop();
});

async function call(method: ApiRequest['method'], path: string, body?: unknown, headers: Record<string, string> = {}) {
  const [p, q] = path.split('?');
  const res = await server.api.handle({
    method,
    path: p,
    query: new URLSearchParams(q ?? ''),
    headers: { 'content-type': 'application/json', ...headers },
    body,
    user: { name: 'admin', groups: ['system:masters'] },
  });
  return { status: res.status, body: res.body as any };
}

function crd(plural: string, kind: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.things.example.com` },
    spec: {
      group: 'things.example.com',
      scope: 'Namespaced',
      names: { plural, kind, ...extra },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer', default: 1 } } } } } },
        },
      ],
    },
  };
}

const established = async (name: string) =>
  waitFor(async () => {
    const r = await call('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    return r.body.status?.conditions?.find((c: any) => c.type === 'Established')?.status === 'True' && r.body;
  }, 10_000, `${name} established`);

describe('CustomResourceDefinitions in the API server', () => {
  it('refuses invalid definitions with field paths', async () => {
    const bad = crd('gadgets', 'Gadget');
    bad.metadata.name = 'wrong.things.example.com';
    (bad.spec.versions[0] as any).storage = false;
    (bad.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties as any).list = { type: 'array' };
    const r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', bad);
    assert.equal(r.status, 422);
    assert.deepEqual(r.body.details.causes.map((c: any) => c.field).sort(), [
      'metadata.name',
      'spec.versions',
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items',
    ]);
    assert.match(r.body.message, /^CustomResourceDefinition.apiextensions.k8s.io "wrong.things.example.com" is invalid: /);
  });

  it('establishes a definition, serves its kind in discovery and OpenAPI, and applies defaults', async () => {
    assert.equal((await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd('gizmos', 'Gizmo', { shortNames: ['gz'] }))).status, 201);
    const got = await established('gizmos.things.example.com');
    assert.deepEqual(got.status.acceptedNames, { plural: 'gizmos', kind: 'Gizmo', singular: 'gizmo', listKind: 'GizmoList', shortNames: ['gz'] });
    const list = await call('GET', '/apis/things.example.com/v1');
    assert.deepEqual(list.body.resources.map((r: any) => [r.name, r.kind, r.shortNames]), [['gizmos', 'Gizmo', ['gz']]]);
    const index = await call('GET', '/openapi/v3');
    assert.ok(index.body.paths['apis/things.example.com/v1']);
    const doc = await call('GET', '/openapi/v3/apis/things.example.com/v1');
    const v3 = typeof doc.body === 'string' ? JSON.parse(doc.body) : doc.body;
    const get = v3.paths['/apis/things.example.com/v1/namespaces/{namespace}/gizmos/{name}'].get;
    assert.deepEqual(Object.keys(get.responses['200'].content), ['application/json', 'application/yaml']);
    assert.equal(v3.components.schemas['com.example.things.v1.Gizmo'].properties.spec.properties.size.default, 1);
    const created = await call('POST', '/apis/things.example.com/v1/namespaces/default/gizmos', { apiVersion: 'things.example.com/v1', kind: 'Gizmo', metadata: { name: 'g1' }, spec: {} });
    assert.equal(created.status, 201);
    assert.equal(created.body.spec.size, 1);
    const all = await call('GET', '/apis/things.example.com/v1/gizmos');
    assert.equal(all.body.kind, 'GizmoList');
    assert.equal(all.body.items.length, 1);
  });

  it('offers selectable fields, counts generations of non-spec changes, and warns on every request to a deprecated version', async () => {
    const def = crd('sprockets', 'Sprocket') as any;
    def.spec.versions[0].schema.openAPIV3Schema.properties.color = { type: 'string' };
    def.spec.versions[0].selectableFields = [{ jsonPath: '.color' }];
    def.spec.versions.push({ name: 'v1beta1', served: true, storage: false, deprecated: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } });
    assert.equal((await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', def)).status, 201);
    await established('sprockets.things.example.com');
    for (const [name, color] of [['red-one', 'red'], ['blue-one', 'blue']]) {
      assert.equal((await call('POST', '/apis/things.example.com/v1/namespaces/default/sprockets', { metadata: { name }, color })).status, 201);
    }
    const red = await call('GET', '/apis/things.example.com/v1/namespaces/default/sprockets?fieldSelector=color%3Dred');
    assert.deepEqual(red.body.items.map((o: any) => o.metadata.name), ['red-one']);
    const unknown = await call('GET', '/apis/things.example.com/v1/namespaces/default/sprockets?fieldSelector=shape%3Dround');
    assert.equal(unknown.status, 400);

    const changed = await call('PATCH', '/apis/things.example.com/v1/namespaces/default/sprockets/red-one', { color: 'green' }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(changed.body.metadata.generation, 2);
    const labelled = await call('PATCH', '/apis/things.example.com/v1/namespaces/default/sprockets/red-one', { metadata: { labels: { a: 'b' } } }, { 'content-type': 'application/merge-patch+json' });
    assert.equal(labelled.body.metadata.generation, 2);

    const res = await server.api.handle({
      method: 'GET',
      path: '/apis/things.example.com/v1beta1/namespaces/default/sprockets/red-one',
      query: new URLSearchParams(),
      headers: {},
      user: { name: 'admin', groups: ['system:masters'] },
    });
    assert.equal((res.body as any).apiVersion, 'things.example.com/v1beta1');
    assert.deepEqual(res.warnings, ['things.example.com/v1beta1 Sprocket is deprecated; use things.example.com/v1 Sprocket']);
    // a default added to the schema later shows on reads of objects written before
    const current = (await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sprockets.things.example.com')).body;
    current.spec.versions[0].schema.openAPIV3Schema.properties.shape = { type: 'string', default: 'round' };
    assert.equal((await call('PUT', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sprockets.things.example.com', current)).status, 200);
    await waitFor(async () => (await call('GET', '/apis/things.example.com/v1/namespaces/default/sprockets/blue-one')).body.shape === 'round', 10_000, 'the new default on read');
    // dropping a version objects may be stored in is refused
    current.spec.versions = current.spec.versions.filter((v: any) => v.name === 'v1beta1').map((v: any) => ({ ...v, storage: true }));
    delete current.metadata.resourceVersion;
    const dropped = await call('PUT', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sprockets.things.example.com', current);
    assert.equal(dropped.status, 422);
    assert.deepEqual(dropped.body.details.causes.map((c: any) => c.message), ['Invalid value: "v1": must appear in spec.versions']);
    await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sprockets.things.example.com');
  });

  it('does not accept names another definition of the group holds', async () => {
    await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd('doohickeys', 'Gizmo', { singular: 'doohickey' }));
    const got = await waitFor(async () => {
      const r = await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/doohickeys.things.example.com');
      return r.body.status?.conditions?.length && r.body;
    });
    assert.deepEqual(
      got.status.conditions.map((c: any) => [c.type, c.status, c.reason, c.message]),
      [
        ['NamesAccepted', 'False', 'KindConflict', '"Gizmo" is already in use'],
        ['Established', 'False', 'NotAccepted', 'not all names are accepted'],
      ],
    );
    assert.equal((await call('GET', '/apis/things.example.com/v1/doohickeys')).status, 404);
    await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/doohickeys.things.example.com');
  });

  it('serves custom resources as JSON only: protobuf bodies are 415, protobuf-only clients 406', async () => {
    const pb = await call('POST', '/apis/things.example.com/v1/namespaces/default/gizmos', {}, { 'content-type': 'application/vnd.kubernetes.protobuf' });
    assert.equal(pb.status, 415);
    assert.match(pb.body.message, /accepted media types include: application\/json, application\/yaml/);
    const accept = await call('GET', '/apis/things.example.com/v1/namespaces/default/gizmos', undefined, { accept: 'application/vnd.kubernetes.protobuf' });
    assert.equal(accept.status, 406);
    const either = await call('GET', '/apis/things.example.com/v1/namespaces/default/gizmos', undefined, { accept: 'application/vnd.kubernetes.protobuf, application/json' });
    assert.equal(either.status, 200);
  });

  it('answers unknown resources with upstream\'s 404', async () => {
    const r = await call('GET', '/apis/things.example.com/v1/namespaces/default/nopes');
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'the server could not find the requested resource');
    assert.equal((await call('GET', '/apis/nope.example.com/v1')).status, 404);
  });

  it('holds a deleted definition until its objects are gone, refusing new ones meanwhile', async () => {
    // a finalizer of its own keeps g1 (and so the definition) around for a while
    await call('PATCH', '/apis/things.example.com/v1/namespaces/default/gizmos/g1', { metadata: { finalizers: ['example.com/hold'] } }, { 'content-type': 'application/merge-patch+json' });
    // a watch open on the kind sees g1 go and then ends with the definition
    const res = await server.api.handle({
      method: 'GET',
      path: '/apis/things.example.com/v1/namespaces/default/gizmos',
      query: new URLSearchParams('watch=1'),
      headers: {},
      user: { name: 'admin', groups: ['system:masters'] },
    });
    const events: string[] = [];
    let ended = false;
    res.stream!.start(
      (ev: any) => events.push(`${ev.type} ${ev.object.metadata?.name}`),
      () => (ended = true),
    );
    const del = await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.things.example.com');
    assert.equal(del.status, 200);
    assert.ok(del.body.metadata.deletionTimestamp);
    assert.deepEqual(del.body.metadata.finalizers, ['customresourcecleanup.apiextensions.k8s.io']);
    await waitFor(async () => {
      const r = await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.things.example.com');
      return r.body.status?.conditions?.some((c: any) => c.type === 'Terminating' && c.status === 'True');
    });
    const refused = await call('POST', '/apis/things.example.com/v1/namespaces/default/gizmos', { metadata: { name: 'g2' } });
    assert.equal(refused.status, 405);
    assert.equal(refused.body.message, 'create not allowed while custom resource definition is terminating');
    // g1 is marked for deletion; once its own finalizer goes, so do it and the definition
    await waitFor(async () => (await call('GET', '/apis/things.example.com/v1/namespaces/default/gizmos/g1')).body.metadata?.deletionTimestamp);
    await call('PATCH', '/apis/things.example.com/v1/namespaces/default/gizmos/g1', { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' });
    await waitFor(async () => (await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.things.example.com')).status === 404, 10_000, 'the definition to go');
    assert.equal((await call('GET', '/apis/things.example.com/v1/namespaces/default/gizmos')).status, 404);
    await waitFor(() => ended, 10_000, 'the watch to end');
    assert.deepEqual(events, ['ADDED g1', 'MODIFIED g1', 'DELETED g1']);
    // nothing of it is left in the store
    const kvs = await server.api.store.list('/registry/things.example.com/gizmos/');
    assert.equal(kvs.items.length, 0);
  });
});
