import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Job } from '../../src/domain/job.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { createLoopbackSwarm, readBytes, sha256File } from '../helpers/loopback-swarm.js';
import { tempDir, waitForEvent } from '../helpers/wait.js';

const MiB = 1024 * 1024;

describe('WebTorrentDownloader: file selection and reading ahead of the download', () => {
  test('only the selected files are downloaded, and the job completes when they are', async () => {
    const work = await tempDir();
    const swarm = await createLoopbackSwarm({
      name: 'Kino.Box',
      files: [
        { path: 'Big.Feature.mkv', size: 12 * MiB },
        { path: 'Short.Film.mkv', size: 1 * MiB + 1234 },
        { path: 'Trailer.mkv', size: 6 * MiB },
      ],
      pieceLength: 64 * 1024,
    });
    const downloader = new WebTorrentDownloader({ mediaRoot: work.dir, network: 'loopback' });
    try {
      const completed = waitForEvent<[Job]>(downloader, 'completed', { timeoutMs: 60_000 });
      await downloader.start(
        { id: 'box', sourceType: 'torrent', torrentFile: swarm.torrentFile },
        { selectedFiles: [1] },
      );
      const [job] = await completed;
      assert.equal(job.progress.bytesTotal, 1 * MiB + 1234, 'sizes count the selected file only');
      assert.equal(job.progress.fraction, 1);
      const short = swarm.files[1];
      assert.ok(short !== undefined);
      assert.equal(await sha256File(path.join(work.dir, 'box', short.path)), short.sha256);
      // At most the pieces shared with the neighbours were fetched of the other files.
      const received = swarm.seederTorrent?.uploaded ?? Number.POSITIVE_INFINITY;
      assert.ok(received < 2 * MiB, `the seeder sent ${received} bytes for a 1 MiB selection`);
      const big = path.join(work.dir, 'box', 'Kino.Box', 'Big.Feature.mkv');
      assert.ok(!existsSync(big) || statSync(big).blocks * 512 < 1 * MiB, 'the big file was not downloaded');
    } finally {
      await downloader.destroy();
      await swarm.close();
      await work.cleanup();
    }
  });

  test('a read in the middle of a file is served long before a sequential download would get there', async () => {
    const work = await tempDir();
    const size = 32 * MiB;
    const swarm = await createLoopbackSwarm({
      name: 'Playhead.mkv',
      files: [{ path: 'Playhead.mkv', size }],
      pieceLength: 256 * 1024,
      uploadLimit: 3 * MiB,
    });
    const downloader = new WebTorrentDownloader({ mediaRoot: work.dir, network: 'loopback' });
    try {
      await downloader.start({ id: 'play', sourceType: 'torrent', sourceUrn: swarm.magnetURI }, { sequential: true });
      const waiter = downloader.openRangeWaiter('play', 0, { readAheadBytes: 2 * MiB });
      const middle = size / 2;
      const started = Date.now();
      await waiter.waitFor(middle, middle + 64 * 1024 - 1, { timeoutMs: 30_000 });
      const waited = Date.now() - started;
      const progress = downloader.get('play')?.progress.bytesDone ?? 0;
      assert.ok(progress < size / 2, `served the middle after ${progress} bytes in total, not after the first half`);
      const file = path.join(work.dir, 'play', 'Playhead.mkv');
      const seeded = await readBytes(path.join(swarm.dataDir, 'Playhead.mkv'), middle, 64 * 1024);
      assert.deepEqual(await readBytes(file, middle, 64 * 1024), seeded, `right bytes at 50 % (after ${waited} ms)`);

      // Bounded waits clean up after themselves: a timeout and an abort leave no listeners behind.
      await swarm.stopSeeder();
      const torrent = await waitForTorrentListeners(downloader);
      const before = torrent();
      await assert.rejects(waiter.waitFor(size - 10, size - 1, { timeoutMs: 200 }), { code: 'stream_timeout' });
      const abort = new AbortController();
      const aborted = waiter.waitFor(size - 10, size - 1, { signal: abort.signal });
      abort.abort(new Error('player went away'));
      await assert.rejects(aborted, /player went away/);
      assert.equal(torrent(), before, 'no verified/close listeners leaked');
      await assert.rejects(waiter.waitFor(0, size), { code: 'range_not_satisfiable' });

      await downloader.pause('play');
      await assert.rejects(waiter.waitFor(size - 10, size - 1), { code: 'stream_unavailable' });
      waiter.close();
    } finally {
      await downloader.destroy();
      await swarm.close();
      await work.cleanup();
    }
  });
});

/** Counts the listeners a waiter adds on the job's torrent (through the engine's internals). */
async function waitForTorrentListeners(downloader: WebTorrentDownloader): Promise<() => number> {
  const engine = (downloader as unknown as { client: { torrents: Array<{ listenerCount(e: string): number }> } })
    .client;
  const torrent = engine.torrents[0];
  assert.ok(torrent !== undefined);
  return () => torrent.listenerCount('verified') + torrent.listenerCount('close');
}
