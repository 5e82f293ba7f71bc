import bencode from 'bencode';
import { pieceHashes } from './torrent-bytes.js';

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
  const info = {
    name: Buffer.from(options.name),
    'piece length': pieceLength,
    pieces: pieceHashes(Buffer.concat(options.files.map((f) => f.content)), pieceLength),
    files: options.files.map((f) => ({ length: f.content.length, path: f.path.map((p) => Buffer.from(p)) })),
  };
  return Buffer.from(bencode.encode({ announce: Buffer.from(options.announceUrl), info }));
}
