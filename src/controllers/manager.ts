// The controller manager: one shared informer factory, every controller started on it,
// all writes through the API client.
import { defaultRegistry } from '../api/kinds/index.js';
import type { Registry } from '../api/registry.js';
import type { Client } from '../client/client.js';
import { SharedInformerFactory } from '../client/informer.js';
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

export interface ControllerContext {
  client: Client;
  informers: SharedInformerFactory;
  registry: Registry;
}

export interface Controller {
  readonly name: string;
  /** registers informers and handlers; workers run until stop() */
  start(ctx: ControllerContext): void;
  stop(): void;
}

export interface RunningControllers {
  controllers: Controller[];
  informers: SharedInformerFactory;
  stop(): Promise<void>;
}

/** Timings and limits of the controllers that have any; upstream's defaults otherwise. */
export interface ControllerOptions {
  nodeLifecycle?: NodeLifecycleOptions;
  scheduler?: SchedulerOptions;
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
    new NodeLifecycleController(options.nodeLifecycle),
    new DisruptionController(),
    new Scheduler(options.scheduler),
  ];
}

export async function startControllers(client: Client, controllers: Controller[] = defaultControllers()): Promise<RunningControllers> {
  const informers = new SharedInformerFactory(client);
  const ctx: ControllerContext = { client, informers, registry: defaultRegistry() };
  for (const c of controllers) c.start(ctx);
  informers.start();
  await informers.waitForSync();
  return {
    controllers,
    informers,
    async stop() {
      for (const c of controllers) c.stop();
      informers.stop();
    },
  };
}
