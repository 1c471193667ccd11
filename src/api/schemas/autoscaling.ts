// autoscaling/v2 HorizontalPodAutoscaler and metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics.
// Field names, formats, required lists and patch metadata follow upstream's published OpenAPI
// (k8s.io/api/autoscaling/v2, k8s.io/metrics/pkg/apis/metrics/v1beta1); descriptions are our own.
import { kindDefinition, s, type Definitions, type Schema } from '../schema.js';

const AS = 'io.k8s.api.autoscaling.v2.';
const AS1 = 'io.k8s.api.autoscaling.v1.';
const METRICS = 'io.k8s.metrics.pkg.apis.metrics.v1beta1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

const atomic = (items: Schema, description: string): Schema => s.list(items, description, { 'x-kubernetes-list-type': 'atomic' });
const usage = (description: string): Schema => s.map({ $ref: 'io.k8s.apimachinery.pkg.api.resource.Quantity' }, description);

export const autoscalingDefinitions: Definitions = {
  /* ---------- autoscaling/v2 ---------- */

  [`${AS}HorizontalPodAutoscaler`]: kindDefinition(
    { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler' },
    'Scales a workload (through its scale subresource) to keep the metrics it names near their targets.',
    {
      spec: s.ref(`${AS}HorizontalPodAutoscalerSpec`, 'What to scale, between which bounds, on which metrics.', { default: {} }),
      status: s.ref(`${AS}HorizontalPodAutoscalerStatus`, 'What the autoscaler last observed and decided.', { default: {} }),
    },
  ),

  [`${AS}HorizontalPodAutoscalerSpec`]: s.obj(
    {
      scaleTargetRef: s.ref(`${AS}CrossVersionObjectReference`, 'The workload scaled; it must have a scale subresource.', { default: {} }),
      minReplicas: s.int32('The fewest replicas the autoscaler scales down to. Default 1.'),
      maxReplicas: s.int32('The most replicas the autoscaler scales up to; not below minReplicas.', { default: 0 }),
      metrics: atomic(s.ref(`${AS}MetricSpec`, '', { default: {} }), 'The metrics whose targets decide the replica count; the largest proposal wins. Default: 80% average CPU utilization.'),
      behavior: s.ref(`${AS}HorizontalPodAutoscalerBehavior`, 'How fast to scale up and down (stabilization windows and rate policies).'),
    },
    'The desired behaviour of a HorizontalPodAutoscaler.',
    { required: ['scaleTargetRef', 'maxReplicas'] },
  ),

  [`${AS}CrossVersionObjectReference`]: s.obj(
    {
      kind: s.str('Kind of the referent, e.g. Deployment.', { default: '' }),
      name: s.str('Name of the referent.', { default: '' }),
      apiVersion: s.str('API version of the referent, e.g. apps/v1.'),
    },
    'A reference to an object in the same namespace, by kind and name.',
    { required: ['kind', 'name'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${AS}MetricSpec`]: s.obj(
    {
      type: s.str('Resource, ContainerResource, Pods, Object or External: which source below is set.', { default: '' }),
      object: s.ref(`${AS}ObjectMetricSource`, 'A metric describing one object.'),
      pods: s.ref(`${AS}PodsMetricSource`, 'A metric of each pod, averaged.'),
      resource: s.ref(`${AS}ResourceMetricSource`, 'A resource (cpu, memory) of the pods, from their requests and usage.'),
      containerResource: s.ref(`${AS}ContainerResourceMetricSource`, 'A resource of one container of each pod.'),
      external: s.ref(`${AS}ExternalMetricSource`, 'A metric from outside the cluster.'),
    },
    'One metric the autoscaler follows.',
    { required: ['type'] },
  ),

  [`${AS}ObjectMetricSource`]: s.obj(
    {
      describedObject: s.ref(`${AS}CrossVersionObjectReference`, 'The object the metric describes.', { default: {} }),
      target: s.ref(`${AS}MetricTarget`, 'The target value.', { default: {} }),
      metric: s.ref(`${AS}MetricIdentifier`, 'The metric.', { default: {} }),
    },
    'A metric of one object.',
    { required: ['describedObject', 'target', 'metric'] },
  ),

  [`${AS}PodsMetricSource`]: s.obj(
    {
      metric: s.ref(`${AS}MetricIdentifier`, 'The metric.', { default: {} }),
      target: s.ref(`${AS}MetricTarget`, 'The target (an average value).', { default: {} }),
    },
    'A metric of each pod of the target, averaged.',
    { required: ['metric', 'target'] },
  ),

  [`${AS}ResourceMetricSource`]: s.obj(
    {
      name: s.str('The resource: cpu or memory.', { default: '' }),
      target: s.ref(`${AS}MetricTarget`, 'The target (utilization of the requests, or an average value).', { default: {} }),
    },
    "A resource of the target's pods, as metrics.k8s.io reports it.",
    { required: ['name', 'target'] },
  ),

  [`${AS}ContainerResourceMetricSource`]: s.obj(
    {
      name: s.str('The resource: cpu or memory.', { default: '' }),
      target: s.ref(`${AS}MetricTarget`, 'The target.', { default: {} }),
      container: s.str('The container whose usage counts.', { default: '' }),
    },
    "A resource of one container of the target's pods.",
    { required: ['name', 'target', 'container'] },
  ),

  [`${AS}ExternalMetricSource`]: s.obj(
    {
      metric: s.ref(`${AS}MetricIdentifier`, 'The metric.', { default: {} }),
      target: s.ref(`${AS}MetricTarget`, 'The target.', { default: {} }),
    },
    'A metric not tied to an object of the cluster.',
    { required: ['metric', 'target'] },
  ),

  [`${AS}MetricIdentifier`]: s.obj(
    {
      name: s.str('Name of the metric.', { default: '' }),
      selector: s.ref(`${META}LabelSelector`, 'Narrows the metric by its labels.'),
    },
    'Names a metric.',
    { required: ['name'] },
  ),

  [`${AS}MetricTarget`]: s.obj(
    {
      type: s.str('Utilization, Value or AverageValue.', { default: '' }),
      value: s.quantity('The target value of the metric.'),
      averageValue: s.quantity('The target value of the metric averaged over the pods.'),
      averageUtilization: s.int32('The target average of usage as a percentage of the pods\' requests (Resource metrics only).'),
    },
    'The value a metric should have.',
    { required: ['type'] },
  ),

  [`${AS}HorizontalPodAutoscalerBehavior`]: s.obj(
    {
      scaleUp: s.ref(`${AS}HPAScalingRules`, 'Rules for scaling up. Default: no stabilization; at most double or add 4 pods per 15 s, whichever is more.'),
      scaleDown: s.ref(`${AS}HPAScalingRules`, 'Rules for scaling down. Default: a 300 s stabilization window; any amount per 15 s.'),
    },
    'How fast the autoscaler may change the replica count, each way.',
  ),

  [`${AS}HPAScalingRules`]: s.obj(
    {
      stabilizationWindowSeconds: s.int32('Recommendations of this long ago still count: scaling goes to the most conservative of them (0-3600).'),
      selectPolicy: s.str('Max (default), Min or Disabled: which policy limits the change, or none at all.'),
      policies: atomic(s.ref(`${AS}HPAScalingPolicy`, '', { default: {} }), 'How much change is allowed per period.'),
      tolerance: s.quantity('How far from the target the ratio may be before scaling (default 0.1, the controller\'s).'),
    },
    'Rules for one direction of scaling.',
  ),

  [`${AS}HPAScalingPolicy`]: s.obj(
    {
      type: s.str('Pods or Percent.', { default: '' }),
      value: s.int32('How many pods, or which percentage of the current replicas; above 0.', { default: 0 }),
      periodSeconds: s.int32('The period the change is counted over, 1 to 1800 seconds.', { default: 0 }),
    },
    'A limit on change per period.',
    { required: ['type', 'value', 'periodSeconds'] },
  ),

  [`${AS}HorizontalPodAutoscalerStatus`]: s.obj(
    {
      observedGeneration: s.int64('The generation the autoscaler last acted on.'),
      lastScaleTime: s.time('When the autoscaler last changed the replica count.'),
      currentReplicas: s.int32('Replicas the target had when last seen.'),
      desiredReplicas: s.int32('Replicas the autoscaler last wanted.', { default: 0 }),
      currentMetrics: atomic(s.ref(`${AS}MetricStatus`, '', { default: {} }), 'The metrics as last read.'),
      conditions: s.mergeList(s.ref(`${AS}HorizontalPodAutoscalerCondition`, '', { default: {} }), 'type', 'AbleToScale, ScalingActive and ScalingLimited.'),
    },
    'The observed state of a HorizontalPodAutoscaler.',
    { required: ['desiredReplicas'] },
  ),

  [`${AS}MetricStatus`]: s.obj(
    {
      type: s.str('Which source below is set.', { default: '' }),
      object: s.ref(`${AS}ObjectMetricStatus`, 'An object metric.'),
      pods: s.ref(`${AS}PodsMetricStatus`, 'A pods metric.'),
      resource: s.ref(`${AS}ResourceMetricStatus`, 'A resource metric.'),
      containerResource: s.ref(`${AS}ContainerResourceMetricStatus`, 'A container resource metric.'),
      external: s.ref(`${AS}ExternalMetricStatus`, 'An external metric.'),
    },
    'The last reading of one metric.',
    { required: ['type'] },
  ),

  [`${AS}ObjectMetricStatus`]: s.obj(
    {
      metric: s.ref(`${AS}MetricIdentifier`, 'The metric.', { default: {} }),
      current: s.ref(`${AS}MetricValueStatus`, 'The value read.', { default: {} }),
      describedObject: s.ref(`${AS}CrossVersionObjectReference`, 'The object.', { default: {} }),
    },
    'The last reading of an object metric.',
    { required: ['metric', 'current', 'describedObject'] },
  ),

  [`${AS}PodsMetricStatus`]: s.obj(
    {
      metric: s.ref(`${AS}MetricIdentifier`, 'The metric.', { default: {} }),
      current: s.ref(`${AS}MetricValueStatus`, 'The value read.', { default: {} }),
    },
    'The last reading of a pods metric.',
    { required: ['metric', 'current'] },
  ),

  [`${AS}ResourceMetricStatus`]: s.obj(
    {
      name: s.str('The resource.', { default: '' }),
      current: s.ref(`${AS}MetricValueStatus`, 'The value read.', { default: {} }),
    },
    'The last reading of a resource metric.',
    { required: ['name', 'current'] },
  ),

  [`${AS}ContainerResourceMetricStatus`]: s.obj(
    {
      name: s.str('The resource.', { default: '' }),
      current: s.ref(`${AS}MetricValueStatus`, 'The value read.', { default: {} }),
      container: s.str('The container.', { default: '' }),
    },
    'The last reading of a container resource metric.',
    { required: ['name', 'current', 'container'] },
  ),

  [`${AS}ExternalMetricStatus`]: s.obj(
    {
      metric: s.ref(`${AS}MetricIdentifier`, 'The metric.', { default: {} }),
      current: s.ref(`${AS}MetricValueStatus`, 'The value read.', { default: {} }),
    },
    'The last reading of an external metric.',
    { required: ['metric', 'current'] },
  ),

  [`${AS}MetricValueStatus`]: s.obj(
    {
      value: s.quantity('The value.'),
      averageValue: s.quantity('The value averaged over the pods.'),
      averageUtilization: s.int32('The average usage as a percentage of the pods\' requests.'),
    },
    'A metric value as read.',
  ),

  [`${AS}HorizontalPodAutoscalerCondition`]: s.obj(
    {
      type: s.str('AbleToScale, ScalingActive or ScalingLimited.', { default: '' }),
      status: s.str('True, False or Unknown.', { default: '' }),
      lastTransitionTime: s.time('When the status last changed.'),
      reason: s.str('Why, in one CamelCase word.'),
      message: s.str('Why, in words.'),
      observedGeneration: s.int64('The generation the condition was set for.'),
    },
    'One aspect of the autoscaler\'s state.',
    { required: ['type', 'status'] },
  ),

  [`${META}Duration`]: { type: 'string', description: 'A span of time, written as Go writes durations (e.g. "10s", "1m30s").' },

  /* ---------- autoscaling/v1 (the same objects, CPU only; other fields ride in annotations) ---------- */

  [`${AS1}HorizontalPodAutoscaler`]: kindDefinition(
    { group: 'autoscaling', version: 'v1', kind: 'HorizontalPodAutoscaler' },
    'Scales a workload on its pods\' average CPU utilization (autoscaling/v2 shows every metric).',
    {
      spec: s.ref(`${AS1}HorizontalPodAutoscalerSpec`, 'What to scale, between which bounds, at which CPU utilization.', { default: {} }),
      status: s.ref(`${AS1}HorizontalPodAutoscalerStatus`, 'What the autoscaler last observed and decided.', { default: {} }),
    },
  ),

  [`${AS1}HorizontalPodAutoscalerSpec`]: s.obj(
    {
      scaleTargetRef: s.ref(`${AS1}CrossVersionObjectReference`, 'The workload scaled; it must have a scale subresource.', { default: {} }),
      minReplicas: s.int32('The fewest replicas the autoscaler scales down to. Default 1.'),
      maxReplicas: s.int32('The most replicas the autoscaler scales up to.', { default: 0 }),
      targetCPUUtilizationPercentage: s.int32("The target average CPU use, as a percentage of the pods' requests. Default 80."),
    },
    'The desired behaviour of an autoscaling/v1 HorizontalPodAutoscaler.',
    { required: ['scaleTargetRef', 'maxReplicas'] },
  ),

  [`${AS1}CrossVersionObjectReference`]: s.obj(
    {
      kind: s.str('Kind of the referent, e.g. Deployment.', { default: '' }),
      name: s.str('Name of the referent.', { default: '' }),
      apiVersion: s.str('API version of the referent, e.g. apps/v1.'),
    },
    'A reference to an object in the same namespace, by kind and name.',
    { required: ['kind', 'name'], 'x-kubernetes-map-type': 'atomic' },
  ),

  [`${AS1}HorizontalPodAutoscalerStatus`]: s.obj(
    {
      observedGeneration: s.int64('The generation the autoscaler last acted on.'),
      lastScaleTime: s.time('When the autoscaler last changed the replica count.'),
      currentReplicas: s.int32('Replicas the target had when last seen.', { default: 0 }),
      desiredReplicas: s.int32('Replicas the autoscaler last wanted.', { default: 0 }),
      currentCPUUtilizationPercentage: s.int32("The pods' average CPU use as a percentage of their requests, as last read."),
    },
    'The observed state of an autoscaling/v1 HorizontalPodAutoscaler.',
    { required: ['currentReplicas', 'desiredReplicas'] },
  ),

  /* ---------- metrics.k8s.io/v1beta1 (served from the node agents' usage summaries, not stored) ---------- */

  [`${METRICS}NodeMetrics`]: kindDefinition(
    { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'NodeMetrics' },
    "A node's resource usage: the sum of its pods', as its agent measures it.",
    {
      timestamp: s.time('When the usage was measured (the end of the window).'),
      window: s.ref(`${META}Duration`, 'The span the CPU rate was measured over.'),
      usage: usage('Usage per resource: cpu (cores) and memory (working set bytes).'),
    },
    { required: ['timestamp', 'window', 'usage'] },
  ),

  [`${METRICS}PodMetrics`]: kindDefinition(
    { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'PodMetrics' },
    "A pod's resource usage, per container.",
    {
      timestamp: s.time('When the usage was measured (the end of the window).'),
      window: s.ref(`${META}Duration`, 'The span the CPU rate was measured over.'),
      containers: atomic(s.ref(`${METRICS}ContainerMetrics`, '', { default: {} }), 'Usage of each running container.'),
    },
    { required: ['timestamp', 'window', 'containers'] },
  ),

  [`${METRICS}ContainerMetrics`]: s.obj(
    {
      name: s.str('The container.', { default: '' }),
      usage: usage('Usage per resource: cpu (cores) and memory (working set bytes).'),
    },
    "One container's usage.",
    { required: ['name', 'usage'] },
  ),
};
