/**
 * Issue 18: finished films land in the library folder media servers read, on a real loopback
 * swarm. A completed job named `Night.of.the.Living.Dead.1968…` appears as
 * `Night of the Living Dead (1968)/Night of the Living Dead (1968).mkv` — a hard link to the job's
 * file (same inode) while the job goes on seeding from its own folder — with its subtitles beside it
 * and a `movie.nfo` that reads back as XML; a library on another file system (a tmpfs) gets a copy;
 * cancelling the job with its data removes its library entry.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import iconv from 'iconv-lite';
import type { JobMovie } from '../../src/domain/job.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import type { WebTorrent } from '../../src/engine/bittorrent-engine.js';
import { DownloadService } from '../../src/service/download-service.js';
import { LibraryPlacer } from '../../src/service/library-placer.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/database.js';
import { LibraryEntriesRepository } from '../../src/storage/library-entries-repository.js';
import {
  createSeederClient,
  type LoopbackTracker,
  loopbackMagnet,
  makeTorrent,
  seedTorrent,
  startLoopbackTracker,
} from '../helpers/loopback-swarm.js';
import { mountTmpfs, type Tmpfs, tmpfsUnavailableReason } from '../helpers/tmpfs.js';
import { tempDir, waitUntil } from '../helpers/wait.js';
import { childText, parseXml } from '../helpers/xml.js';

const MiB = 1024 * 1024;
const NAME = 'Night.of.the.Living.Dead.1968.1080p.BluRay.x264';
const FILM = 'Night of the Living Dead (1968)';

describe('the library folder', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let tmpfs: Tmpfs;
  let tracker: LoopbackTracker;
  let seeder: WebTorrent;
  let magnet: string;
  before(async () => {
    assert.equal(tmpfsUnavailableReason(), null, 'these tests need a tmpfs mount');
    work = await tempDir();
    tmpfs = mountTmpfs(64 * MiB, 'chilly-library-');
    const content = path.join(work.dir, 'seed', NAME);
    await mkdir(path.join(content, 'Subs'), { recursive: true });
    await writeFile(path.join(content, `${NAME}.mkv`), randomBytes(6 * MiB));
    await writeFile(
      path.join(content, `${NAME}.en.srt`),
      iconv.encode('1\r\n00:00:01,000 --> 00:00:02,000\r\nCafé\r\n', 'windows-1252'),
    );
    await writeFile(path.join(content, 'Subs', 'French.srt'), '1\n00:00:01,000 --> 00:00:02,000\nÇa va ?\n');
    tracker = await startLoopbackTracker();
    const torrentFile = await makeTorrent(content, NAME, tracker.announceUrl, 256 * 1024);
    seeder = createSeederClient(undefined);
    const torrent = await seedTorrent(seeder, torrentFile, path.join(work.dir, 'seed'));
    magnet = loopbackMagnet(torrent.infoHash, NAME, tracker.announceUrl);
  });
  after(async () => {
    await new Promise<void>((resolve) => seeder.destroy(() => resolve()));
    await tracker.close();
    tmpfs.unmount();
    await work.cleanup();
  });

  test('hard-linked beside its subtitles and movie.nfo, seeding on; copied to another disk; gone with the data', async () => {
    const database: SqliteDatabase = openDatabase(path.join(work.dir, 'chilly.db'));
    // The film the job is linked to (what the movie linker keeps): none at first, then the user's choice.
    let movie: JobMovie | null = null;
    const service = await DownloadService.open({
      database,
      movies: () => movie,
      downloader: new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' }),
      seeding: { ratio: 10, minutes: 60 },
    });
    const warnings: string[] = [];
    const library = path.join(work.dir, 'library');
    const placer = new LibraryPlacer({
      root: library,
      entries: new LibraryEntriesRepository(database),
      service,
      warn: (message, cause) => warnings.push(`${message} ${String(cause)}`),
    });
    const elsewhere = new LibraryPlacer({
      root: path.join(tmpfs.dir, 'library'),
      // Its own record of what it placed (a second library is a second server's, in practice).
      entries: new LibraryEntriesRepository(openDatabase(':memory:')),
      service,
      warn: (message, cause) => warnings.push(`${message} ${String(cause)}`),
    });
    try {
      placer.start();
      await service.add({ id: 'night', sourceType: 'torrent', sourceUrn: magnet });
      await waitUntil(() => service.get('night').status === 'completed', { what: 'completed', timeoutMs: 60_000 });
      await waitUntil(() => existsSync(path.join(library, FILM, `${FILM}.mkv`)), { what: 'the library entry' });
      await placer.idle();
      assert.deepEqual(warnings, []);

      const job = service.get('night');
      const jobFile = path.join(job.savePath ?? '', NAME, `${NAME}.mkv`);
      const linked = await stat(path.join(library, FILM, `${FILM}.mkv`));
      assert.equal(linked.ino, (await stat(jobFile)).ino, 'a hard link: no extra space used');
      assert.equal(linked.nlink, 2);
      assert.equal(linked.mode & 0o044, 0o044, 'readable by a media server running as another user');
      assert.deepEqual((await readdir(path.join(library, FILM))).filter((name) => !name.startsWith('.')).sort(), [
        `${FILM}.en.srt`,
        `${FILM}.fr.srt`,
        `${FILM}.mkv`,
        'movie.nfo',
      ]);
      const nfo = parseXml(await readFile(path.join(library, FILM, 'movie.nfo'), 'utf8'));
      assert.equal(nfo.name, 'movie');
      assert.deepEqual(childText(nfo, 'title'), ['Night of the Living Dead']);
      assert.deepEqual(childText(nfo, 'year'), ['1968']);
      assert.equal(service.get('night').seeding?.active, true, 'the job seeds on from its own folder');

      // Another file system: a copy, byte for byte.
      elsewhere.start();
      await elsewhere.idle();
      const copied = path.join(tmpfs.dir, 'library', FILM, `${FILM}.mkv`);
      assert.notEqual((await stat(copied)).dev, linked.dev);
      assert.deepEqual(await readFile(copied), await readFile(jobFile));
      await elsewhere.stop();

      // Linked to another film (the 1990 remake, as a user would correct it): the entry is renamed.
      movie = {
        tmdbId: 20_000,
        title: 'Night of the Living Dead',
        originalTitle: 'Night of the Living Dead',
        year: 1990,
        runtime: 92,
        rating: null,
        posterUrl: null,
        backdropUrl: null,
        origin: 'user',
        confidence: null,
        release: { resolution: '1080p', source: 'bluray', codec: 'h264', edition: [], group: null },
        linkedAt: new Date().toISOString(),
      };
      service.announceUpdate('night');
      await placer.idle();
      const remake = 'Night of the Living Dead (1990)';
      assert.equal(existsSync(path.join(library, FILM)), false, 'the old name is gone');
      assert.equal((await stat(path.join(library, remake, `${remake}.mkv`))).ino, linked.ino, 'renamed, not copied');
      assert.deepEqual(childText(parseXml(await readFile(path.join(library, remake, 'movie.nfo'), 'utf8')), 'year'), [
        '1990',
      ]);

      await service.cancel('night', { keepData: false });
      await placer.idle();
      assert.equal(existsSync(path.join(library, remake)), false, 'the entry went with the data');
    } finally {
      await placer.stop();
      await service.close();
    }
  });
});
