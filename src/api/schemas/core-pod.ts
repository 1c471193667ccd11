// core/v1 Pod and everything a pod spec and status are made of. Field names, formats and
// patch metadata follow upstream's published OpenAPI; descriptions are our own.
import { kindDefinition, s, type Definitions, type Schema } from '../schema.js';

const CORE = 'io.k8s.api.core.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

const ref = (name: string, description?: string, extra: Partial<Schema> = {}): Schema => s.ref(CORE + name, description, extra);
const atomic = (items: Schema, description: string): Schema => s.list(items, description, { 'x-kubernetes-list-type': 'atomic' });
const strList = (description: string): Schema => atomic({ type: 'string' }, description);
const refList = (name: string, description: string): Schema => atomic(ref(name), description);
const keyedList = (name: string, key: string, description: string, extra: Partial<Schema> = {}): Schema =>
  s.mergeList(ref(name), key, description, extra);
/** A list keyed for server-side apply only; strategic merge patch replaces it whole. */
const mapList = (name: string, keys: string[], description: string): Schema =>
  s.list(ref(name), description, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys });
const quantities = (description: string): Schema => s.map({ $ref: QUANTITY }, description);
const selector = (description: string): Schema => s.ref(`${META}LabelSelector`, description);
const localRef = (description: string): Schema => ref('LocalObjectReference', description);

/** The fields Container and EphemeralContainer share. */
function containerFields(): Record<string, Schema> {
  return {
    name: s.str('Name of the container, a DNS label unique among all containers of the pod. Fixed once created.'),
    image: s.str('Container image reference. Optional in templates so that tools can fill it in later.'),
    command: strList('Entrypoint to run, replacing the image ENTRYPOINT; not run in a shell. $(VAR) references are expanded, $$ escapes.'),
    args: strList('Arguments to the entrypoint, replacing the image CMD. $(VAR) references are expanded, $$ escapes.'),
    workingDir: s.str("Working directory of the process; the image's default when unset."),
    ports: keyedList('ContainerPort', 'containerPort', 'Ports the container listens on. Informational except for hostPort and named-port lookups.', {
      'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
    }),
    envFrom: refList('EnvFromSource', 'Sources whose keys all become environment variables. Later sources win; explicit env wins over all.'),
    env: keyedList('EnvVar', 'name', 'Environment variables to set in the container.'),
    resources: ref('ResourceRequirements', 'Compute resources the container requests and may not exceed.', { default: {} }),
    resizePolicy: refList('ContainerResizePolicy', 'What happens to the container when one of its resources is resized in place.'),
    restartPolicy: s.str(
      'Container-level restart behaviour. On an init container "Always" makes it a sidecar that keeps running beside the main containers.',
    ),
    restartPolicyRules: refList('ContainerRestartRule', 'Rules matched against exit codes to decide whether the container restarts; the first match wins.'),
    volumeMounts: keyedList('VolumeMount', 'mountPath', 'Pod volumes mounted into the container filesystem.'),
    volumeDevices: keyedList('VolumeDevice', 'devicePath', 'Raw block volumes exposed to the container as devices.'),
    livenessProbe: ref('Probe', 'Check that restarts the container when it keeps failing.'),
    readinessProbe: ref('Probe', 'Check that decides whether the container may receive traffic.'),
    startupProbe: ref('Probe', 'Check that must pass before the other probes start; failing it restarts the container.'),
    lifecycle: ref('Lifecycle', 'Hooks run right after the container starts and right before it is stopped.'),
    terminationMessagePath: s.str('File inside the container whose content becomes the termination message. Defaults to /dev/termination-log.'),
    terminationMessagePolicy: s.str(
      'Where the termination message comes from: File, or FallbackToLogsOnError to use the log tail when the file is empty and the container failed.',
    ),
    imagePullPolicy: s.str('When to pull the image: Always, Never or IfNotPresent. Defaults to Always for :latest or untagged images, else IfNotPresent.'),
    securityContext: ref('SecurityContext', 'Security settings for this container; they override the pod-level ones.'),
    stdin: s.bool('Keep a stdin buffer open for the container; without it reads from stdin see EOF.'),
    stdinOnce: s.bool('Close stdin after the first attached client disconnects.'),
    tty: s.bool('Allocate a terminal for the container; needs stdin as well.'),
  };
}

const probeHandlers = {
  exec: ref('ExecAction', 'Run a command inside the container.'),
  httpGet: ref('HTTPGetAction', 'Send an HTTP GET request.'),
  tcpSocket: ref('TCPSocketAction', 'Open a TCP connection.'),
};

