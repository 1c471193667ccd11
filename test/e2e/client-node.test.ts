// @kubernetes/client-node, unchanged, against `petset up`: typed create, list, watch, patch.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { eventually, startCluster, type Cluster } from './harness.js';

describe('@kubernetes/client-node against petset up', () => {
  let c: Cluster;
  let kc: k8s.KubeConfig;

  before(async () => {
    c = await startCluster();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
  });
  after(async () => {
    await c?.stop();
  });

  it('creates, lists, watches and patches StatefulSets with the typed API', async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      '/apis/apps/v1/namespaces/default/statefulsets',
      {},
      (type: string, obj: k8s.V1StatefulSet) => seen.push(`${type} ${obj.metadata?.name} ${obj.spec?.replicas}`),
      () => {},
    );
    try {
      const created = await apps.createNamespacedStatefulSet({
        namespace: 'default',
        body: {
          metadata: { name: 'web' },
          spec: {
            serviceName: 'nginx',
            replicas: 2,
            selector: { matchLabels: { app: 'nginx' } },
            template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } },
          },
        },
      });
      assert.equal(created.metadata?.name, 'web');
      assert.ok(created.metadata?.uid);
      assert.equal(created.spec?.updateStrategy?.type, 'RollingUpdate');

      const list = await apps.listNamespacedStatefulSet({ namespace: 'default' });
      assert.deepEqual(
        list.items.map((s) => s.metadata?.name),
        ['web'],
      );

      await apps.patchNamespacedStatefulSet({
        name: 'web',
        namespace: 'default',
        body: [{ op: 'replace', path: '/spec/replicas', value: 4 }],
      });
      const merged = await apps.patchNamespacedStatefulSet(
        { name: 'web', namespace: 'default', body: { metadata: { labels: { tier: 'front' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      assert.equal(merged.spec?.replicas, 4);
      assert.equal(merged.metadata?.labels?.tier, 'front');

      await eventually(() => seen.includes('ADDED web 2') && seen.includes('MODIFIED web 4'), 10_000, 'watch events');

      const core = kc.makeApiClient(k8s.CoreV1Api);
      await assert.rejects(core.readNamespacedPod({ name: 'nope', namespace: 'default' }), (e: any) => e.code === 404);
    } finally {
      req.abort();
    }
  });
});
