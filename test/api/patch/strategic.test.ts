import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ApiError } from '../../../src/api/errors.js';
import { strategicMergePatch } from '../../../src/api/patch/strategic.js';
import { kindDefinition, s, type Definitions, type Schema } from '../../../src/api/schema.js';

// A cut-down copy of the real definitions, with the same patch metadata.
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const OWNER_REF = 'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference';
const POD_TEMPLATE = 'io.k8s.api.core.v1.PodTemplateSpec';
const POD_SPEC = 'io.k8s.api.core.v1.PodSpec';
const CONTAINER = 'io.k8s.api.core.v1.Container';
const STS = 'io.k8s.api.apps.v1.StatefulSet';

const defs: Definitions = {
  [META]: s.obj(
    {
      name: s.str('name'),
      uid: s.str('uid'),
      labels: s.stringMap('labels'),
      annotations: s.stringMap('annotations'),
      ownerReferences: s.mergeList(s.ref(OWNER_REF), 'uid', 'owners'),
      finalizers: s.setList(s.str(''), 'finalizers'),
    },
    'meta',
  ),
  [OWNER_REF]: s.obj({ apiVersion: s.str(''), kind: s.str(''), name: s.str(''), uid: s.str(''), controller: s.bool('') }, 'ref'),
  [POD_TEMPLATE]: s.obj({ metadata: s.meta(), spec: s.ref(POD_SPEC) }, 'template'),
  [POD_SPEC]: s.obj(
    {
      containers: s.mergeList(s.ref(CONTAINER), 'name', 'containers'),
      initContainers: s.mergeList(s.ref(CONTAINER), 'name', 'init containers'),
      volumes: s.mergeList(s.ref('io.k8s.api.core.v1.Volume'), 'name', 'volumes', { 'x-kubernetes-patch-strategy': 'merge,retainKeys' }),
      tolerations: s.list(s.obj({ key: s.str(''), operator: s.str(''), effect: s.str('') }, 'toleration'), 'tolerations'),
      nodeSelector: s.stringMap('node selector'),
      terminationGracePeriodSeconds: s.int64('grace'),
    },
    'pod spec',
  ),
  [CONTAINER]: s.obj(
    {
      name: s.str(''),
      image: s.str(''),
      args: s.list(s.str(''), 'args'),
      ports: s.mergeList(s.obj({ containerPort: s.int32(''), name: s.str(''), protocol: s.str('') }, 'port'), 'containerPort', 'ports'),
      env: s.mergeList(s.obj({ name: s.str(''), value: s.str('') }, 'env'), 'name', 'env'),
      volumeMounts: s.mergeList(s.obj({ name: s.str(''), mountPath: s.str('') }, 'mount'), 'mountPath', 'mounts'),
    },
    'container',
  ),
  'io.k8s.api.core.v1.Volume': s.obj(
    { name: s.str(''), emptyDir: s.obj({ medium: s.str('') }, ''), configMap: s.obj({ name: s.str('') }, '') },
    'volume',
  ),
  [STS]: kindDefinition({ group: 'apps', version: 'v1', kind: 'StatefulSet' }, 'sts', {
    spec: s.obj({ replicas: s.int32(''), selector: s.any('selector'), template: s.ref(POD_TEMPLATE) }, 'spec'),
    status: s.any('status'),
  }),
};

const stsSchema: Schema = { $ref: STS };
const podSpecSchema: Schema = { $ref: POD_SPEC };

function smp(original: object, patch: object | null, schema: Schema = stsSchema): any {
  return strategicMergePatch(original as Record<string, unknown>, patch as Record<string, unknown> | null, schema, defs);
}

/** The status a failing patch turns into. */
function assertStatus(fn: () => unknown, code: number, reason: string | undefined, message: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    const st = e.toStatus();
    assert.equal(st.code, code);
    assert.equal(st.reason, reason);
    if (typeof message === 'string') assert.equal(st.message, message);
    else assert.match(st.message ?? '', message);
    return true;
  });
}

const names = (list: Array<{ name: string }>) => list.map((c) => c.name);

