// The pod's pause process, as small as Kubernetes' own: a static program that only calls
// pause(2) forever. It holds the pod's UTS and IPC namespaces (and the volume locks that
// follow the sandbox), so every byte it keeps resident counts per pod. A shell's `sleep`
// keeps ~1.4 MB resident (glibc, or busybox's static image); this one keeps a few pages.
// The program is 129 bytes of x86-64 machine code in a minimal ELF file written here (no
// compiler needed); elsewhere, or where it cannot run, the pause stays `sleep infinity`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const BASE = 0x400000n;
const EHDR = 64;
const PHDR = 56;

/** `for (;;) pause();` for x86-64 Linux: mov eax, 34 (SYS_pause); syscall; jmp back. */
const CODE = Buffer.from([0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7]);

/** A minimal static ELF64 executable: one header, one loadable read+execute segment, the code. */
export function pauseElf(): Buffer {
  const size = EHDR + PHDR + CODE.length;
  const b = Buffer.alloc(size);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // \x7fELF, 64-bit, little endian, version 1, System V
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(0x3e, 18); // EM_X86_64
  b.writeUInt32LE(1, 20); // EV_CURRENT
  b.writeBigUInt64LE(BASE + BigInt(EHDR + PHDR), 24); // entry point: the code
  b.writeBigUInt64LE(BigInt(EHDR), 32); // program headers right after this header
  b.writeBigUInt64LE(0n, 40); // no section headers
  b.writeUInt32LE(0, 48);
  b.writeUInt16LE(EHDR, 52);
  b.writeUInt16LE(PHDR, 54);
  b.writeUInt16LE(1, 56); // one program header
  b.writeUInt16LE(64, 58);
  b.writeUInt16LE(0, 60);
  b.writeUInt16LE(0, 62);
  const p = EHDR;
  b.writeUInt32LE(1, p); // PT_LOAD
  b.writeUInt32LE(5, p + 4); // PF_R | PF_X
  b.writeBigUInt64LE(0n, p + 8); // from the file's start
  b.writeBigUInt64LE(BASE, p + 16);
  b.writeBigUInt64LE(BASE, p + 24);
  b.writeBigUInt64LE(BigInt(size), p + 32);
  b.writeBigUInt64LE(BigInt(size), p + 40);
  b.writeBigUInt64LE(0x1000n, p + 48);
  CODE.copy(b, EHDR + PHDR);
  return b;
}

/**
 * Writes the pause program into dir and checks that it runs (it must still be running after a
 * moment: a file system mounted noexec, or another architecture, fails at once). Answers its
 * path, or undefined when the pause must be `sleep infinity`. A running pause of an earlier
 * agent keeps its file: a new one replaces it by rename. The check runs while the agent starts
 * (it takes that moment, 50 ms, which a synchronous wait would add to `petset up`'s start).
 */
export async function installPause(dir: string): Promise<string | undefined> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const file = path.join(dir, 'pause');
  const elf = pauseElf();
  try {
    let same = false;
    try {
      same = fs.readFileSync(file).equals(elf);
    } catch {
      // not there yet
    }
    if (!same) {
      fs.writeFileSync(file + '.tmp', elf, { mode: 0o755 });
      fs.renameSync(file + '.tmp', file);
    }
    fs.chmodSync(file, 0o755);
    return await new Promise<string | undefined>((resolve) => {
      const child = spawn(file, [], { stdio: 'ignore' });
      // still running after the moment: it works (and is stopped); gone before it, or never started: it cannot run here
      let lasted = false;
      const timer = setTimeout(() => {
        lasted = true;
        child.kill('SIGTERM');
      }, 50);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(lasted ? file : undefined);
      });
      child.once('error', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  } catch {
    return undefined;
  }
}
