// The built-in provisioner, petset.io/local-path, behaving like an external provisioner:
// it serves claims the binder annotated with its name, makes a directory and a PV
// pre-bound to the claim, and removes the directory when a Delete-policy volume is
// released. On one machine every node reaches every directory, so volumes carry no node
// affinity; across machines each volume lives in its node's data directory, pinned to that
// node, and each node runs its own instance filtered to its name.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isApiError } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import type { Client } from '../../client/client.js';
import { resources } from '../../client/client.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../client/controller-runner.js';
import { removeFinalizer } from './finalizers.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_LOCAL_PATH_NODE,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  HOSTNAME_LABEL,
  LOCAL_PATH_PROVISIONER,
  NO_PROVISIONER,
  PROVISIONER_FINALIZER,
  claimClass,
  claimReference,
  hostnameAffinity,
  volumeModeOf,
} from './helpers.js';

export interface LocalPathOptions {
  /** volumes live under <dataDir>/volumes */
  dataDir: string;
  /** every node shares this machine's disk */
  singleMachine: boolean;
  /** on one machine, also serve classes whose provisioner nothing here runs (e.g. kubernetes.io/gce-pd) */
  serveForeignProvisioners: boolean;
  /** across machines: only claims selected to this node, and only this node's volumes */
  nodeName?: string;
}

/** how long a volume created here counts as provisioned before the informer shows it */
const CREATED_MEMORY_MS = 30_000;

const NODE_LOCAL_MODES = new Set(['ReadWriteOnce', 'ReadWriteOncePod']);

/** A provisioning problem the claim's owner must fix; retrying will not help. */
class ConfigurationError extends Error {}

export class LocalPathProvisioner implements Controller {
  readonly name: string;
  private readonly claimQueue = new WorkQueue<string>();
  private readonly volumeQueue = new WorkQueue<string>();
  private readonly volumesRoot: string;
  private client!: Client;
  private recorder!: EventRecorder;
  private claims!: Informer;
  private volumes!: Informer;
  private classes!: Informer;
  private nodes!: Informer;
  /**
   * Volumes created here that the informer has not shown yet: the claim's own updates meanwhile
   * (annotations, status) would otherwise provision it again, each time a directory and a
   * create refused as AlreadyExists, with Provisioning events. By name, when created: an entry
   * the informer never clears (a volume deleted before any watch saw it) expires.
   */
  private readonly created = new Map<string, number>();

  constructor(private readonly options: LocalPathOptions) {
    this.name = options.nodeName ? `local-path-provisioner/${options.nodeName}` : 'local-path-provisioner';
    this.volumesRoot = path.resolve(options.dataDir, 'volumes');
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.recorder = new EventRecorder(ctx.client, LOCAL_PATH_PROVISIONER, this.options.nodeName ? { host: this.options.nodeName } : {});
    this.claims = ctx.informers.informerFor(resources.persistentVolumeClaims);
    this.volumes = ctx.informers.informerFor(resources.persistentVolumes);
    this.classes = ctx.informers.informerFor(resources.storageClasses);
    this.nodes = ctx.informers.informerFor(resources.nodes);
    this.claims.addEventHandler({ onAdd: (c) => this.claimQueue.add(keyOf(c)), onUpdate: (_o, c) => this.claimQueue.add(keyOf(c)) });
    this.volumes.addEventHandler({
      onAdd: (pv) => {
        this.created.delete(pv.metadata.name!);
        this.volumeQueue.add(pv.metadata.name!);
      },
      onUpdate: (_o, pv) => this.volumeQueue.add(pv.metadata.name!),
    });
    const onError = (key: string, err: unknown) => {
      if (!isApiError(err, 'Conflict')) console.warn(`[${this.name}] ${key}: ${err instanceof Error ? err.message : String(err)}`);
    };
    // each volume waits for a directory and a durable write: several at once share commits
    ctx.runWorkers(this.claimQueue, 32, (key) => this.syncClaim(key), { onError });
    ctx.runWorkers(this.volumeQueue, 1, (name) => this.syncVolume(name), { onError });
  }

  stop(): void {
    this.claimQueue.shutDown();
    this.volumeQueue.shutDown();
  }

  /** The provisioner names this instance answers to. */
  serves(provisioner: string): boolean {
    if (provisioner === LOCAL_PATH_PROVISIONER) return true;
    return this.options.singleMachine && this.options.serveForeignProvisioners && provisioner !== NO_PROVISIONER;
  }

  /* ---------------- provisioning ---------------- */

  private async syncClaim(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim || claim.spec?.volumeName || claim.metadata.deletionTimestamp) return;
    const annotations = claim.metadata.annotations ?? {};
    const wanted = annotations[ANN_STORAGE_PROVISIONER] ?? annotations[ANN_BETA_STORAGE_PROVISIONER];
    if (!wanted || !this.serves(wanted)) return;
    const cls = this.classes.get(claimClass(claim));
    if (!cls) return;
    const selectedNode = annotations[ANN_SELECTED_NODE];
    if (cls.volumeBindingMode === 'WaitForFirstConsumer' && !selectedNode) return;
    const { nodeName, singleMachine } = this.options;
    // Across machines a node's own instance takes the claims scheduled there; an instance
    // without a node only tells the owners of claims that no node will take.
    if (!singleMachine && selectedNode !== nodeName) return;
    const pvName = `pvc-${claim.metadata.uid}`;
    if (this.volumes.get(pvName) || Date.now() - (this.created.get(pvName) ?? -Infinity) < CREATED_MEMORY_MS) return;
    this.created.delete(pvName);

