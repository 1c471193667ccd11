// The structured merge and field ownership of server-side apply, on plain objects: list-map
// merge keys, sets, atomic lists, granular and atomic maps, conflicts, force, pruning,
// shared ownership, resets, the Update cap and kubectl's client-side-apply upgrade.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError } from '../../src/api/errors.js';
import {
  applyConfiguration,
  FieldSet,
  managerName,
  updateManagedFields,
  type FieldManagerScope,
  type ManagedFieldsEntry,
} from '../../src/api/managedfields/index.js';
import { compare, merge, toFieldSet } from '../../src/api/managedfields/typed.js';
import { s, type Definitions } from '../../src/api/schema.js';

const defs: Definitions = {
  Meta: s.obj(
    {
      name: s.str(''),
      namespace: s.str(''),
      uid: s.str(''),
      labels: s.stringMap(''),
      annotations: s.stringMap(''),
      managedFields: s.list({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, '', { 'x-kubernetes-list-type': 'atomic' }),
      finalizers: s.setList({ type: 'string' }, ''),
    },
    '',
  ),
  Selector: s.obj({ matchLabels: s.stringMap('') }, '', { 'x-kubernetes-map-type': 'atomic' }),
  Port: s.obj({ containerPort: s.int32(''), protocol: s.str('', { default: 'TCP' }), name: s.str('') }, ''),
  Container: s.obj(
    {
      name: s.str(''),
      image: s.str(''),
      args: s.list({ type: 'string' }, ''),
      ports: s.list({ $ref: 'Port' }, '', { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['containerPort', 'protocol'] }),
      env: s.mergeList(s.obj({ name: s.str(''), value: s.str('') }, ''), 'name', ''),
    },
    '',
  ),
  Thing: s.obj(
    {
      apiVersion: s.str(''),
      kind: s.str(''),
      metadata: { $ref: 'Meta' },
      spec: s.obj(
        {
          replicas: s.int32(''),
          paused: s.bool(''),
          selector: { $ref: 'Selector' },
          containers: s.mergeList({ $ref: 'Container' }, 'name', ''),
          tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
          free: s.any(''),
        },
        '',
        // a non-pointer struct in Go: the zero value has it, so a create does not add it
        { default: {} },
      ),
      status: s.obj({ ready: s.int32('') }, ''),
    },
    '',
  ),
};

let clock = 0;
function scope(extra: Partial<FieldManagerScope> = {}): FieldManagerScope {
  clock++;
  return {
    typed: { schema: { $ref: 'Thing' }, defs },
    apiVersion: 'example.com/v1',
    kind: 'default/t; example.com/v1, Kind=Thing',
    resetFields: [['f:status']],
    now: new Date(Date.UTC(2026, 0, 1, 0, 0, clock)).toISOString().replace('.000Z', 'Z'),
    ...extra,
  };
}

type Obj = Record<string, any>;
const thing = (spec: Obj, meta: Obj = {}): Obj => ({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 't', namespace: 'default', ...meta }, spec });

function entries(o: Obj): ManagedFieldsEntry[] {
  return o.metadata.managedFields ?? [];
}
function entry(o: Obj, manager: string): ManagedFieldsEntry | undefined {
  return entries(o).find((e) => e.manager === manager);
}
function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail('expected an error');
}

/** create by an Update manager, as the storage does it */
function create(o: Obj, manager: string): Obj {
  const next = structuredClone(o);
  next.metadata.uid = 'u1';
  updateManagedFields(scope(), undefined, next, manager);
  return next;
}
function update(live: Obj, next: Obj, manager: string, sub?: string): Obj {
  const n = structuredClone(next);
  updateManagedFields(scope(sub ? { subresource: sub, resetFields: [['f:spec']] } : {}), live, n, manager);
  return n;
}
function apply(live: Obj | undefined, config: Obj, manager: string, force = false): Obj {
  return applyConfiguration(scope(), live, structuredClone(config), manager, force);
}

