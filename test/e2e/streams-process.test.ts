// The streaming verbs against real pods: `petset up --runtime process` (skipped with the
// reason where the process runtime cannot run) with kubectl 1.27 (SPDY) and 1.33
// (WebSocket): exec with exit codes and stdin, port-forward to a server in the pod, and
// `kubectl run -it --rm --restart=Never` through a terminal.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, type Cluster } from './harness.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/bin/busybox') || fs.existsSync('/usr/bin/busybox') ? undefined : 'busybox is not installed');
if (why) console.log(`# skipping the streaming verbs against real pods: ${why}`);

const VERSIONS = ['1.27', '1.33'].map((v) => ({ v, bin: `/usr/lib/google-cloud-sdk/bin/kubectl.${v}` })).filter((x) => fs.existsSync(x.bin));

function run(bin: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin!.end(input ?? '');
  });
}

describe('kubectl streaming verbs against real pods', { skip: why }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process'] });
    await c.kubectl(['run', 'web', '--image=busybox', '--', 'sh', '-c', 'echo hello-from-pod > /tmp/i; echo started; exec httpd -f -p 8080 -h /tmp']);
    await c.kubectl(['wait', '--for=condition=Ready', 'pod/web', '--timeout=90s'], { timeoutMs: 100_000 });
  });
  after(async () => {
    await c?.stop();
  });

  for (const { v, bin } of VERSIONS) {
    const k = (args: string[], input?: string) => run(bin, ['--kubeconfig', c.kubeconfig, ...args], input);

    it(`kubectl ${v} exec: the pod's hostname, stderr, exit code and stdin`, async () => {
      // -c: once a debug container was added, kubectl says which container it defaulted to
      const r = await k(['exec', 'web', '-c', 'web', '--', 'sh', '-c', 'hostname; echo err >&2; exit 4']);
      assert.equal(r.code, 4);
      assert.equal(r.stdout, 'web\n');
      assert.match(r.stderr, /^err\n/);
      assert.match(r.stderr, /command terminated with exit code 4/);
      const cat = await k(['exec', '-i', 'web', '-c', 'web', '--', 'cat'], 'through stdin\n');
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, 'through stdin\n');
      const logs = await k(['logs', 'web', '-c', 'web']);
      assert.equal(logs.stdout, 'started\n');
    });

    it(`kubectl ${v} port-forward reaches the pod's server`, async () => {
      const child = spawn(bin, ['--kubeconfig', c.kubeconfig, 'port-forward', 'pod/web', ':8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        const local = Number((await eventually(() => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out) ?? undefined, 20_000, `port-forward: ${out}`))[1]);
        const body = await new Promise<string>((resolve, reject) => {
          const s = net.connect(local, '127.0.0.1', () => s.write('GET /i HTTP/1.0\r\n\r\n'));
          let a = '';
          s.on('data', (d) => (a += d));
          s.on('end', () => resolve(a));
          s.on('error', reject);
        });
        assert.match(body, /^HTTP\/1\.[01] 200/);
        assert.match(body, /hello-from-pod\n$/);
      } finally {
        child.kill('SIGTERM');
      }
    });

    it(`kubectl ${v} run -it --rm --restart=Never: a shell in a terminal, its exit code, the pod gone`, async () => {
      const name = `rr${v.replace('.', '')}`;
      const cmd = `stty rows 25 cols 80; ${bin} --kubeconfig ${c.kubeconfig} run -it --rm --restart=Never ${name} --image=busybox -- sh`;
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      try {
        await eventually(() => out.includes("If you don't see a command prompt, try pressing enter."), 90_000, `the attach: ${out}`);
        child.stdin.write('hostname; stty size\n');
        await eventually(() => new RegExp(`${name}\\r\\n25 80\\r\\n`).test(out), 20_000, `the shell's answer: ${JSON.stringify(out)}`);
        child.stdin.write('exit 3\n');
        assert.equal(await exited, 3, out);
        assert.match(out, new RegExp(`pod "${name}" deleted`));
      } finally {
        child.kill('SIGKILL');
      }
    });

    it(`kubectl ${v} run -i --rm --restart=Never: stdinOnce closes the container's stdin when kubectl's input ends`, async () => {
      const name = `wc${v.replace('.', '')}`;
      const r = await k(['run', '-i', '--rm', '--restart=Never', name, '--image=busybox', '--', 'wc', '-l'], 'one\ntwo\nthree\n');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\s*3\s*$/m);
      assert.match(r.stdout + r.stderr, new RegExp(`pod "${name}" deleted`));
    });

    it(`kubectl ${v} debug -i: an ephemeral container in the running pod, its status, its logs`, async () => {
      const name = `dbg${v.replace('.', '')}`;
      const r = await k(['debug', '-i', 'web', '--image=busybox', `--container=${name}`, '--', 'sh'], 'echo in-$(hostname); exit 0\n');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /in-web/);
      const status = await eventually(async () => {
        const pod = JSON.parse((await k(['get', 'pod', 'web', '-o', 'json'])).stdout);
        const s = (pod.status.ephemeralContainerStatuses ?? []).find((x: any) => x.name === name);
        return s?.state?.terminated ? { pod, s } : undefined;
      }, 30_000, `${name} to end`);
      assert.equal(status.s.state.terminated.exitCode, 0);
      assert.equal(status.s.restartCount, 0);
      // the pod itself goes on, and the debug container is not part of its readiness
      assert.equal(status.pod.status.phase, 'Running');
      assert.equal(status.pod.status.containerStatuses[0].ready, true);
      assert.match((await k(['logs', 'web', '-c', name])).stdout, /in-web/);
    });
  }
});
