// Structural schemas of CustomResourceDefinitions: pruning, defaulting and validation with
// upstream's field paths and texts, the checks on the schema itself, printer-column JSONPath,
// and the CRD's own validation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, jsonPathValues, pruneUnknown, structuralProblems, unsupportedRules, validateStructural, type JSONSchemaProps } from '../../src/api/structural.js';
import { customKindsOf, compareKubeVersions, customDefinitionName } from '../../src/api/customresources.js';
import { customResourceDefinitionKind, validateCRD, type CustomResourceDefinition } from '../../src/api/kinds/customresourcedefinition.js';
import { errors } from '../../src/api/errors.js';
import { evalCelRule } from '../../src/api/cel.js';

const schema: JSONSchemaProps = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['cronSpec'],
      properties: {
        cronSpec: { type: 'string', pattern: '^\\S+ \\S+$' },
        replicas: { type: 'integer', minimum: 1, maximum: 10, default: 1 },
        mode: { type: 'string', enum: ['A', 'B'] },
        name: { type: 'string', maxLength: 3, minLength: 1 },
        port: { 'x-kubernetes-int-or-string': true },
        tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set', maxItems: 3 },
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer', default: 80 } } },
        },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', properties: { a: { type: 'string' } } } } },
        nullable: { type: 'string', nullable: true },
      },
    },
    status: { type: 'object', properties: { ready: { type: 'boolean' } } },
  },
};

/** A field error as upstream prints it in a Status message. */
function printed(obj: unknown): string[] {
  const e = errors.invalid({ group: 'stable.example.com', resource: 'crontabs', kind: 'CronTab' }, 'x', validateStructural(obj, schema));
  return e.details!.causes!.map((c) => `${c.field}: ${c.message}`);
}

describe('structural schema pruning', () => {
  it('drops unknown fields at every level and returns their paths, keeping apiVersion/kind/metadata and preserved subtrees', () => {
    const obj: any = {
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'x' },
      extra: 1,
      spec: {
        cronSpec: '* *',
        bogus: true,
        ports: [{ name: 'a', junk: 1 }],
        free: { anything: { nested: [1, 2] } },
        labels: { a: 'b' },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { a: 'x', b: 'gone' } },
      },
      status: { ready: true, other: 'x' },
    };
    const dropped = pruneUnknown(obj, schema);
    assert.deepEqual(dropped.sort(), ['extra', 'spec.bogus', 'spec.ports[0].junk', 'spec.template.spec.b', 'status.other']);
    assert.deepEqual(obj.spec.free, { anything: { nested: [1, 2] } });
    assert.deepEqual(obj.spec.template, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { a: 'x' } });
    assert.deepEqual(obj.metadata, { name: 'x' });
  });
});

describe('structural schema defaulting', () => {
  it('fills absent fields, list items and non-nullable nulls from defaults', () => {
    const obj: any = { spec: { cronSpec: '* *', ports: [{ name: 'a' }, { name: 'b', port: 8080 }] } };
    applyDefaults(obj, schema);
    assert.equal(obj.spec.replicas, 1);
    assert.deepEqual(obj.spec.ports, [{ name: 'a', port: 80 }, { name: 'b', port: 8080 }]);
    const withNull: any = { spec: { replicas: null, mode: null, nullable: null } };
    applyDefaults(withNull, schema);
    assert.deepEqual(withNull.spec, { replicas: 1, nullable: null });
    // no default for an absent parent object
    const bare: any = {};
    applyDefaults(bare, schema);
    assert.deepEqual(bare, {});
  });
});