test('FieldsV1 uses f:, k:, v: keys with "." for a member that has children, and round-trips', () => {
  const o = thing(
    { replicas: 1, containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 80, protocol: 'TCP' }] }], tags: ['b', 'a'], selector: { matchLabels: { app: 'a' } } },
    { labels: { app: 'a' } },
  );
  const created = apply(undefined, o, 'mgr');
  const e = entry(created, 'mgr')!;
  assert.equal(e.operation, 'Apply');
  assert.equal(e.fieldsType, 'FieldsV1');
  assert.deepEqual(e.fieldsV1, {
    'f:metadata': { 'f:labels': { 'f:app': {} } },
    'f:spec': {
      'f:containers': {
        'k:{"name":"a"}': {
          '.': {},
          'f:image': {},
          'f:name': {},
          'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } },
        },
      },
      'f:replicas': {},
      'f:selector': {},
      'f:tags': { 'v:"a"': {}, 'v:"b"': {} },
    },
  });
  assert.deepEqual(FieldSet.fromFieldsV1(e.fieldsV1).toFieldsV1(), e.fieldsV1);
  // written in upstream's order: "." first, then fields, keys, values (clients see these bytes)
  assert.equal(
    JSON.stringify(e.fieldsV1),
    '{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"a\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{},"f:protocol":{}}}}},"f:replicas":{},"f:selector":{},"f:tags":{"v:\\"a\\"":{},"v:\\"b\\"":{}}}}',
  );
  assert.match(e.time!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test('a create records an Update entry with "." for structures the write added; status and metadata.name are not owned', () => {
  const created = create({ ...thing({ replicas: 2, containers: [{ name: 'a', image: 'x' }] }, { labels: { app: 'a' } }), status: { ready: 1 } }, 'kubectl-create');
  const e = entry(created, 'kubectl-create')!;
  assert.equal(e.operation, 'Update');
  assert.equal(e.apiVersion, 'example.com/v1');
  assert.deepEqual(e.fieldsV1, {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
    'f:spec': { 'f:containers': { '.': {}, 'k:{"name":"a"}': { '.': {}, 'f:image': {}, 'f:name': {} } }, 'f:replicas': {} },
  });
});

test('an updater writing again fields it owns keeps its entry\'s fields with a new time; a new field adds to them', () => {
  const created = create(thing({ replicas: 1 }), 'kubectl-create');
  const first = update(created, { ...created, status: { ready: 1 } }, 'controller', 'status');
  const again = update(first, { ...first, status: { ready: 2 } }, 'controller', 'status');
  const before = entry(first, 'controller')!;
  const after = entry(again, 'controller')!;
  assert.deepEqual(after.fieldsV1, { 'f:status': { '.': {}, 'f:ready': {} } });
  assert.deepEqual(after.fieldsV1, before.fieldsV1);
  assert.notEqual(after.time, before.time);
  const grown = update(again, { ...again, metadata: { ...again.metadata, labels: { app: 'a' } }, status: { ready: 3 } }, 'controller', 'status');
  assert.deepEqual(entry(grown, 'controller')!.fieldsV1, { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:status': { '.': {}, 'f:ready': {} } });
  assert.deepEqual(entry(grown, 'kubectl-create')!.fieldsV1, entry(created, 'kubectl-create')!.fieldsV1);
});

test('an Update on a subresource is recorded with it, and ignores managedFields in the request', () => {
  const created = create(thing({ replicas: 1 }), 'kubectl-create');
  const next = structuredClone(created);
  next.status = { ready: 1 };
  next.metadata.managedFields = [];
  const out = update(created, next, 'controller', 'status');
  const e = entry(out, 'controller')!;
  assert.equal(e.subresource, 'status');
  assert.deepEqual(e.fieldsV1, { 'f:status': { '.': {}, 'f:ready': {} } });
  assert.ok(entry(out, 'kubectl-create'));
});

test('apply conflicts with a field an updater changed; the text and causes are upstream\'s; force takes it over', () => {
  const a = apply(undefined, thing({ replicas: 1, paused: false }), 'kubectl');
  const edited = structuredClone(a);
  edited.spec.replicas = 5;
  const b = update(a, edited, 'kubectl-edit');
  assert.deepEqual(entry(b, 'kubectl')!.fieldsV1, { 'f:spec': { 'f:paused': {} } }, 'the updater took replicas away from the applier');
  const err = apiError(() => apply(b, thing({ replicas: 2, paused: false }), 'kubectl'));
  assert.equal(err.code, 409);
  assert.equal(err.reason, 'Conflict');
  assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl-edit" using example.com/v1: .spec.replicas');
  assert.deepEqual(err.toStatus().details, {
    causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using example.com/v1', field: '.spec.replicas' }],
  });
  const forced = apply(b, thing({ replicas: 2, paused: false }), 'kubectl', true);
  assert.equal(forced.spec.replicas, 2);
  assert.equal(entry(forced, 'kubectl-edit'), undefined, 'the updater owns nothing any more');
  assert.deepEqual(entry(forced, 'kubectl')!.fieldsV1, { 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
});

test('several conflicts are grouped by manager; apply managers print without a version', () => {
  const a = apply(undefined, thing({ replicas: 1, paused: true }), 'one');
  const err = apiError(() => apply(a, thing({ replicas: 2, paused: false }), 'two'));
  assert.equal(err.message, 'Apply failed with 2 conflicts: conflicts with "one":\n- .spec.paused\n- .spec.replicas');
  assert.deepEqual(
    err.toStatus().details!.causes!.map((c) => c.field),
    ['.spec.paused', '.spec.replicas'],
  );
});

test('applying the same value shares ownership; the field stays while any owner applies it', () => {
  const a = apply(undefined, thing({ replicas: 3 }, { labels: { app: 'x' } }), 'one');
  const b = apply(a, thing({ replicas: 3 }), 'two');
  assert.deepEqual(entry(b, 'two')!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  assert.deepEqual(entry(b, 'one')!.fieldsV1, { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } });
  const c = apply(b, thing({}), 'one');
  assert.equal(c.spec.replicas, 3, 'two still applies replicas');
  const d = apply(c, thing({}), 'two');
  assert.equal(d.spec.replicas, undefined, 'nobody applies replicas any more');
});

test('re-applying without a key removes it; a key another manager changed is kept', () => {
  const a = apply(undefined, thing({ replicas: 1 }, { labels: { app: 'x', tier: 'db' } }), 'kubectl');
  const b = apply(a, thing({ replicas: 1 }, { labels: { app: 'x' } }), 'kubectl');
  assert.deepEqual(b.metadata.labels, { app: 'x' });
  const labelled = structuredClone(b);
  labelled.metadata.labels.team = 'blue';
  const c = update(b, labelled, 'kubectl-label');
  const d = apply(c, thing({ replicas: 1 }), 'kubectl');
  assert.deepEqual(d.metadata.labels, { team: 'blue' }, 'app (only applied) went, team (updated) stayed');
  assert.equal(d.metadata.name, 't');
});

test('list-map items merge by key: each applier keeps its own container, and dropping one removes only it', () => {
  const a = apply(undefined, thing({ containers: [{ name: 'a', image: 'a:1' }] }), 'one');
  const b = apply(a, thing({ containers: [{ name: 'b', image: 'b:1' }] }), 'two');
  assert.deepEqual(b.spec.containers.map((c: Obj) => c.name), ['a', 'b']);
  const c = apply(b, thing({ containers: [{ name: 'a', image: 'a:2' }] }), 'one');
  assert.deepEqual(c.spec.containers, [{ name: 'a', image: 'a:2' }, { name: 'b', image: 'b:1' }]);
  const d = apply(c, thing({ containers: [] }), 'one');
  assert.deepEqual(d.spec.containers, [{ name: 'b', image: 'b:1' }]);
  // a field of another applier's item conflicts only where it differs
  const err = apiError(() => apply(d, thing({ containers: [{ name: 'b', image: 'b:2' }] }), 'one'));
  assert.match(err.message, /conflict with "two": \.spec\.containers\[name="b"\]\.image$/);
});

test('multi-key list maps, nested in list maps, are keyed by every key', () => {
  const cfg = thing({ containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 80, protocol: 'UDP' }] }] });
  const a = apply(undefined, cfg, 'one');
  const b = apply(a, thing({ containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'UDP', name: 'dns' }] }] }), 'two');
  assert.deepEqual(b.spec.containers[0].ports, [
    { containerPort: 80, protocol: 'TCP' },
    { containerPort: 80, protocol: 'UDP', name: 'dns' },
  ]);
  const err = apiError(() => apply(b, thing({ containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'UDP', name: 'x' }] }] }), 'one'));
  assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "two": .spec.containers[name="a"].ports[containerPort=80,protocol="UDP"].name');
});

