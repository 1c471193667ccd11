// The writes the workload controllers (ReplicaSet/ReplicationController, Job, DaemonSet) make
// to pods, as upstream's RealPodControl does them: creations in slow-start batches and
// deletions, each counted in the owner's expectations before it is sent and let go when it
// fails, with the SuccessfulCreate/FailedCreate and SuccessfulDelete/FailedDelete events.
import { isApiError } from '../api/errors.js';
import type { KubeObject } from '../api/object.js';
import type { Expectations } from '../api/podcontrol/expectations.js';
import { slowStartBatches } from '../api/podcontrol/pods.js';
import type { ResourceClient } from './client.js';
import type { EventRecorder } from './events.js';
import { keyOf } from './informer.js';

export interface PodWriter {
  owner: KubeObject;
  /** the owner's key in the expectations */
  key: string;
  expectations: Expectations;
  pods: ResourceClient;
  recorder: EventRecorder;
  /** no FailedCreate event when the namespace is being deleted (it refuses new pods) */
  quietWhenNamespaceTerminating?: boolean;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Creates `count` pods built by `build(i)`, in batches of 1, 2, 4 … so that a failing
 * template costs one request, not hundreds; stops at the first batch with a failure (the
 * pods not attempted are let go from the expectations). Answers the failure, if any.
 */
export async function createPods(w: PodWriter, count: number, build: (i: number) => KubeObject): Promise<string | undefined> {
  if (count <= 0) return undefined;
  w.expectations.expectCreations(w.key, count);
  let next = 0;
  for (const size of slowStartBatches(count)) {
    const first = next;
    next += size;
    const results = await Promise.all(
      Array.from({ length: size }, async (_, j) => {
        try {
          const pod = await w.pods.create(build(first + j));
          w.recorder.event(w.owner, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
          return undefined;
        } catch (e) {
          w.expectations.creationObserved(w.key);
          const text = message(e);
          if (!w.quietWhenNamespaceTerminating || !isApiError(e, 'Forbidden') || !/being terminated/.test(text)) {
            w.recorder.event(w.owner, 'Warning', 'FailedCreate', `Error creating: ${text}`);
          }
          return text;
        }
      }),
    );
    const failed = results.find((r) => r !== undefined);
    if (failed !== undefined) {
      for (let i = next; i < count; i++) w.expectations.creationObserved(w.key);
      return failed;
    }
  }
  return undefined;
}

/** Deletes the pods (all at once); a pod already gone is no failure. Answers the last failure, if any. */
export async function deletePods(w: PodWriter, pods: KubeObject[]): Promise<string | undefined> {
  if (!pods.length) return undefined;
  w.expectations.expectDeletions(w.key, pods.map(keyOf));
  let failure: string | undefined;
  await Promise.all(
    pods.map(async (pod) => {
      try {
        await w.pods.delete(pod.metadata.name ?? '');
        w.recorder.event(w.owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (e) {
        w.expectations.deletionObserved(w.key, keyOf(pod));
        if (isApiError(e, 'NotFound')) return;
        failure = message(e);
        w.recorder.event(w.owner, 'Warning', 'FailedDelete', `Error deleting: ${failure}`);
      }
    }),
  );
  return failure;
}
