// A test-only runtime: the simulated runtime for pods, plus exec and attach as real host
// processes (a real pty through Python's pty module when a terminal is asked for), so the
// exec/attach protocols can be tested end to end before the process runtime exists.
//   exec:   runs the command on the host.
//   attach: connects to the container's "main process": started at the first attach as
//           `sh -c "<container args joined>"` (or `cat` without args), and kept until it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import type { AttachRequest, ContainerRequest, ContainerExit, ExecRequest, ExecResult, StartedContainer } from '../../src/agent/runtime/runtime.js';
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

export class HostExecRuntime extends SimRuntime {
  private readonly specs = new Map<string, Record<string, any>>();
  private readonly mains = new Map<string, Running>();
  readonly children = new Set<ChildProcess>();

  override async startContainer(sandboxId: string, req: ContainerRequest, onExit: (exit: ContainerExit) => void): Promise<StartedContainer> {
    const started = await super.startContainer(sandboxId, req, onExit);
    this.specs.set(started.id, req.container);
    return started;
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
