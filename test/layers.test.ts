// The layers of ARCHITECTURE.md, checked on the sources: api and store import nothing
// above them; the client knows only api; no controller imports another controller's
// folder; the agent and the scheduler import no controller (shared pure rules live in
// api/). Every import counts: type-only ones, re-exports and dynamic import().
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
// from test/ or dist/test/
const root = [path.resolve(here, '..'), path.resolve(here, '../..')].find((d) => fs.existsSync(path.join(d, 'src', 'api')) && fs.existsSync(path.join(d, 'package.json')))!;
const src = path.join(root, 'src');

interface Import {
  from: string;
  /** path under src/, without extension, e.g. controllers/volume/access */
  to: string;
  line: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(=])import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

/** Relative imports of a file, resolved to paths under src/. */
function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec).replace(/\.(js|ts)$/, '');
    out.push({ from: path.relative(src, file).replace(/\.ts$/, ''), to: path.relative(src, target).split(path.sep).join('/'), line: text.slice(0, m.index).split('\n').length });
  }
  return out;
}

const all = sourceFiles(src).flatMap(importsOf);
const top = (p: string) => p.split('/')[0];
/** controllers/<folder>, or undefined for files at the root of controllers/ (the manager) */
const controllerFolder = (p: string) => {
  const parts = p.split('/');
  return parts[0] === 'controllers' && parts.length > 2 ? parts[1] : undefined;
};
const show = (list: Import[]) => list.map((i) => `src/${i.from}.ts:${i.line} imports src/${i.to}`);

describe('architecture layers (ARCHITECTURE.md)', () => {
  it('finds the sources and their imports', () => {
    assert.ok(all.length > 100, `only ${all.length} imports found under ${src}`);
    assert.ok(all.some((i) => i.from === 'controllers/manager' && i.to === 'controllers/statefulset/controller'));
  });

  it('api imports nothing outside api', () => {
    assert.deepEqual(show(all.filter((i) => top(i.from) === 'api' && top(i.to) !== 'api')), []);
  });

  it('store imports nothing outside store', () => {
    assert.deepEqual(show(all.filter((i) => top(i.from) === 'store' && top(i.to) !== 'store')), []);
  });

  it('the client imports only api', () => {
    assert.deepEqual(show(all.filter((i) => top(i.from) === 'client' && !['client', 'api'].includes(top(i.to)))), []);
  });

  it("no controller imports another controller's folder (or the manager that knows them all)", () => {
    const bad = all.filter((i) => {
      const folder = controllerFolder(i.from);
      if (!folder || top(i.to) !== 'controllers') return false;
      return controllerFolder(i.to) !== folder;
    });
    assert.deepEqual(show(bad), []);
  });

  it('the agent and the scheduler import no controller', () => {
    assert.deepEqual(show(all.filter((i) => ['agent', 'scheduler'].includes(top(i.from)) && top(i.to) === 'controllers')), []);
  });
});
