// Existing etcd data written by petset before it used upstream's key layout
// (/registry/<group, "core" for the core group>/<plural>/..., see registry-keys.ts) moves to
// that layout when a store opens, as a SQLite data dir does at schema version 2. etcd has no
// schema version to record, and needs none: the old keys are found where they can only be old
// (/registry/core/, /registry/apps/ ... no upstream resource is named like a group), so a
// second run finds nothing and a run cut short is finished by the next.
//
// Each batch moves in one etcd transaction, guarded per key: the old key still at the revision
// read and the new key absent. So two API servers starting at once never both move a key, and
// nothing a newer write put in place is overwritten. A key whose upstream place is already
// taken stays where it is and is reported (it was written twice, by two petset versions; the
// upstream one is what is served).
import type { Etcd3 } from 'etcd3';
import { BUILT_IN_GROUPS, legacyToUpstreamKey } from './registry-keys.js';

interface RawKv {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
}

/** etcd's default --max-txn-ops is 128: a batch's compares (2 per key) and operations stay under it */
const BATCH_KEYS = 32;
/** and its request stays well under --max-request-bytes (1.5 MiB) */
const BATCH_BYTES = 512 * 1024;

/** The prefixes that hold keys of petset's earlier layout only. */
export function legacyPrefixes(): string[] {
  return ['core', ...[...BUILT_IN_GROUPS].filter((g) => g !== '' && g !== 'apiextensions.k8s.io')].map((g) => `/registry/${g}/`);
}

export interface LayoutMigration {
  moved: number;
  /** old keys left in place because their upstream key exists */
  kept: string[];
}

export async function migrateEtcdKeysToUpstreamLayout(client: Etcd3, log: (line: string) => void): Promise<LayoutMigration> {
  const result: LayoutMigration = { moved: 0, kept: [] };
  for (const prefix of legacyPrefixes()) {
    let start = Buffer.from(prefix);
    const end = rangeEnd(prefix);
    for (;;) {
      const res = await client.kv.range({ key: start, range_end: end, limit: BATCH_KEYS });
      const kvs = res.kvs as RawKv[];
      if (!kvs.length) break;
      let batch: RawKv[] = [];
      let bytes = 0;
      for (const raw of kvs) {
        if (legacyToUpstreamKey(raw.key.toString()) === raw.key.toString()) continue;
        if (batch.length && bytes + raw.value.length > BATCH_BYTES) {
          await moveBatch(client, batch, result);
          batch = [];
          bytes = 0;
        }
        batch.push(raw);
        bytes += raw.value.length + raw.key.length * 2;
      }
      if (batch.length) await moveBatch(client, batch, result);
      if (!res.more) break;
      start = Buffer.concat([kvs[kvs.length - 1]!.key, Buffer.from([0])]);
    }
  }
  if (result.moved) log(`petset store: ${result.moved} ${result.moved === 1 ? 'key' : 'keys'} in etcd moved to the upstream layout (/registry/<resource>/...)`);
  for (const k of result.kept) log(`petset store: ${k} was not moved: ${legacyToUpstreamKey(k)} exists (it is the one served); delete the old key with etcdctl del ${k}`);
  return result;
}

/** Moves keys in one transaction; when a guard fails (someone else wrote), each key is settled on its own. */
async function moveBatch(client: Etcd3, batch: RawKv[], result: LayoutMigration): Promise<void> {
  if (await moveTogether(client, batch)) {
    result.moved += batch.length;
    return;
  }
  for (const raw of batch) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = (await client.kv.range({ key: raw.key })).kvs[0] as RawKv | undefined;
      if (!now) break; // moved or deleted by someone else meanwhile
      const target = Buffer.from(legacyToUpstreamKey(raw.key.toString()));
      if (((await client.kv.range({ key: target, count_only: true })) as { count: string }).count !== '0') {
        result.kept.push(raw.key.toString());
        break;
      }
      if (await moveTogether(client, [now])) {
        result.moved++;
        break;
      }
    }
  }
}

async function moveTogether(client: Etcd3, batch: RawKv[]): Promise<boolean> {
  const compare: object[] = [];
  const success: object[] = [];
  for (const raw of batch) {
    const target = Buffer.from(legacyToUpstreamKey(raw.key.toString()));
    compare.push({ key: raw.key, target: 'Mod', result: 'Equal', mod_revision: raw.mod_revision });
    compare.push({ key: target, target: 'Create', result: 'Equal', create_revision: 0 });
    success.push({ request_put: { key: target, value: raw.value } });
    success.push({ request_delete_range: { key: raw.key } });
  }
  const res = await client.kv.txn({ compare: compare as never, success: success as never, failure: [] });
  return res.succeeded;
}

/** The first key after every key with this prefix, byte-wise (etcd's range_end). */
function rangeEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  const end = Buffer.from(b);
  end[end.length - 1] = b[b.length - 1]! + 1;
  return end;
}
