/**
 * Disk space, for real: the media folder lives on a tiny tmpfs, so "not enough space" and
 * ENOSPC come from the kernel, not from a mock. The database lives on the normal disk, as it
 * would for a user whose movie drive fills up (except in the last test, which puts both on the
 * tmpfs). Needs root (to mount); skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChillyError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { HttpDownloader } from '../../src/downloaders/http/http-downloader.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/database.js';
import { JobsRepository } from '../../src/storage/jobs-repository.js';
import { ResumeRepository } from '../../src/storage/resume-repository.js';
import { seededBytes, startHttpFileServer } from '../helpers/http-file-server.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { mountTmpfs, type Tmpfs, tmpfsUnavailableReason } from '../helpers/tmpfs.js';
import { sleep, tempDir, waitForEvent, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const PIECE = 256 * 1024;
const unavailable = tmpfsUnavailableReason();
const skip = unavailable === null ? false : `tmpfs unavailable: ${unavailable}`;

interface Opened {
  service: DownloadService;
  events: JobEvent[];
  warnings: string[];
  downloader: WebTorrentDownloader;
  database: SqliteDatabase;
}

/** A service on `dbFile` whose movies go to `mediaRoot` (the tmpfs). */
async function openService(
  dbFile: string,
  mediaRoot: string,
  options: { maxActiveDownloads?: number; onEvent?: (event: JobEvent) => void } = {},
): Promise<Opened> {
  const database = openDatabase(dbFile);
  const downloader = new WebTorrentDownloader({ mediaRoot, network: 'loopback' });
  const warnings: string[] = [];
  const service = await DownloadService.open({
    database,
    downloader,
    persistIntervalMs: 300,
    seeding: { ratio: 0, minutes: 0 },
    onWarning: (message, cause) => warnings.push(cause === undefined ? message : `${message}: ${String(cause)}`),
    ...(options.maxActiveDownloads === undefined ? {} : { maxActiveDownloads: options.maxActiveDownloads }),
  });
  const events: JobEvent[] = [];
  service.subscribe((event) => {
    events.push(event);
    options.onEvent?.(event);
  });
  return { service, events, warnings, downloader, database };
}

/** Resolves with `promise`, or with 'timeout' after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes the service; if that fails or hangs (a failed test may leave it in any state), stops the
 * engine and the database directly, so no socket or file handle outlives the test.
 */
async function closeService(opened: Opened | undefined): Promise<void> {
  if (opened === undefined) return;
  const closed = await within(
    opened.service.close().then(
      () => 'ok' as const,
      () => 'failed' as const,
    ),
    15_000,
  );
  if (closed === 'ok') return;
  await within(opened.downloader.destroy(), 15_000);
  if (opened.database.open) opened.database.close();
}

/** A fresh read of the database, as another process (or the next start) would see it. */
function readStored(dbFile: string, id: string) {
  const db = openDatabase(dbFile);
  try {
    const stored = new JobsRepository(db).get(id);
    const resume = new ResumeRepository(db).get(id);
    return { job: stored?.job, resume };
  } finally {
    db.close();
  }
}

function countBits(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) for (let b = byte; b !== 0; b >>= 1) count += b & 1;
  return count;
}

/** Bytes allocated under `dir` (0 when it does not exist). */
function allocatedBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).blocks * 512;
  }
  return total;
}

/** The figures of an `insufficient_space` message, e.g. "16.0 MiB needed, 8.0 MiB free". */
function spaceFigures(message: string): { needed: string; free: string } {
  const match = /([\d.]+) MiB needed, ([\d.]+) MiB free/.exec(message);
  assert.ok(match?.[1] !== undefined && match[2] !== undefined, `message names the MiB needed and free: ${message}`);
  return { needed: match[1], free: match[2] };
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1);

