import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import {
  convertFieldSelector,
  DEFAULT_FIELD_LABELS,
  escapeFieldValue,
  fieldLabelPolicy,
  formatLabelSelector,
  LabelSelector,
  labelSelectorFromObject,
  labelSelectorFromSet,
  labelSelectorToString,
  objectMetaFields,
  parseFieldSelector,
  parseLabelSelector,
} from '../../src/api/selectors.js';

const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

function badRequest(fn: () => unknown, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    assert.equal(e.code, 400);
    assert.equal(e.reason, 'BadRequest');
    assert.equal(e.message, message);
    return true;
  });
}

describe('parseLabelSelector', () => {
  it('round-trips the upstream good strings (spaces dropped)', () => {
    for (const s of ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=', 'x= ', 'x=,z= ', 'x= ,z= ', '!x', 'x>1', 'x>1,z<5']) {
      assert.equal(parseLabelSelector(s).toString(), s.replaceAll(' ', ''), s);
    }
  });

  it('is deterministic whatever the input order', () => {
    assert.equal(parseLabelSelector('x=a,a=x').toString(), parseLabelSelector('a=x,x=a').toString());
    assert.equal(parseLabelSelector('x=a,a=x').toString(), 'a=x,x=a');
  });

  it('parses set-based forms and prints them like upstream', () => {
    const cases: [string, string][] = [
      ['\rx', 'x'],
      ['this-is-a-dns.domain.com/key-with-dash', 'this-is-a-dns.domain.com/key-with-dash'],
      ['this-is-another-dns.domain.com/key-with-dash in (so,what)', 'this-is-another-dns.domain.com/key-with-dash in (so,what)'],
      ['0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', '0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)'],
      ['foo  in\t (abc)', 'foo in (abc)'],
      ['x notin\n (abc)', 'x notin (abc)'],
      ['x  notin\t\t\t(abc,def)', 'x notin (abc,def)'],
      ['x in (def,abc,abc)', 'x in (abc,def)'],
      ['x in (abc,)', 'x in (,abc)'],
      ['x in ()', 'x in ()'],
      ['x notin ( )', 'x notin ()'],
      ['x notin (, a)', 'x notin (,a)'],
      ['x notin (abc,def),bar,z in (),w', 'bar,w,x notin (abc,def),z in ()'],
      ['x,y in (a)', 'x,y in (a)'],
      ['a ', 'a'],
      ['a in (x,y,notin, z,in)', 'a in (in,notin,x,y,z)'],
      ['notin=in', 'notin=in'],
      ['x==a', 'x==a'],
      ['app=web,tier!=db,!canary', 'app=web,!canary,tier!=db'],
    ];
    for (const [input, out] of cases) assert.equal(parseLabelSelector(input).toString(), out, input);
  });

  it('rejects bad input with upstream messages', () => {
    const cases: [string, string][] = [
      ['x=a||y=b', `unable to parse requirement: values[0][x]: Invalid value: "a||y": ${LABEL_VALUE_MSG}`],
      ['x=a y=b', "found 'y', expected: ',' or 'end of string'"],
      ['x==a==b', "found '==', expected: ',' or 'end of string'"],
      ['!x=a', "found '=', expected: ',' or 'end of string'"],
      ['x<a', "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"],
      ['x,,y', "found ',', expected: identifier after ','"],
      [',x,y', "found ',', expected: !, identifier, or 'end of string'"],
      ['x nott in (y)', "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"],
      ['env IN (a)', "unable to parse requirement: found 'IN', expected: in, notin, =, ==, !=, gt, lt"],
      ['a in (xyz),', "found '', expected: identifier after ','"],
      ['a in (xyz)b notin ()', "found 'b', expected: ',' or 'end of string'"],
      ['a in (xyz abc)', "unable to parse requirement: found 'abc', expected: ',' or ')'"],
      ['a notin(', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
      ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
      ['a in (b,', "unable to parse requirement: found '', expected: ',', or identifier"],
      ['a in b', "unable to parse requirement: found 'b' expected: '('"],
      ['a (', "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
      ['(', "found '(', expected: !, identifier, or 'end of string'"],
      ['!', "unable to parse requirement: found '', expected: identifier"],
      ['a=(b)', "unable to parse requirement: found '(', expected: identifier"],
      ['a:', `unable to parse requirement: <nil>: Invalid value: "a:": ${NAME_PART_MSG}`],
      ['a=-b', `unable to parse requirement: values[0][a]: Invalid value: "-b": ${LABEL_VALUE_MSG}`],
      ['a in (ok,-x)', `unable to parse requirement: values[0][a]: Invalid value: "-x": ${LABEL_VALUE_MSG}`],
    ];
    for (const [input, msg] of cases) badRequest(() => parseLabelSelector(input), msg);
  });

  it('matches like upstream', () => {
    const yes: [string, Record<string, string>][] = [
      ['', { x: 'y' }],
      ['x=y', { x: 'y' }],
      ['x=y,z=w', { x: 'y', z: 'w' }],
      ['x!=y,z!=w', { x: 'z', z: 'a' }],
      ['notin=in', { notin: 'in' }],
      ['x', { x: 'z' }],
      ['!x', { y: 'z' }],
      ['x>1', { x: '2' }],
      ['x<1', { x: '0' }],
      ['x!=y', {}],
      ['x notin (a)', {}],
      ['x notin (a)', { x: 'b' }],
      ['x in (a,b)', { x: 'b' }],
      ['x=', { x: '' }],
      ['foo=bar,baz=blah', { foo: 'bar', baz: 'blah' }],
    ];
    const no: [string, Record<string, string>][] = [
      ['x=z', {}],
      ['x=y', { x: 'z' }],
      ['x=y,z=w', { x: 'w', z: 'w' }],
      ['x!=y,z!=w', { x: 'z', z: 'w' }],
      ['x', { y: 'z' }],
      ['!x', { x: 'z' }],
      ['x>1', { x: '0' }],
      ['x<1', { x: '2' }],
      ['x>1', { x: 'v2' }],
      ['x>1', {}],
      ['x in (a)', {}],
      ['x notin (a)', { x: 'a' }],
      ['x=', {}],
      ['foo=bar,foobar=bar,baz=blah', { foo: 'bar', baz: 'blah' }],
      ['constructor', {}],
    ];
    for (const [s, ls] of yes) assert.equal(parseLabelSelector(s).matches(ls), true, `${s} should match ${JSON.stringify(ls)}`);
    for (const [s, ls] of no) assert.equal(parseLabelSelector(s).matches(ls), false, `${s} should not match ${JSON.stringify(ls)}`);
    assert.equal(parseLabelSelector('x!=a').matches(undefined), true);
    assert.equal(parseLabelSelector('x').matches(null), false);
  });

  it('tells an index which single value a key must have', () => {
    const sel = parseLabelSelector('app=web,tier in (db),env in (a,b),x!=y');
    assert.equal(sel.requiresExactMatch('app'), 'web');
    assert.equal(sel.requiresExactMatch('tier'), 'db');
    assert.equal(sel.requiresExactMatch('env'), undefined);
    assert.equal(sel.requiresExactMatch('x'), undefined);
    assert.equal(sel.requiresExactMatch('nope'), undefined);
  });

  it('exposes its requirements', () => {
    assert.deepEqual(parseLabelSelector('b in (y,x),a').requirements, [
      { key: 'a', operator: 'exists', values: [] },
      { key: 'b', operator: 'in', values: ['x', 'y'] },
    ]);
    assert.equal(parseLabelSelector('').empty, true);
  });
});

describe('labelSelectorFromObject', () => {
  it('nil selects nothing and {} selects everything', () => {
    for (const nil of [null, undefined]) {
      const sel = labelSelectorFromObject(nil);
      assert.equal(sel.selectsNothing, true);
      assert.equal(sel.empty, false);
      assert.equal(sel.matches({ a: 'b' }), false);
      assert.equal(sel.matches({}), false);
      assert.equal(sel.toString(), '');
    }
    for (const all of [{}, { matchLabels: {}, matchExpressions: [] }, { matchLabels: null, matchExpressions: null }]) {
      const sel = labelSelectorFromObject(all);
      assert.equal(sel.empty, true);
      assert.equal(sel.matches({ a: 'b' }), true);
      assert.equal(sel.matches(undefined), true);
      assert.equal(sel.toString(), '');
    }
  });

  it('renders the Scale.status.selector string like upstream', () => {
    assert.equal(labelSelectorToString({ matchLabels: { app: 'web' } }), 'app=web');
    assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'app', operator: 'In', values: ['b', 'a'] }] }), 'app in (a,b)');
    assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'foo', operator: 'DoesNotExist' }] }), '!foo');
    assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'foo', operator: 'Exists', values: [] }] }), 'foo');
    assert.equal(labelSelectorToString({ matchExpressions: [{ key: 'foo', operator: 'NotIn', values: ['x'] }] }), 'foo notin (x)');
    assert.equal(
      labelSelectorToString({
        matchLabels: { tier: 'db', app: 'web' },
        matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'canary'] }],
      }),
      'app=web,env in (canary,prod),tier=db',
    );
    assert.equal(labelSelectorToString({}), '');
    assert.equal(labelSelectorToString(null), '');
  });

  it('matches what the string form matches', () => {
    const obj = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] };
    const sel = labelSelectorFromObject(obj);
    const reparsed = parseLabelSelector(sel.toString());
    for (const ls of [{ app: 'web' }, { app: 'web', tier: 'db' }, { app: 'web', tier: 'fe' }, { tier: 'fe' }] as Record<string, string>[]) {
      assert.equal(sel.matches(ls), reparsed.matches(ls), JSON.stringify(ls));
    }
    assert.equal(sel.matches({ app: 'web' }), true);
    assert.equal(sel.matches({ app: 'web', tier: 'db' }), false);
  });

  it('rejects invalid selectors with upstream messages', () => {
    badRequest(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Foo' }] }), '"Foo" is not a valid pod selector operator');
    badRequest(
      () => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }),
      "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
    );
    badRequest(
      () => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
      'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
    );
    badRequest(() => labelSelectorFromObject({ matchLabels: { '-bad': 'x' } }), `key: Invalid value: "-bad": ${NAME_PART_MSG}`);
    badRequest(() => labelSelectorFromObject({ matchLabels: { app: 'a b' } }), `values[0][app]: Invalid value: "a b": ${LABEL_VALUE_MSG}`);
    badRequest(
      () => labelSelectorFromObject({ matchExpressions: [{ key: '-x', operator: 'NotIn' }] }),
      `[key: Invalid value: "-x": ${NAME_PART_MSG}, values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty]`,
    );
  });

  it('formats for people like metav1.FormatLabelSelector', () => {
    assert.equal(formatLabelSelector({}), '<none>');
    assert.equal(formatLabelSelector(null), '<none>');
    assert.equal(formatLabelSelector({ matchLabels: { app: 'web' } }), 'app=web');
    assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Nope' }] }), '<error>');
  });
});

