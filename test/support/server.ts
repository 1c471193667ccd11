// A real API server in this process (in-memory SQLite, the real registry, admission and
// bootstrap), with an in-process admin client: for tests of controllers and agents.
import { ApiServer } from '../../src/apiserver/handler.js';
import { installAdmission } from '../../src/apiserver/admission.js';
import { installPodSubresources } from '../../src/apiserver/pod-subresources.js';
import { bootstrapObjects } from '../../src/apiserver/bootstrap.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { Client } from '../../src/client/client.js';
import { InProcessTransport } from '../../src/client/inprocess-transport.js';

export interface TestServer {
  api: ApiServer;
  client: Client;
  stop(): Promise<void>;
}

export async function startTestServer(opts: { bookmarkIntervalMs?: number } = {}): Promise<TestServer> {
  const store = openSqliteStore(':memory:', { autoCompact: false });
  const api = new ApiServer(defaultRegistry(), store, { bookmarkIntervalMs: opts.bookmarkIntervalMs });
  installAdmission(api);
  installPodSubresources(api);
  await bootstrapObjects(api);
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
