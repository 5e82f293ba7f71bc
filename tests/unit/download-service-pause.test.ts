/**
 * Issue 15: pause means pause. The service pauses a job in its engine and resumes it there; it used
 * to take the job off the engine (cancel, data kept) and add it again, which a remote engine answers
 * with a full re-check. After a restart the engine holds nothing, and a resume starts the job.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Job, JobInput } from '../../src/domain/job.js';
import type { CancelOptions, StartOptions } from '../../src/downloaders/downloader.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const MAGNET = `magnet:?xt=urn:btih:${'cd'.repeat(20)}&dn=The.General.1926.mkv`;

/** The mock driver, noting the calls the service makes. */
class RecordingDownloader extends MockDownloader {
  readonly calls: string[] = [];
  override start(input: JobInput, options?: StartOptions): Promise<Job> {
    this.calls.push(`start ${input.id}`);
    return super.start(input, options);
  }
  override pause(id: string): Promise<Job> {
    this.calls.push(`pause ${id}`);
    return super.pause(id);
  }
  override resume(id: string): Promise<Job> {
    this.calls.push(`resume ${id}`);
    return super.resume(id);
  }
  override cancel(id: string, options?: CancelOptions): Promise<Job> {
    this.calls.push(`cancel ${id}${options?.keepData === true ? ' (keep data)' : ''}`);
    return super.cancel(id, options);
  }
}

describe('pause means pause', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    work = await tempDir();
  });
  afterEach(() => work.cleanup());

  async function open(): Promise<{ service: DownloadService; downloader: RecordingDownloader }> {
    const downloader = new RecordingDownloader({ mediaRoot: path.join(work.dir, 'media'), bytesPerSecond: 1024 });
    const service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader,
      seeding: { ratio: 0, minutes: 0 },
    });
    return { service, downloader };
  }

  test('pause and resume go to the engine, which keeps the job in between; a cancel takes it off', async () => {
    const { service, downloader } = await open();
    try {
      await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
      await waitUntil(() => service.get('general')?.status === 'downloading');
      assert.equal((await service.pause('general')).status, 'paused');
      assert.equal(downloader.get('general')?.status, 'paused', 'the engine holds the job, paused');
      await service.resume('general');
      await waitUntil(() => service.get('general')?.status === 'downloading', { what: 'downloading again' });
      assert.equal(downloader.get('general')?.status, 'downloading');
      await service.pause('general');
      await service.cancel('general', { keepData: false });
      assert.equal(downloader.get('general'), undefined, 'a cancelled job leaves the engine');
      assert.deepEqual(downloader.calls, [
        'start general',
        'pause general',
        'resume general',
        'pause general',
        'cancel general (keep data)',
      ]);
    } finally {
      await service.close();
    }
  });

  test('after a restart the engine holds nothing: resume starts the job', async () => {
    let { service, downloader } = await open();
    await service.add({ id: 'general', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => service.get('general')?.status === 'downloading');
    await service.pause('general');
    await service.close();

    ({ service, downloader } = await open());
    try {
      assert.equal(service.get('general')?.status, 'paused');
      await service.resume('general');
      await waitUntil(() => service.get('general')?.status === 'downloading', { what: 'downloading again' });
      assert.deepEqual(downloader.calls, ['start general']);
    } finally {
      await service.close();
    }
  });
});
