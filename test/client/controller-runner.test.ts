// The shared controller runner: workers and periodic jobs wait for every informer their
// controller asked for; stopping a controller stops its queues and timers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import type { ApiRequest, ApiResponse } from '../../src/api/request.js';
import { Client, resources } from '../../src/client/client.js';
import { ControllerRunner, type Controller, type ControllerContext } from '../../src/client/controller-runner.js';
import { isWatchRequest, type Transport } from '../../src/client/transport.js';
import { WorkQueue } from '../../src/client/workqueue.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/** Holds the first LIST of pods until release() (a slow list of a large collection). */
class HeldPodList implements Transport {
  private releaseList!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.releaseList = resolve));
  podListAsked = false;

  constructor(private readonly inner: Transport) {}

  release(): void {
    this.releaseList();
  }

  async request(req: ApiRequest): Promise<ApiResponse> {
    if (req.method === 'GET' && /\/pods$/.test(req.path) && !isWatchRequest(req)) {
      this.podListAsked = true;
      await this.released;
    }
    return this.inner.request(req);
  }
}

/** Reconciles each set key by counting the pods it sees in its cache. */
class CountingController implements Controller {
  readonly name = 'counting';
  readonly seen: number[] = [];
  ticks = 0;
  readonly queue = new WorkQueue<string>();

  start(ctx: ControllerContext): void {
    const sets = ctx.informers.informerFor(resources.statefulSets);
    const pods = ctx.informers.informerFor(resources.pods);
    sets.addEventHandler({ onAdd: (s) => this.queue.add(s.metadata.name!) });
    ctx.runWorkers(this.queue, 2, async () => {
      this.seen.push(pods.list().length);
    });
    ctx.every(20, () => {
      this.ticks++;
    });
  }

  stop(): void {}
}

describe('ControllerRunner', () => {
  let srv: TestServer;

  before(async () => {
    srv = await startTestServer();
    await srv.client.statefulSets('default').create({
      metadata: { name: 's' },
      spec: { selector: { matchLabels: { a: 'b' } }, serviceName: 's', template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    for (let i = 0; i < 5; i++) await srv.client.pods('default').create({ metadata: { name: `p${i}` }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  });

  after(async () => {
    await srv.stop();
  });

  it('starts workers and periodic jobs only once every informer the controller reads has synced', async () => {
    const held = new HeldPodList(srv.client.transport);
    const runner = new ControllerRunner(new Client(held), defaultRegistry());
    const c = new CountingController();
    const started = runner.start([c]);
    // the set is in the cache and its key queued, but no worker takes it from half a cache
    // (a waiting worker would have been handed the key as it was added)
    await waitFor(() => held.podListAsked && c.queue.len() === 1, 5000, 'the sets listed and queued, the pods list held');
    assert.deepEqual(c.seen, []);
    assert.equal(c.ticks, 0);
    held.release();
    assert.equal(await started, true);
    await waitFor(() => c.seen.length > 0 && c.ticks > 0, 5000, 'a reconcile and a tick');
    assert.deepEqual(c.seen, [5], 'the first reconcile saw every pod');
    runner.stopController(c);
    assert.equal(c.queue.isShuttingDown(), true, 'its queues end with the controller');
    await runner.stop();
  });
});
