// Dropping one finalizer from an object, retrying on a conflict with a fresh copy.
import { isApiError } from '../../api/errors.js';
import { clone, type KubeObject } from '../../api/object.js';
import type { ResourceClient } from '../../client/client.js';

const ATTEMPTS = 3;

export async function removeFinalizer(rc: ResourceClient, obj: KubeObject, finalizer: string): Promise<void> {
  let current: KubeObject | undefined = obj;
  for (let attempt = 1; current; attempt++) {
    if (!(current.metadata.finalizers ?? []).includes(finalizer)) return;
    const next = clone(current);
    next.metadata.finalizers = next.metadata.finalizers!.filter((f) => f !== finalizer);
    try {
      await rc.update(next);
      return;
    } catch (e) {
      if (isApiError(e, 'NotFound')) return;
      if (!isApiError(e, 'Conflict') || attempt >= ATTEMPTS) throw e;
    }
    current = await rc.get(obj.metadata.name!).catch((e: unknown) => {
      if (isApiError(e, 'NotFound')) return undefined;
      throw e;
    });
  }
}
