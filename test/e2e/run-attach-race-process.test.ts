// `kubectl run -it --rm --restart=Never NAME -- COMMAND` against real pods, in the race every
// short command runs: kubectl waits for the pod to be Running and Ready, then attaches; a command
// that prints and ends at once (the kubia README's `dig SRV ...`) may be over by then. The user must
// still see its output: the attach to an ended container fails as a kubelet's does, and kubectl
// prints "warning: couldn't attach to pod/NAME, falling back to streaming logs: ..." and the logs.
//
// The windows are forced, not waited for: the test's runtime is the process runtime with two
// holds. (1) Ended before the attach: the container counts as started only once its command is
// over, and its end reaches the runtime's bookkeeping (and so the pod's status) only once the node
// agent has been asked about an attach, so kubectl sees the pod Running and Ready after the command
// is over. (2) Ending while the attach is set up: the
// command waits for a file; the attach, after the upgrade, creates it, waits for the command's
// end, and only then starts. (3) Printed before the attach, ended after it: the attach waits for the
// output, is accepted while the command still runs, then lets it end. Both with kubectl 1.27 (SPDY)
// and 1.33 (WebSocket).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/cli/controlplane.js';
import { ProcessRuntime, processRuntimeUnavailable } from '../../src/agent/runtime/process/runtime.js';
import type { AttachRequest } from '../../src/agent/runtime/runtime.js';
import { eventually, tempDir } from './harness.js';

const why = processRuntimeUnavailable() ?? (fs.existsSync('/bin/busybox') || fs.existsSync('/usr/bin/busybox') ? undefined : 'busybox is not installed');
if (why) console.log(`# skipping kubectl run's attach race against real pods: ${why}`);

const VERSIONS = ['1.27', '1.33'].map((v) => ({ v, bin: `/usr/lib/google-cloud-sdk/bin/kubectl.${v}` })).filter((x) => fs.existsSync(x.bin));

interface Internal {
  id: string;
  name: string;
  dir: string;
}

/** The process runtime, holding back the end of chosen containers as described above. */
class RaceRuntime extends ProcessRuntime {
  /** containers (by name) whose end the runtime hears of only when released */
  readonly holdEnd = new Set<string>();
  /** containers (by name) whose command waits for /tmp/gate, which their attach creates */
  readonly gated = new Set<string>();
  private readonly held = new Map<string, Array<() => void>>();
  /** containers (by name) whose attach waits until their output is written, then lets the command end */
  readonly printedFirst = new Set<string>();

  constructor(opts: ConstructorParameters<typeof ProcessRuntime>[0]) {
    super(opts);
    // the runtime learns of a container's end through onChildExit: deferred for held containers
    const self = this as unknown as { onChildExit: (c: Internal, ...rest: unknown[]) => void };
    const noted = self.onChildExit.bind(this);
    self.onChildExit = (c, ...rest) => {
      if (this.holdEnd.has(c.name)) this.held.set(c.name, [...(this.held.get(c.name) ?? []), () => noted(c, ...rest)]);
      else noted(c, ...rest);
    };
  }

  private internal(id: string): Internal | undefined {
    return (this as unknown as { containers: Map<string, Internal> }).containers.get(id);
  }

  letGo(name: string): void {
    this.holdEnd.delete(name);
    for (const f of this.held.get(name)?.splice(0) ?? []) f();
  }

  /** A held container is started only once its command is over: the pod goes Running and Ready after that. */
  override async startContainer(...args: Parameters<ProcessRuntime['startContainer']>): ReturnType<ProcessRuntime['startContainer']> {
    const started = await super.startContainer(...args);
    const c = this.internal(started.id);
    if (c && this.holdEnd.has(c.name) && !this.gated.has(c.name)) await commandOver(c);
    return started;
  }

  override running(id: string): boolean {
    const r = super.running(id);
    // the question was asked with the command over: from now on the runtime may know it
    const c = this.internal(id);
    if (!r && c) setImmediate(() => this.letGo(c.name));
    return r;
  }

