/**
 * Issue 14: a .torrent is read and checked once per job added, not once by the service and again
 * by the driver. The service hands the driver the source it checked; after a restart the driver
 * reads the stored bytes itself.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Job, JobInput } from '../../src/domain/job.js';
import type { StartOptions } from '../../src/downloaders/downloader.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { singleFileInfo, torrentBytes } from '../helpers/torrent-bytes.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

/** The mock driver, noting whether each start came with a source already checked. */
class RecordingDownloader extends MockDownloader {
  readonly starts: { id: string; hadSource: boolean }[] = [];

  override start(input: JobInput, options: StartOptions = {}): Promise<Job> {
    this.starts.push({ id: input.id, hadSource: options.source !== undefined });
    return super.start(input, options);
  }
}

describe('a job source is read once', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(() => work.cleanup());

  test('added from a .torrent path: the driver starts it from what the service read; after a restart, from the stored bytes', async () => {
    const torrentPath = path.join(work.dir, 'Metropolis.torrent');
    await writeFile(
      torrentPath,
      torrentBytes(singleFileInfo(new Uint8Array(40_000), { name: Buffer.from('Metropolis (1927).mkv') })),
    );
    const database = path.join(work.dir, 'chilly.db');
    const mediaRoot = path.join(work.dir, 'media');

    const downloader = new RecordingDownloader({ mediaRoot, bytesPerSecond: 1 });
    let service = await DownloadService.open({
      database: openDatabase(database),
      downloader,
      seeding: { ratio: 0, minutes: 0 },
    });
    const { job } = await service.add({ id: 'metropolis', sourceType: 'torrent', sourceUrn: torrentPath });
    assert.equal(job.name, 'Metropolis (1927).mkv');
    assert.deepEqual(downloader.starts, [{ id: 'metropolis', hadSource: true }]);
    await service.close();

    // After a restart, the driver reads the bytes the service stored (the .torrent path is gone).
    await rm(torrentPath);
    const again = new RecordingDownloader({ mediaRoot, bytesPerSecond: 1 });
    service = await DownloadService.open({
      database: openDatabase(database),
      downloader: again,
      seeding: { ratio: 0, minutes: 0 },
    });
    try {
      await waitUntil(() => again.starts.length > 0, { timeoutMs: 5_000, what: 'the restored job to start' });
      assert.deepEqual(again.starts, [{ id: 'metropolis', hadSource: false }]);
      await waitUntil(() => service.get('metropolis')?.status === 'downloading', { what: 'downloading again' });
    } finally {
      await service.close();
    }
  });
});
