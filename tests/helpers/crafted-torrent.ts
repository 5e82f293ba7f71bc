import { createHash } from 'node:crypto';
import bencode from 'bencode';

/**
 * Builds a .torrent by hand, with whatever raw file paths a test wants, including ones that
 * create-torrent would refuse or normalise ('..', absolute, Windows drive/UNC forms).
 */
export function craftTorrent(options: {
  name: string;
  files: Array<{ path: string[]; content: Buffer }>;
  announceUrl: string;
  pieceLength?: number;
}): Buffer {
  const pieceLength = options.pieceLength ?? 16 * 1024;
  const all = Buffer.concat(options.files.map((f) => f.content));
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < all.length; offset += pieceLength) {
    pieces.push(
      createHash('sha1')
        .update(all.subarray(offset, offset + pieceLength))
        .digest(),
    );
  }
  const info = {
    name: Buffer.from(options.name),
    'piece length': pieceLength,
    pieces: Buffer.concat(pieces),
    files: options.files.map((f) => ({ length: f.content.length, path: f.path.map((p) => Buffer.from(p)) })),
  };
  return Buffer.from(bencode.encode({ announce: Buffer.from(options.announceUrl), info }));
}
