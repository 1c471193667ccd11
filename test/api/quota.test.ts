// Quota accounting: what pods and other objects are charged, and which quotas' scopes cover them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { quotaCovers, sumUsage, usageOf, usageToList } from '../../src/api/quota.js';

const pod = (spec: Record<string, unknown>, phase = 'Running'): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec, status: { phase } });

test('pods are charged their requests and limits (init containers by their largest), finished pods nothing', () => {
  const p = pod({
    containers: [
      { name: 'a', resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m' } } },
      { name: 'b', resources: { requests: { cpu: '150m' } } },
    ],
    initContainers: [{ name: 'i', resources: { requests: { cpu: '500m' } } }],
  });
  const u = usageToList(sumUsage([usageOf('', 'pods', p), usageOf('', 'pods', p)], ['pods', 'requests.cpu', 'cpu', 'requests.memory', 'limits.cpu']), { 'requests.memory': '1Gi' });
  assert.deepEqual(u, { pods: '2', 'requests.cpu': '1', cpu: '1', 'requests.memory': '128Mi', 'limits.cpu': '400m' });
  assert.equal(usageOf('', 'pods', pod({ containers: [] }, 'Succeeded')).size, 0);
  assert.deepEqual([...usageOf('apps', 'deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } })], [['count/deployments.apps', 1_000_000_000n]]);
  const svc = usageOf('', 'services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ port: 1 }, { port: 2 }] } });
  assert.equal(svc.get('services.nodeports'), 2_000_000_000n);
  assert.equal(svc.get('services'), 1_000_000_000n);
});

test('scoped quotas cover only the pods their scopes select', () => {
  const quota = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec });
  const bestEffort = pod({ containers: [{ name: 'a' }] });
  const burstable = pod({ containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }], priorityClassName: 'high', activeDeadlineSeconds: 10 });
  assert.equal(quotaCovers(quota({ hard: { pods: '1' } }), '', 'pods', bestEffort), true);
  assert.equal(quotaCovers(quota({ scopes: ['BestEffort'] }), '', 'pods', bestEffort), true);
  assert.equal(quotaCovers(quota({ scopes: ['BestEffort'] }), '', 'pods', burstable), false);
  assert.equal(quotaCovers(quota({ scopes: ['NotBestEffort', 'Terminating'] }), '', 'pods', burstable), true);
  assert.equal(quotaCovers(quota({ scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } }), '', 'pods', burstable), true);
  assert.equal(quotaCovers(quota({ scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } }), '', 'pods', bestEffort), false);
  assert.equal(quotaCovers(quota({ scopes: ['BestEffort'] }), '', 'configmaps', bestEffort), false);
});
