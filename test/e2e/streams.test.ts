// kubectl logs, exec, attach and port-forward end to end, with the real kubectl binaries:
// 1.27 (SPDY/3.1 for everything) and 1.33 (WebSocket v5 channels, and SPDY tunnelled in
// WebSocket for port-forward). Logs and port-forward run through `petset up` (simulated
// nodes); exec and attach through the same control plane in-process, with a test runtime
// that runs exec'd commands as real host processes (a real pty for -t).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import https from 'node:https';
import http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { eventually, startCluster, tempDir, type Cluster } from './harness.js';
import { startControlPlane, type ControlPlane } from '../../src/cli/controlplane.js';
import { HostExecRuntime } from '../support/host-exec-runtime.js';
import * as k8s from '@kubernetes/client-node';
import { PassThrough, Writable } from 'node:stream';

// PETSET_KUBECTL_VERSIONS=1.27,1.28,...,1.33 runs the whole matrix
const VERSIONS = (process.env.PETSET_KUBECTL_VERSIONS ?? '1.27,1.33').split(',').map((v) => ({ v, bin: `/usr/lib/google-cloud-sdk/bin/kubectl.${v}` }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], input?: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

function podManifest(name: string, containers: Array<{ name: string; args?: string[]; stdin?: boolean; stdinOnce?: boolean; tty?: boolean }>, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels, annotations },
    spec: { containers: containers.map((c) => ({ image: 'busybox', ...c })) },
  });
}

function credentials(kubeconfig: string): { server: string; token: string } {
  const cfg = fs.readFileSync(kubeconfig, 'utf8');
  return { server: /server: (\S+)/.exec(cfg)![1], token: /token: (\S+)/.exec(cfg)![1] };
}

