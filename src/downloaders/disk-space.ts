import { existsSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { ChillyError } from '../domain/errors.js';

/** Free bytes available to this user on the file system that holds `dir` (or its nearest existing parent). */
export function freeBytes(dir: string): number {
  let current = path.resolve(dir);
  while (!existsSync(current)) {
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  const stats = statfsSync(current);
  return stats.bavail * stats.bsize;
}

/** Bytes a torrent still has to write: its size less the pieces the bitfield says are on disk. */
export function bytesStillNeeded(totalBytes: number, pieceLength: number, bitfield?: Uint8Array): number {
  if (bitfield === undefined) return totalBytes;
  let verified = 0;
  for (const byte of bitfield) {
    for (let bits = byte; bits !== 0; bits >>= 1) verified += bits & 1;
  }
  return Math.max(0, totalBytes - verified * pieceLength);
}

const MiB = 1024 * 1024;

export function assertFreeSpace(dir: string, neededBytes: number): void {
  const free = freeBytes(dir);
  if (neededBytes > free) {
    throw new ChillyError(
      'insufficient_space',
      `Not enough disk space in ${dir}: ${(neededBytes / MiB).toFixed(1)} MiB needed, ${(free / MiB).toFixed(1)} MiB free.`,
    );
  }
}