function sts(containers: object[]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', annotations: { keep: 'me' } },
    spec: { replicas: 1, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } },
  };
}

describe('maps', () => {
  test('merge recursively; null deletes a key; a null for an absent key does nothing', () => {
    const out = smp(sts([]), { metadata: { annotations: { keep: null, add: 'x' }, labels: null, absent: null }, spec: { replicas: 3 } });
    assert.deepEqual(out.metadata, { name: 'web', annotations: { add: 'x' } });
    assert.equal(out.spec.replicas, 3);
  });

  test('a value for a field the object lacks is added without its nulls', () => {
    const out = smp(sts([]), { spec: { extra: { a: 1, b: null, c: { d: null } } } });
    assert.deepEqual(out.spec.extra, { a: 1, c: {} });
  });

  test('$patch: replace swaps the map for the patch content', () => {
    const out = smp(sts([]), { metadata: { annotations: { $patch: 'replace', only: 'this' } } });
    assert.deepEqual(out.metadata.annotations, { only: 'this' });
  });

  test('$patch: delete empties the map', () => {
    const out = smp(sts([]), { metadata: { annotations: { $patch: 'delete' } } });
    assert.deepEqual(out.metadata.annotations, {});
  });

  test('$patch: delete for a field the object lacks leaves it unset', () => {
    const out = smp(sts([]), { metadata: { labels: { $patch: 'delete' } } });
    assert.equal(Object.hasOwn(out.metadata, 'labels'), false);
  });

  test('the inputs are not modified', () => {
    const original = sts([{ name: 'a', image: 'a:1' }]);
    const patch = {
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'a' }], containers: [{ name: 'a', image: 'a:2' }], $retainKeys: ['containers'] } } },
    };
    const before = structuredClone({ original, patch });
    const out = smp(original, patch);
    assert.equal(out.spec.template.spec.containers[0].image, 'a:2');
    assert.deepEqual({ original, patch }, before);
  });

  test('a null patch changes nothing', () => {
    assert.deepEqual(smp(sts([]), null), sts([]));
  });
});

