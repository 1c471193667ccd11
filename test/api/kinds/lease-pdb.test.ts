import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { leaseKind } from '../../../src/api/kinds/lease.js';
import { podDisruptionBudgetKind } from '../../../src/api/kinds/poddisruptionbudget.js';
import type { KubeObject } from '../../../src/api/object.js';
import { create, created, row, update } from './pipeline.js';

describe('Lease', () => {
  const lease = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'node-1', namespace: 'kube-node-lease' },
    spec,
  });

  it('accepts a node heartbeat and prints its holder', () => {
    const obj = created(leaseKind, lease({ holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2025-01-01T00:04:50.123456Z' }));
    assert.deepEqual(row(leaseKind, obj), { Name: 'node-1', Holder: 'node-1', Age: '5m' });
    assert.equal(row(leaseKind, created(leaseKind, lease({}))).Holder, '');
  });

  it('validates durations and strategy', () => {
    assert.deepEqual(create(leaseKind, lease({ leaseDurationSeconds: 0, leaseTransitions: -1, preferredHolder: 'x' })).errors, [
      'spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
      'spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0',
      'spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined',
    ]);
  });
});

describe('PodDisruptionBudget', () => {
  const pdb = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web-pdb', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
  });

  it('declares the strategy upstream uses', () => {
    assert.equal(podDisruptionBudgetKind.tracksGeneration, true);
    assert.equal(podDisruptionBudgetKind.allowUnconditionalUpdate, false);
    assert.deepEqual(podDisruptionBudgetKind.subresources, { status: true });
  });

  it('starts with zeroed status and generation 1', () => {
    const obj = created(podDisruptionBudgetKind, pdb({ minAvailable: 2, status: { disruptionsAllowed: 5 } }));
    assert.deepEqual(obj.status, { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
    assert.equal(obj.metadata.generation, 1);
  });

  it('minAvailable and maxUnavailable exclude each other and must be counts or percentages', () => {
    const both = create(podDisruptionBudgetKind, pdb({ minAvailable: 1, maxUnavailable: '10%' }));
    assert.equal(both.errors.length, 1);
    assert.match(both.errors[0], /^spec: Invalid value: .*: minAvailable and maxUnavailable cannot be both set$/);
    assert.deepEqual(create(podDisruptionBudgetKind, pdb({ minAvailable: '150%' })).errors, ['spec.minAvailable: Invalid value: "150%": must not be greater than 100%']);
    assert.deepEqual(create(podDisruptionBudgetKind, pdb({ maxUnavailable: 'half' })).errors, [
      "spec.maxUnavailable: Invalid value: \"half\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ]);
    assert.deepEqual(create(podDisruptionBudgetKind, pdb({ maxUnavailable: -1 })).errors, ['spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0']);
  });

  it('validates the selector', () => {
    const { errors } = create(podDisruptionBudgetKind, pdb({ minAvailable: 1, selector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } }));
    assert.deepEqual(errors, ["spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"]);
  });

  it('status counts may not be negative', () => {
    const current = created(podDisruptionBudgetKind, pdb({ minAvailable: 1 }));
    const next = { ...current, status: { ...current.status, disruptionsAllowed: -1 } };
    assert.deepEqual(update(podDisruptionBudgetKind, next, current, 'status').errors, ['status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0']);
  });

  it('prints N/A for the unset bound', () => {
    const obj = created(podDisruptionBudgetKind, pdb({ maxUnavailable: '25%' }));
    obj.status.disruptionsAllowed = 1;
    assert.deepEqual(row(podDisruptionBudgetKind, obj), {
      Name: 'web-pdb',
      'Min Available': 'N/A',
      'Max Unavailable': '25%',
      'Allowed Disruptions': 1,
      Age: '5m',
    });
  });
});
