/**
 * Issue 15: a driver says what it can do; asking for what it cannot is `409 capability_unsupported`
 * naming the engine, never a silent no-op (the service used to skip `setFileOptions` on a driver
 * without it, and report success).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isChillyError } from '../../src/domain/errors.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { tempDir } from '../helpers/wait.js';

const MAGNET = `magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=Nosferatu.1922.mkv`;

/** An engine that can do none of the optional things (as a remote engine may not). */
class LimitedEngine extends MockDownloader {
  override readonly engineName = 'Limited';
  override readonly capabilities = Object.freeze({
    streaming: false,
    fileSelection: false,
    sequentialPieces: false,
    resumeData: false,
    localFiles: false,
    rateLimits: false,
    recheck: false,
    peerList: false,
    moveData: false,
    trackerList: false,
  });
}

describe('driver capabilities', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(() => work.cleanup());

  test('each driver names its engine and says what it can do', async () => {
    const mock = new MockDownloader({ mediaRoot: path.join(work.dir, 'mock') });
    const webtorrent = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'wt'), network: 'loopback' });
    try {
      assert.equal(mock.engineName, 'mock');
      assert.deepEqual(
        { ...mock.capabilities },
        {
          streaming: false,
          fileSelection: true,
          sequentialPieces: true,
          resumeData: false,
          localFiles: true,
          rateLimits: false,
          recheck: false,
          peerList: false,
          moveData: false,
          trackerList: false,
        },
      );
      assert.equal(webtorrent.engineName, 'WebTorrent');
      assert.ok(Object.values(webtorrent.capabilities).every(Boolean));
    } finally {
      await mock.destroy();
      await webtorrent.destroy();
    }
  });

  test('choosing files on an engine that cannot is refused with its name, and nothing changes', async () => {
    const downloader = new LimitedEngine({ mediaRoot: path.join(work.dir, 'media'), bytesPerSecond: 1 });
    const service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader,
      seeding: { ratio: 0, minutes: 0 },
    });
    try {
      await service.add({ id: 'nosferatu', sourceType: 'torrent', sourceUrn: MAGNET });
      const before = service.get('nosferatu');
      for (const options of [{ selectedFiles: [0] }, { sequential: false }]) {
        await assert.rejects(
          service.setFileOptions('nosferatu', options),
          (error: unknown) =>
            isChillyError(error, 'capability_unsupported') &&
            error.httpStatus === 409 &&
            /The Limited engine cannot/.test(error.message),
        );
      }
      const after = service.get('nosferatu');
      assert.deepEqual([after?.selectedFiles, after?.sequential], [before?.selectedFiles, before?.sequential]);
    } finally {
      await service.close();
    }
  });
});
