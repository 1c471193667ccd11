#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// the bundle of the command (scripts/bundle.mjs) when it is as new as tsc's last build, else the modules
const dist = new URL('../dist/', import.meta.url);
const { main } = loadBundle() ?? (await import(new URL('src/cli/main.js', dist).href));
main(process.argv.slice(2)).then((code) => { if (typeof code === 'number') process.exitCode = code; }, (err) => {
  console.error(`error: ${err && err.message ? err.message : err}`);
  process.exitCode = 1;
});

/**
 * Runs the CommonJS bundle with V8's code cache of an earlier run: Node 20 has no compile cache
 * of its own, and compiling the bundle's functions anew was most of a start's first ~0.2 s.
 * The cache is made by a run that found none (or one V8 refused), once that run has compiled
 * what a start runs; it names the bundle's size and time and Node's version, so a rebuilt
 * bundle never meets the code of another.
 */
function loadBundle() {
  const file = fileURLToPath(new URL('src/cli/main.bundle.cjs', dist));
  let built;
  try {
    built = fs.statSync(file);
  } catch {
    return undefined; // no bundle: the modules
  }
  let compiled = 0;
  try {
    compiled = fs.statSync(new URL('.tsbuildinfo', dist)).mtimeMs;
  } catch {
    // an installed package has no build info: its bundle is its build
  }
  if (built.mtimeMs < compiled) return undefined;
  const cacheFile = file.replace(/\.cjs$/, '.cache');
  const stamp = `petset-code-cache ${built.size} ${built.mtimeMs} ${process.version} ${process.arch}\n`;
  let cachedData;
  try {
    const saved = fs.readFileSync(cacheFile);
    const end = saved.indexOf(10) + 1;
    if (end > 0 && saved.toString('latin1', 0, end) === stamp) cachedData = saved.subarray(end);
  } catch {
    // none yet
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(file, 'utf8')}\n})`, {
    filename: file,
    cachedData,
    // import() of Node's own modules (node:http2 ...) as from any module
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER ?? ((specifier) => import(specifier)),
  });
  if (!cachedData || script.cachedDataRejected) setTimeout(() => saveCodeCache(script, cacheFile, stamp), 2000).unref();
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

function saveCodeCache(script, cacheFile, stamp) {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(stamp, 'latin1'), script.createCachedData()]));
    fs.renameSync(tmp, cacheFile); // whole or not at all, whichever of several starts writes last
  } catch {
    // a read-only installation, a full disk: starts just compile as before
    fs.rmSync(tmp, { force: true });
  }
}
