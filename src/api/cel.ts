// A subset of CEL (the Common Expression Language) large enough for the validation rules CRDs
// carry in x-kubernetes-validations: literals, self/oldSelf, field and index access, the
// arithmetic, comparison, logical and conditional operators, `in`, has(), size(), the string
// functions (startsWith, endsWith, contains, matches, lowerAscii, upperAscii, trim), int(),
// string(), double(), and the all/exists/exists_one/map/filter macros. Values are the decoded
// JSON itself. Whatever falls outside the subset fails to compile, and the CRD says so.

import { isIP } from 'node:net';

export class CelError extends Error {}

/** Seconds in a Go duration string ("1h30m", "250ms", "0s"); durations compare as numbers here. */
function goDurationSeconds(d: string): number {
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let rest = d.startsWith('-') ? d.slice(1) : d;
  if (rest === '0') return 0;
  let total = 0;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  let at = 0;
  while ((m = re.exec(rest))) {
    total += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  if (!rest || at !== rest.length) throw new CelError(`invalid duration ${JSON.stringify(d)}`);
  rest = '';
  return d.startsWith('-') ? -total : total;
}

type Value = unknown;

type Node =
  | { t: 'lit'; v: Value }
  | { t: 'ident'; name: string }
  | { t: 'member'; obj: Node; name: string }
  | { t: 'index'; obj: Node; index: Node }
  | { t: 'call'; target?: Node; fn: string; args: Node[] }
  | { t: 'unary'; op: string; arg: Node }
  | { t: 'binary'; op: string; left: Node; right: Node }
  | { t: 'cond'; test: Node; then: Node; else: Node }
  | { t: 'list'; items: Node[] }
  | { t: 'map'; entries: Array<[Node, Node]> };

interface Token {
  k: 'num' | 'str' | 'id' | 'op' | 'eof';
  v: string;
  pos: number;
  float?: boolean;
}

const OPS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '!', '?', ':', '.', ',', '(', ')', '[', ']', '{', '}'];

