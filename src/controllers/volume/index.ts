// The volume controllers as one set, and the default StorageClass created at start.
import { isApiError } from '../../api/errors.js';
import { DEFAULT_CLASS_ANNOTATION, isDefaultStorageClass } from '../../api/kinds/storageclass.js';
import type { KubeObject } from '../../api/object.js';
import type { Client } from '../../client/client.js';
import type { Controller } from '../../client/controller-runner.js';
import { PersistentVolumeController } from './binder.js';
import { ExpandController } from './expand.js';
import { DEFAULT_STORAGE_CLASS, LOCAL_PATH_PROVISIONER } from './helpers.js';
import { ProtectionController } from './protection.js';
import { LocalPathProvisioner } from './provisioner.js';
import { AttachDetachController, type AttachDetachOptions } from './attachdetach.js';

export { PersistentVolumeController } from './binder.js';
export { ExpandController } from './expand.js';
export { ProtectionController } from './protection.js';
export { LocalPathProvisioner, type LocalPathOptions } from './provisioner.js';
export { AttachDetachController, type AttachDetachOptions, volumeAttachments } from './attachdetach.js';
export { volumeAccessConflict, READ_WRITE_ONCE_CONFLICT, READ_WRITE_ONCE_POD_CONFLICT } from './access.js';
export * from './helpers.js';

export interface VolumeControllerOptions {
  dataDir: string;
  singleMachine: boolean;
  serveForeignProvisioners: boolean;
  /** binder resync period (default 15 s, as upstream) */
  resyncMs?: number;
  /** the attach/detach controller's settings */
  attachDetach?: AttachDetachOptions;
}

/**
 * Binder, protection, expansion, attach/detach and the local-path provisioner. Across machines this
 * provisioner has no node: it only reports claims no node will take, while each node's
 * agent runs `new LocalPathProvisioner({ ..., nodeName })` for its own volumes.
 */
export function volumeControllers(opts: VolumeControllerOptions): Controller[] {
  return [
    new PersistentVolumeController({ resyncMs: opts.resyncMs }),
    new ProtectionController(),
    new ExpandController(),
    new LocalPathProvisioner({ dataDir: opts.dataDir, singleMachine: opts.singleMachine, serveForeignProvisioners: opts.serveForeignProvisioners }),
    new AttachDetachController(opts.attachDetach),
  ];
}

export interface DefaultStorageClassOptions {
  /**
   * On one machine every volume reaches every node, so claims may bind at once; across
   * machines a volume must wait for its pod's node (WaitForFirstConsumer).
   */
  volumeBindingMode?: 'Immediate' | 'WaitForFirstConsumer';
}

/**
 * Creates the `standard` class, marked default, unless it exists or another class is
 * already the default (a user's choice survives restarts).
 */
export async function ensureDefaultStorageClass(client: Client, opts: DefaultStorageClassOptions = {}): Promise<KubeObject | undefined> {
  const existing = (await client.storageClasses().list()).items;
  const current = existing.find((sc) => sc.metadata.name === DEFAULT_STORAGE_CLASS) ?? existing.find(isDefaultStorageClass);
  if (current) return current;
  try {
    return await client.storageClasses().create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
      provisioner: LOCAL_PATH_PROVISIONER,
      reclaimPolicy: 'Delete',
      volumeBindingMode: opts.volumeBindingMode ?? 'Immediate',
      // Directories have no fixed size, so growing a claim only records the new size.
      allowVolumeExpansion: true,
    });
  } catch (e) {
    if (isApiError(e, 'AlreadyExists')) return client.storageClasses().get(DEFAULT_STORAGE_CLASS);
    throw e;
  }
}
