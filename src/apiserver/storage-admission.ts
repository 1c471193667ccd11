// Storage admission: DefaultStorageClass (a claim created without a class gets the
// cluster's default one) and PersistentVolumeClaimResize (a claim may only grow when its
// class allows expansion).
import { errors } from '../api/errors.js';
import { newestDefaultClass } from '../api/kinds/storageclass.js';
import { storageClassOf, BETA_STORAGE_CLASS_ANNOTATION } from '../api/kinds/support.js';
import type { KubeObject } from '../api/object.js';
import { compareQuantities, tryParseQuantity } from '../api/quantity.js';
import { resourceRef } from '../api/registry.js';
import type { ApiServer } from './handler.js';
import type { Admission } from './resource-storage.js';

export const RESIZE_NOT_ALLOWED = 'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize';

export function installStorageAdmission(api: ApiServer): void {
  const storage = api.storage;
  const claims = api.registry.resource('', 'v1', 'persistentvolumeclaims')!;
  const classes = api.registry.resource('storage.k8s.io', 'v1', 'storageclasses')!;

  const defaultStorageClass: Admission = {
    async create(kind, obj) {
      if (kind !== claims) return;
      const annotated = obj.metadata.annotations?.[BETA_STORAGE_CLASS_ANNOTATION] !== undefined;
      if (annotated || (obj.spec?.storageClassName !== undefined && obj.spec?.storageClassName !== null)) return;
      const def = newestDefaultClass((await storage.list(classes, undefined)).items);
      if (def) (obj.spec ??= {}).storageClassName = def.metadata.name;
    },
  };

  const claimResize: Admission = {
    async update(kind, obj, old, _ctx, subresource) {
      if (kind !== claims || subresource) return;
      const next = tryParseQuantity(obj.spec?.resources?.requests?.storage);
      const prev = tryParseQuantity(old.spec?.resources?.requests?.storage);
      if (!next || !prev || compareQuantities(next, prev) <= 0) return;
      // An unbound claim's spec is immutable: validation answers that one.
      if (old.status?.phase !== 'Bound') return;
      const className = storageClassOf(obj);
      let allowed = false;
      if (className && className === storageClassOf(old)) {
        const cls = await storage.tryGet(classes, undefined, className);
        allowed = cls?.allowVolumeExpansion === true;
      }
      if (!allowed) throw errors.forbidden(resourceRef(claims), obj.metadata.name, RESIZE_NOT_ALLOWED);
    },
  };

  storage.admission.push(defaultStorageClass, claimResize);
}
