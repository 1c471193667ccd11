// Bundles the `petset` command (tsc's output under dist/src) into dist/src/cli/main.bundle.cjs.
// Node 20 loads a few hundred small ES modules in about 0.45 s (resolving, reading and
// compiling each), one bundle in about 0.15 s, and one with V8's code cache of an earlier run
// (bin/petset.js keeps it in main.bundle.cache) in less: most of `petset up`'s start on a
// first run. bin/petset.js uses the bundle only when it is at least as new as tsc's last build
// (dist/.tsbuildinfo), so a plain `tsc` after a change never runs stale code.
// The bundle lives beside main.js so that paths taken from import.meta.url (the live view's
// web/ directory) resolve as from the modules themselves. Run after tsc: `node scripts/bundle.mjs`.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli');
// an earlier bundle, its chunks (their names carried a hash) and its compiled code (bin/petset.js)
for (const f of fs.readdirSync(cli)) if (/\.bundle\.(js|cjs|cache)$/.test(f)) fs.rmSync(path.join(cli, f));
await build({
  entryPoints: [path.join(cli, 'main.js')],
  bundle: true,
  platform: 'node',
  // CommonJS, so that bin/petset.js can run it as a vm.Script with V8's code cache: Node 20
  // compiles an ES module anew on every start (~0.1 s of a `petset up` at rest, more under
  // load). Modules loaded with import() (the etcd store, which brings gRPC) are still only
  // evaluated when imported.
  format: 'cjs',
  target: 'node20',
  // import() becomes require() in the bundle: V8 runs a script compiled from its code cache
  // without the dynamic import callback ("A dynamic import callback was not specified" at the
  // first port-forward into a process pod, which imports node:stream on demand)
  supported: { 'dynamic-import': false },
  outfile: path.join(cli, 'main.bundle.cjs'),
  // a native addon, a client loaded only for etcd stores, and ws's optional native helpers
  external: ['better-sqlite3', 'etcd3', 'bufferutil', 'utf-8-validate'],
  // strict as the ES modules were (a write to a frozen object throws), and import.meta.url
  // (the live view's web/ directory) taken from the bundle's own path beside main.js
  define: { 'import.meta.url': '__petsetModuleUrl' },
  banner: { js: "'use strict';\nconst __petsetModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// a dynamic import left in the bundle would fail only once the code cache is in use (see above)
if (/\bimport\(/.test(fs.readFileSync(path.join(cli, 'main.bundle.cjs'), 'utf8'))) {
  throw new Error('main.bundle.cjs still contains import(): it would fail when run from the code cache');
}
