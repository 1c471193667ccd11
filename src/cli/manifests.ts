// Reading manifest files (multi-document YAML or JSON, `kind: List`) and applying them.
import fs from 'node:fs';
import yaml from 'js-yaml';
import { isApiError } from '../api/errors.js';
import { isPlainObject, splitApiVersion, type KubeObject } from '../api/object.js';
import type { Registry } from '../api/registry.js';
import type { Client } from '../client/client.js';

export function readManifests(file: string): KubeObject[] {
  const text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  const out: KubeObject[] = [];
  const add = (doc: unknown) => {
    if (doc === null || doc === undefined) return;
    if (!isPlainObject(doc)) throw new Error(`${file}: a document is not an object`);
    if (doc.kind === 'List' || (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items))) {
      for (const item of doc.items ?? []) add(item);
      return;
    }
    if (!doc.apiVersion || !doc.kind) throw new Error(`${file}: an object has no apiVersion or kind`);
    out.push(doc as KubeObject);
  };
  for (const doc of yaml.loadAll(text)) add(doc);
  return out;
}

/** Applies objects the way `kubectl apply --server-side` would; returns kubectl-like lines. */
export async function applyObjects(client: Client, registry: Registry | (() => Registry), objs: KubeObject[], fieldManager = 'petset'): Promise<string[]> {
  const lines: string[] = [];
  // a getter sees the kinds of CustomResourceDefinitions applied earlier in the same manifests
  const current = typeof registry === 'function' ? registry : () => registry;
  for (const obj of objs) {
    const { group, version } = splitApiVersion(obj.apiVersion!);
    const kind = current().kind(group, version, obj.kind!);
    if (!kind) throw new Error(`no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`);
    const name = obj.metadata?.name;
    if (!name) throw new Error(`a ${obj.kind} has no metadata.name`);
    const rc = client.resource({ group, version, resource: kind.plural, namespaced: kind.namespaced, kind: kind.kind }, obj.metadata.namespace ?? 'default');
    let existed = true;
    try {
      await rc.get(name);
    } catch (e) {
      if (!isApiError(e, 'NotFound')) throw e;
      existed = false;
    }
    await rc.patch(name, obj, 'apply', { fieldManager, force: true });
    if (group === 'apiextensions.k8s.io' && kind.kind === 'CustomResourceDefinition') await untilEstablished(rc, name);
    lines.push(`${kind.singular}${group ? '.' + group : ''}/${name} ${existed ? 'configured' : 'created'}`);
  }
  return lines;
}

/** Waits (up to 10 s, as `kubectl wait` would be used) for a definition to be served, so objects of its kind can follow it. */
async function untilEstablished(rc: { get(name: string): Promise<KubeObject> }, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const crd = await rc.get(name);
    const conditions: Array<{ type: string; status: string; message?: string }> = crd.status?.conditions ?? [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    const refused = conditions.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
    if (refused) throw new Error(`CustomResourceDefinition ${name}: names not accepted: ${refused.message ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`CustomResourceDefinition ${name} was not established within 10 s`);
}
