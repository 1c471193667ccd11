// A real API server in this process (in-memory SQLite, the real registry, admission and
// bootstrap), with an in-process admin client: for tests of controllers and agents.
import { ApiServer } from '../../src/apiserver/handler.js';
import { installAdmission } from '../../src/apiserver/admission.js';
import { installPodSubresources } from '../../src/apiserver/pod-subresources.js';
import { bootstrapObjects } from '../../src/apiserver/bootstrap.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { Client } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';
import { ControllerRunner, type Controller } from '../../src/client/controller-runner.js';
import { SharedInformerFactory } from '../../src/client/informer.js';

export interface TestServer {
  api: ApiServer;
  client: Client;
  stop(): Promise<void>;
}

export interface TestApiOptions {
  bookmarkIntervalMs?: number;
  /** the system namespaces and the kubernetes service (default true) */
  bootstrap?: boolean;
  /** something around the real store (metrics) */
  wrapStore?: (store: Store) => Store;
}

/**
 * The one way tests build an API server: in-memory SQLite, the real registry, admission,
 * the pod subresources and (by default) the objects every cluster starts with.
 */
export async function newTestApi(opts: TestApiOptions = {}): Promise<{ api: ApiServer; store: SqliteStore }> {
  const store = openSqliteStore(':memory:', { autoCompact: false });
  const api = new ApiServer(defaultRegistry(), opts.wrapStore ? opts.wrapStore(store) : store, { bookmarkIntervalMs: opts.bookmarkIntervalMs });
  installAdmission(api);
  installPodSubresources(api);
  if (opts.bootstrap !== false) await bootstrapObjects(api);
  return { api, store };
}

export async function startTestServer(opts: TestApiOptions = {}): Promise<TestServer> {
  const { api, store } = await newTestApi(opts);
  const client = new Client(new InProcessTransport(api.handle, { name: 'test-admin', groups: ['system:masters'] }));
  return {
    api,
    client,
    async stop() {
      await store.close();
    },
  };
}

/** Polls until fn returns a truthy value. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  timeoutMs = 10_000,
  what = 'condition',
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Controllers (or the scheduler) run against a test server through the real runner, as petset up runs them. */
export async function runControllers(server: TestServer, controllers: Controller[]): Promise<{ informers: SharedInformerFactory; runner: ControllerRunner }> {
  const informers = new SharedInformerFactory(server.client);
  const runner = new ControllerRunner(server.client, defaultRegistry(), informers);
  await runner.start(controllers);
  return { informers, runner };
}
