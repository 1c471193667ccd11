// A small flag parser: `--name value`, `--name=value`, repeated flags, short aliases.
export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string[]>;
}

export function parseArgs(argv: string[], aliases: Record<string, string> = {}, booleans: string[] = []): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: new Map() };
  const add = (k: string, v: string) => {
    const name = aliases[k] ?? k;
    out.flags.set(name, [...(out.flags.get(name) ?? []), v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m || a === '-') {
      out.positional.push(a);
      continue;
    }
    const key = aliases[m[1]] ?? m[1];
    if (m[2] !== undefined) add(key, m[2]);
    else if (booleans.includes(key)) add(key, 'true');
    else {
      const v = argv[i + 1];
      if (v === undefined) throw new Error(`flag --${key} needs a value`);
      add(key, v);
      i++;
    }
  }
  return out;
}

export function flag(a: ParsedArgs, name: string): string | undefined {
  const v = a.flags.get(name);
  return v ? v[v.length - 1] : undefined;
}

export function flagInt(a: ParsedArgs, name: string, def: number): number {
  const v = flag(a, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${v}"`);
  return n;
}

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration flag ("500ms", "5s", "1m30s") in milliseconds; a unit is required except for 0. */
export function flagDuration(a: ParsedArgs, name: string, defMs: number): number {
  const v = flag(a, name);
  if (v === undefined) return defMs;
  const text = v.trim();
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNIT_MS[m[2]];
    consumed = re.lastIndex;
  }
  if (!text || consumed !== text.length) throw new Error(`--${name} must be a duration such as 500ms, 5s or 1m30s, got "${v}"`);
  return total;
}
