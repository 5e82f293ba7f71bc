/**
 * Issue 12, findings 3, 4 and 5 on real loopback swarms: file names that are not valid on every
 * file system, symbolic links planted where the engine writes or the API reads, and cancel with
 * delete next to the user's own files.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { ChillyError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import {
  WebTorrentDownloader,
  type WebTorrentDownloaderOptions,
} from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { bytesOf, createCraftedSwarm } from '../helpers/crafted-swarm.js';
import { createLoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { tempDir, waitForEvent, waitUntil } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;

async function openService(dataDir: string, options: Partial<WebTorrentDownloaderOptions> = {}) {
  const warnings: string[] = [];
  const service = await DownloadService.open({
    database: openDatabase(path.join(dataDir, 'chilly.db')),
    downloader: new WebTorrentDownloader({ mediaRoot: path.join(dataDir, 'media'), network: 'loopback', ...options }),
    persistIntervalMs: 200,
    seeding: { ratio: 0, minutes: 0 },
    onWarning: (message) => warnings.push(message),
  });
  return { service, warnings };
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('file names that are not valid on every file system (finding 5)', () => {
  test('are written under safe, distinct names, byte for byte, and found again after a restart', async () => {
    const work = await tempDir();
    const files = [
      { path: ['CON'], content: bytesOf('con', 20 * KiB) },
      { path: ['nul.txt'], content: bytesOf('nul', 3 * KiB) },
      { path: ['Trailing. . '], content: bytesOf('trailing', 5 * KiB) },
      { path: [Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e])], content: bytesOf('utf8', 7 * KiB) },
      { path: [`${'n'.repeat(300)}.mkv`], content: bytesOf('long', 40 * KiB) },
      { path: ['a<b>c:d"e|f?g*h.srt'], content: bytesOf('forbidden', 2 * KiB) },
      { path: ['dup.mkv'], content: bytesOf('dup-1', 30 * KiB) },
      { path: ['dup.mkv'], content: bytesOf('dup-2', 30 * KiB) },
      { path: ['x'], content: bytesOf('x', 9 * KiB) },
      { path: ['x', 'y'], content: bytesOf('x/y', 11 * KiB) },
    ];
    const swarm = await createCraftedSwarm({ name: 'Pack: Odd Names?', files });
    let { service } = await openService(work.dir);
    try {
      const added = await service.add({ id: 'odd', sourceType: 'torrent', torrentFile: swarm.torrentFile });
      assert.equal(added.job.files?.length, files.length);
      await waitUntil(() => service.get('odd').status === 'completed', { timeoutMs: 60_000, what: 'completion' });
      const job = service.get('odd');
      const paths = (job.files ?? []).map((file) => file.path);
      assert.equal(new Set(paths.map((p) => p.toLowerCase())).size, paths.length, 'every file has a path of its own');
      assert.deepEqual(paths.slice(0, 4), [
        'Pack_ Odd Names_/_CON',
        'Pack_ Odd Names_/_nul.txt',
        'Pack_ Odd Names_/Trailing',
        'Pack_ Odd Names_/f\ufffd\ufffd.bin',
      ]);
      assert.equal(job.files?.[0]?.torrentPath, 'Pack: Odd Names?/CON');
      for (const [index, file] of (job.files ?? []).entries()) {
        const onDisk = await readFile(path.join(job.savePath ?? '', file.path));
        assert.equal(sha256(onDisk), sha256(files[index]?.content ?? Buffer.alloc(0)), `content of ${file.path}`);
        assert.ok(Buffer.byteLength(path.basename(file.path)) <= 255);
      }
      await service.close();
      ({ service } = await openService(work.dir));
      assert.equal(service.get('odd').status, 'completed', 'nothing is missing after a restart');
      const stream = await service.openFile('odd', 9);
      assert.equal(stream.path, 'Pack_ Odd Names_/x (2)/y');
      assert.equal(
        sha256(await readAll(stream.read(0, stream.length - 1))),
        sha256(files[9]?.content ?? Buffer.alloc(0)),
      );
    } finally {
      await service.close();
      await swarm.close();
      await work.cleanup();
    }
  });
});

describe('symbolic links are never followed (finding 3)', () => {
  async function packSwarm() {
    return createLoopbackSwarm({ name: 'Pack', files: [{ path: 'film.mkv', size: 2 * MiB }], pieceLength: 64 * KiB });
  }

  test('a job folder that is a symbolic link is refused before anything is written', async () => {
    const work = await tempDir();
    const swarm = await packSwarm();
    const outside = path.join(work.dir, 'outside');
    await mkdir(outside);
    await mkdir(path.join(work.dir, 'media'));
    await symlink(outside, path.join(work.dir, 'media', 'film'));
    const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
    try {
      await assert.rejects(
        downloader.start(
          { id: 'film', sourceType: 'torrent', torrentFile: swarm.torrentFile },
          { savePath: path.join(work.dir, 'media', 'film') },
        ),
        (error: ChillyError) => error.code === 'unsafe_path' && /symbolic link/.test(error.message),
      );
      // Without a folder given, the job gets one of its own next to the link.
      const job = await downloader.start({ id: 'film', sourceType: 'torrent', torrentFile: swarm.torrentFile });
      assert.equal(job.savePath, path.join(work.dir, 'media', 'film-2'));
      await waitForEvent(downloader, 'completed', { timeoutMs: 60_000 });
      assert.deepEqual(await readdir(outside), [], 'nothing was written through the link');
    } finally {
      await downloader.destroy();
      await swarm.close();
      await work.cleanup();
    }
  });

  for (const [label, plant] of [
    [
      'a file',
      (folder: string, outside: string) =>
        symlink(path.join(outside, 'victim.txt'), path.join(folder, 'Pack', 'film.mkv')),
    ],
    [
      'a folder inside the job folder',
      (folder: string, outside: string) => symlink(outside, path.join(folder, 'Pack')),
    ],
  ] as const) {
    test(`${label} that is a symbolic link fails the job with unsafe_path; the target is untouched`, async () => {
      const work = await tempDir();
      const swarm = await packSwarm();
      const outside = path.join(work.dir, 'outside');
      await mkdir(outside);
      await writeFile(path.join(outside, 'victim.txt'), "the user's own file");
      const folder = path.join(work.dir, 'media', 'film');
      await mkdir(path.join(folder, 'Pack'), { recursive: true });
      if (label !== 'a file') await rm(path.join(folder, 'Pack'), { recursive: true });
      await plant(folder, outside);
      const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
      try {
        const failed = waitForEvent<[ChillyError, Job]>(downloader, 'error', { timeoutMs: 60_000 });
        await downloader.start({ id: 'film', sourceType: 'torrent', sourceUrn: swarm.magnetURI }, { savePath: folder });
        const [error, job] = await failed;
        assert.equal(error.code, 'unsafe_path');
        assert.equal(job.status, 'error');
        assert.deepEqual(await readdir(outside), ['victim.txt']);
        assert.equal(await readFile(path.join(outside, 'victim.txt'), 'utf8'), "the user's own file");
      } finally {
        await downloader.destroy();
        await swarm.close();
        await work.cleanup();
      }
    });
  }

  test('a finished file replaced by a symbolic link is not served, and is missing after a restart', async () => {
    const work = await tempDir();
    const swarm = await packSwarm();
    const secret = path.join(work.dir, 'secret.txt');
    await writeFile(secret, 'not for the API');
    let { service } = await openService(work.dir);
    try {
      await service.add({ id: 'film', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('film').status === 'completed', { timeoutMs: 60_000, what: 'completion' });
      const job = service.get('film');
      const file = path.join(job.savePath ?? '', job.files?.[0]?.path ?? '');
      await rm(file);
      await symlink(secret, file);
      const stream = await service.openFile('film');
      await assert.rejects(readAll(stream.read(0, 9)), { code: 'files_missing' });
      await service.close();
      ({ service } = await openService(work.dir));
      assert.equal(service.get('film').status, 'files_missing');
      await assert.rejects(
        service.openFile('film').then((s) => readAll(s.read(0, 9))),
        (error: ChillyError) => ['files_missing', 'stream_unavailable'].includes(error.code),
      );
    } finally {
      await service.close();
      await swarm.close();
      await work.cleanup();
    }
  });
});

describe('cancel with delete removes only what the job created (finding 4)', () => {
  test("a folder of the user's with the job's name is left alone; the job gets its own", async () => {
    const work = await tempDir();
    const swarm = await createLoopbackSwarm({
      name: 'Holiday Photos',
      files: [{ path: 'clip.mkv', size: 4 * MiB }],
      pieceLength: 64 * KiB,
      uploadLimit: 1 * MiB,
    });
    const users = path.join(work.dir, 'media', 'holiday-photos');
    await mkdir(users, { recursive: true });
    await writeFile(path.join(users, 'IMG_0001.jpg'), 'a photo');
    const { service } = await openService(work.dir);
    try {
      const { job } = await service.add({ id: 'holiday-photos', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      assert.equal(job.savePath, path.join(work.dir, 'media', 'holiday-photos-2'));
      await waitUntil(() => service.get('holiday-photos').progress.bytesDone > 256 * KiB, {
        timeoutMs: 60_000,
        what: 'some data',
      });
      // The user drops a file of their own into the job's folder while it runs.
      await writeFile(path.join(job.savePath ?? '', 'notes.txt'), 'mine');
      await service.cancel('holiday-photos', { keepData: false });
      assert.equal(await readFile(path.join(users, 'IMG_0001.jpg'), 'utf8'), 'a photo');
      assert.deepEqual(await readdir(job.savePath ?? ''), ['notes.txt'], "only the user's file is left");
      await rm(path.join(job.savePath ?? '', 'notes.txt'));
      // Without anything of the user's in it, the job's own folder goes too.
      const again = await service.add({ id: 'again', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('again').progress.bytesDone > 0, { timeoutMs: 60_000, what: 'data' });
      await service.cancel('again', { keepData: false });
      assert.equal(existsSync(again.job.savePath ?? ''), false);
      assert.equal(existsSync(users), true);
    } finally {
      await service.close();
      await swarm.close();
      await work.cleanup();
    }
  });
});

describe('downloaded files are private by default', () => {
  test('files 0600 and folders 0700, or 0644/0755 when shared', async () => {
    const work = await tempDir();
    const swarm = await createLoopbackSwarm({ name: 'Pack', files: [{ path: 'film.mkv', size: 256 * KiB }] });
    try {
      for (const access of ['private', 'shared'] as const) {
        const downloader = new WebTorrentDownloader({
          mediaRoot: path.join(work.dir, access),
          network: 'loopback',
          mediaAccess: access,
        });
        try {
          const completed = waitForEvent<[Job]>(downloader, 'completed', { timeoutMs: 60_000 });
          await downloader.start({ id: 'film', sourceType: 'torrent', torrentFile: swarm.torrentFile });
          const [job] = await completed;
          const file = await stat(path.join(job.savePath ?? '', 'Pack', 'film.mkv'));
          const folder = await lstat(path.join(job.savePath ?? '', 'Pack'));
          const jobFolder = await lstat(job.savePath ?? '');
          const expected = access === 'private' ? [0o600, 0o700] : [0o644, 0o755];
          assert.deepEqual(
            [file.mode & 0o777, folder.mode & 0o777, jobFolder.mode & 0o777],
            [...expected, expected[1]],
          );
          assert.equal(await sha256File(path.join(job.savePath ?? '', 'Pack', 'film.mkv')), swarm.files[0]?.sha256);
        } finally {
          await downloader.destroy();
        }
      }
    } finally {
      await swarm.close();
      await work.cleanup();
    }
  });
});
