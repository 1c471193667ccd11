// A StatefulSet the API accepts but no single process could run (2^31 - 1 replicas): the
// controller reports it with a Warning event and leaves it alone, and keeps serving others.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultRegistry } from '../../../src/api/kinds/index.js';
import { resources } from '../../../src/client/client.js';
import { SharedInformerFactory } from '../../../src/client/informer.js';
import { ControllerRunner } from '../../../src/client/controller-runner.js';
import { MAX_SUPPORTED_REPLICAS, StatefulSetController } from '../../../src/controllers/statefulset/controller.js';
import { startTestServer, waitFor, type TestServer } from '../../support/server.js';

const set = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name },
  spec: {
    replicas,
    serviceName: name,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  },
});

describe('StatefulSet controller limits', () => {
  let server: TestServer;
  let informers: SharedInformerFactory;
  let controller: StatefulSetController;
  let runner: ControllerRunner;

  before(async () => {
    server = await startTestServer();
    informers = new SharedInformerFactory(server.client);
    controller = new StatefulSetController({ workers: 2 });
    runner = new ControllerRunner(server.client, defaultRegistry(), informers);
    await runner.start([controller]);
  });

  after(async () => {
    await runner.stop();
    await server.stop();
  });

  it('reports a set with more replicas than it supports and keeps reconciling other sets', async () => {
    const sets = server.client.resource(resources.statefulSets, 'default');
    await sets.create(set('huge', 2147483647));
    await sets.create(set('small', 1));
    const events = server.client.resource(resources.events, 'default');
    const ev = await waitFor(
      async () => (await events.list()).items.find((e) => e.involvedObject?.name === 'huge' && e.reason === 'ReplicasLimitExceeded'),
      10_000,
      'the ReplicasLimitExceeded event',
    );
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message, new RegExp(`more than the ${MAX_SUPPORTED_REPLICAS} replicas`));
    const pods = server.client.resource(resources.pods, 'default');
    await waitFor(async () => (await pods.list()).items.some((p) => p.metadata.name === 'small-0'), 10_000, 'small-0');
    assert.equal((await pods.list()).items.filter((p) => p.metadata.name?.startsWith('huge-')).length, 0);
  });
});
