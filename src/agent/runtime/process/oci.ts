// A small OCI image puller: registry v2 API (anonymous bearer tokens), image index →
// linux/amd64, gzip (or plain) tar layers with whiteouts, digest checks, and a
// content-addressed cache shared by every pod of the node. An unpacked image is used as a
// read-only lower layer; each container gets its own overlay on top (./runtime.ts).
//
// Only registries on this machine's loopback are contacted: petset must not send a packet
// off the machine, and a machine without registry access must fail fast, not hang.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export interface ImageRef {
  registry: string;
  repository: string;
  /** a tag or a digest (sha256:...) */
  reference: string;
}

export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
}

export interface PulledImage {
  /** the unpacked root filesystem (shared, never written) */
  rootfs: string;
  config: ImageConfig;
  /** repo@sha256:... of the manifest, for containerStatuses[].imageID */
  imageID: string;
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** "localhost:5000/app:1" → registry localhost:5000; names without a registry host are Docker Hub's. */
export function parseImageRef(image: string): ImageRef {
  let rest = image.trim();
  let registry = 'registry-1.docker.io';
  const first = rest.split('/')[0];
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first === 'docker.io' || first === 'index.docker.io' ? 'registry-1.docker.io' : first;
    rest = rest.slice(first.length + 1);
  }
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  if (registry === 'registry-1.docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  return { registry, repository: rest, reference };
}

/** Whether the registry is on this machine (the only ones petset contacts). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

export class OciPuller {
  private readonly inflight = new Map<string, Promise<PulledImage>>();

  constructor(private readonly cacheDir: string) {}

  /** The image as last pulled under this reference, without contacting the registry. */
  cached(image: string): PulledImage | undefined {
    try {
      const rec = JSON.parse(fs.readFileSync(this.tagFile(image), 'utf8')) as { rootfs: string; imageID: string };
      if (!fs.existsSync(rec.rootfs + '.complete')) return undefined;
      return { ...rec, config: JSON.parse(fs.readFileSync(rec.rootfs + '.config.json', 'utf8')) };
    } catch {
      return undefined;
    }
  }

  private tagFile(image: string): string {
    return path.join(this.cacheDir, 'refs', createHash('sha256').update(image).digest('hex') + '.json');
  }

  pull(image: string): Promise<PulledImage> {
    let p = this.inflight.get(image);
    if (!p) {
      p = this.doPull(image)
        .then((pulled) => {
          fs.mkdirSync(path.dirname(this.tagFile(image)), { recursive: true });
          fs.writeFileSync(this.tagFile(image), JSON.stringify({ rootfs: pulled.rootfs, imageID: pulled.imageID }));
          return pulled;
        })
        .finally(() => this.inflight.delete(image));
      this.inflight.set(image, p);
    }
    return p;
  }