function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][+-]?\d+)?)u?/.exec(src.slice(i))!;
      out.push({ k: 'num', v: m[0].replace(/u$/, ''), pos: i, float: !!(m[2] || m[3]) });
      i += m[0].length;
      continue;
    }
    // r"..." is a raw string: backslashes stay as written (regular expressions use them)
    const raw = (c === 'r' || c === 'R') && (src[i + 1] === '"' || src[i + 1] === "'");
    if (raw || c === '"' || c === "'") {
      if (raw) i++;
      const quote = src[i];
      const triple = src.startsWith(quote.repeat(3), i);
      const q = triple ? quote.repeat(3) : quote;
      let j = i + q.length;
      let s = '';
      while (j < src.length && !src.startsWith(q, j)) {
        if (src[j] === '\\' && !raw) {
          const e = src[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new CelError(`unterminated string at ${i}`);
      out.push({ k: 'str', v: s, pos: i });
      i = j + q.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ k: 'id', v: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new CelError(`Syntax error: token recognition error at: '${c}'`);
    out.push({ k: 'op', v: op, pos: i });
    i += op.length;
  }
  out.push({ k: 'eof', v: '', pos: src.length });
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.i];
  }
  private next(): Token {
    return this.toks[this.i++];
  }
  private accept(v: string): boolean {
    const t = this.peek();
    if ((t.k === 'op' || t.k === 'id') && t.v === v) {
      this.i++;
      return true;
    }
    return false;
  }
  private expect(v: string): void {
    if (!this.accept(v)) throw new CelError(`Syntax error: expected '${v}' at ${this.peek().pos}`);
  }

  parse(): Node {
    const n = this.cond();
    if (this.peek().k !== 'eof') throw new CelError(`Syntax error: unexpected '${this.peek().v}' at ${this.peek().pos}`);
    return n;
  }

  private cond(): Node {
    const test = this.or();
    if (this.accept('?')) {
      const then = this.cond();
      this.expect(':');
      return { t: 'cond', test, then, else: this.cond() };
    }
    return test;
  }
  private or(): Node {
    let n = this.and();
    while (this.accept('||')) n = { t: 'binary', op: '||', left: n, right: this.and() };
    return n;
  }
  private and(): Node {
    let n = this.rel();
    while (this.accept('&&')) n = { t: 'binary', op: '&&', left: n, right: this.rel() };
    return n;
  }
  private rel(): Node {
    let n = this.add();
    for (;;) {
      const t = this.peek();
      if ((t.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) || (t.k === 'id' && t.v === 'in')) {
        this.i++;
        n = { t: 'binary', op: t.v, left: n, right: this.add() };
      } else return n;
    }
  }
  private add(): Node {
    let n = this.mul();
    for (;;) {
      const t = this.peek();
      if (t.k === 'op' && (t.v === '+' || t.v === '-')) {
        this.i++;
        n = { t: 'binary', op: t.v, left: n, right: this.mul() };
      } else return n;
    }
  }
  private mul(): Node {
    let n = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.k === 'op' && (t.v === '*' || t.v === '/' || t.v === '%')) {
        this.i++;
        n = { t: 'binary', op: t.v, left: n, right: this.unary() };
      } else return n;
    }
  }
  private unary(): Node {
    if (this.accept('!')) return { t: 'unary', op: '!', arg: this.unary() };
    if (this.accept('-')) return { t: 'unary', op: '-', arg: this.unary() };
    return this.postfix();
  }
  private args(): Node[] {
    const args: Node[] = [];
    if (!this.accept(')')) {
      do args.push(this.cond());
      while (this.accept(','));
      this.expect(')');
    }
    return args;
  }
  private postfix(): Node {
    let n = this.primary();
    for (;;) {
      if (this.accept('.')) {
        const id = this.next();
        if (id.k !== 'id') throw new CelError(`Syntax error: expected a field name at ${id.pos}`);
        if (this.accept('(')) n = { t: 'call', target: n, fn: id.v, args: this.args() };
        else n = { t: 'member', obj: n, name: id.v };
      } else if (this.accept('[')) {
        const index = this.cond();
        this.expect(']');
        n = { t: 'index', obj: n, index };
      } else return n;
    }
  }
  private primary(): Node {
    const t = this.next();
    if (t.k === 'num') {
      const v = t.v.startsWith('0x') ? parseInt(t.v, 16) : Number(t.v);
      return { t: 'lit', v: t.float ? { double: v } : v };
    }
    if (t.k === 'str') return { t: 'lit', v: t.v };
    if (t.k === 'id') {
      if (t.v === 'true' || t.v === 'false') return { t: 'lit', v: t.v === 'true' };
      if (t.v === 'null') return { t: 'lit', v: null };
      if (this.accept('(')) return { t: 'call', fn: t.v, args: this.args() };
      return { t: 'ident', name: t.v };
    }
    if (t.k === 'op' && t.v === '(') {
      const n = this.cond();
      this.expect(')');
      return n;
    }
    if (t.k === 'op' && t.v === '[') {
      const items: Node[] = [];
      if (!this.accept(']')) {
        do items.push(this.cond());
        while (this.accept(','));
        this.expect(']');
      }
      return { t: 'list', items };
    }
    if (t.k === 'op' && t.v === '{') {
      const entries: Array<[Node, Node]> = [];
      if (!this.accept('}')) {
        do {
          const k = this.cond();
          this.expect(':');
          entries.push([k, this.cond()]);
        } while (this.accept(','));
        this.expect('}');
      }
      return { t: 'map', entries };
    }
    throw new CelError(`Syntax error: unexpected '${t.v}' at ${t.pos}`);
  }
}

const compiled = new Map<string, Node>();

/** Parses a rule (cached); throws CelError when it is outside the supported subset. */
export function compileCel(rule: string): Node {
  let n = compiled.get(rule);
  if (!n) {
    n = new Parser(lex(rule)).parse();
    checkNames(n);
    compiled.set(rule, n);
  }
  return n;
}

