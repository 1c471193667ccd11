// Store figures side by side, same run: creates/s with 16 clients and the create-to-watcher
// latency with 100 watchers, on SQLite and on Debian's etcd (1 member, and 3 members on
// loopback addresses). `npm run bench -- store-backends`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Scenario } from './harness.js';
import { benchAnyStore, benchStore } from './store.js';
import { openEtcdStore } from '../src/store/etcd.js';
import { startEtcd, startEtcdCluster } from '../test/support/etcd.js';

const CLIENTS = 16;
const WATCHERS = 100;

export const storeBackendScenarios: Scenario[] = [
  {
    name: 'store-backends',
    async run(report) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-bench-stores-'));
      try {
        const sqlite = await benchStore(dir, { clients: CLIENTS, watchers: WATCHERS });
        report({ name: 'store_sqlite_creates_16_clients', value: sqlite.writesPerSecond, unit: 'creates/s' });
        report({ name: 'store_sqlite_watch_p99_100_watchers', value: sqlite.watchP99Ms, unit: 'ms' });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }

      const one = await startEtcd();
      try {
        const store = await openEtcdStore({ endpoints: [one.endpoint], autoCompact: false });
        const r = await benchAnyStore(store, { clients: CLIENTS, watchers: WATCHERS });
        await store.close();
        report({ name: 'store_etcd1_creates_16_clients', value: r.writesPerSecond, unit: 'creates/s' });
        report({ name: 'store_etcd1_watch_p50_100_watchers', value: r.watchP50Ms, unit: 'ms' });
        report({ name: 'store_etcd1_watch_p99_100_watchers', value: r.watchP99Ms, unit: 'ms' });
      } finally {
        await one.stop();
      }

      const three = await startEtcdCluster(3);
      try {
        const store = await openEtcdStore({ endpoints: three.endpoints, autoCompact: false });
        const r = await benchAnyStore(store, { clients: CLIENTS, watchers: WATCHERS });
        await store.close();
        report({ name: 'store_etcd3_creates_16_clients', value: r.writesPerSecond, unit: 'creates/s' });
        report({ name: 'store_etcd3_watch_p99_100_watchers', value: r.watchP99Ms, unit: 'ms' });
      } finally {
        await three.stop();
      }
    },
  },
];
