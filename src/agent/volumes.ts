// A pod's volumes as host directories, for the runtime to mount: a claim through its bound
// PersistentVolume (hostPath or local), emptyDir as a directory of the pod's own under the
// agent's data directory, hostPath as it names. Before a claim is handed out its access
// modes are checked as the attach/detach controller and a CSI driver would upstream: a
// ReadWriteOnce volume already in use on another node is not mounted here (Multi-Attach),
// nor a ReadWriteOncePod one another pod uses. Every refusal is an error the pod worker
// turns into a FailedMount event and retries, so the pod waits in ContainerCreating.
import { promises as fs, mkdtempSync, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../api/object.js';
import type { Client } from '../client/client.js';
import { claimExclusivity, isPodTerminated, podClaimNames } from '../api/volume-access.js';

export interface PodVolumesOptions {
  /** the agent's client: claims, volumes and the pods using them are read through it */
  client: Client;
  nodeName: string;
  /** per-pod directories live in <dataDir>/pods/<uid>; default: a new directory under the system temp dir, removed by close() */
  dataDir?: string;
}

interface ClaimedVolume {
  /** the pod's name for the volume */
  volume: string;
  claim: KubeObject;
  pv: KubeObject;
}

export class PodVolumes {
  private dataDir?: string;
  private readonly ownsDataDir: boolean;
  private closed = false;
  /** namespace → a pod list in flight, shared by the pods starting meanwhile (a StatefulSet's replicas start together) */
  private readonly listing = new Map<string, Promise<KubeObject[]>>();
  /** pods of this node whose volumes were handed out and not yet released: uid → pod name and "namespace/claim" keys */
  private readonly inUse = new Map<string, { name: string; claims: Set<string> }>();

  constructor(private readonly opts: PodVolumesOptions) {
    this.dataDir = opts.dataDir;
    this.ownsDataDir = !opts.dataDir;
  }

  /** Volume name → host directory (volumes petset has no directory for are left out); throws what keeps the pod from starting. */
  async paths(pod: KubeObject): Promise<Record<string, string>> {
    const uid = pod.metadata.uid ?? '';
    const paths: Record<string, string> = {};
    const claimed: ClaimedVolume[] = [];
    for (const v of pod.spec?.volumes ?? []) {
      const claimName: string | undefined = v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? `${pod.metadata.name}-${v.name}` : undefined);
      if (claimName) claimed.push({ volume: v.name, ...(await this.boundVolume(pod, v.name, claimName, !!v.ephemeral)) });
      else if (v.emptyDir) paths[v.name] = await this.emptyDir(uid, v.name);
      else if (v.hostPath) paths[v.name] = await prepareHostPath(v.name, v.hostPath);
    }
    await this.checkOtherNodes(pod, claimed);
    for (const c of claimed) {
      const dir = await volumeDirectory(c.pv);
      if (dir) paths[c.volume] = dir;
    }
    this.holdOnThisNode(pod, claimed);
    return paths;
  }

  /** The pod's sandbox is gone: its claims are free for the node's other pods. */
  released(uid: string): void {
    this.inUse.delete(uid);
  }

  /** The pod is gone from the API: its emptyDirs go with it. */
  async removePod(uid: string): Promise<void> {
    this.inUse.delete(uid);
    if (this.dataDir && uid) await fs.rm(this.podDir(uid), { recursive: true, force: true });
  }

  /** Removes the directories of pods other than these (deleted while the agent was away). */
  async removeOrphans(keep: Set<string>): Promise<void> {
    if (!this.dataDir) return;
    const entries = await fs.readdir(path.join(this.dataDir, 'pods')).catch(() => [] as string[]);
    for (const uid of entries) if (!keep.has(uid)) await fs.rm(this.podDir(uid), { recursive: true, force: true });
  }

  /** Removes the data directory if it was made for this agent alone. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.ownsDataDir && this.dataDir) await fs.rm(this.dataDir, { recursive: true, force: true });
  }

  private podDir(uid: string): string {
    if (this.closed) throw new Error('the node agent has stopped');
    if (!this.dataDir) this.dataDir = mkdtempSync(path.join(os.tmpdir(), `petset-agent-${this.opts.nodeName}-`));
    return path.join(this.dataDir, 'pods', uid);
  }

  private async emptyDir(uid: string, name: string): Promise<string> {
    const dir = path.join(this.podDir(uid), 'volumes', name);
    // world-writable, as upstream makes emptyDirs: containers may run as any user
    await fs.mkdir(dir, { recursive: true });
    await fs.chmod(dir, 0o777);
    return dir;
  }

  /** The claim and the volume bound to it, checked as the kubelet's volume manager does. */
  private async boundVolume(pod: KubeObject, volume: string, claimName: string, ephemeral: boolean): Promise<{ claim: KubeObject; pv: KubeObject }> {
    const ns = pod.metadata.namespace ?? 'default';
    const fail = (detail: string) =>
      new Error(`Unable to attach or mount volumes: unmounted volumes=[${volume}], unattached volumes=[], failed to process volumes=[${volume}]: error processing PVC ${ns}/${claimName}: ${detail}`);
    const claim = await this.opts.client
      .persistentVolumeClaims(ns)
      .get(claimName)
      .catch((e: unknown) => {
        throw fail(`failed to fetch PVC from API server: ${errorText(e)}`);
      });
    if (ephemeral && !(claim.metadata.ownerReferences ?? []).some((r: any) => r?.controller && r.uid === pod.metadata.uid)) {
      throw fail(`PVC ${ns}/${claimName} was not created for pod ${ns}/${pod.metadata.name} (pod is not owner)`);
    }
    if (claim.metadata.deletionTimestamp) throw fail('PVC is being deleted');
    const pvName: string | undefined = claim.spec?.volumeName;
    if (claim.status?.phase !== 'Bound' || !pvName) throw fail('PVC is not bound');
    const pv = await this.opts.client
      .persistentVolumes()
      .get(pvName)
      .catch((e: unknown) => {
        throw fail(`failed to fetch PV ${pvName} from API server: ${errorText(e)}`);
      });
    const ref = pv.spec?.claimRef;
    if (!ref) throw fail(`found PV object ${pvName} but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim`);
    if (ref.uid !== claim.metadata.uid) throw fail(`found PV object ${pvName} but its pv.Spec.ClaimRef.UID ${ref.uid} does not point to claim.UID ${claim.metadata.uid}`);
    return { claim, pv };
  }

  /**
   * Records the pod's claims as in use here, unless another pod of this node holds one of
   * its ReadWriteOncePod claims. Synchronous, so two pods of the node starting together
   * cannot both pass.
   */
  private holdOnThisNode(pod: KubeObject, claimed: ClaimedVolume[]): void {
    const ns = pod.metadata.namespace ?? 'default';
    const uid = pod.metadata.uid ?? '';
    const keys = new Set(claimed.map((c) => `${ns}/${c.claim.metadata.name}`));
    for (const c of claimed) {
      if (claimExclusivity(c.claim) !== 'pod') continue;
      const key = `${ns}/${c.claim.metadata.name}`;
      const holders = [...this.inUse].filter(([other, use]) => other !== uid && use.claims.has(key)).map(([, use]) => use.name);
      if (holders.length) throw readWriteOncePodError(c.pv, holders);
    }
    this.inUse.set(uid, { name: pod.metadata.name ?? '', claims: keys });
  }

  /**
   * No pod of another node runs with one of the pod's ReadWriteOnce or ReadWriteOncePod
   * claims. Such a pod counts once its sandbox is up: a pod merely scheduled there has
   * mounted nothing, and counting it would let two pods that wait for each other never start.
   */
  private async checkOtherNodes(pod: KubeObject, claimed: ClaimedVolume[]): Promise<void> {
    const exclusive = claimed.filter((c) => claimExclusivity(c.claim));
    if (!exclusive.length) return;
    const ns = pod.metadata.namespace ?? 'default';
    const uid = pod.metadata.uid;
    const elsewhere = (await this.podsIn(ns)).filter(
      (p) => p.metadata.uid !== uid && p.spec?.nodeName && p.spec.nodeName !== this.opts.nodeName && !isPodTerminated(p) && sandboxUp(p),
    );
    for (const c of exclusive) {
      const users = elsewhere.filter((p) => podClaimNames(p).includes(c.claim.metadata.name!)).map((p) => p.metadata.name!);
      if (!users.length) continue;
      if (claimExclusivity(c.claim) === 'pod') throw readWriteOncePodError(c.pv, users);
      throw new Error(`Multi-Attach error for volume "${c.pv.metadata.name}" Volume is already used by pod(s) ${users.join(', ')}`);
    }
  }

  private podsIn(namespace: string): Promise<KubeObject[]> {
    let pods = this.listing.get(namespace);
    if (!pods) {
      pods = this.opts.client
        .pods(namespace)
        .listAll()
        .then((list) => list.items)
        .finally(() => this.listing.delete(namespace));
      this.listing.set(namespace, pods);
    }
    return pods;
  }
}