    this.recorder.event(claim, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${keyOf(claim)}"`);
    if (wanted !== LOCAL_PATH_PROVISIONER) {
      this.recorder.event(
        claim,
        'Normal',
        'ProvisionerSubstituted',
        `StorageClass "${cls.metadata.name}" names provisioner "${wanted}", which nothing in this cluster serves; ${LOCAL_PATH_PROVISIONER} provisions a local directory instead`,
      );
    }
    let pv: KubeObject;
    try {
      pv = this.volumeFor(claim, cls, pvName, selectedNode);
      await fs.mkdir(this.hostPathOf(pv), { recursive: true, mode: 0o777 });
      await this.client.persistentVolumes().create(pv);
      // unless the informer has already shown it
      if (!this.volumes.get(pvName)) this.created.set(pvName, Date.now());
    } catch (e) {
      if (isApiError(e, 'AlreadyExists')) return;
      this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${cls.metadata.name}": ${(e as Error).message}`);
      if (e instanceof ConfigurationError) return;
      throw e;
    }
    this.recorder.event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
  }

  /** The PV for a claim: a directory, pre-bound to the claim (throws ConfigurationError for claims it cannot serve). */
  private volumeFor(claim: KubeObject, cls: KubeObject, pvName: string, selectedNode: string | undefined): KubeObject {
    const spec = claim.spec ?? {};
    if (spec.selector) throw new ConfigurationError('claim.Spec.Selector is not supported');
    if (volumeModeOf(claim) === 'Block') throw new ConfigurationError(`${LOCAL_PATH_PROVISIONER} does not support block volume provisioning`);
    const reclaimPolicy: string = cls.reclaimPolicy || 'Delete';
    const pv: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [ANN_PROVISIONED_BY]: LOCAL_PATH_PROVISIONER } },
      spec: {
        capacity: { storage: spec.resources?.requests?.storage },
        accessModes: spec.accessModes,
        persistentVolumeReclaimPolicy: reclaimPolicy,
        storageClassName: cls.metadata.name,
        volumeMode: 'Filesystem',
        claimRef: claimReference(claim),
      },
    };
    if (reclaimPolicy === 'Delete') pv.metadata.finalizers = [PROVISIONER_FINALIZER];
    if (cls.mountOptions?.length) pv.spec.mountOptions = cls.mountOptions;

    if (this.options.singleMachine) {
      pv.spec.hostPath = { path: path.join(this.volumesRoot, pvName), type: 'DirectoryOrCreate' };
      return pv;
    }
    if (!selectedNode) throw new ConfigurationError('configuration error, no node was specified');
    if ((spec.accessModes ?? []).some((m: string) => !NODE_LOCAL_MODES.has(m))) {
      throw new ConfigurationError('NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes');
    }
    const hostname = this.nodes.get(selectedNode)?.metadata.labels?.[HOSTNAME_LABEL] ?? selectedNode;
    pv.metadata.annotations![ANN_LOCAL_PATH_NODE] = selectedNode;
    pv.spec.local = { path: path.join(this.volumesRoot, selectedNode, pvName) };
    pv.spec.nodeAffinity = hostnameAffinity(hostname);
    return pv;
  }

  /* ---------------- reclaiming ---------------- */

  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (!pv || pv.metadata.annotations?.[ANN_PROVISIONED_BY] !== LOCAL_PATH_PROVISIONER) return;
    // Only the instance on the volume's machine can reach its directory.
    const volumeNode = pv.metadata.annotations?.[ANN_LOCAL_PATH_NODE];
    if (volumeNode !== (this.options.singleMachine ? undefined : this.options.nodeName)) return;
    const deleting = !!pv.metadata.deletionTimestamp;
    const pvs = this.client.persistentVolumes();
    if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') {
      if (deleting) await removeFinalizer(pvs, pv, PROVISIONER_FINALIZER);
      return;
    }
    const released = pv.status?.phase === 'Released' || pv.status?.phase === 'Failed';
    if (!released && !(deleting && pv.status?.phase !== 'Bound')) return;

    try {
      await fs.rm(this.hostPathOf(pv), { recursive: true, force: true });
    } catch (e) {
      this.recorder.event(pv, 'Warning', 'VolumeFailedDelete', (e as Error).message);
      throw e;
    }
    if (!deleting) {
      try {
        await pvs.delete(name);
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
      }
    }
    await removeFinalizer(pvs, pv, PROVISIONER_FINALIZER);
  }

  /** The volume's directory; never anything outside this provisioner's root. */
  private hostPathOf(pv: KubeObject): string {
    const dir = path.resolve(pv.spec?.hostPath?.path ?? pv.spec?.local?.path ?? '');
    if (!dir.startsWith(this.volumesRoot + path.sep)) throw new Error(`volume path "${dir}" is outside ${this.volumesRoot}`);
    return dir;
  }
}