describe('lists merged by key', () => {
  test('patch items update matching items by merge key; fields not in the patch stay', () => {
    const out = smp(sts([{ name: 'a', image: 'a:1', args: ['x'] }]), {
      spec: { template: { spec: { containers: [{ name: 'a', image: 'a:2' }] } } },
    });
    assert.deepEqual(out.spec.template.spec.containers, [{ name: 'a', image: 'a:2', args: ['x'] }]);
  });

  test('without $setElementOrder a new item goes before the server-only items', () => {
    // The StatefulSet conformance patch: an unknown capitalised field and a new container.
    const out = smp(sts([{ name: 'webserver', image: 'httpd' }]), {
      metadata: { labels: { 'test-ss': 'patched' } },
      spec: { replicas: 2, template: { spec: { TerminationGracePeriodSeconds: 1, containers: [{ name: 'test-ss', image: 'pause' }] } } },
    });
    assert.deepEqual(names(out.spec.template.spec.containers), ['test-ss', 'webserver']);
    assert.equal(out.spec.template.spec.TerminationGracePeriodSeconds, 1);
    assert.deepEqual(out.metadata.labels, { 'test-ss': 'patched' });
  });

  test('patch order wins for patched items; server-only items keep their place relative to them', () => {
    // upstream "preserve the order from the patch in a merging list 2"
    const out = smp(
      { containers: [{ name: '1' }, { name: '2', image: 'b' }, { name: '3' }] },
      { containers: [{ name: '3', image: 'c' }, { name: '1', image: 'a' }] },
      podSpecSchema,
    );
    assert.deepEqual(out.containers, [{ name: '2', image: 'b' }, { name: '3', image: 'c' }, { name: '1', image: 'a' }]);
  });

  test('kubectl apply: last-applied annotation plus $setElementOrder/containers', () => {
    const original = sts([{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }]);
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"x":1}\n' } },
      spec: {
        replicas: 3,
        template: { spec: { '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ image: 'nginx:1.26', name: 'nginx' }] } },
      },
    };
    const out = smp(original, patch);
    assert.deepEqual(out.metadata.annotations, { keep: 'me', 'kubectl.kubernetes.io/last-applied-configuration': '{"x":1}\n' });
    assert.equal(out.spec.replicas, 3);
    assert.deepEqual(out.spec.template.spec, { containers: [{ name: 'nginx', image: 'nginx:1.26', ports: [{ containerPort: 80 }] }] });
  });

  test('nested merge lists and nested $setElementOrder inside an item', () => {
    const original = {
      containers: [
        {
          name: 'app',
          ports: [{ containerPort: 80, name: 'http' }, { containerPort: 9090, name: 'metrics' }],
          env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
    };
    const out = smp(
      original,
      {
        containers: [
          {
            name: 'app',
            '$setElementOrder/ports': [{ containerPort: 443 }, { containerPort: 80 }, { containerPort: 9090 }],
            ports: [{ containerPort: 443, name: 'https' }],
            env: [{ name: 'B', value: '3' }, { name: 'A', $patch: 'delete' }],
            volumeMounts: [{ name: 'logs', mountPath: '/logs' }],
          },
        ],
      },
      podSpecSchema,
    );
    const app = out.containers[0];
    assert.deepEqual(
      app.ports.map((p: any) => p.containerPort),
      [443, 80, 9090],
    );
    assert.deepEqual(app.env, [{ name: 'B', value: '3' }]);
    assert.deepEqual(
      app.volumeMounts.map((m: any) => m.mountPath),
      ['/logs', '/data'],
    );
  });

  test('$patch: delete removes every item with that key; ownerReferences merge by uid', () => {
    const pod = {
      metadata: {
        name: 'web-0',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true },
          { apiVersion: 'v1', kind: 'Other', name: 'o', uid: 'other' },
        ],
      },
    };
    const out = smp(pod, { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'set-uid' }], uid: 'pod-uid' } }, { properties: { metadata: s.meta() } });
    assert.deepEqual(out.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Other', name: 'o', uid: 'other' }]);
    assert.equal(out.metadata.uid, 'pod-uid');
  });

  test('deleting from a list the object lacks leaves an empty list', () => {
    const out = smp({ metadata: { name: 'p' } }, { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'x' }] } }, { properties: { metadata: s.meta() } });
    assert.deepEqual(out.metadata.ownerReferences, []);
  });

  test('adoption: a new controller ref is added to the existing ones', () => {
    const ref = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u1', controller: true };
    const out = smp(
      { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u0' }] } },
      { metadata: { ownerReferences: [ref], uid: 'pod' } },
      { properties: { metadata: s.meta() } },
    );
    assert.deepEqual(
      out.metadata.ownerReferences.map((r: any) => r.uid),
      ['u1', 'u0'],
    );
  });

  test('duplicates in the object are all deleted by one directive (upstream case)', () => {
    const out = smp(
      { containers: [{ name: '1' }, { name: '1' }, { name: '2', image: 'a' }, { name: '3' }, { name: '3' }] },
      { containers: [{ name: '1', $patch: 'delete' }, { name: '3', $patch: 'delete' }] },
      podSpecSchema,
    );
    assert.deepEqual(out.containers, [{ name: '2', image: 'a' }]);
  });

  test('an empty patch list leaves a merge list alone', () => {
    const original = { containers: [{ name: 'a' }, { name: 'b' }] };
    assert.deepEqual(smp(original, { containers: [] }, podSpecSchema), original);
  });

  test('{"$patch":"replace"} in a list replaces the whole list', () => {
    const out = smp(
      { containers: [{ name: 'a', image: 'x' }, { name: 'b' }] },
      { containers: [{ $patch: 'replace' }, { name: 'c', image: 'y', env: null }] },
      podSpecSchema,
    );
    assert.deepEqual(out.containers, [{ name: 'c', image: 'y' }]);
    assert.deepEqual(smp({ containers: [{ name: 'a' }] }, { containers: [{ $patch: 'replace' }] }, podSpecSchema).containers, []);
  });

  test('a new item is added without directives or nulls', () => {
    const out = smp(
      { containers: [{ name: 'a' }] },
      { containers: [{ name: 'b', image: null, env: [{ name: 'X', $patch: 'delete' }, { name: 'Y', value: 'y' }], $retainKeys: ['name', 'env'] }] },
      podSpecSchema,
    );
    assert.deepEqual(out.containers, [{ name: 'b', env: [{ name: 'Y', value: 'y' }] }, { name: 'a' }]);
  });
});