test('a list-map key left out takes its schema default, so a re-applied port without protocol is the same item', () => {
  const live = thing({ containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP' }] }] });
  const a = apply(live, thing({ containers: [{ name: 'a', ports: [{ containerPort: 80, name: 'http' }] }] }), 'one');
  assert.deepEqual(a.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }]);
  assert.ok((entry(a, 'one')!.fieldsV1 as any)['f:spec']['f:containers']['k:{"name":"a"}']['f:ports']['k:{"containerPort":80,"protocol":"TCP"}']);
});

test('patch-merge-key lists without a list type merge as maps (env by name)', () => {
  const a = apply(undefined, thing({ containers: [{ name: 'a', env: [{ name: 'X', value: '1' }] }] }), 'one');
  const b = apply(a, thing({ containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }] }), 'two');
  assert.deepEqual(b.spec.containers[0].env, [
    { name: 'X', value: '1' },
    { name: 'Y', value: '2' },
  ]);
});

test('set lists union their values and prune only the applier\'s own', () => {
  const a = apply(undefined, thing({ tags: ['x', 'y'] }, { finalizers: ['f/one'] }), 'one');
  const b = apply(a, thing({ tags: ['y', 'z'] }, { finalizers: ['f/two'] }), 'two');
  assert.deepEqual(b.spec.tags, ['x', 'y', 'z']);
  assert.deepEqual(b.metadata.finalizers, ['f/one', 'f/two']);
  const c = apply(b, thing({ tags: [] }), 'one');
  assert.deepEqual(c.spec.tags, ['y', 'z'], 'y is still applied by two');
  assert.deepEqual(c.metadata.finalizers, ['f/two']);
});

