import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { ChillyError } from '../domain/errors.js';
import type { JobFile } from '../domain/job.js';
import type { RangeWaiter } from '../downloaders/downloader.js';

const VIDEO_EXTENSIONS = new Set([
  '.mkv',
  '.mp4',
  '.m4v',
  '.avi',
  '.mov',
  '.webm',
  '.wmv',
  '.mpg',
  '.mpeg',
  '.ts',
  '.m2ts',
  '.flv',
  '.ogv',
]);

export function isVideoFile(filePath: string): boolean {
  return VIDEO_EXTENSIONS.has(path.extname(filePath).toLowerCase());
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

/**
 * Bytes `start..end` (inclusive) of a file, in order. With a `waiter` each chunk is first fetched
 * ahead of the rest of the download; without one the file is complete on disk. The file handle and
 * the waiter are released however the reader stops (end, error, or the consumer going away).
 */
export async function* readFileRange(options: {
  absolutePath: string;
  start: number;
  end: number;
  waiter?: RangeWaiter | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}): AsyncGenerator<Uint8Array> {
  const { absolutePath, start, end, waiter, signal, timeoutMs } = options;
  let handle: FileHandle | undefined;
  try {
    for (let position = start; position <= end; position += CHUNK_BYTES) {
      signal?.throwIfAborted();
      const last = Math.min(end, position + CHUNK_BYTES - 1);
      await waiter?.waitFor(position, last, { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
      handle ??= await openForReading(absolutePath);
      yield await readExactly(handle, position, last - position + 1);
    }
  } finally {
    waiter?.close();
    await handle?.close();
  }
}

async function openForReading(absolutePath: string): Promise<FileHandle> {
  try {
    return await open(absolutePath, 'r');
  } catch (cause) {
    throw new ChillyError('files_missing', `The file ${path.basename(absolutePath)} is not on disk.`, { cause });
  }
}

async function readExactly(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new ChillyError('files_missing', 'The file on disk is shorter than the torrent says.');
    filled += bytesRead;
  }
  return buffer;
}