describe('$setElementOrder (upstream fixtures)', () => {
  const list = (...items: Array<string | [string, object]>) =>
    items.map((i) => (typeof i === 'string' ? { name: i } : { name: i[0], ...i[1] }));

  test('adds an item where the order says', () => {
    const out = smp(
      { containers: list(['1', { other: 'a' }], ['2', { value: '2', other: 'b' }]) },
      { '$setElementOrder/containers': list('3', '1', '2'), containers: list(['3', { value: '3' }]) },
      podSpecSchema,
    );
    assert.deepEqual(out.containers, list(['3', { value: '3' }], ['1', { other: 'a' }], ['2', { value: '2', other: 'b' }]));
  });

  test('adds several items where the order says', () => {
    const out = smp(
      { containers: list('1', '2') },
      { '$setElementOrder/containers': list('1', '4', '2', '3'), containers: list(['4', { value: '4' }], ['3', { value: '3' }]) },
      podSpecSchema,
    );
    assert.deepEqual(names(out.containers), ['1', '4', '2', '3']);
  });

  test('delete plus order', () => {
    const out = smp(
      { containers: list(['1', { other: 'a' }], ['2', { value: '2' }], ['3', { value: '3' }]) },
      { '$setElementOrder/containers': list('4', '2', '1'), containers: [{ name: '4', value: '4' }, { name: '3', $patch: 'delete' }] },
      podSpecSchema,
    );
    assert.deepEqual(names(out.containers), ['4', '2', '1']);
  });

  test('server-only items stay between the items around them', () => {
    const out = smp(
      { containers: list('1', '2', '7', '9', '8', '3', '4') },
      { '$setElementOrder/containers': list('2', '1', '4', '3') },
      podSpecSchema,
    );
    assert.deepEqual(names(out.containers), ['2', '1', '7', '9', '8', '4', '3']);
    const trailing = smp({ containers: list('1', '3', '4', '2', '9') }, { '$setElementOrder/containers': list('4', '2', '3', '1') }, podSpecSchema);
    assert.deepEqual(names(trailing.containers), ['4', '2', '3', '1', '9']);
  });

  test('items named by the order but absent are ignored', () => {
    const out = smp(
      { containers: list('1', '3') },
      { '$setElementOrder/containers': list('3', '2', '1'), containers: list(['3', { value: '3' }], ['1', { value: '1' }]) },
      podSpecSchema,
    );
    assert.deepEqual(out.containers, list(['3', { value: '3' }], ['1', { value: '1' }]));
  });

  test('a patch list out of step with the order is refused', () => {
    assertStatus(
      () =>
        smp(
          { containers: list('1', '3', '2') },
          { '$setElementOrder/containers': list('1', '2', '3'), containers: list(['3', { value: '3' }], ['1', { value: '1' }]) },
          podSpecSchema,
        ),
      500,
      undefined,
      "the order in patch list:\n[map[name:3 value:3] map[name:1 value:1]]\n doesn't match $setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]",
    );
  });

  test('a list field the object lacks comes from the patch, in order', () => {
    const out = smp({}, { '$setElementOrder/initContainers': list('b', 'a'), initContainers: list('b', 'a') }, podSpecSchema);
    assert.deepEqual(names(out.initContainers), ['b', 'a']);
  });
});

