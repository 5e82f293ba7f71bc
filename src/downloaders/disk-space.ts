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
  if (bitfield === undefined || totalBytes === 0) return totalBytes;
  const pieces = Math.ceil(totalBytes / pieceLength);
  const lastPieceLength = totalBytes - (pieces - 1) * pieceLength;
  let verified = 0;
  for (let piece = 0; piece < pieces; piece++) {
    // Most significant bit first, as BitTorrent's bitfield message has it.
    const byte = bitfield[piece >> 3] ?? 0;
    if ((byte & (0x80 >> (piece & 7))) !== 0) verified += piece === pieces - 1 ? lastPieceLength : pieceLength;
  }
  return Math.max(0, totalBytes - verified);
}

const MiB = 1024 * 1024;

/**
 * Throws `insufficient_space` unless `neededBytes` fit on the disk beside `reservedBytes`: what
 * downloads already running will still write there.
 */
export function assertFreeSpace(dir: string, neededBytes: number, reservedBytes = 0): void {
  const free = freeBytes(dir);
  if (neededBytes + reservedBytes > free) {
    const others =
      reservedBytes > 0 ? `, of which running downloads still need ${(reservedBytes / MiB).toFixed(1)} MiB` : '';
    throw new ChillyError(
      'insufficient_space',
      `Not enough disk space in ${dir}: ${(neededBytes / MiB).toFixed(1)} MiB needed, ${(free / MiB).toFixed(1)} MiB free${others}.`,
    );
  }
}
