// `petset up --image-source`: where the process runtime takes a container's image from.
// host runs only the catalog's programs, registry only images pulled from a registry on this
// machine, auto both (a registry name on loopback is pulled, the others are the catalog's);
// what is refused fails as ErrImagePull with a message that says why and what to do.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/object.js';
import { ProcessRuntime, processRuntimeUnavailable, type ImageSource } from '../../../src/agent/runtime/process/runtime.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the image source tests: ${why}`);

describe('process runtime: --image-source', { skip: why }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-image-source-'));
  const made: Array<{ rt: ProcessRuntime; id: string }> = [];
  after(async () => {
    for (const { rt, id } of made) await rt.removeSandbox(id);
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function start(source: ImageSource, image: string, n: number): Promise<string> {
    const rt = new ProcessRuntime({ stateDir: path.join(root, source), hide: [root], imageSource: source });
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${n}`, namespace: 'default', uid: `is-${process.pid}-${n}` }, spec: { containers: [] } } as KubeObject;
    const id = await rt.createSandbox({ pod, ip: `127.64.251.${10 + n}`, hostname: `p${n}`, volumePaths: {} });
    made.push({ rt, id });
    try {
      await rt.startContainer(id, { container: { name: 'c', image, command: ['true'] }, init: false, restartCount: 0 }, () => {});
      return 'started';
    } catch (e) {
      return `${(e as { reason?: string }).reason}: ${(e as Error).message}`;
    }
  }

  it('host: the catalog only; a loopback registry image is refused', async () => {
    assert.equal(await start('host', 'busybox', 1), 'started');
    assert.match(await start('host', 'localhost:5999/app:1', 2), /^ErrImagePull: .*--image-source host.*Fix: start petset up with --image-source auto or registry/);
  });

  it('registry: only registries of this machine; a catalog image is refused', async () => {
    assert.match(await start('registry', 'busybox', 3), /^ErrImagePull: .*--image-source registry.*registry-1\.docker\.io is not.*Fix: push the image to a registry on loopback \(e\.g\. localhost:5000\/busybox\)/);
  });

  it('auto: the catalog for a public name, the registry (failing fast when none answers) for a loopback one', async () => {
    assert.equal(await start('auto', 'busybox:1.36', 4), 'started');
    const t0 = Date.now();
    assert.match(await start('auto', 'localhost:5999/app:1', 5), /^ErrImagePull: Failed to pull image "localhost:5999\/app:1"/);
    assert.ok(Date.now() - t0 < 5000);
  });
});