test('atomic lists and atomic maps are replaced whole and owned as one field', () => {
  const a = apply(undefined, thing({ containers: [{ name: 'a', args: ['1', '2'] }], selector: { matchLabels: { a: '1', b: '2' } } }), 'one');
  assert.deepEqual(entry(a, 'one')!.fieldsV1, {
    'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:args': {}, 'f:name': {} } }, 'f:selector': {} },
  });
  const b = apply(a, thing({ containers: [{ name: 'a', args: ['3'] }], selector: { matchLabels: { a: '1' } } }), 'one');
  assert.deepEqual(b.spec.containers[0].args, ['3']);
  assert.deepEqual(b.spec.selector, { matchLabels: { a: '1' } });
  const err = apiError(() => apply(b, thing({ selector: { matchLabels: { c: '3' } } }), 'two'));
  assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "one": .spec.selector');
});

test('granular maps: labels of different managers live side by side; free-form objects merge key by key', () => {
  const a = apply(undefined, thing({ free: { x: { y: 1 } } }, { labels: { a: '1' } }), 'one');
  const b = apply(a, thing({ free: { x: { z: 2 } } }, { labels: { b: '2' } }), 'two');
  assert.deepEqual(b.metadata.labels, { a: '1', b: '2' });
  assert.deepEqual(b.spec.free, { x: { y: 1, z: 2 } });
});

