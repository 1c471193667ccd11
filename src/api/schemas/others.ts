// Kinds outside core/v1 and apps/v1 that a StatefulSet cluster needs: storage classes, leases
// (node heartbeats, leader election), endpoint slices, disruption budgets, plus the Eviction
// and Binding bodies posted to pod subresources. Field names, formats, required lists and
// patch metadata follow upstream's published OpenAPI; descriptions are our own.
import { kindDefinition, s, type Definitions, type Schema } from '../schema.js';

const CORE = 'io.k8s.api.core.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const STORAGE = 'io.k8s.api.storage.v1.';
const COORDINATION = 'io.k8s.api.coordination.v1.';
const DISCOVERY = 'io.k8s.api.discovery.v1.';
const POLICY = 'io.k8s.api.policy.v1.';
const NETWORKING = 'io.k8s.api.networking.v1.';

const atomic = (items: Schema, description: string): Schema => s.list(items, description, { 'x-kubernetes-list-type': 'atomic' });
const microTime = (description: string): Schema => s.ref(`${META}MicroTime`, description);
const count = (description: string): Schema => s.int32(description, { default: 0 });

export const otherDefinitions: Definitions = {
  /* ---------- storage.k8s.io/v1 ---------- */

  [`${STORAGE}StorageClass`]: kindDefinition(
    { group: 'storage.k8s.io', version: 'v1', kind: 'StorageClass' },
    'A kind of storage on offer: which provisioner creates volumes of it, and with which settings.',
    {
      provisioner: s.str('Name of the provisioner that creates volumes of this class. Fixed once created.', { default: '' }),
      parameters: s.stringMap('Provisioner-specific settings, opaque to Kubernetes. Fixed once created.'),
      reclaimPolicy: s.str('Reclaim policy of the volumes created: Delete (default) or Retain. Fixed once created.'),
      mountOptions: atomic({ type: 'string' }, 'Mount options for the volumes created, passed through unchecked.'),
      allowVolumeExpansion: s.bool('Whether claims of this class may be grown.'),
      volumeBindingMode: s.str('Immediate (default): bind or provision at once; WaitForFirstConsumer: wait until a pod using the claim is scheduled.'),
      allowedTopologies: atomic(s.ref(`${CORE}TopologySelectorTerm`), 'Where volumes may be provisioned; anywhere when empty.'),
    },
    { required: ['provisioner'] },
  ),

  [`${STORAGE}VolumeAttachment`]: kindDefinition(
    { group: 'storage.k8s.io', version: 'v1', kind: 'VolumeAttachment' },
    'The wish that a volume be attached to a node, and whether it is. Written by the attach/detach controller; cluster-scoped.',
    {
      spec: s.ref(`${STORAGE}VolumeAttachmentSpec`, 'What to attach where. Fixed once created.', { default: {} }),
      status: s.ref(`${STORAGE}VolumeAttachmentStatus`, 'Whether the attach (or detach) has happened, written by the attacher.'),
    },
    { required: ['spec'] },
  ),

  [`${STORAGE}VolumeAttachmentSpec`]: s.obj(
    {
      attacher: s.str('The volume driver that attaches the volume (a CSI driver name, e.g. petset.io/local-path).', { default: '' }),
      source: s.ref(`${STORAGE}VolumeAttachmentSource`, 'The volume to attach.', { default: {} }),
      nodeName: s.str('The node to attach the volume to.', { default: '' }),
    },
    'The desired attachment.',
    { required: ['attacher', 'source', 'nodeName'] },
  ),

  [`${STORAGE}VolumeAttachmentSource`]: s.obj(
    {
      persistentVolumeName: s.str('Name of the PersistentVolume to attach.'),
      inlineVolumeSpec: s.ref(`${CORE}PersistentVolumeSpec`, 'An inline volume of a pod, translated to a volume spec (CSI migration).'),
    },
    'The volume of an attachment: exactly one member is set.',
  ),

  [`${STORAGE}VolumeAttachmentStatus`]: s.obj(
    {
      attached: s.bool('Whether the volume is attached. Written by the attacher only.'),
      attachmentMetadata: s.stringMap('What the attacher learned while attaching, handed to the mount step.'),
      attachError: s.ref(`${STORAGE}VolumeError`, 'The last error of an attach, if any.'),
      detachError: s.ref(`${STORAGE}VolumeError`, 'The last error of a detach, if any.'),
    },
    'The observed attachment.',
    { required: ['attached'] },
  ),

  [`${STORAGE}VolumeError`]: s.obj(
    {
      time: s.time('When the error happened.'),
      message: s.str('The error in words; may be logged and shown to users.'),
      errorCode: s.int32('A numeric code of the error, where the driver gives one.'),
    },
    'An error of an attach or detach.',
  ),

  /* ---------- networking.k8s.io/v1 ---------- */

  [`${NETWORKING}NetworkPolicy`]: kindDefinition(
    { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    'Which traffic the selected pods may receive and send.',
    { spec: s.ref(`${NETWORKING}NetworkPolicySpec`, 'The policy.', { default: {} }) },
  ),

  [`${NETWORKING}NetworkPolicySpec`]: s.obj(
    {
      podSelector: s.ref(`${META}LabelSelector`, 'The pods the policy applies to; empty selects every pod of the namespace.', { default: {} }),
      ingress: atomic(s.ref(`${NETWORKING}NetworkPolicyIngressRule`), 'Traffic allowed in; a selected pod with an Ingress policy and no rule admits nothing.'),
      egress: atomic(s.ref(`${NETWORKING}NetworkPolicyEgressRule`), 'Traffic allowed out.'),
      policyTypes: atomic({ type: 'string' }, 'Ingress, Egress or both; defaults from the rules present.'),
    },
    'What a NetworkPolicy allows.',
  ),

  [`${NETWORKING}NetworkPolicyIngressRule`]: s.obj(
    {
      ports: atomic(s.ref(`${NETWORKING}NetworkPolicyPort`), 'Ports allowed; empty allows every port.'),
      from: atomic(s.ref(`${NETWORKING}NetworkPolicyPeer`), 'Sources allowed; empty allows every source.'),
    },
    'One rule of allowed incoming traffic.',
  ),

  [`${NETWORKING}NetworkPolicyEgressRule`]: s.obj(
    {
      ports: atomic(s.ref(`${NETWORKING}NetworkPolicyPort`), 'Ports allowed; empty allows every port.'),
      to: atomic(s.ref(`${NETWORKING}NetworkPolicyPeer`), 'Destinations allowed; empty allows every destination.'),
    },
    'One rule of allowed outgoing traffic.',
  ),

  [`${NETWORKING}NetworkPolicyPeer`]: s.obj(
    {
      podSelector: s.ref(`${META}LabelSelector`, 'Pods, in the policy\'s namespace or in the namespaces namespaceSelector picks.'),
      namespaceSelector: s.ref(`${META}LabelSelector`, 'Namespaces whose pods are peers.'),
      ipBlock: s.ref(`${NETWORKING}IPBlock`, 'An address range; not combined with the selectors.'),
    },
    'A source or destination of traffic.',
  ),

  [`${NETWORKING}IPBlock`]: s.obj(
    {
      cidr: s.str('The range, e.g. 10.244.0.0/16.', { default: '' }),
      except: atomic({ type: 'string' }, 'Ranges inside cidr that are not part of the block.'),
    },
    'An address range.',
    { required: ['cidr'] },
  ),

  [`${NETWORKING}NetworkPolicyPort`]: s.obj(
    {
      protocol: s.str('TCP (default), UDP or SCTP.'),
      port: s.intOrString('A port number or a named port of the pod.'),
      endPort: s.int32('With a numeric port: the last port of a range.'),
    },
    'A port or range of ports.',
  ),

  /* ---------- coordination.k8s.io/v1 ---------- */

  [`${COORDINATION}Lease`]: kindDefinition(
    { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' },
    'A lock with an expiry: node heartbeats and leader election.',
    { spec: s.ref(`${COORDINATION}LeaseSpec`, 'Who holds the lease and until when.', { default: {} }) },
  ),

  [`${COORDINATION}LeaseSpec`]: s.obj(
    {
      holderIdentity: s.str('Who holds the lease.'),
      leaseDurationSeconds: s.int32('How long others wait after the last renewal before taking the lease over.'),
      acquireTime: microTime('When the current holder took the lease.'),
      renewTime: microTime('When the current holder last renewed the lease.'),
      leaseTransitions: s.int32('How many times the lease has changed hands.'),
      strategy: s.str('How the holder is chosen when leader election is coordinated by the server, e.g. OldestEmulationVersion.'),
      preferredHolder: s.str('The candidate the coordinator wants to hand the lease to; needs strategy.'),
    },
    'The state of a lease.',
  ),

  /* ---------- discovery.k8s.io/v1 ---------- */

  [`${DISCOVERY}EndpointSlice`]: kindDefinition(
    { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
    "A share of a service's endpoints. A service's slices carry the label kubernetes.io/service-name.",
    {
      addressType: s.str('IPv4, IPv6 or FQDN (deprecated): the kind of every address in the slice. Fixed once created.', { default: '' }),
      endpoints: atomic(s.ref(`${DISCOVERY}Endpoint`), 'The endpoints, at most 1000.'),
      ports: atomic(s.ref(`${DISCOVERY}EndpointPort`), 'Ports every endpoint of the slice serves; names are unique.'),
    },
    { required: ['addressType', 'endpoints'] },
  ),

  [`${DISCOVERY}Endpoint`]: s.obj(
    {
      addresses: s.list({ type: 'string' }, 'Addresses of the endpoint, 1 to 100; consumers use the first.', { 'x-kubernetes-list-type': 'set' }),
      conditions: s.ref(`${DISCOVERY}EndpointConditions`, 'Readiness of the endpoint.', { default: {} }),
      hostname: s.str('Host name of the endpoint, used in DNS; a DNS label.'),
      targetRef: s.ref(`${CORE}ObjectReference`, 'The object (usually a pod) behind the endpoint.'),
      deprecatedTopology: s.stringMap('Topology labels from the old v1beta1 API; ignored on write.'),
      nodeName: s.str('The node the endpoint runs on.'),
      zone: s.str('The zone the endpoint runs in.'),
      hints: s.ref(`${DISCOVERY}EndpointHints`, 'Routing hints for topology-aware consumers.'),
    },
    'One backend of a service.',
    { required: ['addresses'] },
  ),

  [`${DISCOVERY}EndpointConditions`]: s.obj(
    {
      ready: s.bool('Should receive traffic: serving and not terminating (or the service publishes not-ready addresses). Unset means true.'),
      serving: s.bool('Able to receive traffic, terminating or not (pod Ready). Unset means true.'),
      terminating: s.bool('Shutting down. Unset means false.'),
    },
    'The state of an endpoint.',
  ),

  [`${DISCOVERY}EndpointHints`]: s.obj(
    {
      forZones: atomic(s.ref(`${DISCOVERY}ForZone`), 'Zones that should use this endpoint, at most 8.'),
      forNodes: atomic(s.ref(`${DISCOVERY}ForNode`), 'Nodes that should use this endpoint, at most 8.'),
    },
    'Where an endpoint should be used from.',
  ),

  [`${DISCOVERY}ForZone`]: s.obj({ name: s.str('Zone name.', { default: '' }) }, 'A zone an endpoint is meant for.', { required: ['name'] }),
  [`${DISCOVERY}ForNode`]: s.obj({ name: s.str('Node name.', { default: '' }) }, 'A node an endpoint is meant for.', { required: ['name'] }),

  [`${DISCOVERY}EndpointPort`]: s.obj(
    {
      name: s.str('Port name, matching the service port name; empty or a DNS label.'),
      protocol: s.str('TCP (default), UDP or SCTP.'),
      port: s.int32('Port number on the endpoints (the service target port).'),
      appProtocol: s.str('Application protocol hint, copied from the service port.'),
    },
    'One port of an endpoint slice.',
    { 'x-kubernetes-map-type': 'atomic' },
  ),

  /* ---------- policy/v1 ---------- */

  [`${POLICY}PodDisruptionBudget`]: kindDefinition(
    { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' },
    'A limit on how many pods of a set voluntary disruptions (evictions) may take down at once.',
    {
      spec: s.ref(`${POLICY}PodDisruptionBudgetSpec`, 'Which pods and how many may be disrupted.', { default: {} }),
      status: s.ref(`${POLICY}PodDisruptionBudgetStatus`, 'What the disruption controller last computed.', { default: {} }),
    },
  ),

  [`${POLICY}PodDisruptionBudgetSpec`]: s.obj(
    {
      minAvailable: s.intOrString('Evict only if at least this many selected pods (a number or a percentage) stay available. Excludes maxUnavailable.'),
      maxUnavailable: s.intOrString('Evict only if at most this many selected pods (a number or a percentage) are unavailable afterwards. Excludes minAvailable.'),
      selector: s.ref(`${META}LabelSelector`, 'The pods the budget covers. Unset selects none; {} selects every pod in the namespace.', {
        'x-kubernetes-patch-strategy': 'replace',
      }),
      unhealthyPodEvictionPolicy: s.str('When pods that are running but not Ready may be evicted: IfHealthyBudget (default) or AlwaysAllow.'),
    },
    'The pods a budget covers and how many of them may be disrupted.',
  ),

  [`${POLICY}PodDisruptionBudgetStatus`]: s.obj(
    {
      observedGeneration: s.int64('The generation this status was computed for; evictions wait until it is current.'),
      disruptedPods: s.map({ $ref: `${META}Time` }, 'Pods whose eviction was granted but not yet seen by the controller, with the time of approval.'),
      disruptionsAllowed: count('How many pods may be disrupted now.'),
      currentHealthy: count('How many covered pods are healthy.'),
      desiredHealthy: count('How many covered pods must stay healthy.'),
      expectedPods: count('How many pods the budget counts.'),
      conditions: s.mergeList(s.ref(`${META}Condition`), 'type', 'Conditions; DisruptionAllowed says whether evictions may proceed.'),
    },
    'What the disruption controller last computed for a budget.',
    { required: ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'] },
  ),

  [`${POLICY}Eviction`]: kindDefinition(
    { group: 'policy', version: 'v1', kind: 'Eviction' },
    "A request, posted to a pod's eviction subresource, to delete the pod if its disruption budgets allow.",
    { deleteOptions: s.ref(`${META}DeleteOptions`, 'Options for the deletion that follows.') },
  ),

  /* ---------- core/v1 Binding ---------- */

  [`${CORE}Binding`]: kindDefinition(
    { group: '', version: 'v1', kind: 'Binding' },
    "A request, posted to a pod's binding subresource, to assign the pod to a node.",
    { target: s.ref(`${CORE}ObjectReference`, 'The node to bind to.', { default: {} }) },
    { required: ['target'] },
  ),
};
