// Label and field selectors, parsed, matched and printed the way the Kubernetes API server
// does it: clients compare our error texts and Scale.status.selector strings with upstream's.
import { errors } from './errors.js';
import type { KubeObject } from './object.js';
import { isQualifiedName, isValidLabelValue } from './validation.js';

/* ---------- label selectors ---------- */

/** The operators of k8s.io/apimachinery/pkg/selection, spelled as upstream spells them. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>> | null | undefined;

/** metav1.LabelSelector as it appears in objects. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

export class LabelSelector {
  private static readonly all = new LabelSelector([]);
  private static readonly none = new LabelSelector(null);

  /** null marks the selector that selects nothing (a nil metav1.LabelSelector). */
  private constructor(private readonly reqs: readonly LabelRequirement[] | null) {}

  static everything(): LabelSelector {
    return LabelSelector.all;
  }

  static nothing(): LabelSelector {
    return LabelSelector.none;
  }

  /** Requirements are ANDed; they are kept sorted by key so that String() is deterministic. */
  static of(reqs: readonly LabelRequirement[]): LabelSelector {
    return reqs.length ? new LabelSelector([...reqs].sort((a, b) => compare(a.key, b.key))) : LabelSelector.all;
  }

  get requirements(): readonly LabelRequirement[] {
    return this.reqs ?? [];
  }

  /** True when it selects everything. */
  get empty(): boolean {
    return this.reqs !== null && this.reqs.length === 0;
  }

  get selectsNothing(): boolean {
    return this.reqs === null;
  }

  matches(labels: Labels): boolean {
    if (this.reqs === null) return false;
    const ls = labels ?? {};
    return this.reqs.every((r) => requirementMatches(r, ls));
  }

  /** The one value the selector demands for key, if it demands exactly one (index lookups). */
  requiresExactMatch(key: string): string | undefined {
    const r = this.reqs?.find((q) => q.key === key);
    if (!r || !['=', '==', 'in'].includes(r.operator) || r.values.length !== 1) return undefined;
    return r.values[0];
  }

  toString(): string {
    return (this.reqs ?? []).map(requirementString).join(',');
  }
}

function requirementMatches(r: LabelRequirement, ls: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(ls, r.key);
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(ls[r.key]);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(ls[r.key]);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const have = parseInt64(ls[r.key]);
      const want = parseInt64(r.values[0]);
      if (have === undefined || want === undefined) return false;
      return r.operator === 'gt' ? have > want : have < want;
    }
  }
}

const OPERATOR_TEXT: Record<LabelOperator, string> = {
  '=': '=',
  '==': '==',
  '!=': '!=',
  in: ' in ',
  notin: ' notin ',
  gt: '>',
  lt: '<',
  exists: '',
  '!': '',
};

function requirementString(r: LabelRequirement): string {
  if (r.operator === 'exists') return r.key;
  if (r.operator === '!') return `!${r.key}`;
  const vals = r.values.length === 1 ? r.values[0] : [...r.values].sort(compare).join(',');
  const set = r.operator === 'in' || r.operator === 'notin';
  return `${r.key}${OPERATOR_TEXT[r.operator]}${set ? `(${vals})` : vals}`;
}

/* ----- requirement construction and its error texts (labels.NewRequirement) ----- */

function keyError(key: string, path: string): string | undefined {
  const errs = isQualifiedName(key);
  return errs.length ? invalidText(path, goQuote(key), errs.join('; ')) : undefined;
}