/** The API's answer to a request with the admin token (from the kubeconfig). */
function apiRequest(kubeconfig: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const { server, token } = credentials(kubeconfig);
  return new Promise((resolve, reject) => {
    const req = https.request(`${server}${path}`, { method, rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const apiGet = (kubeconfig: string, path: string) => apiRequest(kubeconfig, 'GET', path);

describe('kubectl logs and port-forward through petset up', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster();
    await c.kubectl(['apply', '-f', '-'], { input: podManifest('one', [{ name: 'main' }], { app: 'web' }) });
    await c.kubectl(['apply', '-f', '-'], { input: podManifest('two', [{ name: 'a' }, { name: 'b' }], { app: 'web' }) });
    await c.kubectl(['wait', '--for=condition=Ready', 'pod/one', 'pod/two', '--timeout=30s']);
  });
  after(async () => {
    await c?.stop();
  });

  for (const { v, bin } of VERSIONS) {
    const k = (args: string[]) => run(bin, ['--kubeconfig', c.kubeconfig, ...args]);
    it(`kubectl ${v} logs: plain, --tail, --timestamps, -c, --all-containers, -l --prefix`, { skip: !fs.existsSync(bin) && `${bin} is absent` }, async () => {
      const plain = await k(['logs', 'one']);
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(plain.stdout, 'petset-sim: container main started in pod default/one (' + /\((127\.[\d.]+)\)/.exec(plain.stdout)![1] + ')\n');
      assert.equal((await k(['logs', 'one', '--tail=0'])).stdout, '');
      assert.match((await k(['logs', 'one', '--timestamps'])).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z petset-sim: container main started/);
      assert.match((await k(['logs', 'two', '-c', 'b'])).stdout, /container b started in pod default\/two/);
      const all = await k(['logs', 'two', '--all-containers']);
      assert.match(all.stdout, /container a started/);
      assert.match(all.stdout, /container b started/);
      const bad = await k(['logs', 'two', '-c', 'nope']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /container nope is not valid for pod two/);
      const prefixed = await k(['logs', '-l', 'app=web', '--prefix', '--all-containers']);
      assert.equal(prefixed.code, 0, prefixed.stderr);
      assert.match(prefixed.stdout, /^\[pod\/one\/main\] petset-sim: container main started/m);
      assert.match(prefixed.stdout, /^\[pod\/two\/b\] petset-sim: container b started/m);
      assert.match((await k(['logs', 'one', '--since=1h'])).stdout, /container main started/);
    });

    it(`kubectl ${v} logs -f streams until stopped`, { skip: !fs.existsSync(bin) && `${bin} is absent` }, async () => {
      const child = spawn(bin, ['--kubeconfig', c.kubeconfig, 'logs', '-f', 'one'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await eventually(() => out.includes('container main started'), 15_000, 'the first line');
      assert.equal(child.exitCode, null); // still following
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    });

    it(`kubectl ${v} port-forward reaches a listener on the pod's IP, both directions`, { skip: !fs.existsSync(bin) && `${bin} is absent` }, async () => {
      const pod = JSON.parse((await c.kubectl(['get', 'pod', 'one', '-o', 'json'])).stdout);
      const server = net.createServer((s) => s.on('data', (d) => s.write(`echo:${d}`)));
      await new Promise<void>((r) => server.listen(0, pod.status.podIP, r));
      const port = (server.address() as net.AddressInfo).port;
      const child = spawn(bin, ['--kubeconfig', c.kubeconfig, 'port-forward', 'pod/one', `:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        const local = Number((await eventually(() => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out) ?? undefined, 15_000, `port-forward to start: ${out}`))[1]);
        for (const word of ['first', 'second']) {
          const answer = await new Promise<string>((resolve, reject) => {
            const s = net.connect(local, '127.0.0.1', () => s.write(word));
            s.on('data', (d) => {
              resolve(String(d));
              s.end();
            });
            s.on('error', reject);
          });
          assert.equal(answer, `echo:${word}`);
        }
      } finally {
        child.kill('SIGTERM');
        server.close();
      }
      // nothing listens there: kubectl reports the agent's dial error (and, as upstream clients do, gives up)
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, pod.status.podIP, r));
      const deadPort = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const failing = spawn(bin, ['--kubeconfig', c.kubeconfig, 'port-forward', 'pod/one', `:${deadPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let out = '';
        failing.stdout.on('data', (d) => (out += d));
        failing.stderr.on('data', (d) => (out += d));
        const local = Number((await eventually(() => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out) ?? undefined, 15_000, 'port-forward to start'))[1]);
        const s = net.connect(local, '127.0.0.1');
        s.on('error', () => {});
        await eventually(() => out.includes(`error forwarding port ${deadPort} to pod one: connect ECONNREFUSED ${pod.status.podIP}:${deadPort}`), 15_000, `the error in kubectl's output: ${out}`);
        s.destroy();
      } finally {
        failing.kill('SIGTERM');
      }
    });

    it(`kubectl ${v} exec on a simulated node says why it cannot`, { skip: !fs.existsSync(bin) && `${bin} is absent` }, async () => {
      const r = await k(['exec', 'one', '--', 'true']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /simulated runtime \(petset-sim\), which runs no processes: exec is not possible/);
    });
  }

  it('pods, services and nodes proxy: path, query, method and body reach the target; upgrades are spliced', async () => {
    const pod = JSON.parse((await c.kubectl(['get', 'pod', 'one', '-o', 'json'])).stdout);
    const ip = pod.status.podIP;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.writeHead(201, { 'Content-Type': 'application/json', 'X-Target': 'pod-one' });
        res.end(JSON.stringify({ method: req.method, url: req.url, body, auth: req.headers.authorization ?? null }));
      });
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`ws:${m}`)));
    await new Promise<void>((r) => server.listen(0, ip, r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await apiRequest(c.kubeconfig, 'POST', `/api/v1/namespaces/default/pods/one:${port}/proxy/some/path?x=1&y=two`, 'the body', { 'Content-Type': 'text/plain' });
      assert.equal(r.status, 201);
      assert.equal(r.headers['x-target'], 'pod-one');
      assert.deepEqual(JSON.parse(r.body), { method: 'POST', url: '/some/path?x=1&y=two', body: 'the body', auth: null });
      // kubectl get --raw goes the same way
      const raw = await c.kubectl(['get', '--raw', `/api/v1/namespaces/default/pods/http:one:${port}/proxy/`]);
      assert.equal(JSON.parse(raw.stdout).url, '/');

      // a service port by name, to a ready endpoint
      await c.kubectl(['label', 'pod', 'one', 'proxy=yes']);
      await c.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'front' }, spec: { selector: { proxy: 'yes' }, ports: [{ name: 'web', port: 80, targetPort: port }] } }),
      });
      const viaSvc = await eventually(async () => {
        const x = await apiRequest(c.kubeconfig, 'GET', '/api/v1/namespaces/default/services/front:web/proxy/svc?z=1');
        return x.status === 201 && x;
      }, 15_000, 'the service proxy to answer');
      assert.equal(JSON.parse(viaSvc.body).url, '/svc?z=1');
      const noPort = await apiRequest(c.kubeconfig, 'GET', '/api/v1/namespaces/default/services/front:nope/proxy/');
      assert.equal(noPort.status, 503);
      assert.equal(JSON.parse(noPort.body).message, 'no service port "nope" found for service "front"');
      const bad = await apiRequest(c.kubeconfig, 'GET', '/api/v1/namespaces/default/pods/ftp:one:80/proxy/');
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.body).message, 'invalid pod request "ftp:one:80"');

      // a WebSocket through the proxy
      const { server: api, token } = credentials(c.kubeconfig);
      const ws = new WebSocket(`${api.replace('https', 'wss')}/api/v1/namespaces/default/pods/one:${port}/proxy/ws`, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false });
      const echoed = await new Promise<string>((resolve, reject) => {
        ws.on('open', () => ws.send('hi'));
        ws.on('message', (m) => resolve(String(m)));
        ws.on('error', reject);
      });
      ws.close();
      assert.equal(echoed, 'ws:hi');

      // a node: its agent's server
      const node = await apiGet(c.kubeconfig, '/api/v1/nodes/node-1/proxy/healthz');
      assert.equal(node.status, 200);
      assert.equal(node.body, 'ok');
      assert.equal((await apiGet(c.kubeconfig, '/api/v1/nodes/node-1/proxy/containerLogs/%E0%A4%A/x/y')).status, 400);
      assert.equal((await apiGet(c.kubeconfig, '/api/v1/namespaces/default/pods/%E0%A4%A/proxy/')).status, 400);
      assert.equal((await apiGet(c.kubeconfig, '/api/v1/nodes/node-1/proxy/healthz')).body, 'ok');

      // addresses come from objects users write: nothing off this machine is dialled
      await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'far' }, spec: { nodeName: 'nowhere', containers: [{ name: 'c', image: 'x' }] } }) });
      await apiRequest(c.kubeconfig, 'PATCH', '/api/v1/namespaces/default/pods/far/status', JSON.stringify({ status: { podIP: '192.0.2.7' } }), { 'Content-Type': 'application/merge-patch+json' });
      const far = await apiGet(c.kubeconfig, '/api/v1/namespaces/default/pods/far:80/proxy/');
      assert.equal(far.status, 400);
      assert.equal(JSON.parse(far.body).message, 'address not allowed');
    } finally {
      wss.close();
      server.close();
    }
  });

  it('kubectl logs --previous shows the last instance; logs -f ends when the container does', async () => {
    await c.kubectl(['apply', '-f', '-'], {
      input: podManifest('crashy', [{ name: 'main' }], {}, { 'petset.io/sim-crash-after': '3s', 'petset.io/sim-crash-times': '1' }),
    });
    // follows the first instance (it runs 3 s) until it exits
    await eventually(async () => JSON.parse((await c.kubectl(['get', 'pod', 'crashy', '-o', 'json'])).stdout).status?.containerStatuses?.[0]?.state?.running, 15_000, 'crashy to run');
    const followers = VERSIONS.filter((x) => fs.existsSync(x.bin)).map(({ bin }) => run(bin, ['--kubeconfig', c.kubeconfig, 'logs', '-f', 'crashy']));
    for (const follow of await Promise.all(followers)) {
      assert.equal(follow.code, 0, follow.stderr);
      assert.match(follow.stdout, /container main started[^]*exiting with code 1\n$/);
    }
    // the first instance exits, the second keeps running
    await eventually(async () => JSON.parse((await c.kubectl(['get', 'pod', 'crashy', '-o', 'json'])).stdout).status?.containerStatuses?.[0]?.restartCount === 1, 30_000, 'the restart');
    for (const { bin } of VERSIONS.filter((x) => fs.existsSync(x.bin))) {
      const prev = await run(bin, ['--kubeconfig', c.kubeconfig, 'logs', 'crashy', '--previous']);
      assert.equal(prev.code, 0, prev.stderr);
      assert.match(prev.stdout, /container main started[^]*exiting with code 1\n$/);
      const current = await run(bin, ['--kubeconfig', c.kubeconfig, 'logs', 'crashy']);
      assert.doesNotMatch(current.stdout, /exiting/);
    }
    const none = await apiGet(c.kubeconfig, '/api/v1/namespaces/default/pods/one/log?previous=true');
    assert.equal(none.status, 400);
    assert.equal(JSON.parse(none.body).message, 'previous terminated container "main" in pod "one" not found');
  });

  it('pods/log: tailLines, limitBytes, sinceSeconds, follow=false and upstream errors', async () => {
    const base = '/api/v1/namespaces/default/pods';
    const full = await apiGet(c.kubeconfig, `${base}/one/log`);
    assert.equal(full.status, 200);
    assert.equal((await apiGet(c.kubeconfig, `${base}/one/log?limitBytes=10`)).body, full.body.slice(0, 10));
    assert.equal((await apiGet(c.kubeconfig, `${base}/one/log?tailLines=0`)).body, '');
    assert.equal((await apiGet(c.kubeconfig, `${base}/one/log?sinceSeconds=3600`)).body, full.body);
    const noContainer = await apiGet(c.kubeconfig, `${base}/two/log`);
    assert.equal(noContainer.status, 400);
    assert.equal(JSON.parse(noContainer.body).message, 'a container name must be specified for pod two, choose one of: [a b]');
    const negative = await apiGet(c.kubeconfig, `${base}/one/log?tailLines=-1`);
    assert.equal(negative.status, 422);
    assert.match(JSON.parse(negative.body).message, /tailLines: Invalid value: -1: must be greater than or equal to 0/);
    const missing = await apiGet(c.kubeconfig, `${base}/nope/log`);
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).message, 'pods "nope" not found');
    const plainExec = await apiGet(c.kubeconfig, `${base}/one/exec?command=true&stdout=true`);
    assert.equal(plainExec.status, 400);
    assert.equal(JSON.parse(plainExec.body).message, 'Upgrade request required');
  });
});

