// Per-pod and per-container cgroups for the process runtime. The layout is detected, not
// assumed (runtime.md §5): on a cgroup v1 host (or a v1/v2 hybrid, as on the CI machines)
// limits go through the v1 memory/cpu/pids hierarchies and the v2 "unified" hierarchy is
// used only to track and kill a pod's processes (cgroup.kill); on a pure v2 host both come
// from the one hierarchy. Groups are made under the cgroup petset itself runs in, since
// that may already be nested (a container, a CI job).
import fs from 'node:fs';
import path from 'node:path';

export interface CgroupLimits {
  /** bytes; 0 or undefined: no limit */
  memoryBytes?: number;
  /** cpu quota in millicores */
  cpuMilli?: number;
  pids?: number;
}

export interface CgroupLayout {
  /** v1 hierarchies (absolute base directories) */
  memory?: string;
  cpu?: string;
  pids?: string;
  /** a v2 hierarchy (absolute base directory) and which controllers it offers */
  unified?: string;
  unifiedControllers: string[];
}

/** Reads /proc/self/cgroup and /proc/self/mountinfo to find where this process's groups live. */
export function detectCgroups(): CgroupLayout {
  const layout: CgroupLayout = { unifiedControllers: [] };
  let own: string[] = [];
  let mounts: string[] = [];
  try {
    own = fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
    mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');
  } catch {
    return layout;
  }
  const mountOf = (type: 'cgroup' | 'cgroup2', controller?: string): string | undefined => {
    for (const line of mounts) {
      const [pre, post] = line.split(' - ');
      if (!post) continue;
      const [fstype, , opts] = post.split(' ');
      if (fstype !== type) continue;
      if (controller && !opts.split(',').includes(controller)) continue;
      return pre.split(' ')[4];
    }
    return undefined;
  };
  for (const line of own) {
    const [, controllers, rel] = line.split(':');
    if (controllers === '') {
      const mnt = mountOf('cgroup2');
      if (mnt && writable(path.join(mnt, rel))) {
        layout.unified = path.join(mnt, rel);
        layout.unifiedControllers = readText(path.join(mnt, 'cgroup.controllers')).split(/\s+/).filter(Boolean);
      }
      continue;
    }
    for (const c of controllers.split(',')) {
      if (c !== 'memory' && c !== 'cpu' && c !== 'pids') continue;
      const mnt = mountOf('cgroup', c);
      if (mnt && writable(path.join(mnt, rel))) layout[c] = path.join(mnt, rel);
    }
  }
  return layout;
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Cgroups named by a relative path (e.g. "petset/<sandbox>/<container>") in every usable hierarchy. */
export class Cgroups {
  constructor(readonly layout: CgroupLayout = detectCgroups()) {}

  /** Whether a memory limit can be enforced (and an OOM kill seen) here. */
  get memoryLimits(): boolean {
    return !!this.layout.memory || this.layout.unifiedControllers.includes('memory');
  }

  /** Whether a pids limit (the pod's --pod-max-pids) can be enforced here. */
  get pidsLimits(): boolean {
    return !!this.layout.pids || this.layout.unifiedControllers.includes('pids');
  }

  /** Why limits cannot be applied, or undefined when they can. */
  limitsUnavailable(): string | undefined {
    if (this.memoryLimits) return undefined;
    return 'no writable cgroup v1 memory hierarchy and no cgroup v2 memory controller for this process';
  }

  /** Directories that make up the group, one per hierarchy. */
  dirs(rel: string): string[] {
    const bases = [this.layout.memory, this.layout.cpu, this.layout.pids, this.layout.unified].filter((b): b is string => !!b);
    return [...new Set(bases)].map((b) => path.join(b, rel));
  }

  /** Makes the group and applies limits (best effort: a limit that cannot be written is skipped). */
  create(rel: string, limits: CgroupLimits = {}): void {
    for (const dir of this.dirs(rel)) {
      try {
        fs.mkdirSync(dir, { recursive: true });
      } catch {
        /* a hierarchy we cannot write: the others still work */
      }
    }
    const { memory, cpu, pids, unified, unifiedControllers } = this.layout;
    const v2 = unified ? path.join(unified, rel) : undefined;
    if (limits.memoryBytes) {
      if (memory) {
        write(path.join(memory, rel, 'memory.limit_in_bytes'), String(limits.memoryBytes));
        write(path.join(memory, rel, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      } else if (v2 && unifiedControllers.includes('memory')) {
        enableV2(unified!, rel, 'memory');
        write(path.join(v2, 'memory.max'), String(limits.memoryBytes));
        write(path.join(v2, 'memory.swap.max'), '0');
      }
    }
    if (limits.cpuMilli) {
      const quota = Math.max(1000, Math.round(limits.cpuMilli * 100));
      if (cpu) {
        write(path.join(cpu, rel, 'cpu.cfs_period_us'), '100000');
        write(path.join(cpu, rel, 'cpu.cfs_quota_us'), String(quota));
      } else if (v2 && unifiedControllers.includes('cpu')) {
        enableV2(unified!, rel, 'cpu');
        write(path.join(v2, 'cpu.max'), `${quota} 100000`);
      }
    }
    if (limits.pids) {
      if (pids) write(path.join(pids, rel, 'pids.max'), String(limits.pids));
      else if (v2 && unifiedControllers.includes('pids')) {
        enableV2(unified!, rel, 'pids');
        write(path.join(v2, 'pids.max'), String(limits.pids));
      }
    }
  }

  /** cgroup.procs files a new process must be written into (its own pid) to join the group. */
  procsFiles(rel: string): string[] {
    return this.dirs(rel)
      .map((d) => path.join(d, 'cgroup.procs'))
      .filter((f) => fs.existsSync(f));
  }

  /** Host pids in the group (and its children). */
  pids(rel: string): number[] {
    const out = new Set<number>();
    const walk = (dir: string) => {
      for (const p of readText(path.join(dir, 'cgroup.procs')).split('\n')) if (p) out.add(Number(p));
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    };
    for (const dir of this.dirs(rel)) walk(dir);
    return [...out];
  }

  /** Kills every process in the group: cgroup.kill where the kernel has it, else SIGKILL by pid. */
  kill(rel: string): void {
    if (this.layout.unified && write(path.join(this.layout.unified, rel, 'cgroup.kill'), '1')) return;
    for (let round = 0; round < 5; round++) {
      const pids = this.pids(rel);
      if (!pids.length) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }

  /**
   * The group's cumulative CPU time (ns) and memory working set (bytes), as the kubelet's
   * summary reports them. CPU comes from the v2 cpu.stat, which the kernel keeps whether or not
   * the cpu controller is enabled there (so it works on the v1/v2 hybrid too); memory from the
   * memory controller (usage less inactive file pages, cadvisor's working set). Processes' own
   * /proc figures stand in where a hierarchy lacks the file.
   */
  usage(rel: string): { cpuCoreNanoSeconds: number; workingSetBytes: number } {
    const { memory, unified } = this.layout;
    let cpu: number | undefined;
    if (unified) {
      const m = /^usage_usec (\d+)/m.exec(readText(path.join(unified, rel, 'cpu.stat')));
      if (m) cpu = Number(m[1]) * 1000;
    }
    let mem: number | undefined;
    if (memory) {
      const usage = readText(path.join(memory, rel, 'memory.usage_in_bytes')).trim();
      const inactive = /^total_inactive_file (\d+)/m.exec(readText(path.join(memory, rel, 'memory.stat')));
      if (usage) mem = Math.max(0, Number(usage) - Number(inactive?.[1] ?? 0));
    } else if (unified && this.layout.unifiedControllers.includes('memory')) {
      const usage = readText(path.join(unified, rel, 'memory.current')).trim();
      const inactive = /^inactive_file (\d+)/m.exec(readText(path.join(unified, rel, 'memory.stat')));
      if (usage) mem = Math.max(0, Number(usage) - Number(inactive?.[1] ?? 0));
    }
    if (cpu === undefined || mem === undefined) {
      const procs = procUsage(this.pids(rel));
      cpu ??= procs.cpuNs;
      mem ??= procs.rssBytes;
    }
    return { cpuCoreNanoSeconds: cpu, workingSetBytes: mem };
  }

  /** How many times the kernel's OOM killer killed a process of the group. */
  oomKills(rel: string): number {
    const { memory, unified } = this.layout;
    const text = memory ? readText(path.join(memory, rel, 'memory.oom_control')) : unified ? readText(path.join(unified, rel, 'memory.events')) : '';
    const m = /oom_kill (\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  }

  /** Removes the group (children first); groups that still hold processes stay. */
  remove(rel: string): void {
    const rm = (dir: string) => {
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) rm(path.join(dir, e.name));
      try {
        fs.rmdirSync(dir);
      } catch {
        /* busy or gone */
      }
    };
    for (const dir of this.dirs(rel)) rm(dir);
  }
}

function write(file: string, value: string): boolean {
  try {
    fs.writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

/** v2 controllers must be enabled in every ancestor's subtree_control below our own group. */
function enableV2(base: string, rel: string, controller: string): void {
  const parts = rel.split('/').filter(Boolean);
  let dir = base;
  for (const part of parts) {
    write(path.join(dir, 'cgroup.subtree_control'), `+${controller}`);
    dir = path.join(dir, part);
  }
}

/** CPU time (utime+stime of each process and its reaped children) and resident memory from /proc. */
function procUsage(pids: number[]): { cpuNs: number; rssBytes: number } {
  const HZ = 100; // USER_HZ: Linux reports clock ticks of 1/100 s to user space on every architecture
  let ticks = 0;
  let rss = 0;
  for (const pid of pids) {
    const stat = readText(`/proc/${pid}/stat`);
    // the command name may hold spaces and parentheses: fields start after the last ")"
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f.length > 16) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readText(`/proc/${pid}/status`));
    if (m) rss += Number(m[1]) * 1024;
  }
  return { cpuNs: (ticks * 1e9) / HZ, rssBytes: rss };
}
