/**
 * Issue 17: the watch folder. A .torrent that appears is added once (renamed .added, so a restart
 * adds nothing twice); one still being written waits until it holds still; a bad one is set aside
 * (.invalid) with the reason beside it (.error.txt); symbolic links and subfolders are not read.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { WatchFolder } from '../../src/service/watch-folder.js';
import { openDatabase } from '../../src/storage/database.js';
import { makeTorrentFile } from '../helpers/api-test-server.js';
import { tempDir } from '../helpers/wait.js';

describe('the watch folder', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let service: DownloadService;
  let folder: string;
  const warnings: string[] = [];
  beforeEach(async () => {
    work = await tempDir();
    folder = path.join(work.dir, 'watch');
    await mkdir(folder);
    warnings.length = 0;
    service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader: new MockDownloader({ mediaRoot: path.join(work.dir, 'media'), bytesPerSecond: 1 }),
    });
  });
  afterEach(async () => {
    await service.close();
    await work.cleanup();
  });

  const watcher = () =>
    new WatchFolder({
      folder,
      add: (request) => service.add(request),
      warn: (line) => warnings.push(line),
      settleMs: 0,
    });

  test('a file being written waits until it holds still, is added once, and not again after a restart', async () => {
    const torrent = await makeTorrentFile('The.Kid.1921.mkv', Buffer.alloc(100_000, 1));
    const file = path.join(folder, 'kid.torrent');
    await writeFile(file, torrent.subarray(0, 100));
    const watch = watcher();
    await watch.scan();
    await appendFile(file, torrent.subarray(100));
    await watch.scan(); // it changed since the last look: not yet
    assert.equal(service.list().total, 0, 'nothing read while it was being written');
    await watch.scan(); // held still: added
    assert.equal(service.list().total, 1);
    assert.equal(service.list().jobs[0]?.name, 'The.Kid.1921.mkv');
    assert.deepEqual(await readdir(folder), ['kid.torrent.added']);

    // A restart (a new watcher) sees the .added file and adds nothing; the same torrent dropped again is the same job.
    const again = watcher();
    await writeFile(path.join(folder, 'kid-copy.torrent'), torrent);
    await again.scan();
    await again.scan();
    assert.equal(service.list().total, 1);
    assert.deepEqual((await readdir(folder)).sort(), ['kid-copy.torrent.added', 'kid.torrent.added']);
  });

  test('a bad file is set aside with the reason beside it; links and folders are not read', async () => {
    await writeFile(path.join(folder, 'broken.torrent'), 'd4:infod4:name3:abcee');
    const outside = path.join(work.dir, 'outside.torrent');
    await writeFile(outside, await makeTorrentFile('Outside.mkv', Buffer.alloc(10_000, 2)));
    await symlink(outside, path.join(folder, 'link.torrent'));
    await mkdir(path.join(folder, 'folder.torrent'));
    const watch = watcher();
    await watch.scan();
    await watch.scan();
    assert.equal(service.list().total, 0);
    const names = (await readdir(folder)).sort();
    assert.deepEqual(names, ['broken.torrent.error.txt', 'broken.torrent.invalid', 'folder.torrent', 'link.torrent']);
    assert.match(await readFile(path.join(folder, 'broken.torrent.error.txt'), 'utf8'), /^invalid_torrent: /);
    assert.ok(warnings.some((line) => line.includes('broken.torrent was not added')));
  });
});
