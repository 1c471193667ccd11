// core/v1 kinds other than Pod: namespaces, services and endpoints, config and secrets,
// events, nodes, persistent volumes and claims, service accounts. Field names, formats,
// required lists and patch metadata follow upstream's published OpenAPI; descriptions are
// our own. Pod-side types (NodeSelector, LocalObjectReference, HostPathVolumeSource,
// NFSVolumeSource ...) live in core-pod.ts.
import { kindDefinition, s, type Definitions, type Schema } from '../schema.js';

const CORE = 'io.k8s.api.core.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

const ref = (name: string, description?: string, extra: Partial<Schema> = {}): Schema => s.ref(CORE + name, description, extra);
const atomic = (items: Schema, description: string): Schema => s.list(items, description, { 'x-kubernetes-list-type': 'atomic' });
const strList = (description: string): Schema => atomic({ type: 'string' }, description);
const refList = (name: string, description: string): Schema => atomic(ref(name), description);
const byType = (name: string, description: string): Schema => s.mergeList(ref(name), 'type', description);
const quantities = (description: string): Schema => s.map({ $ref: QUANTITY }, description);
const bytesMap = (description: string): Schema => s.map({ type: 'string', format: 'byte' }, description);
const microTime = (description: string): Schema => s.ref(`${META}MicroTime`, description);
const core = (kind: string, description: string, properties: Record<string, Schema>, extra = {}) =>
  kindDefinition({ group: '', version: 'v1', kind }, description, properties, extra);

/** Volume sources a PersistentVolume may use that petset only carries, never interprets. */
const OPAQUE_PV_SOURCES: Record<string, string> = {
  azureDisk: 'An Azure data disk (deprecated in-tree plugin).',
  azureFile: 'An Azure File share (deprecated in-tree plugin).',
  cephfs: 'A CephFS mount (removed in-tree plugin).',
  cinder: 'An OpenStack Cinder volume (deprecated in-tree plugin).',
  fc: 'A Fibre Channel disk.',
  flexVolume: 'A volume driven by an exec-based FlexVolume plugin.',
  flocker: 'A Flocker dataset (removed in-tree plugin).',
  glusterfs: 'A GlusterFS volume (removed in-tree plugin).',
  iscsi: 'An iSCSI disk.',
  photonPersistentDisk: 'A Photon Controller disk (removed in-tree plugin).',
  portworxVolume: 'A Portworx volume (deprecated in-tree plugin).',
  quobyte: 'A Quobyte volume (removed in-tree plugin).',
  rbd: 'A Ceph RBD image (removed in-tree plugin).',
  scaleIO: 'A ScaleIO volume (removed in-tree plugin).',
  storageos: 'A StorageOS volume (removed in-tree plugin).',
  vsphereVolume: 'A vSphere VMDK (deprecated in-tree plugin).',
};

