/**
 * The guard file beside the database (`chilly.db-guard`): which database lives here (its
 * instance id, also kept in the database's `meta` table) and whether the process that last had it
 * open closed it cleanly. It is what lets the next start tell "the WAL was folded in and deleted
 * by a clean close" from "the WAL of a crashed run is gone".
 *
 * States: `open` while a process has the database open; `closing` just before the last connection
 * closes (the close checkpoints the WAL into the database and deletes it; a crash during the close
 * leaves either state behind, both consistent); `closed` after it. Written atomically (temporary
 * file, fsync, rename), mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export const GUARD_SUFFIX = '-guard';

export interface DatabaseGuard {
  version: 1;
  /** The database's `meta.instance_id`. */
  instanceId: string;
  state: 'open' | 'closing' | 'closed';
  /** The process that wrote this state, and the boot it ran in (Linux), to tell a live owner from a dead one. */
  pid: number;
  bootId: string | undefined;
  updatedAt: string;
}

export type GuardReading =
  | { kind: 'missing' }
  | { kind: 'unreadable'; reason: string }
  | { kind: 'ok'; guard: DatabaseGuard };

export function guardFileOf(databaseFile: string): string {
  return `${databaseFile}${GUARD_SUFFIX}`;
}

export function readGuard(file: string): GuardReading {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', reason: (error as Error).message };
  }
  try {
    const value = JSON.parse(text) as Partial<DatabaseGuard> | null;
    if (
      value === null ||
      typeof value !== 'object' ||
      value.version !== 1 ||
      typeof value.instanceId !== 'string' ||
      !['open', 'closing', 'closed'].includes(value.state ?? '') ||
      !Number.isInteger(value.pid) ||
      (value.pid ?? 0) <= 0
    ) {
      return { kind: 'unreadable', reason: 'it is not a guard this version wrote' };
    }
    return { kind: 'ok', guard: value as DatabaseGuard };
  } catch {
    return { kind: 'unreadable', reason: 'it is not valid JSON' };
  }
}

/** Temporary file, fsync, rename over the old one, fsync of the folder (best effort). */
export function writeGuard(file: string, guard: Omit<DatabaseGuard, 'version' | 'updatedAt' | 'pid' | 'bootId'>): void {
  const full: DatabaseGuard = {
    version: 1,
    ...guard,
    pid: process.pid,
    bootId: currentBootId(),
    updatedAt: new Date().toISOString(),
  };
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(full, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
  syncFolder(path.dirname(file));
}

function syncFolder(folder: string): void {
  try {
    const fd = openSync(folder, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a folder (Windows); the rename itself is what matters here.
  }
}

let bootId: string | null | undefined;

/** Linux's id of this boot: a pid recorded before a reboot says nothing about a process now. */
export function currentBootId(): string | undefined {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId ?? undefined;
}

/**
 * Whether the process that wrote the guard may still have the database open (another process
 * on this machine, in this boot). A pid reused since is a false "alive": the checks that need
 * the owner gone are then skipped, never wrongly failed.
 */
export function ownerMayBeAlive(guard: DatabaseGuard): boolean {
  if (guard.pid === process.pid) return false;
  const boot = currentBootId();
  if (boot !== undefined && guard.bootId !== undefined && guard.bootId !== boot) return false;
  try {
    process.kill(guard.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
