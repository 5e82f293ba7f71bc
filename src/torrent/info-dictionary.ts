/**
 * The one check every torrent's info dictionary passes before the engine sees it: uploaded,
 * read from disk, restored from the database, or assembled from a peer's ut_metadata messages.
 * A crafted dictionary (too few piece hashes, negative or non-integer sizes, a piece length
 * given as a string, a length SQLite cannot store, half a million hashes for one byte) is
 * refused with `invalid_torrent` naming the field, instead of reaching WebTorrent, which
 * throws from inside its event handlers and takes the process down.
 *
 * Limits follow libtorrent's `load_torrent_limits` where it has one (at most 2^21 pieces).
 */

import { ChillyError } from '../domain/errors.js';
import { bencode } from '../engine/torrent-codec.js';

export const TORRENT_LIMITS = {
  /** Largest .torrent accepted: real movie torrents are well under 1 MiB. */
  maxTorrentBytes: 10 * 1024 * 1024,
  /** libtorrent's default `max_pieces`. */
  maxPieces: 2 ** 21,
  /**
   * Pieces are assembled in memory, one buffer per piece in flight: a 1 GiB piece length would be
   * 1 GiB per peer. Real torrents use at most 16–32 MiB.
   */
  maxPieceLength: 64 * 1024 * 1024,
  maxFiles: 100_000,
  /** Per component, before file names are shortened for the disk (see file-layout.ts). */
  maxPathComponentBytes: 4096,
  maxPathDepth: 64,
} as const;

const HASH_BYTES = 20;

/** An info dictionary as bencode decodes it: byte strings are Uint8Array. */
export type InfoDictionary = Record<string, unknown>;

function invalid(message: string): never {
  throw new ChillyError('invalid_torrent', `The torrent is not valid: ${message}`);
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `a ${value.byteLength}-byte string`;
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}

export function isDictionary(value: unknown): value is InfoDictionary {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function byteString(value: unknown, field: string, options: { maxBytes: number; nonEmpty: boolean }): Uint8Array {
  if (!(value instanceof Uint8Array)) return invalid(`"${field}" must be a string (got ${describe(value)}).`);
  if (options.nonEmpty && value.byteLength === 0) return invalid(`"${field}" must not be empty.`);
  if (value.byteLength > options.maxBytes) {
    return invalid(`"${field}" is ${value.byteLength} bytes long (at most ${options.maxBytes}).`);
  }
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    return invalid(`"${field}" must be an integer (got ${describe(value)}).`);
  }
  if (value < min || value > max) return invalid(`"${field}" must be from ${min} to ${max} (got ${value}).`);
  return value;
}

/** The path of one file, preferring `path.utf-8` as clients do; both are checked when both are there. */
function filePath(file: InfoDictionary, index: number): void {
  for (const key of ['path.utf-8', 'path'] as const) {
    const parts = file[key];
    if (parts === undefined) continue;
    const field = `files[${index}].${key}`;
    if (!Array.isArray(parts) || parts.length === 0) invalid(`"${field}" must be a non-empty list of strings.`);
    if (parts.length > TORRENT_LIMITS.maxPathDepth) {
      invalid(`"${field}" has ${parts.length} components (at most ${TORRENT_LIMITS.maxPathDepth}).`);
    }
    parts.forEach((part, partIndex) => {
      byteString(part, `${field}[${partIndex}]`, { maxBytes: TORRENT_LIMITS.maxPathComponentBytes, nonEmpty: false });
    });
  }
  if (file['path.utf-8'] === undefined && file.path === undefined) invalid(`"files[${index}].path" is missing.`);
}

/** What the rest of the backend may rely on once a dictionary has passed. */
export interface CheckedInfo {
  /** Bytes of data in the torrent (at least 1). */
  length: number;
  pieceLength: number;
  pieceCount: number;
  fileCount: number;
}

/**
 * Throws `invalid_torrent` (naming the field) unless `info` is a BitTorrent v1 info dictionary
 * whose sizes are consistent and within TORRENT_LIMITS; `unsupported_torrent_version` for a
 * BitTorrent v2-only one. Hybrid v1+v2 torrents are checked as v1.
 */
