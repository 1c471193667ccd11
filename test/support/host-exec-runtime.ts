// A test-only runtime: the simulated runtime for pods, plus exec and attach as real host
// processes (a real pty through Python's pty module when a terminal is asked for), so the
// exec/attach protocols can be tested end to end before the process runtime exists.
//   exec:   runs the command on the host.
//   attach: connects to the container's "main process": started at the first attach as
//           `sh -c "<container args joined>"` (or `cat` without args), and kept until it exits.
//   A container with `stdin: true` and `tty: true` (kubectl run -it) is a real host process
//   from its start: its command and args run in a pty, its output is its log, and its exit is
//   the container's exit (so the pod completes as kubectl run --rm expects).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AttachRequest, ContainerRequest, ContainerExit, ExecRequest, ExecResult, LogLine, LogOptions, StartedContainer } from '../../src/agent/runtime/runtime.js';
import { SimRuntime } from '../../src/agent/runtime/sim.js';

const PTY_HELPER = `
import os, sys, pty, select, struct, fcntl, termios
argv = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        sys.stderr.write("exec %s: %s\\n" % (argv[0], e.strerror)); os._exit(127)
inputs = [0, fd, 3]
pending = b""
while True:
    r, _, _ = select.select(inputs, [], [])
    if 0 in r:
        d = os.read(0, 65536)
        if not d: inputs.remove(0)
        else: os.write(fd, d)
    if 3 in r:
        d = os.read(3, 4096)
        if not d: inputs.remove(3)
        pending += d
        while b"\\n" in pending:
            line, pending = pending.split(b"\\n", 1)
            w, h = [int(x) for x in line.split()]
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", h, w, 0, 0))
    if fd in r:
        try: d = os.read(fd, 65536)
        except OSError: break
        if not d: break
        os.write(1, d)
_, st = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
`;

interface Running {
  child: ChildProcess;
  exited: Promise<number>;
}

/** A container that is a real process from its start (stdin + tty). */
interface RealContainer {
  sandboxId: string;
  run: Running;
  lines: LogLine[];
  /** output listeners (attached sessions) */
  listeners: Set<(chunk: Buffer) => void>;
  /** the pty's size channel */
  exited: boolean;
  waiters: Array<() => void>;
}

export class HostExecRuntime extends SimRuntime {
  private readonly specs = new Map<string, Record<string, any>>();
  private readonly mains = new Map<string, Running>();
  private readonly real = new Map<string, RealContainer>();
  readonly children = new Set<ChildProcess>();

  override async startContainer(sandboxId: string, req: ContainerRequest, onExit: (exit: ContainerExit) => void): Promise<StartedContainer> {
    if (req.container.stdin && req.container.tty) return this.startReal(sandboxId, req, onExit);
    const started = await super.startContainer(sandboxId, req, onExit);
    this.specs.set(started.id, req.container);
    return started;
  }

  private startReal(sandboxId: string, req: ContainerRequest, onExit: (exit: ContainerExit) => void): StartedContainer {
    const id = randomBytes(32).toString('hex');
    const argv: string[] = [...(req.container.command ?? []), ...(req.container.args ?? [])];
    const run = this.spawnHost(argv.length ? argv : ['sh'], true, { tty: true });
    const rc: RealContainer = { sandboxId, run, lines: [], listeners: new Set(), exited: false, waiters: [] };
    this.real.set(id, rc);
    this.specs.set(id, req.container);
    let partial = '';
    run.child.stdout!.on('data', (c: Buffer) => {
      for (const l of rc.listeners) l(c);
      const text = partial + c.toString();
      const parts = text.split('\n');
      partial = parts.pop()!;
      for (const t of parts) rc.lines.push({ time: new Date(), stream: 'stdout', text: t.replace(/\r$/, '') });
      for (const w of rc.waiters.splice(0)) w();
    });
    run.child.stdin!.on('error', () => {});
    (run.child.stdio[3] as NodeJS.WritableStream).on('error', () => {});
    void run.exited.catch(() => 127).then((exitCode) => {
      rc.exited = true;
      for (const w of rc.waiters.splice(0)) w();
      onExit({ exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: new Date() });
    });
    return { id, startedAt: new Date() };
  }

  override async stopContainer(containerId: string, graceMs: number): Promise<void> {
    const rc = this.real.get(containerId);
    if (!rc) return super.stopContainer(containerId, graceMs);
    if (rc.exited) return;
    rc.run.child.kill('SIGTERM');
    const timer = setTimeout(() => rc.run.child.kill('SIGKILL'), graceMs);
    await rc.run.exited.catch(() => 0);
    clearTimeout(timer);
  }

