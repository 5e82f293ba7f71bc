/**
 * A loopback swarm for a torrent built by hand: any file names (reserved, forbidden characters,
 * invalid UTF-8, duplicates, a file and a folder of one name), deterministic content. The seeder
 * is a WebTorrent client (every public-network feature off) whose data is laid out by our own
 * file layout and served by our own store, since a plain seeder would trip over the same names.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bencode from 'bencode';
import WebTorrent, { type Torrent } from 'webtorrent';
import { ConfinedChunkStore } from '../../src/downloaders/webtorrent/confined-chunk-store.js';
import { planFileLayout } from '../../src/torrent/file-layout.js';
import { LOOPBACK_CLIENT_OPTIONS, type LoopbackTracker, startLoopbackTracker } from './loopback-swarm.js';
import { pieceHashes } from './torrent-bytes.js';

export interface CraftedFile {
  /** Path components inside the torrent's folder, as raw bytes or text. */
  path: Array<string | Buffer>;
  content: Buffer;
}

export interface CraftedSwarm {
  tracker: LoopbackTracker;
  torrentFile: Buffer;
  infoHash: string;
  magnetURI: string;
  info: Record<string, unknown>;
  close(): Promise<void>;
}

/** `size` deterministic bytes from `seed`. */
export function bytesOf(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, n = 0; offset < size; n++) {
    const block = createHash('sha256').update(`${seed}:${n}`).digest();
    offset += block.copy(out, offset);
  }
  return out;
}

export async function createCraftedSwarm(options: {
  name: string | Buffer;
  files: CraftedFile[];
  pieceLength?: number;
}): Promise<CraftedSwarm> {
  const pieceLength = options.pieceLength ?? 16 * 1024;
  const work = await mkdtemp(path.join(tmpdir(), 'chilly-crafted-'));
  const tracker = await startLoopbackTracker();
  const asBytes = (part: string | Buffer): Buffer => (typeof part === 'string' ? Buffer.from(part) : part);
  const info = {
    name: asBytes(options.name),
    'piece length': pieceLength,
    pieces: pieceHashes(Buffer.concat(options.files.map((file) => file.content)), pieceLength),
    files: options.files.map((file) => ({ length: file.content.length, path: file.path.map(asBytes) })),
  };
  const torrentFile = Buffer.from(
    bencode.encode({ announce: Buffer.from(tracker.announceUrl), 'creation date': 1_700_000_000, info }),
  );
  const infoHash = createHash('sha1').update(bencode.encode(info)).digest('hex');

  // The seeder's copy, laid out exactly as our store reads it.
  const seedDir = path.join(work, 'seed');
  await mkdir(seedDir, { recursive: true });
  const layout = planFileLayout(info);
  for (const [index, file] of layout.entries()) {
    const target = path.join(seedDir, ...file.diskPath.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, options.files[index]?.content ?? Buffer.alloc(0));
  }
  const seeder = new WebTorrent({ ...LOOPBACK_CLIENT_OPTIONS });
  seeder.on('error', () => undefined);
  await new Promise<Torrent>((resolve, reject) => {
    const torrent = seeder.add(
      torrentFile,
      {
        path: seedDir,
        store: ConfinedChunkStore,
        storeOpts: { modes: { file: 0o600, dir: 0o700 }, onCreate: () => undefined },
      },
      (added) => resolve(added),
    );
    torrent.once('error', reject);
  });
  return {
    tracker,
    torrentFile,
    infoHash,
    info,
    magnetURI: `magnet:?xt=urn:btih:${infoHash}&tr=${encodeURIComponent(tracker.announceUrl)}`,
    close: async () => {
      await new Promise<void>((resolve) => seeder.destroy(() => resolve()));
      await tracker.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}
