// The process runtime with real processes: sandboxes (hostname, hosts file, capabilities,
// what a pod can and cannot see), volumes, environment, images, lifecycle, exec and
// attach, cgroup limits, and sandboxes left behind by an earlier runtime. Skipped with the
// reason printed where the machine cannot run it (not root, no bubblewrap).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/object.js';
import type { ContainerExit } from '../../../src/agent/runtime/runtime.js';
import { ProcessRuntime, processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { startTestServer, waitFor, type TestServer } from '../../support/server.js';

const why = processRuntimeUnavailable();
if (why) console.log(`# skipping the process runtime tests: ${why}`);

type Obj = Record<string, any>;

let root: string;
let srv: TestServer;
let rt: ProcessRuntime;
const sandboxes: string[] = [];
let uidCounter = 0;

function pod(name: string, spec: Obj = {}, meta: Obj = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${process.pid}-${++uidCounter}`, ...meta }, spec: { containers: [], ...spec } } as KubeObject;
}

async function sandbox(p: KubeObject, ip: string, volumePaths: Record<string, string> = {}): Promise<string> {
  const id = await rt.createSandbox({ pod: p, ip, hostname: p.spec?.hostname ?? p.metadata.name!, volumePaths });
  sandboxes.push(id);
  return id;
}

/** Runs a container to completion; answers its exit and output. */
async function runToEnd(sb: string, container: Obj): Promise<{ exit: ContainerExit; output: string }> {
  let exit: ContainerExit | undefined;
  const started = await rt.startContainer(sb, { container: { name: 'c', image: 'busybox', ...container }, init: false, restartCount: 0 }, (e) => (exit = e));
  await waitFor(() => exit, 20_000, 'the container to exit');
  const lines: string[] = [];
  for await (const l of rt.logs(started.id)) lines.push(l.text);
  return { exit: exit!, output: lines.join('\n') };
}

async function logText(id: string): Promise<string> {
  const lines: string[] = [];
  for await (const l of rt.logs(id)) lines.push(l.text);
  return lines.join('\n');
}

describe('process runtime', { skip: why }, () => {
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-process-rt-'));
    srv = await startTestServer();
    rt = new ProcessRuntime({ stateDir: path.join(root, 'state'), client: srv.client, hide: [root] });
  });

  after(async () => {
    for (const id of sandboxes) await rt.removeSandbox(id);
    rt.killAll();
    await srv.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('gives a pod its hostname, hosts file with FQDN, resolv.conf, default capabilities and a pid namespace', async () => {
    const sb = await sandbox(pod('web-0', { hostname: 'web-0', subdomain: 'nginx' }), '127.64.200.10');
    const { exit, output } = await runToEnd(sb, { command: ['sh', '-c', 'hostname; tail -1 /etc/hosts; cat /etc/resolv.conf; grep CapEff /proc/self/status; echo pid=$$$$; stat -c %a /tmp /dev/shm'] });
    assert.equal(exit.exitCode, 0, output);
    assert.equal(exit.reason, 'Completed');
    const lines = output.split('\n');
    assert.equal(lines[0], 'web-0');
    assert.equal(lines[1], '127.64.200.10\tweb-0.nginx.default.svc.cluster.local\tweb-0');
    assert.match(output, /nameserver 127\.64\.200\.1\nsearch default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\noptions ndots:5/);
    assert.match(output, /CapEff:\s+00000000a80425fb/);
    assert.match(output, /pid=2\b/);
    assert.match(output, /1777\n1777/);
  });

  it('hides petset\'s data, other pods\' volumes, /root and secrets, and keeps the root read-only', async () => {
    const otherVol = fs.mkdtempSync(path.join(root, 'other-vol-'));
    fs.writeFileSync(path.join(otherVol, 'secret.txt'), 'other pod data');
    const mine = fs.mkdtempSync(path.join(root, 'my-vol-'));
    await sandbox(pod('other'), '127.64.200.11', { data: otherVol });
    const sb = await sandbox(pod('me', { volumes: [{ name: 'data', emptyDir: {} }] }), '127.64.200.12', { data: mine });
    const script = [
      `ls ${otherVol} 2>&1 || echo other-hidden`,
      `ls ${root} 2>&1 || echo datadir-hidden`,
      `ls -A /root | wc -l`,
      `ls /home | wc -l`,
      `wc -c < /etc/shadow 2>/dev/null || echo shadow-masked`,
      `mount -o remount,rw / 2>&1 && touch /usr/zz-petset-test 2>&1; echo remount-done`,
      `touch /usr/bin/zz 2>&1 || echo usr-readonly`,
    ].join('; ');
    const { output } = await runToEnd(sb, { command: ['sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] });
    assert.match(output, /other-hidden/);
    assert.match(output, /datadir-hidden/);
    assert.match(output, /^0$/m);
    assert.match(output, /shadow-masked|^0$/m);
    assert.doesNotMatch(output, /root:/);
    assert.match(output, /usr-readonly/);
    assert.equal(fs.existsSync('/usr/zz-petset-test'), false, 'the pod wrote into the host /usr');
    assert.equal(fs.existsSync('/zz-petset-test'), false);
  });

  it('switches to runAsUser with a real uid, honours fsGroup, drops and adds capabilities, and readOnlyRootFilesystem', async () => {
    const vol = fs.mkdtempSync(path.join(root, 'vol-'));
    fs.chmodSync(vol, 0o777);
    fs.chmodSync(vol, 0o755); // only the fsGroup makes it writable for uid 1000
    const sb = await sandbox(pod('u', { securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000 }, volumes: [{ name: 'data', emptyDir: {} }] }), '127.64.200.13', { data: vol });
    const { output } = await runToEnd(sb, { command: ['sh', '-c', 'id; grep CapEff /proc/self/status; touch /data/f; touch /x 2>&1 || echo root-ro'], volumeMounts: [{ name: 'data', mountPath: '/data' }], securityContext: { readOnlyRootFilesystem: true } });
    assert.equal(fs.statSync(vol).gid, 2000, 'the volume belongs to the fsGroup');
    assert.match(output, /uid=1000(\(\w+\))? gid=3000 groups=2000/);
    assert.match(output, /CapEff:\s+0000000000000000/);
    assert.match(output, /root-ro/);
    assert.equal(fs.statSync(path.join(vol, 'f')).uid, 1000, 'files are owned by the real uid on the host');
    const sb2 = await sandbox(pod('caps'), '127.64.200.14');
    const r = await runToEnd(sb2, { command: ['sh', '-c', 'grep CapEff /proc/self/status'], securityContext: { capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } } });
    assert.match(r.output, /CapEff:\s+0000000000001000/);
    await assert.rejects(
      rt.startContainer(sb2, { container: { name: 'nr', image: 'busybox', command: ['true'], securityContext: { runAsNonRoot: true } }, init: false, restartCount: 0 }, () => {}),
      (e: any) => e.reason === 'CreateContainerConfigError' && /runAsNonRoot/.test(e.message),
    );
  });

  it('mounts volumes at their paths: subPath, readOnly, missing parents, symlinked paths, config volumes with ..data, memory emptyDirs', async () => {
    await srv.client.resource({ group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true }, 'default').create({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { 'app.conf': 'port=8080\n', greeting: 'hello' },
    } as KubeObject);
    await srv.client.resource({ group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true }, 'default').create({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-secret' }, data: { password: Buffer.from('s3cret').toString('base64') },
    } as KubeObject);
    const vol = fs.mkdtempSync(path.join(root, 'vol-'));
    const mem = fs.mkdtempSync(path.join(root, 'mem-'));
    const p = pod('vols', {
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
        { name: 'cfg', configMap: { name: 'app-config' } },
        { name: 'sec', secret: { secretName: 'app-secret', defaultMode: 0o400 } },
        { name: 'info', downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }, { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      ],
    }, { labels: { app: 'x' } });
    const sb = await sandbox(p, '127.64.200.15', { data: vol, cache: mem });
    const { exit, output } = await runToEnd(sb, {
      command: ['sh', '-c', [
        'echo sub > /srv/sub/f && echo wrote-sub',
        'touch /ro/x 2>&1 || echo ro-refused',
        'touch /etc/myapp/conf.d/new 2>&1 || echo cfg-readonly',
        'cat /etc/myapp/conf.d/app.conf',
        'ls -a /etc/myapp/conf.d | tr "\\n" " "; echo',
        'cat /secrets/password; echo; stat -Lc %a /secrets/password',
        'cat /info/name; echo; cat /info/labels; echo',
        'grep " /cache " /proc/mounts | cut -d" " -f3',
        'ls /var/run/extra && echo symlinked-path-ok',
        'ls /etc/nginx | head -1',
      ].join('; ')],
      volumeMounts: [
        { name: 'data', mountPath: '/srv/sub', subPath: 'a/b' },
        { name: 'data', mountPath: '/ro', readOnly: true },
        { name: 'cfg', mountPath: '/etc/myapp/conf.d' },
        { name: 'sec', mountPath: '/secrets' },
        { name: 'info', mountPath: '/info' },
        { name: 'cache', mountPath: '/cache' },
        { name: 'data', mountPath: '/var/run/extra' },
      ],
    });
    assert.equal(exit.exitCode, 0, output);
    assert.match(output, /wrote-sub/);
    assert.equal(fs.readFileSync(path.join(vol, 'a/b/f'), 'utf8'), 'sub\n');
    assert.match(output, /ro-refused/);
    assert.match(output, /cfg-readonly/);
    assert.match(output, /port=8080/);
    assert.match(output, /\.\.data .*app\.conf .*greeting/);
    assert.match(output, /s3cret\n400/);
    assert.match(output, /vols\napp="x"/);
    assert.match(output, /^tmpfs$/m);
    assert.match(output, /symlinked-path-ok/);
    assert.match(output, /conf\.d/, 'the shadowed /etc still shows its other entries');
  });

  it('builds the environment: $(VAR) expansion, fieldRef, configMap/secret refs, envFrom, service links; missing refs fail with upstream messages', async () => {
    const sb = await sandbox(pod('envpod'), '127.64.200.16');
    const { output } = await runToEnd(sb, {
      command: ['sh', '-c', 'echo "$GREETING/$POD/$MSG/$PASSWORD/$CFG_greeting/$KUBERNETES_SERVICE_PORT"; echo $(A)'],
      env: [
        { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'greeting' } } },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'MSG', value: '$(GREETING) from $(POD) $$(POD) $(NOPE)' },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
        { name: 'MISSING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'nope', optional: true } } },
        { name: 'A', value: 'expanded-arg' },
      ],
      envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'CFG_' }],
    });
    assert.match(output, /^hello\/envpod\/hello from envpod \$\(POD\) \$\(NOPE\)\/s3cret\/hello\/443$/m);
    await assert.rejects(
      rt.startContainer(sb, { container: { name: 'x', image: 'busybox', command: ['true'], env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'nope' } } }] }, init: false, restartCount: 0 }, () => {}),
      (e: any) => e.reason === 'CreateContainerConfigError' && e.message === "couldn't find key nope in ConfigMap default/app-config",
    );
    await assert.rejects(
      rt.startContainer(sb, { container: { name: 'x', image: 'busybox', command: ['true'], envFrom: [{ secretRef: { name: 'nope' } }] }, init: false, restartCount: 0 }, () => {}),
      (e: any) => e.reason === 'CreateContainerConfigError' && e.message === 'secret "nope" not found',
    );
  });

  it('refuses an unknown image with ErrImagePull saying what was tried and how to fix it; reports the image run', async () => {
    const sb = await sandbox(pod('img'), '127.64.200.17');
    await assert.rejects(
      rt.startContainer(sb, { container: { name: 'x', image: 'does-not-exist:1' }, init: false, restartCount: 0 }, () => {}),
      (e: any) => e.reason === 'ErrImagePull' && /does-not-exist/.test(e.message) && /--image-catalog/.test(e.message),
    );
    const started = await rt.startContainer(sb, { container: { name: 'ok', image: 'docker.io/library/busybox:1.36', command: ['true'] }, init: false, restartCount: 0 }, () => {});
    assert.match(started.imageID ?? '', /^petset-host:\/\/busybox-static@/);
  });

  it('reports a command that does not exist as ContainerCannotRun and a failing one as Error with its code', async () => {
    const sb = await sandbox(pod('codes'), '127.64.200.18');
    const r1 = await runToEnd(sb, { command: ['/no/such/program'] });
    assert.equal(r1.exit.reason, 'ContainerCannotRun');
    assert.match(r1.exit.message ?? '', /failed to execute \/no\/such\/program/);
    const r2 = await runToEnd(sb, { command: ['sh', '-c', 'echo bye > /dev/termination-log; exit 3'] });
    assert.deepEqual([r2.exit.exitCode, r2.exit.reason, r2.exit.message], [3, 'Error', 'bye\n']);
  });

  it('reads the termination message from terminationMessagePath, or the log tail with FallbackToLogsOnError', async () => {
    const sb = await sandbox(pod('messages'), '127.64.200.40');
    const custom = await runToEnd(sb, { terminationMessagePath: '/tmp/why', command: ['sh', '-c', 'echo custom > /tmp/why; exit 1'] });
    assert.deepEqual([custom.exit.exitCode, custom.exit.message], [1, 'custom\n']);
    const fallback = await runToEnd(sb, { terminationMessagePolicy: 'FallbackToLogsOnError', command: ['sh', '-c', 'echo first; echo last words; exit 2'] });
    assert.deepEqual([fallback.exit.exitCode, fallback.exit.message], [2, 'first\nlast words']);
    const fine = await runToEnd(sb, { terminationMessagePolicy: 'FallbackToLogsOnError', command: ['sh', '-c', 'echo all good'] });
    assert.deepEqual([fine.exit.reason, fine.exit.message], ['Completed', undefined]);
  });

  it('applies a cpu limit as a CFS quota on the container\'s cgroup', async (t) => {
    const cpuRoot = rt.cgroups.layout.cpu;
    if (!cpuRoot) return t.skip('no cgroup v1 cpu hierarchy here (the v2 path writes cpu.max where delegated)');
    const sb = await sandbox(pod('cpu'), '127.64.200.41');
    const started = await rt.startContainer(sb, { container: { name: 'c', image: 'busybox', command: ['sleep', '60'], resources: { limits: { cpu: '250m' } } }, init: false, restartCount: 0 }, () => {});
    const pid = await waitFor(() => rt.hostPid(started.id), 10_000, 'the main process');
    const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /:(cpu,cpuacct|cpu|cpuacct,cpu):/.test(l))!;
    const dir = path.join(cpuRoot, line.split(':')[2]);
    assert.equal(fs.readFileSync(path.join(dir, 'cpu.cfs_quota_us'), 'utf8').trim(), '25000');
    assert.equal(fs.readFileSync(path.join(dir, 'cpu.cfs_period_us'), 'utf8').trim(), '100000');
    await rt.stopContainer(started.id, 2000);
  });

  it('caps a pod\'s processes at --pod-max-pids: a fork loop gets EAGAIN, the node goes on', async (t) => {
    const layout = rt.cgroups.layout;
    const pidsRoot = layout.pids ?? (layout.unifiedControllers.includes('pids') ? layout.unified : undefined);
    if (!pidsRoot) return t.skip('no writable cgroup v1 pids hierarchy and no cgroup v2 pids controller here');
    // the limit is the node's (kubelet podPidsLimit), so this pod runs on a runtime of its own
    const limited = new ProcessRuntime({ stateDir: path.join(root, 'state-pids'), client: srv.client, hide: [root], podPidsLimit: 24 });
    let sb: string | undefined;
    try {
      sb = await limited.createSandbox({ pod: pod('forky'), ip: '127.64.200.44', hostname: 'forky', volumePaths: {} });
      const podGroup = path.join(pidsRoot, 'petset', sb);
      assert.equal(fs.readFileSync(path.join(podGroup, 'pids.max'), 'utf8').trim(), '24');
      let exit: ContainerExit | undefined;
      const c = await limited.startContainer(sb, { container: { name: 'c', image: 'busybox', command: ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do sleep 300 & i=$((i+1)); done; echo all started'] }, init: false, restartCount: 0 }, (e) => (exit = e));
      await waitFor(() => exit, 20_000, 'the fork loop to fail');
      const lines: string[] = [];
      for await (const l of limited.logs(c.id)) lines.push(l.text);
      const output = lines.join('\n');
      assert.match(output, /Resource temporarily unavailable/, output);
      assert.doesNotMatch(output, /all started/);
      assert.notEqual(exit!.exitCode, 0);
      // the whole pod stayed within its limit, and the node still starts processes (and pods)
      assert.ok(Number(fs.readFileSync(path.join(podGroup, 'pids.current'), 'utf8')) <= 24);
      const other = await sandbox(pod('neighbour'), '127.64.200.45');
      const r = await runToEnd(other, { command: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait; echo fine'] });
      assert.equal(r.exit.exitCode, 0, r.output);
      assert.equal(r.output.trim(), 'fine');
    } finally {
      if (sb) await limited.removeSandbox(sb);
      limited.killAll();
    }
  });

  it('stops gracefully with SIGTERM to the main process, and kills the whole sandbox after the grace period', async () => {
    const sb = await sandbox(pod('stop'), '127.64.200.19');
    let exit: ContainerExit | undefined;
    const c1 = await rt.startContainer(sb, { container: { name: 'a', image: 'busybox', command: ['sh', '-c', 'trap "echo got TERM; exit 0" TERM; echo armed; sleep 1000 & wait'] }, init: false, restartCount: 0 }, (e) => (exit = e));
    await waitFor(() => logText(c1.id).then((t) => t.includes('armed')), 5000, 'the trap to be set');
    await rt.stopContainer(c1.id, 10_000);
    assert.equal(exit?.exitCode, 0);
    let exit2: ContainerExit | undefined;
    const c2 = await rt.startContainer(sb, { container: { name: 'b', image: 'busybox', command: ['sh', '-c', 'trap "" TERM; echo armed; sleep 1000 & wait; sleep 1000'] }, init: false, restartCount: 0 }, (e) => (exit2 = e));
    await waitFor(() => logText(c2.id).then((t) => t.includes('armed')), 5000, 'the trap to be set');
    const pid = rt.hostPid(c2.id)!;
    await rt.stopContainer(c2.id, 300);
    assert.equal(exit2?.exitCode, 137);
    assert.equal(exit2?.signal, 9);
    // the whole pid namespace goes: the main process is dead (gone, or a zombie until reaped)
    await waitFor(() => { try { return /\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; } }, 5000, 'the main process to die');
  });

  it('runs exec handlers and exec sessions inside the container as its user, and feeds attach through the stdin FIFO', async () => {
    const sb = await sandbox(pod('ex', { securityContext: { runAsUser: 1000 } }), '127.64.200.20');
    const c = await rt.startContainer(sb, { container: { name: 'a', image: 'busybox', stdin: true, command: ['sh', '-c', 'while read line; do echo "got: $line"; done'] }, init: false, restartCount: 0 }, () => {});
    await waitFor(() => rt.hostPid(c.id), 5000, 'the main process');
    const probe = await rt.runHandler(c.id, { purpose: 'readiness', handler: { exec: { command: ['sh', '-c', 'id -u; hostname'] } }, podIP: '127.64.200.20', timeoutMs: 5000 });
    assert.deepEqual(probe, { ok: true, output: '1000\nex\n' });
    const fail = await rt.runHandler(c.id, { purpose: 'liveness', handler: { exec: { command: ['false'] } }, podIP: '', timeoutMs: 5000 });
    assert.equal(fail.ok, false);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const r = await rt.exec!(c.id, { command: ['sh', '-c', 'cat; exit 7'], tty: false, stdin: Object.assign(new PassThrough(), {}).end('from stdin\n'), stdout: out });
    assert.equal(r.exitCode, 7);
    assert.equal(text, 'from stdin\n');
    // a terminal, resized while it runs
    const ttyOut = new PassThrough();
    let screen = '';
    ttyOut.on('data', (d) => (screen += d));
    const ttyIn = new PassThrough();
    let resized!: () => void;
    const resizedOnce = new Promise<void>((r) => (resized = r));
    async function* sizes() {
      yield { width: 100, height: 30 };
      await resizedOnce;
      yield { width: 120, height: 40 };
    }
    const session = rt.exec!(c.id, { command: ['sh'], tty: true, stdin: ttyIn, stdout: ttyOut, resize: sizes() });
    // typed again until answered: what reaches the terminal before the shell has set it up may be
    // flushed by the shell's own terminal settings, as type-ahead on any terminal can be (seen in CI)
    await waitFor(async () => {
      ttyIn.write('tty; stty size\n');
      await new Promise((r) => setTimeout(r, 100));
      return screen.includes('30 100');
    }, 20_000, 'the first size');
    resized();
    await waitFor(async () => {
      ttyIn.write('stty size\n');
      await new Promise((r) => setTimeout(r, 100));
      return screen.includes('40 120');
    }, 5000, 'the new size');
    ttyIn.write('exit 4\n');
    assert.equal((await session).exitCode, 4);
    assert.match(screen, /\/dev\/pts\/\d+/);
    const attachOut = new PassThrough();
    let attached = '';
    attachOut.on('data', (d) => (attached += d));
    const input = new PassThrough();
    const attachSession = rt.attach!(c.id, { tty: false, stdin: input, stdout: attachOut });
    input.write('hello via attach\n');
    await waitFor(() => attached.includes('got: hello via attach'), 5000, 'attach output');
    await rt.stopContainer(c.id, 2000);
    await attachSession;
  });

  it('runs a tty container on a terminal that attach drives and resizes (kubectl run -it)', async () => {
    const sb = await sandbox(pod('bb'), '127.64.200.26');
    let exit: ContainerExit | undefined;
    const c = await rt.startContainer(sb, { container: { name: 'bb', image: 'busybox', stdin: true, tty: true, command: ['sh'] }, init: false, restartCount: 0 }, (e) => (exit = e));
    const out = new PassThrough();
    let screen = '';
    out.on('data', (d) => (screen += d));
    const input = new PassThrough();
    async function* sizes() {
      yield { width: 90, height: 20 };
    }
    const session = rt.attach!(c.id, { tty: true, stdin: input, stdout: out, resize: sizes() });
    await waitFor(async () => {
      input.write('stty size; hostname\n');
      await new Promise((r) => setTimeout(r, 150));
      return /20 90\r?\nbb/.test(screen);
    }, 10_000, 'the terminal to answer');
    input.write('exit 3\n');
    await session;
    assert.equal(exit?.exitCode, 3);
  });

  it('answers httpGet and tcpSocket handlers against the pod address', async () => {
    const sb = await sandbox(pod('agn'), '127.64.200.21');
    const c = await rt.startContainer(sb, { container: { name: 'a', image: 'registry.k8s.io/e2e-test-images/agnhost:2.47', args: ['netexec', '--http-port=8080'], ports: [{ name: 'http', containerPort: 8080 }] }, init: false, restartCount: 0 }, () => {});
    const ok = await waitFor(async () => {
      const r = await rt.runHandler(c.id, { purpose: 'readiness', handler: { httpGet: { path: '/hostname', port: 'http' } }, podIP: '127.64.200.21', timeoutMs: 2000 });
      return r.ok ? r : undefined;
    }, 15_000, 'netexec to answer');
    assert.equal(ok.output, 'agn');
    const tcp = await rt.runHandler(c.id, { purpose: 'liveness', handler: { tcpSocket: { port: 8081 } }, podIP: '127.64.200.21', timeoutMs: 2000 });
    assert.deepEqual(tcp, { ok: false, output: 'dial tcp 127.64.200.21:8081: connect: connection refused' });
    // a gRPC health server (Node's HTTP/2 speaking the grpc.health.v1 protocol) on the pod's address
    const http2 = await import('node:http2');
    let serving = 2;
    const grpc = http2.createServer();
    grpc.on('stream', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, serving]));
      stream.resume();
    });
    await new Promise<void>((r) => grpc.listen(9555, '127.64.200.21', r));
    try {
      assert.deepEqual(await rt.runHandler(c.id, { purpose: 'readiness', handler: { grpc: { port: 9555 } }, podIP: '127.64.200.21', timeoutMs: 2000 }), { ok: false, output: 'service unhealthy (responded with "NOT_SERVING")' });
      serving = 1;
      assert.deepEqual(await rt.runHandler(c.id, { purpose: 'readiness', handler: { grpc: { port: 9555 } }, podIP: '127.64.200.21', timeoutMs: 2000 }), { ok: true, output: '' });
    } finally {
      await new Promise((r) => grpc.close(r));
    }
    const sock = await rt.portForward!(sb, 8080);
    sock.write('GET /echo?msg=pf HTTP/1.0\r\n\r\n');
    let body = '';
    sock.on('data', (d) => (body += d));
    await new Promise((r) => sock.on('end', r));
    assert.match(body, /\r\n\r\npf$/);
  });

  it('kills a container over its memory limit as OOMKilled', async (t) => {
    const why = rt.cgroups.limitsUnavailable();
    if (why) return t.skip(`cgroup memory limits unavailable: ${why}`);
    const sb = await sandbox(pod('oom'), '127.64.200.22');
    const { exit } = await runToEnd(sb, { image: 'python', command: ['python3', '-c', 'b = bytearray(200 * 1024 * 1024); print(len(b))'], resources: { limits: { memory: '64Mi' } } });
    assert.equal(exit.reason, 'OOMKilled');
    assert.equal(exit.exitCode, 137);
  });

  it('keeps logs with the time each line appeared, for tail, since and follow, across size rotation', async () => {
    const small = new ProcessRuntime({ stateDir: path.join(root, 'state-logs'), logMaxBytes: 4096 });
    try {
      const sb = await small.createSandbox({ pod: pod('logs'), ip: '127.64.200.24', hostname: 'logs', volumePaths: {} });
      const c = await small.startContainer(sb, { container: { name: 'a', image: 'busybox', command: ['sh', '-c', 'echo first; sleep 1; i=0; while [ $i -lt 300 ]; do echo "line $i padding padding padding"; i=$((i+1)); done; echo last; sleep 1000'] }, init: false, restartCount: 0 }, () => {});
      const all = async (opts = {}) => {
        const out: { time: Date; text: string }[] = [];
        for await (const l of small.logs(c.id, opts)) out.push(l);
        return out;
      };
      await waitFor(async () => (await all()).some((l) => l.text === 'last'), 10_000, 'the last line');
      // rotated past 4 KiB: the newest lines are all there, in order, the oldest may be gone
      await waitFor(() => fs.existsSync(path.join(small.sandboxDir(sb), 'containers', c.id, 'output.log.1')), 5000, 'a rotation');
      const lines = await all();
      assert.equal(lines[lines.length - 1].text, 'last');
      assert.equal(lines[lines.length - 2].text, 'line 299 padding padding padding');
      assert.deepEqual((await all({ tailLines: 2 })).map((l) => l.text), ['line 299 padding padding padding', 'last']);
      const first = (await all()).find((l) => l.text === 'first');
      if (first) {
        const later = (await all()).find((l) => l.text === 'last')!;
        assert.ok(later.time.getTime() - first.time.getTime() >= 900, 'lines a second apart have times a second apart');
        assert.ok(!(await all({ since: new Date(first.time.getTime() + 500) })).some((l) => l.text === 'first'));
      }
      const follow = small.logs(c.id, { follow: true, tailLines: 0 })[Symbol.asyncIterator]();
      const next = follow.next();
      await small.runHandler(c.id, { purpose: 'readiness', handler: { exec: { command: ['sh', '-c', 'echo appended > /proc/1/fd/1'] } }, podIP: '', timeoutMs: 5000 });
      // the init's stdout is the log file too; kill the main process to end the follow
      await small.stopContainer(c.id, 500);
      const got = await next;
      assert.ok(!got.done);
      await follow.return?.();
      await small.removeSandbox(sb);
    } finally {
      small.killAll();
    }
  });

  it('killAll kills every process of the node at once and leaves the records for the next agent', async () => {
    const state = path.join(root, 'state3');
    const first = new ProcessRuntime({ stateDir: state });
    const sb = await first.createSandbox({ pod: pod('crash'), ip: '127.64.200.25', hostname: 'crash', volumePaths: {} });
    let notified = false;
    const c = await first.startContainer(sb, { container: { name: 'a', image: 'busybox', command: ['sleep', '1000'] }, init: false, restartCount: 0 }, () => (notified = true));
    const pid = await waitFor(() => first.hostPid(c.id), 5000, 'the main process');
    first.killAll();
    await waitFor(() => !fs.existsSync(`/proc/${pid}`) || /\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), 5000, 'the process to die');
    const second = new ProcessRuntime({ stateDir: state });
    assert.equal((await second.listSandboxes()).length, 1);
    await second.removeSandbox(sb);
    assert.deepEqual(await second.listSandboxes(), []);
    assert.equal(notified, false, 'no exit notification after killAll');
    second.killAll();
  });

  it('a sandbox or container whose start is under way when the node stops (stopAll, killAll) starts no process that outlives it', async () => {
    const state = path.join(root, 'state-closing');
    // the processes of this state directory: by its paths on their command lines, or by the pod cgroups of its sandboxes
    const left = (ids: string[]) =>
      fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x)).filter((pid) => {
        try {
          if (/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
          return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(state) || ids.some((id) => fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`petset/${id}`));
        } catch {
          return false;
        }
      });
    const sandboxIds = () => fs.readdirSync(path.join(state, 'sandboxes'));
    for (const stop of ['killAll', 'stopAll'] as const) {
      const r = new ProcessRuntime({ stateDir: state });
      const halt = () => (stop === 'killAll' ? r.killAll() : void r.stopAll(2000));
      // a sandbox: the node stops while createSandbox awaits (its directory is made, the pause not spawned yet)
      // (the outcome is caught at once: the start may fail before the test awaits it)
      const creating = r.createSandbox({ pod: pod(`closing-${stop}`), ip: '127.64.200.27', hostname: 'closing', volumePaths: {} }).then(() => 'started', (e: Error) => e.message);
      const ids = sandboxIds();
      halt();
      assert.match(await creating, /shutting down: the pod sandbox was not started/);
      // a container: the sandbox was ready, the node stops while startContainer resolves the image
      const r2 = new ProcessRuntime({ stateDir: state });
      const sb = await r2.createSandbox({ pod: pod(`closing2-${stop}`), ip: '127.64.200.28', hostname: 'closing2', volumePaths: {} });
      const starting = r2.startContainer(sb, { container: { name: 'a', image: 'busybox', command: ['sleep', '1000'] }, init: false, restartCount: 0 }, () => {}).then(() => 'started', (e: Error) => e.message);
      if (stop === 'killAll') r2.killAll();
      else await r2.stopAll(2000);
      assert.match(await starting, /shutting down: container "a" was not started/);
      await waitFor(() => left([...ids, sb]).length === 0, 5000, `no process of the stopped runtime left after ${stop}`);
      const cleanup = new ProcessRuntime({ stateDir: state });
      for (const s of await cleanup.listSandboxes()) await cleanup.removeSandbox(s.id);
      cleanup.killAll();
    }
  });
  it('leaves sandboxes running for a later runtime on the same state directory, which finds and removes them', async () => {
    const state = path.join(root, 'state2');
    const first = new ProcessRuntime({ stateDir: state });
    const p = pod('orphan');
    const sb = await first.createSandbox({ pod: p, ip: '127.64.200.23', hostname: 'orphan', volumePaths: {} });
    const c = await first.startContainer(sb, { container: { name: 'a', image: 'busybox', command: ['sleep', '1000'] }, init: false, restartCount: 0 }, () => {});
    const pid = await waitFor(() => first.hostPid(c.id), 5000, 'the main process');
    // the agent dies without a word: its runtime object is simply dropped
    const second = new ProcessRuntime({ stateDir: state });
    const found = await second.listSandboxes();
    assert.deepEqual(found.map((s) => [s.id, s.podUid]), [[sb, p.metadata.uid]]);
    assert.ok(fs.existsSync(`/proc/${pid}`));
    await second.removeSandbox(sb);
    await waitFor(() => !fs.existsSync(`/proc/${pid}`) || /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), 5000, 'the orphan to be killed');
    assert.deepEqual(await second.listSandboxes(), []);
    first.killAll();
    second.killAll();
  });

  it('a later runtime adopts a released sandbox: the same processes and ids, exec, logs, and their end', async () => {
    const state = path.join(root, 'state3');
    const first = new ProcessRuntime({ stateDir: state });
    const spec = { name: 'a', image: 'busybox', command: ['sh', '-c', 'echo before; read x; echo "after $x"; exit 5'], stdin: true };
    const p = pod('adopted', { containers: [spec] });
    const sb = await first.createSandbox({ pod: p, ip: '127.64.200.42', hostname: 'adopted', volumePaths: {} });
    const c = await first.startContainer(sb, { container: spec, init: false, restartCount: 0 }, () => assert.fail('the first runtime let go'));
    const pid = await waitFor(() => first.hostPid(c.id), 5000, 'the main process');
    const textOf = async (r: ProcessRuntime) => {
      const lines: string[] = [];
      for await (const l of r.logs(c.id)) lines.push(l.text);
      return lines.join('\n');
    };
    await waitFor(async () => (await textOf(first)).includes('before'), 5000, 'the first line');
    const timeOf = async (r: ProcessRuntime) => {
      for await (const l of r.logs(c.id)) if (l.text === 'before') return l.time.getTime();
      return undefined;
    };
    const firstTime = await timeOf(first);
    first.release();
    const second = new ProcessRuntime({ stateDir: state });
    try {
      let exit: ContainerExit | undefined;
      const adopted = await second.adoptSandbox(sb, p, (id, e) => id === c.id && (exit = e));
      assert.deepEqual(adopted?.containers.map((x) => [x.id, x.name, x.startedAt.getTime(), x.exit]), [[c.id, 'a', c.startedAt.getTime(), undefined]]);
      assert.equal(adopted?.ip, '127.64.200.42');
      assert.equal(second.hostPid(c.id), pid);
      assert.equal(await timeOf(second), firstTime, 'the log clock was handed over');
      assert.equal(await second.adoptSandbox(sb, p, () => {}), undefined, 'adopted once');
      const out = new PassThrough();
      let text = '';
      out.on('data', (d) => (text += d));
      assert.equal((await second.exec(c.id, { command: ['hostname'], tty: false, stdout: out })).exitCode, 0);
      assert.equal(text.trim(), 'adopted');
      // its stdin is still open: the container reads on, ends, and the adopting runtime reports it
      const stdin = new PassThrough();
      const session = second.attach(c.id, { tty: false, stdin });
      stdin.end('line\n');
      await waitFor(() => exit, 10_000, 'the adopted container to end');
      await session;
      assert.equal(exit!.exitCode, 5);
      assert.match(await textOf(second), /^before\nafter line$/);
    } finally {
      await second.removeSandbox(sb);
      second.killAll();
    }
  });
});
