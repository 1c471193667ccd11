// A runtime wrapper that makes every sandbox hold the locks of its ReadWriteOnce volume
// directories (volume-locks.ts) for exactly as long as it exists: taken before the sandbox is
// created (a sandbox never starts on a volume another node's live sandbox holds), handed to the
// sandbox's own process when the runtime has one (so the lock outlives the agent with the
// sandbox), and dropped when the sandbox is removed or the node crashes.
import { randomUUID } from 'node:crypto';
import type { ContainerRuntime, SandboxRequest } from './runtime.js';
import { acquireVolumeLocks, pruneStaleVolumeLocks, rebindVolumeLocks, registerFencer, releaseVolumeLocks } from './volume-locks.js';

/** Runtimes whose sandboxes are processes say which one the lock should follow. */
export interface SandboxProcess {
  sandboxPid?(sandboxId: string): number | undefined;
}

/**
 * `onFence` is told first which sandbox petset is about to stop from outside, so whoever runs
 * its pod stops expecting anything of it (a runtime does not report exits of removed sandboxes).
 */
export function withVolumeLocks(
  inner: ContainerRuntime & SandboxProcess,
  nodeName: string,
  exclusiveDirs: (req: SandboxRequest) => string[],
  onFence: (sandboxId: string) => void = () => {},
): ContainerRuntime {
  const held = new Map<string, { lockId: string; dirs: string[] }>();
  // what killed petsets and crashed nodes left behind is cleared once per process
  try {
    pruneStaleVolumeLocks();
  } catch {
    // no lock directory yet: nothing to prune
  }
  // fencing (an out-of-service node's volumes moving away) stops the sandbox holding the lock
  registerFencer(nodeName, async (lockId) => {
    for (const [id, h] of held) {
      if (h.lockId !== lockId) continue;
      onFence(id);
      await overrides.removeSandbox!(id);
    }
  });
  const overrides: Partial<ContainerRuntime> = {
    async createSandbox(req: SandboxRequest): Promise<string> {
      const dirs = exclusiveDirs(req);
      const lockId = `${nodeName}/${req.pod.metadata.uid ?? ''}/${randomUUID()}`;
      const pod = `${req.pod.metadata.namespace ?? 'default'}/${req.pod.metadata.name ?? ''}`;
      if (dirs.length) acquireVolumeLocks(dirs, { node: nodeName, sandboxId: lockId, pod, pid: process.pid });
      let id: string;
      try {
        id = await inner.createSandbox(req);
      } catch (e) {
        releaseVolumeLocks(dirs, lockId);
        throw e;
      }
      held.set(id, { lockId, dirs });
      const pid = inner.sandboxPid?.(id);
      if (dirs.length && pid) rebindVolumeLocks(dirs, lockId, pid);
      return id;
    },
    async removeSandbox(id: string): Promise<void> {
      try {
        await inner.removeSandbox(id);
      } finally {
        const h = held.get(id);
        held.delete(id);
        if (h) releaseVolumeLocks(h.dirs, h.lockId);
      }
    },
    killAll(): void {
      inner.killAll();
      for (const h of held.values()) releaseVolumeLocks(h.dirs, h.lockId);
      held.clear();
    },
    // the agent restarts: the sandboxes keep their locks (held by their own processes) for the next agent
    release(): void {
      // a runtime whose sandboxes cannot outlive the agent (the simulated one) loses them, and their locks
      if (!inner.release) return overrides.killAll!();
      inner.release();
      held.clear();
    },
    // an adopted sandbox holds its locks under a new name too, bound to its process, so that
    // removing it later releases them (the earlier agent's entries die with the same process)
    async adoptSandbox(sandboxId, pod, onExit) {
      if (!inner.adoptSandbox) return undefined;
      const adopted = await inner.adoptSandbox(sandboxId, pod, onExit);
      if (!adopted) return undefined;
      const dirs = exclusiveDirs({ pod, ip: adopted.ip, hostname: '', volumePaths: {} });
      const lockId = `${nodeName}/${pod.metadata.uid ?? ''}/${randomUUID()}`;
      try {
        if (dirs.length) acquireVolumeLocks(dirs, { node: nodeName, sandboxId: lockId, pod: `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`, pid: process.pid });
      } catch (e) {
        await inner.removeSandbox(sandboxId);
        throw e;
      }
      held.set(sandboxId, { lockId, dirs });
      const pid = inner.sandboxPid?.(sandboxId);
      if (dirs.length && pid) rebindVolumeLocks(dirs, lockId, pid);
      return adopted;
    },
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in overrides) return (overrides as any)[prop];
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
