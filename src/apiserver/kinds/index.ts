// The stored kinds whose behaviour differs from the generic pipeline, by entryKey(group, plural).
import { entryKey, type KindEntry } from '../resource-table.js';
import { namespaceEntry } from './namespace.js';
import { REVIEW_ENTRIES } from '../authz/reviews.js';

export const KIND_ENTRIES: ReadonlyMap<string, KindEntry> = new Map([[entryKey('', 'namespaces'), namespaceEntry], ...REVIEW_ENTRIES]);
