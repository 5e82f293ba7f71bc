/**
 * Issue 12, finding 8 (second half): a job with no peers, or none that send, is `stalled` instead
 * of `downloading` forever, and is `downloading` again by itself when data flows.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { JobEvent } from '../../src/domain/job-event.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { createLoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

describe('stalled downloads (finding 8)', () => {
  test('no data for a while is stalled; it clears by itself when a seeder comes back', async () => {
    const work = await tempDir();
    const swarm = await createLoopbackSwarm({
      name: 'Greed.1924.mkv',
      files: [{ path: 'Greed.1924.mkv', size: 12 * MiB }],
      pieceLength: 256 * 1024,
      uploadLimit: 2 * MiB,
    });
    const events: JobEvent[] = [];
    const service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader: new WebTorrentDownloader({
        mediaRoot: path.join(work.dir, 'media'),
        network: 'loopback',
        stalledAfterMs: 1_000,
      }),
      persistIntervalMs: 200,
      seeding: { ratio: 0, minutes: 0 },
    });
    service.subscribe((event) => events.push(event));
    try {
      await service.add({ id: 'greed', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('greed').progress.bytesDone > 1 * MiB, { timeoutMs: 60_000, what: 'data' });
      assert.equal(service.get('greed').status, 'downloading');
      await swarm.stopSeeder();
      await waitUntil(() => service.get('greed').status === 'stalled', { timeoutMs: 15_000, what: 'stalled' });
      assert.ok(events.some((event) => event.type === 'stalled' && event.job.id === 'greed'));
      assert.deepEqual(
        service.list({ status: ['stalled'] }).jobs.map((job) => job.id),
        ['greed'],
        'stalled is a status of its own, in the list filter too',
      );
      await swarm.startSeeder();
      await waitUntil(() => service.get('greed').status !== 'stalled', { timeoutMs: 30_000, what: 'data again' });
      await waitUntil(() => service.get('greed').status === 'completed', { timeoutMs: 60_000, what: 'completion' });
      assert.equal(await sha256File(path.join(work.dir, 'media', 'greed', 'Greed.1924.mkv')), swarm.files[0]?.sha256);
      const types = events.filter((event) => event.job.id === 'greed').map((event) => event.type);
      assert.ok(types.indexOf('stalled') < types.lastIndexOf('progress'), 'progress again after the stall');
    } finally {
      await service.close();
      await swarm.close();
      await work.cleanup();
    }
  });

  test('a magnet nobody seeds is stalled, not downloading forever', async () => {
    const work = await tempDir();
    const swarm = await createLoopbackSwarm({
      name: 'Lost.mkv',
      files: [{ path: 'Lost.mkv', size: 1 * MiB }],
      seeder: false,
    });
    const downloader = new WebTorrentDownloader({
      mediaRoot: path.join(work.dir, 'media'),
      network: 'loopback',
      stalledAfterMs: 500,
    });
    try {
      await downloader.start({ id: 'lost', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => downloader.get('lost')?.status === 'stalled', { timeoutMs: 10_000, what: 'stalled' });
      await downloader.pause('lost');
      assert.equal(downloader.get('lost')?.status, 'paused');
    } finally {
      await downloader.destroy();
      await swarm.close();
      await work.cleanup();
    }
  });
});
