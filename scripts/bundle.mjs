// Bundles the `petset` command (tsc's output under dist/src) into dist/src/cli/main.bundle.js
// and its lazily loaded chunks. Node 20 loads a few hundred small ES modules in about 0.45 s
// (resolving, reading and compiling each), one bundle in about 0.15 s: most of `petset up`'s
// start on a first run. bin/petset.js uses the bundle only when it is at least as new as tsc's
// last build (dist/.tsbuildinfo), so a plain `tsc` after a change never runs stale code.
// The bundle lives beside main.js so that paths taken from import.meta.url (the live view's
// web/ directory) resolve as from the modules themselves. Run after tsc: `node scripts/bundle.mjs`.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli');
// an earlier bundle's chunks (their names carry a hash)
for (const f of fs.readdirSync(cli)) if (f.endsWith('.bundle.js')) fs.rmSync(path.join(cli, f));
await build({
  entryPoints: [path.join(cli, 'main.js')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // the etcd store's client loads only when an etcd store is used, as in the modules
  splitting: true,
  outdir: cli,
  entryNames: '[name].bundle',
  chunkNames: '[name]-[hash].bundle',
  // a native addon, a client loaded only for etcd stores, and ws's optional native helpers
  external: ['better-sqlite3', 'etcd3', 'bufferutil', 'utf-8-validate'],
  // packages written as CommonJS (ws) require Node's own modules, which an ES module bundle
  // must be given a require for
  banner: { js: "import { createRequire as __petsetRequire } from 'node:module'; const require = __petsetRequire(import.meta.url);" },
  logLevel: 'warning',
});
