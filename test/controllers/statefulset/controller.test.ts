// The controller against the real API server (in process, in-memory store): plans performed
// through the client, informers feeding the next pass, events recorded on the set.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultRegistry } from '../../../src/api/kinds/index.js';
import type { KubeObject } from '../../../src/api/object.js';
import { timestamp } from '../../../src/api/object.js';
import { Client, resources } from '../../../src/client/client.js';
import { ControllerRunner } from '../../../src/client/controller-runner.js';
import { SharedInformerFactory } from '../../../src/client/informer.js';
import { InProcessTransport } from '../../../src/client/inprocess-transport.js';
import { StatefulSetController } from '../../../src/controllers/statefulset/controller.js';
import { type SqliteStore } from '../../../src/store/sqlite.js';
import { newTestApi } from '../../support/server.js';

let store: SqliteStore;
let client: Client;
let informers: SharedInformerFactory;
let runner: ControllerRunner;
let controller: StatefulSetController;

async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pods = () => client.resource(resources.pods, 'default');
const sets = () => client.resource(resources.statefulSets, 'default');

async function podNames(): Promise<string[]> {
  return (await pods().list({ labelSelector: 'app=web' })).items.map((p) => p.metadata.name!).sort();
}

/** What a kubelet would report for a started, ready pod. */
async function makeReady(name: string): Promise<void> {
  const pod = await pods().get(name);
  const now = timestamp();
  pod.status = { ...pod.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] };
  await pods().updateStatus(pod);
}

before(async () => {
  const built = await newTestApi();
  store = built.store;
  const api = built.api;
  client = new Client(new InProcessTransport(api.handle, { name: 'admin', groups: ['system:masters'] }));
  informers = new SharedInformerFactory(client);
  controller = new StatefulSetController({ workers: 2 });
  runner = new ControllerRunner(client, defaultRegistry(), informers);
  await runner.start([controller]);
});

after(async () => {
  controller.stop();
  await runner.stop();
  await store.close();
});

describe('StatefulSet controller against the API server', () => {
  it('creates pods in order with their claims, writes status and records events', async () => {
    const set: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2,
        serviceName: 'web',
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    };
    await sets().create(set);
    await eventually('web-0', async () => (await podNames()).includes('web-0'));
    const claim = await client.resource(resources.persistentVolumeClaims, 'default').get('data-web-0');
    assert.equal(claim.metadata.labels?.app, 'web');
    assert.deepEqual(await podNames(), ['web-0'], 'OrderedReady waits for web-0');

    await makeReady('web-0');
    await eventually('web-1', async () => (await podNames()).includes('web-1'));
    await makeReady('web-1');
    const status = await eventually('ready status', async () => {
      const s = (await sets().get('web')).status;
      return s?.readyReplicas === 2 ? s : undefined;
    });
    assert.equal(status.replicas, 2);
    assert.equal(status.currentRevision, status.updateRevision);
    const pod = await pods().get('web-1');
    assert.equal(pod.metadata.labels?.['controller-revision-hash'], status.updateRevision);
    assert.equal(pod.spec.hostname, 'web-1');
    assert.equal(pod.spec.subdomain, 'web');

    const revisions = await client.resource(resources.controllerRevisions, 'default').list();
    assert.deepEqual(revisions.items.map((r) => r.metadata.name), [status.updateRevision]);

    const events = await eventually('events', async () => {
      const list = (await client.events('default').list()).items.filter((e) => e.involvedObject?.name === 'web');
      return list.length >= 4 ? list : undefined;
    });
    const messages = events.map((e) => e.message);
    assert.ok(messages.includes('create Claim data-web-0 Pod web-0 in StatefulSet web success'));
    assert.ok(messages.includes('create Pod web-1 in StatefulSet web successful'));
    assert.ok(events.every((e) => e.source?.component === 'statefulset-controller'));
  });

  it('scales down from the top and rolls out a template change', async () => {
    // patches, not get+update: the controller writes status at the same time
    await sets().patch('web', { spec: { replicas: 1 } }, 'merge');
    await eventually('scale down', async () => (await podNames()).join() === 'web-0');

    await sets().patch('web', [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.28' }], 'json');
    const pod = await eventually('replacement', async () => {
      const p = await pods()
        .get('web-0')
        .catch(() => undefined);
      return p?.spec.containers[0].image === 'nginx:1.28' ? p : undefined;
    });
    await makeReady(pod.metadata.name!);
    const status = await eventually('roll-out complete', async () => {
      const s = (await sets().get('web')).status;
      return s?.currentRevision === s?.updateRevision && s?.readyReplicas === 1 ? s : undefined;
    });
    assert.equal(pod.metadata.labels?.['controller-revision-hash'], status.updateRevision);
  });
});