export const podDefinitions: Definitions = {
  [`${CORE}Pod`]: kindDefinition({ group: '', version: 'v1', kind: 'Pod' }, 'A group of containers scheduled together onto one node.', {
    spec: ref('PodSpec', 'What the pod should run.', { default: {} }),
    status: ref('PodStatus', 'What the pod is doing, as last reported. Written by the system.', { default: {} }),
  }),

  [`${CORE}PodTemplateSpec`]: s.obj(
    {
      metadata: s.meta(),
      spec: ref('PodSpec', 'The spec of pods made from this template.', { default: {} }),
    },
    'The metadata and spec of pods that a controller creates.',
  ),

  [`${CORE}PodSpec`]: s.obj(
    {
      volumes: keyedList('Volume', 'name', 'Volumes the containers of the pod can mount.', { 'x-kubernetes-patch-strategy': 'merge,retainKeys' }),
      initContainers: keyedList('Container', 'name', 'Containers run one after another to completion before the main containers start.'),
      containers: keyedList('Container', 'name', 'The containers of the pod; at least one. None can be added or removed later.'),
      ephemeralContainers: keyedList('EphemeralContainer', 'name', 'Debugging containers added to a running pod through the ephemeralcontainers subresource.'),
      restartPolicy: s.str('When containers are restarted: Always, OnFailure or Never. Defaults to Always.'),
      terminationGracePeriodSeconds: s.int64('Seconds the pod gets to shut down after the stop signal before it is killed. Defaults to 30.'),
      activeDeadlineSeconds: s.int64('Seconds the pod may run, counted from its start, before the system fails it. Must be positive.'),
      dnsPolicy: s.str('How DNS is set up in the pod: ClusterFirst (default), ClusterFirstWithHostNet, Default or None.'),
      nodeSelector: {
        ...s.stringMap('Node labels a node must carry for the pod to be placed on it.'),
        'x-kubernetes-map-type': 'atomic',
      },
      serviceAccountName: s.str('Service account the pod runs as.'),
      serviceAccount: s.str('Deprecated alias of serviceAccountName.'),
      automountServiceAccountToken: s.bool('Whether the service account token is mounted automatically.'),
      nodeName: s.str('Node the pod is bound to. Set by the scheduler; setting it directly bypasses scheduling.'),
      hostNetwork: s.bool("Use the node's network namespace. Ports must then be declared, and hostPort equals containerPort."),
      hostPID: s.bool("Use the node's process namespace."),
      hostIPC: s.bool("Use the node's IPC namespace."),
      shareProcessNamespace: s.bool('Run all containers in one process namespace so they can see and signal each other.'),
      securityContext: ref('PodSecurityContext', 'Security settings for the whole pod and defaults for its containers.'),
      imagePullSecrets: keyedList('LocalObjectReference', 'name', 'Secrets in the same namespace used to pull the images.'),
      hostname: s.str("The pod's hostname; a DNS label. Defaults to a system-chosen value (the pod name)."),
      subdomain: s.str('With hostname, gives the pod the DNS name <hostname>.<subdomain>.<namespace>.svc.<cluster domain>.'),
      hostnameOverride: s.str('Hostname seen inside the pod, overriding hostname and subdomain without changing DNS records.'),
      affinity: ref('Affinity', 'Scheduling constraints relative to nodes and to other pods.'),
      schedulerName: s.str('Scheduler responsible for the pod. Defaults to default-scheduler.'),
      tolerations: refList('Toleration', 'Taints the pod tolerates.'),
      hostAliases: keyedList('HostAlias', 'ip', 'Extra entries for the pod\'s /etc/hosts.'),
      priorityClassName: s.str('Name of the PriorityClass that sets the pod\'s priority.'),
      priority: s.int32('Priority value, filled in from priorityClassName by admission. Higher is more important.'),
      dnsConfig: ref('PodDNSConfig', 'DNS settings merged into the ones dnsPolicy produces.'),
      readinessGates: refList('PodReadinessGate', 'Extra pod conditions that must be True for the pod to count as ready.'),
      runtimeClassName: s.str('RuntimeClass (node.k8s.io) selecting the container runtime handler.'),
      enableServiceLinks: s.bool('Inject Docker-link style variables for the services of the namespace. Defaults to true.'),
      preemptionPolicy: s.str('Whether the pod may preempt lower-priority pods: PreemptLowerPriority (default) or Never.'),
      overhead: quantities('Resources the runtime itself uses for this pod, added by RuntimeClass admission.'),
      topologySpreadConstraints: keyedList(
        'TopologySpreadConstraint',
        'topologyKey',
        'How the pod spreads with its peers across topology domains. All constraints apply.',
        { 'x-kubernetes-list-map-keys': ['topologyKey', 'whenUnsatisfiable'] },
      ),
      setHostnameAsFQDN: s.bool('Set the fully qualified name as the kernel hostname instead of the short one.'),
      os: ref('PodOS', 'Operating system the containers need; restricts which other fields may be set.'),
      hostUsers: s.bool("Use the node's user namespace (true, the default) or a fresh one for the pod (false)."),
      schedulingGates: keyedList('PodSchedulingGate', 'name', 'While non-empty the pod is not scheduled. Gates can only be removed after creation.'),
      resourceClaims: keyedList('PodResourceClaim', 'name', 'Dynamic resource claims the pod needs before it starts. Immutable.', {
        'x-kubernetes-patch-strategy': 'merge,retainKeys',
      }),
      resources: ref('ResourceRequirements', 'Pod-wide CPU, memory and hugepages requests and limits shared by the containers.'),
      workloadRef: s.any('Reference to the Workload object whose pod group this pod belongs to, for group scheduling.'),
    },
    'What a pod runs and how.',
    { required: ['containers'] },
  ),

  [`${CORE}Container`]: s.obj(containerFields(), 'One container of a pod.', { required: ['name'] }),

  [`${CORE}EphemeralContainer`]: s.obj(
    {
      ...containerFields(),
      targetContainerName: s.str('Container whose namespaces (process, IPC ...) the debugging container joins.'),
    },
    'A temporary container added to a running pod for debugging. It has no resource guarantees and is never restarted.',
    { required: ['name'] },
  ),

  [`${CORE}ContainerPort`]: s.obj(
    {
      name: s.str('Name of the port, an IANA service name unique within the pod; services can refer to it.'),
      hostPort: s.int32('Port to open on the node, 1-65535. Most containers do not need one.'),
      containerPort: s.int32('Port number on the pod IP, 1-65535.'),
      protocol: { ...s.str('UDP, TCP or SCTP. Defaults to TCP.'), default: 'TCP' },
      hostIP: s.str('Node address the host port binds to.'),
    },
    'A network port of a container.',
    { required: ['containerPort'] },
  ),

  [`${CORE}EnvVar`]: s.obj(
    {
      name: s.str('Variable name.'),
      value: s.str('Literal value; $(VAR) references to earlier variables are expanded, $$ escapes. Defaults to "".'),
      valueFrom: ref('EnvVarSource', 'Where to read the value from instead; not allowed together with value.'),
    },
    'An environment variable of a container.',
    { required: ['name'] },
  ),

  [`${CORE}EnvVarSource`]: s.obj(
    {
      fieldRef: ref('ObjectFieldSelector', 'A field of the pod: metadata.name, metadata.namespace, metadata.uid, a label or annotation, spec.nodeName, spec.serviceAccountName, status.hostIP(s), status.podIP(s).'),
      resourceFieldRef: ref('ResourceFieldSelector', 'A request or limit of a container.'),
      configMapKeyRef: ref('ConfigMapKeySelector', 'A key of a ConfigMap in the namespace.'),
      secretKeyRef: ref('SecretKeySelector', 'A key of a Secret in the namespace.'),
      fileKeyRef: ref('FileKeySelector', 'A key of an env-style file in a volume of the pod.'),
    },
    'The source of an environment variable value. Exactly one member is set.',
  ),

  [`${CORE}ObjectFieldSelector`]: s.obj(
    {
      apiVersion: s.str('Schema version fieldPath is written in. Defaults to "v1".'),
      fieldPath: s.str('Path of the field to read.'),
    },
    'Selects a field of the pod.',
    { required: ['fieldPath'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}ResourceFieldSelector`]: s.obj(
    {
      containerName: s.str('Container to read from; required for volumes, optional for env.'),
      resource: s.str('Resource to read, e.g. limits.cpu or requests.memory.'),
      divisor: s.quantity('Unit the value is divided by before it is exposed. Defaults to 1.'),
    },
    'Selects a container resource request or limit.',
    { required: ['resource'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}ConfigMapKeySelector`]: s.obj(
    {
      name: s.str('Name of the ConfigMap.'),
      key: s.str('Key to read.'),
      optional: s.bool('Allow the ConfigMap or key to be missing.'),
    },
    'Selects one key of a ConfigMap.',
    { required: ['key'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}SecretKeySelector`]: s.obj(
    {
      name: s.str('Name of the Secret.'),
      key: s.str('Key to read.'),
      optional: s.bool('Allow the Secret or key to be missing.'),
    },
    'Selects one key of a Secret.',
    { required: ['key'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}FileKeySelector`]: s.obj(
    {
      volumeName: s.str('Volume holding the file.'),
      path: s.str('Path of the file inside the volume; relative, without "..".'),
      key: s.str('Key to read from the file.'),
      optional: s.bool('Allow the file or key to be missing (the variable is then left out).'),
    },
    'Selects a key of an env-style file in a pod volume.',
    { required: ['volumeName', 'path', 'key'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}EnvFromSource`]: s.obj(
    {
      prefix: s.str('Prefix put in front of every variable name from this source.'),
      configMapRef: ref('ConfigMapEnvSource', 'ConfigMap whose keys become variables.'),
      secretRef: ref('SecretEnvSource', 'Secret whose keys become variables.'),
    },
    'A source of many environment variables.',
  ),

  [`${CORE}ConfigMapEnvSource`]: s.obj(
    { name: s.str('Name of the ConfigMap.'), optional: s.bool('Allow the ConfigMap to be missing.') },
    'A ConfigMap whose data becomes environment variables.',
  ),

  [`${CORE}SecretEnvSource`]: s.obj(
    { name: s.str('Name of the Secret.'), optional: s.bool('Allow the Secret to be missing.') },
    'A Secret whose data becomes environment variables.',
  ),

  [`${CORE}ResourceRequirements`]: s.obj(
    {
      limits: quantities('Most of each resource the container may use.'),
      requests: quantities('Amount of each resource the container is guaranteed; defaults to the limit when only a limit is given.'),
      claims: mapList('ResourceClaim', ['name'], 'Names of pod resourceClaims this container uses.'),
    },
    'Compute resource requests and limits.',
  ),

  [`${CORE}ResourceClaim`]: s.obj(
    {
      name: s.str('Name of an entry in the pod\'s resourceClaims.'),
      request: s.str('One request of that claim to use; the whole claim when empty.'),
    },
    'A reference from a container to a pod resource claim.',
    { required: ['name'] },
  ),

  [`${CORE}ContainerResizePolicy`]: s.obj(
    {
      resourceName: s.str('Resource the policy is about: cpu or memory.'),
      restartPolicy: s.str('NotRequired or RestartContainer. Defaults to NotRequired.'),
    },
    'How a container reacts when a resource is resized in place.',
    { required: ['resourceName', 'restartPolicy'] },
  ),

  [`${CORE}ContainerRestartRule`]: s.obj(
    {
      action: s.str('What to do when the rule matches; only "Restart".'),
      exitCodes: ref('ContainerRestartRuleOnExitCodes', 'Exit codes the rule matches.'),
    },
    'A rule deciding on a container restart from how it exited.',
    { required: ['action'] },
  ),

  [`${CORE}ContainerRestartRuleOnExitCodes`]: s.obj(
    {
      operator: s.str('In or NotIn.'),
      values: s.list({ type: 'integer', format: 'int32' }, 'Exit codes to compare with; at most 255.', { 'x-kubernetes-list-type': 'set' }),
    },
    'Exit codes a restart rule matches.',
    { required: ['operator'] },
  ),

  [`${CORE}VolumeMount`]: s.obj(
    {
      name: s.str('Name of the pod volume to mount.'),
      readOnly: s.bool('Mount read-only. Defaults to false.'),
      recursiveReadOnly: s.str('Whether read-only applies to submounts too: Disabled, IfPossible or Enabled.'),
      mountPath: s.str('Path inside the container; must not contain ":".'),
      subPath: s.str('Path inside the volume to mount instead of its root.'),
      mountPropagation: s.str('How mounts propagate between host and container: None, HostToContainer or Bidirectional.'),
      subPathExpr: s.str('Like subPath, with $(VAR) expanded from the container environment; exclusive with subPath.'),
    },
    'Mounts a pod volume into a container.',
    { required: ['name', 'mountPath'] },
  ),

  [`${CORE}VolumeDevice`]: s.obj(
    {
      name: s.str('Name of a persistentVolumeClaim volume of the pod.'),
      devicePath: s.str('Path of the device inside the container.'),
    },
    'Exposes a raw block volume as a device in a container.',
    { required: ['name', 'devicePath'] },
  ),

  [`${CORE}Probe`]: s.obj(
    {
      ...probeHandlers,
      grpc: ref('GRPCAction', 'Call the gRPC health service.'),
      initialDelaySeconds: s.int32('Seconds after the container started before the first probe.'),
      timeoutSeconds: s.int32('Seconds after which one probe attempt counts as failed. Defaults to 1.'),
      periodSeconds: s.int32('Seconds between probes. Defaults to 10.'),
      successThreshold: s.int32('Successes in a row needed after a failure. Defaults to 1; must be 1 for liveness and startup.'),
      failureThreshold: s.int32('Failures in a row needed to count the probe as failed. Defaults to 3.'),
      terminationGracePeriodSeconds: s.int64('Grace period used when a failing liveness or startup probe kills the container; overrides the pod value.'),
    },
    'A periodic health check of a container. Exactly one handler is set.',
  ),

  [`${CORE}ExecAction`]: s.obj(
    { command: strList('Command and arguments, run directly (not in a shell). Exit status 0 means healthy.') },
    'Runs a command in the container.',
  ),

  [`${CORE}HTTPGetAction`]: s.obj(
    {
      path: s.str('Path to request. Defaults to "/".'),
      port: s.intOrString('Port number or container port name.'),
      host: s.str('Host to connect to; defaults to the pod IP. Set a Host header for virtual hosts instead.'),
      scheme: s.str('HTTP or HTTPS. Defaults to HTTP.'),
      httpHeaders: refList('HTTPHeader', 'Extra request headers.'),
    },
    'An HTTP GET request; a status from 200 to 399 means healthy.',
    { required: ['port'] },
  ),

  [`${CORE}HTTPHeader`]: s.obj(
    { name: s.str('Header name, normalised on output.'), value: s.str('Header value.') },
    'A custom HTTP header.',
    { required: ['name', 'value'] },
  ),

  [`${CORE}TCPSocketAction`]: s.obj(
    {
      port: s.intOrString('Port number or container port name.'),
      host: s.str('Host to connect to; defaults to the pod IP.'),
    },
    'Opens a TCP connection; success means healthy.',
    { required: ['port'] },
  ),

  [`${CORE}GRPCAction`]: s.obj(
    {
      port: s.int32('Port of the gRPC service, 1-65535.'),
      service: { ...s.str('Service name sent in the health check request; empty means the server as a whole.'), default: '' },
    },
    'Calls the standard gRPC health check.',
    { required: ['port'] },
  ),

  [`${CORE}SleepAction`]: s.obj({ seconds: s.int64('How long to sleep.') }, 'Pauses for a while.', { required: ['seconds'] }),

  [`${CORE}Lifecycle`]: s.obj(
    {
      postStart: ref('LifecycleHandler', 'Runs right after the container is created; a failure restarts the container.'),
      preStop: ref('LifecycleHandler', 'Runs before the container is stopped, within the grace period.'),
      stopSignal: s.str('Signal sent to stop the container, e.g. SIGTERM; needs spec.os.name.'),
    },
    'Hooks run at container lifecycle events.',
  ),

  [`${CORE}LifecycleHandler`]: s.obj(
    { ...probeHandlers, sleep: ref('SleepAction', 'Sleep for a while.') },
    'An action run by a lifecycle hook. Exactly one member is set.',
  ),

  [`${CORE}SecurityContext`]: s.obj(
    {
      capabilities: ref('Capabilities', 'Linux capabilities to add to or drop from the runtime default set.'),
      privileged: s.bool('Run with nearly all host privileges. Defaults to false.'),
      seLinuxOptions: ref('SELinuxOptions', 'SELinux context; the runtime picks one when unset.'),
      windowsOptions: ref('WindowsSecurityContextOptions', 'Settings for Windows containers.'),
      runAsUser: s.int64('UID the process runs as; defaults to the image user.'),
      runAsGroup: s.int64('GID the process runs as; defaults to the runtime default.'),
      runAsNonRoot: s.bool('Refuse to start the container if it would run as UID 0.'),
      readOnlyRootFilesystem: s.bool('Mount the root filesystem read-only. Defaults to false.'),
      allowPrivilegeEscalation: s.bool('Whether a process may gain more privileges than its parent (no_new_privs).'),
      procMount: s.str('Kind of /proc mount: Default or Unmasked.'),
      seccompProfile: ref('SeccompProfile', 'Seccomp filter for the container.'),
      appArmorProfile: ref('AppArmorProfile', 'AppArmor profile for the container.'),
    },
    'Security settings of one container; they take precedence over the pod-level ones.',
  ),

  [`${CORE}Capabilities`]: s.obj(
    { add: strList('Capabilities to add.'), drop: strList('Capabilities to remove.') },
    'Linux capabilities to add and drop.',
  ),

  [`${CORE}SELinuxOptions`]: s.obj(
    {
      user: s.str('SELinux user.'),
      role: s.str('SELinux role.'),
      type: s.str('SELinux type.'),
      level: s.str('SELinux level.'),
    },
    'SELinux labels for a container.',
  ),

  [`${CORE}SeccompProfile`]: s.obj(
    {
      type: s.str('Localhost, RuntimeDefault or Unconfined.'),
      localhostProfile: s.str('Profile file relative to the kubelet seccomp directory; only with type Localhost.'),
    },
    'A seccomp profile. Exactly one source is used.',
    { required: ['type'], 'x-kubernetes-unions': [{ discriminator: 'type', 'fields-to-discriminateBy': { localhostProfile: 'LocalhostProfile' } }] },
  ),

  [`${CORE}AppArmorProfile`]: s.obj(
    {
      type: s.str('Localhost, RuntimeDefault or Unconfined.'),
      localhostProfile: s.str('Name of a profile loaded on the node; only with type Localhost.'),
    },
    'An AppArmor profile.',
    { required: ['type'], 'x-kubernetes-unions': [{ discriminator: 'type', 'fields-to-discriminateBy': { localhostProfile: 'LocalhostProfile' } }] },
  ),

  [`${CORE}WindowsSecurityContextOptions`]: s.obj(
    {
      gmsaCredentialSpecName: s.str('Name of the GMSA credential spec to use.'),
      gmsaCredentialSpec: s.str('Content of the GMSA credential spec, inlined by the webhook.'),
      runAsUserName: s.str('Windows user the entrypoint runs as.'),
      hostProcess: s.bool('Run as a Windows host process container.'),
    },
    'Windows-specific security settings.',
  ),

  [`${CORE}PodSecurityContext`]: s.obj(
    {
      seLinuxOptions: ref('SELinuxOptions', 'SELinux context applied to all containers.'),
      windowsOptions: ref('WindowsSecurityContextOptions', 'Windows settings applied to all containers.'),
      runAsUser: s.int64('UID container processes run as by default.'),
      runAsGroup: s.int64('GID container processes run as by default.'),
      runAsNonRoot: s.bool('Refuse to start containers that would run as UID 0.'),
      supplementalGroups: s.list({ type: 'integer', format: 'int64' }, 'Extra groups for the first process of each container.', {
        'x-kubernetes-list-type': 'atomic',
      }),
      supplementalGroupsPolicy: s.str('How supplemental groups combine with those of the image: Merge (default) or Strict.'),
      fsGroup: s.int64('Group that owns the volumes and is added to every container process.'),
      sysctls: refList('Sysctl', 'Namespaced kernel parameters set for the pod.'),
      fsGroupChangePolicy: s.str('When volume ownership is changed to fsGroup: OnRootMismatch or Always (default).'),
      seccompProfile: ref('SeccompProfile', 'Seccomp filter for all containers.'),
      appArmorProfile: ref('AppArmorProfile', 'AppArmor profile for all containers.'),
      seLinuxChangePolicy: s.str('How the SELinux label is applied to volumes: Recursive or MountOption.'),
    },
    'Security settings of a pod, and defaults for its containers.',
  ),

  [`${CORE}Sysctl`]: s.obj({ name: s.str('Parameter name.'), value: s.str('Parameter value.') }, 'A kernel parameter.', {
    required: ['name', 'value'],
  }),

  /* ---------- volumes ---------- */

  [`${CORE}Volume`]: s.obj(
    {
      name: s.str('Name of the volume, a DNS label unique within the pod.'),
      emptyDir: ref('EmptyDirVolumeSource', 'A scratch directory that lives as long as the pod.'),
      hostPath: ref('HostPathVolumeSource', 'A file or directory of the node.'),
      persistentVolumeClaim: ref('PersistentVolumeClaimVolumeSource', 'A PersistentVolumeClaim in the same namespace.'),
      configMap: ref('ConfigMapVolumeSource', 'Files from a ConfigMap.'),
      secret: ref('SecretVolumeSource', 'Files from a Secret.'),
      downwardAPI: ref('DownwardAPIVolumeSource', 'Files with pod metadata and resource values.'),
      projected: ref('ProjectedVolumeSource', 'Several sources combined in one directory.'),
      nfs: ref('NFSVolumeSource', 'An NFS export.'),
      csi: ref('CSIVolumeSource', 'An inline ephemeral volume from a CSI driver.'),
      ephemeral: ref('EphemeralVolumeSource', 'A PersistentVolumeClaim created for the pod and deleted with it.'),
      image: ref('ImageVolumeSource', 'The content of an OCI image or artifact, read-only.'),
      gcePersistentDisk: s.any('A GCE persistent disk (deprecated in-tree driver).'),
      awsElasticBlockStore: s.any('An AWS EBS volume (deprecated in-tree driver).'),
      gitRepo: s.any('A git checkout (deprecated; use an init container).'),
      iscsi: s.any('An iSCSI disk.'),
      glusterfs: s.any('A Glusterfs mount (removed driver).'),
      rbd: s.any('A Ceph RBD image (deprecated driver).'),
      flexVolume: s.any('A volume handled by an exec-based FlexVolume plugin (deprecated).'),
      cinder: s.any('An OpenStack Cinder volume (deprecated in-tree driver).'),
      cephfs: s.any('A CephFS mount (deprecated driver).'),
      flocker: s.any('A Flocker dataset (removed driver).'),
      fc: s.any('A Fibre Channel disk.'),
      azureFile: s.any('An Azure File share (deprecated in-tree driver).'),
      vsphereVolume: s.any('A vSphere disk (deprecated in-tree driver).'),
      quobyte: s.any('A Quobyte mount (removed driver).'),
      azureDisk: s.any('An Azure data disk (deprecated in-tree driver).'),
      photonPersistentDisk: s.any('A Photon Controller disk (removed driver).'),
      portworxVolume: s.any('A Portworx volume (deprecated in-tree driver).'),
      scaleIO: s.any('A ScaleIO volume (removed driver).'),
      storageos: s.any('A StorageOS volume (removed driver).'),
    },
    'A named volume the containers of a pod can mount. Exactly one source is set; none means emptyDir.',
    { required: ['name'] },
  ),

  [`${CORE}EmptyDirVolumeSource`]: s.obj(
    {
      medium: s.str('Storage medium: "" for the node default or "Memory" for tmpfs.'),
      sizeLimit: s.quantity('Most space the directory may use; unlimited when unset.'),
    },
    'A directory created empty for the pod and removed with it.',
  ),

  [`${CORE}HostPathVolumeSource`]: s.obj(
    {
      path: s.str('Path on the node; a symlink is followed.'),
      type: s.str('What must exist at the path: "" (no check), DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice or BlockDevice.'),
    },
    'A file or directory of the node mounted into the pod.',
    { required: ['path'] },
  ),

  [`${CORE}PersistentVolumeClaimVolumeSource`]: s.obj(
    {
      claimName: s.str('Name of the PersistentVolumeClaim in the pod\'s namespace.'),
      readOnly: s.bool('Force every mount of it to be read-only. Defaults to false.'),
    },
    'Uses the volume bound to a PersistentVolumeClaim.',
    { required: ['claimName'] },
  ),

  [`${CORE}KeyToPath`]: s.obj(
    {
      key: s.str('Key to project.'),
      path: s.str('Relative file path to write it to; no ".." elements.'),
      mode: s.int32('Permission bits of the file (0-0777, decimal in JSON); the volume default when unset.'),
    },
    'Maps one key to a file path.',
    { required: ['key', 'path'] },
  ),

  [`${CORE}ConfigMapVolumeSource`]: s.obj(
    {
      name: s.str('Name of the ConfigMap.'),
      items: refList('KeyToPath', 'Keys to project and where; every key becomes a file named after it when empty.'),
      defaultMode: s.int32('Permission bits of the created files (0-0777, decimal in JSON). Defaults to 0644.'),
      optional: s.bool('Allow the ConfigMap or its keys to be missing.'),
    },
    'Presents ConfigMap data as files.',
  ),

  [`${CORE}SecretVolumeSource`]: s.obj(
    {
      secretName: s.str('Name of the Secret in the pod\'s namespace.'),
      items: refList('KeyToPath', 'Keys to project and where; every key becomes a file named after it when empty.'),
      defaultMode: s.int32('Permission bits of the created files (0-0777, decimal in JSON). Defaults to 0644.'),
      optional: s.bool('Allow the Secret or its keys to be missing.'),
    },
    'Presents Secret data as files.',
  ),

  [`${CORE}DownwardAPIVolumeFile`]: s.obj(
    {
      path: s.str('Relative file path; no ".." elements.'),
      fieldRef: ref('ObjectFieldSelector', 'A pod field: annotations, labels, name, namespace or uid.'),
      resourceFieldRef: ref('ResourceFieldSelector', 'A container request or limit (cpu, memory, ephemeral-storage).'),
      mode: s.int32('Permission bits of the file (0-0777, decimal in JSON); the volume default when unset.'),
    },
    'One downward API file.',
    { required: ['path'] },
  ),

  [`${CORE}DownwardAPIVolumeSource`]: s.obj(
    {
      items: refList('DownwardAPIVolumeFile', 'Files to create.'),
      defaultMode: s.int32('Permission bits of the created files (0-0777, decimal in JSON). Defaults to 0644.'),
    },
    'Presents pod information as files.',
  ),

  [`${CORE}ProjectedVolumeSource`]: s.obj(
    {
      sources: refList('VolumeProjection', 'Sources to combine.'),
      defaultMode: s.int32('Permission bits of the created files (0-0777, decimal in JSON). Defaults to 0644.'),
    },
    'Several volume sources projected into one directory.',
  ),

  [`${CORE}VolumeProjection`]: s.obj(
    {
      secret: ref('SecretProjection', 'Files from a Secret.'),
      downwardAPI: ref('DownwardAPIProjection', 'Files with pod information.'),
      configMap: ref('ConfigMapProjection', 'Files from a ConfigMap.'),
      serviceAccountToken: ref('ServiceAccountTokenProjection', 'A service account token.'),
      clusterTrustBundle: s.any('Certificates from ClusterTrustBundle objects, written to one file.'),
      podCertificate: s.any('A key and certificate chain issued for the pod by a signer.'),
    },
    'One source of a projected volume. Exactly one member is set.',
  ),

  [`${CORE}ConfigMapProjection`]: s.obj(
    {
      name: s.str('Name of the ConfigMap.'),
      items: refList('KeyToPath', 'Keys to project and where; every key becomes a file named after it when empty.'),
      optional: s.bool('Allow the ConfigMap or its keys to be missing.'),
    },
    'ConfigMap data as files inside a projected volume.',
  ),

  [`${CORE}SecretProjection`]: s.obj(
    {
      name: s.str('Name of the Secret.'),
      items: refList('KeyToPath', 'Keys to project and where; every key becomes a file named after it when empty.'),
      optional: s.bool('Allow the Secret or its keys to be missing.'),
    },
    'Secret data as files inside a projected volume.',
  ),

  [`${CORE}DownwardAPIProjection`]: s.obj(
    { items: refList('DownwardAPIVolumeFile', 'Files to create.') },
    'Pod information as files inside a projected volume.',
  ),

  [`${CORE}ServiceAccountTokenProjection`]: s.obj(
    {
      audience: s.str('Intended audience of the token; the API server identifier when empty.'),
      expirationSeconds: s.int64('Requested lifetime in seconds, at least 600; the kubelet refreshes the token in time. Defaults to 3600.'),
      path: s.str('Relative file path of the token.'),
    },
    'A service account token written into a projected volume.',
    { required: ['path'] },
  ),

  [`${CORE}NFSVolumeSource`]: s.obj(
    {
      server: s.str('Host name or address of the NFS server.'),
      path: s.str('Exported path.'),
      readOnly: s.bool('Mount read-only. Defaults to false.'),
    },
    'An NFS export mounted for the pod lifetime.',
    { required: ['server', 'path'] },
  ),

  [`${CORE}CSIVolumeSource`]: s.obj(
    {
      driver: s.str('Name of the CSI driver.'),
      readOnly: s.bool('Mount read-only. Defaults to false.'),
      fsType: s.str('Filesystem type, e.g. ext4; the driver decides when empty.'),
      volumeAttributes: s.stringMap('Driver-specific properties.'),
      nodePublishSecretRef: localRef('Secret with sensitive data for the driver\'s publish calls.'),
    },
    'An ephemeral inline volume provided by a CSI driver.',
    { required: ['driver'] },
  ),

  [`${CORE}EphemeralVolumeSource`]: s.obj(
    { volumeClaimTemplate: ref('PersistentVolumeClaimTemplate', 'Template of the claim created for the pod (named <pod>-<volume>).') },
    'A volume backed by a claim created with the pod and deleted with it.',
  ),

  [`${CORE}PersistentVolumeClaimTemplate`]: s.obj(
    {
      metadata: s.meta(),
      spec: ref('PersistentVolumeClaimSpec', 'Spec of the created claim, copied unchanged.', { default: {} }),
    },
    'Metadata and spec of a PersistentVolumeClaim to create.',
    { required: ['spec'] },
  ),

  [`${CORE}ImageVolumeSource`]: s.obj(
    {
      reference: s.str('Image or artifact reference to mount.'),
      pullPolicy: s.str('When to pull: Always, Never or IfNotPresent; defaults like a container image.'),
    },
    'An OCI image or artifact mounted read-only.',
  ),

  /* ---------- scheduling ---------- */

  [`${CORE}Toleration`]: s.obj(
    {
      key: s.str('Taint key to tolerate; empty with operator Exists matches every key.'),
      operator: s.str('Exists or Equal (default). Exists needs no value.'),
      value: s.str('Taint value to match with operator Equal.'),
      effect: s.str('Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.'),
      tolerationSeconds: s.int64('For NoExecute: how long the pod may stay bound after the taint appears; forever when unset.'),
    },
    'Lets the pod run on nodes with a matching taint.',
  ),

  [`${CORE}Affinity`]: s.obj(
    {
      nodeAffinity: ref('NodeAffinity', 'Node constraints.'),
      podAffinity: ref('PodAffinity', 'Rules to run near other pods.'),
      podAntiAffinity: ref('PodAntiAffinity', 'Rules to keep away from other pods.'),
    },
    'Scheduling constraints of a pod.',
  ),

  [`${CORE}NodeAffinity`]: s.obj(
    {
      requiredDuringSchedulingIgnoredDuringExecution: ref('NodeSelector', 'Nodes the pod may be placed on at all.'),
      preferredDuringSchedulingIgnoredDuringExecution: refList('PreferredSchedulingTerm', 'Weighted node preferences; nodes matching more weight score higher.'),
    },
    'Node constraints of a pod.',
  ),

  [`${CORE}NodeSelector`]: s.obj(
    { nodeSelectorTerms: refList('NodeSelectorTerm', 'Terms, any of which must match (OR).') },
    'A query over nodes.',
    { required: ['nodeSelectorTerms'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}NodeSelectorTerm`]: s.obj(
    {
      matchExpressions: refList('NodeSelectorRequirement', 'Requirements on node labels (AND).'),
      matchFields: refList('NodeSelectorRequirement', 'Requirements on node fields (AND).'),
    },
    'A conjunction of node requirements; an empty term matches nothing.',
    { 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}NodeSelectorRequirement`]: s.obj(
    {
      key: s.str('Label or field the requirement is about.'),
      operator: s.str('In, NotIn, Exists, DoesNotExist, Gt or Lt.'),
      values: strList('Values for In and NotIn; a single integer for Gt and Lt; empty for Exists and DoesNotExist.'),
    },
    'One requirement on a node label or field.',
    { required: ['key', 'operator'] },
  ),

  [`${CORE}PreferredSchedulingTerm`]: s.obj(
    {
      weight: s.int32('Weight of the preference, 1-100.'),
      preference: ref('NodeSelectorTerm', 'Nodes the preference is for.', { default: {} }),
    },
    'A weighted node preference.',
    { required: ['weight', 'preference'] },
  ),

  [`${CORE}PodAffinity`]: s.obj(
    {
      requiredDuringSchedulingIgnoredDuringExecution: refList('PodAffinityTerm', 'Pods the pod must be placed near (all terms).'),
      preferredDuringSchedulingIgnoredDuringExecution: refList('WeightedPodAffinityTerm', 'Weighted preferences to be near certain pods.'),
    },
    'Rules to co-locate the pod with others.',
  ),

  [`${CORE}PodAntiAffinity`]: s.obj(
    {
      requiredDuringSchedulingIgnoredDuringExecution: refList('PodAffinityTerm', 'Pods the pod must not be placed near (all terms).'),
      preferredDuringSchedulingIgnoredDuringExecution: refList('WeightedPodAffinityTerm', 'Weighted preferences to stay away from certain pods.'),
    },
    'Rules to keep the pod apart from others.',
  ),

  [`${CORE}PodAffinityTerm`]: s.obj(
    {
      labelSelector: selector('Pods the term is about.'),
      namespaces: strList("Namespaces to look in, in addition to namespaceSelector; the pod's own when both are empty."),
      topologyKey: s.str('Node label defining what "near" means; nodes with the same value are one domain.'),
      namespaceSelector: selector('Namespaces to look in, by label; {} means all.'),
      matchLabelKeys: strList("Label keys whose values are taken from the incoming pod and ANDed into labelSelector."),
      mismatchLabelKeys: strList("Label keys whose values from the incoming pod must differ, ANDed into labelSelector."),
    },
    'Pods, by label and namespace, that the pod should be near or away from within a topology domain.',
    { required: ['topologyKey'] },
  ),

  [`${CORE}WeightedPodAffinityTerm`]: s.obj(
    {
      weight: s.int32('Weight of the preference, 1-100.'),
      podAffinityTerm: ref('PodAffinityTerm', 'The term.', { default: {} }),
    },
    'A weighted pod (anti-)affinity preference.',
    { required: ['weight', 'podAffinityTerm'] },
  ),

  [`${CORE}TopologySpreadConstraint`]: s.obj(
    {
      maxSkew: s.int32('Largest allowed difference in matching pods between domains; at least 1.'),
      topologyKey: s.str('Node label whose values form the domains.'),
      whenUnsatisfiable: s.str('DoNotSchedule or ScheduleAnyway when the constraint cannot be met.'),
      labelSelector: selector('Pods counted in each domain.'),
      minDomains: s.int32('Least number of eligible domains; fewer count as global minimum 0. Only with DoNotSchedule.'),
      nodeAffinityPolicy: s.str('Honor (default) or Ignore the pod node affinity when counting domains.'),
      nodeTaintsPolicy: s.str('Honor or Ignore (default) node taints when counting domains.'),
      matchLabelKeys: strList('Label keys whose values are taken from the incoming pod and ANDed into labelSelector.'),
    },
    'How matching pods should be spread over a topology.',
    { required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'] },
  ),

  [`${CORE}HostAlias`]: s.obj(
    { ip: s.str('Address of the entry.'), hostnames: strList('Names for the address.') },
    'One extra /etc/hosts entry.',
    { required: ['ip'] },
  ),

  [`${CORE}PodDNSConfig`]: s.obj(
    {
      nameservers: strList('DNS server addresses added to the generated list.'),
      searches: strList('Search domains added to the generated list.'),
      options: refList('PodDNSConfigOption', 'Resolver options; they override generated options of the same name.'),
    },
    'DNS parameters of a pod beyond what dnsPolicy gives.',
  ),

  [`${CORE}PodDNSConfigOption`]: s.obj(
    { name: s.str('Option name; required.'), value: s.str('Option value.') },
    'A resolver option.',
  ),

  [`${CORE}PodReadinessGate`]: s.obj(
    { conditionType: s.str('Type of a pod condition that must be True.') },
    'An extra condition for pod readiness.',
    { required: ['conditionType'] },
  ),

  [`${CORE}LocalObjectReference`]: s.obj(
    { name: s.str('Name of the object in the same namespace.') },
    'Refers to an object in the same namespace by name.',
    { 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${CORE}PodOS`]: s.obj({ name: s.str('linux or windows.') }, 'Operating system of a pod.', { required: ['name'] }),

  [`${CORE}PodSchedulingGate`]: s.obj({ name: s.str('Name of the gate; unique in the pod.') }, 'One reason to hold back scheduling.', {
    required: ['name'],
  }),

  [`${CORE}PodResourceClaim`]: s.obj(
    {
      name: s.str('Name of the claim inside the pod, a DNS label.'),
      resourceClaimName: s.str('Existing ResourceClaim in the namespace to use.'),
      resourceClaimTemplateName: s.str('ResourceClaimTemplate from which a claim is created for the pod.'),
    },
    'A resource claim of the pod; exactly one source is set.',
    { required: ['name'] },
  ),

  /* ---------- status ---------- */

  [`${CORE}PodStatus`]: s.obj(
    {
      observedGeneration: s.int64('The metadata.generation the status was computed from.'),
      phase: s.str('Where the pod is in its lifecycle: Pending, Running, Succeeded, Failed or Unknown.'),
      conditions: keyedList('PodCondition', 'type', 'Observations such as PodScheduled, Initialized, ContainersReady and Ready.'),
      message: s.str('Why the pod is in this state, for humans.'),
      reason: s.str('A CamelCase word for why the pod is in this state, e.g. Evicted.'),
      nominatedNodeName: s.str('Node the pod preempted others on and is expected to land on; not a promise.'),
      hostIP: s.str('Primary address of the node the pod runs on.'),
      hostIPs: s.list(ref('HostIP'), 'Addresses of the node; the first equals hostIP.', {
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-patch-merge-key': 'ip',
        'x-kubernetes-list-type': 'atomic',
      }),
      podIP: s.str('Primary address of the pod.'),
      podIPs: keyedList('PodIP', 'ip', 'Addresses of the pod, at most one per IP family; the first equals podIP.'),
      startTime: s.time('When the kubelet accepted the pod, before pulling images.'),
      initContainerStatuses: refList('ContainerStatus', 'One entry per init container.'),
      containerStatuses: refList('ContainerStatus', 'One entry per container.'),
      qosClass: s.str('Quality of service class: Guaranteed, Burstable or BestEffort.'),
      ephemeralContainerStatuses: refList('ContainerStatus', 'One entry per ephemeral container that ran.'),
      resize: s.str('Deprecated progress of an in-place resize.'),
      resourceClaimStatuses: keyedList('PodResourceClaimStatus', 'name', 'Names of the claims generated for the pod.', {
        'x-kubernetes-patch-strategy': 'merge,retainKeys',
      }),
      extendedResourceClaimStatus: ref('PodExtendedResourceClaimStatus', 'The claim generated for extended resources backed by dynamic allocation.'),
    },
    'The observed state of a pod.',
  ),

  [`${CORE}PodCondition`]: s.obj(
    {
      type: s.str('Condition type, e.g. Ready or PodScheduled.'),
      observedGeneration: s.int64('The metadata.generation the condition was computed from.'),
      status: s.str('True, False or Unknown.'),
      lastProbeTime: s.time('When the condition was last probed.'),
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The transition in words.'),
    },
    'One observation about a pod.',
    { required: ['type', 'status'] },
  ),

  [`${CORE}HostIP`]: s.obj({ ip: s.str('An address of the node.') }, 'An address of the node a pod runs on.', { required: ['ip'] }),
  [`${CORE}PodIP`]: s.obj({ ip: s.str('An address of the pod.') }, 'An address allocated to a pod.', { required: ['ip'] }),

  [`${CORE}PodResourceClaimStatus`]: s.obj(
    {
      name: s.str('Name of the entry in spec.resourceClaims.'),
      resourceClaimName: s.str('Name of the ResourceClaim generated for it; unset when none was needed.'),
    },
    'The claim generated for one pod resource claim.',
    { required: ['name'] },
  ),

  [`${CORE}PodExtendedResourceClaimStatus`]: s.obj(
    {
      requestMappings: refList('ContainerExtendedResourceRequest', 'Which container request maps to which claim request.'),
      resourceClaimName: s.str('Name of the generated claim.'),
    },
    'The claim generated for extended resources of a pod.',
    { required: ['requestMappings', 'resourceClaimName'] },
  ),

  [`${CORE}ContainerExtendedResourceRequest`]: s.obj(
    {
      containerName: s.str('Container asking for the resource.'),
      resourceName: s.str('Extended resource name.'),
      requestName: s.str('Request in the generated claim.'),
    },
    'Maps a container extended resource to a claim request.',
    { required: ['containerName', 'resourceName', 'requestName'] },
  ),

  [`${CORE}ContainerStatus`]: s.obj(
    {
      name: s.str('Name of the container as in the spec.'),
      state: ref('ContainerState', 'Current state.', { default: {} }),
      lastState: ref('ContainerState', 'State of the previous run, usually how it terminated.', { default: {} }),
      ready: s.bool('Whether the readiness probe passes (or the container runs and started, without one).'),
      restartCount: s.int32('Times the container was restarted in this pod.'),
      image: s.str('Image the container runs.'),
      imageID: s.str('Resolved image identifier, usually with a digest.'),
      containerID: s.str("Runtime identifier, '<type>://<id>'."),
      started: s.bool('Whether the startup probe passed (or the container runs, without one).'),
      allocatedResources: quantities('Resources the node has allocated to the container.'),
      resources: ref('ResourceRequirements', 'Requests and limits currently applied to the running container.'),
      volumeMounts: keyedList('VolumeMountStatus', 'mountPath', 'Mounts as they are in the running container.'),
      user: ref('ContainerUser', 'Identity the first process runs with.'),
      allocatedResourcesStatus: keyedList('ResourceStatus', 'name', 'Health of the devices allocated to the container.'),
      stopSignal: s.str('Signal that will be sent to stop the container.'),
    },
    'What is known about one container of a pod.',
    { required: ['name', 'ready', 'restartCount', 'image', 'imageID'] },
  ),

  [`${CORE}ContainerState`]: s.obj(
    {
      waiting: ref('ContainerStateWaiting', 'The container has not started, or waits to restart.'),
      running: ref('ContainerStateRunning', 'The container runs.'),
      terminated: ref('ContainerStateTerminated', 'The container has exited.'),
    },
    'A container state; at most one member is set, waiting when none is.',
  ),

  [`${CORE}ContainerStateWaiting`]: s.obj(
    {
      reason: s.str('Why the container is not running, e.g. ContainerCreating or CrashLoopBackOff.'),
      message: s.str('Details in words.'),
    },
    'The container is not running yet.',
  ),

  [`${CORE}ContainerStateRunning`]: s.obj({ startedAt: s.time('When the container last started.') }, 'The container is running.'),

  [`${CORE}ContainerStateTerminated`]: s.obj(
    {
      exitCode: s.int32('Exit status of the last run.'),
      signal: s.int32('Signal that ended the last run, if any.'),
      reason: s.str('Why it ended, e.g. Completed, Error or OOMKilled.'),
      message: s.str('Details in words, often the termination message.'),
      startedAt: s.time('When the run started.'),
      finishedAt: s.time('When the run ended.'),
      containerID: s.str("Runtime identifier of the run, '<type>://<id>'."),
    },
    'The container has exited.',
    { required: ['exitCode'] },
  ),

  [`${CORE}VolumeMountStatus`]: s.obj(
    {
      name: s.str('Name of the volume mount.'),
      mountPath: s.str('Path inside the container.'),
      readOnly: s.bool('Whether the mount is read-only.'),
      recursiveReadOnly: s.str('Whether submounts are read-only too: Disabled or Enabled.'),
    },
    'A volume mount of a running container.',
    { required: ['name', 'mountPath'] },
  ),

  [`${CORE}ContainerUser`]: s.obj(
    { linux: ref('LinuxContainerUser', 'User of a Linux container.') },
    'Identity of the first process of a container.',
  ),

  [`${CORE}LinuxContainerUser`]: s.obj(
    {
      uid: s.int64('User ID.'),
      gid: s.int64('Primary group ID.'),
      supplementalGroups: s.list({ type: 'integer', format: 'int64' }, 'Supplementary group IDs.', { 'x-kubernetes-list-type': 'atomic' }),
    },
    'UID and GIDs of a Linux process.',
    { required: ['uid', 'gid'] },
  ),

  [`${CORE}ResourceStatus`]: s.obj(
    {
      name: s.str('Resource name as in the container resources.'),
      resources: mapList('ResourceHealth', ['resourceID'], 'Health of each allocated device.'),
    },
    'Health of the devices behind one resource.',
    { required: ['name'] },
  ),

  [`${CORE}ResourceHealth`]: s.obj(
    {
      resourceID: s.str('Identifier of the device.'),
      health: s.str('Healthy, Unhealthy or Unknown.'),
    },
    'Health of one device.',
    { required: ['resourceID'] },
  ),
};
