/**
 * Issue 17: speed limits on a real loopback swarm. A global download limit holds (within ±20 %
 * over a measured window) for one job and for two jobs sharing it; a change takes effect at once,
 * with no restart; the limit set is kept across a restart.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { createLoopbackSwarm, type LoopbackSwarm } from '../helpers/loopback-swarm.js';
import { sleep, tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const WINDOW_MS = 8_000;

/** Bytes per second the jobs together took over `WINDOW_MS`, measured after a 2 s warm-up. */
async function measuredRate(service: DownloadService, ids: readonly string[]): Promise<number> {
  const done = () => ids.reduce((sum, id) => sum + service.get(id).progress.bytesDone, 0);
  await sleep(2_000);
  const before = done();
  const started = Date.now();
  await sleep(WINDOW_MS);
  return ((done() - before) * 1000) / (Date.now() - started);
}

/** A service on the WebTorrent engine over `dir`'s database and media folder (the same ones after a restart). */
function openService(dir: string): Promise<DownloadService> {
  return DownloadService.open({
    database: openDatabase(path.join(dir, 'chilly.db')),
    downloader: new WebTorrentDownloader({ mediaRoot: path.join(dir, 'media'), network: 'loopback' }),
    // Progress is read from the database's view of the engine: write it often.
    persistIntervalMs: 200,
  });
}

/** One loopback swarm per name, each with one film of `size` bytes. */
async function swarmsFor(dir: string, names: readonly string[], size: number): Promise<LoopbackSwarm[]> {
  const swarms: LoopbackSwarm[] = [];
  for (const name of names) {
    swarms.push(await createLoopbackSwarm({ name, files: [{ path: name, size }], workDir: path.join(dir, name) }));
  }
  return swarms;
}

test('a global download limit holds for one job and for two sharing it, changes live, and is kept', async () => {
  const work = await tempDir();
  let swarms: LoopbackSwarm[] = [];
  const open = () => openService(work.dir);
  let service = await open();
  try {
    swarms = await swarmsFor(work.dir, ['Limit.One.1950.mkv', 'Limit.Two.1951.mkv'], 64 * MiB);
    const [one, two] = swarms as [LoopbackSwarm, LoopbackSwarm];
    await service.setRateLimits({ downloadBytesPerSecond: 2 * MiB, uploadBytesPerSecond: 0 });
    await service.add({ id: 'one', sourceType: 'torrent', sourceUrn: one.magnetURI });
    await waitUntil(() => service.get('one').progress.bytesDone > 0, { what: 'data flowing' });
    const single = await measuredRate(service, ['one']);
    console.log(`limit 2.00 MiB/s, one job: ${(single / MiB).toFixed(2)} MiB/s`);
    assert.ok(Math.abs(single - 2 * MiB) <= 0.2 * 2 * MiB, `${(single / MiB).toFixed(2)} MiB/s`);

    // Changed while it runs: two jobs share 4 MiB/s.
    await service.setRateLimits({ downloadBytesPerSecond: 4 * MiB, uploadBytesPerSecond: 0 });
    await service.add({ id: 'two', sourceType: 'torrent', sourceUrn: two.magnetURI });
    await waitUntil(() => service.get('two').progress.bytesDone > 0, { what: 'the second job flowing' });
    const shared = await measuredRate(service, ['one', 'two']);
    console.log(`limit 4.00 MiB/s, two jobs: ${(shared / MiB).toFixed(2)} MiB/s together`);
    assert.ok(Math.abs(shared - 4 * MiB) <= 0.2 * 4 * MiB, `${(shared / MiB).toFixed(2)} MiB/s`);

    await service.close();
    service = await open();
    assert.deepEqual(service.rateLimits(), { downloadBytesPerSecond: 4 * MiB, uploadBytesPerSecond: 0 });
  } finally {
    await service.close();
    for (const swarm of swarms) await swarm.close();
    await work.cleanup();
  }
});

test("each job's own limit holds under the global one, changes live, and is kept", async () => {
  const work = await tempDir();
  let swarms: LoopbackSwarm[] = [];
  const open = () => openService(work.dir);
  let service = await open();
  try {
    swarms = await swarmsFor(work.dir, ['Own.Limit.One.1952.mkv', 'Own.Limit.Two.1953.mkv'], 96 * MiB);
    const [one, two] = swarms as [LoopbackSwarm, LoopbackSwarm];
    await service.add({ id: 'one', sourceType: 'torrent', sourceUrn: one.magnetURI });
    await service.add({ id: 'two', sourceType: 'torrent', sourceUrn: two.magnetURI });
    // Set while they run (no restart); the global limit stays off.
    await service.setJobRateLimits('one', { downloadBytesPerSecond: 2 * MiB, uploadBytesPerSecond: 0 });
    await service.setJobRateLimits('two', { downloadBytesPerSecond: 1 * MiB, uploadBytesPerSecond: 0 });
    await waitUntil(() => service.get('two').progress.bytesDone > 0, { what: 'data flowing' });
    const [rateOne, rateTwo] = await Promise.all([measuredRate(service, ['one']), measuredRate(service, ['two'])]);
    console.log(
      `per-job limits 2.00 and 1.00 MiB/s: ${(rateOne / MiB).toFixed(2)} and ${(rateTwo / MiB).toFixed(2)} MiB/s`,
    );
    assert.ok(Math.abs(rateOne - 2 * MiB) <= 0.2 * 2 * MiB, `one: ${(rateOne / MiB).toFixed(2)} MiB/s`);
    assert.ok(Math.abs(rateTwo - 1 * MiB) <= 0.2 * 1 * MiB, `two: ${(rateTwo / MiB).toFixed(2)} MiB/s`);
    assert.deepEqual(service.get('one').rateLimits, { downloadBytesPerSecond: 2 * MiB, uploadBytesPerSecond: 0 });
    await assert.rejects(service.setJobRateLimits('one', { downloadBytesPerSecond: -1, uploadBytesPerSecond: 0 }), {
      code: 'validation_failed',
    });

    await service.close();
    service = await open();
    assert.deepEqual(service.get('two').rateLimits, { downloadBytesPerSecond: 1 * MiB, uploadBytesPerSecond: 0 });
    await waitUntil(() => service.get('two').status === 'downloading', { what: 'restarted' });
    const again = await measuredRate(service, ['two']);
    console.log(`per-job limit 1.00 MiB/s after a restart: ${(again / MiB).toFixed(2)} MiB/s`);
    assert.ok(Math.abs(again - 1 * MiB) <= 0.2 * 1 * MiB, `after restart: ${(again / MiB).toFixed(2)} MiB/s`);
  } finally {
    await service.close();
    for (const swarm of swarms) await swarm.close();
    await work.cleanup();
  }
});
