import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { namespaceKind } from '../../../src/api/kinds/namespace.js';
import { create, created, row, update } from './pipeline.js';

const ns = (name: string, extra = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, ...extra });

describe('Namespace', () => {
  it('is created Active, with the kubernetes finalizer and its name label', () => {
    const obj = created(namespaceKind, ns('team-a', { status: { phase: 'Terminating' } }));
    assert.deepEqual(obj.status, { phase: 'Active' });
    assert.deepEqual(obj.spec.finalizers, ['kubernetes']);
    assert.equal(obj.metadata.labels?.['kubernetes.io/metadata.name'], 'team-a');
  });

  it('keeps other finalizers and adds kubernetes once', () => {
    assert.deepEqual(created(namespaceKind, ns('a', { spec: { finalizers: ['example.com/x'] } })).spec.finalizers, ['example.com/x', 'kubernetes']);
    assert.deepEqual(created(namespaceKind, ns('b', { spec: { finalizers: ['kubernetes'] } })).spec.finalizers, ['kubernetes']);
  });

  it('wants DNS-1123 label names and qualified finalizers', () => {
    const { errors } = create(namespaceKind, ns('Team.A', { spec: { finalizers: ['custom'] } }));
    assert.ok(errors.some((e) => e.startsWith('metadata.name: Invalid value: "Team.A": a lowercase RFC 1123 label')));
    assert.ok(errors.includes('spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified'));
  });

  it('does not let a PUT change spec.finalizers', () => {
    const current = created(namespaceKind, ns('a'));
    const { obj, errors } = update(namespaceKind, { ...current, spec: { finalizers: [] } }, current);
    assert.deepEqual(errors, []);
    assert.deepEqual(obj.spec.finalizers, ['kubernetes']);
  });

  it('checks the phase written through /status against deletion', () => {
    const current = created(namespaceKind, ns('a'));
    const bad = update(namespaceKind, { ...current, status: { phase: 'Terminating' } }, current, 'status');
    assert.deepEqual(bad.errors, ['status.Phase: Invalid value: "Terminating": may only be \'Active\' if `deletionTimestamp` is empty']);
    const deleting = { ...current, metadata: { ...current.metadata, deletionTimestamp: '2025-01-01T00:01:00Z' }, status: { phase: 'Terminating' } };
    assert.deepEqual(update(namespaceKind, deleting, deleting, 'status').errors, []);
  });

  it('selects on status.phase and prints Name, Status, Age', () => {
    const obj = created(namespaceKind, ns('a'));
    assert.equal(namespaceKind.fields!['status.phase'](obj), 'Active');
    assert.deepEqual(row(namespaceKind, obj), { Name: 'a', Status: 'Active', Age: '5m' });
  });
});