export const coreDefinitions: Definitions = {
  /* ---------- shared references ---------- */

  [`${CORE}ObjectReference`]: s.obj(
    {
      kind: s.str('Kind of the object referred to.'),
      namespace: s.str('Namespace of the object; empty for cluster-scoped objects.'),
      name: s.str('Name of the object.'),
      uid: s.str('UID of the object, to tell it apart from a later object with the same name.'),
      apiVersion: s.str('API version of the object.'),
      resourceVersion: s.str('The resourceVersion the reference was made against, if it matters.'),
      fieldPath: s.str('A part of the object rather than all of it, e.g. "spec.containers{web}" for one container.'),
    },
    'Enough information to find (and inspect or change) another object.',
    { 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}TypedLocalObjectReference`]: s.obj(
    {
      apiGroup: s.str('API group of the object; empty for the core group.'),
      kind: s.str('Kind of the object.'),
      name: s.str('Name of the object.'),
    },
    'A typed reference to an object in the same namespace.',
    { required: ['kind', 'name'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}TypedObjectReference`]: s.obj(
    {
      apiGroup: s.str('API group of the object; empty for the core group.'),
      kind: s.str('Kind of the object.'),
      name: s.str('Name of the object.'),
      namespace: s.str('Namespace of the object, when it lives elsewhere (needs a ReferenceGrant there).'),
    },
    'A typed reference to an object, possibly in another namespace.',
    { required: ['kind', 'name'] },
  ),

  [`${CORE}SecretReference`]: s.obj(
    {
      name: s.str('Name of the secret.'),
      namespace: s.str('Namespace of the secret.'),
    },
    'A secret named by namespace and name.',
    { 'x-kubernetes-map-type': 'atomic' },
  ),

  /* ---------- Namespace ---------- */

  [`${CORE}Namespace`]: core('Namespace', 'A scope for names. Most objects live in exactly one namespace.', {
    spec: ref('NamespaceSpec', 'What the namespace is; today only its finalizers.', { default: {} }),
    status: ref('NamespaceStatus', 'Lifecycle state of the namespace, kept by the server.', { default: {} }),
  }),

  [`${CORE}NamespaceSpec`]: s.obj(
    { finalizers: strList('Tokens that must all be removed (through the finalize subresource) before a terminating namespace disappears.') },
    'The settable part of a namespace.',
  ),

  [`${CORE}NamespaceStatus`]: s.obj(
    {
      phase: s.str('Active, or Terminating once deletion has started.'),
      conditions: byType('NamespaceCondition', 'What is holding up the deletion of a terminating namespace.'),
    },
    'The observed state of a namespace.',
  ),

  [`${CORE}NamespaceCondition`]: s.obj(
    {
      type: s.str('Condition type, e.g. NamespaceDeletionContentFailure.'),
      status: s.str('True, False or Unknown.'),
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The last transition in words.'),
    },
    'One aspect of a namespace being torn down.',
    { required: ['type', 'status'] },
  ),

  /* ---------- Service ---------- */

  [`${CORE}Service`]: core('Service', 'A stable name and virtual address in front of a changing set of endpoints, usually pods picked by labels.', {
    spec: ref('ServiceSpec', 'How the service is exposed and which endpoints it reaches.', { default: {} }),
    status: ref('ServiceStatus', 'Observed state, such as the load balancer address.', { default: {} }),
  }),

  [`${CORE}ServiceSpec`]: s.obj(
    {
      ports: s.mergeList(ref('ServicePort'), 'port', 'The ports the service accepts traffic on.', {
        'x-kubernetes-list-map-keys': ['port', 'protocol'],
      }),
      selector: {
        ...s.stringMap('Pods whose labels include all of these receive the traffic. Without a selector, endpoints are managed by hand.'),
        'x-kubernetes-map-type': 'atomic',
      },
      clusterIP: s.str('The virtual IP, allocated when empty. "None" makes a headless service: DNS returns the endpoints themselves. Fixed once set.'),
      clusterIPs: strList('All virtual IPs of the service, one per IP family; the first equals clusterIP. Fixed once set.'),
      type: s.str('ClusterIP (default), NodePort, LoadBalancer or ExternalName.'),
      externalIPs: strList('Extra addresses, not managed by Kubernetes, on which nodes also accept traffic for the service.'),
      sessionAffinity: s.str('ClientIP keeps each client on the same endpoint; None (default) spreads connections.'),
      loadBalancerIP: s.str('Deprecated: an address requested from the load balancer implementation.'),
      loadBalancerSourceRanges: strList('Client CIDRs a load balancer lets through, when the platform supports it.'),
      externalName: s.str('For type ExternalName: the DNS name the service name becomes an alias (CNAME) of.'),
      externalTrafficPolicy: s.str('Cluster (default) or Local: whether external traffic may be forwarded to endpoints on other nodes.'),
      healthCheckNodePort: s.int32('Node port that reports whether a node has local endpoints (LoadBalancer with Local policy).'),
      publishNotReadyAddresses: s.bool('List endpoints whether or not their pods are ready, as peer discovery for StatefulSets needs.'),
      sessionAffinityConfig: ref('SessionAffinityConfig', 'Settings for the chosen session affinity.'),
      ipFamilies: strList('IP families of the service (IPv4, IPv6), in clusterIPs order.'),
      ipFamilyPolicy: s.str('SingleStack, PreferDualStack or RequireDualStack.'),
      allocateLoadBalancerNodePorts: s.bool('Whether a LoadBalancer service gets node ports. Defaults to true.'),
      loadBalancerClass: s.str('Which load balancer implementation handles the service; fixed once set.'),
      internalTrafficPolicy: s.str('Cluster (default) or Local: whether in-cluster traffic may go to endpoints on other nodes.'),
      trafficDistribution: s.str('A preference for how traffic is spread over endpoints, e.g. PreferClose.'),
    },
    'The desired behaviour of a service.',
  ),

  [`${CORE}ServicePort`]: s.obj(
    {
      name: s.str('Port name, a DNS label; required and unique when the service has several ports.'),
      protocol: s.str('TCP (default), UDP or SCTP.', { default: 'TCP' }),
      appProtocol: s.str('Application protocol hint, e.g. http or kubernetes.io/h2c.'),
      port: s.int32('Port number on the service address.'),
      targetPort: s.intOrString('Port number or container port name on the endpoints. Defaults to port.'),
      nodePort: s.int32('Port opened on every node for NodePort and LoadBalancer services; allocated when empty.'),
    },
    'One port a service exposes.',
    { required: ['port'] },
  ),

  [`${CORE}SessionAffinityConfig`]: s.obj(
    { clientIP: ref('ClientIPConfig', 'Settings for ClientIP affinity.') },
    'Session affinity settings.',
  ),

  [`${CORE}ClientIPConfig`]: s.obj(
    { timeoutSeconds: s.int32('How long a client stays on its endpoint, 1 to 86400 seconds. Defaults to 10800 (3 hours).') },
    'Settings for ClientIP session affinity.',
  ),

  [`${CORE}ServiceStatus`]: s.obj(
    {
      loadBalancer: ref('LoadBalancerStatus', 'The load balancer in front of the service, if any.', { default: {} }),
      conditions: s.mergeList(s.ref(`${META}Condition`), 'type', 'Current conditions of the service.'),
    },
    'The observed state of a service.',
  ),

  [`${CORE}LoadBalancerStatus`]: s.obj(
    { ingress: refList('LoadBalancerIngress', 'Addresses where the load balancer accepts traffic.') },
    'The state of a load balancer.',
  ),

  [`${CORE}LoadBalancerIngress`]: s.obj(
    {
      ip: s.str('IP address of the load balancer.'),
      hostname: s.str('DNS name of the load balancer.'),
      ipMode: s.str('VIP (traffic arrives addressed to the load balancer IP) or Proxy (addressed to the node or pod).'),
      ports: refList('PortStatus', 'Status of each service port on this ingress point.'),
    },
    'One address of a load balancer.',
  ),

  [`${CORE}PortStatus`]: s.obj(
    {
      port: s.int32('The port number.'),
      protocol: s.str('TCP, UDP or SCTP.'),
      error: s.str('Why the port is not working, as a CamelCase reason; empty when it is.'),
    },
    'The state of one service port on a load balancer.',
    { required: ['port', 'protocol'] },
  ),

  /* ---------- Endpoints ---------- */

  [`${CORE}Endpoints`]: core('Endpoints', 'The addresses and ports behind a service (superseded by EndpointSlice).', {
    subsets: refList('EndpointSubset', 'Groups of addresses that share the same ports.'),
  }),

  [`${CORE}EndpointSubset`]: s.obj(
    {
      addresses: refList('EndpointAddress', 'Addresses that are ready to receive traffic.'),
      notReadyAddresses: refList('EndpointAddress', 'Addresses that exist but are not ready yet, or are being shut down.'),
      ports: refList('EndpointPort', 'Ports every address of the subset serves.'),
    },
    'A set of addresses that all serve the same ports.',
  ),

  [`${CORE}EndpointAddress`]: s.obj(
    {
      ip: s.str('IP address of the endpoint.'),
      hostname: s.str('Host name of the endpoint, used for per-pod DNS records.'),
      nodeName: s.str('The node the endpoint runs on.'),
      targetRef: ref('ObjectReference', 'The object (usually a pod) behind the address.'),
    },
    'One endpoint address.',
    { required: ['ip'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}EndpointPort`]: s.obj(
    {
      name: s.str('Matches the name of the service port; optional when there is a single port.'),
      port: s.int32('Port number.'),
      protocol: s.str('TCP (default), UDP or SCTP.'),
      appProtocol: s.str('Application protocol hint, copied from the service port.'),
    },
    'One port of an endpoint subset.',
    { required: ['port'], 'x-kubernetes-map-type': 'atomic' },
  ),

  /* ---------- ConfigMap and Secret ---------- */

  [`${CORE}ConfigMap`]: core('ConfigMap', 'Non-secret configuration as key/value pairs, for pods to read as files or environment.', {
    data: s.stringMap('UTF-8 values by key. Keys are letters, digits, "-", "_" or "."; no key may also appear in binaryData.'),
    binaryData: bytesMap('Binary values by key, base64 in JSON. Keys follow the same rules as data.'),
    immutable: s.bool('When true, data and binaryData can never change again (and this flag cannot be cleared).'),
  }),

  [`${CORE}Secret`]: core('Secret', 'Small pieces of sensitive data, such as passwords, tokens or keys.', {
    data: bytesMap('Secret values by key, base64 in JSON. Keys are letters, digits, "-", "_" or ".".'),
    stringData: s.stringMap('Write-only convenience: plain-text values merged into data on write, winning over data. Never returned.'),
    type: s.str('What the secret holds, which decides its required keys. Defaults to Opaque.'),
    immutable: s.bool('When true, data can never change again (and this flag cannot be cleared).'),
  }),

  /* ---------- ServiceAccount ---------- */

  [`${CORE}ServiceAccount`]: core('ServiceAccount', 'An identity for processes running in pods.', {
    secrets: s.mergeList(ref('ObjectReference'), 'name', 'Secrets pods using this account may mount, when the enforce-mountable-secrets annotation is set.'),
    imagePullSecrets: refList('LocalObjectReference', 'Registry credentials added to pods that use this account.'),
    automountServiceAccountToken: s.bool('Whether pods get an API token mounted by default; a pod may override it.'),
  }),

  /* ---------- Event ---------- */

  [`${CORE}Event`]: core(
    'Event',
    'A report that something happened to an object, kept for a short while.',
    {
      involvedObject: ref('ObjectReference', 'The object the event is about.', { default: {} }),
      reason: s.str('A short CamelCase word for why it happened, for machines.'),
      message: s.str('What happened, for people.'),
      source: ref('EventSource', 'The component that reported it.', { default: {} }),
      firstTimestamp: s.time('When the event was first seen.'),
      lastTimestamp: s.time('When the event was last seen.'),
      count: s.int32('How many times it has happened.'),
      type: s.str('Normal or Warning.'),
      eventTime: microTime('When the event first happened, with microseconds (newer reporters).'),
      series: ref('EventSeries', 'Repetition data when the event keeps happening; absent for a one-off.'),
      action: s.str('What was done, or failed, about the object.'),
      related: ref('ObjectReference', 'A second object involved, if any.'),
      reportingComponent: s.str('The controller that reported the event, e.g. kubernetes.io/kubelet.', { default: '' }),
      reportingInstance: s.str('Which instance of the controller reported it, e.g. kubelet-node-1.', { default: '' }),
    },
    { required: ['metadata', 'involvedObject'] },
  ),

  [`${CORE}EventSource`]: s.obj(
    {
      component: s.str('The component that generated the event.'),
      host: s.str('The node it ran on.'),
    },
    'Who reported an event.',
  ),

  [`${CORE}EventSeries`]: s.obj(
    {
      count: s.int32('Occurrences so far.'),
      lastObservedTime: microTime('When it last happened.'),
    },
    'Repetition data of an event that keeps happening.',
  ),

  /* ---------- Node ---------- */

  [`${CORE}Node`]: core('Node', 'A machine (or simulated machine) that runs pods.', {
    spec: ref('NodeSpec', 'How the node is set up.', { default: {} }),
    status: ref('NodeStatus', 'What the node reports about itself.', { default: {} }),
  }),

  [`${CORE}NodeSpec`]: s.obj(
    {
      podCIDR: s.str('The pod address range of the node.'),
      podCIDRs: s.setList({ type: 'string' }, 'Pod address ranges of the node, at most one per IP family; the first equals podCIDR.'),
      providerID: s.str('The ID the infrastructure provider knows the node by: <ProviderName>://<ID>.'),
      unschedulable: s.bool('When true (cordoned), no new pods are scheduled here.'),
      taints: refList('Taint', 'Taints that repel pods which do not tolerate them.'),
      configSource: ref('NodeConfigSource', 'Deprecated and ignored: dynamic kubelet configuration was removed.'),
      externalID: s.str('Deprecated and unused.'),
    },
    'The desired setup of a node.',
  ),

  [`${CORE}Taint`]: s.obj(
    {
      key: s.str('The taint key, a qualified name.'),
      value: s.str('The taint value, a label value.'),
      effect: s.str('NoSchedule, PreferNoSchedule or NoExecute.'),
      timeAdded: s.time('When a NoExecute taint was added.'),
    },
    'A mark on a node that keeps away pods which do not tolerate it.',
    { required: ['key', 'effect'] },
  ),

  [`${CORE}NodeConfigSource`]: s.obj(
    { configMap: ref('ConfigMapNodeConfigSource', 'A ConfigMap holding kubelet configuration.') },
    'Deprecated: where a kubelet used to read its dynamic configuration from.',
  ),

  [`${CORE}ConfigMapNodeConfigSource`]: s.obj(
    {
      namespace: s.str('Namespace of the ConfigMap.'),
      name: s.str('Name of the ConfigMap.'),
      uid: s.str('UID of the ConfigMap.'),
      resourceVersion: s.str('resourceVersion of the ConfigMap.'),
      kubeletConfigKey: s.str('The key holding the kubelet configuration.'),
    },
    'Deprecated: a ConfigMap used as kubelet configuration.',
    { required: ['namespace', 'name', 'kubeletConfigKey'] },
  ),

  [`${CORE}NodeStatus`]: s.obj(
    {
      capacity: quantities('Total resources of the node.'),
      allocatable: quantities('Resources available to pods. Defaults to capacity.'),
      phase: s.str('Deprecated and never set.'),
      conditions: byType('NodeCondition', 'Current conditions: Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable.'),
      addresses: byType('NodeAddress', 'Addresses of the node. Replace the list whole rather than merging: the type key is not unique.'),
      daemonEndpoints: ref('NodeDaemonEndpoints', 'Ports of daemons on the node.', { default: {} }),
      nodeInfo: ref('NodeSystemInfo', 'Identity and software versions of the node.', { default: {} }),
      images: refList('ContainerImage', 'Images present on the node.'),
      volumesInUse: strList('Attachable volumes mounted on the node.'),
      volumesAttached: refList('AttachedVolume', 'Volumes attached to the node.'),
      config: ref('NodeConfigStatus', 'Deprecated: status of dynamic kubelet configuration.'),
      runtimeHandlers: refList('NodeRuntimeHandler', 'Runtime handlers the node offers.'),
      features: ref('NodeFeatures', 'Optional features the node implements.'),
    },
    'The observed state of a node.',
  ),

  [`${CORE}NodeCondition`]: s.obj(
    {
      type: s.str('Condition type, e.g. Ready.'),
      status: s.str('True, False or Unknown.'),
      lastHeartbeatTime: s.time('When the kubelet last reported this condition.'),
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The last transition in words.'),
    },
    'One aspect of a node\'s health.',
    { required: ['type', 'status'] },
  ),

  [`${CORE}NodeAddress`]: s.obj(
    {
      type: s.str('Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.'),
      address: s.str('The address.'),
    },
    'One address of a node.',
    { required: ['type', 'address'] },
  ),

  [`${CORE}NodeDaemonEndpoints`]: s.obj(
    { kubeletEndpoint: ref('DaemonEndpoint', 'Where the kubelet listens.', { default: {} }) },
    'Ports of daemons on a node.',
  ),

  [`${CORE}DaemonEndpoint`]: s.obj({ Port: s.int32('Port number.') }, 'A port a daemon listens on.', { required: ['Port'] }),

  [`${CORE}NodeSystemInfo`]: s.obj(
    {
      machineID: s.str('Machine ID of the node.', { default: '' }),
      systemUUID: s.str('System UUID of the node.', { default: '' }),
      bootID: s.str('ID of the current boot.', { default: '' }),
      kernelVersion: s.str('Kernel version (uname -r).', { default: '' }),
      osImage: s.str('Operating system image, from /etc/os-release.', { default: '' }),
      containerRuntimeVersion: s.str('Container runtime and version, e.g. containerd://1.7.0.', { default: '' }),
      kubeletVersion: s.str('Version of the node agent.', { default: '' }),
      kubeProxyVersion: s.str('Deprecated: version of kube-proxy, not reliably set.', { default: '' }),
      operatingSystem: s.str('Operating system, e.g. linux.', { default: '' }),
      architecture: s.str('CPU architecture, e.g. amd64.', { default: '' }),
      swap: ref('NodeSwapStatus', 'Swap memory of the node.'),
    },
    'Identity and software versions of a node.',
    {
      required: [
        'machineID',
        'systemUUID',
        'bootID',
        'kernelVersion',
        'osImage',
        'containerRuntimeVersion',
        'kubeletVersion',
        'kubeProxyVersion',
        'operatingSystem',
        'architecture',
      ],
    },
  ),

  [`${CORE}NodeSwapStatus`]: s.obj({ capacity: s.int64('Swap size in bytes.') }, 'Swap memory of a node.'),

  [`${CORE}ContainerImage`]: s.obj(
    {
      names: strList('Names and digests the image is known by.'),
      sizeBytes: s.int64('Size of the image in bytes.'),
    },
    'An image stored on a node.',
  ),

  [`${CORE}AttachedVolume`]: s.obj(
    {
      name: s.str('Name of the attached volume.'),
      devicePath: s.str('Where the volume is attached on the node.'),
    },
    'A volume attached to a node.',
    { required: ['name', 'devicePath'] },
  ),

  [`${CORE}NodeConfigStatus`]: s.obj(
    {
      assigned: ref('NodeConfigSource', 'Configuration the node was told to use.'),
      active: ref('NodeConfigSource', 'Configuration the node uses.'),
      lastKnownGood: ref('NodeConfigSource', 'Configuration the node falls back to.'),
      error: s.str('Problem applying the configuration.'),
    },
    'Deprecated: the state of dynamic kubelet configuration.',
  ),

  [`${CORE}NodeRuntimeHandler`]: s.obj(
    {
      name: s.str('Handler name; empty for the default handler.'),
      features: ref('NodeRuntimeHandlerFeatures', 'What the handler supports.'),
    },
    'A runtime handler offered by a node.',
  ),

  [`${CORE}NodeRuntimeHandlerFeatures`]: s.obj(
    {
      recursiveReadOnlyMounts: s.bool('Supports recursive read-only mounts.'),
      userNamespaces: s.bool('Supports user namespaces.'),
    },
    'Features of a runtime handler.',
  ),

  [`${CORE}NodeFeatures`]: s.obj(
    { supplementalGroupsPolicy: s.bool('Honours pod supplementalGroupsPolicy.') },
    'Optional features a node implements.',
  ),

  /* ---------- PersistentVolume ---------- */

  [`${CORE}PersistentVolume`]: core('PersistentVolume', 'A piece of storage in the cluster, bound to at most one claim.', {
    spec: ref('PersistentVolumeSpec', 'What the volume is and where its data lives.', { default: {} }),
    status: ref('PersistentVolumeStatus', 'Where the volume is in its lifecycle.', { default: {} }),
  }),

  [`${CORE}PersistentVolumeSpec`]: s.obj(
    {
      capacity: quantities('Size of the volume, under the key "storage".'),
      accessModes: strList('How the volume may be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod.'),
      claimRef: ref('ObjectReference', 'The claim the volume is bound (or reserved) to.', { 'x-kubernetes-map-type': 'granular' }),
      persistentVolumeReclaimPolicy: s.str('What happens when the claim goes away: Retain (default for manual volumes), Delete, or deprecated Recycle.'),
      storageClassName: s.str('Class of the volume; only claims of the same class bind to it. Empty means no class.'),
      mountOptions: strList('Mount options, passed through unchecked.'),
      volumeMode: s.str('Filesystem (default) or Block.'),
      nodeAffinity: ref('VolumeNodeAffinity', 'Nodes the volume can be used from; pods using it are scheduled there.'),
      volumeAttributesClassName: s.str('VolumeAttributesClass of the volume.'),
      hostPath: ref('HostPathVolumeSource', 'A directory on one node; for development and single-node use.'),
      local: ref('LocalVolumeSource', 'Storage attached to one node; needs nodeAffinity.'),
      nfs: ref('NFSVolumeSource', 'An NFS export.'),
      csi: ref('CSIPersistentVolumeSource', 'Storage provided by a CSI driver.'),
      gcePersistentDisk: ref('GCEPersistentDiskVolumeSource', 'A GCE persistent disk.'),
      awsElasticBlockStore: ref('AWSElasticBlockStoreVolumeSource', 'An AWS EBS volume.'),
      ...Object.fromEntries(Object.entries(OPAQUE_PV_SOURCES).map(([name, description]) => [name, s.any(description)])),
    },
    'What a persistent volume is. Exactly one volume source must be given.',
  ),

  [`${CORE}PersistentVolumeStatus`]: s.obj(
    {
      phase: s.str('Pending, Available, Bound, Released or Failed.'),
      message: s.str('Why the volume is in this phase, for people.'),
      reason: s.str('Why the volume is in this phase, as a CamelCase word.'),
      lastPhaseTransitionTime: s.time('When the phase last changed.'),
    },
    'The lifecycle state of a persistent volume.',
  ),

  [`${CORE}LocalVolumeSource`]: s.obj(
    {
      path: s.str('Full path of the directory or block device on the node.'),
      fsType: s.str('Filesystem to mount when path is a block device; chosen automatically when empty.'),
    },
    'Storage attached directly to one node.',
    { required: ['path'] },
  ),

  [`${CORE}CSIPersistentVolumeSource`]: s.obj(
    {
      driver: s.str('Name of the CSI driver.'),
      volumeHandle: s.str('The driver\'s ID of the volume.'),
      readOnly: s.bool('Mount read-only. Defaults to false.'),
      fsType: s.str('Filesystem type, e.g. ext4.'),
      volumeAttributes: s.stringMap('Driver-specific properties of the volume.'),
      controllerPublishSecretRef: ref('SecretReference', 'Secret passed to ControllerPublishVolume and ControllerUnpublishVolume.'),
      nodeStageSecretRef: ref('SecretReference', 'Secret passed to NodeStageVolume.'),
      nodePublishSecretRef: ref('SecretReference', 'Secret passed to NodePublishVolume.'),
      controllerExpandSecretRef: ref('SecretReference', 'Secret passed to ControllerExpandVolume.'),
      nodeExpandSecretRef: ref('SecretReference', 'Secret passed to NodeExpandVolume.'),
    },
    'Storage managed by a CSI driver.',
    { required: ['driver', 'volumeHandle'] },
  ),

  [`${CORE}GCEPersistentDiskVolumeSource`]: s.obj(
    {
      pdName: s.str('Name of the disk in GCE.'),
      fsType: s.str('Filesystem type, e.g. ext4.'),
      partition: s.int32('Partition to mount; the whole disk when unset.'),
      readOnly: s.bool('Mount read-only. Defaults to false.'),
    },
    'A Google Compute Engine persistent disk.',
    { required: ['pdName'] },
  ),

  [`${CORE}AWSElasticBlockStoreVolumeSource`]: s.obj(
    {
      volumeID: s.str('ID of the EBS volume.'),
      fsType: s.str('Filesystem type, e.g. ext4.'),
      partition: s.int32('Partition to mount; the whole disk when unset.'),
      readOnly: s.bool('Mount read-only. Defaults to false.'),
    },
    'An AWS Elastic Block Store volume.',
    { required: ['volumeID'] },
  ),

  [`${CORE}VolumeNodeAffinity`]: s.obj(
    { required: ref('NodeSelector', 'Nodes that can use the volume.') },
    'Limits which nodes a volume can be used from.',
  ),

  /* ---------- PersistentVolumeClaim ---------- */

  [`${CORE}PersistentVolumeClaim`]: core('PersistentVolumeClaim', "A request for storage, satisfied by binding to a persistent volume.", {
    spec: ref('PersistentVolumeClaimSpec', 'The storage asked for.', { default: {} }),
    status: ref('PersistentVolumeClaimStatus', 'Binding state and the storage actually provided.', { default: {} }),
  }),

  [`${CORE}PersistentVolumeClaimSpec`]: s.obj(
    {
      accessModes: strList('Access modes the volume must offer.'),
      selector: s.ref(`${META}LabelSelector`, 'Only volumes with matching labels are considered.'),
      resources: ref('VolumeResourceRequirements', 'How much storage is needed (requests.storage).', { default: {} }),
      volumeName: s.str('The volume bound to this claim. Set it to ask for a particular volume.'),
      storageClassName: s.str('Storage class to provision from or match. Empty means no class; unset gets the default class.'),
      volumeMode: s.str('Filesystem (default) or Block.'),
      dataSource: ref('TypedLocalObjectReference', 'A snapshot or claim to fill the new volume from.'),
      dataSourceRef: ref('TypedObjectReference', 'Any populator source to fill the new volume from; supersedes dataSource.'),
      volumeAttributesClassName: s.str('VolumeAttributesClass for the volume; may change after creation.'),
    },
    'The storage a claim asks for.',
  ),

  [`${CORE}VolumeResourceRequirements`]: s.obj(
    {
      limits: quantities('Most storage the volume may use.'),
      requests: quantities('Least storage the volume must have, under the key "storage".'),
    },
    'Storage amounts of a claim.',
  ),

  [`${CORE}PersistentVolumeClaimStatus`]: s.obj(
    {
      phase: s.str('Pending, Bound or Lost.'),
      accessModes: strList('Access modes of the bound volume.'),
      capacity: quantities('Size of the bound volume.'),
      conditions: byType('PersistentVolumeClaimCondition', 'Current conditions, e.g. Resizing or FileSystemResizePending.'),
      allocatedResources: quantities('Storage the system has granted, which may run ahead of capacity during an expansion.'),
      allocatedResourceStatuses: {
        ...s.stringMap('Progress of resizing per resource, e.g. ControllerResizeInProgress or NodeResizePending.'),
        'x-kubernetes-map-type': 'granular',
      },
      currentVolumeAttributesClassName: s.str('The VolumeAttributesClass the volume currently has.'),
      modifyVolumeStatus: ref('ModifyVolumeStatus', 'Progress of a change of VolumeAttributesClass.'),
    },
    'The observed state of a claim.',
  ),

  [`${CORE}PersistentVolumeClaimCondition`]: s.obj(
    {
      type: s.str('Condition type.', { default: '' }),
      status: s.str('True, False or Unknown.', { default: '' }),
      lastProbeTime: s.time('When the condition was last checked.'),
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition, e.g. Resizing.'),
      message: s.str('The last transition in words.'),
    },
    'One aspect of a claim\'s state.',
    { required: ['type', 'status'] },
  ),

  [`${CORE}ModifyVolumeStatus`]: s.obj(
    {
      targetVolumeAttributesClassName: s.str('The class being applied.'),
      status: s.str('Pending, InProgress or Infeasible.', { default: '' }),
    },
    'Progress of changing the attributes class of a volume.',
    { required: ['status'] },
  ),

  /* ---------- storage topology (used by StorageClass) ---------- */

  [`${CORE}TopologySelectorTerm`]: s.obj(
    { matchLabelExpressions: refList('TopologySelectorLabelRequirement', 'Label requirements, all of which must hold.') },
    'A topology domain given as label requirements.',
    { 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}TopologySelectorLabelRequirement`]: s.obj(
    {
      key: s.str('The label key.'),
      values: strList('Accepted values; at least one.'),
    },
    'A label key and the values it may have.',
    { required: ['key', 'values'] },
  ),
};
