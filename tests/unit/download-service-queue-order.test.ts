/**
 * Issue 17: queue order. A queued job moves to the top or bottom, or one place up or down; jobs
 * start in that order, and the order survives a restart. Through the API too.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { JobMovie } from '../../src/domain/job.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { JobRateLimitsRepository } from '../../src/storage/rate-limits-repository.js';
import { createApiTestServer, testMagnet } from '../helpers/api-test-server.js';
import { tempDir } from '../helpers/wait.js';

describe('queue order', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    work = await tempDir();
  });
  afterEach(() => work.cleanup());

  const open = () =>
    DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader: new MockDownloader({ mediaRoot: path.join(work.dir, 'media'), bytesPerSecond: 1 }),
      maxActiveDownloads: 1,
      seeding: { ratio: 0, minutes: 0 },
    });

  const queueOf = (service: DownloadService) =>
    service
      .list({ status: ['queued'] })
      .jobs.sort((a, b) => (a.queuePosition ?? 0) - (b.queuePosition ?? 0))
      .map((job) => `${job.queuePosition}:${job.id}`);

  test('a listed page shows every job exactly as reading it alone does (queue place, limits, movie)', async () => {
    const movie: JobMovie = {
      tmdbId: 603,
      title: 'The Matrix',
      originalTitle: 'The Matrix',
      year: 1999,
      runtime: 136,
      rating: null,
      posterUrl: null,
      backdropUrl: null,
      origin: 'user',
      confidence: null,
      release: { resolution: '1080p', source: null, codec: null, edition: [], group: null },
      linkedAt: '2026-12-02T00:00:00.000Z',
    };
    const database = openDatabase(path.join(work.dir, 'chilly.db'));
    const service = await DownloadService.open({
      database,
      downloader: new MockDownloader({ mediaRoot: path.join(work.dir, 'media'), bytesPerSecond: 1 }),
      maxActiveDownloads: 1,
      seeding: { ratio: 0, minutes: 0 },
      movies: (jobId) => (jobId === 'b' ? movie : null),
      moviesOf: (jobIds) => new Map<string, JobMovie>(jobIds.includes('b') ? [['b', movie]] : []),
    });
    try {
      for (const id of ['running', 'a', 'b', 'c', 'd']) {
        await service.add({ id, sourceType: 'torrent', sourceUrn: testMagnet(id) });
      }
      await service.moveInQueue('d', 'top');
      await service.pause('a');
      // The mock engine takes no limits: they are stored as the API stores them.
      new JobRateLimitsRepository(database).set('c', { downloadBytesPerSecond: 1024, uploadBytesPerSecond: 0 });
      const listed = service.list({ limit: 500 }).jobs;
      assert.equal(listed.length, 5);
      for (const job of listed) assert.deepEqual(job, service.get(job.id), job.id);
      const byId = new Map(listed.map((job) => [job.id, job]));
      assert.equal(byId.get('d')?.queuePosition, 1);
      assert.equal(byId.get('c')?.queuePosition, 3);
      assert.deepEqual(byId.get('c')?.rateLimits, { downloadBytesPerSecond: 1024, uploadBytesPerSecond: 0 });
      assert.deepEqual(byId.get('b')?.movie, movie);
      assert.equal(byId.get('a')?.movie, null);
    } finally {
      await service.close();
    }
  });

  test('top, up, down, bottom; the order holds across a restart and decides what starts next', async () => {
    let service = await open();
    for (const id of ['running', 'a', 'b', 'c', 'd']) {
      await service.add({ id, sourceType: 'torrent', sourceUrn: testMagnet(id) });
    }
    assert.equal(service.get('running').status, 'downloading');
    assert.deepEqual(queueOf(service), ['1:a', '2:b', '3:c', '4:d']);
    await service.moveInQueue('c', 'top');
    assert.deepEqual(queueOf(service), ['1:c', '2:a', '3:b', '4:d']);
    await service.moveInQueue('d', 'up');
    assert.deepEqual(queueOf(service), ['1:c', '2:a', '3:d', '4:b']);
    await service.moveInQueue('c', 'down');
    assert.deepEqual(queueOf(service), ['1:a', '2:c', '3:d', '4:b']);
    await service.moveInQueue('a', 'bottom');
    assert.deepEqual(queueOf(service), ['1:c', '2:d', '3:b', '4:a']);
    await service.moveInQueue('c', 'up'); // already first: nothing moves
    assert.deepEqual(queueOf(service), ['1:c', '2:d', '3:b', '4:a']);
    await assert.rejects(service.moveInQueue('running', 'top'), { code: 'invalid_transition' });

    await service.close();
    service = await open();
    try {
      // After the restart the job that was running takes its slot again (it was first); then c, d, b, a.
      assert.equal(service.get('running').status, 'downloading');
      assert.deepEqual(queueOf(service), ['1:c', '2:d', '3:b', '4:a']);
      await service.pause('running');
      assert.equal(service.get('c').status, 'downloading', 'the top of the queue starts next');
    } finally {
      await service.close();
    }
  });

  test('POST /download/queue moves a job; a bad move is 400', async () => {
    const server = await createApiTestServer({ maxActiveDownloads: 1 });
    try {
      for (const id of ['first', 'second', 'third']) {
        await server.service.add({ id, sourceType: 'torrent', sourceUrn: testMagnet(id) });
      }
      const moved = await server.app.inject({
        method: 'POST',
        url: '/download/queue',
        headers: server.auth,
        payload: { id: 'third', move: 'top' },
      });
      assert.equal(moved.statusCode, 200);
      assert.equal(moved.json().queuePosition, 1);
      const bad = await server.app.inject({
        method: 'POST',
        url: '/download/queue',
        headers: server.auth,
        payload: { id: 'third', move: 'sideways' },
      });
      assert.equal(bad.statusCode, 400);
    } finally {
      await server.close();
    }
  });
});
