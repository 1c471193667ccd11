// apps/v1 StatefulSet and ControllerRevision, and autoscaling/v1 Scale (served by
// statefulsets/scale). The claim templates reference the PersistentVolumeClaim definition
// that the storage schemas provide.
import { kindDefinition, s, type Definitions } from '../schema.js';

const APPS = 'io.k8s.api.apps.v1.';
const AUTOSCALING = 'io.k8s.api.autoscaling.v1.';

export const appsDefinitions: Definitions = {
  [`${APPS}StatefulSet`]: kindDefinition(
    { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    'Runs a set of pods with stable names, stable network identities and stable storage, created and replaced in ordinal order.',
    {
      spec: s.ref(`${APPS}StatefulSetSpec`, 'The desired state of the set.', { default: {} }),
      status: s.ref(`${APPS}StatefulSetStatus`, 'The observed state of the set, written by the controller. May lag behind.'),
    },
  ),

  [`${APPS}StatefulSetSpec`]: s.obj(
    {
      replicas: s.int32('Number of pods wanted. Defaults to 1.'),
      selector: s.ref(
        'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
        'Which pods belong to the set; must match the template labels. Fixed once created.',
      ),
      template: s.ref(
        'io.k8s.api.core.v1.PodTemplateSpec',
        'Pod template. Each pod gets a unique identity derived from the set name and its ordinal; restartPolicy must be Always.',
        { default: {} },
      ),
      volumeClaimTemplates: s.list(
        s.ref('io.k8s.api.core.v1.PersistentVolumeClaim'),
        'Claims made for every pod, named <claim>-<set>-<ordinal> and mounted where the template mounts a volume of the claim name. They win over template volumes of the same name.',
        { 'x-kubernetes-list-type': 'atomic' },
      ),
      serviceName: s.str(
        'Headless Service giving the pods their DNS names, <pod>.<serviceName>.<namespace>.svc.<cluster domain>. It must exist separately.',
      ),
      podManagementPolicy: s.str(
        'OrderedReady (default): create pods in increasing ordinal order and remove them in decreasing order, one at a time, waiting for readiness. Parallel: act on all pods at once.',
      ),
      updateStrategy: s.ref(
        `${APPS}StatefulSetUpdateStrategy`,
        'How pods are replaced when the template changes.',
        { default: {} },
      ),
      revisionHistoryLimit: s.int32('How many old ControllerRevisions to keep beyond the ones in use. Defaults to 10.'),
      minReadySeconds: s.int32('Seconds a new pod must be ready, without crashing, to count as available. Defaults to 0.'),
      persistentVolumeClaimRetentionPolicy: s.ref(
        `${APPS}StatefulSetPersistentVolumeClaimRetentionPolicy`,
        'What happens to the claims from volumeClaimTemplates when the set is deleted or scaled down. Both default to Retain.',
      ),
      ordinals: s.ref(`${APPS}StatefulSetOrdinals`, 'Numbering of the pods; starts at 0 when unset.'),
    },
    'The desired state of a StatefulSet.',
    { required: ['selector', 'template'] },
  ),

  [`${APPS}StatefulSetUpdateStrategy`]: s.obj(
    {
      type: s.str('RollingUpdate (default): replace pods automatically, highest ordinal first. OnDelete: replace a pod only after it was deleted.'),
      rollingUpdate: s.ref(`${APPS}RollingUpdateStatefulSetStrategy`, 'Parameters of RollingUpdate.'),
    },
    'How a StatefulSet replaces its pods after a template change.',
  ),

  [`${APPS}RollingUpdateStatefulSetStrategy`]: s.obj(
    {
      partition: s.int32('Only pods with an ordinal index at or above this value are updated; the others keep the old revision. Defaults to 0.'),
      maxUnavailable: s.intOrString(
        'Most pods that may be unavailable during the update, as a number or a percentage of replicas (rounded up). Defaults to 1. Needs the MaxUnavailableStatefulSet feature.',
      ),
    },
    'Parameters of a rolling update.',
  ),

  [`${APPS}StatefulSetPersistentVolumeClaimRetentionPolicy`]: s.obj(
    {
      whenDeleted: s.str('When the set is deleted: Retain keeps the claims, Delete removes them once their pods are gone.'),
      whenScaled: s.str('When the set scales down: Retain keeps the claims of removed pods, Delete removes them once those pods are gone.'),
    },
    'Lifecycle of the claims created from volumeClaimTemplates.',
  ),

  [`${APPS}StatefulSetOrdinals`]: s.obj(
    {
      start: s.int32('Ordinal of the first replica: pods are numbered start .. start+replicas-1. Defaults to 0.'),
    },
    'How the replicas of a StatefulSet are numbered.',
  ),

  [`${APPS}StatefulSetStatus`]: s.obj(
    {
      observedGeneration: s.int64('The metadata.generation the controller last acted on.'),
      replicas: s.int32('Pods the controller has created.'),
      readyReplicas: s.int32('Pods with a Ready condition.'),
      currentReplicas: s.int32('Pods at the currentRevision.'),
      updatedReplicas: s.int32('Pods at the updateRevision.'),
      currentRevision: s.str('Revision of the pods below the update frontier (ordinals before the rolling update reached them).'),
      updateRevision: s.str('Revision built from the current template; pods are moved to it.'),
      collisionCount: s.int32('Hash collisions met while naming ControllerRevisions; used to derive a free name.'),
      conditions: s.mergeList(s.ref(`${APPS}StatefulSetCondition`), 'type', 'Latest observations of the set state.'),
      availableReplicas: s.int32('Pods ready for at least minReadySeconds.'),
    },
    'The observed state of a StatefulSet.',
    { required: ['replicas'] },
  ),

  [`${APPS}StatefulSetCondition`]: s.obj(
    {
      type: s.str('Condition type.'),
      status: s.str('True, False or Unknown.'),
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The transition in words.'),
    },
    'One observation about a StatefulSet.',
    { required: ['type', 'status'] },
  ),

  [`${APPS}ControllerRevision`]: kindDefinition(
    { group: 'apps', version: 'v1', kind: 'ControllerRevision' },
    'An immutable snapshot of state a controller recorded, used by StatefulSets and DaemonSets for updates and rollbacks. The data cannot change; the revision number can.',
    {
      data: s.ref('io.k8s.apimachinery.pkg.runtime.RawExtension', 'The recorded state, in a form only its controller interprets.'),
      revision: { ...s.int64('Number of this revision, increasing over the history of the owner.'), default: 0 },
    },
    { required: ['revision'] },
  ),

  [`${AUTOSCALING}Scale`]: kindDefinition(
    { group: 'autoscaling', version: 'v1', kind: 'Scale' },
    'The replica count of a scalable resource, read and written through its scale subresource.',
    {
      spec: s.ref(`${AUTOSCALING}ScaleSpec`, 'Desired replica count.', { default: {} }),
      status: s.ref(`${AUTOSCALING}ScaleStatus`, 'Current replica count and pod selector. Read-only.', { default: {} }),
    },
  ),

  [`${AUTOSCALING}ScaleSpec`]: s.obj({ replicas: s.int32('Number of replicas wanted.') }, 'Desired scale.'),

  [`${AUTOSCALING}ScaleStatus`]: s.obj(
    {
      replicas: { ...s.int32('Number of replicas observed.'), default: 0 },
      selector: s.str('Label selector of the pods, as a string like "app=web,tier in (a,b)".'),
    },
    'Observed scale.',
    { required: ['replicas'] },
  ),
};