describe('kubectl exec and attach (host-process test runtime)', () => {
  let cp: ControlPlane;
  let runtime: HostExecRuntime;
  before(async () => {
    runtime = new HostExecRuntime();
    cp = await startControlPlane({ dataDir: tempDir('petset-streams-'), nodes: 1, runtime: () => runtime });
    const create = (m: string) => run('kubectl', ['--kubeconfig', cp.kubeconfigPath, 'apply', '-f', '-'], m);
    await create(podManifest('box', [{ name: 'main' }]));
    await create(podManifest('talk', [{ name: 'main', args: ['read line; echo "got $line"; exit 0'], stdin: true }]));
    await eventually(async () => {
      const pods = JSON.parse((await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, 'get', 'pods', '-o', 'json'])).stdout).items;
      return pods.length === 2 && pods.every((p: any) => p.status?.phase === 'Running');
    }, 20_000, 'pods running');
  });
  after(async () => {
    await cp?.stop();
  });

  for (const { v, bin } of VERSIONS) {
    const k = (args: string[], input?: string) => run(bin, ['--kubeconfig', cp.kubeconfigPath, ...args], input);
    const skip = !fs.existsSync(bin) && `${bin} is absent`;

    it(`kubectl ${v} exec: stdout, stderr and the exit code`, { skip }, async () => {
      const ok = await k(['exec', 'box', '--', 'sh', '-c', 'echo out; echo err >&2']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'out\n');
      assert.equal(ok.stderr, 'err\n');
      const failed = await k(['exec', 'box', '--', 'sh', '-c', 'echo partial; exit 3']);
      assert.equal(failed.code, 3);
      assert.equal(failed.stdout, 'partial\n');
      assert.match(failed.stderr, /command terminated with exit code 3/);
      // all of a large output arrives before the session ends
      const big = await k(['exec', 'box', '--', 'head', '-c', '3000000', '/dev/zero']);
      assert.equal(big.code, 0, big.stderr);
      assert.equal(big.stdout.length, 3_000_000);
    });

    it(`kubectl ${v} exec -i: stdin reaches the command and its end ends it`, { skip }, async () => {
      const big = 'x'.repeat(200_000) + '\n';
      const r = await k(['exec', '-i', 'box', '--', 'sh', '-c', 'wc -c; echo done'], big);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split(/\s+/).join(' '), `${big.length} done`);
    });

    it(`kubectl ${v} exec -it: a real pty with the client's terminal size`, { skip }, async () => {
      // script gives kubectl a terminal of 33 rows and 101 columns
      const cmd = `stty rows 33 cols 101; ${bin} --kubeconfig ${cp.kubeconfigPath} exec -it box -- sh -c 'tty; stty size; exit 4'`;
      const r = await run('script', ['-qec', cmd, '/dev/null'], '');
      assert.match(r.stdout, /\/dev\/pts\/\d+/);
      assert.match(r.stdout, /33 101/);
      assert.equal(r.code, 4, r.stdout);
    });

    it(`kubectl ${v} cp both ways (tar over exec)`, { skip }, async () => {
      // the test runtime's "container" is the host, so the pod side is a temp directory here
      const podDir = tempDir('petset-cp-pod-');
      const local = tempDir('petset-cp-local-');
      const content = 'line one\n' + 'y'.repeat(300_000) + '\nlast\n';
      fs.writeFileSync(`${local}/in.txt`, content);
      const to = await k(['cp', `${local}/in.txt`, `box:${podDir}/copied.txt`]);
      assert.equal(to.code, 0, to.stderr);
      assert.equal(fs.readFileSync(`${podDir}/copied.txt`, 'utf8'), content);
      const from = await k(['cp', `box:${podDir}/copied.txt`, `${local}/back.txt`]);
      assert.equal(from.code, 0, from.stderr);
      assert.equal(fs.readFileSync(`${local}/back.txt`, 'utf8'), content);
      fs.rmSync(podDir, { recursive: true, force: true });
      fs.rmSync(local, { recursive: true, force: true });
    });

    it(`kubectl ${v} run -it --rm --restart=Never: a prompt, the terminal's size, the exit code, the pod gone`, { skip }, async () => {
      const name = `bb${v.replace('.', '')}`;
      const cmd = `stty rows 30 cols 90; ${bin} --kubeconfig ${cp.kubeconfigPath} run -it --rm --restart=Never ${name} --image=busybox -- sh`;
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      try {
        await eventually(() => out.includes("If you don't see a command prompt, try pressing enter."), 30_000, `the attach: ${out}`);
        child.stdin.write('echo marker-$((40+2)); stty size\n');
        await eventually(() => /marker-42\r\n30 90\r\n/.test(out), 15_000, `the command's output: ${JSON.stringify(out)}`);
        child.stdin.write('exit 3\n');
        assert.equal(await exited, 3, out);
        assert.match(out, new RegExp(`pod "${name}" deleted`));
        assert.match(out, new RegExp(`pod default/${name} terminated \\(Error\\)`));
        await eventually(async () => (await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, 'get', 'pod', name])).code !== 0, 15_000, 'the pod to be gone');
      } finally {
        child.kill('SIGKILL');
      }
    });

    it(`kubectl ${v} attach -i: talks to the container's process`, { skip }, async () => {
      const r = await k(['attach', '-i', 'talk', '-c', 'main'], 'hello\n');
      assert.match(r.stdout, /got hello/);
    });
  }
  it('@kubernetes/client-node Exec, Attach, Log and PortForward', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const collect = () => {
      let text = '';
      const w = new Writable({ write: (c, _e, cb) => ((text += c), cb()) });
      return { w, text: () => text };
    };
    // Exec, with stdin and the final Status
    const out = collect();
    const err = collect();
    const stdin = new PassThrough();
    const status = await new Promise<k8s.V1Status>((resolve) => {
      void new k8s.Exec(kc).exec('default', 'box', 'main', ['sh', '-c', 'cat; echo oops >&2; exit 2'], out.w, err.w, stdin, false, resolve);
      stdin.end('from client-node\n');
    });
    assert.equal(out.text(), 'from client-node\n');
    assert.equal(err.text(), 'oops\n');
    assert.equal(status.status, 'Failure');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details?.causes, [{ reason: 'ExitCode', message: '2' }]);

    // Attach to the container's process
    const aout = collect();
    const ain = new PassThrough();
    const ws = await new k8s.Attach(kc).attach('default', 'talk', 'main', aout.w, null, ain, false);
    ain.write('client-node\n');
    await eventually(() => aout.text().includes('got client-node'), 10_000, 'the attached output');
    ws.close();

    // Log
    const log = collect();
    await new Promise<void>((resolve, reject) => {
      void new k8s.Log(kc).log('default', 'box', 'main', log.w, { follow: false, tailLines: 5 }).then(() => log.w.on('finish', () => resolve()), reject);
    });
    assert.match(log.text(), /container main started in pod default\/box/);

    // PortForward (WebSocket channels, ports in the query)
    const pod = JSON.parse((await run('kubectl', ['--kubeconfig', cp.kubeconfigPath, 'get', 'pod', 'box', '-o', 'json'])).stdout);
    const server = net.createServer((sock) => sock.on('data', (d) => sock.write(`pf:${d}`)));
    await new Promise<void>((r) => server.listen(0, pod.status.podIP, r));
    try {
      const pfOut = collect();
      const pfIn = new PassThrough();
      const pws = (await new k8s.PortForward(kc).portForward('default', 'box', [(server.address() as net.AddressInfo).port], pfOut.w, null, pfIn)) as any;
      pfIn.write('ping');
      await eventually(() => pfOut.text() === 'pf:ping', 10_000, `the forwarded answer (got ${JSON.stringify(pfOut.text())})`);
      pws.close();
    } finally {
      server.close();
    }
  });
  it('exec over older WebSocket protocols: v4 (JSON Status) and v2 (text errors)', async () => {
    const { server: api, token } = credentials(cp.kubeconfigPath);
    const url = `${api.replace('https', 'wss')}/api/v1/namespaces/default/pods/box/exec?command=sh&command=-c&command=echo%20v;%20exit%205&stdout=true&stderr=true`;
    const session = (protocol: string) =>
      new Promise<{ protocol: string; channels: Record<number, string> }>((resolve, reject) => {
        const ws = new WebSocket(url, [protocol], { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false });
        const channels: Record<number, string> = {};
        ws.on('message', (m: Buffer) => (channels[m[0]] = (channels[m[0]] ?? '') + m.subarray(1).toString()));
        ws.on('close', () => resolve({ protocol: ws.protocol, channels }));
        ws.on('error', reject);
      });
    const v4 = await session('v4.channel.k8s.io');
    assert.equal(v4.protocol, 'v4.channel.k8s.io');
    assert.equal(v4.channels[1], 'v\n');
    const status = JSON.parse(v4.channels[3]);
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '5' }]);
    const v2 = await session('v2.channel.k8s.io');
    assert.equal(v2.protocol, 'v2.channel.k8s.io');
    assert.equal(v2.channels[1], 'v\n');
    assert.equal(v2.channels[3], "command terminated with non-zero exit code: command 'sh -c echo v; exit 5' exited with 5");
  });
});
