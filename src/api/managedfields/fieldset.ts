// Sets of field paths, as server-side apply tracks ownership (sigs.k8s.io/structured-merge-diff's
// fieldpath.Set), and their FieldsV1 encoding in metadata.managedFields.
//
// A path element is kept as its FieldsV1 key string:
//   f:<name>          a field of a struct or an entry of a map
//   k:{"name":"web"}  an item of a list keyed by its map keys (keys in name order)
//   v:<json>          an item of a set-like list, by value
//   i:<index>         an item of a list addressed by position
// A set is a trie: `members` are paths that end here, `children` go deeper. FieldsV1 writes a
// member with children as `".": {}` inside the child's object.

export type PathElement = string;
export type Path = PathElement[];

export class FieldSet {
  readonly members = new Set<PathElement>();
  readonly children = new Map<PathElement, FieldSet>();

  static of(paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: Path): void {
    if (!path.length) return;
    let node: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) node = node.childOrCreate(path[i]);
    node.members.add(path[path.length - 1]);
  }

  has(path: Path): boolean {
    let node: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && node; i++) node = node.children.get(path[i]);
    return !!node && node.members.has(path[path.length - 1]);
  }

  childOrCreate(pe: PathElement): FieldSet {
    let c = this.children.get(pe);
    if (!c) this.children.set(pe, (c = new FieldSet()));
    return c;
  }

  /** Every path of `o` is in this set (an empty child of `o` counts as not covered: callers only miss a shortcut). */
  covers(o: FieldSet): boolean {
    for (const m of o.members) if (!this.members.has(m)) return false;
    for (const [pe, c] of o.children) {
      const mine = this.children.get(pe);
      if (!mine || !mine.covers(c)) return false;
    }
    return true;
  }

  isEmpty(): boolean {
    if (this.members.size) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  clone(): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const [pe, c] of this.children) out.children.set(pe, c.clone());
    return out;
  }

  /** Sets are not changed once built, so a union with a set this one covers (or an empty one) may share this one. */
  union(o: FieldSet): FieldSet {
    if (this.covers(o)) return this;
    if (this.members.size === 0 && this.children.size === 0) return o;
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const m of o.members) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      out.children.set(pe, oc ? c.union(oc) : c);
    }
    for (const [pe, c] of o.children) if (!this.children.has(pe)) out.children.set(pe, c);
    return out.pruned();
  }

  /** Members of this set not in `o`; a member of `o` does not take away this set's deeper paths. */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      out.children.set(pe, oc ? c.difference(oc) : c);
    }
    return out.pruned();
  }

  /** Like difference, but a member of `o` also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      if (o.members.has(pe)) continue;
      const oc = o.children.get(pe);
      out.children.set(pe, oc ? c.recursiveDifference(oc) : c);
    }
    return out.pruned();
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      if (oc) out.children.set(pe, c.intersection(oc));
    }
    return out.pruned();
  }

  /** Whether any member of this set is a member of `o` (no allocation: the common "nothing to do" test). */
  overlaps(o: FieldSet): boolean {
    for (const m of this.members) if (o.members.has(m)) return true;
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      if (oc && c.overlaps(oc)) return true;
    }
    return false;
  }

  equals(o: FieldSet): boolean {
    return JSON.stringify(this.toFieldsV1()) === JSON.stringify(o.toFieldsV1());
  }

  /** Every member path, in the order upstream iterates them (sorted, a member before its children). */
  paths(prefix: Path = []): Path[] {
    const out: Path[] = [];
    for (const pe of this.elements()) {
      if (this.members.has(pe)) out.push([...prefix, pe]);
      const c = this.children.get(pe);
      if (c) out.push(...c.paths([...prefix, pe]));
    }
    return out;
  }

  /** This level's elements (members and children, each once), in upstream's order. */
  private elements(): PathElement[] {
    const keys = [...this.members];
    for (const pe of this.children.keys()) if (!this.members.has(pe)) keys.push(pe);
    return sortElements(keys);
  }

  /** The FieldsV1 encoding, written into `out` (a child's object may already hold "."). */
  toFieldsV1(out: Record<string, unknown> = {}): Record<string, unknown> {
    for (const pe of this.elements()) {
      const c = this.children.get(pe);
      if (c === undefined || c.isEmpty()) {
        out[pe] = {};
        continue;
      }
      // a member with children is written as "." first, inside the children's object
      out[pe] = c.toFieldsV1(this.members.has(pe) ? { '.': {} } : {});
    }
    return out;
  }

  /** Decodes FieldsV1; throws an Error with upstream's wording on anything else. */
  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    if (!isObject(v)) throw new Error('expected an object');
    for (const pe in v) {
      if (pe === '.') continue;
      const inner = v[pe];
      checkElement(pe);
      if (!isObject(inner)) throw new Error(`expected an object at ${pe}`);
      if (!hasKeys(inner)) {
        s.members.add(pe);
        continue;
      }
      if (Object.hasOwn(inner, '.')) s.members.add(pe);
      const c = FieldSet.fromFieldsV1(inner);
      if (!c.isEmpty()) s.children.set(pe, c);
    }
    return s;
  }

  private pruned(): this {
    for (const [pe, c] of this.children) if (c.isEmpty()) this.children.delete(pe);
    return this;
  }
}


