// configMap, secret, downwardAPI and projected volumes, written by the agent as the
// kubelet's atomic writer lays them out: the files live in a timestamped "..<ts>"
// directory, "..data" is a symlink to it, and each top-level name is a symlink through
// "..data". An update writes a new directory and swaps "..data" with one rename, so a
// reader never sees half of an update. decide (volumeFiles) then act (writeAtomic).
import fs from 'node:fs';
import path from 'node:path';
import { fieldValue, resourceValue } from './env.js';
import { ConfigError } from './security.js';

type Obj = Record<string, any>;

export interface VolumeFile {
  data: Buffer;
  mode: number;
}

export interface ObjectSources {
  configMap(namespace: string, name: string): Promise<Obj | undefined>;
  secret(namespace: string, name: string): Promise<Obj | undefined>;
  /** a token of the pod's ServiceAccount bound to the pod (projected serviceAccountToken sources) */
  serviceAccountToken?(pod: Obj, audience: string | undefined, expirationSeconds: number): Promise<string>;
}

/** Whether the runtime writes this volume itself. */
export function isConfigVolume(v: Obj): boolean {
  return !!(v.configMap || v.secret || v.downwardAPI || v.projected);
}

/** The files of one volume (relative path → content and mode); throws what keeps the pod from starting. */
export async function volumeFiles(v: Obj, pod: Obj, podIP: string, hostIP: string, sources: ObjectSources): Promise<Map<string, VolumeFile>> {
  const ns: string = pod.metadata?.namespace ?? 'default';
  const out = new Map<string, VolumeFile>();
  const fromKeys = (data: Record<string, Buffer>, items: Obj[] | undefined, defaultMode: number, what: string, optional: boolean) => {
    if (items?.length) {
      for (const it of items) {
        const value = data[it.key];
        if (value === undefined) {
          if (optional) continue;
          throw new ConfigError(`configmap references non-existent config key: ${it.key}`.replace('configmap', what));
        }
        out.set(it.path, { data: value, mode: it.mode ?? defaultMode });
      }
    } else for (const [k, value] of Object.entries(data)) out.set(k, { data: value, mode: defaultMode });
  };
  const cmData = (o: Obj) => ({
    ...Object.fromEntries(Object.entries(o.data ?? {}).map(([k, s]) => [k, Buffer.from(String(s))])),
    ...Object.fromEntries(Object.entries(o.binaryData ?? {}).map(([k, s]) => [k, Buffer.from(String(s), 'base64')])),
  });
  const secretData = (o: Obj) => Object.fromEntries(Object.entries(o.data ?? {}).map(([k, s]) => [k, Buffer.from(String(s), 'base64')]));
  const downward = (items: Obj[], defaultMode: number) => {
    for (const it of items ?? []) {
      let text = '';
      if (it.fieldRef) text = fieldValue({ pod, podIP, hostIP }, it.fieldRef.fieldPath);
      else if (it.resourceFieldRef) text = resourceValue(pod, {}, it.resourceFieldRef);
      out.set(it.path, { data: Buffer.from(text), mode: it.mode ?? defaultMode });
    }
  };
  if (v.configMap) {
    const o = await sources.configMap(ns, v.configMap.name);
    if (!o) {
      if (v.configMap.optional) return out;
      throw new ConfigError(`MountVolume.SetUp failed for volume "${v.name}" : configmap "${v.configMap.name}" not found`);
    }
    fromKeys(cmData(o), v.configMap.items, v.configMap.defaultMode ?? 0o644, 'configmap', !!v.configMap.optional);
  } else if (v.secret) {
    const o = await sources.secret(ns, v.secret.secretName);
    if (!o) {
      if (v.secret.optional) return out;
      throw new ConfigError(`MountVolume.SetUp failed for volume "${v.name}" : secret "${v.secret.secretName}" not found`);
    }
    fromKeys(secretData(o), v.secret.items, v.secret.defaultMode ?? 0o644, 'secret', !!v.secret.optional);
  } else if (v.downwardAPI) {
    downward(v.downwardAPI.items, v.downwardAPI.defaultMode ?? 0o644);
  } else if (v.projected) {
    const defaultMode = v.projected.defaultMode ?? 0o644;
    for (const s of v.projected.sources ?? []) {
      if (s.configMap) {
        const o = await sources.configMap(ns, s.configMap.name);
        if (!o) {
          if (s.configMap.optional) continue;
          throw new ConfigError(`MountVolume.SetUp failed for volume "${v.name}" : configmap "${s.configMap.name}" not found`);
        }
        fromKeys(cmData(o), s.configMap.items, defaultMode, 'configmap', !!s.configMap.optional);
      } else if (s.secret) {
        const o = await sources.secret(ns, s.secret.name);
        if (!o) {
          if (s.secret.optional) continue;
          throw new ConfigError(`MountVolume.SetUp failed for volume "${v.name}" : secret "${s.secret.name}" not found`);
        }
        fromKeys(secretData(o), s.secret.items, defaultMode, 'secret', !!s.secret.optional);
      } else if (s.downwardAPI) downward(s.downwardAPI.items, defaultMode);
      else if (s.serviceAccountToken) {
        if (!sources.serviceAccountToken) throw new ConfigError(`MountVolume.SetUp failed for volume "${v.name}" : this node cannot request service account tokens`);
        const token = await sources.serviceAccountToken(pod, s.serviceAccountToken.audience || undefined, s.serviceAccountToken.expirationSeconds ?? 3600);
        out.set(s.serviceAccountToken.path, { data: Buffer.from(token), mode: defaultMode });
      }
      // clusterTrustBundle: not served by petset
    }
  }
  return out;
}