describe('structural schema validation', () => {
  it('accepts a valid object', () => {
    assert.deepEqual(validateStructural({ metadata: { name: 'x', whatever: 1 }, spec: { cronSpec: '* *', port: 'http', tags: ['a'], nullable: null } }, schema), []);
    assert.deepEqual(validateStructural({ spec: { cronSpec: '* *', port: 8080 } }, schema), []);
  });

  it('reports types, required fields, ranges, enums and patterns with upstream field paths and texts', () => {
    assert.deepEqual(printed({ spec: { replicas: 'x', mode: 'C', cronSpec: 'bad', name: '', port: true } }).sort(), [
      'spec.cronSpec: Invalid value: "bad": spec.cronSpec in body should match \'^\\S+ \\S+$\'',
      'spec.mode: Unsupported value: "C": supported values: "A", "B"',
      'spec.name: Invalid value: "": spec.name in body should be at least 1 chars long',
      'spec.port: Invalid value: "boolean": spec.port in body must be of type integer or string: "boolean"',
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    ]);
    assert.deepEqual(printed({ spec: { replicas: 0 } }).sort(), [
      'spec.cronSpec: Required value',
      'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
    ]);
    assert.deepEqual(printed({ spec: { cronSpec: '* *', replicas: 11, name: 'abcd' } }).sort(), [
      'spec.name: Too long: may not be more than 3 bytes',
      'spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10',
    ]);
    assert.deepEqual(printed({ spec: 'x' }), ['spec: Invalid value: "string": spec in body must be of type object: "string"']);
    assert.deepEqual(printed({ spec: { cronSpec: null } }), ['spec.cronSpec: Invalid value: "null": spec.cronSpec in body must be of type string: "null"']);
  });

  it('checks list types: sets and maps have no duplicates, maxItems', () => {
    assert.deepEqual(printed({ spec: { cronSpec: '* *', tags: ['a', 'b', 'a', 'c'], ports: [{ name: 'x' }, { name: 'x' }] } }).sort(), [
      'spec.ports[1]: Duplicate value: {"name":"x"}',
      'spec.tags: Too many: 4: must have at most 3 items',
      'spec.tags[2]: Duplicate value: "a"',
    ]);
  });

  it('requires apiVersion and kind of an embedded resource', () => {
    assert.deepEqual(printed({ spec: { cronSpec: '* *', template: { spec: {} } } }).sort(), [
      'spec.template.apiVersion: Required value: must not be empty',
      'spec.template.kind: Required value: must not be empty',
    ]);
  });
});

describe('the schema itself', () => {
  it('must be structural: types everywhere, items for arrays, no $ref, object at the root', () => {
    const problems = (s: unknown) => structuralProblems(s, 'spec.versions[0].schema.openAPIV3Schema').map((e) => `${e.field}: ${e.type}`);
    assert.deepEqual(problems(schema), []);
    assert.deepEqual(problems({ type: 'object', properties: { a: {}, b: { type: 'array' }, c: { $ref: '#/x', type: 'string' } } }), [
      'spec.versions[0].schema.openAPIV3Schema.properties[a].type: FieldValueRequired',
      'spec.versions[0].schema.openAPIV3Schema.properties[b].items: FieldValueRequired',
      'spec.versions[0].schema.openAPIV3Schema.properties[c].$ref: FieldValueForbidden',
    ]);
    assert.deepEqual(problems({ type: 'string' }), ['spec.versions[0].schema.openAPIV3Schema.type: FieldValueInvalid']);
    // defaults must validate against their own schema
    assert.deepEqual(
      structuralProblems({ type: 'object', properties: { n: { type: 'integer', minimum: 1, default: 0 }, s: { type: 'string', default: 'ok' } } }, 'root').map((e) => `${e.field}: ${e.detail}`),
      ['root.properties[n].default: default in body should be greater than or equal to 1'],
    );
    assert.deepEqual(problems({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { p: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } } }), []);
  });
});

describe('printer-column JSONPath', () => {
  const obj = { spec: { a: { b: 3 }, list: [1, 2] }, status: { conditions: [{ type: 'Synced', status: 'False' }, { type: 'Ready', status: 'True', message: 'ok' }] } };
  it('finds fields, indices and filtered list items', () => {
    assert.deepEqual(jsonPathValues(obj, '.spec.a.b'), [3]);
    assert.deepEqual(jsonPathValues(obj, '.spec.list[1]'), [2]);
    assert.deepEqual(jsonPathValues(obj, '.spec.list[*]'), [1, 2]);
    assert.deepEqual(jsonPathValues(obj, '.status.conditions[?(@.type=="Ready")].status'), ['True']);
    assert.deepEqual(jsonPathValues(obj, '.status.conditions[?(@.type == "Ready")].message'), ['ok']);
    assert.deepEqual(jsonPathValues(obj, '.spec.missing'), []);
  });
});

