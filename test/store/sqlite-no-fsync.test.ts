// --unsafe-no-fsync (etcd's flag): the SQLite store commits without waiting for the disk, and
// is otherwise the same store: every contract holds on a file, and what was acknowledged is
// there after a restart of petset.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { storeContract } from './contract.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'petset-nofsync-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}

storeContract('sqlite file without fsync', async () => openSqliteStore(tempFile(), { autoCompact: false, fsync: false }));

test('without fsync, commits skip the disk wait and survive a restart', async () => {
  const file = tempFile();
  const store = openSqliteStore(file, { autoCompact: false, fsync: false });
  // NORMAL: in WAL mode the log is fsync'd only before a checkpoint
  assert.equal(store.database.pragma('synchronous', { simple: true }), 1);
  const written = await store.create('/registry/configmaps/default/a', '{"n":1}');
  await store.update('/registry/configmaps/default/a', '{"n":2}', written.modRevision);
  await store.close();
  const again = openSqliteStore(file, { autoCompact: false });
  try {
    assert.equal(again.database.pragma('synchronous', { simple: true }), 2);
    assert.equal((await again.get('/registry/configmaps/default/a'))?.value, '{"n":2}');
  } finally {
    await again.close();
  }
});
