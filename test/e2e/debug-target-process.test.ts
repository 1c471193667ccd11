// PID namespaces with real processes and the real kubectl: `kubectl debug --target=<container>`
// puts the debug container in the target's PID namespace (upstream targetContainerName), so
// `ps` there sees the target's processes and no other container's; `shareProcessNamespace: true`
// gives the pod one PID namespace whose PID 1 reaps orphans, and deletion still stops it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, type Cluster } from './harness.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/bin/busybox') || fs.existsSync('/usr/bin/busybox') ? undefined : 'busybox is not installed');
if (why) console.log(`# skipping the PID namespace tests against real pods: ${why}`);

const VERSIONS = ['1.27', '1.33'].map((v) => ({ v, bin: `/usr/lib/google-cloud-sdk/bin/kubectl.${v}` })).filter((x) => fs.existsSync(x.bin));

function run(bin: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end(input ?? '');
  });
}

describe('PID namespaces of real pods', { skip: why }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process'] });
    const pods = [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'two' },
        spec: {
          terminationGracePeriodSeconds: 3,
          containers: [
            { name: 'main', image: 'busybox', command: ['sleep', '3117'] },
            { name: 'side', image: 'busybox', command: ['sleep', '4242'] },
          ],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'shared' },
        spec: {
          shareProcessNamespace: true,
          terminationGracePeriodSeconds: 3,
          containers: [
            { name: 'a', image: 'busybox', command: ['sleep', '5151'] },
            { name: 'b', image: 'busybox', command: ['sleep', '6161'] },
          ],
        },
      },
    ];
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }) });
    await c.kubectl(['wait', '--for=condition=Ready', 'pod/two', 'pod/shared', '--timeout=90s'], { timeoutMs: 100_000 });
  });
  after(async () => {
    await c?.stop();
  });

  it('a container has a PID namespace of its own by default', async () => {
    const ps = await c.kubectl(['exec', 'two', '-c', 'main', '--', 'ps', '-o', 'pid,args']);
    assert.match(ps.stdout, /sleep 3117/);
    assert.doesNotMatch(ps.stdout, /sleep 4242/);
  });

  for (const { v, bin } of VERSIONS) {
    it(`kubectl ${v} debug --target: the debug container sees and signals the target's processes, not the other container's`, async () => {
      const name = `dbg${v.replace('.', '')}`;
      const r = await run(bin, ['--kubeconfig', c.kubeconfig, 'debug', '-i', 'two', '--image=busybox', `--target=main`, `--container=${name}`, '--', 'sh'], 'ps -o pid,args; kill -0 $(pgrep -f "sleep 3117") && echo can-signal; exit 0\n');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /sleep 3117/);
      assert.doesNotMatch(r.stdout, /sleep 4242/);
      assert.match(r.stdout, /can-signal/);
      const pod = JSON.parse((await c.kubectl(['get', 'pod', 'two', '-o', 'json'])).stdout);
      assert.equal(pod.spec.ephemeralContainers.find((e: any) => e.name === name).targetContainerName, 'main');
      // the target runs on
      assert.equal(pod.status.containerStatuses.find((s: any) => s.name === 'main').restartCount, 0);
    });
  }

  it('shareProcessNamespace: one PID namespace for the pod, whose PID 1 reaps orphans', async () => {
    const ps = (await c.kubectl(['exec', 'shared', '-c', 'a', '--', 'ps', '-o', 'pid,args'])).stdout;
    assert.match(ps, /sleep 5151/);
    assert.match(ps, /sleep 6161/);
    assert.match(ps, /^\s*1 /m);
    // an orphan (its parent exits at once) is reparented to the pod's PID 1, which reaps it
    await c.kubectl(['exec', 'shared', '-c', 'b', '--', 'sh', '-c', '(sleep 0.3 &); exit 0']);
    await eventually(async () => {
      const out = (await c.kubectl(['exec', 'shared', '-c', 'a', '--', 'ps', '-o', 'stat,args'])).stdout;
      return !/sleep 0\.3/.test(out) && !/^\s*Z/m.test(out);
    }, 20_000, 'the orphan gone, not a zombie');
    await c.kubectl(['delete', 'pod', 'shared', '--wait=true', '--timeout=60s']);
  });
});
