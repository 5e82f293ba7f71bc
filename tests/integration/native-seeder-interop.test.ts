import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { createLoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { findNativeSeeder, startNativeSeeder } from '../helpers/native-seeder.js';
import { tempDir, waitForEvent } from '../helpers/wait.js';

const native = await findNativeSeeder();

test('interop: downloads a multi-file torrent whose only seeder is a native client (aria2c)', {
  skip: native === null ? 'aria2c is not installed (apt-get install aria2); .ci/run installs it' : false,
}, async () => {
  const work = await tempDir();
  // No WebTorrent seeder: the native client is the only source of the data.
  const swarm = await createLoopbackSwarm({
    name: 'Night.of.the.Living.Dead.1968',
    files: [
      { path: 'Night.of.the.Living.Dead.1968.mkv', size: 24 * 1024 * 1024 + 777 },
      { path: 'Night.of.the.Living.Dead.1968.srt', size: 60_000 },
    ],
    seeder: false,
  });
  const seeder = await startNativeSeeder({
    torrentFile: swarm.torrentPath,
    dataDir: swarm.dataDir,
    workDir: path.join(work.dir, 'aria2c'),
  });
  const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
  try {
    const completed = waitForEvent(downloader, 'completed', { timeoutMs: 120_000 });
    await downloader.start({ id: 'night', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    await completed;
    for (const file of swarm.files) {
      assert.equal(await sha256File(path.join(work.dir, 'media', 'night', file.path)), file.sha256, file.path);
    }
  } catch (error) {
    throw new Error(`${String(error)}\n--- ${seeder.name} log ---\n${seeder.log()}`);
  } finally {
    await downloader.destroy();
    await seeder.close();
    await swarm.close();
    await work.cleanup();
  }
});
