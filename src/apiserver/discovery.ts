// Discovery documents, aggregated (apidiscovery.k8s.io v2 / v2beta1) and legacy, generated
// from the kinds registry.
import type { AnyKindDef, Registry } from '../api/registry.js';
import { KIND_ENTRIES } from './kinds/index.js';
import { entryKey } from './resource-table.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUB_VERBS = ['get', 'patch', 'update'];
const READ_VERBS = ['get', 'list', 'watch'];

/** The verbs a resource serves: all of them, less what its entry refuses (namespaces: deletecollection). */
function verbsOf(k: AnyKindDef): string[] {
  const refused = KIND_ENTRIES.get(entryKey(k.group, k.plural))?.unsupportedVerbs;
  const served = k.readOnly ? READ_VERBS : VERBS;
  return refused ? served.filter((v) => !refused.includes(v as never)) : served;
}

/** Subresources petset serves beyond status/scale, with the kind they answer with. */
const EXTRA_SUBRESOURCES: Record<string, Array<{ name: string; kind: { group: string; version: string; kind: string }; verbs: string[] }>> = {
  pods: [
    { name: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] },
    { name: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] },
    { name: 'log', kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] },
    { name: 'exec', kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, verbs: ['create', 'get'] },
    { name: 'attach', kind: { group: '', version: 'v1', kind: 'PodAttachOptions' }, verbs: ['create', 'get'] },
    { name: 'portforward', kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' }, verbs: ['create', 'get'] },
    { name: 'proxy', kind: { group: '', version: 'v1', kind: 'PodProxyOptions' }, verbs: ['create', 'delete', 'get', 'patch', 'update'] },
  ],
  services: [
    { name: 'proxy', kind: { group: '', version: 'v1', kind: 'ServiceProxyOptions' }, verbs: ['create', 'delete', 'get', 'patch', 'update'] },
  ],
  namespaces: [{ name: 'finalize', kind: { group: '', version: 'v1', kind: 'Namespace' }, verbs: ['update'] }],
  nodes: [{ name: 'proxy', kind: { group: '', version: 'v1', kind: 'NodeProxyOptions' }, verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
};

function subresourcesOf(k: AnyKindDef) {
  const out: Array<{ subresource: string; responseKind: { group: string; version: string; kind: string }; verbs: string[] }> = [];
  if (k.subresources?.status) out.push({ subresource: 'status', responseKind: { group: k.group, version: k.version, kind: k.kind }, verbs: SUB_VERBS });
  if (k.subresources?.scale) out.push({ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: SUB_VERBS });
  if (k.subresources?.ephemeralContainers) out.push({ subresource: 'ephemeralcontainers', responseKind: { group: k.group, version: k.version, kind: k.kind }, verbs: SUB_VERBS });
  if (k.group === '') for (const x of EXTRA_SUBRESOURCES[k.plural] ?? []) out.push({ subresource: x.name, responseKind: x.kind, verbs: x.verbs });
  return out;
}

function aggregatedResource(k: AnyKindDef) {
  const r: Record<string, unknown> = {
    resource: k.plural,
    responseKind: { group: k.group, version: k.version, kind: k.kind },
    scope: k.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: k.singular,
    verbs: verbsOf(k),
  };
  if (k.shortNames?.length) r.shortNames = k.shortNames;
  if (k.categories?.length) r.categories = k.categories;
  const subs = subresourcesOf(k);
  if (subs.length) r.subresources = subs;
  return r;
}

export function aggregatedDiscovery(registry: Registry, legacy: boolean, version: 'v2' | 'v2beta1') {
  const items = registry
    .groups()
    .filter((g) => (legacy ? g.group === '' : g.group !== ''))
    .map((g) => ({
      metadata: legacy ? {} : { name: g.group },
      versions: g.versions.map((v) => ({
        version: v,
        resources: registry.kindsIn(g.group, v).map(aggregatedResource),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(group: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(registry: Registry) {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry
      .groups()
      .filter((g) => g.group !== '')
      .map((g) => groupEntry(g.group, g.versions)),
  };
}

export function apiGroup(registry: Registry, group: string) {
  const g = registry.groups().find((x) => x.group === group);
  if (!g || group === '') return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(g.group, g.versions) };
}

export function apiResourceList(registry: Registry, group: string, version: string) {
  const kinds = registry.kindsIn(group, version);
  if (!kinds.length) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const k of kinds) {
    const r: Record<string, unknown> = {
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: verbsOf(k),
    };
    if (k.shortNames?.length) r.shortNames = k.shortNames;
    if (k.categories?.length) r.categories = k.categories;
    resources.push(r);
    for (const s of subresourcesOf(k)) {
      const sr: Record<string, unknown> = { name: `${k.plural}/${s.subresource}`, singularName: '', namespaced: k.namespaced, kind: s.responseKind.kind, verbs: s.verbs };
      if (s.responseKind.group !== k.group) sr.group = s.responseKind.group;
      if (s.responseKind.version !== k.version || s.responseKind.group !== k.group) sr.version = s.responseKind.version;
      resources.push(sr);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

/** Which aggregated discovery version the Accept header asks for, if any. */
export function aggregatedVersionWanted(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const p = part.replace(/\s+/g, '').toLowerCase();
    if (!p.includes('g=apidiscovery.k8s.io') || !p.includes('as=apigroupdiscoverylist')) continue;
    if (p.includes('v=v2beta1')) return 'v2beta1';
    if (p.includes('v=v2')) return 'v2';
  }
  return undefined;
}
