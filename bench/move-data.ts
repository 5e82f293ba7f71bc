/**
 * Moving a completed download's data (issue 17), from `service.moveData()` to the answer: across
 * file systems (the media folder's disk to a tmpfs and back: every file copied, fsynced, read back
 * and compared by SHA-256 before the old copy goes), and within one (a rename). Printed beside
 * `cp -r` of the same folder to the same tmpfs (no verification, no fsync), the floor a copy can reach.
 * The film is downloaded first from a loopback seeder (not timed).
 *
 *   npx tsx bench/move-data.ts [--size-mib 1024]
 *
 * Loopback only; mounts a tmpfs (needs root). Figures are from a warm page cache.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebTorrentDownloader } from '../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../src/service/download-service.js';
import { openDatabase } from '../src/storage/database.js';
import { createLoopbackSwarm } from '../tests/helpers/loopback-swarm.js';
import { mountTmpfs } from '../tests/helpers/tmpfs.js';
import { tempDir, waitUntil } from '../tests/helpers/wait.js';

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' } } });
const sizeMiB = Number(values['size-mib']);
const MiB = 1024 * 1024;

const work = await tempDir('chilly-bench-move-');
const tmpfs = mountTmpfs((2 * sizeMiB + 64) * MiB, 'chilly-bench-move-tmpfs-');
const swarm = await createLoopbackSwarm({
  name: 'Move.Bench.mkv',
  files: [{ path: 'Move.Bench.mkv', size: sizeMiB * MiB }],
  workDir: path.join(work.dir, 'swarm'),
});
const media = path.join(work.dir, 'media');
const service = await DownloadService.open({
  database: openDatabase(path.join(work.dir, 'chilly.db')),
  downloader: new WebTorrentDownloader({ mediaRoot: media, network: 'loopback' }),
  seeding: { ratio: 0, minutes: 0 },
  moveRoots: [media, tmpfs.dir],
});
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s (${(sizeMiB / (ms / 1000)).toFixed(0)} MiB/s)`;
async function timed(what: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await what();
  return performance.now() - started;
}
try {
  await service.add({ id: 'bench', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
  await waitUntil(() => service.get('bench').status === 'completed', {
    timeoutMs: 600_000,
    intervalMs: 200,
    what: 'download',
  });
  await swarm.stopSeeder();
  const folder = service.get('bench').savePath ?? '';
  const cp = await timed(async () => execFileSync('cp', ['-r', folder, path.join(tmpfs.dir, 'cp-copy')]));
  await rm(path.join(tmpfs.dir, 'cp-copy'), { recursive: true });
  const toTmpfs = await timed(() => service.moveData('bench', path.join(tmpfs.dir, 'films')));
  await mkdir(path.join(media, 'back'), { recursive: true });
  const back = await timed(() => service.moveData('bench', path.join(media, 'back')));
  const rename = await timed(() => service.moveData('bench', path.join(media, 'renamed')));
  console.log(`move of ${sizeMiB} MiB, one file, warm cache:`);
  console.log(
    `  disk -> tmpfs, copied + verified   ${seconds(toTmpfs)}   vs cp -r (no verify, no fsync) ${seconds(cp)}`,
  );
  console.log(`  tmpfs -> disk, copied + verified   ${seconds(back)}`);
  console.log(`  disk -> disk, renamed              ${(rename / 1000).toFixed(3)} s`);
} finally {
  await service.close();
  await swarm.close();
  tmpfs.unmount();
  await work.cleanup();
}
