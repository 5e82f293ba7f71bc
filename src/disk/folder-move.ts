/**
 * Moving a job's folder to another place (qBittorrent's and Transmission's "set location").
 *
 * On one file system the folder is renamed: atomic, nothing copied. Across file systems the job's
 * files are copied into a hidden temporary folder beside the destination, each one read back and
 * compared (SHA-256) with what was read from the source before it takes its real name there, and
 * only when every file is there is the temporary folder renamed to the destination (atomic on the
 * destination's file system). The source is left whole until the caller has recorded the new
 * place; deleting it is the caller's next step. So at any moment there is one whole copy (the
 * source, or the destination once it exists), never two half ones; and a copy cut short by a crash
 * continues where it stopped: files already verified in the temporary folder are kept.
 *
 * Files are opened inside their folders only (src/disk/confined-files.ts): a symbolic link planted
 * in either folder is refused, never followed.
 */
import { createHash } from 'node:crypto';
import {
  fsync as fsyncCallback,
  ftruncate as ftruncateCallback,
  read as readCallback,
  write as writeCallback,
} from 'node:fs';
import { lstat, mkdir, open as openHandle, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ChillyError } from '../domain/errors.js';
import { closeFd, openInside, pathComponents } from './confined-files.js';

const read = promisify(readCallback);
const write = promisify(writeCallback);
const fsync = promisify(fsyncCallback);
const ftruncate = promisify(ftruncateCallback);

/** Bytes copied per read: large enough to be cheap, small enough to report progress often. */
const CHUNK_BYTES = 1024 * 1024;
/** Suffix of a file still being copied (never a file's real name: it is checked first). */
const PARTIAL_SUFFIX = '.chilly-partial';

export interface FolderMoveProgress {
  bytesDone: number;
  bytesTotal: number;
}

export interface FolderMoveOptions {
  /** The job's folder now. */
  from: string;
  /** Its new place (must not exist yet; its parent must). */
  to: string;
  /** The job's files, relative to `from` with '/' separators; ones not on disk are skipped. */
  files: readonly string[];
  /** Folders the new place is made in with (the job's usual mode). */
  mode: { file: number; dir: number };
  onProgress?: (progress: FolderMoveProgress) => void;
  signal?: AbortSignal;
}