describe('labelSelectorFromSet', () => {
  it('matches exactly the set; empty or absent selects everything', () => {
    const sel = labelSelectorFromSet({ b: '2', a: '1' });
    assert.equal(sel.toString(), 'a=1,b=2');
    assert.equal(sel.matches({ a: '1', b: '2', c: '3' }), true);
    assert.equal(sel.matches({ a: '1' }), false);
    assert.equal(labelSelectorFromSet({}).matches({ x: 'y' }), true);
    assert.equal(labelSelectorFromSet(undefined).empty, true);
    assert.equal(LabelSelector.everything().matches({}), true);
    assert.equal(LabelSelector.nothing().matches({}), false);
  });
});

describe('parseFieldSelector', () => {
  it('parses =, == and !=, sorts terms and matches', () => {
    const sel = parseFieldSelector('status.phase!=Running,spec.nodeName==n1');
    assert.equal(sel.toString(), 'spec.nodeName=n1,status.phase!=Running');
    assert.deepEqual(sel.requirements, [
      { field: 'spec.nodeName', operator: '=', value: 'n1' },
      { field: 'status.phase', operator: '!=', value: 'Running' },
    ]);
    assert.equal(sel.matches({ 'spec.nodeName': 'n1', 'status.phase': 'Pending' }), true);
    assert.equal(sel.matches({ 'spec.nodeName': 'n1', 'status.phase': 'Running' }), false);
    assert.equal(sel.matches({ 'spec.nodeName': 'n2', 'status.phase': 'Pending' }), false);
  });

  it('treats an absent field as the empty string (unscheduled pods)', () => {
    const sel = parseFieldSelector('spec.nodeName=');
    assert.equal(sel.matches({}), true);
    assert.equal(sel.matches({ 'spec.nodeName': '' }), true);
    assert.equal(sel.matches({ 'spec.nodeName': 'n1' }), false);
    assert.equal(parseFieldSelector('spec.nodeName!=').matches({ 'spec.nodeName': 'n1' }), true);
    assert.equal(parseFieldSelector('spec.nodeName!=').matches({}), false);
  });

  it('empty selects everything', () => {
    for (const s of ['', ',', ',,']) {
      const sel = parseFieldSelector(s);
      assert.equal(sel.empty, true);
      assert.equal(sel.matches({ a: 'b' }), true);
      assert.equal(sel.toString(), '');
    }
  });

  it('handles backslash escapes of , = and \\', () => {
    const sel = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d,spec.x=y');
    assert.deepEqual(
      sel.requirements.map((r) => r.value),
      ['a,b=c\\d', 'y'],
    );
    assert.equal(sel.toString(), 'metadata.name=a\\,b\\=c\\\\d,spec.x=y');
    assert.equal(escapeFieldValue('a,b=c\\d'), 'a\\,b\\=c\\\\d');
    assert.equal(parseFieldSelector(`metadata.name=${escapeFieldValue('x=,\\')}`).requirements[0].value, 'x=,\\');
  });

  it('splits each term at its first operator', () => {
    assert.deepEqual(parseFieldSelector('a!b=c').requirements, [{ field: 'a!b', operator: '=', value: 'c' }]);
    assert.deepEqual(parseFieldSelector('a==b').requirements, [{ field: 'a', operator: '=', value: 'b' }]);
    assert.deepEqual(parseFieldSelector('=b').requirements, [{ field: '', operator: '=', value: 'b' }]);
  });

  it('rejects bad forms with upstream messages', () => {
    badRequest(() => parseFieldSelector('foo'), "invalid selector: 'foo'; can't understand 'foo'");
    badRequest(() => parseFieldSelector('a=b,c'), "invalid selector: 'a=b,c'; can't understand 'c'");
    badRequest(() => parseFieldSelector('a>b'), "invalid selector: 'a>b'; can't understand 'a>b'");
    badRequest(() => parseFieldSelector('a=b=c'), 'invalid field selector: unescaped character in value: 61');
    badRequest(() => parseFieldSelector('a==b=c'), 'invalid field selector: unescaped character in value: 61');
    badRequest(() => parseFieldSelector('a=b\\x'), 'invalid field selector: invalid escape sequence: \\x');
    badRequest(() => parseFieldSelector('a=b\\'), 'invalid field selector: invalid escape sequence: \\');
  });

  it('names the exact value a lookup can use', () => {
    const sel = parseFieldSelector('metadata.name=web-0,spec.nodeName!=n1');
    assert.equal(sel.requiresExactMatch('metadata.name'), 'web-0');
    assert.equal(sel.requiresExactMatch('spec.nodeName'), undefined);
    assert.equal(parseFieldSelector('spec.nodeName=').requiresExactMatch('spec.nodeName'), '');
  });
});