export function checkInfoDictionary(info: unknown): CheckedInfo {
  if (!isDictionary(info)) return invalid(`"info" must be a dictionary (got ${describe(info)}).`);
  if (info.pieces === undefined && (info['meta version'] === 2 || info['file tree'] !== undefined)) {
    throw new ChillyError(
      'unsupported_torrent_version',
      'This is a BitTorrent v2-only torrent; the engine downloads v1 and hybrid torrents only.',
    );
  }
  for (const key of ['name.utf-8', 'name'] as const) {
    if (info[key] !== undefined) {
      byteString(info[key], key, { maxBytes: TORRENT_LIMITS.maxPathComponentBytes, nonEmpty: true });
    }
  }
  if (info.name === undefined && info['name.utf-8'] === undefined) invalid('"name" is missing.');
  const pieceLength = integer(info['piece length'], 'piece length', 1, TORRENT_LIMITS.maxPieceLength);
  const pieces = byteString(info.pieces, 'pieces', { maxBytes: TORRENT_LIMITS.maxPieces * HASH_BYTES, nonEmpty: true });
  if (pieces.byteLength % HASH_BYTES !== 0) {
    invalid(`"pieces" is ${pieces.byteLength} bytes long, not a multiple of ${HASH_BYTES} (one SHA-1 per piece).`);
  }

  let length: number;
  let fileCount: number;
  if (info.files !== undefined) {
    if (info.length !== undefined) invalid('"length" and "files" are both given (one or the other).');
    const files = info.files;
    if (!Array.isArray(files) || files.length === 0) return invalid('"files" must be a non-empty list.');
    if (files.length > TORRENT_LIMITS.maxFiles) {
      invalid(`"files" lists ${files.length} files (at most ${TORRENT_LIMITS.maxFiles}).`);
    }
    length = 0;
    for (const [index, file] of files.entries()) {
      if (!isDictionary(file)) invalid(`"files[${index}]" must be a dictionary (got ${describe(file)}).`);
      length += integer(file.length, `files[${index}].length`, 0, Number.MAX_SAFE_INTEGER);
      if (!Number.isSafeInteger(length)) invalid('the files add up to more bytes than can be counted.');
      filePath(file, index);
    }
    fileCount = files.length;
  } else {
    length = integer(info.length, 'length', 0, Number.MAX_SAFE_INTEGER);
    fileCount = 1;
  }
  if (length === 0) invalid('it holds no data (every file is empty).');
  const pieceCount = Math.ceil(length / pieceLength);
  if (pieceCount > TORRENT_LIMITS.maxPieces) {
    invalid(
      `${pieceCount} pieces of ${pieceLength} bytes (at most ${TORRENT_LIMITS.maxPieces}): use a larger piece length.`,
    );
  }
  const hashes = pieces.byteLength / HASH_BYTES;
  if (hashes !== pieceCount) {
    invalid(`"pieces" has ${hashes} hashes, but ${length} bytes in pieces of ${pieceLength} need ${pieceCount}.`);
  }
  return { length, pieceLength, pieceCount, fileCount };
}

/**
 * Decodes .torrent bytes and checks their info dictionary; throws `invalid_torrent` for anything
 * that is not a bencoded dictionary with a valid `info`.
 */
export function checkTorrentFile(bytes: Uint8Array): { info: InfoDictionary; checked: CheckedInfo } {
  if (bytes.byteLength > TORRENT_LIMITS.maxTorrentBytes) {
    invalid(`the file is ${bytes.byteLength} bytes (at most ${TORRENT_LIMITS.maxTorrentBytes}).`);
  }
  let decoded: unknown;
  try {
    decoded = bencode.decode(bytes);
  } catch (cause) {
    throw new ChillyError('invalid_torrent', 'The .torrent data is not bencoded data.', { cause });
  }
  if (!isDictionary(decoded)) return invalid('the file is not a bencoded dictionary.');
  const info = decoded.info;
  const checked = checkInfoDictionary(info);
  return { info: info as InfoDictionary, checked };
}
