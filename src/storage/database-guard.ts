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
import { currentBoot, sameBoot } from './boot-identity.js';

export const GUARD_SUFFIX = '-guard';

export interface DatabaseGuard {
  version: 1;
  /** The database's `meta.instance_id`. */
  instanceId: string;
  state: 'open' | 'closing' | 'closed';
  /** The process that wrote this state, and the boot it ran in, to tell a live owner from a dead one. */
  pid: number;
  /** Linux's boot id (absent elsewhere). */
  bootId: string | undefined;
  /** When that boot began (epoch ms; absent in guards older versions wrote). */
  bootStartedAtMs?: number | undefined;
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
export function writeGuard(
  file: string,
  guard: Omit<DatabaseGuard, 'version' | 'updatedAt' | 'pid' | 'bootId' | 'bootStartedAtMs'>,
): void {
  const boot = currentBoot();
  const full: DatabaseGuard = {
    version: 1,
    ...guard,
    pid: process.pid,
    bootId: boot.id,
    bootStartedAtMs: boot.startedAtMs,
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

/** Linux's id of this boot, where there is one. */
export function currentBootId(): string | undefined {
  return currentBoot().id;
}

/**
 * Whether the process that wrote the guard may still have the database open (another process
 * on this machine, in this boot). A pid reused since is a false "alive": the checks that need
 * the owner gone are then skipped, never wrongly failed.
 */
export function ownerMayBeAlive(guard: DatabaseGuard): boolean {
  if (guard.pid === process.pid) return false;
  // A pid recorded before a reboot says nothing about a process now.
  const recorded = {
    id: typeof guard.bootId === 'string' ? guard.bootId : undefined,
    startedAtMs: typeof guard.bootStartedAtMs === 'number' ? guard.bootStartedAtMs : undefined,
  };
  if (sameBoot(recorded, currentBoot()) === false) return false;
  try {
    process.kill(guard.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
