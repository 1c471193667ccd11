// The Node authorizer: a node's credential (user system:node:<name> in group system:nodes)
// may do what a kubelet needs and no more: read the Secrets, ConfigMaps, claims and volumes of
// pods bound to it, one by name; write its own Node, its own Lease and its pods' status.
// Decisions follow upstream's (the rules of the system:node role, then a relationship check
// against the pods bound to the node); the reasons are upstream's texts.
import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/object.js';
import { resourceRef } from '../../api/registry.js';
import type { Admission } from '../resource-storage.js';
import type { Attributes, AuthorizerAnswer } from './attributes.js';
import { ruleAllows, type PolicyRule } from './rbac.js';

export const NODES_GROUP = 'system:nodes';
const NODE_USER_PREFIX = 'system:node:';

/** What the authorizer asks about the cluster's pods. */
export interface NodeGraph {
  /** pods bound to the node in a namespace (all namespaces when omitted) */
  podsOn(nodeName: string, namespace?: string): Promise<KubeObject[]>;
  /** the same read from the store, for when podsOn (a cache) shows no relationship: a pod bound a moment ago is not refused */
  podsOnFresh?(nodeName: string, namespace?: string): Promise<KubeObject[]>;
  pod(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** the claim a PersistentVolume is bound to, for the volume check */
  volumeClaimOf(pvName: string): Promise<{ namespace: string; name: string } | undefined>;
}

const READ = ['get', 'list', 'watch'];
const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({ verbs, apiGroups, resources });

/** upstream's NodeRules(): what any node may do before the per-object checks */
export const NODE_RULES: PolicyRule[] = [
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
  rule(READ, [''], ['services']),
  rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
  rule(['update', 'patch'], [''], ['nodes/status']),
  rule(['update', 'patch'], [''], ['nodes']),
  rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
  rule(READ, [''], ['pods']),
  rule(['create', 'delete'], [''], ['pods']),
  rule(['update', 'patch'], [''], ['pods/status']),
  rule(['create'], [''], ['pods/eviction']),
  rule(['get'], [''], ['endpoints']),
  rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  // upstream: get only; petset's agent watches the attachments to learn when its volumes are attached
  rule(READ, ['storage.k8s.io'], ['volumeattachments']),
  rule(READ, ['storage.k8s.io'], ['csidrivers', 'csinodes', 'storageclasses']),
  rule(['update', 'patch'], [''], ['persistentvolumeclaims/status']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(READ, ['node.k8s.io'], ['runtimeclasses']),
  // a node renews its own client certificate (approved as selfnodeclient)
  rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
];

export function nodeNameOf(user: { name: string; groups: string[] }): string | undefined {
  if (!user.groups.includes(NODES_GROUP) || !user.name.startsWith(NODE_USER_PREFIX)) return undefined;
  return user.name.slice(NODE_USER_PREFIX.length) || undefined;
}

const noOpinion = (reason = ''): AuthorizerAnswer => ({ decision: 'no-opinion', reason });
const allow: AuthorizerAnswer = { decision: 'allow', reason: '' };

export async function nodeAuthorize(a: Attributes, graph: NodeGraph): Promise<AuthorizerAnswer> {
  const node = nodeNameOf(a.user);
  if (!node) return noOpinion();
  if (!a.resourceRequest) return noOpinion();
  const core = a.apiGroup === '';
  if (core && ['secrets', 'configmaps', 'persistentvolumeclaims', 'persistentvolumes'].includes(a.resource) && !a.subresource) {
    return authorizeReadOfReferenced(a, node, graph);
  }
  if (a.apiGroup === 'coordination.k8s.io' && a.resource === 'leases') return authorizeLease(a, node);
  if (core && a.resource === 'serviceaccounts' && a.subresource === 'token') return authorizeToken(a, node, graph);
  if (!NODE_RULES.some((r) => ruleAllows(a, r))) return noOpinion();
  // writes to pods: only to those bound to this node (upstream's NodeRestriction)
  if (core && a.resource === 'pods' && ['update', 'patch', 'delete'].includes(a.verb) && a.name) {
    const pod = await graph.pod(a.namespace, a.name);
    if (pod && pod.spec?.nodeName !== node) {
      const what = a.verb === 'delete' ? 'delete pods' : 'update pod status for pods';
      return noOpinion(`node ${JSON.stringify(node)} can only ${what} with spec.nodeName set to itself`);
    }
  }
  if (core && a.resource === 'pods' && a.subresource === 'eviction' && a.name) {
    const pod = await graph.pod(a.namespace, a.name);
    if (pod && pod.spec?.nodeName !== node) return noOpinion(`node ${JSON.stringify(node)} can only evict pods with spec.nodeName set to itself`);
  }
  // its own Node object only (create, update and status alike)
  if (core && a.resource === 'nodes' && ['update', 'patch', 'delete'].includes(a.verb) && a.name && a.name !== node) {
    return noOpinion(`node ${JSON.stringify(node)} is not allowed to modify node ${JSON.stringify(a.name)}`);
  }
  return allow;
}

async function authorizeReadOfReferenced(a: Attributes, node: string, graph: NodeGraph): Promise<AuthorizerAnswer> {
  if (!READ.includes(a.verb) || !a.name) return noOpinion('can only read individual resources of this type');
  if (a.resource === 'persistentvolumes') {
    const claim = await graph.volumeClaimOf(a.name);
    if (claim && (await someReferrer(graph, node, claim.namespace, (p) => podUses(p, 'persistentvolumeclaims', claim.name)))) return allow;
  } else if (await someReferrer(graph, node, a.namespace, (p) => podUses(p, a.resource, a.name))) return allow;
  return noOpinion(`no relationship found between node '${node}' and this object`);
}

function authorizeLease(a: Attributes, node: string): AuthorizerAnswer {
  if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return noOpinion(`can only get, create, update, patch, or delete a node lease`);
  if (a.namespace !== 'kube-node-lease') return noOpinion('can only access leases in the kube-node-lease namespace');
  if (a.verb !== 'create' && a.name !== node) return noOpinion('can only access node lease with the same name as the requesting node');
  return allow;
}

async function authorizeToken(a: Attributes, node: string, graph: NodeGraph): Promise<AuthorizerAnswer> {
  if (a.verb !== 'create' || !a.name) return noOpinion('can only create tokens for individual service accounts');
  if (await someReferrer(graph, node, a.namespace, (p) => (p.spec?.serviceAccountName ?? 'default') === a.name)) return allow;
  return noOpinion(`no relationship found between node '${node}' and this object`);
}

/** Whether a pod bound to the node satisfies the test: the graph's answer, or the store's when the graph has none. */
async function someReferrer(graph: NodeGraph, node: string, namespace: string | undefined, test: (pod: KubeObject) => boolean): Promise<boolean> {
  if ((await graph.podsOn(node, namespace)).some(test)) return true;
  return !!graph.podsOnFresh && (await graph.podsOnFresh(node, namespace)).some(test);
}

/** whether a pod refers to a Secret, ConfigMap or claim by name: volumes (projected too), env, image pull secrets */
function podUses(pod: KubeObject, resource: string, name: string): boolean {
  const spec = pod.spec ?? {};
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  const volumes: any[] = spec.volumes ?? [];
  if (resource === 'secrets') {
    if ((spec.imagePullSecrets ?? []).some((s: any) => s?.name === name)) return true;
    if (volumes.some((v) => v?.secret?.secretName === name || (v?.projected?.sources ?? []).some((s: any) => s?.secret?.name === name))) return true;
    return containers.some((c: any) => (c?.env ?? []).some((e: any) => e?.valueFrom?.secretKeyRef?.name === name) || (c?.envFrom ?? []).some((e: any) => e?.secretRef?.name === name));
  }
  if (resource === 'configmaps') {
    if (volumes.some((v) => v?.configMap?.name === name || (v?.projected?.sources ?? []).some((s: any) => s?.configMap?.name === name))) return true;
    return containers.some((c: any) => (c?.env ?? []).some((e: any) => e?.valueFrom?.configMapKeyRef?.name === name) || (c?.envFrom ?? []).some((e: any) => e?.configMapRef?.name === name));
  }
  if (resource === 'persistentvolumeclaims') {
    return volumes.some((v) => v?.persistentVolumeClaim?.claimName === name || (v?.ephemeral && `${pod.metadata.name}-${v.name}` === name));
  }
  return false;
}

/**
 * NodeRestriction admission, for what the authorizer cannot see in the URL: a node creates only
 * its own Node object, and only mirror pods bound to itself.
 */
export function nodeRestrictionAdmission(): Admission {
  return {
    async create(kind, obj, ctx) {
      const node = ctx.user && nodeNameOf(ctx.user);
      if (!node || kind.group !== '') return;
      const name = obj.metadata.name ?? '';
      if (kind.plural === 'nodes' && name !== node) {
        throw errors.forbidden(resourceRef(kind), name, `node ${JSON.stringify(node)} is not allowed to modify node ${JSON.stringify(name)}`);
      }
      if (kind.plural === 'pods') {
        if (!obj.metadata.annotations?.['kubernetes.io/config.mirror']) {
          throw errors.forbidden(resourceRef(kind), name, `pod does not have "kubernetes.io/config.mirror" annotation, node ${JSON.stringify(node)} can only create mirror pods`);
        }
        if (obj.spec?.nodeName !== node) {
          throw errors.forbidden(resourceRef(kind), name, `node ${JSON.stringify(node)} can only create pods with spec.nodeName set to itself`);
        }
      }
    },
  };
}
