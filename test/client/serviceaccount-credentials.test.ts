// A controller manager in its own process with --use-service-account-credentials: a
// controller's requests carry a token of its kube-system ServiceAccount (made when missing),
// asked for with the manager's own credential (controller-manager.conf, written by the API
// server), and asked for again once 80% of its hour has passed. Against a real control plane
// over HTTPS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isApiError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { startControlPlane, type ControlPlane } from '../../src/cli/controlplane.js';
import { Client } from '../../src/client/client.js';
import { fromKubeconfig } from '../../src/client/http-transport.js';
import { ServiceAccountTransport } from '../../src/client/serviceaccount-credentials.js';

describe('ServiceAccount credentials of a separate controller manager', () => {
  let dataDir: string;
  let cp: ControlPlane;
  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'petset-sacreds-'));
    cp = await startControlPlane({ dataDir, controllers: false, nodes: 0, dns: false, proxy: false });
  });
  after(async () => {
    await cp?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('calls as the controller\u2019s account, made when missing, with a token renewed before it expires', async () => {
    const conf = path.join(dataDir, 'controller-manager.conf');
    const root = new Client(fromKubeconfig(conf));
    const whoami = async (c: Client) =>
      (await c.request<KubeObject>({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } })).status?.userInfo;
    assert.equal((await whoami(root)).username, 'system:kube-controller-manager');

    let now = Date.now();
    const tokens: string[] = [];
    const transport = new ServiceAccountTransport(
      root,
      'kube-system',
      'statefulset-controller',
      (token) => {
        tokens.push(token);
        return fromKubeconfig(conf, undefined, { token, clientCert: undefined, clientKey: undefined });
      },
      () => now,
    );
    const controller = new Client(transport);
    try {
      const me = await whoami(controller);
      assert.equal(me.username, 'system:serviceaccount:kube-system:statefulset-controller');
      assert.ok(me.groups.includes('system:serviceaccounts:kube-system'));
      const sa = await cp.client.request<KubeObject>({ method: 'GET', path: '/api/v1/namespaces/kube-system/serviceaccounts/statefulset-controller' });
      assert.equal(sa.metadata.name, 'statefulset-controller');
      // only its role's rights
      await assert.rejects(
        () => controller.request({ method: 'GET', path: '/api/v1/namespaces/default/secrets' }),
        (e: unknown) => isApiError(e, 'Forbidden') && /User "system:serviceaccount:kube-system:statefulset-controller" cannot list resource "secrets"/.test((e as Error).message),
      );
      // the same token until 80% of the hour, then a new one
      now += 47 * 60_000;
      await whoami(controller);
      assert.equal(tokens.length, 1);
      now += 2 * 60_000;
      assert.equal((await whoami(controller)).username, 'system:serviceaccount:kube-system:statefulset-controller');
      assert.equal(tokens.length, 2);
      assert.notEqual(tokens[0], tokens[1]);
    } finally {
      transport.close();
    }
  });
});