const FUNCTIONS = new Set(['isIP', 'duration', 'has', 'size', 'int', 'uint', 'double', 'string', 'bool', 'type', 'matches', 'startsWith', 'endsWith', 'contains', 'lowerAscii', 'upperAscii', 'trim', 'all', 'exists', 'exists_one', 'map', 'filter', 'isSorted', 'sum', 'min', 'max', 'indexOf', 'lastIndexOf', 'split', 'join', 'replace', 'substring']);

function checkNames(n: Node): void {
  switch (n.t) {
    case 'call':
      if (!FUNCTIONS.has(n.fn)) throw new CelError(`undeclared reference to '${n.fn}'`);
      if (n.target) checkNames(n.target);
      // macros bind their first argument as a variable
      n.args.forEach((a, i) => (i === 0 && ['all', 'exists', 'exists_one', 'map', 'filter'].includes(n.fn) ? undefined : checkNames(a)));
      return;
    case 'member':
      return checkNames(n.obj);
    case 'index':
      checkNames(n.obj);
      return checkNames(n.index);
    case 'unary':
      return checkNames(n.arg);
    case 'binary':
      checkNames(n.left);
      return checkNames(n.right);
    case 'cond':
      checkNames(n.test);
      checkNames(n.then);
      return checkNames(n.else);
    case 'list':
      return n.items.forEach(checkNames);
    case 'map':
      return n.entries.forEach(([k, v]) => (checkNames(k), checkNames(v)));
    default:
      return;
  }
}

/** Whether a rule refers to oldSelf (a transition rule: checked on updates only). */
export function usesOldSelf(rule: string): boolean {
  return /\boldSelf\b/.test(rule);
}

/* ---------------------------------------------------------------- evaluation */

type Double = { double: number };
const isDouble = (v: unknown): v is Double => typeof v === 'object' && v !== null && 'double' in v && Object.keys(v).length === 1 && typeof (v as Double).double === 'number';
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : isDouble(v) ? v.double : undefined);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !isDouble(v);

function equal(a: unknown, b: unknown): boolean {
  const na = num(a);
  const nb = num(b);
  if (na !== undefined && nb !== undefined) return na === nb;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return a === b;
}

function truthy(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new CelError(`no such overload for ${what}`);
  return v;
}

function sizeOf(v: unknown): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isObj(v)) return Object.keys(v).length;
  throw new CelError('no such overload: size');
}

/** Steps one rule evaluation may take (upstream bounds a rule's cost too): a rule over big lists cannot stall the server. */
export const CEL_STEP_BUDGET = 1_000_000;
let steps = 0;

function evaluate(n: Node, env: Record<string, unknown>): unknown {
  if (++steps > CEL_STEP_BUDGET) throw new CelError('operation cancelled: actual cost limit exceeded');
  switch (n.t) {
    case 'lit':
      return n.v;
    case 'ident':
      if (!(n.name in env)) throw new CelError(`undeclared reference to '${n.name}'`);
      return env[n.name];
    case 'member': {
      const o = evaluate(n.obj, env);
      if (!isObj(o) || !(n.name in o)) throw new CelError(`no such key: ${n.name}`);
      return o[n.name];
    }
    case 'index': {
      const o = evaluate(n.obj, env);
      const i = evaluate(n.index, env);
      if (Array.isArray(o)) {
        const k = num(i);
        if (k === undefined || k < 0 || k >= o.length) throw new CelError(`index out of bounds: ${String(k)}`);
        return o[k];
      }
      if (isObj(o) && typeof i === 'string' && i in o) return o[i];
      throw new CelError(`no such key: ${String(i)}`);
    }
    case 'unary': {
      const v = evaluate(n.arg, env);
      if (n.op === '!') return !truthy(v, '!');
      const x = num(v);
      if (x === undefined) throw new CelError("no such overload for '-'");
      return isDouble(v) ? { double: -x } : -x;
    }
    case 'cond':
      return truthy(evaluate(n.test, env), '?:') ? evaluate(n.then, env) : evaluate(n.else, env);
    case 'list':
      return n.items.map((i) => evaluate(i, env));
    case 'map':
      return Object.fromEntries(n.entries.map(([k, v]) => [String(evaluate(k, env)), evaluate(v, env)]));
    case 'binary':
      return binary(n, env);
    case 'call':
      return call(n, env);
  }
}

