// The controller manager: every controller on one shared runner (informers, queues,
// workers started only once the caches each controller reads have synced), all writes
// through the API client.
import { NodeIpamController } from './nodeipam/controller.js';
import { defaultRegistry } from '../api/kinds/index.js';
import type { Registry } from '../api/registry.js';
import type { Client } from '../client/client.js';
import { ControllerRunner, type Controller } from '../client/controller-runner.js';
import type { SharedInformerFactory } from '../client/informer.js';
import { NamespaceController } from './namespace/controller.js';
import { StatefulSetController } from './statefulset/controller.js';
import { GarbageCollector } from './garbagecollector/controller.js';
import { NodeLifecycleController, type NodeLifecycleOptions } from './nodelifecycle/controller.js';
import { DisruptionController } from './disruption/controller.js';
import { Scheduler, type SchedulerOptions } from '../scheduler/scheduler.js';
import { EndpointsController } from './endpoints/endpoints.js';
import { EndpointSliceController } from './endpoints/endpointslice.js';
import { REPLICATION_CONTROLLER, ReplicaSetController } from './replicaset/controller.js';
import { DeploymentController } from './deployment/controller.js';
import { JobController } from './job/controller.js';
import { CronJobController } from './cronjob/controller.js';
import { DaemonSetController } from './daemon/controller.js';
import { ResourceQuotaController } from './resourcequota/controller.js';
import { HorizontalPodAutoscalerController, type HorizontalPodAutoscalerOptions } from './horizontalpodautoscaler/controller.js';
import { ClusterRoleAggregationController } from './clusterroleaggregation/controller.js';
import { ServiceAccountsController } from './serviceaccount/controller.js';
import { CSRApprovingController } from './certificates/approver.js';
import { CSRSigningController } from './certificates/signer.js';
import { CSRCleanerController } from './certificates/cleaner.js';
import type { CertKeyPair } from '../cli/pki.js';
import { RootCACertPublisher } from './serviceaccount/root-ca-publisher.js';

export type { Controller, ControllerContext } from '../client/controller-runner.js';

export interface RunningControllers {
  controllers: Controller[];
  informers: SharedInformerFactory;
  runner: ControllerRunner;
  stop(): Promise<void>;
}

/** Timings and limits of the controllers that have any; upstream's defaults otherwise. */
export interface ControllerOptions {
  nodeLifecycle?: NodeLifecycleOptions;
  scheduler?: SchedulerOptions;
  horizontalPodAutoscaler?: HorizontalPodAutoscalerOptions;
  /** the cluster CA, published to every namespace as kube-root-ca.crt (off when absent) */
  rootCA?: string;
  /** the CA that signs approved client CSRs (kube-controller-manager's --cluster-signing-cert-file/--cluster-signing-key-file); no signer without it */
  clusterSigning?: CertKeyPair;
  /** kube-controller-manager's --cluster-signing-duration: the longest certificate the signer issues (default 1 year) */
  clusterSigningDurationSeconds?: number;
  /** give Nodes without spec.podCIDR a /24 of this range (kube-controller-manager's --allocate-node-cidrs --cluster-cidr) */
  allocateNodeCIDRs?: string;
}

export function defaultControllers(options: ControllerOptions = {}): Controller[] {
  return [
    new NamespaceController(),
    new GarbageCollector(),
    new EndpointsController(),
    new EndpointSliceController(),
    new StatefulSetController(),
    new ReplicaSetController(),
    new ReplicaSetController(REPLICATION_CONTROLLER),
    new DeploymentController(),
    new JobController(),
    new CronJobController(),
    new DaemonSetController(),
    new HorizontalPodAutoscalerController(options.horizontalPodAutoscaler),
    new ResourceQuotaController(),
    new NodeLifecycleController(options.nodeLifecycle),
    ...(options.allocateNodeCIDRs ? [new NodeIpamController(options.allocateNodeCIDRs)] : []),
    new DisruptionController(),
    new ClusterRoleAggregationController(),
    new ServiceAccountsController(),
    ...(options.rootCA ? [new RootCACertPublisher(options.rootCA)] : []),
    new CSRApprovingController(),
    new CSRCleanerController(),
    ...(options.clusterSigning ? [new CSRSigningController(options.clusterSigning, options.clusterSigningDurationSeconds)] : []),
    new Scheduler(options.scheduler),
  ];
}

/**
 * The kube-system ServiceAccount each controller writes as (upstream's names, bound to
 * system:controller:<name> by the bootstrap policy); undefined for one without its own.
 */
export function controllerServiceAccount(controller: Controller): string | undefined {
  const name = controller.name.split('/')[0];
  return CONTROLLER_SERVICE_ACCOUNTS[name];
}

const CONTROLLER_SERVICE_ACCOUNTS: Record<string, string> = {
  namespace: 'namespace-controller',
  garbagecollector: 'generic-garbage-collector',
  endpoint: 'endpoint-controller',
  endpointslice: 'endpointslice-controller',
  statefulset: 'statefulset-controller',
  replicaset: 'replicaset-controller',
  replicationcontroller: 'replication-controller',
  deployment: 'deployment-controller',
  job: 'job-controller',
  cronjob: 'cronjob-controller',
  daemonset: 'daemon-set-controller',
  horizontalpodautoscaler: 'horizontal-pod-autoscaler',
  resourcequota: 'resourcequota-controller',
  nodelifecycle: 'node-controller',
  // upstream's nodeipam controller calls as the node controller's account too
  nodeipam: 'node-controller',
  disruption: 'disruption-controller',
  'clusterrole-aggregation': 'clusterrole-aggregation-controller',
  serviceaccount: 'service-account-controller',
  'root-ca-cert-publisher': 'root-ca-cert-publisher',
  csrapproving: 'certificate-controller',
  csrsigning: 'certificate-controller',
  csrcleaner: 'certificate-controller',
  'persistentvolume-binder': 'persistent-volume-binder',
  // one controller here does both of upstream's protections; its account is bound to both roles
  'volume-protection': 'pvc-protection-controller',
  'volume-expand': 'expand-controller',
  attachdetach: 'attachdetach-controller',
  'local-path-provisioner': 'local-path-provisioner-service-account',
};

/** Starts the controllers on one runner; resolves once every cache they read has synced. */
export async function startControllers(client: Client, controllers: Controller[] = defaultControllers(), clientFor?: (controller: Controller) => Client): Promise<RunningControllers> {
  const runner = new ControllerRunner(client, defaultRegistry(), undefined, clientFor);
  await runner.start(controllers);
  return {
    controllers,
    informers: runner.informers,
    runner,
    stop: () => runner.stop(),
  };
}
