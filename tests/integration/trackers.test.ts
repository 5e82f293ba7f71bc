/**
 * Issue 17: a job's trackers on a real loopback swarm: each with its status, last and next
 * announce, seeders and leechers; a tracker added while the job runs is announced to at once, a
 * dead one shows its error, a removed one is never contacted again (also after a restart), and the
 * changes are kept. Bad URLs are refused in plain words; an engine without trackers says so.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server as TrackerServer } from 'bittorrent-tracker';
import type { JobTracker } from '../../src/domain/job.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { createLoopbackSwarm, type LoopbackSwarm } from '../helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

/** A loopback HTTP tracker that counts the announces it gets. */
async function countingTracker(): Promise<{ url: string; announces: () => number; close: () => Promise<void> }> {
  const server = new TrackerServer({ udp: false, ws: false, http: true, stats: false, interval: 60_000 });
  server.on('error', () => undefined);
  server.on('warning', () => undefined);
  let announces = 0;
  for (const event of ['start', 'update', 'complete', 'stop']) server.on(event, () => (announces += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.http?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('not bound');
  return {
    url: `http://127.0.0.1:${address.port}/announce`,
    announces: () => announces,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a job’s trackers', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let swarm: LoopbackSwarm;
  before(async () => {
    work = await tempDir();
    swarm = await createLoopbackSwarm({
      name: 'Metropolis.1927.mkv',
      files: [{ path: 'Metropolis.1927.mkv', size: 16 * MiB }],
      pieceLength: 256 * 1024,
    });
  });
  after(async () => {
    await swarm.close();
    await work.cleanup();
  });

  const open = (rate = 512 * 1024) =>
    DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader: new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' }),
      // Slow, so the job is still running while the test looks at its trackers.
      rateLimits: { downloadBytesPerSecond: rate, uploadBytesPerSecond: 0 },
    });
  const byUrl = (list: JobTracker[], url: string) => list.find((tracker) => tracker.url === url);

  test('listed with their state; added, failing and removed trackers; kept across a restart', async () => {
    const extra = await countingTracker();
    // A port nothing listens on: connections are refused at once.
    const dead = `http://127.0.0.1:${await freeLoopbackPort()}/announce`;
    let service = await open();
    try {
      await service.add({ id: 'metropolis', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(
        async () => byUrl(await service.trackers('metropolis'), swarm.announceUrl)?.status === 'working',
        {
          what: 'the torrent’s tracker to answer',
        },
      );
      const own = byUrl(await service.trackers('metropolis'), swarm.announceUrl);
      assert.equal(own?.origin, 'torrent');
      assert.ok(own?.lastAnnounce !== null && Date.parse(own?.lastAnnounce ?? '') <= Date.now());
      assert.ok(Date.parse(own?.nextAnnounce ?? '') > Date.now(), 'the next announce is in the future');
      assert.ok((own?.seeders ?? 0) >= 1, 'the seeder is counted');

      const changed = await service.changeTrackers('metropolis', { add: [extra.url, dead] });
      assert.equal(byUrl(changed, extra.url)?.origin, 'added');
      await waitUntil(async () => byUrl(await service.trackers('metropolis'), extra.url)?.status === 'working', {
        what: 'the added tracker to answer',
      });
      assert.ok(extra.announces() >= 1);
      await waitUntil(async () => byUrl(await service.trackers('metropolis'), dead)?.status === 'error', {
        what: 'the dead tracker to fail',
      });
      assert.match(byUrl(await service.trackers('metropolis'), dead)?.message ?? '', /ECONNREFUSED/);

      const removed = await service.changeTrackers('metropolis', { remove: [extra.url, dead] });
      assert.deepEqual(
        removed.map((tracker) => tracker.url),
        [swarm.announceUrl],
      );
      await assert.rejects(service.changeTrackers('metropolis', { add: ['wss://tracker.example/announce'] }), {
        code: 'validation_failed',
        message: /WebSocket/,
      });
      await assert.rejects(service.changeTrackers('metropolis', { remove: ['http://127.0.0.1:1/announce'] }), {
        code: 'validation_failed',
      });
      await assert.rejects(service.changeTrackers('metropolis', { add: ['udp://127.0.0.1/announce'] }), {
        code: 'validation_failed',
      });

      // The torrent's own tracker removed, the counting one added back: after a restart only it is used.
      await service.changeTrackers('metropolis', { remove: [swarm.announceUrl], add: [extra.url] });
      await service.close();
      const before = extra.announces();
      service = await open();
      const stopped = await service.trackers('metropolis');
      assert.deepEqual(
        stopped.map((tracker) => [tracker.url, tracker.origin]),
        [[extra.url, 'added']],
      );
      await waitUntil(async () => byUrl(await service.trackers('metropolis'), extra.url)?.status === 'working', {
        what: 'the added tracker after the restart',
      });
      assert.ok(extra.announces() > before);
      assert.equal(byUrl(await service.trackers('metropolis'), swarm.announceUrl), undefined);
    } finally {
      await service.close();
      await extra.close();
    }
  });

  test('an engine without trackers says so', async () => {
    const service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'mock.db')),
      downloader: new MockDownloader({ mediaRoot: path.join(work.dir, 'mock-media'), bytesPerSecond: 1 }),
    });
    try {
      await service.add({ id: 'a', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${'a1'.repeat(20)}` });
      await assert.rejects(service.trackers('a'), { code: 'capability_unsupported' });
    } finally {
      await service.close();
    }
  });
});
