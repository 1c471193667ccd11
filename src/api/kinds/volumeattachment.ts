// storage.k8s.io/v1 VolumeAttachment: "attach volume V to node N", written by the attach/detach
// controller, and whether the attacher has done it (status.attached). The spec is fixed once
// created; attaching elsewhere means a new object.
import { createHash } from 'node:crypto';
import { deepEqual, type KubeObject } from '../object.js';
import type { KindDef } from '../registry.js';
import { field, isDNS1123Subdomain, type FieldError } from '../validation.js';
import { age, ageColumn, column, isSet, nameColumn, record, validateQualifiedName } from './support.js';

/** The attacher petset's own volumes (local-path, hostPath PVs) are attached by. */
export const PETSET_ATTACHER = 'petset.io/local-path';

/** Upstream's object name: "csi-" and the sha256 of volume handle, attacher and node. */
export function volumeAttachmentName(pvName: string, attacher: string, nodeName: string): string {
  return `csi-${createHash('sha256').update(`${pvName}${attacher}${nodeName}`).digest('hex')}`;
}

/** Volumes petset attaches: those backed by a directory on this machine (hostPath, local). */
export function isAttachableVolume(pv: KubeObject | undefined): boolean {
  return !!pv && (pv.spec?.hostPath !== undefined || pv.spec?.local !== undefined);
}

/** How a node names an attachable volume in status.volumesAttached and volumesInUse. */
export function uniqueVolumeName(attacher: string, pvName: string): string {
  return `kubernetes.io/csi/${attacher}^${pvName}`;
}

export const volumeAttachmentKind: KindDef = {
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'VolumeAttachment',
  plural: 'volumeattachments',
  singular: 'volumeattachment',
  namespaced: false,
  definition: 'io.k8s.api.storage.v1.VolumeAttachment',
  subresources: { status: true },

  // petset's own selectable field (upstream offers only metadata.name here): each node agent
  // watches the attachments of its node alone, instead of every node's.
  fields: {
    'spec.nodeName': (va) => String(va.spec?.nodeName ?? ''),
  },

  validate(va) {
    const spec = record(va.spec);
    const errs: FieldError[] = [];
    if (!spec.attacher) errs.push(field.required('spec.attacher'));
    else errs.push(...validateQualifiedName(String(spec.attacher).toLowerCase(), 'spec.attacher'));
    const source = record(spec.source);
    const pvName = source.persistentVolumeName;
    const inline = source.inlineVolumeSpec;
    if (isSet(pvName) && isSet(inline)) errs.push(field.forbidden('spec.source', 'must specify exactly one of persistentVolumeName and inlineVolumeSpec'));
    else if (!isSet(pvName) && !isSet(inline)) errs.push(field.required('spec.source', 'must specify exactly one of persistentVolumeName and inlineVolumeSpec'));
    else if (isSet(pvName)) {
      if (typeof pvName !== 'string' || !pvName) errs.push(field.required('spec.source.persistentVolumeName', 'must specify non empty persistentVolumeName'));
      else errs.push(...isDNS1123Subdomain(pvName).map((m) => field.invalid('spec.source.persistentVolumeName', pvName, m)));
    }
    if (!spec.nodeName) errs.push(field.required('spec.nodeName'));
    else errs.push(...isDNS1123Subdomain(String(spec.nodeName)).map((m) => field.invalid('spec.nodeName', spec.nodeName, m)));
    return errs;
  },

  validateUpdate(va, old) {
    if (deepEqual(va.spec, old.spec)) return [];
    return [field.invalid('spec', va.spec, 'field is immutable')];
  },

  table: {
    columns: [
      nameColumn,
      column('Attacher', 'The volume driver that attaches the volume.'),
      column('PV', 'The PersistentVolume attached.'),
      column('Node', 'The node it is attached to.'),
      column('Attached', 'Whether the attach has happened.'),
      ageColumn,
    ],
    cells(va, now) {
      const spec = record(va.spec);
      return [va.metadata.name, spec.attacher ?? '', spec.source?.persistentVolumeName ?? '', spec.nodeName ?? '', va.status?.attached === true ? 'true' : 'false', age(va, now)];
    },
  },
};
