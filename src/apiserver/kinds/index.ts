// The stored kinds whose behaviour differs from the generic pipeline, by entryKey(group, plural).
import { entryKey, type KindEntry } from '../resource-table.js';
import { namespaceEntry } from './namespace.js';
import { customResourceDefinitionEntry } from '../customresources.js';
import { nodeMetricsEntry, podMetricsEntry } from './metrics.js';

export const KIND_ENTRIES: ReadonlyMap<string, KindEntry> = new Map([
  [entryKey('', 'namespaces'), namespaceEntry],
  [entryKey('apiextensions.k8s.io', 'customresourcedefinitions'), customResourceDefinitionEntry],
  [entryKey('metrics.k8s.io', 'nodes'), nodeMetricsEntry],
  [entryKey('metrics.k8s.io', 'pods'), podMetricsEntry],
]);