/** Writes the files under dir with the ..data layout; false when nothing changed. */
export function writeAtomic(dir: string, files: Map<string, VolumeFile>, gid?: number): boolean {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const current = path.join(dir, '..data');
  if (sameContent(current, files)) return false;
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.hrtime.bigint() % 1000000n}`;
  const next = path.join(dir, stamp);
  fs.mkdirSync(next, { mode: 0o755 });
  for (const [rel, f] of files) {
    if (rel.split('/').some((p) => p === '..' || p === '') || path.isAbsolute(rel)) throw new ConfigError(`invalid path ${JSON.stringify(rel)}: must be relative and may not contain '..'`);
    const file = path.join(next, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, f.data, { mode: f.mode });
    fs.chmodSync(file, f.mode);
    if (gid !== undefined) fs.chownSync(file, 0, gid);
  }
  let old: string | undefined;
  try {
    old = fs.readlinkSync(current);
  } catch {
    /* first write */
  }
  const tmp = path.join(dir, '..data_tmp');
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(stamp, tmp);
  fs.renameSync(tmp, current);
  const tops = new Set([...files.keys()].map((rel) => rel.split('/')[0]));
  for (const top of tops) {
    const link = path.join(dir, top);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', top), link);
  }
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('..')) continue;
    if (!tops.has(name)) fs.rmSync(path.join(dir, name), { force: true });
  }
  if (old && old !== stamp) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
  return true;
}

function sameContent(current: string, files: Map<string, VolumeFile>): boolean {
  try {
    const seen = new Set<string>();
    const walk = (d: string, prefix: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const rel = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(d, e.name), rel);
        else seen.add(rel);
      }
    };
    walk(current, '');
    if (seen.size !== files.size) return false;
    for (const [rel, f] of files) {
      const file = path.join(current, rel);
      if (!seen.has(rel)) return false;
      if (!fs.readFileSync(file).equals(f.data)) return false;
      if ((fs.statSync(file).mode & 0o7777) !== f.mode) return false;
    }
    return true;
  } catch {
    return false;
  }
}