describe('convertFieldSelector', () => {
  const pods = fieldLabelPolicy(true, ['spec.nodeName', 'status.phase'], { 'spec.host': 'spec.nodeName' });
  const nodes = fieldLabelPolicy(false, ['spec.unschedulable']);

  it('accepts supported labels and rewrites aliases', () => {
    const sel = convertFieldSelector(parseFieldSelector('spec.host=n1,metadata.namespace=default'), pods);
    assert.equal(sel.toString(), 'metadata.namespace=default,spec.nodeName=n1');
    assert.equal(sel.requiresExactMatch('spec.nodeName'), 'n1');
    assert.equal(convertFieldSelector(parseFieldSelector(''), pods).empty, true);
  });

  it('rejects unsupported labels with the message of the kind', () => {
    badRequest(() => convertFieldSelector(parseFieldSelector('spec.foo=x'), pods), 'field label not supported: spec.foo');
    badRequest(() => convertFieldSelector(parseFieldSelector('metadata.namespace=x'), nodes), 'field label not supported: metadata.namespace');
    badRequest(
      () => convertFieldSelector(parseFieldSelector('spec.replicas=3'), DEFAULT_FIELD_LABELS),
      '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    assert.equal(fieldLabelPolicy(true), DEFAULT_FIELD_LABELS);
    assert.equal(convertFieldSelector(parseFieldSelector('metadata.name=a'), DEFAULT_FIELD_LABELS).toString(), 'metadata.name=a');
  });

  it('gives the metadata fields of objects', () => {
    const obj = { metadata: { name: 'web-0', namespace: 'default' } };
    assert.deepEqual(objectMetaFields(obj, true), { 'metadata.name': 'web-0', 'metadata.namespace': 'default' });
    assert.deepEqual(objectMetaFields(obj, false), { 'metadata.name': 'web-0' });
    assert.equal(parseFieldSelector('metadata.namespace=').matches(objectMetaFields({ metadata: { name: 'n1' } }, false)), true);
  });
});