function binary(n: Extract<Node, { t: 'binary' }>, env: Record<string, unknown>): unknown {
  if (n.op === '&&' || n.op === '||') {
    // CEL's commutative logic: an error on one side is absorbed when the other decides
    let left: boolean | CelError;
    try {
      left = truthy(evaluate(n.left, env), n.op);
    } catch (e) {
      left = e as CelError;
    }
    if (left === (n.op === '||')) return left;
    const right = truthy(evaluate(n.right, env), n.op);
    if (left instanceof Error) {
      if (right === (n.op === '||')) return right;
      throw left;
    }
    return right;
  }
  const a = evaluate(n.left, env);
  const b = evaluate(n.right, env);
  switch (n.op) {
    case '==':
      return equal(a, b);
    case '!=':
      return !equal(a, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => equal(x, a));
      if (isObj(b)) return typeof a === 'string' && a in b;
      throw new CelError("no such overload for 'in'");
  }
  const na = num(a);
  const nb = num(b);
  if (['<', '<=', '>', '>='].includes(n.op)) {
    const [x, y] = na !== undefined && nb !== undefined ? [na, nb] : typeof a === 'string' && typeof b === 'string' ? [a, b] : [undefined, undefined];
    if (x === undefined) throw new CelError(`no such overload for '${n.op}'`);
    return n.op === '<' ? x! < y! : n.op === '<=' ? x! <= y! : n.op === '>' ? x! > y! : x! >= y!;
  }
  if (n.op === '+') {
    if (typeof a === 'string' && typeof b === 'string') return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  }
  if (na === undefined || nb === undefined) throw new CelError(`no such overload for '${n.op}'`);
  const dbl = isDouble(a) || isDouble(b);
  let r: number;
  switch (n.op) {
    case '+':
      r = na + nb;
      break;
    case '-':
      r = na - nb;
      break;
    case '*':
      r = na * nb;
      break;
    case '/':
      if (!dbl && nb === 0) throw new CelError('division by zero');
      r = dbl ? na / nb : Math.trunc(na / nb);
      break;
    default:
      if (nb === 0) throw new CelError('modulus by zero');
      r = na % nb;
  }
  return dbl ? { double: r } : r;
}

const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

