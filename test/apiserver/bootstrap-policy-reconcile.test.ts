// Default roles of an older data dir gain what this version's defaults add (upstream's
// auto-reconciliation of rbac.authorization.kubernetes.io/autoupdate=true roles at start):
// the certificate controller's role from before it signed kube-apiserver-client requests gets
// that rule back; a role marked autoupdate=false and a binding's extra subjects are left alone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiServer } from '../../src/apiserver/handler.js';
import { defaultRegistry } from '../../src/api/kinds/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { ensureBootstrapPolicy } from '../../src/apiserver/authz/bootstrap-policy.js';
import { uncoveredRules } from '../../src/apiserver/authz/rbac.js';

const SIGN_CLIENT = { verbs: ['sign'], apiGroups: ['certificates.k8s.io'], resources: ['signers'], resourceNames: ['kubernetes.io/kube-apiserver-client'] };

describe('bootstrap policy reconciliation', () => {
  it('adds missing rules and subjects to autoupdate defaults, and only to them', async () => {
    const store = openSqliteStore(':memory:', { autoCompact: false });
    try {
      const api = new ApiServer(defaultRegistry(), store, {});
      await ensureBootstrapPolicy(api);
      const roles = api.registry.resource('rbac.authorization.k8s.io', 'v1', 'clusterroles')!;
      const bindings = api.registry.resource('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings')!;
      const name = 'system:controller:certificate-controller';
      // as an older petset left it: no sign rules
      const old = await api.storage.get(roles, undefined, name);
      await api.storage.update(roles, undefined, name, { ...old, rules: old.rules.filter((r: any) => !r.verbs.includes('sign')) });
      // a person's edits: one default turned off, one binding given another subject
      const view = await api.storage.get(roles, undefined, 'system:discovery');
      await api.storage.update(roles, undefined, 'system:discovery', { ...view, metadata: { ...view.metadata, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'false' } }, rules: [] });
      const admin = await api.storage.get(bindings, undefined, 'cluster-admin');
      const extra = { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' };
      await api.storage.update(bindings, undefined, 'cluster-admin', { ...admin, subjects: [...admin.subjects, extra] });

      await ensureBootstrapPolicy(api);
      const now = await api.storage.get(roles, undefined, name);
      assert.deepEqual(uncoveredRules(now.rules, [SIGN_CLIENT]), [], JSON.stringify(now.rules));
      assert.deepEqual((await api.storage.get(roles, undefined, 'system:discovery')).rules, []);
      assert.deepEqual((await api.storage.get(bindings, undefined, 'cluster-admin')).subjects.at(-1), extra);
      // a second start changes nothing
      const rv = now.metadata.resourceVersion;
      await ensureBootstrapPolicy(api);
      assert.equal((await api.storage.get(roles, undefined, name)).metadata.resourceVersion, rv);
    } finally {
      await store.close();
    }
  });
});
