// Keys in upstream kube-apiserver's etcd layout, and the one-time move of a SQLite data dir
// written with petset's earlier layout (/registry/<group|core>/<plural>/...).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { legacyToUpstreamKey, registryPrefix } from '../../src/store/registry-keys.js';
import { objectKey } from '../../src/apiserver/keys.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

describe('upstream key layout', () => {
  it('built-in resources under /registry/<resource>, with upstream\'s historical names', () => {
    const r = defaultRegistry();
    const key = (g: string, plural: string, ns: string | undefined, name: string) => objectKey(r.resource(g, g === 'autoscaling' ? 'v2' : 'v1', plural)!, ns, name);
    assert.equal(key('apps', 'statefulsets', 'default', 'web'), '/registry/statefulsets/default/web');
    assert.equal(key('', 'pods', 'default', 'web-0'), '/registry/pods/default/web-0');
    assert.equal(key('', 'services', 'default', 'web'), '/registry/services/specs/default/web');
    assert.equal(key('', 'endpoints', 'default', 'web'), '/registry/services/endpoints/default/web');
    assert.equal(key('', 'nodes', undefined, 'n1'), '/registry/minions/n1');
    assert.equal(key('', 'replicationcontrollers', 'default', 'rc'), '/registry/controllers/default/rc');
    assert.equal(key('networking.k8s.io', 'ingresses', 'default', 'in'), '/registry/ingress/default/in');
    assert.equal(key('autoscaling', 'horizontalpodautoscalers', 'default', 'h'), '/registry/horizontalpodautoscalers/default/h');
    assert.equal(key('rbac.authorization.k8s.io', 'clusterroles', undefined, 'admin'), '/registry/clusterroles/admin');
    assert.equal(key('certificates.k8s.io', 'certificatesigningrequests', undefined, 'csr1'), '/registry/certificatesigningrequests/csr1');
    assert.equal(key('apiextensions.k8s.io', 'customresourcedefinitions', undefined, 'crontabs.stable.example.com'), '/registry/apiextensions.k8s.io/customresourcedefinitions/crontabs.stable.example.com');
    assert.equal(registryPrefix('stable.example.com', 'crontabs'), '/registry/stable.example.com/crontabs/');
  });

  it('maps the earlier layout, leaving custom resources and CRDs where they were', () => {
    assert.equal(legacyToUpstreamKey('/registry/apps/statefulsets/default/web'), '/registry/statefulsets/default/web');
    assert.equal(legacyToUpstreamKey('/registry/core/services/default/web'), '/registry/services/specs/default/web');
    assert.equal(legacyToUpstreamKey('/registry/core/nodes/n1'), '/registry/minions/n1');
    assert.equal(legacyToUpstreamKey('/registry/apiextensions.k8s.io/customresourcedefinitions/a.b.c'), '/registry/apiextensions.k8s.io/customresourcedefinitions/a.b.c');
    assert.equal(legacyToUpstreamKey('/registry/stable.example.com/crontabs/default/x'), '/registry/stable.example.com/crontabs/default/x');
    assert.equal(legacyToUpstreamKey('/somewhere/else'), '/somewhere/else');
  });

  it('a SQLite store of schema 1 moves its keys once, history and revisions kept', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-keys-'));
    try {
      const file = path.join(dir, 'state.db');
      // a store as the earlier petset wrote it: schema 1, old keys, a key with history
      const db = new Database(file);
      db.exec(`CREATE TABLE log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, created INTEGER NOT NULL, deleted INTEGER NOT NULL, value TEXT NOT NULL, prev_rev INTEGER);
        CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE quarantine (id INTEGER PRIMARY KEY, key TEXT NOT NULL, rev INTEGER NOT NULL, value, reason TEXT NOT NULL, at TEXT NOT NULL);
        PRAGMA user_version = 1;`);
      const put = db.prepare('INSERT INTO log (rev, key, created, deleted, value, prev_rev) VALUES (?, ?, ?, 0, ?, ?)');
      put.run(1, '/registry/apps/statefulsets/default/web', 1, '{"v":1}', null);
      put.run(2, '/registry/core/pods/default/web-0', 2, '{"p":0}', null);
      put.run(3, '/registry/apps/statefulsets/default/web', 1, '{"v":2}', 1);
      put.run(4, '/registry/stable.example.com/crontabs/default/x', 4, '{"c":1}', null);
      db.prepare("INSERT INTO quarantine (key, rev, value, reason, at) VALUES ('/registry/core/configmaps/default/bad', 0, 'x', 'test', 'now')").run();
      db.close();

      const lines: string[] = [];
      const store = openSqliteStore(file, { autoCompact: false, spaceReserveBytes: 0, log: (l) => lines.push(l) });
      try {
        const sts = await store.get('/registry/statefulsets/default/web');
        assert.deepEqual([sts?.value, sts?.createRevision, sts?.modRevision], ['{"v":2}', 1, 3]);
        assert.equal((await store.get('/registry/pods/default/web-0'))?.value, '{"p":0}');
        assert.equal(await store.get('/registry/apps/statefulsets/default/web'), undefined);
        assert.equal((await store.get('/registry/stable.example.com/crontabs/default/x'))?.value, '{"c":1}');
        assert.equal(await store.revision(), 4);
        assert.deepEqual((await store.list('/registry/statefulsets/')).items.map((kv) => kv.key), ['/registry/statefulsets/default/web']);
        assert.ok(lines.some((l) => /2 keys moved to the upstream layout/.test(l)), lines.join('\n'));
      } finally {
        await store.close();
      }
      const check = new Database(file, { readonly: true });
      assert.equal(check.pragma('user_version', { simple: true }), 2);
      assert.deepEqual(check.prepare('SELECT key FROM quarantine').pluck().all(), ['/registry/configmaps/default/bad']);
      check.close();
      // opened again: nothing more to move
      const again = openSqliteStore(file, { autoCompact: false, spaceReserveBytes: 0, log: (l) => lines.push(`again: ${l}`) });
      await again.close();
      assert.ok(!lines.some((l) => l.startsWith('again: ') && /moved/.test(l)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
