// kubectl's verbs against real pods (`petset up --runtime process`), as the issue lists them
// and a user types them: logs with --since, --timestamps, --tail, -c, --all-containers and
// -l with --prefix, logs -f following a counter; exec as runAsUser 1000; cp both ways; and
// @kubernetes/client-node's Exec, Attach and Log helpers. (The same verbs against the
// simulated and host-exec runtimes are in streams.test.ts.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import { eventually, startCluster, tempDir, type Cluster } from './harness.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/bin/busybox') || fs.existsSync('/usr/bin/busybox') ? undefined : 'busybox is not installed');
if (why) console.log(`# skipping kubectl verbs against real pods: ${why}`);

const COUNTER = 'i=0; while true; do echo "$CNAME $i"; i=$((i+1)); sleep 0.3; done';

describe('kubectl verbs against real pods', { skip: why }, () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ extraArgs: ['--runtime', 'process'] });
    const pod = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app: 'verbs' } },
      spec: {
        terminationGracePeriodSeconds: 2,
        securityContext: { runAsUser: 1000, runAsGroup: 1000 },
        containers: ['one', 'two'].map((cname) => ({ name: cname, image: 'busybox', env: [{ name: 'CNAME', value: `${name}/${cname}` }], command: ['sh', '-c', COUNTER] })),
      },
    });
    const talk = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'talk' },
      spec: { containers: [{ name: 'main', image: 'busybox', stdin: true, command: ['sh', '-c', 'while read l; do echo "got $l"; done'] }] },
    };
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pod('va'), pod('vb'), talk] }) });
    await c.kubectl(['wait', '--for=condition=Ready', 'pod/va', 'pod/vb', 'pod/talk', '--timeout=90s'], { timeoutMs: 100_000 });
  });
  after(async () => {
    await c?.stop();
  });

  it('logs: --tail, -c, --timestamps, --since, --all-containers, -l --prefix', async () => {
    await eventually(async () => (await c.kubectl(['logs', 'va', '-c', 'one'])).stdout.split('\n').length > 8, 20_000, 'some output');
    const tail = (await c.kubectl(['logs', 'va', '-c', 'two', '--tail', '2'])).stdout.trim().split('\n');
    assert.equal(tail.length, 2);
    assert.match(tail[1], /^va\/two \d+$/);
    // RFC 3339 with nanoseconds, then the line
    const stamped = (await c.kubectl(['logs', 'va', '-c', 'one', '--timestamps', '--tail', '1'])).stdout.trim();
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (va\/one \d+)$/.exec(stamped);
    assert.ok(m, stamped);
    assert.ok(Math.abs(Date.parse(m![1]) - Date.now()) < 60_000);
    // --since: only the last seconds' lines (the container wrote for longer)
    const all = (await c.kubectl(['logs', 'va', '-c', 'one'])).stdout.trim().split('\n');
    await new Promise((r) => setTimeout(r, 1500));
    const recent = (await c.kubectl(['logs', 'va', '-c', 'one', '--since=1s'])).stdout.trim().split('\n').filter(Boolean);
    assert.ok(recent.length > 0 && recent.length < all.length, `${recent.length} of ${all.length}`);
    assert.ok(Number(recent[0].split(' ')[1]) > Number(all[all.length - 1].split(' ')[1]) - 2);
    const both = (await c.kubectl(['logs', 'va', '--all-containers', '--tail', '1'])).stdout;
    assert.match(both, /^va\/one \d+$/m);
    assert.match(both, /^va\/two \d+$/m);
    const prefixed = (await c.kubectl(['logs', '-l', 'app=verbs', '-c', 'one', '--prefix', '--tail', '1'])).stdout;
    assert.match(prefixed, /^\[pod\/va\/one\] va\/one \d+$/m);
    assert.match(prefixed, /^\[pod\/vb\/one\] vb\/one \d+$/m);
  });

  it('logs -f follows the counter as it grows', async () => {
    const child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'logs', '-f', 'vb', '-c', 'two', '--tail', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await eventually(() => out.trim().split('\n').length >= 4, 20_000, 'four followed lines');
      const n = out.trim().split('\n').map((l) => Number(l.split(' ')[1]));
      for (let i = 1; i < n.length; i++) assert.equal(n[i], n[i - 1] + 1);
    } finally {
      child.kill();
    }
  });

  it('exec runs as the pod runAsUser; cp copies into the pod and back out', async () => {
    assert.equal((await c.kubectl(['exec', 'va', '-c', 'one', '--', 'id', '-u'])).stdout.trim(), '1000');
    const dir = tempDir('petset-cp-');
    const src = path.join(dir, 'in.txt');
    fs.writeFileSync(src, 'round trip\n'.repeat(1000));
    await c.kubectl(['cp', src, 'va:/tmp/in.txt', '-c', 'one']);
    assert.equal((await c.kubectl(['exec', 'va', '-c', 'one', '--', 'sh', '-c', 'wc -c < /tmp/in.txt; stat -c %u /tmp/in.txt'])).stdout.trim().split(/\s+/).join(' '), '11000 1000');
    await c.kubectl(['exec', 'va', '-c', 'one', '--', 'sh', '-c', 'echo made in the pod > /tmp/out.txt']);
    await c.kubectl(['cp', 'va:/tmp/out.txt', path.join(dir, 'out.txt'), '-c', 'one']);
    assert.equal(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8'), 'made in the pod\n');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('@kubernetes/client-node Exec, Attach and Log', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const collect = () => {
      let text = '';
      const w = new Writable({ write: (ch, _e, cb) => ((text += ch), cb()) });
      return { w, text: () => text };
    };
    const out = collect();
    const err = collect();
    const stdin = new PassThrough();
    const status = await new Promise<k8s.V1Status>((resolve) => {
      void new k8s.Exec(kc).exec('default', 'va', 'two', ['sh', '-c', 'cat; id -u; echo oops >&2; exit 2'], out.w, err.w, stdin, false, resolve);
      stdin.end('from client-node\n');
    });
    assert.equal(out.text(), 'from client-node\n1000\n');
    assert.equal(err.text(), 'oops\n');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details?.causes, [{ reason: 'ExitCode', message: '2' }]);

    const aout = collect();
    const ain = new PassThrough();
    const ws = await new k8s.Attach(kc).attach('default', 'talk', 'main', aout.w, null, ain, false);
    ain.write('client-node\n');
    await eventually(() => aout.text().includes('got client-node'), 10_000, 'the attached output');
    ws.close();

    const log = collect();
    await new Promise<void>((resolve, reject) => {
      void new k8s.Log(kc).log('default', 'vb', 'one', log.w, { follow: false, tailLines: 3 }).then(() => log.w.on('finish', () => resolve()), reject);
    });
    assert.equal(log.text().trim().split('\n').length, 3);
    assert.match(log.text(), /^vb\/one \d+$/m);
  });
});
