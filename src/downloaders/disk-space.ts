import { existsSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ChillyError } from '../domain/errors.js';

/** `dir` if it exists, else its nearest existing parent: where a folder yet to be made will live. */
function nearestExisting(dir: string): string {
  let current = path.resolve(dir);
  while (!existsSync(current)) {
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}

/** Free bytes available to this user on the file system that holds `dir` (or its nearest existing parent). */
export function freeBytes(dir: string): number {
  const stats = statfsSync(nearestExisting(dir));
  return stats.bavail * stats.bsize;
}

/** The file system (device number) that holds `dir`, or will once it is made. */
export function diskOf(dir: string): number {
  return statSync(nearestExisting(dir)).dev;
}

/** A download's disk filled up: the error names the job's folder, whose disk needs room. */
export function diskFullError(folder: string, cause: unknown): ChillyError {
  return new ChillyError('disk_full', `The disk holding ${folder} is full: free some space, then resume.`, { cause });
}

/** What the free-space check needs to know of a torrent: its size, piece length and files. */
export interface TorrentLayout {
  length: number;
  pieceLength: number;
  /** Byte ranges of the files in the torrent's data, in torrent order. */
  files: readonly { offset: number; length: number }[];
}

/**
 * Bytes a torrent still has to write: the pieces it will download (every piece, or with a choice
 * of files the pieces that hold part of a chosen file; a piece shared with a file left out is
 * written whole) less the pieces the bitfield says are on disk.
 */
export function bytesStillNeeded(
  layout: TorrentLayout,
  bitfield?: Uint8Array,
  selection?: ReadonlySet<number>,
): number {
  const { length: totalBytes, pieceLength } = layout;
  if (totalBytes === 0 || pieceLength <= 0) return 0;
  const pieces = Math.ceil(totalBytes / pieceLength);
  const lastPieceLength = totalBytes - (pieces - 1) * pieceLength;
  const wanted = selection === undefined ? undefined : piecesOfFiles(layout, selection, pieces);
  let needed = 0;
  for (let piece = 0; piece < pieces; piece++) {
    if (wanted !== undefined && !wanted[piece]) continue;
    // Most significant bit first, as BitTorrent's bitfield message has it.
    const byte = bitfield?.[piece >> 3] ?? 0;
    if ((byte & (0x80 >> (piece & 7))) === 0) needed += piece === pieces - 1 ? lastPieceLength : pieceLength;
  }
  return needed;
}

/** Which pieces hold at least one byte of a chosen (non-empty) file. */
function piecesOfFiles(layout: TorrentLayout, selection: ReadonlySet<number>, pieces: number): Uint8Array {
  const wanted = new Uint8Array(pieces);
  layout.files.forEach((file, index) => {
    if (!selection.has(index) || file.length === 0) return;
    const first = Math.floor(file.offset / layout.pieceLength);
    const last = Math.min(pieces - 1, Math.floor((file.offset + file.length - 1) / layout.pieceLength));
    wanted.fill(1, first, last + 1);
  });
  return wanted;
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
