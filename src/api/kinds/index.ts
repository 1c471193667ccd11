// The registry of every kind petset serves. Adding a kind: one file in this folder, one
// line below.
import { Registry, type AnyKindDef } from '../registry.js';
import type { Definitions } from '../schema.js';
import { metaDefinitions } from '../schemas/meta.js';
import { podDefinitions } from '../schemas/core-pod.js';
import { coreDefinitions } from '../schemas/core.js';
import { appsDefinitions } from '../schemas/apps.js';
import { otherDefinitions } from '../schemas/others.js';
import { unservedDefinitions } from '../schemas/unserved.js';
import { workloadDefinitions } from '../schemas/workloads.js';
import { autoscalingDefinitions } from '../schemas/autoscaling.js';
import { quotaDefinitions } from '../schemas/quota.js';
import { namespaceKind } from './namespace.js';
import { podKind } from './pod.js';
import { serviceKind } from './service.js';
import { endpointsKind } from './endpoints.js';
import { configMapKind } from './configmap.js';
import { secretKind } from './secret.js';
import { eventKind } from './event.js';
import { nodeKind } from './node.js';
import { persistentVolumeKind } from './persistentvolume.js';
import { persistentVolumeClaimKind } from './persistentvolumeclaim.js';
import { serviceAccountKind } from './serviceaccount.js';
import { statefulSetKind } from './statefulset.js';
import { controllerRevisionKind } from './controllerrevision.js';
import { storageClassKind } from './storageclass.js';
import { leaseKind } from './lease.js';
import { endpointSliceKind } from './endpointslice.js';
import { podDisruptionBudgetKind } from './poddisruptionbudget.js';
import { volumeAttachmentKind } from './volumeattachment.js';
import { networkPolicyKind } from './networkpolicy.js';
import { ingressKind } from './ingress.js';
import { replicaSetKind } from './replicaset.js';
import { replicationControllerKind } from './replicationcontroller.js';
import { podTemplateKind } from './podtemplate.js';
import { deploymentKind } from './deployment.js';
import { jobKind } from './job.js';
import { cronJobKind } from './cronjob.js';
import { daemonSetKind } from './daemonset.js';
import { customResourceDefinitionKind } from './customresourcedefinition.js';
import { apiextensionsDefinitions } from '../schemas/apiextensions.js';
import { horizontalPodAutoscalerKind } from './horizontalpodautoscaler.js';
import { horizontalPodAutoscalerV1Kind } from './horizontalpodautoscaler-v1.js';
import { nodeMetricsKind, podMetricsKind } from './metrics.js';
import { resourceQuotaKind } from './resourcequota.js';
import { limitRangeKind } from './limitrange.js';
import { priorityClassKind } from './priorityclass.js';
import { roleKind } from './role.js';
import { clusterroleKind } from './clusterrole.js';
import { rolebindingKind } from './rolebinding.js';
import { clusterrolebindingKind } from './clusterrolebinding.js';
import {
  localSubjectAccessReviewKind,
  selfSubjectAccessReviewKind,
  selfSubjectReviewKind,
  selfSubjectRulesReviewKind,
  subjectAccessReviewKind,
  tokenReviewKind,
} from './accessreviews.js';
import { rbacDefinitions } from '../schemas/rbac.js';
import { certificatesDefinitions } from '../schemas/certificates.js';
import { certificateSigningRequestKind } from './certificatesigningrequest.js';
import { ipAddressDefinitions } from '../schemas/ipaddress.js';
import { ipAddressKind } from './ipaddress.js';

export const allKinds: AnyKindDef[] = [
  namespaceKind,
  podKind,
  serviceKind,
  endpointsKind,
  configMapKind,
  secretKind,
  eventKind,
  nodeKind,
  persistentVolumeKind,
  persistentVolumeClaimKind,
  serviceAccountKind,
  statefulSetKind,
  controllerRevisionKind,
  storageClassKind,
  leaseKind,
  endpointSliceKind,
  podDisruptionBudgetKind,
  volumeAttachmentKind,
  networkPolicyKind,
  ingressKind,
  replicaSetKind,
  replicationControllerKind,
  podTemplateKind,
  deploymentKind,
  jobKind,
  cronJobKind,
  daemonSetKind,
  customResourceDefinitionKind,
  horizontalPodAutoscalerKind,
  horizontalPodAutoscalerV1Kind,
  nodeMetricsKind,
  podMetricsKind,
  resourceQuotaKind,
  limitRangeKind,
  priorityClassKind,
  roleKind,
  clusterroleKind,
  rolebindingKind,
  clusterrolebindingKind,
  selfSubjectReviewKind,
  tokenReviewKind,
  subjectAccessReviewKind,
  selfSubjectAccessReviewKind,
  localSubjectAccessReviewKind,
  selfSubjectRulesReviewKind,
  certificateSigningRequestKind,
  ipAddressKind,
];

export const allDefinitions: Definitions = {
  ...metaDefinitions,
  ...podDefinitions,
  ...coreDefinitions,
  ...appsDefinitions,
  ...otherDefinitions,
  ...unservedDefinitions,
  ...workloadDefinitions,
  ...apiextensionsDefinitions,
  ...autoscalingDefinitions,
  ...quotaDefinitions,
  ...rbacDefinitions,
  ...certificatesDefinitions,
  ...ipAddressDefinitions,
};

let shared: Registry | undefined;

/** The registry is immutable, so one instance serves every part of the process. */
export function defaultRegistry(): Registry {
  return (shared ??= new Registry(allKinds, allDefinitions));
}
