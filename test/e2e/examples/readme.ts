// Runs an example README's commands the way a new user pastes them: every fenced `sh` block,
// in order, as one bash script in a fresh directory that holds `examples/` and `bin/` (this
// repository's, so `node bin/petset.js` runs this checkout as from its root) and petset as a
// local npm package (so `npx petset` runs it too, offline), with no
// KUBECONFIG of its own: the README's `export KUBECONFIG=$PWD/.petset/kubeconfig` points the
// real kubectl on PATH at the README's own `petset up`.
//
// One change is made to what the README says: `petset up` (or `petset.js up`) gets `--port 0` and pod and service
// ranges of its own, so the runs of parallel tests (and a user's own cluster on :6443) never
// collide. Nothing else is rewritten. A command that exits non-zero is recorded by bash's ERR
// trap (commands in `until`/`if`/`||` are conditions, not failures); the README marks the
// commands it shows failing with a `# fails:` comment, and blocks for situations the test
// cannot stage (a recovery after a crash) with the info string `sh skip-test`. Background jobs (`petset up &`,
// `kubectl proxy &`) end with the script: the test sends SIGTERM to the script's process
// group, which `petset up` answers as Ctrl-C (stopping its pods), and waits for it to exit.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { eventually, petsetBin, processAlive, randomRootRanges, repoRoot, tempDir } from '../harness.js';
import { pidsOf, processesUnder } from './support.js';

function processKillQuiet(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

export interface ReadmeRun {
  /** stdout and stderr of the script, interleaved as they came */
  output: string;
  /** commands that exited non-zero, with the README's text of them */
  failures: { status: number; command: string; marked: boolean }[];
  /** the script ended by itself (not by the time limit) */
  finished: boolean;
  /** processes of the README's pods (by its directory, never by name) still running once its `petset up` exited on SIGTERM */
  leftovers: string[];
}

const FAIL_MARK = '__README_COMMAND_FAILED__';

/** The README's fenced `sh` blocks (not `sh skip-test`), in order, as script lines. */
export function readmeCommands(markdown: string): string[] {
  const lines: string[] = [];
  let inBlock = false;
  for (const line of markdown.split('\n')) {
    if (!inBlock && /^```(sh|bash|shell)\s*$/.test(line)) inBlock = true;
    else if (inBlock && /^```\s*$/.test(line)) inBlock = false;
    else if (inBlock) lines.push(line);
  }
  return lines;
}

/** The logical command (backslash continuations joined) that script line `n` (1-based) belongs to. */
function commandAt(lines: string[], n: number): string {
  let start = n - 1;
  while (start > 0 && lines[start - 1].endsWith('\\')) start--;
  let end = start;
  while (end < lines.length - 1 && lines[end].endsWith('\\')) end++;
  return lines.slice(start, end + 1).join('\n');
}

export async function runReadme(example: string, timeoutMs: number): Promise<ReadmeRun> {
  const work = tempDir(`petset-readme-${example}-`);
  fs.symlinkSync(path.join(repoRoot, 'examples'), path.join(work, 'examples'));
  // the READMEs start petset from the checkout's root: `node bin/petset.js up …`
  fs.symlinkSync(path.join(repoRoot, 'bin'), path.join(work, 'bin'));
  fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: `readme-${example}`, private: true }));
  fs.mkdirSync(path.join(work, 'node_modules', '.bin'), { recursive: true });
  fs.symlinkSync(petsetBin, path.join(work, 'node_modules', '.bin', 'petset'));

  const ranges = randomRootRanges();
  const own = `--port 0 --pod-cidr ${ranges.podCidr} --service-cluster-ip-range ${ranges.serviceCidr}`;
  const commands = readmeCommands(fs.readFileSync(path.join(repoRoot, 'examples', example, 'README.md'), 'utf8')).map((l) => l.replace(/\bpetset(\.js)? up\b/, (m) => `${m} ${own}`));
  // line 1 is the trap, so README line i is script line i + 2
  const script = [`trap 'rc=$?; echo "${FAIL_MARK} $LINENO $rc" >&2' ERR`, ...commands].join('\n') + '\n';
  fs.writeFileSync(path.join(work, 'readme.sh'), script);

  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' };
  delete env.KUBECONFIG;
  const bash = spawn('bash', ['readme.sh'], { cwd: work, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  bash.stdout!.on('data', (d) => (output += d));
  bash.stderr!.on('data', (d) => (output += d));
  const group = bash.pid!;
  let finished = true;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      finished = false;
      output += `\n[the README test: still running after ${timeoutMs} ms; stopped]\n`;
      resolve();
    }, timeoutMs);
    bash.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });

  // Ctrl-C for everything the script left running: petset up stops its pods
  const ups = () =>
    pidsOf((a) => a.some((x) => x.endsWith('petset.js') || x.endsWith('/.bin/petset')) && a.includes('up')).filter((pid) => {
      try {
        return fs.realpathSync(`/proc/${pid}/cwd`) === fs.realpathSync(work);
      } catch {
        return false;
      }
    });
  const running = ups();
  try {
    process.kill(-group, 'SIGTERM');
  } catch {
    // the group is gone already
  }
  await eventually(() => running.every((pid) => !processAlive(pid)), 90_000, `the README's petset up (${running}) to stop`);
  // `up` stops every pod's processes (pause included) on every node before it exits: none may
  // outlive it. Ones SIGKILLed just before `up` exited may take a moment to be reaped.
  let leftovers = processesUnder(work);
  if (leftovers.length) {
    await eventually(() => processesUnder(work).length === 0, 10_000, 'the pods\' processes to end').catch(() => {});
    leftovers = processesUnder(work);
    // reported by the test; not left running on the machine
    for (const l of leftovers) processKillQuiet(Number(l.split(':')[0]));
  }

  const lines = script.split('\n');
  const failures: ReadmeRun['failures'] = [];
  for (const m of output.matchAll(new RegExp(`${FAIL_MARK} (\\d+) (\\d+)`, 'g'))) {
    const command = commandAt(lines, Number(m[1]));
    failures.push({ status: Number(m[2]), command, marked: /#\s*fails:/.test(command) });
  }
  fs.rmSync(work, { recursive: true, force: true });
  return { output, failures, finished, leftovers };
}