  override async attach(id: string, req: AttachRequest): Promise<void> {
    const c = this.internal(id);
    if (c && this.printedFirst.has(c.name)) {
      await eventually(() => readText(path.join(c.dir, 'output.log')).includes('second-line'), 30_000, `${c.name}'s output`);
      // accepted while the command still runs (it waits for the gate), after all of its output
      const session = super.attach(id, req);
      await this.exec(id, { command: ['touch', '/tmp/gate'], tty: false });
      return session;
    }
    if (c && this.gated.has(c.name)) {
      await this.exec(id, { command: ['touch', '/tmp/gate'], tty: false });
      await commandOver(c);
      const session = super.attach(id, req);
      this.letGo(c.name);
      return session;
    }
    return super.attach(id, req);
  }
}

/** bwrap writes the sandbox init's exit code once the command is over. */
async function commandOver(c: Internal): Promise<void> {
  await eventually(() => /"exit-code"/.test(readText(path.join(c.dir, 'status.json'))), 30_000, `${c.name}'s command to end`);
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** kubectl run -it through a terminal (script), as a user types it; resolves with its exit code and everything it printed. */
function runIt(bin: string, kubeconfig: string, name: string, command: string): Promise<{ code: number | null; out: string }> {
  const cmd = `stty rows 25 cols 80; ${bin} --kubeconfig ${kubeconfig} run -it --rm --restart=Never ${name} --image=busybox -- sh -c '${command}'`;
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  // the terminal stays open (no EOF) until kubectl is done
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe("kubectl run -it: a command over before kubectl's attach still shows its output (real pods)", { skip: why }, () => {
  let cp: ControlPlane;
  let rt: RaceRuntime;
  before(async () => {
    const dataDir = tempDir('petset-run-race-');
    rt = new RaceRuntime({ stateDir: path.join(dataDir, 'runtime'), hide: [dataDir] });
    cp = await startControlPlane({ dataDir, nodes: 1, runtime: () => rt, dns: false });
    // the service account token volume of kubectl run's pods
    rt.useClient(cp.client);
  });
  after(async () => {
    await cp?.stop();
    rt?.killAll();
  });

  for (const { v, bin } of VERSIONS) {
    const tag = v.replace('.', '');

    it(`kubectl ${v}: the command ended before the attach (the node refuses it, kubectl prints the logs)`, async (t) => {
      const name = `before${tag}`;
      rt.holdEnd.add(name);
      const r = await runIt(bin, cp.kubeconfigPath, name, 'echo first-line; echo second-line').finally(() => rt.letGo(name));
      t.diagnostic(JSON.stringify(r.out));
      assert.match(r.out, new RegExp(`warning: couldn't attach to pod/${name}, falling back to streaming logs: .*container ${name} not found in pod ${name}_default`), r.out);
      assert.match(r.out, /first-line\r*\nsecond-line/, r.out);
      assert.match(r.out, new RegExp(`pod "${name}" deleted`), r.out);
      assert.equal(r.code, 0, r.out);
    });

    it(`kubectl ${v}: the command ended while the attach was set up (the attach fails, kubectl prints the logs)`, async (t) => {
      const name = `during${tag}`;
      rt.holdEnd.add(name);
      rt.gated.add(name);
      const r = await runIt(bin, cp.kubeconfigPath, name, 'while [ ! -e /tmp/gate ]; do sleep 0.05; done; echo first-line; echo second-line').finally(() => rt.letGo(name));
      t.diagnostic(JSON.stringify(r.out));
      assert.match(r.out, new RegExp(`warning: couldn't attach to pod/${name}, falling back to streaming logs: container ${name} not found in pod ${name}_default`), r.out);
      assert.match(r.out, /first-line\r*\nsecond-line/, r.out);
      assert.match(r.out, new RegExp(`pod "${name}" deleted`), r.out);
      assert.equal(r.code, 0, r.out);
    });

    it(`kubectl ${v}: the command printed before the attach and ended after it (the session shows its output from the start)`, async (t) => {
      const name = `printed${tag}`;
      rt.printedFirst.add(name);
      const r = await runIt(bin, cp.kubeconfigPath, name, 'echo first-line; echo second-line; while [ ! -e /tmp/gate ]; do sleep 0.05; done');
      t.diagnostic(JSON.stringify(r.out));
      assert.doesNotMatch(r.out, /couldn't attach/, r.out);
      assert.match(r.out, /first-line\r*\nsecond-line/, r.out);
      assert.match(r.out, new RegExp(`pod "${name}" deleted`), r.out);
      assert.equal(r.code, 0, r.out);
    });
  }
});
