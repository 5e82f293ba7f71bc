import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import WebTorrent from 'webtorrent';
import type { JobEvent } from '../../src/domain/job-event.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { createLoopbackSwarm, LOOPBACK_CLIENT_OPTIONS, sha256File } from '../helpers/loopback-swarm.js';
import { tempDir, waitForEvent, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

test('a completed job seeds until its ratio is reached, then stops uploading', async () => {
  const work = await tempDir();
  const swarm = await createLoopbackSwarm({
    name: 'Metropolis.1927.mkv',
    files: [{ path: 'Metropolis.1927.mkv', size: 4 * MiB }],
  });
  const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
  const service = await DownloadService.open({
    database: openDatabase(path.join(work.dir, 'chilly.db')),
    downloader,
    seeding: { ratio: 1, minutes: 10 },
  });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  const peer = new WebTorrent({ ...LOOPBACK_CLIENT_OPTIONS });
  peer.on('error', () => undefined);
  try {
    await service.add({ id: 'metropolis', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    await waitUntil(() => service.get('metropolis').status === 'completed', { what: 'completion' });
    assert.ok(downloader.get('metropolis') !== undefined, 'a completed job stays in the engine to seed');

    // With the original seeder gone, our client is the only source for a new peer.
    await swarm.stopSeeder();
    const torrent = peer.add(swarm.magnetURI, { path: path.join(work.dir, 'peer') });
    await waitForEvent(torrent, 'done', { timeoutMs: 60_000 });
    assert.equal(await sha256File(path.join(work.dir, 'peer', 'Metropolis.1927.mkv')), swarm.files[0]?.sha256);

    // Uploading the whole file once is ratio 1: seeding stops and the engine lets the job go.
    await waitUntil(() => events.some((e) => e.type === 'seeding_stopped'), {
      timeoutMs: 15_000,
      what: 'seeding to stop',
    });
    assert.equal(downloader.get('metropolis'), undefined);
    const job = service.get('metropolis');
    assert.equal(job.status, 'completed');
    assert.ok(job.progress.bytesUploaded >= 4 * MiB, `uploaded ${job.progress.bytesUploaded} bytes`);
  } finally {
    await new Promise<void>((resolve) => peer.destroy(() => resolve()));
    await service.close();
    await swarm.close();
    await work.cleanup();
  }
});
