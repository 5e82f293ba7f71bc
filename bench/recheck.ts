/**
 * Force recheck of a completed download (issue 17): from POST-equivalent `service.recheck()` to
 * the job completed again, every piece read from disk and hashed. The film is downloaded first
 * from a loopback seeder (not timed).
 *
 *   npx tsx bench/recheck.ts [--size-mib 1024] [--rounds 3]
 *
 * Loopback only. Figures are from a warm page cache when the file fits in memory (a cold cache
 * adds the disk's read time).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebTorrentDownloader } from '../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../src/service/download-service.js';
import { openDatabase } from '../src/storage/database.js';
import { createLoopbackSwarm } from '../tests/helpers/loopback-swarm.js';
import { tempDir, waitUntil } from '../tests/helpers/wait.js';

const { values } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '1024' }, rounds: { type: 'string', default: '3' } },
});
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const MiB = 1024 * 1024;

const work = await tempDir('chilly-bench-recheck-');
const swarm = await createLoopbackSwarm({
  name: 'Recheck.Bench.mkv',
  files: [{ path: 'Recheck.Bench.mkv', size: sizeMiB * MiB }],
  workDir: path.join(work.dir, 'swarm'),
});
const service = await DownloadService.open({
  database: openDatabase(path.join(work.dir, 'chilly.db')),
  downloader: new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' }),
  seeding: { ratio: 0, minutes: 0 },
});
try {
  await service.add({ id: 'bench', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
  await waitUntil(() => service.get('bench').status === 'completed', {
    timeoutMs: 600_000,
    intervalMs: 200,
    what: 'download',
  });
  // The seeder goes: a recheck that found anything missing could not complete.
  await swarm.stopSeeder();
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await service.recheck('bench');
    await waitUntil(() => service.get('bench').status === 'completed', {
      timeoutMs: 600_000,
      intervalMs: 20,
      what: 'recheck',
    });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
  console.log(
    `recheck of ${sizeMiB} MiB (${rounds} rounds): median ${(median / 1000).toFixed(2)} s = ${(sizeMiB / (median / 1000)).toFixed(0)} MiB/s hashed; all: ${times.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s`,
  );
} finally {
  await service.close();
  await swarm.close();
  await work.cleanup();
}
