// A pod's volumes as host directories, for the runtime to mount: a claim through its bound
// PersistentVolume (hostPath or local), emptyDir as a directory of the pod's own under the
// agent's data directory, hostPath as it names. Before a claim is handed out its access
// modes are checked as the attach/detach controller and a CSI driver would upstream: a
// ReadWriteOnce volume already in use on another node is not mounted here (Multi-Attach),
// nor a ReadWriteOncePod one another pod uses. Every refusal is an error the pod worker
// turns into a FailedMount event and retries, so the pod waits in ContainerCreating.
//
// The Multi-Attach check reads pods of other nodes only when one could hold the volume: with
// the attach/detach controller on (waitForAttach), a pod whose sandbox is up on another node
// mounted the volume only after it was attached there, and that attachment stays while the
// pod is scheduled there and unfinished; the controller attaches a ReadWriteOnce volume to
// this node only while no other node has an attachment of it. So a volume with an attachment
// on this node has no user elsewhere, and a pod start costs an index lookup instead of a
// namespace-wide pod list (which made a StatefulSet's start quadratic in its replicas). The
// agent therefore watches only this node's attachments (a field selector on spec.nodeName:
// every agent watching all of them was most of the cluster's watch traffic), waits for its
// attachment first, and lists pods only when the attachment is slow to come (a volume held
// elsewhere never gets one), to name the pods that hold it.
import { promises as fs, mkdtempSync, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../api/object.js';
import type { Client } from '../client/client.js';
import { claimExclusivity, isPodTerminated, podClaimNames } from '../api/volume-access.js';
import { isAttachableVolume, PETSET_ATTACHER, uniqueVolumeName } from '../api/kinds/volumeattachment.js';
import { Informer } from '../client/informer.js';

export interface PodVolumesOptions {
  /** the agent's client: claims, volumes and the pods using them are read through it */
  client: Client;
  nodeName: string;
  /** per-pod directories live in <dataDir>/pods/<uid>; default: a new directory under the system temp dir, removed by close() */
  dataDir?: string;
  /**
   * Wait for the attach/detach controller to attach a claim's volume to this node before
   * mounting it, as the kubelet does (default true; false where no such controller runs).
   */
  waitForAttach?: boolean;
  /** how long one mount attempt waits for the attachment (the kubelet's 2m3s by default) */
  attachTimeoutMs?: number;
  /** the set of volumes mounted on this node changed (node status reports them) */
  onVolumesInUseChanged?: () => void;
}

const VOLUME_ATTACHMENTS = { group: 'storage.k8s.io', version: 'v1', resource: 'volumeattachments', kind: 'VolumeAttachment', namespaced: false };
const DEFAULT_ATTACH_TIMEOUT_MS = 123_000;
/** attachments by spec.source.persistentVolumeName */
const BY_VOLUME = 'persistentVolumeName';
/** how long a pod waits for its attachment before looking for pods of other nodes holding the volume, and then how often */
const HELD_ELSEWHERE_FIRST_CHECK_MS = 1000;
const HELD_ELSEWHERE_CHECK_EVERY_MS = 5000;

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
  private readonly inUse = new Map<string, { name: string; claims: Set<string>; volumes: string[]; exclusiveDirs: string[] }>();
  private attachments?: Informer;
  /** pods waiting for an attachment, by the volume's name: only that volume's changes wake them */
  private readonly attachWaiters = new Map<string, Set<() => void>>();

  constructor(private readonly opts: PodVolumesOptions) {
    this.dataDir = opts.dataDir;
    this.ownsDataDir = !opts.dataDir;
  }

  /** Volume name → host directory (volumes petset has no directory for are left out); throws what keeps the pod from starting. */
  async paths(pod: KubeObject, stillWanted: () => boolean = () => true): Promise<Record<string, string>> {
    const uid = pod.metadata.uid ?? '';
    const paths: Record<string, string> = {};
    const claimed: ClaimedVolume[] = [];
    for (const v of pod.spec?.volumes ?? []) {
      const claimName: string | undefined = v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? `${pod.metadata.name}-${v.name}` : undefined);
      if (claimName) claimed.push({ volume: v.name, ...(await this.boundVolume(pod, v.name, claimName, !!v.ephemeral)) });
      else if (v.emptyDir) paths[v.name] = await this.emptyDir(uid, v.name);
      else if (v.hostPath) paths[v.name] = await prepareHostPath(v.name, v.hostPath);
    }
    await this.waitForAttachments(pod, claimed, stillWanted);
    await this.checkOtherNodes(pod, claimed);
    const exclusiveDirs: string[] = [];
    for (const c of claimed) {
      const dir = await volumeDirectory(c.pv);
      if (!dir) continue;
      paths[c.volume] = dir;
      if (claimExclusivity(c.claim)) exclusiveDirs.push(dir);
    }
    this.holdOnThisNode(pod, claimed, exclusiveDirs);
    return paths;
  }

  /** Directories of the pod's ReadWriteOnce(Pod) claims, which its sandbox must hold alone on this machine. */
  exclusiveDirs(uid: string): string[] {
    return this.inUse.get(uid)?.exclusiveDirs ?? [];
  }

  /** status.volumesInUse: the attachable volumes the node's pods have mounted. */
  volumesInUse(): string[] {
    const names = new Set<string>();
    for (const use of this.inUse.values()) for (const v of use.volumes) names.add(v);
    return [...names].sort();
  }

  /** The pod's sandbox is gone: its claims are free for the node's other pods. */
  released(uid: string): void {
    this.forget(uid);
  }

  private forget(uid: string): void {
    const had = this.inUse.get(uid);
    this.inUse.delete(uid);
    if (had?.volumes.length) this.opts.onVolumesInUseChanged?.();
  }

  /** The pod is gone from the API: its emptyDirs go with it. */
  async removePod(uid: string): Promise<void> {
    this.forget(uid);
    if (this.dataDir && uid) await fs.rm(this.podDir(uid), { recursive: true, force: true });
  }

  /** Removes the directories of pods other than these (deleted while the agent was away). */
  async removeOrphans(keep: Set<string>): Promise<void> {
    if (!this.dataDir) return;
    const entries = await fs.readdir(path.join(this.dataDir, 'pods')).catch(() => [] as string[]);
    for (const uid of entries) if (!keep.has(uid)) await fs.rm(this.podDir(uid), { recursive: true, force: true });
  }

  /** Stops watching attachments and wakes whoever waits on one; the directories stay (a crashed agent's). */
  halt(): void {
    this.closed = true;
    this.attachments?.stop();
    for (const waiters of [...this.attachWaiters.values()]) for (const wake of [...waiters]) wake();
  }

  /** Halts, and removes the data directory if it was made for this agent alone. */
  async close(): Promise<void> {
    this.halt();
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
  private holdOnThisNode(pod: KubeObject, claimed: ClaimedVolume[], exclusiveDirs: string[]): void {
    const ns = pod.metadata.namespace ?? 'default';
    const uid = pod.metadata.uid ?? '';
    const keys = new Set(claimed.map((c) => `${ns}/${c.claim.metadata.name}`));
    for (const c of claimed) {
      if (claimExclusivity(c.claim) !== 'pod') continue;
      const key = `${ns}/${c.claim.metadata.name}`;
      const holders = [...this.inUse].filter(([other, use]) => other !== uid && use.claims.has(key)).map(([, use]) => use.name);
      if (holders.length) throw readWriteOncePodError(c.pv, holders);
    }
    const volumes = claimed.filter((c) => isAttachableVolume(c.pv)).map((c) => uniqueVolumeName(PETSET_ATTACHER, c.pv.metadata.name!));
    const before = this.inUse.get(uid)?.volumes.join(',');
    this.inUse.set(uid, { name: pod.metadata.name ?? '', claims: keys, volumes, exclusiveDirs });
    if (before !== volumes.join(',')) this.opts.onVolumesInUseChanged?.();
  }

  /**
   * Waits until every attachable volume of the pod is attached to this node, as the
   * kubelet's volume manager does before mounting; gives up after the attach timeout with
   * upstream's words, or at once when the pod is no longer wanted here.
   */
  private async waitForAttachments(pod: KubeObject, claimed: ClaimedVolume[], stillWanted: () => boolean): Promise<void> {
    if (this.opts.waitForAttach === false) return;
    const pending = () => claimed.filter((c) => isAttachableVolume(c.pv) && !this.isAttached(c.pv.metadata.name!));
    const inf = this.attachmentInformer();
    await inf.synced();
    const deadline = Date.now() + (this.opts.attachTimeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS);
    let checkElsewhereAt = Date.now() + HELD_ELSEWHERE_FIRST_CHECK_MS;
    for (;;) {
      const missing = pending();
      if (!missing.length) return;
      if (this.closed || !stillWanted()) throw new Error('the pod is no longer to run on this node');
      if (Date.now() >= checkElsewhereAt) {
        // no attachment yet: the controller may be holding it back because another node has the volume (Multi-Attach)
        checkElsewhereAt = Date.now() + HELD_ELSEWHERE_CHECK_EVERY_MS;
        await this.checkOtherNodes(pod, claimed);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const names = missing.map((c) => c.volume).join(' ');
        const all = claimed.map((c) => c.volume).join(' ');
        throw new Error(`Unable to attach or mount volumes: unmounted volumes=[${all}], unattached volumes=[${names}], failed to process volumes=[]: timed out waiting for the condition`);
      }
      await new Promise<void>((resolve) => {
        const volumes = missing.map((c) => c.pv.metadata.name!);
        const wake = () => {
          clearTimeout(timer);
          for (const v of volumes) {
            const waiters = this.attachWaiters.get(v);
            waiters?.delete(wake);
            if (waiters && !waiters.size) this.attachWaiters.delete(v);
          }
          resolve();
        };
        // also look again now and then: the pod may have been deleted meanwhile
        const timer = setTimeout(wake, Math.min(left, 500));
        for (const v of volumes) {
          let waiters = this.attachWaiters.get(v);
          if (!waiters) this.attachWaiters.set(v, (waiters = new Set()));
          waiters.add(wake);
        }
      });
    }
  }

  private isAttached(pvName: string): boolean {
    const inf = this.attachmentInformer();
    return inf.byIndex(BY_VOLUME, pvName).some((va) => va.spec?.nodeName === this.opts.nodeName && va.status?.attached === true && !va.metadata.deletionTimestamp);
  }

  /** Whether a VolumeAttachment, in any state and not going away, ties the volume to this node. */
  private attachmentHere(pvName: string): boolean {
    return this.attachmentInformer()
      .byIndex(BY_VOLUME, pvName)
      .some((va) => va.spec?.nodeName === this.opts.nodeName && !va.metadata.deletionTimestamp);
  }

  private attachmentInformer(): Informer {
    if (!this.attachments) {
      this.attachments = new Informer(this.opts.client, VOLUME_ATTACHMENTS, { fieldSelector: `spec.nodeName=${this.opts.nodeName}` });
      this.attachments.addIndexer(BY_VOLUME, (va) => {
        const pv = va.spec?.source?.persistentVolumeName;
        return typeof pv === 'string' ? [pv] : [];
      });
      const wake = (va: KubeObject) => {
        const waiters = this.attachWaiters.get(va.spec?.source?.persistentVolumeName);
        for (const w of [...(waiters ?? [])]) w();
      };
      this.attachments.addEventHandler({ onAdd: wake, onUpdate: (_old, va) => wake(va), onDelete: wake });
      this.attachments.start();
    }
    return this.attachments;
  }

  /**
   * No pod of another node runs with one of the pod's ReadWriteOnce or ReadWriteOncePod
   * claims. Such a pod counts once its sandbox is up: a pod merely scheduled there has
   * mounted nothing, and counting it would let two pods that wait for each other never start.
   */
  private async checkOtherNodes(pod: KubeObject, claimed: ClaimedVolume[]): Promise<void> {
    const exclusive = claimed.filter((c) => claimExclusivity(c.claim));
    if (!exclusive.length) return;
    if (this.opts.waitForAttach !== false && exclusive.every((c) => isAttachableVolume(c.pv))) {
      await this.attachmentInformer().synced();
      // attached (or being attached) here: no pod of another node has this volume mounted (see the top of this file)
      if (exclusive.every((c) => this.attachmentHere(c.pv.metadata.name!))) return;
    }
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