function crd(overrides: Partial<CustomResourceDefinition['spec']> = {}, name = 'crontabs.stable.example.com'): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name },
    spec: {
      group: 'stable.example.com',
      scope: 'Namespaced',
      names: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', shortNames: ['ct'] },
      versions: [
        { name: 'v1beta1', served: true, storage: false, deprecated: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema as any },
          subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
          additionalPrinterColumns: [{ name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' }],
        },
        { name: 'v0', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
      ],
      ...overrides,
    },
  };
}

describe('CustomResourceDefinition', () => {
  it('accepts a valid definition and refuses bad names, scope, storage versions and schemas with field paths', () => {
    assert.deepEqual(validateCRD(crd()), []);
    const fields = (c: CustomResourceDefinition) => validateCRD(c).map((e) => `${e.field}: ${e.type}${e.detail ? `: ${e.detail}` : ''}`);
    assert.deepEqual(fields(crd({}, 'wrong.stable.example.com')), ['metadata.name: FieldValueInvalid: must be spec.names.plural+"."+spec.group']);
    assert.deepEqual(fields(crd({ scope: 'Everywhere' as any })), ['spec.scope: FieldValueNotSupported: supported values: "Cluster", "Namespaced"']);
    const twoStorage = crd();
    twoStorage.spec.versions[0].storage = true;
    assert.deepEqual(fields(twoStorage), ['spec.versions: FieldValueInvalid: must have exactly one version marked as storage version']);
    const protectedGroup = crd({ group: 'things.k8s.io' }, 'crontabs.things.k8s.io');
    assert.deepEqual(fields(protectedGroup), [
      'metadata.annotations[api-approved.kubernetes.io]: FieldValueRequired: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
    ]);
    protectedGroup.metadata.annotations = { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api/pull/2466' };
    assert.deepEqual(fields(protectedGroup), []);
    // a conversion webhook is accepted (with a warning: petset calls none) when it is described
    assert.deepEqual(fields(crd({ conversion: { strategy: 'Webhook' } })), ['spec.conversion.webhook: FieldValueRequired: required when strategy is set to Webhook']);
    const webhook = crd({ conversion: { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1'], clientConfig: { service: { name: 'conv', namespace: 'x' } } } } as any });
    assert.deepEqual(fields(webhook), []);
    assert.match(customResourceDefinitionKind.warnings!(webhook).join(), /petset does not call conversion webhooks/);
    const noSchema = crd();
    delete noSchema.spec.versions[1].schema;
    assert.deepEqual(fields(noSchema), ['spec.versions[1].schema.openAPIV3Schema: FieldValueRequired: schemas are required']);
  });

  it('defines one kind per served version, in priority order, with its schema, subresources and columns', () => {
    const { kinds, definitions } = customKindsOf(crd());
    assert.deepEqual(
      kinds.map((k) => `${k.group}/${k.version} ${k.kind}`),
      ['stable.example.com/v1 CronTab', 'stable.example.com/v1beta1 CronTab'],
    );
    const v1 = kinds[0];
    assert.equal(v1.definition, 'com.example.stable.v1.CronTab');
    assert.ok(definitions[v1.definition].properties?.metadata?.$ref);
    assert.equal(v1.subresources?.status, true);
    assert.equal(v1.subresources?.scale?.specReplicasPath, 'spec.replicas');
    assert.deepEqual(v1.table!.columns.map((c) => c.name), ['Name', 'Replicas']);
    assert.deepEqual(kinds[1].table!.columns.map((c) => c.name), ['Name', 'Age']);
    assert.equal(kinds[1].custom?.deprecationWarning, 'stable.example.com/v1beta1 CronTab is deprecated; use stable.example.com/v1 CronTab');
    assert.equal(kinds[0].custom?.deprecationWarning, undefined);
    assert.equal(customDefinitionName('apps.kruise.io', 'v1beta1', 'StatefulSet'), 'io.kruise.apps.v1beta1.StatefulSet');
  });

  it('orders versions as Kubernetes does', () => {
    assert.deepEqual(['v1beta1', 'v1alpha1', 'v2', 'foo', 'v1', 'v10beta3', 'v1beta2'].sort(compareKubeVersions), ['v2', 'v1', 'v10beta3', 'v1beta2', 'v1beta1', 'v1alpha1', 'foo']);
  });
});

describe('x-kubernetes-validations (CEL)', () => {
  const celSchema: JSONSchemaProps = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        'x-kubernetes-validations': [
          { rule: 'self.minReplicas <= self.replicas', message: 'replicas should be greater than or equal to minReplicas' },
          { rule: "!has(self.mode) || self.mode in ['a', 'b']" },
          { rule: 'self.tags.all(t, t.startsWith("x-")) && size(self.tags) < 3', fieldPath: '.tags', reason: 'FieldValueForbidden', message: 'tags must start with x-' },
        ],
        properties: {
          replicas: { type: 'integer' },
          minReplicas: { type: 'integer' },
          mode: { type: 'string' },
          tags: { type: 'array', items: { type: 'string' } },
          name: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'name is immutable' }] },
          ports: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
            items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer', 'x-kubernetes-validations': [{ rule: 'self >= oldSelf', message: 'ports only grow' }] } } },
          },
        },
      },
    },
  };
  const shown = (obj: unknown, old?: unknown) => validateStructural(obj, celSchema, '', true, old).map((e) => `${e.field}: ${e.type}: ${e.detail}`);

  it('checks rules with self, reporting the message (or the rule) at the node or its fieldPath', () => {
    assert.deepEqual(shown({ spec: { replicas: 3, minReplicas: 1, tags: ['x-a'] } }), []);
    assert.deepEqual(shown({ spec: { replicas: 1, minReplicas: 2, mode: 'c', tags: ['y'] } }), [
      'spec: FieldValueInvalid: replicas should be greater than or equal to minReplicas',
      "spec: FieldValueInvalid: failed rule: !has(self.mode) || self.mode in ['a', 'b']",
      'spec.tags: FieldValueForbidden: tags must start with x-',
    ]);
    assert.deepEqual(shown({ spec: { replicas: 1, tags: [] } }), ['spec: FieldValueInvalid: no such key: minReplicas evaluating rule: self.minReplicas <= self.replicas']);
  });

  it('checks transition rules only against a stored value, matching map-list items by key', () => {
    const base = { replicas: 1, minReplicas: 1, tags: [] };
    assert.deepEqual(shown({ spec: { ...base, name: 'a' } }), []);
    assert.deepEqual(shown({ spec: { ...base, name: 'b' } }, { spec: { ...base, name: 'a' } }), ['spec.name: FieldValueInvalid: name is immutable']);
    const ports = (...ps: Array<[string, number]>) => ({ spec: { ...base, ports: ps.map(([name, port]) => ({ name, port })) } });
    assert.deepEqual(shown(ports(['b', 1], ['a', 5]), ports(['a', 4], ['b', 2])), ['spec.ports[0].port: FieldValueInvalid: ports only grow']);
    assert.deepEqual(shown(ports(['c', 1]), ports(['a', 4])), []);
  });

  it('names the rules it cannot evaluate (accepted, not enforced) for the CRD writer', () => {
    const schema = { type: 'object', properties: { a: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self.x >' }, { rule: 'quantity(self) > 1' }, { rule: 'self == "a"' }] } } };
    assert.deepEqual(structuralProblems(schema, 'root'), []);
    assert.deepEqual(unsupportedRules(schema, 'root'), [
      "root.properties[a].x-kubernetes-validations[0].rule: petset does not enforce this rule (Syntax error: unexpected '' at 8): self.x >",
      "root.properties[a].x-kubernetes-validations[1].rule: petset does not enforce this rule (undeclared reference to 'quantity'): quantity(self) > 1",
    ]);
    assert.deepEqual(validateStructural({ a: 'b' }, schema as JSONSchemaProps).map((e) => e.detail), ['failed rule: self == "a"']);
  });

  it('bounds the cost of one evaluation', () => {
    const big = Array.from({ length: 2000 }, (_, i) => i);
    assert.throws(() => evalCelRule('self.all(x, self.all(y, x + y >= 0))', { self: big }), /actual cost limit exceeded/);
    assert.equal(evalCelRule('self.all(x, x >= 0)', { self: big }), true);
  });
});
