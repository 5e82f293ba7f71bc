/**
 * Small tmpfs mounts for disk-space tests: a file system of a known, tiny size that fills up for
 * real (ENOSPC from the kernel), without touching the machine's disks. Needs root and Linux;
 * `tmpfsUnavailableReason()` says why not, so tests can skip visibly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const MiB = 1024 * 1024;
/** Every mount/umount call is bounded: a wedged mount must fail the test, not hang it. */
const COMMAND_TIMEOUT_MS = 10_000;

export interface Tmpfs {
  /** The mount point (a fresh folder under the OS temp dir). */
  dir: string;
  /** Bytes this user may still write, as `statfs` reports them (what the product's check reads). */
  freeBytes(): number;
  /** Bytes in use on the file system. */
  usedBytes(): number;
  /** Changes the size limit in place (`mount -o remount,size=…`); data stays. */
  resize(sizeBytes: number): void;
  /** Unmounts (lazily if something still holds a file open) and removes the mount point. Idempotent. */
  unmount(): void;
}

const mounted = new Set<Tmpfs>();
let exitHookInstalled = false;

function run(command: string, args: string[]): void {
  execFileSync(command, args, { timeout: COMMAND_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
}

function describeFailure(error: unknown): string {
  const stderr = (error as { stderr?: Buffer | string } | null)?.stderr;
  const text = stderr === undefined ? '' : String(stderr).trim();
  if (text !== '') return text;
  return error instanceof Error ? error.message : String(error);
}

/** Mounts a tmpfs of `sizeBytes` (rounded up to whole pages by the kernel) on a fresh temp folder. */
export function mountTmpfs(sizeBytes: number, prefix = 'chilly-tmpfs-'): Tmpfs {
  if (!exitHookInstalled) {
    // A test that crashes before its `finally` must not leave mounts behind. The test runner ends
    // a file that leaves handles open with SIGTERM, which skips 'exit': unmount, then die of it.
    const unmountAll = () => {
      for (const fs of [...mounted]) fs.unmount();
    };
    process.once('exit', unmountAll);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(signal, () => {
        unmountAll();
        process.kill(process.pid, signal);
      });
    }
    exitHookInstalled = true;
  }
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'chilly-test-tmpfs', dir]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mount -t tmpfs -o size=${sizeBytes} on ${dir} failed: ${describeFailure(error)}`);
  }
  let isMounted = true;
  const fs: Tmpfs = {
    dir,
    freeBytes() {
      const stats = statfsSync(dir);
      return stats.bavail * stats.bsize;
    },
    usedBytes() {
      const stats = statfsSync(dir);
      return (stats.blocks - stats.bfree) * stats.bsize;
    },
    resize(newSize) {
      run('mount', ['-o', `remount,size=${newSize}`, dir]);
    },
    unmount() {
      if (!isMounted) return;
      try {
        run('umount', [dir]);
      } catch {
        // Busy (a file still open): detach it now, the kernel frees it when the last handle closes.
        try {
          run('umount', ['-l', dir]);
        } catch {
          return; // Still mounted: leave the folder alone rather than delete into the tmpfs.
        }
      }
      isMounted = false;
      mounted.delete(fs);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  mounted.add(fs);
  return fs;
}

let probe: string | null | undefined;

/** Why tmpfs tests cannot run here, or null when they can (probed once per process). */
export function tmpfsUnavailableReason(): string | null {
  if (probe !== undefined) return probe;
  if (process.platform !== 'linux') {
    probe = `needs Linux to mount a tmpfs (this is ${process.platform})`;
  } else if (process.getuid?.() !== 0) {
    probe = `needs root to mount a tmpfs (running as uid ${process.getuid?.()}); CI runs these as root`;
  } else {
    try {
      const fs = mountTmpfs(1 * MiB, 'chilly-tmpfs-probe-');
      const total = statfsSync(fs.dir).blocks * statfsSync(fs.dir).bsize;
      fs.unmount();
      probe = total === 1 * MiB ? null : `a 1 MiB tmpfs reported ${total} bytes: size limits are not enforced here`;
    } catch (error) {
      probe = error instanceof Error ? error.message : String(error);
    }
  }
  return probe;
}