test('status in an apply to the main resource is ignored and not owned', () => {
  const a = apply(undefined, { ...thing({ replicas: 1 }), status: { ready: 3 } }, 'one');
  assert.equal(a.status, undefined);
  assert.deepEqual(entry(a, 'one')!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
});

test('unknown fields and duplicate keys are refused with upstream texts; managedFields in the config too', () => {
  const nested = apiError(() => apply(undefined, thing({ containers: [{ name: 'a', bogus: 1 }] }), 'one'));
  assert.match(nested.message, /: \.spec\.containers\[name="a"\]\.bogus: field not declared in schema$/);
  const err = apiError(() => apply(undefined, thing({ replicas: 1, bogus: true }), 'one'));
  assert.equal(err.code, 400);
  assert.equal(err.message, 'failed to create typed patch object (default/t; example.com/v1, Kind=Thing): .spec.bogus: field not declared in schema');
  const dup = apiError(() => apply(undefined, thing({ containers: [{ name: 'a' }, { name: 'a' }] }), 'one'));
  assert.equal(dup.message, 'failed to create typed patch object (default/t; example.com/v1, Kind=Thing): .spec.containers: duplicate entries for key [name="a"]');
  const nokey = apiError(() => apply(undefined, thing({ containers: [{ image: 'x' }] }), 'one'));
  assert.equal(
    nokey.message,
    'failed to create typed patch object (default/t; example.com/v1, Kind=Thing): .spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
  );
  const mf = apiError(() => apply(undefined, thing({}, { managedFields: [] }), 'one'));
  assert.equal(mf.message, 'metadata.managedFields must be nil');
});

test('managedFields: [] resets ownership and the object stays untracked until an apply (before-first-apply)', () => {
  const a = apply(undefined, thing({ replicas: 1 }), 'one');
  const reset = structuredClone(a);
  reset.metadata.managedFields = [];
  const r = update(a, reset, 'kubectl-edit');
  assert.equal(r.metadata.managedFields, undefined);
  const changed = structuredClone(r);
  changed.spec.paused = true;
  assert.equal(update(r, changed, 'someone').metadata.managedFields, undefined, 'updates on an untracked object are not tracked');
  const err = apiError(() => apply(changed, thing({ replicas: 4 }), 'two'));
  assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using example.com/v1: .spec.replicas');
  const b = apply(changed, thing({ replicas: 1 }), 'two');
  const before = entry(b, 'before-first-apply')!;
  assert.equal(before.operation, 'Update');
  assert.deepEqual(before.fieldsV1, { 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
  assert.deepEqual(entry(b, 'two')!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
});

test('managedFields a client sends are taken as they are (kubectl\'s CSA→SSA migration edits them)', () => {
  const a = create(thing({ replicas: 1 }), 'kubectl-client-side-apply');
  const edited = structuredClone(a);
  edited.metadata.managedFields = [{ ...entries(a)[0], manager: 'kubectl', operation: 'Apply' }];
  const out = update(a, edited, 'kubectl');
  assert.deepEqual(entries(out).map((e) => [e.manager, e.operation]), [['kubectl', 'Apply']]);
});

test('at most ten Update entries; older ones merge into ancient-changes', () => {
  let o = create(thing({ replicas: 0 }), 'm0');
  for (let i = 1; i <= 11; i++) {
    const n = structuredClone(o);
    n.spec[`x${i}`] = i;
    n.metadata.labels = { ...(n.metadata.labels ?? {}), [`l${i}`]: 'v' };
    o = update(o, n, `m${i}`);
  }
  const updates = entries(o).filter((e) => e.operation === 'Update');
  assert.equal(updates.length, 10);
  assert.ok(entry(o, 'ancient-changes'));
  assert.equal(entry(o, 'm0'), undefined);
});

test('kubectl --server-side after client-side apply: fields matching last-applied are taken without conflict, and the annotation follows', () => {
  const manifest = thing({ replicas: 1 }, { labels: { app: 'x' } });
  const annotation = JSON.stringify(manifest) + '\n';
  const csa = create(thing({ replicas: 1 }, { labels: { app: 'x' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': annotation } }), 'kubectl-client-side-apply');
  const ssa = apply(csa, thing({ replicas: 2 }, { labels: { app: 'x' } }), 'kubectl');
  assert.equal(ssa.spec.replicas, 2);
  const last = JSON.parse(ssa.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  assert.equal(last.spec.replicas, 2);
  // another manager name gets the conflict
  const err = apiError(() => apply(csa, thing({ replicas: 2 }), 'other'));
  assert.match(err.message, /conflict with "kubectl-client-side-apply" using example.com\/v1: \.spec\.replicas/);
  // a field changed since the last client-side apply still conflicts for kubectl
  const edited = structuredClone(csa);
  edited.spec.replicas = 7;
  const e2 = update(csa, edited, 'kubectl-edit');
  const err2 = apiError(() => apply(e2, thing({ replicas: 2 }, { labels: { app: 'x' } }), 'kubectl'));
  assert.match(err2.message, /conflict with "kubectl-edit"/);
});

test('an apply that changes nothing keeps the entry time', () => {
  const a = apply(undefined, thing({ replicas: 1 }), 'one');
  const t = entry(a, 'one')!.time;
  const b = apply(a, thing({ replicas: 1 }), 'one');
  assert.equal(entry(b, 'one')!.time, t);
  assert.deepEqual(b.spec, a.spec);
});

test('manager names come from fieldManager, else the User-Agent before the first slash', () => {
  assert.equal(managerName('me', 'kubectl/v1.33.0 (linux/amd64) kubernetes/abc'), 'me');
  assert.equal(managerName(undefined, 'kubectl/v1.33.0 (linux/amd64) kubernetes/abc'), 'kubectl');
  assert.equal(managerName(null, 'kube-controller-manager/v1.32.0'), 'kube-controller-manager');
  assert.equal(managerName('', undefined), '');
  assert.equal(managerName(undefined, 'x'.repeat(200)).length, 128);
});

test('compare and merge keep the live order of items the configuration does not name', () => {
  const typed = { schema: { $ref: 'Thing' }, defs };
  const live = thing({ containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
  const out = merge(live, thing({ containers: [{ name: 'd' }, { name: 'b', image: 'i' }] }), typed) as Obj;
  assert.deepEqual(out.spec.containers.map((c: Obj) => c.name), ['a', 'd', 'b', 'c']);
  const cmp = compare(live, out, typed);
  assert.deepEqual(cmp.added.paths().map((p) => p.join(' ')), [
    'f:spec f:containers k:{"name":"b"} f:image',
    'f:spec f:containers k:{"name":"d"}',
    'f:spec f:containers k:{"name":"d"} f:name',
  ]);
  assert.ok(toFieldSet(live, typed).has(['f:spec', 'f:containers', 'k:{"name":"a"}']));
});
