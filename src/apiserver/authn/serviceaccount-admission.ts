// The ServiceAccount admission's token volume: unless the pod or its account says
// automountServiceAccountToken: false, a pod gets the projected volume kube-api-access-<5>
// (a bound token, the cluster CA from kube-root-ca.crt, the namespace) mounted read-only at
// /var/run/secrets/kubernetes.io/serviceaccount in every container, as upstream adds it. (The
// default account name itself is set by the pod defaults.)
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resourceRef } from '../../api/registry.js';
import type { Admission, ResourceStorage } from '../resource-storage.js';

export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** upstream's projected token lifetime: an hour and a few seconds, so that it is recognisably the kubelet's */
const EXPIRATION_S = 3607;
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function tokenVolume(name: string): KubeObject['spec'] {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: EXPIRATION_S, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
      defaultMode: 0o644,
    },
  };
}

/** Adds the volume and mounts to a pod (pure apart from the random suffix). */
export function mountServiceAccountToken(pod: KubeObject, serviceAccount: KubeObject | undefined): void {
  const spec = pod.spec;
  if (!spec || typeof spec !== 'object' || pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
  const automount = spec.automountServiceAccountToken ?? serviceAccount?.automountServiceAccountToken ?? true;
  if (!automount) return;
  // malformed lists are left for validation to report
  if (!isList(spec.containers) || !isList(spec.initContainers ?? []) || !isList(spec.volumes ?? [])) return;
  const containers: any[] = [...(spec.initContainers ?? []), ...spec.containers].filter((c) => c && typeof c === 'object' && isList(c.volumeMounts ?? []));
  const needing = containers.filter((c) => !(c.volumeMounts ?? []).some((m: any) => m?.mountPath === TOKEN_MOUNT_PATH));
  if (!needing.length) return;
  const volumes: any[] = (spec.volumes ??= []);
  let name: string;
  do {
    name = `kube-api-access-${Array.from({ length: 5 }, () => ALPHANUMS[randomInt(ALPHANUMS.length)]).join('')}`;
  } while (volumes.some((v) => v?.name === name));
  volumes.push(tokenVolume(name));
  for (const c of needing) (c.volumeMounts ??= []).push({ name, readOnly: true, mountPath: TOKEN_MOUNT_PATH });
}

const isList = (v: unknown): v is unknown[] => Array.isArray(v);

/**
 * upstream's ServiceAccount admission: a pod runs as an account that exists (the default one
 * unless it names another), else it is refused with 403 as upstream words it; then the token
 * volume, and the account's imagePullSecrets when the pod names none. The default account is
 * made by the serviceaccount controller just after its namespace, so it is looked for a few
 * times (as upstream does: 10 tries, 100-200 ms apart) before the pod is refused.
 */
export function serviceAccountAdmission(storage: ResourceStorage): Admission {
  const accounts = storage.registry.resource('', 'v1', 'serviceaccounts')!;
  return {
    async create(kind, obj) {
      if (kind.plural !== 'pods' || kind.group !== '') return;
      // mirror pods are the node's own; their spec is left as the node wrote it
      if (!obj.spec || typeof obj.spec !== 'object' || obj.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
      const named = obj.spec.serviceAccountName;
      if (named !== undefined && typeof named !== 'string') return; // validation reports it
      const name = named || 'default';
      if (!named) obj.spec.serviceAccountName = name;
      const namespace = obj.metadata.namespace ?? '';
      let sa: KubeObject | undefined;
      const attempts = name === 'default' ? 10 : 1;
      for (let i = 0; i < attempts && !sa; i++) {
        if (i) await sleep(100 + randomInt(100));
        sa = await storage.tryGetShared(accounts, namespace, name);
      }
      if (!sa) {
        throw errors.forbidden(resourceRef(kind), obj.metadata.name || undefined, `error looking up service account ${namespace}/${name}: serviceaccount ${JSON.stringify(name)} not found`);
      }
      mountServiceAccountToken(obj, sa);
      const pullSecrets = sa.imagePullSecrets;
      if ((obj.spec.imagePullSecrets ?? []).length === 0 && Array.isArray(pullSecrets) && pullSecrets.length) {
        obj.spec.imagePullSecrets = pullSecrets.map((s: any) => ({ name: s?.name }));
      }
    },
  };
}
