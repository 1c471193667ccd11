#!/usr/bin/env node
import fs from 'node:fs';

// the bundle of the command (scripts/bundle.mjs) when it is as new as tsc's last build, else the modules
const dist = new URL('../dist/', import.meta.url);
let entry = new URL('src/cli/main.js', dist);
try {
  const bundle = new URL('src/cli/main.bundle.js', dist);
  const built = fs.statSync(bundle).mtimeMs;
  let compiled = 0;
  try {
    compiled = fs.statSync(new URL('.tsbuildinfo', dist)).mtimeMs;
  } catch {
    // an installed package has no build info: its bundle is its build
  }
  if (built >= compiled) entry = bundle;
} catch {
  // no bundle: the modules
}
const { main } = await import(entry.href);
main(process.argv.slice(2)).then((code) => { if (typeof code === 'number') process.exitCode = code; }, (err) => {
  console.error(`error: ${err && err.message ? err.message : err}`);
  process.exitCode = 1;
});
