import { read } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { closeFd, openInside } from '../disk/confined-files.js';
import { ChillyError, isChillyError } from '../domain/errors.js';
import type { JobFile } from '../domain/job.js';
import { isVideoExtension } from '../domain/media-types.js';
import type { RangeWaiter } from '../downloaders/downloader.js';

export function isVideoFile(filePath: string): boolean {
  return isVideoExtension(path.extname(filePath).toLowerCase());
}

/** The job's movie: its largest video file (or largest file when none looks like a video). */
export function mainFileIndex(files: readonly JobFile[]): number {
  let best = -1;
  let bestIsVideo = false;
  files.forEach((file, index) => {
    const video = isVideoFile(file.path);
    const current = files[best];
    if (current === undefined || (video && !bestIsVideo) || (video === bestIsVideo && file.length > current.length)) {
      best = index;
      bestIsVideo = video;
    }
  });
  if (best < 0) throw new ChillyError('file_not_found', 'The torrent has no files.');
  return best;
}

/** Bytes are read in chunks of this size: small enough to start playback fast, large enough to be cheap. */
const CHUNK_BYTES = 256 * 1024;

const readAt = promisify(read);

/**
 * Bytes `start..end` (inclusive) of a file, in order. With a `waiter` each chunk is first fetched
 * ahead of the rest of the download; without one the file is complete on disk. The file is opened
 * inside its job's folder only (never through a symbolic link: see src/disk/confined-files.ts).
 * The file and the waiter are released however the reader stops (end, error, or the consumer
 * going away).
 */
export async function* readFileRange(options: {
  folder: string;
  relativePath: string;
  start: number;
  end: number;
  waiter?: RangeWaiter | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}): AsyncGenerator<Uint8Array> {
  const { folder, relativePath, start, end, waiter, signal, timeoutMs } = options;
  let fd: number | undefined;
  try {
    for (let position = start; position <= end; position += CHUNK_BYTES) {
      signal?.throwIfAborted();
      const last = Math.min(end, position + CHUNK_BYTES - 1);
      await waiter?.waitFor(position, last, { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
      fd ??= await openForReading(folder, relativePath);
      yield await readExactly(fd, position, last - position + 1);
    }
  } finally {
    waiter?.close();
    if (fd !== undefined) await closeFd(fd).catch(() => undefined);
  }
}

async function openForReading(folder: string, relativePath: string): Promise<number> {
  try {
    return await openInside(folder, relativePath, { create: false });
  } catch (cause) {
    // A symbolic link, or anything but a regular file, is never served: the job's files are gone.
    if (isChillyError(cause) && cause.code !== 'unsafe_path') throw cause;
    const what = isChillyError(cause) ? 'is not the file that was downloaded' : 'is not on disk';
    throw new ChillyError('files_missing', `The file ${path.basename(relativePath)} ${what}.`, { cause });
  }
}

async function readExactly(fd: number, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await readAt(fd, buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new ChillyError('files_missing', 'The file on disk is shorter than the torrent says.');
    filled += bytesRead;
  }
  return buffer;
}
