/**
 * Download speed over a loopback swarm: our WebTorrentDownloader next to a plain WebTorrent
 * client, same seeder, same content, interleaved rounds. Everything stays on 127.0.0.1 with DHT,
 * LSD, UPnP and NAT-PMP off.
 *
 *   npx tsx bench/swarm-download.ts [--size-mib 256] [--rounds 3]
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebTorrent from 'webtorrent';
import { WebTorrentDownloader } from '../src/downloaders/webtorrent/webtorrent-downloader.js';
import { createLoopbackSwarm, LOOPBACK_CLIENT_OPTIONS, sha256File } from '../tests/helpers/loopback-swarm.js';
import { tempDir, waitForEvent } from '../tests/helpers/wait.js';

const { values } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' } },
});
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
if (!(sizeMiB >= 1 && sizeMiB <= 4096) || !(rounds >= 1 && rounds <= 20)) {
  console.error('--size-mib must be 1..4096 and --rounds 1..20');
  process.exit(2);
}
const size = sizeMiB * 1024 * 1024;
const TIMEOUT_MS = 10 * 60_000;

const work = await tempDir('chilly-bench-');
const swarm = await createLoopbackSwarm({
  name: 'bench.mkv',
  files: [{ path: 'bench.mkv', size }],
  workDir: path.join(work.dir, 'swarm'),
});
const expected = swarm.files[0]?.sha256;

async function ourDownloader(folder: string): Promise<number> {
  const downloader = new WebTorrentDownloader({ mediaRoot: folder, network: 'loopback' });
  try {
    const started = performance.now();
    const done = waitForEvent(downloader, 'completed', { timeoutMs: TIMEOUT_MS });
    await downloader.start({ id: 'bench', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    await done;
    const seconds = (performance.now() - started) / 1000;
    if ((await sha256File(path.join(folder, 'bench', 'bench.mkv'))) !== expected) throw new Error('content mismatch');
    return seconds;
  } finally {
    await downloader.destroy();
  }
}

async function plainWebTorrent(folder: string): Promise<number> {
  const client = new WebTorrent({ ...LOOPBACK_CLIENT_OPTIONS });
  try {
    const started = performance.now();
    const torrent = client.add(swarm.magnetURI, { path: folder });
    await waitForEvent(torrent, 'done', { timeoutMs: TIMEOUT_MS });
    const seconds = (performance.now() - started) / 1000;
    if ((await sha256File(path.join(folder, 'bench.mkv'))) !== expected) throw new Error('content mismatch');
    return seconds;
  } finally {
    await new Promise<void>((resolve) => client.destroy(() => resolve()));
  }
}

const contenders = { 'chilly WebTorrentDownloader': ourDownloader, 'plain WebTorrent 2.8 client': plainWebTorrent };
const results = new Map<string, number[]>(Object.keys(contenders).map((name) => [name, []]));
for (let round = 1; round <= rounds; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    const folder = path.join(work.dir, `leech-${round}-${name.split(' ')[0]}`);
    const seconds = await run(folder);
    results.get(name)?.push(sizeMiB / seconds);
    console.error(`round ${round}: ${name}: ${(sizeMiB / seconds).toFixed(1)} MiB/s`);
    await rm(folder, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
console.log(`\n${sizeMiB} MiB single file, one WebTorrent seeder, loopback, ${rounds} interleaved rounds\n`);
console.log('| leecher | median MiB/s | min–max MiB/s |');
console.log('|---|---|---|');
for (const [name, speeds] of results) {
  const line = `| ${name} | ${median(speeds).toFixed(1)} | ${Math.min(...speeds).toFixed(1)}–${Math.max(...speeds).toFixed(1)} |`;
  console.log(line);
}
await swarm.close();
await work.cleanup();