function call(n: Extract<Node, { t: 'call' }>, env: Record<string, unknown>): unknown {
  if (n.fn === 'has') {
    const arg = n.args[0];
    if (!arg || arg.t !== 'member') throw new CelError('invalid argument to has() macro');
    const o = evaluate(arg.obj, env);
    return isObj(o) && arg.name in o;
  }
  if (n.target && MACROS.has(n.fn)) {
    const range = evaluate(n.target, env);
    const v = n.args[0];
    if (!v || v.t !== 'ident') throw new CelError(`${n.fn}() needs a variable name`);
    const items = Array.isArray(range) ? range : isObj(range) ? Object.keys(range) : undefined;
    if (!items) throw new CelError(`no such overload: ${n.fn}`);
    const test = (x: unknown) => truthy(evaluate(n.args[1], { ...env, [v.name]: x }), n.fn);
    switch (n.fn) {
      case 'all':
        return items.every(test);
      case 'exists':
        return items.some(test);
      case 'exists_one':
        return items.filter(test).length === 1;
      case 'filter':
        return items.filter(test);
      default:
        return n.args.length === 3 ? items.filter(test).map((x) => evaluate(n.args[2], { ...env, [v.name]: x })) : items.map((x) => evaluate(n.args[1], { ...env, [v.name]: x }));
    }
  }
  const args = n.args.map((a) => evaluate(a, env));
  const self = n.target ? evaluate(n.target, env) : undefined;
  const str = (v: unknown) => {
    if (typeof v !== 'string') throw new CelError(`no such overload: ${n.fn}`);
    return v;
  };
  switch (n.fn) {
    case 'size':
      return sizeOf(n.target ? self : args[0]);
    case 'int': {
      const v = args[0];
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
      const x = num(v);
      if (x === undefined) throw new CelError('no such overload: int');
      return Math.trunc(x);
    }
    case 'uint':
      return Math.abs(Math.trunc(num(args[0]) ?? 0));
    case 'double': {
      const x = typeof args[0] === 'string' ? Number(args[0]) : num(args[0]);
      if (x === undefined || Number.isNaN(x)) throw new CelError('no such overload: double');
      return { double: x };
    }
    case 'string': {
      const v = args[0];
      return isDouble(v) ? String(v.double) : typeof v === 'string' ? v : JSON.stringify(v);
    }
    case 'bool':
      return args[0] === true || args[0] === 'true';
    case 'matches': {
      // RE2's leading (?i) is a flag in JavaScript
      let re = str(n.target ? args[0] : args[1]);
      const flags = re.startsWith('(?i)') ? 'ui' : 'u';
      if (flags === 'ui') re = re.slice(4);
      return new RegExp(re, flags).test(str(n.target ? self : args[0]));
    }
    case 'isIP':
      return isIP(str(args[0])) !== 0;
    case 'duration':
      return { double: goDurationSeconds(str(args[0])) };
    case 'startsWith':
      return str(self).startsWith(str(args[0]));
    case 'endsWith':
      return str(self).endsWith(str(args[0]));
    case 'contains':
      return str(self).includes(str(args[0]));
    case 'lowerAscii':
      return str(self).toLowerCase();
    case 'upperAscii':
      return str(self).toUpperCase();
    case 'trim':
      return str(self).trim();
    case 'indexOf':
      return Array.isArray(self) ? self.findIndex((x) => equal(x, args[0])) : str(self).indexOf(str(args[0]));
    case 'lastIndexOf':
      return str(self).lastIndexOf(str(args[0]));
    case 'split':
      return str(self).split(str(args[0]));
    case 'join':
      if (!Array.isArray(self)) throw new CelError('no such overload: join');
      return self.join(args.length ? str(args[0]) : '');
    case 'replace':
      return str(self).split(str(args[0])).join(str(args[1]));
    case 'substring':
      return [...str(self)].slice(num(args[0]), args.length > 1 ? num(args[1]) : undefined).join('');
    case 'isSorted':
      if (!Array.isArray(self)) throw new CelError('no such overload: isSorted');
      return self.every((x, i) => i === 0 || (num(self[i - 1]) ?? String(self[i - 1])) <= (num(x) ?? String(x)));
    case 'sum':
      if (!Array.isArray(self)) throw new CelError('no such overload: sum');
      return self.reduce((acc: number, x) => acc + (num(x) ?? 0), 0);
    case 'min':
    case 'max': {
      if (!Array.isArray(self) || !self.length) throw new CelError(`no such overload: ${n.fn}`);
      const xs = self.map((x) => num(x) ?? 0);
      return n.fn === 'min' ? Math.min(...xs) : Math.max(...xs);
    }
    default:
      throw new CelError(`undeclared reference to '${n.fn}'`);
  }
}

/** Evaluates a compiled rule with the given variables; the result must be a bool. */
export function evalCelRule(rule: string, vars: Record<string, unknown>): boolean {
  steps = 0;
  const v = evaluate(compileCel(rule), vars);
  if (typeof v !== 'boolean') throw new CelError(`rule did not evaluate to a bool`);
  return v;
}