/** Another program takes all but about `leave` bytes of the tmpfs. */
function fillDisk(tmp: Tmpfs, file: string, leave: number): void {
  const size = Math.floor((tmp.freeBytes() - leave) / 4096) * 4096;
  assert.ok(size > 0, `room for a filler (free ${tmp.freeBytes()})`);
  try {
    writeFileSync(file, Buffer.alloc(size, 0x5a));
  } catch (error) {
    // The download may have written into the margin meanwhile: the disk is full either way.
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  }
}

function errorEvents(events: JobEvent[], id: string): JobEvent[] {
  return events.filter((e) => e.type === 'error' && e.job.id === id);
}

async function waitForStatus(service: DownloadService, id: string, statuses: Job['status'][], timeoutMs: number) {
  await waitUntil(() => statuses.includes(service.get(id).status), {
    timeoutMs,
    intervalMs: 25,
    what: `job ${id} to be ${statuses.join(' or ')}`,
  });
  return service.get(id);
}

describe('disk space on a small tmpfs', () => {
  /** 16 MiB: twice what the 8 MiB tmpfs of the insufficient_space tests holds. */
  let big: LoopbackSwarm | undefined;

  before(async () => {
    if (skip !== false) return;
    big = await createLoopbackSwarm({
      name: 'Metropolis.1927.mkv',
      files: [{ path: 'Metropolis.1927.mkv', size: 16 * MiB }],
      pieceLength: PIECE,
    });
  });
  after(async () => {
    await big?.close();
  });

  test('a .torrent bigger than the free space fails with insufficient_space before writing anything, persisted; it downloads once there is room', {
    skip,
  }, async () => {
    assert.ok(big !== undefined);
    const work = await tempDir();
    const tmp = mountTmpfs(8 * MiB);
    const dbFile = path.join(work.dir, 'chilly.db');
    // Not created yet: the check must look at the tmpfs, not at the disk above it.
    const mediaRoot = path.join(tmp.dir, 'Movies');
    let opened: Opened | undefined;
    try {
      assert.notEqual(statSync(work.dir).dev, statSync(tmp.dir).dev, 'the database is not on the tmpfs');
      opened = await openService(dbFile, mediaRoot);
      const result = await opened.service.add({
        id: 'metropolis',
        sourceType: 'torrent',
        torrentFile: big.torrentFile,
      });
      assert.equal(result.created, true);
      assert.equal(result.job.status, 'error');
      assert.equal(result.job.error?.code, 'insufficient_space');
      assert.deepEqual(spaceFigures(result.job.error?.message ?? ''), { needed: '16.0', free: '8.0' });
      assert.ok(result.job.error?.message.includes(mediaRoot), 'the message names the folder that is short of space');
      assert.deepEqual(
        opened.events.filter((e) => e.job.id === 'metropolis').map((e) => e.type),
        ['added', 'error'],
        'the job never started',
      );
      assert.equal(errorEvents(opened.events, 'metropolis')[0]?.job.error?.code, 'insufficient_space');
      assert.equal(tmp.usedBytes(), 0, 'nothing was written to the tmpfs');
      assert.equal(existsSync(path.join(mediaRoot, 'metropolis')), false, 'no job folder was created');

      const stored = readStored(dbFile, 'metropolis').job;
      assert.equal(stored?.status, 'error');
      assert.deepEqual(stored?.error, result.job.error, 'the error is in SQLite');

      // Nothing retries behind the user's back, and a restart keeps the job as it was.
      await sleep(500);
      assert.equal(opened.service.get('metropolis').status, 'error');
      await closeService(opened);
      opened = await openService(dbFile, mediaRoot);
      await sleep(300);
      assert.equal(opened.service.get('metropolis').status, 'error');
      assert.equal(opened.service.get('metropolis').error?.code, 'insufficient_space');
      assert.equal(tmp.usedBytes(), 0);

      // Make room (a bigger disk), resume: it downloads, byte for byte.
      tmp.resize(24 * MiB);
      const resumed = await opened.service.resume('metropolis');
      assert.notEqual(resumed.status, 'error', `resume with room to spare: ${JSON.stringify(resumed.error)}`);
      const done = await waitForStatus(opened.service, 'metropolis', ['completed', 'error'], 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.error, undefined, 'the old error is cleared');
      assert.equal(readStored(dbFile, 'metropolis').job?.error, undefined);
      assert.equal(await sha256File(path.join(mediaRoot, 'metropolis', 'Metropolis.1927.mkv')), big.files[0]?.sha256);
    } finally {
      await closeService(opened);
      tmp.unmount();
      await work.cleanup();
    }
  });

  test('a magnet bigger than the free space fails with insufficient_space once its metadata arrives, frees its slot, and downloads once there is room', {
    skip,
  }, async () => {
    assert.ok(big !== undefined);
    const work = await tempDir();
    const tmp = mountTmpfs(8 * MiB);
    const small = await createLoopbackSwarm({
      name: 'A.Trip.to.the.Moon.1902.mkv',
      files: [{ path: 'A.Trip.to.the.Moon.1902.mkv', size: 1 * MiB }],
      pieceLength: PIECE,
    });
    const dbFile = path.join(work.dir, 'chilly.db');
    const mediaRoot = path.join(tmp.dir, 'Movies');
    let opened: Opened | undefined;
    try {
      // What the disk looked like at the moment the failure was announced.
      let atError: { used: number; inJobFolder: number } | undefined;
      opened = await openService(dbFile, mediaRoot, {
        // One slot: the second movie can only start once the first lets go of it.
        maxActiveDownloads: 1,
        onEvent: (event) => {
          if (event.type === 'error' && event.job.id === 'metropolis' && atError === undefined) {
            atError = { used: tmp.usedBytes(), inJobFolder: allocatedBytes(path.join(mediaRoot, 'metropolis')) };
          }
        },
      });
      const { service, events } = opened;
      const added = await service.add({ id: 'metropolis', sourceType: 'torrent', sourceUrn: big.magnetURI });
      assert.notEqual(added.job.status, 'error', 'the size of a magnet is unknown until its metadata arrives');
      await service.add({ id: 'moon', sourceType: 'torrent', torrentFile: small.torrentFile });
      assert.equal(service.get('moon').status, 'queued');

      const failed = await waitForStatus(service, 'metropolis', ['error', 'completed'], 30_000);
      assert.equal(failed.status, 'error');
      assert.equal(failed.error?.code, 'insufficient_space');
      assert.deepEqual(spaceFigures(failed.error?.message ?? ''), { needed: '16.0', free: '8.0' });
      assert.equal(errorEvents(events, 'metropolis').length, 1, 'one error event');
      // A magnet's folder (and the media root's marker) is made when it starts, before its size is known.
      assert.equal(atError?.inJobFolder, 0, 'nothing was written into the job folder before the check');
      assert.ok(
        (atError?.used ?? Number.POSITIVE_INFINITY) <= 16 * 1024,
        `only folders and the marker: ${atError?.used}`,
      );
      const stored = readStored(dbFile, 'metropolis').job;
      assert.equal(stored?.status, 'error');
      assert.equal(stored?.error?.code, 'insufficient_space');

      // The failed movie does not block the queue: the one that fits downloads.
      const moon = await waitForStatus(service, 'moon', ['completed', 'error'], 30_000);
      assert.equal(moon.status, 'completed', JSON.stringify(moon.error));
      assert.equal(
        await sha256File(path.join(mediaRoot, 'moon', 'A.Trip.to.the.Moon.1902.mkv')),
        small.files[0]?.sha256,
      );
      assert.equal(allocatedBytes(path.join(mediaRoot, 'metropolis')), 0, 'the failed magnet never wrote data');

      // Make room, resume: the magnet's metadata comes again, the check passes, it downloads.
      tmp.resize(24 * MiB);
      await service.resume('metropolis');
      const done = await waitForStatus(service, 'metropolis', ['completed', 'error'], 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(await sha256File(path.join(mediaRoot, 'metropolis', 'Metropolis.1927.mkv')), big.files[0]?.sha256);
    } finally {
      await closeService(opened);
      await small.close();
      tmp.unmount();
      await work.cleanup();
    }
  });

  test('the disk filling up mid-download is disk_full, persisted across a restart; resume while still full is insufficient_space with figures; once space is freed it completes byte for byte', {
    skip,
  }, async (t) => {
    const work = await tempDir();
    const tmp: Tmpfs = mountTmpfs(12 * MiB);
    // Slow enough (about 10 s for the whole file) that the disk can be filled under it.
    const swarm = await createLoopbackSwarm({
      name: 'Nosferatu.1922.mkv',
      files: [{ path: 'Nosferatu.1922.mkv', size: 10 * MiB }],
      pieceLength: PIECE,
      uploadLimit: 1 * MiB,
    });
    const dbFile = path.join(work.dir, 'chilly.db');
    const mediaRoot = path.join(tmp.dir, 'Movies');
    const movie = path.join(mediaRoot, 'nosferatu', 'Nosferatu.1922.mkv');
    const filler = path.join(tmp.dir, 'someone-elses-big-file.bin');
    let opened: Opened | undefined;
    try {
      opened = await openService(dbFile, mediaRoot);
      const added = await opened.service.add({
        id: 'nosferatu',
        sourceType: 'torrent',
        torrentFile: swarm.torrentFile,
      });
      assert.ok(
        ['verifying', 'downloading'].includes(added.job.status),
        `10 MiB fits in 12 MiB: the check lets it start (${added.job.status}, ${JSON.stringify(added.job.error)})`,
      );
      const running = () => ['verifying', 'downloading'].includes(opened?.service.get('nosferatu').status ?? '');

      // Once data is flowing, another program takes all but ~2 MiB of the disk.
      await waitUntil(() => tmp.usedBytes() >= MiB || !running(), {
        timeoutMs: 30_000,
        intervalMs: 20,
        what: 'the first MiB on disk',
      });
      assert.equal(opened.service.get('nosferatu').status, 'downloading', 'still downloading when the disk fills');
      const fillAt = Date.now();
      fillDisk(tmp, filler, 2 * MiB);

      const failed = await waitForStatus(opened.service, 'nosferatu', ['error', 'completed'], 30_000);
      assert.equal(failed.status, 'error', 'the download could not have fit');
      t.diagnostic(`disk full ${Date.now() - fillAt} ms after the filler, at ${mib(tmp.usedBytes())} MiB used`);
      assert.equal(failed.error?.code, 'disk_full');
      assert.match(failed.error?.message ?? '', /disk holding .* is full/i);
      const published = errorEvents(opened.events, 'nosferatu');
      assert.equal(published.length, 1, 'one error event');
      assert.equal(published[0]?.job.error?.code, 'disk_full');

      // Persisted: the status, the error, and the pieces already verified (for the resume).
      const stored = readStored(dbFile, 'nosferatu');
      assert.equal(stored.job?.status, 'error');
      assert.deepEqual(stored.job?.error, failed.error);
      assert.ok(stored.resume !== undefined, 'resume data was saved when the job failed');
      const verified = countBits(stored.resume.bitfield);
      assert.ok(verified >= 1 && verified < 40, `some but not all of the 40 pieces were kept (${verified})`);
      assert.ok((stored.job?.progress.bytesDone ?? 0) > 0, 'progress was saved');
      t.diagnostic(`${verified} of 40 pieces kept, ${stored.job?.progress.bytesDone} bytes done saved`);

      // Quit and start again: the job is still failed (not retried into a full disk).
      await closeService(opened);
      opened = await openService(dbFile, mediaRoot);
      await sleep(300);
      assert.equal(opened.service.get('nosferatu').status, 'error');
      assert.equal(opened.service.get('nosferatu').error?.code, 'disk_full');

      // Resume while the disk is still full: refused up front, with the figures a user needs.
      const usedBefore = tmp.usedBytes();
      const stillFull = await opened.service.resume('nosferatu');
      assert.equal(stillFull.status, 'error');
      assert.equal(stillFull.error?.code, 'insufficient_space');
      assert.deepEqual(spaceFigures(stillFull.error?.message ?? ''), {
        needed: mib(10 * MiB - verified * PIECE),
        free: mib(tmp.freeBytes()),
      });
      assert.equal(readStored(dbFile, 'nosferatu').job?.error?.code, 'insufficient_space', 'persisted too');
      assert.equal(tmp.usedBytes(), usedBefore, 'nothing was written');
      assert.ok(readStored(dbFile, 'nosferatu').resume !== undefined, 'the saved pieces survive a refused resume');

      // Free the space and resume: it continues from the saved pieces and completes.
      unlinkSync(filler);
      swarm.seeder?.throttleUpload(-1);
      const uploadedBefore = swarm.seederTorrent?.uploaded ?? 0;
      const resumed = await opened.service.resume('nosferatu');
      assert.notEqual(resumed.status, 'error', JSON.stringify(resumed.error));
      const done = await waitForStatus(opened.service, 'nosferatu', ['completed', 'error'], 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.error, undefined);
      const refetched = (swarm.seederTorrent?.uploaded ?? 0) - uploadedBefore;
      assert.ok(
        refetched <= 10 * MiB - verified * PIECE + 2 * PIECE,
        `only the missing pieces were downloaded again (${refetched} bytes; ${verified} pieces were kept)`,
      );
      t.diagnostic(`${refetched} bytes fetched again after the resume`);
      assert.equal(await sha256File(movie), swarm.files[0]?.sha256, 'byte for byte');
      assert.equal(readStored(dbFile, 'nosferatu').job?.status, 'completed');
      assert.deepEqual(opened.warnings, [], 'the saved bitfield was trusted, nothing went wrong in the background');
    } finally {
      await closeService(opened);
      await swarm.close();
      tmp.unmount();
      await work.cleanup();
    }
  });

  test('a pack bigger than the disk: refused whole, then choosing the film alone makes it fit; only its pieces are written', {
    skip,
  }, async () => {
    const work = await tempDir();
    const tmp = mountTmpfs(8 * MiB);
    // 14 MiB of extras and a 3 MiB film on an 8 MiB disk.
    const pack = await createLoopbackSwarm({
      name: 'Nosferatu.1922.Pack',
      files: [
        { path: 'Extras/Commentary.mkv', size: 14 * MiB },
        { path: 'Nosferatu.1922.mkv', size: 3 * MiB },
      ],
      pieceLength: PIECE,
    });
    const dbFile = path.join(work.dir, 'chilly.db');
    const mediaRoot = path.join(tmp.dir, 'Movies');
    let opened: Opened | undefined;
    try {
      opened = await openService(dbFile, mediaRoot);
      const { service } = opened;
      const added = await service.add({ id: 'nosferatu', sourceType: 'torrent', torrentFile: pack.torrentFile });
      assert.equal(added.job.error?.code, 'insufficient_space');
      assert.equal(spaceFigures(added.job.error?.message ?? '').needed, '17.0');

      const filmIndex = added.job.files?.findIndex((file) => file.path.endsWith('Nosferatu.1922.mkv')) ?? -1;
      assert.ok(filmIndex >= 0, `the job lists its files: ${JSON.stringify(added.job.files)}`);
      await service.setFileOptions('nosferatu', { selectedFiles: [filmIndex] });
      const resumed = await service.resume('nosferatu');
      assert.notEqual(resumed.status, 'error', `the film alone fits: ${JSON.stringify(resumed.error)}`);
      const done = await waitForStatus(service, 'nosferatu', ['completed', 'error'], 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      const film = pack.files.find((file) => file.path.endsWith('Nosferatu.1922.mkv'));
      assert.equal(await sha256File(path.join(mediaRoot, 'nosferatu', film?.path ?? '')), film?.sha256);
      // The film and the one piece it shares with the extras: nowhere near the 17 MiB of the pack.
      assert.ok(tmp.usedBytes() <= 3 * MiB + 2 * PIECE, `${mib(tmp.usedBytes())} MiB written`);
    } finally {
      await closeService(opened);
      await pack.close();
      tmp.unmount();
      await work.cleanup();
    }
  });

  test('two movies that each fit but not together: the second is refused up front instead of both ending in disk_full', {
    skip,
  }, async () => {
    const work = await tempDir();
    const tmp = mountTmpfs(12 * MiB);
    const swarms = await Promise.all(
      ['Sunrise.1927.mkv', 'The.General.1926.mkv'].map((name) =>
        createLoopbackSwarm({ name, files: [{ path: name, size: 8 * MiB }], pieceLength: PIECE, uploadLimit: 4 * MiB }),
      ),
    );
    const [sunrise, general] = swarms;
    assert.ok(sunrise !== undefined && general !== undefined);
    const dbFile = path.join(work.dir, 'chilly.db');
    const mediaRoot = path.join(tmp.dir, 'Movies');
    let opened: Opened | undefined;
    try {
      opened = await openService(dbFile, mediaRoot, { maxActiveDownloads: 2 });
      const { service } = opened;
      await service.add({ id: 'sunrise', sourceType: 'torrent', torrentFile: sunrise.torrentFile });
      await service.add({ id: 'general', sourceType: 'torrent', torrentFile: general.torrentFile });
      const settled = (id: string) => !['downloading', 'verifying'].includes(service.get(id).status);
      await waitUntil(() => settled('sunrise') && settled('general'), { timeoutMs: 40_000, what: 'both jobs settled' });

      const fullErrors = opened.events.filter((e) => e.type === 'error' && e.job.error?.code === 'disk_full');
      assert.deepEqual(
        fullErrors.map((e) => e.job.id),
        [],
        '16 MiB of downloads were let onto a 12 MiB disk: they filled it and stopped half-way',
      );
      assert.equal(service.get('sunrise').status, 'completed');
      assert.equal(await sha256File(path.join(mediaRoot, 'sunrise', 'Sunrise.1927.mkv')), sunrise.files[0]?.sha256);
      const second = service.get('general');
      assert.ok(
        second.status === 'queued' || second.error?.code === 'insufficient_space',
        `the second movie waits or is refused with insufficient_space (${second.status}, ${JSON.stringify(second.error)})`,
      );
    } finally {
      await closeService(opened);
      for (const swarm of swarms) await swarm.close();
      tmp.unmount();
      await work.cleanup();
    }
  });

  test('database and movies on the same disk: when it fills up the job still ends in disk_full, and resumes once space is freed', {
    skip,
  }, async () => {
    const tmp = mountTmpfs(16 * MiB);
    const swarm = await createLoopbackSwarm({
      name: 'The.Kid.1921.mkv',
      files: [{ path: 'The.Kid.1921.mkv', size: 10 * MiB }],
      pieceLength: PIECE,
      uploadLimit: 1 * MiB,
    });
    // The usual desktop layout: app data and movies on one disk.
    const dbFile = path.join(tmp.dir, 'data', 'chilly.db');
    const mediaRoot = path.join(tmp.dir, 'Movies');
    const filler = path.join(tmp.dir, 'someone-elses-big-file.bin');
    let opened: Opened | undefined;
    try {
      opened = await openService(dbFile, mediaRoot);
      const { service } = opened;
      await service.add({ id: 'kid', sourceType: 'torrent', torrentFile: swarm.torrentFile });
      await waitUntil(() => allocatedBytes(path.join(mediaRoot, 'kid')) >= MiB, {
        timeoutMs: 30_000,
        intervalMs: 20,
        what: 'the first MiB on disk',
      });
      fillDisk(tmp, filler, 2 * MiB);

      await waitUntil(() => service.get('kid').status !== 'downloading', { timeoutMs: 10_000 }).catch(() => undefined);
      assert.equal(
        service.get('kid').status,
        'error',
        `10 s after the disk filled up; driver: ${JSON.stringify(opened.downloader.get('kid')?.error)}, warnings: ${JSON.stringify(opened.warnings)}`,
      );
      assert.equal(errorEvents(opened.events, 'kid')[0]?.job.error?.code, 'disk_full');

      unlinkSync(filler);
      swarm.seeder?.throttleUpload(-1);
      await service.resume('kid');
      const done = await waitForStatus(service, 'kid', ['completed', 'error'], 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(await sha256File(path.join(mediaRoot, 'kid', 'The.Kid.1921.mkv')), swarm.files[0]?.sha256);
    } finally {
      // Space first, so that closing can write what it has to.
      if (existsSync(filler)) unlinkSync(filler);
      await closeService(opened);
      await swarm.close();
      tmp.unmount();
    }
  });

  test('a job whose folder is on another disk than the media folder is checked against its own disk', {
    skip,
  }, async () => {
    assert.ok(big !== undefined);
    const work = await tempDir();
    const tmp = mountTmpfs(8 * MiB);
    const onBigDisk = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'Movies'), network: 'loopback' });
    const onTmpfs = new WebTorrentDownloader({ mediaRoot: path.join(tmp.dir, 'Movies'), network: 'loopback' });
    try {
      assert.notEqual(statSync(work.dir).dev, statSync(tmp.dir).dev);
      // The media folder has room, the job's folder (a film moved to the small disk) has not.
      await assert.rejects(
        onBigDisk.start(
          { id: 'metropolis', sourceType: 'torrent', torrentFile: big.torrentFile },
          { savePath: path.join(tmp.dir, 'metropolis') },
        ),
        (error: { code?: string; message?: string }) =>
          error.code === 'insufficient_space' && (error.message ?? '').includes(tmp.dir),
      );
      assert.equal(tmp.usedBytes(), 0, 'nothing was written to the small disk');
      // The media folder is full, the job's folder (a film moved to the big disk) has room.
      const folder = path.join(work.dir, 'Moved', 'metropolis');
      await mkdir(path.dirname(folder));
      const job = await onTmpfs.start(
        { id: 'metropolis', sourceType: 'torrent', torrentFile: big.torrentFile },
        { savePath: folder },
      );
      assert.equal(job.savePath, folder);
      await waitUntil(() => onTmpfs.get('metropolis')?.status === 'completed', {
        timeoutMs: 60_000,
        what: 'completed',
      });
      assert.equal(await sha256File(path.join(folder, 'Metropolis.1927.mkv')), big.files[0]?.sha256);
    } finally {
      await onBigDisk.destroy();
      await onTmpfs.destroy();
      tmp.unmount();
      await work.cleanup();
    }
  });

  test('a direct download into a folder on another disk than the media folder is checked against its own disk', {
    skip,
  }, async () => {
    const work = await tempDir();
    const tmp = mountTmpfs(8 * MiB);
    const server = await startHttpFileServer();
    server.files.set('/metropolis.mkv', { body: seededBytes(16 * MiB, 1927), etag: '"m"' });
    const driver = new HttpDownloader({ mediaRoot: path.join(work.dir, 'Movies') });
    try {
      const failed = waitForEvent<[ChillyError, Job]>(driver, 'error', { timeoutMs: 20_000 });
      await driver.start(
        { id: 'metropolis', sourceType: 'http', sourceUrn: server.url('/metropolis.mkv') },
        { savePath: path.join(tmp.dir, 'metropolis') },
      );
      const [error] = await failed;
      assert.equal(error.code, 'insufficient_space', error.message);
      assert.ok(error.message.includes(tmp.dir), error.message);
      assert.ok(tmp.usedBytes() < MiB, `nothing but the folder on the small disk (${tmp.usedBytes()} bytes)`);
    } finally {
      await driver.destroy();
      await server.close();
      tmp.unmount();
      await work.cleanup();
    }
  });
});
