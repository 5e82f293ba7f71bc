/**
 * Info dictionaries and .torrent bytes built by hand, for tests of what a hostile or broken
 * torrent can contain (shapes that create-torrent would never write).
 */
import { createHash } from 'node:crypto';
import bencode from 'bencode';

/** SHA-1 of every `pieceLength` slice of `data`, concatenated (a v1 `pieces` string). */
export function pieceHashes(data: Uint8Array, pieceLength: number): Buffer {
  const hashes: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += pieceLength) {
    hashes.push(
      createHash('sha1')
        .update(data.subarray(offset, offset + pieceLength))
        .digest(),
    );
  }
  return Buffer.concat(hashes);
}

/** A valid single-file info dictionary for `data`; override any field to break it. */
export function singleFileInfo(
  data: Uint8Array,
  overrides: Record<string, unknown> = {},
  pieceLength = 16 * 1024,
): Record<string, unknown> {
  return {
    name: Buffer.from('film.mkv'),
    'piece length': pieceLength,
    pieces: pieceHashes(data, pieceLength),
    length: data.length,
    ...overrides,
  };
}

/** `.torrent` bytes around an info dictionary, announcing to `announceUrl`. */
export function torrentBytes(info: Record<string, unknown>, announceUrl = 'http://127.0.0.1:9/announce'): Buffer {
  return Buffer.from(bencode.encode({ announce: Buffer.from(announceUrl), info }));
}

/** The v1 info-hash of an info dictionary (SHA-1 of its bencoding). */
export function infoHashOf(info: Record<string, unknown>): string {
  return createHash('sha1').update(bencode.encode(info)).digest('hex');
}