describe('lists of scalars', () => {
  const meta: Schema = { properties: { metadata: s.meta() } };

  test('merge strategy makes a set union; new values go first, as upstream orders them', () => {
    const out = smp({ metadata: { finalizers: ['x', 'y'] } }, { metadata: { finalizers: ['z', 'x'] } }, meta);
    assert.deepEqual(out.metadata.finalizers, ['z', 'x', 'y']);
  });

  test('$setElementOrder on a scalar list (upstream fixture)', () => {
    const out = smp(
      { metadata: { finalizers: ['1', '4', '2'] } },
      { metadata: { '$setElementOrder/finalizers': ['3', '1', '2'], finalizers: ['3'] } },
      meta,
    );
    assert.deepEqual(out.metadata.finalizers, ['3', '1', '4', '2']);
  });

  test('$deleteFromPrimitiveList removes values, also with an order', () => {
    const out = smp(
      { metadata: { finalizers: ['a', 'b', 'c'] } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'nope'] } },
      meta,
    );
    assert.deepEqual(out.metadata.finalizers, ['a', 'c']);
    const ordered = smp(
      { metadata: { finalizers: ['1', '2', '3'] } },
      { metadata: { '$setElementOrder/finalizers': ['2', '1'], '$deleteFromPrimitiveList/finalizers': ['3'] } },
      meta,
    );
    assert.deepEqual(ordered.metadata.finalizers, ['2', '1']);
  });

  test('$deleteFromPrimitiveList works on lists without merge strategy and never creates a list', () => {
    const out = smp({ containers: [{ name: 'a', args: ['1', '2', '3'] }] }, { containers: [{ name: 'a', '$deleteFromPrimitiveList/args': ['2'] }] }, podSpecSchema);
    assert.deepEqual(out.containers[0].args, ['1', '3']);
    const none = smp({ metadata: {} }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } }, meta);
    assert.deepEqual(none.metadata, {});
  });
});

describe('lists without merge strategy and unknown fields', () => {
  test('atomic lists are replaced', () => {
    const out = smp(
      { tolerations: [{ key: 'a' }, { key: 'b' }], containers: [{ name: 'c', args: ['1', '2'] }] },
      { tolerations: [{ key: 'c', effect: null }], containers: [{ name: 'c', args: ['3'] }] },
      podSpecSchema,
    );
    assert.deepEqual(out.tolerations, [{ key: 'c' }]);
    assert.deepEqual(out.containers[0].args, ['3']);
  });

  test('fields without a schema behave like JSON merge patch', () => {
    const original = { spec: { selector: { matchLabels: { a: '1' }, matchExpressions: [{ key: 'x' }] } }, status: { conditions: [{ type: 'A' }] } };
    const out = smp(original, {
      spec: { selector: { matchLabels: { b: '2', a: null }, matchExpressions: [{ key: 'y' }] } },
      status: { conditions: [{ type: 'B', reason: null }] },
      unknownTop: { list: ['k1', null, 'k2'] },
    });
    assert.deepEqual(out.spec.selector, { matchLabels: { b: '2' }, matchExpressions: [{ key: 'y' }] });
    assert.deepEqual(out.status.conditions, [{ type: 'B' }]);
    assert.deepEqual(out.unknownTop, { list: ['k1', null, 'k2'] });
  });

  test('no schema at all still honours directives', () => {
    const out = strategicMergePatch({ a: { b: 1, c: 2 } }, { a: { $patch: 'replace', d: 3 } }, undefined, {});
    assert.deepEqual(out, { a: { d: 3 } });
  });

  test('a value of another type replaces the old one', () => {
    const out = smp({ spec: { replicas: 1, template: { spec: { nodeSelector: { a: 'b' } } } } }, { spec: { template: { spec: { nodeSelector: 'x' } } } });
    assert.equal(out.spec.template.spec.nodeSelector, 'x');
  });
});