export interface FolderMoveResult {
  how: 'renamed' | 'copied';
  /** Bytes copied (0 for a rename). */
  bytesCopied: number;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** The hidden folder a copy is assembled in before it takes the destination's name. */
export function temporaryFolderFor(to: string): string {
  return path.join(path.dirname(to), `.${path.basename(to)}.chilly-move`);
}

/**
 * Puts the job's folder at `to`: renamed on one file system, else copied and verified (see the
 * module comment). The source stays as it is after a copy: the caller deletes it once the new
 * place is recorded. Resumes a copy a crash cut short.
 */
export async function moveFolder(options: FolderMoveOptions): Promise<FolderMoveResult> {
  const { from, to } = options;
  await assertAbsent(to);
  const temporary = temporaryFolderFor(to);
  // A copy from an earlier attempt continues, so never rename over it: copy on.
  if (!(await exists(temporary))) {
    try {
      await rename(from, to);
      return { how: 'renamed', bytesCopied: 0 };
    } catch (error) {
      if (errnoOf(error) !== 'EXDEV') throw moveError(error, from, to);
    }
  }
  const bytesCopied = await copyInto(temporary, options);
  await assertAbsent(to);
  await rename(temporary, to).catch((error: unknown) => {
    throw moveError(error, temporary, to);
  });
  await syncFolder(path.dirname(to));
  return { how: 'copied', bytesCopied };
}

/** Deletes what a copy cut short left beside `to` (an abandoned move). */
export async function abandonCopy(to: string): Promise<void> {
  const temporary = temporaryFolderFor(to);
  const stats = await lstat(temporary).catch(() => undefined);
  // Only a real folder of ours: a link under that name is removed as a link, nothing behind it.
  if (stats === undefined) return;
  await rm(temporary, { recursive: stats.isDirectory(), force: true });
}

/** Whether anything (a link too) is at `target`; other errors than ENOENT are thrown. */
export async function exists(target: string): Promise<boolean> {
  try {
    await lstat(target);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}

async function assertAbsent(to: string): Promise<void> {
  if (await exists(to)) {
    throw new ChillyError('invalid_destination', `${to} already exists: Chilly never mixes a job's files with others.`);
  }
}

function moveError(cause: unknown, from: string, to: string): ChillyError {
  if (cause instanceof ChillyError) return cause;
  const code = errnoOf(cause);
  if (code === 'ENOSPC') return new ChillyError('disk_full', `No room for the files at ${to}.`, { cause });
  if (code === 'ENOENT') return new ChillyError('path_missing', `${from} is not on disk.`, { cause });
  return new ChillyError('invalid_destination', `Could not move ${from} to ${to}: ${String(code ?? cause)}.`, {
    cause,
  });
}

/** Copies every file of the job into `temporary`, each verified; returns the bytes copied. */
async function copyInto(temporary: string, options: FolderMoveOptions): Promise<number> {
  const { from, mode, signal, onProgress } = options;
  const sizes = new Map<string, number>();
  for (const file of new Set(options.files)) {
    pathComponents(file);
    const stats = await lstat(path.join(from, ...file.split('/'))).catch(() => undefined);
    if (stats === undefined) continue;
    if (!stats.isFile()) {
      throw new ChillyError('unsafe_path', `${path.join(from, file)} is not a regular file: refusing to move it.`);
    }
    sizes.set(file, stats.size);
  }
  await mkdir(temporary, { mode: mode.dir }).catch((error: unknown) => {
    if (errnoOf(error) !== 'EEXIST') throw moveError(error, from, temporary);
  });
  const temporaryStats = await lstat(temporary);
  if (!temporaryStats.isDirectory()) {
    throw new ChillyError('unsafe_path', `${temporary} is not a folder Chilly made: refusing to copy into it.`);
  }
  const progress: FolderMoveProgress = { bytesDone: 0, bytesTotal: [...sizes.values()].reduce((a, b) => a + b, 0) };
  onProgress?.({ ...progress });
  let copied = 0;
  for (const [file, size] of [...sizes].sort(([a], [b]) => a.localeCompare(b))) {
    signal?.throwIfAborted();
    const done = await lstat(path.join(temporary, ...file.split('/'))).catch(() => undefined);
    // Verified before it took its name in an earlier attempt.
    if (done?.isFile() === true && done.size === size) {
      progress.bytesDone += size;
      onProgress?.({ ...progress });
      continue;
    }
    copied += await copyFile(file, temporary, options, (bytes) => {
      progress.bytesDone += bytes;
      onProgress?.({ ...progress });
    });
  }
  return copied;
}

/** Copies one file to `<name>.chilly-partial`, reads it back, compares, then gives it its name. */
async function copyFile(
  file: string,
  temporary: string,
  options: FolderMoveOptions,
  advanced: (bytes: number) => void,
): Promise<number> {
  const partial = `${file}${PARTIAL_SUFFIX}`;
  const source = await openInside(options.from, file, { create: false });
  let target: number | undefined;
  let written = 0;
  const sourceHash = createHash('sha256');
  try {
    target = await openInside(temporary, partial, { create: true, modes: options.mode });
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await read(source, buffer, 0, CHUNK_BYTES, written);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      sourceHash.update(chunk);
      let offset = 0;
      while (offset < bytesRead) {
        const { bytesWritten } = await write(target, chunk, offset, bytesRead - offset, written + offset);
        offset += bytesWritten;
      }
      written += bytesRead;
      advanced(bytesRead);
    }
    // A partial copy from an attempt a crash cut short may be longer than this one.
    await ftruncate(target, written);
    await fsync(target);
  } catch (error) {
    throw moveError(error, path.join(options.from, file), path.join(temporary, file));
  } finally {
    await closeFd(source).catch(() => undefined);
    if (target !== undefined) await closeFd(target).catch(() => undefined);
  }
  const copyHash = await hashFile(temporary, partial);
  if (copyHash !== sourceHash.digest('hex')) {
    throw new ChillyError(
      'download_failed',
      `The copy of ${file} does not match the original (a failing disk?): the move stopped, the original is untouched.`,
    );
  }
  const parts = file.split('/');
  await rename(path.join(temporary, ...partial.split('/')), path.join(temporary, ...parts));
  await syncFolder(path.join(temporary, ...parts.slice(0, -1)));
  return written;
}

async function hashFile(folder: string, file: string): Promise<string> {
  const fd = await openInside(folder, file, { create: false });
  const hash = createHash('sha256');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let position = 0; ; ) {
      const { bytesRead } = await read(fd, buffer, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await closeFd(fd).catch(() => undefined);
  }
  return hash.digest('hex');
}

/** Makes a rename in `folder` durable. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await openHandle(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
