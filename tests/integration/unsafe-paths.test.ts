import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import parseTorrent from 'parse-torrent';
import WebTorrent from 'webtorrent';
import type { ChillyError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { craftTorrent } from '../helpers/crafted-torrent.js';
import { LOOPBACK_CLIENT_OPTIONS, startLoopbackTracker } from '../helpers/loopback-swarm.js';
import { tempDir, waitForEvent } from '../helpers/wait.js';

/** Every file under `dir`, relative, sorted. */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

const HOSTILE_PATHS: Array<[string, string[]]> = [
  ['dot-dot', ['..', '..', 'escape.txt']],
  ['absolute', ['/etc', 'escape.txt']],
  ['windows drive', ['C:\\Windows', 'escape.txt']],
  ['UNC', ['\\\\server\\share', 'escape.txt']],
  ['backslash traversal', ['..\\..\\escape.txt']],
];

describe('torrents whose paths leave the job folder are refused', () => {
  for (const [label, hostile] of HOSTILE_PATHS) {
    test(`.torrent with a ${label} path: start() refuses it and writes nothing`, async () => {
      const work = await tempDir();
      const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
      try {
        const torrentFile = craftTorrent({
          name: 'Evil.Movie.2024',
          files: [
            { path: ['movie.mkv'], content: Buffer.alloc(20_000, 1) },
            { path: hostile, content: Buffer.from('pwned') },
          ],
          announceUrl: 'http://127.0.0.1:9/announce',
        });
        await assert.rejects(
          downloader.start({ id: 'evil', sourceType: 'torrent', torrentFile }),
          (error: ChillyError) => {
            assert.equal(error.code, 'unsafe_path');
            assert.match(error.message, /escape\.txt/);
            return true;
          },
        );
        assert.equal(downloader.get('evil'), undefined);
        assert.deepEqual(await listTree(work.dir), []);
      } finally {
        await downloader.destroy();
        await work.cleanup();
      }
    });
  }

  test('a magnet whose metadata (fetched from a peer) has a .. path fails the job before anything is written', async () => {
    const work = await tempDir();
    const tracker = await startLoopbackTracker();
    const seeder = new WebTorrent({ ...LOOPBACK_CLIENT_OPTIONS });
    seeder.on('error', () => undefined);
    const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
    try {
      const torrentFile = craftTorrent({
        name: 'Evil.Magnet.2024',
        files: [
          { path: ['movie.mkv'], content: Buffer.alloc(40_000, 2) },
          { path: ['..', '..', '..', 'escape.txt'], content: Buffer.from('pwned') },
        ],
        announceUrl: tracker.announceUrl,
      });
      const { infoHash } = await parseTorrent(torrentFile);
      // The seeder only has to serve the metadata; the leecher must refuse before asking for data.
      await new Promise<void>((resolve) =>
        seeder.add(torrentFile, { path: path.join(work.dir, 'seeder'), skipVerify: true }, () => resolve()),
      );
      const failed = waitForEvent<[ChillyError, Job]>(downloader, 'error', { timeoutMs: 30_000 });
      const magnet = `magnet:?xt=urn:btih:${infoHash}&tr=${encodeURIComponent(tracker.announceUrl)}`;
      await downloader.start({ id: 'evil-magnet', sourceType: 'torrent', sourceUrn: magnet });
      const [error, job] = await failed;
      assert.equal(error.code, 'unsafe_path');
      assert.equal(job.status, 'error');
      assert.equal(job.error?.code, 'unsafe_path');
      assert.equal(downloader.get('evil-magnet')?.status, 'error');
      // The media root's marker is all there is: no file of the torrent.
      const written = (await listTree(work.dir)).filter((f) => !f.startsWith('seeder'));
      assert.deepEqual(written, ['media/.chilly-media-root'], 'nothing of the torrent was written');
      await assert.rejects(downloader.resume('evil-magnet'), { code: 'invalid_transition' });
    } finally {
      await downloader.destroy();
      await new Promise<void>((resolve) => seeder.destroy(() => resolve()));
      await tracker.close();
      await work.cleanup();
    }
  });
});
