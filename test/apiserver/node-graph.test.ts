// The Node authorizer's pod graph (src/apiserver/authz/node-graph.ts): a node reads the claims
// and Secrets of the pods bound to it and nothing else, as the graph follows pods being
// created, bound and deleted; a pod bound a moment ago is never refused its objects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { installAuthorization } from '../../src/apiserver/authz/index.js';
import { PodGraph } from '../../src/apiserver/authz/node-graph.js';
import { Client } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { isApiError } from '../../src/api/errors.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

let srv: TestServer;

function asNode(name: string): Client {
  return new Client(new InProcessTransport(srv.api.handle, { name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] }));
}

function pod(name: string, nodeName: string | undefined, claim: string, secret: string) {
  return {
    metadata: { name },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: [{ name: 'app', image: 'nginx', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'p' } } }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
    },
  };
}

/** Whether the node may get the object: true, or the 403's message. */
async function canGet(node: Client, what: 'claim' | 'secret', name: string): Promise<true | string> {
  try {
    if (what === 'claim') await node.persistentVolumeClaims('default').get(name);
    else await node.resource({ group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true }, 'default').get(name);
    return true;
  } catch (e) {
    if (isApiError(e, 'Forbidden')) return (e as Error).message;
    throw e;
  }
}

before(async () => {
  srv = await startTestServer();
  await installAuthorization(srv.api);
  for (const name of ['c1', 'c2']) {
    await srv.client.persistentVolumeClaims('default').create({ metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  }
  const secrets = srv.client.resource({ group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true }, 'default');
  for (const name of ['s1', 's2']) await secrets.create({ metadata: { name }, data: { p: 'eA==' } });
});

after(async () => {
  await srv.stop();
});

describe('Node authorizer pod graph', () => {
  it("lets a node read its pods' claims and Secrets, and refuses another node", async () => {
    await srv.client.pods('default').create(pod('p1', 'node-a', 'c1', 's1'));
    const a = asNode('node-a');
    const b = asNode('node-b');
    assert.equal(await canGet(a, 'claim', 'c1'), true);
    assert.equal(await canGet(a, 'secret', 's1'), true);
    assert.match(String(await canGet(b, 'claim', 'c1')), /persistentvolumeclaims "c1" is forbidden: User "system:node:node-b" cannot get resource "persistentvolumeclaims" .*no relationship found between node 'node-b' and this object/);
    assert.match(String(await canGet(a, 'claim', 'c2')), /no relationship found between node 'node-a' and this object/);
  });

  it('follows a pod bound after its creation, at once, and its deletion', async () => {
    const b = asNode('node-b');
    await srv.client.pods('default').create(pod('p2', undefined, 'c2', 's2'));
    assert.match(String(await canGet(b, 'secret', 's2')), /no relationship found/);
    await srv.client.pods('default').createSubresource('p2', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p2' }, target: { kind: 'Node', name: 'node-b' } });
    // the very next read: the graph may not have the binding yet, the store has
    assert.equal(await canGet(b, 'claim', 'c2'), true);
    assert.equal(await canGet(b, 'secret', 's2'), true);
    await srv.client.pods('default').delete('p2', { gracePeriodSeconds: 0 });
    await waitFor(async () => (await canGet(b, 'claim', 'c2')) !== true, 5000, 'node-b to lose c2 with its pod');
  });

  it('keeps pods per node from a watch, and of each pod only what the authorizer reads', async () => {
    const graph = new PodGraph(srv.api.storage, srv.api.registry.resource('', 'v1', 'pods')!);
    assert.deepEqual((await graph.podsOn('node-a')).map((p) => p.metadata.name), ['p1']);
    await srv.client.pods('default').create(pod('p3', 'node-a', 'c2', 's2'));
    await waitFor(async () => (await graph.podsOn('node-a', 'default')).length === 2, 5000, 'p3 in the graph');
    assert.deepEqual(await graph.podsOn('node-a', 'other'), []);
    // the graph keeps only what the authorizer reads
    const kept = (await graph.podsOn('node-a')).find((p) => p.metadata.name === 'p3')!;
    assert.deepEqual(kept.spec?.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'c2' } }]);
    assert.equal(kept.spec?.containers[0].image, undefined);
    await srv.client.pods('default').delete('p3', { gracePeriodSeconds: 0 });
    await waitFor(async () => (await graph.podsOn('node-a')).length === 1, 5000, 'p3 gone from the graph');
    graph.stop();
  });
});