describe('$retainKeys', () => {
  test('switching a volume source drops the old one', () => {
    const out = smp(
      { volumes: [{ name: 'v', emptyDir: {} }, { name: 'w', emptyDir: { medium: 'Memory' } }] },
      { '$setElementOrder/volumes': [{ name: 'v' }, { name: 'w' }], volumes: [{ $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' }, name: 'v' }] },
      podSpecSchema,
    );
    assert.deepEqual(out.volumes, [{ name: 'v', configMap: { name: 'cm' } }, { name: 'w', emptyDir: { medium: 'Memory' } }]);
  });

  test('keys the patch sets must be retained', () => {
    assertStatus(
      () => smp({ volumes: [{ name: 'v', emptyDir: {} }] }, { volumes: [{ $retainKeys: ['name'], configMap: { name: 'cm' }, name: 'v' }] }, podSpecSchema),
      400,
      'BadRequest',
      'invalid patch format of retainKeys',
    );
    assertStatus(() => smp({ a: 1 }, { $retainKeys: 'a' }), 400, 'BadRequest', 'invalid patch format of retainKeys');
  });
});

describe('kubectl rollout undo', () => {
  test('$patch: replace on spec.template swaps the whole template', () => {
    const live = {
      ...sts([
        { name: 'nginx', image: 'nginx:1.26', env: [{ name: 'A', value: '1' }] },
        { name: 'sidecar', image: 'busybox' },
      ]),
    };
    (live.spec.template.spec as any).nodeSelector = { disk: 'ssd' };
    (live.spec.template.metadata as any).annotations = { restartedAt: 'now' };
    const revisionData = {
      spec: {
        template: {
          $patch: 'replace',
          metadata: { creationTimestamp: null, labels: { app: 'web' } },
          spec: { containers: [{ image: 'nginx:1.25', name: 'nginx', resources: {} }], dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 },
        },
      },
    };
    const out = smp(live, revisionData);
    assert.deepEqual(out.spec.template, {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ image: 'nginx:1.25', name: 'nginx', resources: {} }], dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 },
    });
    assert.equal(out.spec.replicas, 1);
    assert.deepEqual(out.metadata.annotations, { keep: 'me' });
  });
});

describe('errors', () => {
  test('an unknown $patch value on a map', () => {
    assertStatus(() => smp(sts([]), { spec: { $patch: 'bogus', replicas: 2 } }), 500, undefined, 'unknown patch type: bogus in map: map[$patch:bogus replicas:2]');
    assertStatus(() => smp(sts([]), { spec: { $patch: 'merge' } }), 500, undefined, 'unknown patch type: merge in map: map[$patch:merge]');
  });

  test('unknown or merge $patch values in a list', () => {
    assertStatus(
      () => smp({ containers: [{ name: 'a' }] }, { containers: [{ name: 'a', $patch: 'nope' }] }, podSpecSchema),
      500,
      undefined,
      'unknown patch type: nope in map: map[$patch:nope name:a]',
    );
    assertStatus(
      () => smp({ containers: [{ name: 'a' }] }, { containers: [{ $patch: 'merge' }] }, podSpecSchema),
      500,
      undefined,
      'merging lists cannot yet be specified in the patch',
    );
  });

  test('an item without its merge key', () => {
    assertStatus(
      () => smp({ containers: [{ name: '1', value: 'a' }] }, { containers: [{ value: 'b' }] }, podSpecSchema),
      500,
      undefined,
      'map: map[value:b] does not contain declared merge key: name',
    );
  });

  test('malformed directive keys are bad requests', () => {
    assertStatus(() => smp({}, { $setElementOrderx: [] }, podSpecSchema), 400, 'BadRequest', 'invalid patch format of setElementOrder list');
    assertStatus(() => smp({}, { '$deleteFromPrimitiveListx': [] }, podSpecSchema), 400, 'BadRequest', 'invalid patch format of primitive list');
    assertStatus(
      () => smp({}, { '$setElementOrder/containers': 'a' }, podSpecSchema),
      500,
      undefined,
      'expected a []interface {}, but received a string',
    );
  });

  test('lists of lists are the opaque 422; mixed lists are refused', () => {
    assertStatus(
      () => smp({ metadata: { finalizers: [['a']] } }, { metadata: { finalizers: [['b']] } }, { properties: { metadata: s.meta() } }),
      422,
      'Invalid',
      'the server rejected our request due to an error in our request',
    );
    assertStatus(
      () => smp({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: [1] } }, { properties: { metadata: s.meta() } }),
      500,
      undefined,
      'list element types are not identical: [[a] [1]]',
    );
  });
});
