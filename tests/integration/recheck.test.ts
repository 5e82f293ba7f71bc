/**
 * Issue 17: force recheck on a real loopback swarm. A completed film whose file was damaged on
 * disk is checked piece by piece, the damaged piece is downloaded again, and it completes byte for
 * byte; an engine that cannot recheck says so.
 */
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { createLoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

test('a damaged completed film is checked again, its bad piece fetched again, and it completes byte for byte', async () => {
  const work = await tempDir();
  const swarm = await createLoopbackSwarm({
    name: 'The.Gold.Rush.1925.mkv',
    files: [{ path: 'The.Gold.Rush.1925.mkv', size: 6 * MiB }],
    pieceLength: 256 * 1024,
  });
  const service = await DownloadService.open({
    database: openDatabase(path.join(work.dir, 'chilly.db')),
    downloader: new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' }),
    seeding: { ratio: 0, minutes: 0 },
  });
  try {
    await service.add({ id: 'gold', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    await waitUntil(() => service.get('gold').status === 'completed', { what: 'completed', timeoutMs: 60_000 });
    const file = path.join(service.get('gold').savePath ?? '', 'The.Gold.Rush.1925.mkv');
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from('damaged!'), 0, 8, 3 * MiB + 100);
    await handle.close();
    assert.notEqual(await sha256File(file), swarm.files[0]?.sha256);

    const rechecking = await service.recheck('gold');
    assert.notEqual(rechecking.status, 'completed');
    await waitUntil(() => service.get('gold').status === 'completed', { what: 'completed again', timeoutMs: 60_000 });
    assert.equal(await sha256File(file), swarm.files[0]?.sha256, 'the damaged piece was downloaded again');
  } finally {
    await service.close();
    await swarm.close();
    await work.cleanup();
  }
});

test('an engine that cannot recheck answers capability_unsupported; a queued job has nothing to check', async () => {
  const work = await tempDir();
  const service = await DownloadService.open({
    database: openDatabase(path.join(work.dir, 'chilly.db')),
    downloader: new MockDownloader({ mediaRoot: path.join(work.dir, 'media'), bytesPerSecond: 1 }),
    maxActiveDownloads: 1,
  });
  try {
    await service.add({ id: 'a', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${'a1'.repeat(20)}` });
    await service.add({ id: 'b', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${'b2'.repeat(20)}` });
    await assert.rejects(service.recheck('a'), { code: 'capability_unsupported' });
    await assert.rejects(service.recheck('b'), { code: 'invalid_transition' });
  } finally {
    await service.close();
    await work.cleanup();
  }
});