  override async runHandler(containerId: string, req: Parameters<SimRuntime['runHandler']>[1]) {
    const rc = this.real.get(containerId);
    if (!rc) return super.runHandler(containerId, req);
    return rc.exited ? { ok: false, output: 'container exited' } : { ok: true, output: '' };
  }

  override async *logs(containerId: string, opts: LogOptions = {}): AsyncIterable<LogLine> {
    const rc = this.real.get(containerId);
    if (!rc) return yield* super.logs(containerId, opts);
    let seen = 0;
    for (;;) {
      yield* rc.lines.slice(seen);
      seen = rc.lines.length;
      if (!opts.follow || rc.exited) return;
      await new Promise<void>((r) => rc.waiters.push(r));
    }
  }

  override async removeSandbox(sandboxId: string): Promise<void> {
    for (const [id, rc] of this.real) {
      if (rc.sandboxId !== sandboxId) continue;
      if (!rc.exited) rc.run.child.kill('SIGKILL');
      this.real.delete(id);
    }
    return super.removeSandbox(sandboxId);
  }

  private spawnHost(argv: string[], tty: boolean, req: AttachRequest): Running {
    const child = tty
      ? spawn('python3', ['-c', PTY_HELPER, ...argv], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })
      : spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        this.children.delete(child);
        resolve(code ?? 128 + (signal ? 9 : 0));
      });
    });
    if (tty && req.resize) {
      const sizes = child.stdio[3] as NodeJS.WritableStream;
      sizes.on('error', () => {});
      void (async () => {
        for await (const s of req.resize!) sizes.write(`${s.width} ${s.height}\n`);
      })();
    }
    return { child, exited };
  }

  private connect(r: Running, req: AttachRequest, closeStdin: boolean): void {
    r.child.stdin!.on('error', () => {});
    if (req.stdin) {
      req.stdin.on('data', (c: Buffer) => r.child.stdin!.write(c));
      if (closeStdin) req.stdin.on('end', () => r.child.stdin!.end());
    } else if (closeStdin) r.child.stdin!.end();
    if (req.stdout) r.child.stdout!.on('data', (c: Buffer) => req.stdout!.write(c));
    const err = req.tty ? req.stdout : req.stderr;
    if (err) r.child.stderr!.on('data', (c: Buffer) => err.write(c));
  }

  override async exec(containerId: string, req: ExecRequest): Promise<ExecResult> {
    if (!this.specs.has(containerId)) throw new Error(`container ${containerId} is not running`);
    const r = this.spawnHost(req.command, req.tty, req);
    this.connect(r, req, true);
    try {
      return { exitCode: await r.exited };
    } catch (e) {
      throw new Error(`exec: ${JSON.stringify(req.command[0])}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'executable file not found in $PATH' : (e as Error).message}`);
    }
  }

  override async attach(containerId: string, req: AttachRequest): Promise<void> {
    const spec = this.specs.get(containerId);
    if (!spec) throw new Error(`container ${containerId} is not running`);
    const rc = this.real.get(containerId);
    if (rc) {
      if (rc.exited) return;
      const listener = (c: Buffer) => req.stdout?.write(c);
      rc.listeners.add(listener);
      const sizes = rc.run.child.stdio[3] as NodeJS.WritableStream;
      if (req.resize) void (async () => {
        for await (const sz of req.resize!) sizes.write(`${sz.width} ${sz.height}\n`);
      })();
      req.stdin?.on('data', (c: Buffer) => rc.run.child.stdin!.write(c));
      // stdinOnce: the container's stdin closes with the first attached session's
      if (spec.stdinOnce) req.stdin?.on('end', () => rc.run.child.stdin!.end());
      await rc.run.exited.catch(() => 0);
      rc.listeners.delete(listener);
      return;
    }
    let main = this.mains.get(containerId);
    if (!main) {
      const args: string[] = [...(spec.command ?? []), ...(spec.args ?? [])];
      main = this.spawnHost(args.length ? ['sh', '-c', args.join(' ')] : ['cat'], req.tty, req);
      this.mains.set(containerId, main);
      // a later attach finds a new instance, as after a restart
      void main.exited.catch(() => 0).then(() => this.mains.delete(containerId));
    }
    this.connect(main, req, !!spec.stdinOnce);
    // the session lasts until the process ends (its output keeps flowing after stdin closes)
    await main.exited.catch(() => 0);
  }

  override killAll(): void {
    for (const c of this.children) c.kill('SIGKILL');
    super.killAll();
  }
}
