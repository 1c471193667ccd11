// Server-side printing: Table responses with each kind's upstream columns.
import { humanAge, type KubeObject } from '../api/object.js';
import type { AnyKindDef, Column } from '../api/registry.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions?: Column[];
  rows: Array<{ cells: unknown[]; object?: unknown }>;
}

const DEFAULT_COLUMNS: Column[] = [
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 },
];

export function columnsOf(kind: AnyKindDef): Column[] {
  return (kind.table?.columns ?? DEFAULT_COLUMNS).map((c) => ({ format: '', priority: 0, ...c }));
}

function cellsOf(kind: AnyKindDef, obj: KubeObject, now: number): unknown[] {
  if (kind.table) return kind.table.cells(obj, now);
  return [obj.metadata.name, humanAge(obj.metadata.creationTimestamp, now)];
}

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  const { managedFields: _m, ...metadata } = obj.metadata;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
}

export function toTable(
  kind: AnyKindDef,
  objs: KubeObject[],
  include: IncludeObject,
  meta: Table['metadata'],
  withColumns = true,
): Table {
  const now = Date.now();
  const t: Table = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: meta, rows: [] };
  if (withColumns) t.columnDefinitions = columnsOf(kind);
  for (const o of objs) {
    const row: Table['rows'][number] = { cells: cellsOf(kind, o, now) };
    const ro = rowObject(o, include);
    if (ro !== undefined) row.object = ro;
    t.rows.push(row);
  }
  return t;
}

/** Parses an Accept header: is a Table wanted (and which version)? */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const p = part.trim().toLowerCase();
    if (p.includes('as=table') && (p.includes('g=meta.k8s.io') || !p.includes('g='))) return true;
  }
  return false;
}