/** Builds a requirement, or throws 400 with upstream's aggregated field-error text. */
function newRequirement(key: string, op: LabelOperator, values: string[]): LabelRequirement {
  const errs: string[] = [];
  const k = keyError(key, 'key');
  if (k) errs.push(k);
  const vals = goStrings(values);
  switch (op) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(invalidText('values', vals, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(invalidText('values', vals, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(invalidText('values', vals, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(invalidText('values', vals, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalidText(`values[${i}]`, goQuote(v), "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v);
    if (msgs.length) errs.push(invalidText(`values[${i}][${key}]`, goQuote(v), msgs.join('; ')));
  });
  if (errs.length) throw errors.badRequest(aggregate(errs));
  return { key, operator: op, values };
}

/* ----- the string parser (labels.Parse) ----- */

type Token = 'end' | 'id' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<';

interface Scanned {
  tok: Token;
  lit: string;
}

const SYMBOL_TOKENS: Record<string, Token> = {
  '(': '(',
  ')': ')',
  ',': ',',
  '!': '!',
  '=': '=',
  '==': '==',
  '!=': '!=',
  '>': '>',
  '<': '<',
};

const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSymbol = (c: string) => c.length === 1 && '=!(),><'.includes(c);

/** Splits the input the way upstream's lexer does, quirks included (a NUL byte ends the input). */
function scan(s: string): Scanned[] {
  let pos = 0;
  const read = (): string => (pos < s.length ? s[pos++] : '\0');
  const out: Scanned[] = [];
  for (;;) {
    let ch = read();
    while (isWhitespace(ch)) ch = read();
    if (ch === '\0') {
      out.push({ tok: 'end', lit: '' });
      return out;
    }
    if (isSymbol(ch)) {
      // Longest operator wins: "!=" over "!", "==" over "=".
      let buf = ch;
      let found: Scanned = { tok: SYMBOL_TOKENS[ch], lit: ch };
      for (;;) {
        const next = read();
        if (next === '\0') break;
        if (!isSymbol(next)) {
          pos--;
          break;
        }
        buf += next;
        const tok = SYMBOL_TOKENS[buf];
        if (!tok) {
          pos--;
          break;
        }
        found = { tok, lit: buf };
      }
      out.push(found);
      continue;
    }
    let word = ch;
    for (;;) {
      const next = read();
      if (next === '\0') break;
      if (isSymbol(next) || isWhitespace(next)) {
        pos--;
        break;
      }
      word += next;
    }
    out.push({ tok: word === 'in' || word === 'notin' ? word : 'id', lit: word });
  }
}

const BINARY_OPERATORS: Partial<Record<Token, LabelOperator>> = { in: 'in', notin: 'notin', '=': '=', '==': '==', '!=': '!=', '>': 'gt', '<': 'lt' };

class Parser {
  private pos = 0;
  constructor(private readonly items: Scanned[]) {}

  /** In value position the keywords "in" and "notin" are plain identifiers. */
  private peek(asValue = true): Scanned {
    const it = this.items[this.pos];
    return asValue && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  }

  private next(asValue = true): Scanned {
    const it = this.peek(asValue);
    this.pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek();
      if (tok === 'end') return reqs;
      if (tok !== 'id' && tok !== '!') throw fail(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        throw fail(`unable to parse requirement: ${e instanceof Error ? e.message : String(e)}`);
      }
      const after = this.next();
      if (after.tok === 'end') return reqs;
      if (after.tok !== ',') throw fail(`found '${after.lit}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.tok !== 'id' && following.tok !== '!') throw fail(`found '${following.lit}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let negated = false;
    let t = this.next();
    if (t.tok === '!') {
      negated = true;
      t = this.next();
    }
    if (t.tok !== 'id') throw new Error(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const bad = keyError(key, '<nil>');
    if (bad) throw new Error(bad);
    if (negated) return newRequirement(key, '!', []);
    const ahead = this.peek().tok;
    if (ahead === 'end' || ahead === ',') return newRequirement(key, 'exists', []);

    const opTok = this.next(false);
    const op = BINARY_OPERATORS[opTok.tok];
    if (!op) throw new Error(`found '${opTok.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    const values = op === 'in' || op === 'notin' ? this.valueSet() : this.exactValue();
    return newRequirement(key, op, [...new Set(values)].sort(compare));
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const first = this.peek();
    if (first.tok === ')') {
      this.next();
      return [''];
    }
    if (first.tok !== 'id' && first.tok !== ',') throw new Error(`found '${first.lit}', expected: ',', ')' or identifier`);
    // A missing value between commas (or next to a parenthesis) is the empty string.
    const vals: string[] = [];
    for (;;) {
      const t = this.next();
      if (t.tok === 'id') {
        vals.push(t.lit);
        const after = this.peek();
        if (after.tok === ')') break;
        if (after.tok !== ',') throw new Error(`found '${after.lit}', expected: ',' or ')'`);
      } else if (t.tok === ',') {
        if (vals.length === 0) vals.push('');
        const after = this.peek().tok;
        if (after === ')') {
          vals.push('');
          break;
        }
        if (after === ',') vals.push('');
      } else {
        throw new Error(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
    this.next();
    return vals;
  }

  private exactValue(): string[] {
    const ahead = this.peek().tok;
    if (ahead === 'end' || ahead === ',') return [''];
    const t = this.next();
    if (t.tok !== 'id') throw new Error(`found '${t.lit}', expected: identifier`);
    return [t.lit];
  }
}

function fail(message: string) {
  return errors.badRequest(message);
}

/** Parses a ?labelSelector= string; throws 400 with upstream's message on bad input. */
export function parseLabelSelector(s: string): LabelSelector {
  return LabelSelector.of(new Parser(scan(s)).parse());
}

/** metav1.LabelSelectorAsSelector: null/undefined selects nothing, {} selects everything. Throws 400 when invalid. */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (sel === null || sel === undefined) return LabelSelector.nothing();
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push(newRequirement(k, '=', [v]));
  for (const expr of sel.matchExpressions ?? []) {
    const op = EXPRESSION_OPERATORS[expr.operator];
    if (!op) throw fail(`${goQuote(expr.operator)} is not a valid pod selector operator`);
    reqs.push(newRequirement(expr.key, op, [...(expr.values ?? [])]));
  }
  return LabelSelector.of(reqs);
}

const EXPRESSION_OPERATORS: Record<string, LabelOperator | undefined> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/** A selector matching exactly the given labels (labels.SelectorFromSet); empty or absent selects everything. */
export function labelSelectorFromSet(set: Labels): LabelSelector {
  return LabelSelector.of(Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })));
}

/** The selector as Scale.status.selector carries it: LabelSelectorAsSelector(sel).String(). */
export function labelSelectorToString(sel: LabelSelectorObject | null | undefined): string {
  return labelSelectorFromObject(sel).toString();
}

/** metav1.FormatLabelSelector, for human-facing output: "<none>" when empty, "<error>" when invalid. */
export function formatLabelSelector(sel: LabelSelectorObject | null | undefined): string {
  try {
    return labelSelectorToString(sel) || '<none>';
  } catch {
    return '<error>';
  }
}

/* ---------- field selectors ---------- */

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/** Field values of one object; an absent field reads as "". */
export type Fields = Readonly<Record<string, string | undefined>>;

export class FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  static everything(): FieldSelector {
    return new FieldSelector([]);
  }

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(fields: Fields): boolean {
    return this.requirements.every((r) => ((fields[r.field] ?? '') === r.value) === (r.operator === '='));
  }

  /**
   * The value the selector demands for field, e.g. "metadata.name" or "spec.nodeName", so a
   * lookup can go straight to it. The full selector must still be matched afterwards.
   */
  requiresExactMatch(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator === '=')?.value;
  }

  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
  }
}

/** Parses a ?fieldSelector= string (fields.ParseSelector); throws 400 with upstream's message on bad input. */
export function parseFieldSelector(s: string): FieldSelector {
  const reqs: FieldRequirement[] = [];
  for (const part of splitFieldTerms(s).sort(compare)) {
    if (part === '') continue;
    const term = splitFieldTerm(part);
    if (!term) throw fail(`invalid selector: '${s}'; can't understand '${part}'`);
    reqs.push({ field: term.field, operator: term.op === '!=' ? '!=' : '=', value: unescapeFieldValue(term.rhs) });
  }
  return new FieldSelector(reqs);
}

/** Commas escaped with a backslash belong to the value; the backslash stays for unescaping later. */
function splitFieldTerms(s: string): string[] {
  if (s === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < s.length; i++) {
    if (escaped) escaped = false;
    else if (s[i] === '\\') escaped = true;
    else if (s[i] === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** The first operator found splits the term; "!=" and "==" are tried before "=" at each position. */
function splitFieldTerm(term: string): { field: string; op: string; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '=']) {
      if (term.startsWith(op, i)) return { field: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

function unescapeFieldValue(s: string): string {
  let out = '';
  let escaped = false;
  for (const ch of s) {
    if (escaped) {
      if (ch !== '\\' && ch !== ',' && ch !== '=') throw fail(`invalid field selector: invalid escape sequence: \\${ch}`);
      out += ch;
      escaped = false;
    } else if (ch === '\\') escaped = true;
    else if (ch === ',' || ch === '=') throw fail(`invalid field selector: unescaped character in value: ${ch.codePointAt(0)}`);
    else out += ch;
  }
  if (escaped) throw fail('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** fields.EscapeValue: makes any string safe as a field selector value. */
export function escapeFieldValue(v: string): string {
  return v.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** Which field labels a kind accepts (upstream: the kind's field label conversion function). */
export interface FieldLabelPolicy {
  readonly supported: readonly string[];
  /** legacy labels and what they mean now, e.g. pods' spec.host -> spec.nodeName */
  readonly aliases?: Readonly<Record<string, string>>;
  /** the 400 message for an unsupported label; default `field label not supported: <label>` */
  readonly unsupported?: (label: string) => string;
}

/** Kinds that register no conversion function accept only these, with this message. */
export const DEFAULT_FIELD_LABELS: FieldLabelPolicy = {
  supported: ['metadata.name', 'metadata.namespace'],
  unsupported: (label) => `${goQuote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`,
};

/**
 * The policy for a kind from the extra labels it declares. None means the default conversion
 * and its message. Any means a conversion function of its own, as upstream kinds with
 * selectable fields have; those of cluster-scoped kinds (Node, Namespace) omit metadata.namespace.
 */
export function fieldLabelPolicy(
  namespaced: boolean,
  extra?: readonly string[],
  aliases?: Readonly<Record<string, string>>,
): FieldLabelPolicy {
  if (!extra?.length && !aliases) return DEFAULT_FIELD_LABELS;
  const meta = namespaced ? ['metadata.name', 'metadata.namespace'] : ['metadata.name'];
  return { supported: [...meta, ...(extra ?? [])], aliases };
}

/** Checks every label against the policy and rewrites aliases; throws 400 on the first unsupported one. */
export function convertFieldSelector(sel: FieldSelector, policy: FieldLabelPolicy): FieldSelector {
  return new FieldSelector(
    sel.requirements.map((r) => {
      const field = policy.aliases?.[r.field] ?? r.field;
      if (!policy.supported.includes(field)) {
        throw fail(policy.unsupported ? policy.unsupported(r.field) : `field label not supported: ${r.field}`);
      }
      return field === r.field ? r : { ...r, field };
    }),
  );
}

/** The field values every object has: metadata.name, and metadata.namespace when namespaced. */
export function objectMetaFields(obj: KubeObject, namespaced: boolean): Record<string, string> {
  const f: Record<string, string> = { 'metadata.name': obj.metadata.name ?? '' };
  if (namespaced) f['metadata.namespace'] = obj.metadata.namespace ?? '';
  return f;
}

/* ---------- helpers shared by both ---------- */

/** Go orders strings by bytes; code-point order is the same for all but lone surrogates. */
function compare(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d) return d;
  }
}

/** strconv.ParseInt(s, 10, 64) */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

function invalidText(path: string, renderedValue: string, detail: string): string {
  return `${path}: Invalid value: ${renderedValue}: ${detail}`;
}

/** utilerrors.NewAggregate(...).Error() */
function aggregate(msgs: string[]): string {
  const unique = [...new Set(msgs)];
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}

/** Go's %#v of a []string. */
function goStrings(vs: readonly string[]): string {
  return vs.length ? `[]string{${vs.map(goQuote).join(', ')}}` : '[]string(nil)';
}

const GO_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

/** Go's %q for the characters that show up in selectors. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (GO_ESCAPES[ch]) out += GO_ESCAPES[ch];
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
