import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebTorrent from 'webtorrent';
import type { Job } from '../../src/domain/job.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import {
  createLoopbackSwarm,
  LOOPBACK_CLIENT_OPTIONS,
  type LoopbackSwarm,
  sha256File,
} from '../helpers/loopback-swarm.js';
import { sleep, tempDir, waitForEvent, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

async function assertFilesMatch(swarm: LoopbackSwarm, jobFolder: string): Promise<void> {
  for (const file of swarm.files) {
    assert.equal(await sha256File(path.join(jobFolder, file.path)), file.sha256, `content of ${file.path}`);
  }
}

function newDownloader(mediaRoot: string): WebTorrentDownloader {
  return new WebTorrentDownloader({ mediaRoot, network: 'loopback' });
}

describe('WebTorrentDownloader on a loopback swarm', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await work.cleanup();
  });

  test('downloads a single-file torrent from a magnet, with events in order and throttled progress', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Big.Buck.Bunny.2008.1080p.mkv',
      files: [{ path: 'Big.Buck.Bunny.2008.1080p.mkv', size: 6 * MiB }],
      // Slow enough that several progress ticks happen before completion.
      uploadLimit: 4 * MiB,
    });
    const mediaRoot = path.join(work.dir, 'single');
    const downloader = newDownloader(mediaRoot);
    try {
      const events: Array<{ name: string; at: number; job: Job }> = [];
      // A slow listener (a busy event loop) on the second progress event (the timer's first): the
      // next event must still come a whole interval after this one is handled, not on the timer's
      // old schedule.
      let seen = 0;
      downloader.on('progress', () => {
        seen += 1;
        if (seen !== 2) return;
        const until = Date.now() + 230;
        while (Date.now() < until) {
          // busy, as a loaded event loop is
        }
      });
      for (const name of ['started', 'progress', 'completed'] as const) {
        downloader.on(name, (job) => events.push({ name, at: Date.now(), job }));
      }
      const errors: unknown[] = [];
      downloader.on('error', (error) => errors.push(error));
      const completed = waitForEvent(downloader, 'completed', { timeoutMs: 60_000 });
      const job = await downloader.start({
        id: 'bunny',
        sourceType: 'torrent',
        sourceUrn: swarm.magnetURI,
        status: 'queued',
      });
      assert.equal(job.id, 'bunny');
      assert.equal(job.infoHash, swarm.infoHash);
      assert.equal(job.savePath, path.join(mediaRoot, 'bunny'));
      await completed;

      assert.deepEqual(errors, []);
      const names = events.map((e) => e.name);
      assert.equal(names[0], 'started');
      assert.equal(names.at(-1), 'completed');
      assert.equal(names.filter((n) => n === 'completed').length, 1);
      const progress = events.filter((e) => e.name === 'progress');
      assert.ok(progress.length >= 2, `expected several progress events, got ${progress.length}`);
      for (let i = 1; i < progress.length; i++) {
        const [previous, current] = [progress[i - 1], progress[i]];
        assert.ok(previous !== undefined && current !== undefined);
        // At most 4 events per second per job (timer jitter allowed for).
        assert.ok(current.at - previous.at >= 200, `progress events ${current.at - previous.at} ms apart`);
        assert.ok(current.job.progress.bytesDone >= previous.job.progress.bytesDone, 'bytes never go backwards');
      }
      const last = progress.at(-1)?.job.progress;
      assert.ok(last !== undefined);
      assert.equal(last.bytesTotal, 6 * MiB);
      assert.ok(last.peers >= 1, 'progress reports peers');
      assert.ok(
        progress.some((e) => e.job.progress.downloadSpeed > 0),
        'progress reports a download speed',
      );

      const done = downloader.get('bunny');
      assert.equal(done?.status, 'completed');
      assert.equal(done?.progress.fraction, 1);
      assert.equal(done?.name, 'Big.Buck.Bunny.2008.1080p.mkv');
      await assertFilesMatch(swarm, path.join(mediaRoot, 'bunny'));
    } finally {
      await downloader.destroy();
      await swarm.close();
    }
  });

  test('a seeding job nobody downloads from sends no progress events; one a peer downloads from does', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'The.General.1926.mkv',
      files: [{ path: 'The.General.1926.mkv', size: 2 * MiB }],
    });
    const downloader = newDownloader(path.join(work.dir, 'quiet'));
    const peer = new WebTorrent({ ...LOOPBACK_CLIENT_OPTIONS });
    peer.on('error', () => undefined);
    try {
      const progress: Array<{ at: number; job: Job }> = [];
      downloader.on('progress', (job) => progress.push({ at: Date.now(), job }));
      const completed = waitForEvent(downloader, 'completed', { timeoutMs: 60_000 });
      await downloader.start({ id: 'general', sourceType: 'torrent', sourceUrn: swarm.magnetURI, status: 'queued' });
      await completed;
      // Its download speed fades out over a few seconds; after that its figures stay the same.
      const lastAt = () => progress.at(-1)?.at ?? 0;
      await waitUntil(() => Date.now() - lastAt() >= 2_000, { timeoutMs: 30_000, what: 'the progress events to stop' });
      const quietSince = progress.length;
      await sleep(1_000);
      assert.equal(progress.length, quietSince, 'an idle seeding job sent progress events');
      assert.equal(downloader.get('general')?.status, 'completed');

      // A peer downloads from it (the original seeder gone): its upload is reported as it goes.
      await swarm.stopSeeder();
      const torrent = peer.add(swarm.magnetURI, { path: path.join(work.dir, 'quiet-peer') });
      await waitForEvent(torrent, 'done', { timeoutMs: 60_000 });
      await waitUntil(() => (progress.at(-1)?.job.progress.bytesUploaded ?? 0) >= 2 * MiB, {
        timeoutMs: 10_000,
        what: 'a progress event with the upload',
      });
      assert.ok(progress.length > quietSince);
    } finally {
      await new Promise<void>((resolve) => peer.destroy(() => resolve()));
      await downloader.destroy();
      await swarm.close();
    }
  });

  test('downloads a multi-file torrent from .torrent bytes and from a .torrent path', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Sintel (2010)',
      files: [
        { path: 'Sintel.2010.720p.mkv', size: 5 * MiB + 12_345 },
        { path: 'Subs/Sintel.en.srt', size: 40_000 },
        { path: 'Extras/poster.jpg', size: 300_000 },
      ],
    });
    const mediaRoot = path.join(work.dir, 'multi');
    const downloader = newDownloader(mediaRoot);
    try {
      const completed = waitForEvent<[Job]>(downloader, 'completed', { timeoutMs: 60_000 });
      const fromBytes = await downloader.start({
        id: 'from-bytes',
        sourceType: 'torrent',
        torrentFile: swarm.torrentFile,
      });
      assert.equal(fromBytes.sourceUrn, `torrent:${swarm.infoHash}`);
      assert.equal(fromBytes.name, 'Sintel (2010)');
      // The same torrent under a second id is a conflict that names the first job…
      await assert.rejects(
        downloader.start({ id: 'from-path', sourceType: 'torrent', sourceUrn: swarm.torrentPath }),
        (error: { code?: string; message?: string }) =>
          error.code === 'duplicate_torrent' && (error.message ?? '').includes('from-bytes'),
      );
      await completed;
      // …so the .torrent path source is checked with a second downloader.
      const second = newDownloader(path.join(work.dir, 'multi-2'));
      try {
        const pathCompleted = waitForEvent(second, 'completed', { timeoutMs: 60_000 });
        await second.start({ id: 'from-path', sourceType: 'torrent', sourceUrn: swarm.torrentPath });
        await pathCompleted;
        await assertFilesMatch(swarm, path.join(work.dir, 'multi-2', 'from-path'));
      } finally {
        await second.destroy();
      }
      await waitUntil(() => downloader.get('from-bytes')?.status === 'completed', { what: 'from-bytes completed' });
      const done = downloader.get('from-bytes');
      assert.deepEqual(done?.files?.map((f) => f.path).sort(), swarm.files.map((f) => f.path).sort());
      await assertFilesMatch(swarm, path.join(mediaRoot, 'from-bytes'));
    } finally {
      await downloader.destroy();
      await swarm.close();
    }
  });

  test('pause stops all traffic; resume continues from what is on disk and completes', async () => {
    const size = 12 * MiB;
    const swarm = await createLoopbackSwarm({
      name: 'Elephants.Dream.2006.mkv',
      files: [{ path: 'Elephants.Dream.2006.mkv', size }],
      pieceLength: 256 * 1024,
      uploadLimit: 3 * MiB,
    });
    const seeder = swarm.seederTorrent;
    assert.ok(seeder !== undefined);
    const downloader = newDownloader(path.join(work.dir, 'pause'));
    try {
      await downloader.start({ id: 'dream', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitForEvent<[Job]>(downloader, 'progress', {
        predicate: (job) => job.progress.bytesDone >= 2 * MiB,
        timeoutMs: 30_000,
      });

      const paused = await downloader.pause('dream');
      assert.equal(paused.status, 'paused');
      assert.equal(paused.progress.downloadSpeed, 0);
      const state = downloader.resumeState('dream');
      assert.ok(state !== undefined, 'the verified-piece bitfield is kept while paused');
      const verifiedPieces = countBits(state.bitfield);
      assert.ok(verifiedPieces > 0);

      await waitUntil(() => seeder.wires.length === 0, { what: 'the seeder to lose its connection to us' });
      const uploadedAtPause = seeder.uploaded;
      const progressWhilePaused: Job[] = [];
      downloader.on('progress', (job) => progressWhilePaused.push(job));
      await sleep(3_000);
      assert.equal(seeder.uploaded, uploadedAtPause, 'no bytes flow from the seeder while paused');
      assert.equal(seeder.wires.length, 0, 'no connection exists while paused, so nothing flows either way');
      assert.deepEqual(progressWhilePaused, []);
      assert.equal(downloader.get('dream')?.status, 'paused');

      const completed = waitForEvent(downloader, 'completed', { timeoutMs: 60_000 });
      const resumed = await downloader.resume('dream');
      assert.ok(['verifying', 'downloading'].includes(resumed.status));
      const [firstAfterResume] = await waitForEvent<[Job]>(downloader, 'progress', { timeoutMs: 30_000 });
      assert.ok(
        firstAfterResume.progress.bytesDone >= verifiedPieces * 256 * 1024 || firstAfterResume.status === 'completed',
        'resume starts from the pieces already verified on disk, not from zero',
      );
      await completed;
      await assertFilesMatch(swarm, path.join(work.dir, 'pause', 'dream'));
    } finally {
      await downloader.destroy();
      await swarm.close();
    }
  });

  test('cancel mid-way removes the job and its partial data, and nothing else', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Tears.of.Steel.2012.mkv',
      files: [{ path: 'Tears.of.Steel.2012.mkv', size: 16 * MiB }],
      uploadLimit: 2 * MiB,
    });
    const mediaRoot = path.join(work.dir, 'cancel');
    const neighbour = path.join(mediaRoot, 'other-job', 'keep.mkv');
    const outside = path.join(work.dir, 'cancel-outside.txt');
    await mkdir(path.dirname(neighbour), { recursive: true });
    await writeFile(neighbour, 'another job');
    await writeFile(outside, 'not ours');
    const downloader = newDownloader(mediaRoot);
    try {
      await downloader.start({ id: 'tears', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitForEvent<[Job]>(downloader, 'progress', { predicate: (j) => j.progress.bytesDone > 0 });
      assert.ok(existsSync(path.join(mediaRoot, 'tears')), 'partial data exists before cancel');
      const cancelled = await downloader.cancel('tears');
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(downloader.get('tears'), undefined);
      assert.equal(existsSync(path.join(mediaRoot, 'tears')), false, "the job's folder is gone");
      assert.equal(await readFile(neighbour, 'utf8'), 'another job');
      assert.equal(await readFile(outside, 'utf8'), 'not ours');
      await assert.rejects(downloader.resume('tears'), { code: 'job_not_found' });
    } finally {
      await downloader.destroy();
      await swarm.close();
    }
  });

  test('cancel with keepData leaves the partial data in place', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Cosmos.Laundromat.2015.mkv',
      files: [{ path: 'Cosmos.Laundromat.2015.mkv', size: 8 * MiB }],
      uploadLimit: 2 * MiB,
    });
    const mediaRoot = path.join(work.dir, 'keep');
    const downloader = newDownloader(mediaRoot);
    try {
      await downloader.start({ id: 'cosmos', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitForEvent<[Job]>(downloader, 'progress', { predicate: (j) => j.progress.bytesDone > 0 });
      await downloader.cancel('cosmos', { keepData: true });
      assert.deepEqual(await readdir(path.join(mediaRoot, 'cosmos')), ['Cosmos.Laundromat.2015.mkv']);
    } finally {
      await downloader.destroy();
      await swarm.close();
    }
  });

  test('a job in a folder its start made downloads at once: an empty folder is not checked', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Tears.of.Steel.2012.mkv',
      files: [{ path: 'Tears.of.Steel.2012.mkv', size: 4 * MiB }],
      seeder: false,
    });
    const downloader = newDownloader(path.join(work.dir, 'fresh'));
    try {
      const job = await downloader.start({ id: 'tears', sourceType: 'torrent', torrentFile: swarm.torrentFile });
      assert.equal(job.status, 'downloading');
      const [progress] = await waitForEvent<[Job]>(downloader, 'progress', { timeoutMs: 10_000 });
      assert.equal(progress.status, 'downloading');
      assert.equal(progress.progress.bytesDone, 0);
    } finally {
      await downloader.destroy();
      await swarm.close();
    }
  });

  test('a job given a folder that already holds the film checks it and has it all without a peer', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Spring (2019)',
      files: [
        { path: 'Spring.2019.mkv', size: 3 * MiB + 777 },
        { path: 'Spring.2019.en.srt', size: 20_000 },
      ],
      seeder: false,
    });
    const folder = path.join(work.dir, 'existing', 'spring');
    await cp(path.join(swarm.dataDir, swarm.name), path.join(folder, swarm.name), { recursive: true });
    const downloader = newDownloader(path.join(work.dir, 'existing'));
    try {
      const completed = waitForEvent<[Job]>(downloader, 'completed', { timeoutMs: 30_000 });
      const job = await downloader.start(
        { id: 'spring', sourceType: 'torrent', torrentFile: swarm.torrentFile },
        { savePath: folder },
      );
      assert.equal(job.status, 'verifying');
      const [done] = await completed;
      assert.equal(done.progress.fraction, 1);
      await assertFilesMatch(swarm, folder);
    } finally {
      await downloader.destroy();
      await swarm.close();
    }
  });
});

function countBits(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) {
    for (let b = byte; b !== 0; b >>= 1) count += b & 1;
  }
  return count;
}
