// The workload kinds beside StatefulSet: apps/v1 ReplicaSet, Deployment and DaemonSet,
// core/v1 ReplicationController and PodTemplate, batch/v1 Job and CronJob. Field names,
// formats and patch metadata as upstream's OpenAPI; descriptions are ours.
import { kindDefinition, s, type Definitions, type Schema } from '../schema.js';

const APPS = 'io.k8s.api.apps.v1.';
const CORE = 'io.k8s.api.core.v1.';
const BATCH = 'io.k8s.api.batch.v1.';
const SELECTOR = 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector';
const TEMPLATE = `${CORE}PodTemplateSpec`;

function condition(owner: string, extra: Record<string, Schema> = {}): Schema {
  return s.obj(
    {
      type: s.str('Condition type.', { default: '' }),
      status: s.str('True, False or Unknown.', { default: '' }),
      ...extra,
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The transition in words.'),
    },
    `One observation about a ${owner}.`,
    { required: ['type', 'status'] },
  );
}

const conditions = (ref: string, what: string): Schema =>
  s.mergeList(s.ref(ref, undefined, { default: {} }), 'type', `Latest observations of the ${what} state.`);

export const workloadDefinitions: Definitions = {
  /* ---------- ReplicaSet ---------- */
  [`${APPS}ReplicaSet`]: kindDefinition(
    { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
    'Keeps a given number of identical pods running.',
    {
      spec: s.ref(`${APPS}ReplicaSetSpec`, 'The desired state of the set.', { default: {} }),
      status: s.ref(`${APPS}ReplicaSetStatus`, 'The observed state of the set, written by the controller.', { default: {} }),
    },
  ),
  [`${APPS}ReplicaSetSpec`]: s.obj(
    {
      replicas: s.int32('Number of pods wanted. Defaults to 1.'),
      minReadySeconds: s.int32('Seconds a new pod must be ready, without crashing, to count as available. Defaults to 0.'),
      selector: s.ref(SELECTOR, 'Which pods belong to the set; must match the template labels.'),
      template: s.ref(TEMPLATE, 'The pods created when too few exist.', { default: {} }),
    },
    'The desired state of a ReplicaSet.',
    { required: ['selector'] },
  ),
  [`${APPS}ReplicaSetStatus`]: s.obj(
    {
      replicas: { ...s.int32('Pods the set has (not terminating, not finished).'), default: 0 },
      fullyLabeledReplicas: s.int32('Pods whose labels match the template labels.'),
      readyReplicas: s.int32('Pods with a Ready condition.'),
      availableReplicas: s.int32('Pods ready for at least minReadySeconds.'),
      terminatingReplicas: s.int32('Pods being deleted.'),
      observedGeneration: s.int64('The metadata.generation the controller last acted on.'),
      conditions: conditions(`${APPS}ReplicaSetCondition`, 'set'),
    },
    'The observed state of a ReplicaSet.',
    { required: ['replicas'] },
  ),
  [`${APPS}ReplicaSetCondition`]: condition('ReplicaSet'),

  /* ---------- ReplicationController ---------- */
  [`${CORE}ReplicationController`]: kindDefinition(
    { group: '', version: 'v1', kind: 'ReplicationController' },
    'The older form of ReplicaSet: keeps a given number of pods matching an equality selector running.',
    {
      spec: s.ref(`${CORE}ReplicationControllerSpec`, 'The desired state.', { default: {} }),
      status: s.ref(`${CORE}ReplicationControllerStatus`, 'The observed state, written by the controller.', { default: {} }),
    },
  ),
  [`${CORE}ReplicationControllerSpec`]: s.obj(
    {
      replicas: s.int32('Number of pods wanted. Defaults to 1.'),
      minReadySeconds: s.int32('Seconds a new pod must be ready to count as available. Defaults to 0.'),
      selector: { ...s.stringMap('Labels the pods must carry; defaults to the template labels.'), 'x-kubernetes-map-type': 'atomic' },
      template: s.ref(TEMPLATE, 'The pods created when too few exist.'),
    },
    'The desired state of a ReplicationController.',
  ),
  [`${CORE}ReplicationControllerStatus`]: s.obj(
    {
      replicas: { ...s.int32('Pods the controller has.'), default: 0 },
      fullyLabeledReplicas: s.int32('Pods whose labels match the template labels.'),
      readyReplicas: s.int32('Pods with a Ready condition.'),
      availableReplicas: s.int32('Pods ready for at least minReadySeconds.'),
      observedGeneration: s.int64('The metadata.generation the controller last acted on.'),
      conditions: conditions(`${CORE}ReplicationControllerCondition`, 'controller'),
    },
    'The observed state of a ReplicationController.',
    { required: ['replicas'] },
  ),
  [`${CORE}ReplicationControllerCondition`]: condition('ReplicationController'),

  /* ---------- PodTemplate ---------- */
  [`${CORE}PodTemplate`]: kindDefinition(
    { group: '', version: 'v1', kind: 'PodTemplate' },
    'A stored pod template, for other objects to copy.',
    { template: s.ref(TEMPLATE, 'The template.', { default: {} }) },
  ),

  /* ---------- Deployment ---------- */
  [`${APPS}Deployment`]: kindDefinition(
    { group: 'apps', version: 'v1', kind: 'Deployment' },
    'Declarative updates of pods through ReplicaSets: one ReplicaSet per template revision, rolled from one to the next.',
    {
      spec: s.ref(`${APPS}DeploymentSpec`, 'The desired state of the deployment.', { default: {} }),
      status: s.ref(`${APPS}DeploymentStatus`, 'The observed state, written by the controller.', { default: {} }),
    },
  ),
  [`${APPS}DeploymentSpec`]: s.obj(
    {
      replicas: s.int32('Number of pods wanted. Defaults to 1.'),
      selector: s.ref(SELECTOR, 'Which pods belong to the deployment; must match the template labels. Fixed once created.'),
      template: s.ref(TEMPLATE, 'Pod template; restartPolicy must be Always.', { default: {} }),
      strategy: s.ref(`${APPS}DeploymentStrategy`, 'How old pods are replaced by new ones.', {
        default: {},
        'x-kubernetes-patch-strategy': 'retainKeys',
      }),
      minReadySeconds: s.int32('Seconds a new pod must be ready, without crashing, to count as available. Defaults to 0.'),
      revisionHistoryLimit: s.int32('Old ReplicaSets kept for rollback. Defaults to 10.'),
      paused: s.bool('A paused deployment is not rolled out.'),
      progressDeadlineSeconds: s.int32(
        'Seconds a rollout may go without progress before the Progressing condition reports ProgressDeadlineExceeded. Defaults to 600.',
      ),
    },
    'The desired state of a Deployment.',
    { required: ['selector', 'template'] },
  ),
  [`${APPS}DeploymentStrategy`]: s.obj(
    {
      type: s.str('RollingUpdate (default) or Recreate.'),
      rollingUpdate: s.ref(`${APPS}RollingUpdateDeployment`, 'Parameters of RollingUpdate.'),
    },
    'How a Deployment replaces pods.',
  ),
  [`${APPS}RollingUpdateDeployment`]: s.obj(
    {
      maxUnavailable: s.intOrString('Pods that may be unavailable during the update, a number or a percentage (rounded down). Defaults to 25%.'),
      maxSurge: s.intOrString('Pods that may exist above the desired count during the update, a number or a percentage (rounded up). Defaults to 25%.'),
    },
    'Parameters of a rolling update.',
  ),
  [`${APPS}DeploymentStatus`]: s.obj(
    {
      observedGeneration: s.int64('The metadata.generation the controller last acted on.'),
      replicas: s.int32('Pods of all its ReplicaSets (not terminating).'),
      updatedReplicas: s.int32('Pods with the current template.'),
      readyReplicas: s.int32('Pods with a Ready condition.'),
      availableReplicas: s.int32('Pods ready for at least minReadySeconds.'),
      unavailableReplicas: s.int32('Pods still needed for 100% availability.'),
      terminatingReplicas: s.int32('Pods being deleted.'),
      conditions: conditions(`${APPS}DeploymentCondition`, 'deployment'),
      collisionCount: s.int32('Hash collisions met while naming ReplicaSets.'),
    },
    'The observed state of a Deployment.',
  ),
  [`${APPS}DeploymentCondition`]: s.obj(
    {
      type: s.str('Condition type.', { default: '' }),
      status: s.str('True, False or Unknown.', { default: '' }),
      lastUpdateTime: s.time('When the condition was last updated.'),
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The transition in words.'),
    },
    'One observation about a Deployment.',
    { required: ['type', 'status'] },
  ),

  /* ---------- DaemonSet ---------- */
  [`${APPS}DaemonSet`]: kindDefinition(
    { group: 'apps', version: 'v1', kind: 'DaemonSet' },
    'Runs one pod on every eligible node.',
    {
      spec: s.ref(`${APPS}DaemonSetSpec`, 'The desired state.', { default: {} }),
      status: s.ref(`${APPS}DaemonSetStatus`, 'The observed state, written by the controller.', { default: {} }),
    },
  ),
  [`${APPS}DaemonSetSpec`]: s.obj(
    {
      selector: s.ref(SELECTOR, 'Which pods belong to the set; must match the template labels.'),
      template: s.ref(TEMPLATE, 'The pod run on each eligible node.', { default: {} }),
      updateStrategy: s.ref(`${APPS}DaemonSetUpdateStrategy`, 'How pods are replaced after a template change.', { default: {} }),
      minReadySeconds: s.int32('Seconds a new pod must be ready to count as available. Defaults to 0.'),
      revisionHistoryLimit: s.int32('Old ControllerRevisions kept. Defaults to 10.'),
    },
    'The desired state of a DaemonSet.',
    { required: ['selector', 'template'] },
  ),
  [`${APPS}DaemonSetUpdateStrategy`]: s.obj(
    {
      type: s.str('RollingUpdate (default) or OnDelete.'),
      rollingUpdate: s.ref(`${APPS}RollingUpdateDaemonSet`, 'Parameters of RollingUpdate.'),
    },
    'How a DaemonSet replaces pods.',
  ),
  [`${APPS}RollingUpdateDaemonSet`]: s.obj(
    {
      maxUnavailable: s.intOrString('Nodes whose pod may be unavailable during the update. Defaults to 1.'),
      maxSurge: s.intOrString('Nodes that may run an old and a new pod at once during the update. Defaults to 0.'),
    },
    'Parameters of a DaemonSet rolling update.',
  ),
  [`${APPS}DaemonSetStatus`]: s.obj(
    {
      currentNumberScheduled: { ...s.int32('Nodes running a pod of the set that should.'), default: 0 },
      numberMisscheduled: { ...s.int32('Nodes running a pod of the set that should not.'), default: 0 },
      desiredNumberScheduled: { ...s.int32('Nodes that should run a pod of the set.'), default: 0 },
      numberReady: { ...s.int32('Nodes whose pod is ready.'), default: 0 },
      observedGeneration: s.int64('The metadata.generation the controller last acted on.'),
      updatedNumberScheduled: s.int32('Nodes running a pod of the current template.'),
      numberAvailable: s.int32('Nodes whose pod is available.'),
      numberUnavailable: s.int32('Nodes whose pod is missing or unavailable.'),
      collisionCount: s.int32('Hash collisions met while naming ControllerRevisions.'),
      conditions: conditions(`${APPS}DaemonSetCondition`, 'set'),
    },
    'The observed state of a DaemonSet.',
    { required: ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady'] },
  ),
  [`${APPS}DaemonSetCondition`]: condition('DaemonSet'),

  /* ---------- Job ---------- */
  [`${BATCH}Job`]: kindDefinition(
    { group: 'batch', version: 'v1', kind: 'Job' },
    'Runs pods until a number of them succeed.',
    {
      spec: s.ref(`${BATCH}JobSpec`, 'The desired behaviour of the job.', { default: {} }),
      status: s.ref(`${BATCH}JobStatus`, 'The observed state, written by the controller.', { default: {} }),
    },
  ),
  [`${BATCH}JobSpec`]: s.obj(
    {
      parallelism: s.int32('Most pods running at once. Defaults to 1.'),
      completions: s.int32('Successful pods needed; unset means any one success completes the job.'),
      activeDeadlineSeconds: s.int64('Seconds the job may be active before it is failed with DeadlineExceeded.'),
      podFailurePolicy: s.ref(`${BATCH}PodFailurePolicy`, 'How pod failures are counted.'),
      successPolicy: s.ref(`${BATCH}SuccessPolicy`, 'When an Indexed job counts as succeeded early.'),
      backoffLimit: s.int32('Retries before the job is failed with BackoffLimitExceeded. Defaults to 6.'),
      backoffLimitPerIndex: s.int32('Retries of each index of an Indexed job.'),
      maxFailedIndexes: s.int32('Failed indexes tolerated before the job fails (with backoffLimitPerIndex).'),
      selector: s.ref(SELECTOR, 'Which pods belong to the job; generated unless manualSelector.'),
      manualSelector: s.bool('Use the given selector instead of generating one.'),
      template: s.ref(TEMPLATE, 'The pods run; restartPolicy must be Never or OnFailure.', { default: {} }),
      ttlSecondsAfterFinished: s.int32('Seconds after finishing that the job is deleted.'),
      completionMode: s.str('NonIndexed (default) or Indexed.'),
      suspend: s.bool('A suspended job creates no pods and its active pods are deleted.'),
      podReplacementPolicy: s.str('When replacement pods are created: TerminatingOrFailed or Failed.'),
      managedBy: s.str('The controller that reconciles the job; empty for the built-in one.'),
    },
    'The desired behaviour of a Job.',
    { required: ['template'] },
  ),
  [`${BATCH}PodFailurePolicy`]: s.obj(
    { rules: s.list(s.ref(`${BATCH}PodFailurePolicyRule`, undefined, { default: {} }), 'Rules, the first match wins.', { 'x-kubernetes-list-type': 'atomic' }) },
    'How pod failures affect the job.',
    { required: ['rules'] },
  ),
  [`${BATCH}PodFailurePolicyRule`]: s.obj(
    {
      action: s.str('FailJob, FailIndex, Ignore or Count.', { default: '' }),
      onExitCodes: s.ref(`${BATCH}PodFailurePolicyOnExitCodesRequirement`, 'Matches on container exit codes.'),
      onPodConditions: s.list(s.ref(`${BATCH}PodFailurePolicyOnPodConditionsPattern`, undefined, { default: {} }), 'Matches on pod conditions.', {
        'x-kubernetes-list-type': 'atomic',
      }),
    },
    'One pod failure rule.',
    { required: ['action'] },
  ),
  [`${BATCH}PodFailurePolicyOnExitCodesRequirement`]: s.obj(
    {
      containerName: s.str('Only this container; all when unset.'),
      operator: s.str('In or NotIn.', { default: '' }),
      values: s.list({ type: 'integer', format: 'int32', default: 0 }, 'Exit codes.', { 'x-kubernetes-list-type': 'set' }),
    },
    'Exit codes a rule matches.',
    { required: ['operator', 'values'] },
  ),
  [`${BATCH}PodFailurePolicyOnPodConditionsPattern`]: s.obj(
    { type: s.str('Pod condition type.', { default: '' }), status: s.str('Condition status. Defaults to True.') },
    'A pod condition a rule matches.',
    { required: ['type'] },
  ),
  [`${BATCH}SuccessPolicy`]: s.obj(
    { rules: s.list(s.ref(`${BATCH}SuccessPolicyRule`, undefined, { default: {} }), 'Rules; any one met succeeds the job.', { 'x-kubernetes-list-type': 'atomic' }) },
    'When an Indexed job counts as succeeded.',
    { required: ['rules'] },
  ),
  [`${BATCH}SuccessPolicyRule`]: s.obj(
    { succeededIndexes: s.str('Indexes that must succeed, like "0,2-4".'), succeededCount: s.int32('How many of them must succeed.') },
    'One success rule.',
  ),
  [`${BATCH}JobStatus`]: s.obj(
    {
      conditions: s.list(s.ref(`${BATCH}JobCondition`, undefined, { default: {} }), 'Latest observations of the job state.', {
        'x-kubernetes-list-type': 'atomic',
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-patch-merge-key': 'type',
      }),
      startTime: s.time('When the job started being processed.'),
      completionTime: s.time('When the job completed.'),
      active: s.int32('Pods pending or running.'),
      succeeded: s.int32('Pods that succeeded.'),
      failed: s.int32('Pods that failed.'),
      terminating: s.int32('Pods being deleted.'),
      completedIndexes: s.str('Succeeded indexes of an Indexed job, like "1,3-5".'),
      failedIndexes: s.str('Failed indexes, with backoffLimitPerIndex.'),
      uncountedTerminatedPods: s.ref(`${BATCH}UncountedTerminatedPods`, 'Finished pods not yet counted in the status.'),
      ready: s.int32('Active pods with a Ready condition.'),
    },
    'The observed state of a Job.',
  ),
  [`${BATCH}UncountedTerminatedPods`]: s.obj(
    {
      succeeded: s.list({ type: 'string', default: '' }, 'UIDs of succeeded pods.', { 'x-kubernetes-list-type': 'set' }),
      failed: s.list({ type: 'string', default: '' }, 'UIDs of failed pods.', { 'x-kubernetes-list-type': 'set' }),
    },
    'Finished pods the controller has not counted yet.',
  ),
  [`${BATCH}JobCondition`]: s.obj(
    {
      type: s.str('Condition type.', { default: '' }),
      status: s.str('True, False or Unknown.', { default: '' }),
      lastProbeTime: s.time('When the condition was last probed.'),
      lastTransitionTime: s.time('When status last changed.'),
      reason: s.str('A CamelCase word for the last transition.'),
      message: s.str('The transition in words.'),
    },
    'One observation about a Job.',
    { required: ['type', 'status'] },
  ),

  /* ---------- CronJob ---------- */
  [`${BATCH}CronJob`]: kindDefinition(
    { group: 'batch', version: 'v1', kind: 'CronJob' },
    'Creates Jobs on a schedule.',
    {
      spec: s.ref(`${BATCH}CronJobSpec`, 'The schedule and the job template.', { default: {} }),
      status: s.ref(`${BATCH}CronJobStatus`, 'The observed state, written by the controller.', { default: {} }),
    },
  ),
  [`${BATCH}CronJobSpec`]: s.obj(
    {
      schedule: s.str('Cron schedule, like "*/5 * * * *".', { default: '' }),
      timeZone: s.str('IANA time zone of the schedule; the controller\'s local zone when unset.'),
      startingDeadlineSeconds: s.int64('Seconds after a missed start during which it may still run.'),
      concurrencyPolicy: s.str('Allow (default), Forbid or Replace.'),
      suspend: s.bool('A suspended cron job starts no new jobs. Defaults to false.'),
      jobTemplate: s.ref(`${BATCH}JobTemplateSpec`, 'The job created at each start.', { default: {} }),
      successfulJobsHistoryLimit: s.int32('Finished successful jobs kept. Defaults to 3.'),
      failedJobsHistoryLimit: s.int32('Failed jobs kept. Defaults to 1.'),
    },
    'The desired behaviour of a CronJob.',
    { required: ['schedule', 'jobTemplate'] },
  ),
  [`${BATCH}JobTemplateSpec`]: s.obj(
    { metadata: s.meta(), spec: s.ref(`${BATCH}JobSpec`, 'The spec of jobs made from this template.', { default: {} }) },
    'The metadata and spec of jobs a CronJob creates.',
  ),
  [`${BATCH}CronJobStatus`]: s.obj(
    {
      active: s.list(s.ref(`${CORE}ObjectReference`, undefined, { default: {} }), 'Jobs running now.', { 'x-kubernetes-list-type': 'atomic' }),
      lastScheduleTime: s.time('When a job was last scheduled.'),
      lastSuccessfulTime: s.time('When a job last completed successfully.'),
    },
    'The observed state of a CronJob.',
  ),
};
