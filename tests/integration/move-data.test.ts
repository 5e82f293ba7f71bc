/**
 * Issue 17: moving a job's data on a real loopback swarm. A film downloading is moved within the
 * file system (renamed) and finishes in its new folder; a completed, seeding film is moved to
 * another file system (a real tmpfs: copied and verified) and seeds again from there, the old
 * copy gone; a move cut short by a crash finishes at the next start; destinations outside the
 * allowed roots are refused; and an engine that keeps its own files says it cannot.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { temporaryFolderFor } from '../../src/disk/folder-move.js';
import type { Job } from '../../src/domain/job.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { JobMovesRepository } from '../../src/storage/job-moves-repository.js';
import { JobsRepository } from '../../src/storage/jobs-repository.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { mountTmpfs, type Tmpfs, tmpfsUnavailableReason } from '../helpers/tmpfs.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const FILM = 'Nosferatu.1922.mkv';

describe('moving a job’s data', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let tmpfs: Tmpfs;
  let swarm: LoopbackSwarm;
  before(async () => {
    assert.equal(tmpfsUnavailableReason(), null, 'these tests need a tmpfs mount');
    work = await tempDir();
    tmpfs = mountTmpfs(96 * MiB, 'chilly-move-data-');
    swarm = await createLoopbackSwarm({
      name: FILM,
      files: [{ path: FILM, size: 12 * MiB }],
      pieceLength: 256 * 1024,
    });
  });
  after(async () => {
    await swarm.close();
    tmpfs.unmount();
    await work.cleanup();
  });

  async function openService(name: string, options: { seedMinutes?: number; limit?: number } = {}) {
    const media = path.join(work.dir, name, 'media');
    return DownloadService.open({
      database: openDatabase(path.join(work.dir, name, 'chilly.db')),
      downloader: new WebTorrentDownloader({ mediaRoot: media, network: 'loopback' }),
      seeding: { ratio: 5, minutes: options.seedMinutes ?? 60 },
      rateLimits: { downloadBytesPerSecond: options.limit ?? 0, uploadBytesPerSecond: 0 },
      moveRoots: [media, path.join(work.dir, name, 'films'), tmpfs.dir],
    });
  }

  test('a downloading film moved on the same disk is renamed and finishes in its new folder', async () => {
    await mkdir(path.join(work.dir, 'same', 'films'), { recursive: true });
    const service = await openService('same', { limit: 2 * MiB });
    try {
      await service.add({ id: 'nosferatu', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('nosferatu').progress.bytesDone > 2 * MiB, { what: 'some data' });
      const before = service.get('nosferatu').progress.bytesDone;
      const moved = await service.moveData('nosferatu', path.join(work.dir, 'same', 'films', 'silent'));
      const to = path.join(work.dir, 'same', 'films', 'silent', 'nosferatu');
      assert.equal(moved.savePath, to);
      assert.equal(moved.move, undefined);
      assert.equal(existsSync(path.join(work.dir, 'same', 'media', 'nosferatu')), false);
      await waitUntil(() => service.get('nosferatu').status === 'completed', { what: 'completed', timeoutMs: 60_000 });
      assert.ok(service.get('nosferatu').progress.bytesDone >= before);
      assert.equal(await sha256File(path.join(to, FILM)), swarm.files[0]?.sha256);
    } finally {
      await service.close();
    }
  });

  test('a seeding film moved to another file system is copied, verified, and seeds again from there', async () => {
    const service = await openService('cross');
    try {
      await service.add({ id: 'nosferatu', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('nosferatu').seeding?.active === true, { what: 'seeding', timeoutMs: 60_000 });
      const from = service.get('nosferatu').savePath ?? '';
      const updates: Job[] = [];
      const stop = service.subscribe((event) => {
        if (event.type === 'updated' && event.job.move !== undefined) updates.push(event.job);
      });
      const started = performance.now();
      const moved = await service.moveData('nosferatu', tmpfs.dir);
      const seconds = (performance.now() - started) / 1000;
      stop();
      const to = path.join(tmpfs.dir, 'nosferatu');
      assert.equal(moved.savePath, to);
      assert.equal(await sha256File(path.join(to, FILM)), swarm.files[0]?.sha256);
      assert.equal(existsSync(from), false, 'the old copy is deleted once the new one is recorded');
      assert.equal(existsSync(temporaryFolderFor(to)), false);
      assert.ok(updates.length > 0, 'the move is announced with its progress');
      assert.equal(updates.at(-1)?.move?.bytesTotal, 12 * MiB);
      await waitUntil(() => service.get('nosferatu').seeding?.active === true, {
        what: 'seeding again from the new folder',
        timeoutMs: 60_000,
      });
      assert.equal(service.get('nosferatu').savePath, to);
      console.log(`# 12 MiB moved to a tmpfs in ${seconds.toFixed(2)} s`);
      await assert.rejects(service.moveData('nosferatu', '/etc'), { code: 'invalid_destination' });
      await assert.rejects(service.moveData('nosferatu', 'relative/folder'), { code: 'validation_failed' });
      await assert.rejects(service.moveData('nosferatu', path.join(to, 'inside')), { code: 'invalid_destination' });
    } finally {
      await service.close();
    }
  });

  test('a copy cut short by a crash goes on at the next start and ends with one whole copy', async () => {
    const service = await openService('crash', { seedMinutes: 0 });
    await service.add({ id: 'nosferatu', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    await waitUntil(() => service.get('nosferatu').status === 'completed', { what: 'completed', timeoutMs: 60_000 });
    const from = service.get('nosferatu').savePath ?? '';
    await service.close();
    // What a crash halfway through a copy leaves: the move recorded, a partial copy beside the destination.
    const to = path.join(tmpfs.dir, 'crashed', 'nosferatu');
    await mkdir(temporaryFolderFor(to), { recursive: true });
    await writeFile(path.join(temporaryFolderFor(to), `${FILM}.chilly-partial`), Buffer.alloc(3 * MiB, 7));
    const db = openDatabase(path.join(work.dir, 'crash', 'chilly.db'));
    new JobMovesRepository(db, new JobsRepository(db)).begin({
      jobId: 'nosferatu',
      from,
      to,
      restart: 'none',
      startedAt: new Date().toISOString(),
    });
    db.close();

    const again = await openService('crash', { seedMinutes: 0 });
    try {
      await assert.rejects(again.pause('nosferatu'), { code: 'move_in_progress' });
      await waitUntil(() => again.get('nosferatu').move === undefined, { what: 'the move to end', timeoutMs: 30_000 });
      assert.equal(again.get('nosferatu').savePath, to);
      assert.equal(again.get('nosferatu').status, 'completed');
      assert.equal(await sha256File(path.join(to, FILM)), swarm.files[0]?.sha256);
      assert.equal(existsSync(from), false);
      assert.equal(existsSync(temporaryFolderFor(to)), false);
    } finally {
      await again.close();
    }
  });

  test('an engine that keeps its own files cannot move them', async () => {
    const service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'mock.db')),
      downloader: new MockDownloader({ mediaRoot: path.join(work.dir, 'mock-media'), bytesPerSecond: 1 }),
      moveRoots: [work.dir],
    });
    try {
      await service.add({ id: 'a', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${'a1'.repeat(20)}` });
      await assert.rejects(service.moveData('a', work.dir), { code: 'capability_unsupported' });
    } finally {
      await service.close();
    }
  });
});