function sandboxUp(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' || (pod.status?.conditions ?? []).some((c: any) => c?.type === 'PodReadyToStartContainers' && c.status === 'True');
}

function readWriteOncePodError(pv: KubeObject, users: string[]): Error {
  return new Error(`MountVolume.SetUp failed for volume "${pv.metadata.name}" : the volume's claim has the ReadWriteOncePod access mode and is already used by pod(s) ${users.join(', ')}`);
}

/** The directory of a bound volume, or undefined for sources petset cannot reach (nfs, csi, ...). */
async function volumeDirectory(pv: KubeObject): Promise<string | undefined> {
  const name = pv.metadata.name ?? '';
  if (pv.spec?.hostPath) return prepareHostPath(name, pv.spec.hostPath);
  const local: string | undefined = pv.spec?.local?.path;
  if (local === undefined) return undefined;
  if (!(await stat(local))) throw new Error(`MountVolume.NewMounter initialization failed for volume "${name}" : path "${local}" does not exist`);
  return local;
}

/** What each hostPath type requires of the path, and how the *OrCreate ones make it. */
const HOST_PATH_TYPES: Record<string, { what: string; is: (s: Stats) => boolean; create?: (p: string) => Promise<unknown> }> = {
  DirectoryOrCreate: { what: 'a directory', is: (s) => s.isDirectory(), create: (p) => fs.mkdir(p, { recursive: true, mode: 0o755 }) },
  Directory: { what: 'a directory', is: (s) => s.isDirectory() },
  FileOrCreate: { what: 'a file', is: (s) => s.isFile(), create: (p) => fs.writeFile(p, '', { flag: 'a', mode: 0o644 }) },
  File: { what: 'a file', is: (s) => s.isFile() },
  Socket: { what: 'a socket file', is: (s) => s.isSocket() },
  CharDevice: { what: 'a character device', is: (s) => s.isCharacterDevice() },
  BlockDevice: { what: 'a block device', is: (s) => s.isBlockDevice() },
};

/** Checks (or makes) a hostPath as its type says; an unset type gets a directory when nothing is there, for the runtime to mount. */
async function prepareHostPath(volume: string, source: { path?: string; type?: string }): Promise<string> {
  const p = source.path ?? '';
  const kind = HOST_PATH_TYPES[source.type ?? ''];
  const fail = (detail: string) => new Error(`MountVolume.SetUp failed for volume "${volume}" : hostPath type check failed: ${p} ${detail}`);
  let found = await stat(p);
  if (!kind) {
    if (!found) await fs.mkdir(p, { recursive: true, mode: 0o755 });
    return p;
  }
  if (!found && kind.create) {
    await kind.create(p).catch((e: unknown) => {
      throw new Error(`MountVolume.SetUp failed for volume "${volume}" : ${errorText(e)}`);
    });
    found = await stat(p);
  }
  if (!found) throw fail('does not exist');
  if (!kind.is(found)) throw fail(`is not ${kind.what}`);
  return p;
}

async function stat(p: string): Promise<Stats | undefined> {
  return p ? fs.stat(p).catch(() => undefined) : undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
