/**
 * Which boot of the machine something was recorded in. Writes that were not synced may be gone
 * after a reboot (resume data), and a pid recorded in another boot names no process now (the
 * database guard): both ask "has the machine restarted since?".
 *
 * Linux names each boot (`/proc/sys/kernel/random/boot_id`); no other platform has such a file.
 * Every platform can tell when the current boot began, though: the wall clock minus `os.uptime()`
 * (which counts time asleep on Linux, macOS and Windows alike). Both are recorded; the id decides
 * where both sides have one, the start time elsewhere.
 */
import { readFileSync } from 'node:fs';
import { uptime } from 'node:os';

export interface BootMark {
  /** Linux's id of the boot, where the kernel gives one. */
  id?: string | undefined;
  /** When the boot began, in epoch milliseconds (the wall clock minus the uptime). */
  startedAtMs?: number | undefined;
}

/** Where the current boot is read from; tests pass their own clock and uptime. */
export interface BootProbe {
  bootId(): string | undefined;
  /** Epoch milliseconds. */
  now(): number;
  /** Seconds since the boot (`os.uptime()`). */
  uptimeSeconds(): number;
}

/**
 * Two start times this close are one boot. The uptime is whole seconds on some platforms (macOS)
 * and the wall clock may have been slewed a little between two readings; a reboot moves the
 * start by at least the time the last boot ran, which is longer than this before any download
 * could have saved resume data.
 */
export const BOOT_START_TOLERANCE_MS = 5_000;

let linuxBootId: string | null | undefined;

function readLinuxBootId(): string | undefined {
  if (linuxBootId === undefined) {
    try {
      linuxBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      linuxBootId = null;
    }
  }
  return linuxBootId ?? undefined;
}

export const SYSTEM_BOOT_PROBE: BootProbe = {
  bootId: readLinuxBootId,
  now: () => Date.now(),
  uptimeSeconds: uptime,
};

/** The boot this process runs in. */
export function currentBoot(probe: BootProbe = SYSTEM_BOOT_PROBE): BootMark {
  const id = probe.bootId();
  const seconds = probe.uptimeSeconds();
  const startedAtMs = Number.isFinite(seconds) && seconds >= 0 ? Math.round(probe.now() - seconds * 1000) : undefined;
  return { ...(id === undefined ? {} : { id }), ...(startedAtMs === undefined ? {} : { startedAtMs }) };
}

/**
 * Whether `recorded` and `current` are the same boot: by id where both have one, else by start
 * time; `undefined` when neither can tell (callers then assume the worst that is safe for them).
 */
export function sameBoot(recorded: BootMark, current: BootMark): boolean | undefined {
  if (recorded.id !== undefined && current.id !== undefined) return recorded.id === current.id;
  if (recorded.startedAtMs !== undefined && current.startedAtMs !== undefined) {
    return Math.abs(recorded.startedAtMs - current.startedAtMs) <= BOOT_START_TOLERANCE_MS;
  }
  return undefined;
}