function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A cheap shape check (decoding runs on every write; values are parsed only when printed). */
function checkElement(pe: string): void {
  const kind = pe.charCodeAt(0);
  if (pe.charCodeAt(1) === 58 /* : */ && pe.length > 2) {
    if (kind === 102 /* f */) return;
    if (kind === 105 /* i */ && /^i:\d+$/.test(pe)) return;
    if (kind === 107 /* k */ && pe[2] === '{' && pe.endsWith('}')) return;
    if (kind === 118 /* v */) return;
  }
  throw new Error(`unknown path element: ${pe}`);
}

/** f: 0, k: 1, v: 2, i: 3, anything else 4 (read from the characters: a comparison allocates nothing) */
function rank(pe: PathElement): number {
  if (pe.charCodeAt(1) !== 58 /* : */) return 4;
  switch (pe.charCodeAt(0)) {
    case 102 /* f */:
      return 0;
    case 107 /* k */:
      return 1;
    case 118 /* v */:
      return 2;
    case 105 /* i */:
      return 3;
    default:
      return 4;
  }
}

function compareElements(a: PathElement, b: PathElement): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 3) return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Upstream orders field names, then keys, then values, then indexes (in place). */
export function sortElements(pes: PathElement[]): PathElement[] {
  // a level of a field set holds a few elements: an insertion sort makes no garbage, where
  // Array.prototype.sort's work array was a good part of what encoding managed fields allocated
  if (pes.length > 32) return pes.sort(compareElements);
  for (let i = 1; i < pes.length; i++) {
    const x = pes[i];
    let j = i - 1;
    while (j >= 0 && compareElements(pes[j], x) > 0) {
      pes[j + 1] = pes[j];
      j--;
    }
    pes[j + 1] = x;
  }
  return pes;
}

/* ---------- path elements ---------- */

// Field names repeat from write to write: their path elements are kept instead of being
// concatenated per field per comparison (bounded: map keys such as label names vary freely).
const FIELD_ELEMENTS_KEPT = 4096;
const fieldElements = new Map<string, PathElement>();

export function fieldElement(name: string): PathElement {
  let pe = fieldElements.get(name);
  if (pe === undefined) {
    if (fieldElements.size >= FIELD_ELEMENTS_KEPT) fieldElements.clear();
    fieldElements.set(name, (pe = `f:${name}`));
  }
  return pe;
}
export const indexElement = (i: number): PathElement => `i:${i}`;
export const valueElement = (v: unknown): PathElement => `v:${JSON.stringify(v)}`;
/** A keyed list item; the keys are written in name order, as upstream sorts them. */
export function keyElement(item: Record<string, unknown>, keys: string[]): PathElement {
  const fields: Record<string, unknown> = {};
  for (const k of [...keys].sort()) if (item[k] !== undefined) fields[k] = item[k];
  return `k:${JSON.stringify(fields)}`;
}

/** A path as upstream prints it in conflict messages: `.spec.containers[name="web"].image`. */
export function pathString(path: Path): string {
  return path.map(elementString).join('');
}

function elementString(pe: PathElement): string {
  const body = pe.slice(2);
  switch (pe.slice(0, 2)) {
    case 'f:':
      return `.${body}`;
    case 'k:': {
      const fields = JSON.parse(body) as Record<string, unknown>;
      return `[${Object.entries(fields)
        .map(([k, v]) => `${k}=${goValueString(v)}`)
        .join(',')}]`;
    }
    case 'v:':
      return `[=${goValueString(JSON.parse(body))}]`;
    case 'i:':
      return `[${body}]`;
    default:
      return '{{invalid path element}}';
  }
}

/** value.ToString: strings quoted (%q), numbers and booleans bare. */
function goValueString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(goValueString).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${goValueString(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}