  private async doPull(image: string): Promise<PulledImage> {
    const ref = parseImageRef(image);
    if (!isLoopbackRegistry(ref.registry)) throw new Error(`registry ${ref.registry} is not on this machine; petset pulls only from loopback registries`);
    const base = `http://${ref.registry}/v2/${ref.repository}`;
    let token: string | undefined;
    const get = async (url: string, accept?: string): Promise<Response> => {
      for (let attempt = 0; attempt < 2; attempt++) {
        const headers: Record<string, string> = {};
        if (accept) headers.Accept = accept;
        if (token) headers.Authorization = `Bearer ${token}`;
        const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
        if (res.status === 401 && !token) {
          token = await this.token(res.headers.get('www-authenticate') ?? '', ref);
          if (token) continue;
        }
        if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${res.statusText}`);
        return res;
      }
      throw new Error(`GET ${url}: unauthorized`);
    };
    let res = await get(`${base}/manifests/${ref.reference}`, ACCEPT);
    let body = Buffer.from(await res.arrayBuffer());
    let manifest = JSON.parse(body.toString('utf8'));
    let digest = res.headers.get('docker-content-digest') ?? `sha256:${sha256(body)}`;
    if (manifest.manifests) {
      const pick = manifest.manifests.find((m: any) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64');
      if (!pick) throw new Error(`image ${image} has no linux/amd64 variant`);
      res = await get(`${base}/manifests/${pick.digest}`, ACCEPT);
      body = Buffer.from(await res.arrayBuffer());
      verify(body, pick.digest);
      manifest = JSON.parse(body.toString('utf8'));
      digest = pick.digest;
    }
    const imageID = `${ref.registry}/${ref.repository}@${digest}`;
    const rootfs = path.join(this.cacheDir, 'rootfs', digest.replace(':', '-'));
    const configFile = path.join(rootfs + '.config.json');
    if (fs.existsSync(rootfs + '.complete')) return { rootfs, config: JSON.parse(fs.readFileSync(configFile, 'utf8')), imageID };
    const blob = async (d: string): Promise<Buffer> => {
      const file = path.join(this.cacheDir, 'blobs', d.replace(':', '-'));
      if (fs.existsSync(file)) return fs.readFileSync(file);
      const data = Buffer.from(await (await get(`${base}/blobs/${d}`)).arrayBuffer());
      verify(data, d);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file + '.tmp', data);
      fs.renameSync(file + '.tmp', file);
      return data;
    };
    const config = JSON.parse((await blob(manifest.config.digest)).toString('utf8')).config ?? {};
    const tmp = rootfs + '.partial';
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true, mode: 0o755 });
    for (const layer of manifest.layers ?? []) {
      let data = await blob(layer.digest);
      if (/gzip/.test(layer.mediaType ?? '') || (data[0] === 0x1f && data[1] === 0x8b)) data = zlib.gunzipSync(data);
      else if (/zstd/.test(layer.mediaType ?? '')) throw new Error(`layer ${layer.digest} is zstd-compressed, which petset cannot unpack yet`);
      applyLayer(tmp, data);
    }
    fs.rmSync(rootfs, { recursive: true, force: true });
    fs.renameSync(tmp, rootfs);
    fs.writeFileSync(configFile, JSON.stringify(config));
    fs.writeFileSync(rootfs + '.complete', imageID);
    return { rootfs, config, imageID };
  }

  private async token(challenge: string, ref: ImageRef): Promise<string | undefined> {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!/^Bearer/i.test(challenge) || !params.realm) return undefined;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${ref.repository}:pull`);
    if (!isLoopbackRegistry(url.host)) throw new Error(`token service ${url.host} is not on this machine`);
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return undefined;
    const j = (await res.json()) as { token?: string; access_token?: string };
    return j.token ?? j.access_token;
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function verify(data: Buffer, digest: string): void {
  const [alg, hex] = digest.split(':');
  if (alg !== 'sha256') throw new Error(`unsupported digest algorithm ${alg}`);
  if (sha256(data) !== hex) throw new Error(`digest mismatch for ${digest}`);
}

/** Unpacks one uncompressed tar layer into dir, applying whiteouts (.wh.NAME, .wh..wh..opq). */
export function applyLayer(dir: string, tar: Buffer): void {
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  const hardlinks: [string, string][] = [];
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) => h.subarray(a, a + n).toString('utf8').replace(/\0.*$/s, '');
    const num = (a: number, n: number) => parseInt(str(a, n).trim() || '0', 8);
    const size = num(124, 12);
    const type = String.fromCharCode(h[156] || 48);
    const body = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'K') {
      longLink = body.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'x') {
      pax = {};
      for (const m of body.toString('utf8').matchAll(/\d+ ([^=]+)=([^\n]*)\n/g)) pax[m[1]] = m[2];
      continue;
    }
    if (type === 'g') continue;
    const prefix = str(345, 155);
    let name = pax.path ?? longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    const link = pax.linkpath ?? longLink ?? str(157, 100);
    const mode = num(100, 8) & 0o7777;
    const uid = pax.uid ? Number(pax.uid) : num(108, 8);
    const gid = pax.gid ? Number(pax.gid) : num(116, 8);
    longName = longLink = undefined;
    pax = {};
    name = path.posix.normalize('/' + name).slice(1);
    if (!name || name === '.') continue;
    const target = path.join(dir, name);
    if (!target.startsWith(dir + path.sep)) continue; // escapes the root: ignored
    const base = path.posix.basename(name);
    const parent = path.dirname(target);
    if (base === '.wh..wh..opq') {
      for (const e of safeList(parent)) fs.rmSync(path.join(parent, e), { recursive: true, force: true });
      continue;
    }
    if (base.startsWith('.wh.')) {
      fs.rmSync(path.join(parent, base.slice(4)), { recursive: true, force: true });
      continue;
    }
    fs.mkdirSync(parent, { recursive: true });
    const existing = fs.lstatSync(target, { throwIfNoEntry: false });
    if (existing && !(existing.isDirectory() && type === '5')) fs.rmSync(target, { recursive: true, force: true });
    if (type === '5') {
      fs.mkdirSync(target, { recursive: true });
      fs.chmodSync(target, mode);
    } else if (type === '2') fs.symlinkSync(link, target);
    else if (type === '1') hardlinks.push([path.join(dir, path.posix.normalize('/' + link).slice(1)), target]);
    else if (type === '0' || type === '7') {
      fs.writeFileSync(target, body, { mode });
      fs.chmodSync(target, mode);
    } else continue; // devices and fifos: bwrap's --dev supplies /dev
    try {
      fs.lchownSync(target, uid, gid);
    } catch {
      /* best effort */
    }
  }
  for (const [from, to] of hardlinks) {
    fs.rmSync(to, { force: true });
    try {
      fs.linkSync(from, to);
    } catch {
      if (fs.existsSync(from)) fs.copyFileSync(from, to);
    }
  }
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
