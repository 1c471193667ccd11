// Defaulting of pod specs, as the API server applies it to Pods and to the pod templates of
// workload controllers. The output must be stable: StatefulSet revision hashes are computed
// from the defaulted template, so a change here rolls every set.
import { isPlainObject, type KubeObject } from './object.js';

type Obj = Record<string, any>;

const DEFAULT_FILE_MODE = 0o644;

/** Defaults shared by Pods and pod templates (upstream SetDefaults_PodSpec and the per-field defaulters). */
export function defaultPodSpec(spec: Obj): void {
  spec.dnsPolicy ||= 'ClusterFirst';
  spec.restartPolicy ||= 'Always';
  if (!isPlainObject(spec.securityContext)) spec.securityContext = {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ||= 'default-scheduler';
  // serviceAccount is the deprecated spelling; the API always echoes both with the same value
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;

  for (const key of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const c of objects(spec[key])) defaultContainer(c);
  }
  for (const v of objects(spec.volumes)) defaultVolume(v);
}

/** Defaults only Pods get, not templates (upstream SetDefaults_Pod). */
export function defaultPod(pod: KubeObject): void {
  if (!isPlainObject(pod.spec)) pod.spec = {};
  const spec = pod.spec;
  defaultPodSpec(spec);
  for (const c of [...objects(spec.initContainers), ...objects(spec.containers)]) {
    const res = c.resources;
    if (isPlainObject(res.limits)) {
      res.requests = { ...res.limits, ...(isPlainObject(res.requests) ? res.requests : {}) };
    }
    if (spec.hostNetwork) for (const p of objects(c.ports)) if (!p.hostPort) p.hostPort = p.containerPort;
  }
  spec.enableServiceLinks ??= true;
  if (isPlainObject(pod.status)) defaultPodStatus(pod.status);
}

/** A pod template inside a workload object. */
export function defaultPodTemplate(template: Obj): void {
  if (!isPlainObject(template.metadata)) template.metadata = {};
  if (!isPlainObject(template.spec)) template.spec = {};
  defaultPodSpec(template.spec);
}

/** The singular and plural address fields mirror each other, as the v1 conversion keeps them. */
function defaultPodStatus(status: Obj): void {
  for (const [one, many] of [
    ['podIP', 'podIPs'],
    ['hostIP', 'hostIPs'],
  ]) {
    const list = objects(status[many]);
    if (list.length) status[one] = list[0].ip;
    else if (status[one]) status[many] = [{ ip: status[one] }];
  }
}

export function defaultContainer(c: Obj): void {
  c.imagePullPolicy ||= imageTag(c.image) === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ||= '/dev/termination-log';
  c.terminationMessagePolicy ||= 'File';
  if (!isPlainObject(c.resources)) c.resources = {};
  for (const p of objects(c.ports)) p.protocol ||= 'TCP';
  for (const e of objects(c.env)) {
    if (isPlainObject(e.valueFrom)) defaultFieldSources(e.valueFrom);
  }
  for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    if (isPlainObject(c[key])) defaultProbe(c[key]);
  }
  if (isPlainObject(c.lifecycle)) {
    for (const key of ['postStart', 'preStop']) if (isPlainObject(c.lifecycle[key])) defaultHandler(c.lifecycle[key]);
  }
}

/** The tag a reference pulls: "latest" when it names neither a tag nor a digest. */
export function imageTag(image: unknown): string {
  if (typeof image !== 'string' || !image) return '';
  const at = image.indexOf('@');
  const name = at < 0 ? image : image.slice(0, at);
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon >= 0) return lastSegment.slice(colon + 1);
  return at < 0 ? 'latest' : '';
}

function defaultProbe(p: Obj): void {
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHandler(p);
  if (isPlainObject(p.grpc)) p.grpc.service ??= '';
}

function defaultHandler(h: Obj): void {
  if (isPlainObject(h.httpGet)) {
    h.httpGet.path ||= '/';
    h.httpGet.scheme ||= 'HTTP';
  }
}

/** fieldRef and resourceFieldRef, in env vars and downward API files alike. */
function defaultFieldSources(src: Obj): void {
  if (isPlainObject(src.fieldRef)) src.fieldRef.apiVersion ||= 'v1';
  // Quantity is a non-omitted struct upstream, so an unset divisor reads back as "0"
  if (isPlainObject(src.resourceFieldRef)) src.resourceFieldRef.divisor ??= '0';
}

/** Upstream defaults of the volume sources; a volume without any source becomes an emptyDir. */
export function defaultVolume(v: Obj): void {
  if (!Object.keys(v).some((k) => k !== 'name' && v[k] !== undefined && v[k] !== null)) v.emptyDir = {};
  for (const key of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    if (isPlainObject(v[key])) v[key].defaultMode ??= DEFAULT_FILE_MODE;
  }
  for (const item of objects(v.downwardAPI?.items)) defaultFieldSources(item);
  for (const src of objects(v.projected?.sources)) {
    if (isPlainObject(src.serviceAccountToken)) src.serviceAccountToken.expirationSeconds ??= 3600;
    for (const item of objects(src.downwardAPI?.items)) defaultFieldSources(item);
  }
  if (isPlainObject(v.hostPath)) v.hostPath.type ??= '';
  if (isPlainObject(v.iscsi)) v.iscsi.iscsiInterface ||= 'default';
  if (isPlainObject(v.rbd)) {
    v.rbd.pool ||= 'rbd';
    v.rbd.user ||= 'admin';
    v.rbd.keyring ||= '/etc/ceph/keyring';
  }
  if (isPlainObject(v.azureDisk)) {
    v.azureDisk.cachingMode ||= 'ReadWrite';
    v.azureDisk.fsType ||= 'ext4';
    v.azureDisk.readOnly ??= false;
    v.azureDisk.kind ||= 'Shared';
  }
  if (isPlainObject(v.scaleIO)) {
    v.scaleIO.storageMode ||= 'ThinProvisioned';
    v.scaleIO.fsType ||= 'xfs';
  }
  const claimSpec = v.ephemeral?.volumeClaimTemplate?.spec;
  if (isPlainObject(claimSpec)) claimSpec.volumeMode ||= 'Filesystem';
}

function objects(list: unknown): Obj[] {
  return Array.isArray(list) ? list.filter(isPlainObject) : [];
}
