#!/usr/bin/env node
// Writes src/apiserver/protobuf-fields.ts: for every object definition petset's schemas publish, the
// protobuf field number of each JSON field and how Go holds it (pointer, omitempty, inlined struct),
// read from the struct tags of upstream's Go types (k8s.io/api and k8s.io/apimachinery), which are
// what their generated.proto files are generated from. Field numbers never change upstream, so the
// table is regenerated only when a schema gains a type or a field.
//
//   npx tsc -p tsconfig.json && node scripts/protobuf-fields.mjs <k8s.io/api checkout> <k8s.io/apimachinery checkout> [<k8s.io/apiextensions-apiserver checkout> [<k8s.io/metrics checkout>]]
//
// A checkout may be a bare git directory (its HEAD is read) or a plain directory.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [apiRepo, machineryRepo, apiextensionsRepo, metricsRepo] = process.argv.slice(2);
if (!apiRepo || !machineryRepo) {
  console.error('usage: node scripts/protobuf-fields.mjs <k8s.io/api checkout> <k8s.io/apimachinery checkout>');
  process.exit(2);
}

function goFiles(repo, dir) {
  if (existsSync(join(repo, dir))) {
    return readdirSync(join(repo, dir))
      .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))
      .map((f) => readFileSync(join(repo, dir, f), 'utf8'));
  }
  const names = execFileSync('git', ['--git-dir', repo, 'ls-tree', '--name-only', `HEAD:${dir}`], { encoding: 'utf8' }).split('\n');
  return names
    .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))
    .map((f) => execFileSync('git', ['--git-dir', repo, 'show', `HEAD:${dir}/${f}`], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/** Definition-name prefix → [checkout, package folder]. */
function packageOf(prefix) {
  let m = /^io\.k8s\.api\.([a-z0-9]+)\.(v[a-z0-9]+)$/.exec(prefix);
  if (m) return [apiRepo, `${m[1]}/${m[2]}`];
  m = /^io\.k8s\.apiextensions-apiserver\.pkg\.apis\.apiextensions\.(v[a-z0-9]+)$/.exec(prefix);
  if (m && apiextensionsRepo) return [apiextensionsRepo, `pkg/apis/apiextensions/${m[1]}`];
  m = /^io\.k8s\.apimachinery\.pkg\.(.+)$/.exec(prefix);
  if (m) return [machineryRepo, `pkg/${m[1].replace(/\./g, '/')}`];
  m = /^io\.k8s\.metrics\.pkg\.(.+)$/.exec(prefix);
  if (m && metricsRepo) return [metricsRepo, `pkg/${m[1].replace(/\./g, '/')}`];
  return undefined;
}

const structsByPackage = new Map();

/** Go structs of a package: name → [{ goName, goType, json, omitempty, number }]. */
function structs(prefix) {
  let out = structsByPackage.get(prefix);
  if (out) return out;
  out = new Map();
  structsByPackage.set(prefix, out);
  const pkg = packageOf(prefix);
  if (!pkg) return out;
  for (const src of goFiles(...pkg)) {
    const re = /^type (\w+) struct \{\n([\s\S]*?)^\}/gm;
    for (let m; (m = re.exec(src)); ) {
      const fields = [];
      for (const line of m[2].split('\n')) {
        const f = /^\t(?:(\w+)\s+)?(\S+)\s+`([^`]*)`/.exec(line);
        if (!f) continue;
        const [, goName, goType, tags] = f;
        const proto = /protobuf:"([^"]*)"/.exec(tags);
        if (!proto) continue;
        const json = /json:"([^"]*)"/.exec(tags);
        const [jsonName = '', ...opts] = (json ? json[1] : '').split(',');
        fields.push({
          goName: goName ?? goType,
          goType,
          json: jsonName === '-' ? undefined : jsonName,
          inline: !goName || opts.includes('inline'),
          omitempty: opts.includes('omitempty'),
          number: Number(proto[1].split(',')[1]),
        });
      }
      out.set(m[1], fields);
    }
  }
  return out;
}

function split(definition) {
  const i = definition.lastIndexOf('.');
  return [definition.slice(0, i), definition.slice(i + 1)];
}

const METAV1 = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** The definition name of the Go type of an inlined field. */
function inlineTarget(prefix, goType) {
  const [pkg, name] = goType.includes('.') ? goType.split('.') : [undefined, goType];
  if (pkg === undefined) return `${prefix}.${name}`;
  if (pkg === 'metav1') return `${METAV1}.${name}`;
  throw new Error(`inlined field of type ${goType} in ${prefix}: unknown package`);
}

const { defaultRegistry } = await import('../dist/src/api/kinds/index.js');
const { allDefinitions } = await import('../dist/src/apiserver/openapi.js');
const defs = allDefinitions(defaultRegistry());

/**
 * One string per type, fields separated by spaces: `json=N` with `*` after N for a pointer, `?` for
 * omitempty; an inlined struct is `~N=definition`.
 */
const table = {};
const pending = Object.keys(defs).filter((d) => defs[d].properties);
const missing = [];
while (pending.length) {
  const definition = pending.shift();
  if (table[definition]) continue;
  const [prefix, name] = split(definition);
  const fields = structs(prefix).get(name);
  if (!fields) {
    missing.push(definition);
    continue;
  }
  table[definition] = fields
    .map((f) => {
      if (f.inline && !f.json) {
        const target = inlineTarget(prefix, f.goType);
        pending.push(target);
        return `~${f.number}=${target}`;
      }
      return `${f.json}=${f.number}${f.goType.startsWith('*') ? '*' : ''}${f.omitempty ? '?' : ''}`;
    })
    .join(' ');
}

// Cross-check against the package's generated.proto: every number must name the same field there.
const protoMessages = new Map();
function protoFields(prefix, name) {
  let messages = protoMessages.get(prefix);
  if (!messages) {
    messages = new Map();
    protoMessages.set(prefix, messages);
    const [repo, dir] = packageOf(prefix);
    const src = existsSync(join(repo, dir))
      ? readFileSync(join(repo, dir, 'generated.proto'), 'utf8')
      : execFileSync('git', ['--git-dir', repo, 'show', `HEAD:${dir}/generated.proto`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const re = /^message (\w+) \{\n([\s\S]*?)^\}/gm;
    for (let m; (m = re.exec(src)); ) {
      const fields = new Map();
      for (const f of m[2].matchAll(/^\s*(optional |repeated )?(map<[^>]+>|[\w.]+) (\w+) = (\d+);/gm)) {
        fields.set(Number(f[4]), { name: f[3], repeated: f[1] === 'repeated ', type: f[2] });
      }
      messages.set(m[1], fields);
    }
  }
  return messages.get(name);
}
const mismatches = [];
let checked = 0;
let typed = 0;
const SCALARS = new Set(['string', 'bytes', 'bool', 'int32', 'int64', 'double', 'float']);

/** The protobuf type a schema stands for, as generated.proto would write it (messages as "message"). */
function protoTypeOf(schema) {
  // named definitions are messages, Time, Quantity and IntOrString included
  if (schema.$ref) return 'message';
  switch (schema.type) {
    case 'array':
      return `repeated ${protoTypeOf(schema.items ?? {})}`;
    case 'object':
      return typeof schema.additionalProperties === 'object' ? `map<string, ${protoTypeOf(schema.additionalProperties)}>` : 'message';
    case 'string':
      return schema.format === 'byte' ? 'bytes' : 'string';
    case 'boolean':
      return 'bool';
    case 'integer':
      return schema.format === 'int32' ? 'int32' : 'int64';
    case 'number':
      return schema.format === 'float' ? 'float' : 'double';
    default:
      return 'message';
  }
}

function protoTypeOfField(f) {
  const one = (t) => (SCALARS.has(t) ? t : 'message');
  const map = /^map<(\w+), ?(.+)>$/.exec(f.type);
  const base = map ? `map<${map[1]}, ${one(map[2])}>` : one(f.type);
  return f.repeated ? `repeated ${base}` : base;
}

// the JSON schema each Go struct's fields are described by: its own, or that of the struct inlining it
const schemaOf = new Map(Object.keys(table).filter((d) => defs[d]).map((d) => [d, defs[d]]));
for (let grew = true; grew; ) {
  grew = false;
  for (const [definition, entries] of Object.entries(table)) {
    for (const inline of entries.matchAll(/~\d+=(\S+)/g)) {
      if (schemaOf.has(definition) && !schemaOf.has(inline[1])) {
        schemaOf.set(inline[1], schemaOf.get(definition));
        grew = true;
      }
    }
  }
}

for (const [definition, entries] of Object.entries(table)) {
  const [prefix, name] = split(definition);
  const fields = protoFields(prefix, name);
  if (!fields) {
    mismatches.push(`${definition}: no message ${name} in generated.proto`);
    continue;
  }
  for (const e of entries.split(' ')) {
    const m = /^~(\d+)=|^(\w+)=(\d+)/.exec(e);
    const number = Number(m[1] ?? m[3]);
    checked++;
    const field = fields.get(number);
    if (!field) mismatches.push(`${definition}: field ${number} (${e}) is not in generated.proto`);
    else if (m[2] && field.name !== m[2]) mismatches.push(`${definition}: field ${number} is ${field.name} in generated.proto, ${m[2]} in JSON`);
    const property = m[2] && schemaOf.get(definition)?.properties?.[m[2]];
    if (field && property) {
      typed++;
      const want = protoTypeOfField(field);
      const have = protoTypeOf(property);
      // a free-form schema stands for any message; the decoder refuses it on the wire
      const opaque = !property.$ref && property['x-kubernetes-preserve-unknown-fields'] && want === 'message';
      if (want !== have && !opaque) mismatches.push(`${definition}.${m[2]}: ${want} in generated.proto, ${have} in the schema`);
    }
  }
}
if (mismatches.length) {
  console.error(mismatches.join('\n'));
  process.exit(1);
}

const lines = Object.keys(table)
  .sort()
  .map((d) => `  '${d}': '${table[d]}',`);
const out = `// Generated by scripts/protobuf-fields.mjs from the struct tags of k8s.io/api and k8s.io/apimachinery
// (the source of their generated.proto). Do not edit: add the type to the schemas and run the script.
//
// Per type, its fields as \`json=N\`: N is the protobuf field number, \`*\` marks a Go pointer (on the
// wire exactly when set, zero values included), \`?\` an omitempty field (left out of JSON when
// zero); \`~N=type\` is a struct whose fields JSON shows inline but protobuf nests under N.
export const PROTOBUF_FIELDS: Record<string, string> = {
${lines.join('\n')}
};
`;
writeFileSync(new URL('../src/apiserver/protobuf-fields.ts', import.meta.url), out);
console.log(`${Object.keys(table).length} types written, ${checked} field numbers agree with generated.proto, ${typed} of them typed alike in the schemas; without a Go struct: ${missing.join(' ') || 'none'}`);
